"""Follow-ups: the next touch for a lead, what is due today, done / snooze / cancel.

A follow-up is open until it is done (which logs an activity of its kind) or
cancelled. "Due today" is computed in the caller's time zone: everything open
whose due time is before the next local midnight, overdue first by urgency.

`list_followups` is what cron runs every morning on databases of 100,000
leads, so it is one indexed query (followups(status, due_at) joined to the
lead and its stage) plus arithmetic in Python; the module imports only the
light core modules at the top.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from leadctl import urgency
from leadctl.dates import from_store, to_store
from leadctl.db import transaction
from leadctl.errors import ConflictError, NotFoundError, ValidationError

STATUSES = ("open", "done", "cancelled")
MAX_NOTE = 10_000

# One follow-up row with what the listing shows of its lead, and its urgency
# terms computed by SQLite (urgency.term_sql), so Python only formats rows.
_ROW_SQL = """
SELECT {outer}, ROUND({urgency}, 2) AS urgency FROM (
  SELECT f.id, f.lead_id, f.due_at, f.kind, f.note, f.owner, f.status, f.enrollment_id,
         f.step, f.template, f.snoozed,
         l.name AS lead_name, l.company, l.phone, l.email, l.score, l.value, l.currency,
         l.stage, {probability} AS probability, e.sequence,
         {terms}
  FROM followups f
  JOIN leads l ON l.id = f.lead_id
  JOIN stages s ON s.name = l.stage
  LEFT JOIN sequence_enrollments e ON e.id = f.enrollment_id
  WHERE {where}
)
"""
# Leads flagged in `followups --all`: open, and no open follow-up at all.
_LEAD_ROW_SQL = """
SELECT {outer}, ROUND({urgency}, 2) AS urgency FROM (
  SELECT NULL AS id, l.id AS lead_id, NULL AS due_at, NULL AS kind, NULL AS note, l.owner,
         NULL AS status, NULL AS enrollment_id, NULL AS step, NULL AS template, 0 AS snoozed,
         l.name AS lead_name, l.company, l.phone, l.email, l.score, l.value, l.currency,
         l.stage, {probability} AS probability, NULL AS sequence,
         {terms}
  FROM leads l JOIN stages s ON s.name = l.stage
  WHERE {where}
)
"""
_PROBABILITY_SQL = (
    "CASE WHEN s.kind = 'open'"
    " THEN COALESCE(l.probability_manual, l.probability_auto, s.probability)"
    " ELSE s.probability END"
)


@dataclass
class FollowUp:
    id: int
    lead_id: int
    due_at: str
    kind: str
    note: str | None
    owner: str | None
    status: str
    enrollment_id: int | None
    step: int | None
    template: str | None
    snoozed: int
    created_at: str
    closed_at: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> FollowUp:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Completion:
    """What `done` did: the closed follow-up, its activity, what comes next."""

    followup: FollowUp
    activity_id: int
    next_followup: FollowUp | None
    sequence_next: FollowUp | None
    enrollment_status: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "followup": self.followup.to_dict(),
            "activity_id": self.activity_id,
            "next_followup": self.next_followup.to_dict() if self.next_followup else None,
            "sequence_next": self.sequence_next.to_dict() if self.sequence_next else None,
            "enrollment_status": self.enrollment_status,
        }


# leads.STALE_SQL with its parameter named :now. A copy, not an import, on
# purpose: importing leadctl.leads (models, normalize, pipeline) would cost
# ~9 ms of every cron run; tests/test_followups.py keeps the two identical.
STALE_SQL = (
    "(s.kind = 'open' AND s.rot_days IS NOT NULL AND"
    " COALESCE(l.last_touch_at, l.stage_entered_at) <"
    " strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-' || s.rot_days || ' days'))"
)
# Active enrolments to stop: the lead left the open stages, or replied (an
# inbound activity at or after enrolment) and the sequence stops on reply.
_SEQUENCE_STOPS_SQL = """
SELECT e.id, s.kind AS stage_kind,
       q.stop_on_reply AND EXISTS (
           SELECT 1 FROM activities a
           WHERE a.lead_id = e.lead_id AND a.direction = 'in' AND a.at >= e.enrolled_at
       ) AS replied
FROM sequence_enrollments e
JOIN leads l ON l.id = e.lead_id
JOIN stages s ON s.name = l.stage
JOIN sequences q ON q.name = e.sequence
WHERE e.status = 'active'
"""


def _stale_sql() -> str:
    return STALE_SQL


def pending_sequence_stops(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """[(enrolment id, reason)] that sequences.sync would stop; read only.
    Lives here so the morning listing can check without importing sequences."""
    return [
        (r["id"], r["stage_kind"] if r["stage_kind"] != "open" else "replied")
        for r in conn.execute(_SEQUENCE_STOPS_SQL)
        if r["stage_kind"] != "open" or r["replied"]
    ]


def get_followup(conn: sqlite3.Connection, followup_id: int) -> FollowUp:
    row = conn.execute("SELECT * FROM followups WHERE id = ?", (followup_id,)).fetchone()
    if row is None:
        raise NotFoundError(
            f"No follow-up with id {followup_id}",
            "List them with `leadctl followups --all` (the ID column).",
        )
    return FollowUp.from_row(row)


def _open_followup(conn: sqlite3.Connection, followup_id: int) -> FollowUp:
    fu = get_followup(conn, followup_id)
    if fu.status != "open":
        raise ConflictError(
            f"Follow-up {followup_id} is already {fu.status}",
            f"Schedule a new one with `leadctl followups add {fu.lead_id} --due ...`.",
        )
    return fu


def check_kind(kind: str) -> str:
    """An activity kind a follow-up can be: any but `sale` (a sale is logged
    with its amount by `log --kind sale`, never by completing a follow-up)."""
    from leadctl.activities import check_kind as _check

    k = _check(kind)
    if k == "sale":
        raise ValidationError(
            "A follow-up cannot be of kind 'sale'",
            "Use call, meeting, ...; log the sale with `leadctl log ID --kind sale --amount ...`.",
        )
    return k


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    text = note.strip()
    if "\x00" in text:
        raise ValidationError("The note contains a NUL byte", "Remove it and try again.")
    if len(text) > MAX_NOTE:
        raise ValidationError(f"The note is longer than {MAX_NOTE} characters")
    return text or None


def add_followup(
    conn: sqlite3.Connection,
    lead_id: int,
    due: datetime,
    *,
    now: datetime,
    kind: str = "call",
    note: str | None = None,
    owner: str | None = None,
    enrollment_id: int | None = None,
    step: int | None = None,
    template: str | None = None,
) -> FollowUp:
    """Schedule a follow-up; the owner defaults to the lead's owner."""
    k = check_kind(kind)
    text = _clean_note(note)
    with transaction(conn):
        row = conn.execute("SELECT owner FROM leads WHERE id = ?", (lead_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"No lead with id {lead_id}", "List ids with `leadctl list`.")
        who = owner.strip().lower() if owner and owner.strip() else row["owner"]
        if owner and owner.strip():
            # Same rule as a lead's owner: once a team exists, a typo is refused.
            members = [r[0] for r in conn.execute("SELECT handle FROM team_members")]
            if members and who not in members:
                raise NotFoundError(
                    f"Unknown team member {who!r}",
                    f"Members: {', '.join(sorted(members))}; add one with `leadctl team add`.",
                )
        cur = conn.execute(
            "INSERT INTO followups (lead_id, due_at, kind, note, owner, status, enrollment_id,"
            " step, template, snoozed, created_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, 0, ?)",
            (lead_id, to_store(due), k, text, who, enrollment_id, step, template, to_store(now)),
        )
        assert cur.lastrowid is not None
        return get_followup(conn, cur.lastrowid)


def complete_followup(
    conn: sqlite3.Connection,
    followup_id: int,
    *,
    now: datetime,
    actor: str | None,
    note: str | None = None,
    outcome: str | None = None,
    next_due: datetime | None = None,
    next_kind: str | None = None,
    next_note: str | None = None,
) -> Completion:
    """Mark done: log an activity of the follow-up's kind, advance its sequence,
    and schedule `next_due` if given. All in one transaction."""
    from leadctl import activities, sequences
    from leadctl.models import ACTIVITY_KINDS

    text = _clean_note(note)
    with transaction(conn):
        fu = _open_followup(conn, followup_id)
        kind = fu.kind if fu.kind in ACTIVITY_KINDS else "followup_done"
        data: dict[str, Any] = {"followup_done": fu.id, "due_at": fu.due_at}
        if fu.enrollment_id is not None:
            data.update(enrollment_id=fu.enrollment_id, step=fu.step, template=fu.template)
        activity_id = activities.record(
            conn, fu.lead_id, kind, at=now, now=now, actor=actor,
            note=text if text is not None else fu.note, outcome=outcome, direction="out",
            data=data,
        )  # fmt: skip
        conn.execute(
            "UPDATE followups SET status = 'done', closed_at = ? WHERE id = ?",
            (to_store(now), fu.id),
        )
        seq_next: FollowUp | None = None
        enrollment_status: str | None = None
        if fu.enrollment_id is not None:
            seq_next, enrollment_status = sequences.step_done(
                conn, fu.enrollment_id, fu.step, now=now
            )
        next_fu = None
        if next_due is not None:
            next_fu = add_followup(
                conn, fu.lead_id, next_due, now=now, kind=next_kind or fu.kind,
                note=next_note, owner=fu.owner,
            )  # fmt: skip
        return Completion(
            get_followup(conn, fu.id), activity_id, next_fu, seq_next, enrollment_status
        )


def snooze_followup(
    conn: sqlite3.Connection, followup_id: int, to: datetime, *, now: datetime
) -> FollowUp:
    """Move an open follow-up to a new due time (counted in `snoozed`)."""
    with transaction(conn):
        fu = _open_followup(conn, followup_id)
        conn.execute(
            "UPDATE followups SET due_at = ?, snoozed = snoozed + 1 WHERE id = ?",
            (to_store(to), fu.id),
        )
        return get_followup(conn, fu.id)


def cancel_followup(
    conn: sqlite3.Connection, followup_id: int, *, now: datetime
) -> tuple[FollowUp, FollowUp | None]:
    """Cancel an open follow-up. A sequence step is skipped: the next step is
    scheduled as if it were done (`sequence unenroll` stops the sequence).
    Returns (the cancelled follow-up, the next step's follow-up or None)."""
    from leadctl import sequences

    with transaction(conn):
        fu = _open_followup(conn, followup_id)
        conn.execute(
            "UPDATE followups SET status = 'cancelled', closed_at = ? WHERE id = ?",
            (to_store(now), fu.id),
        )
        nxt = None
        if fu.enrollment_id is not None:
            nxt, _ = sequences.step_done(conn, fu.enrollment_id, fu.step, now=now)
        return get_followup(conn, fu.id), nxt


def cancel_open_for_enrollments(
    conn: sqlite3.Connection, enrollment_ids: list[int], *, now: datetime
) -> int:
    """Cancel the open follow-ups of stopped enrollments; returns how many."""
    if not enrollment_ids:
        return 0
    marks = ", ".join("?" for _ in enrollment_ids)
    cur = conn.execute(
        f"UPDATE followups SET status = 'cancelled', closed_at = ?"
        f" WHERE status = 'open' AND enrollment_id IN ({marks})",
        [to_store(now), *enrollment_ids],
    )
    return cur.rowcount


# ---- listing and urgency -----------------------------------------------------


def day_end(now: datetime, tz: tzinfo, days_ahead: int = 0) -> datetime:
    """The local midnight that ends today (+ days_ahead days), as UTC."""
    local = now.astimezone(tz).date() + timedelta(days=1 + days_ahead)
    return datetime.combine(local, time(0), tz)


def parse_span(text: str) -> int:
    """'7d', '2w', '7' -> days (for --upcoming)."""
    raw = text.strip().lower()
    unit = 1
    if raw.endswith("d"):
        raw = raw[:-1]
    elif raw.endswith("w"):
        raw, unit = raw[:-1], 7
    # isascii(): str.isdigit() accepts "¹" and other digits int() refuses.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 5) or not 0 <= int(raw) * unit <= 3660:
        raise ValidationError(f"Cannot read {text!r} as a number of days", "Example: 7d or 2w")
    return int(raw) * unit


# What a listing record carries (the columns of the outer SELECT, in order).
_KEYS = (
    "id", "lead_id", "lead_name", "company", "phone", "email", "due_at", "kind", "note",
    "owner", "status", "template", "sequence", "enrollment_id", "step", "snoozed", "score",
    "value", "currency", "stage", "probability",
)  # fmt: skip
_OUTER = ", ".join(_KEYS) + ", t_stale AS stale, t_no_next_step AS no_next_step"


def _sql(
    template: str,
    coeffs: dict[str, float],
    where: str,
    *,
    lead_rows: bool,
    outer: str = _OUTER,
    currency: str | None = None,
) -> str:
    terms = urgency.term_sql(
        due="NULL" if lead_rows else "f.due_at", score="l.score",
        probability=_PROBABILITY_SQL, value="l.value", currency="l.currency",
        stage_probability="s.probability", stale=_stale_sql(),
        no_next_step="1" if lead_rows else "0", value_cap=coeffs.get("value_cap"),
        currency_first=currency,
    )  # fmt: skip
    return template.format(
        outer=outer, urgency=urgency.urgency_sql(coeffs), probability=_PROBABILITY_SQL,
        terms=terms, where=where,
    )  # fmt: skip


def list_followups(
    conn: sqlite3.Connection,
    *,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
    kind: str | None = None,
    upcoming_days: int | None = None,
    include_all: bool = False,
    lead_id: int | None = None,
) -> list[dict[str, Any]]:
    """Open follow-ups due by the end of today (or today + upcoming_days; every
    open one with include_all), most urgent first, ties by due time. With
    include_all, open leads with no open follow-up ("no next step") are added
    as rows whose id is None. One indexed query per kind of row: the
    (status, due_at) index finds the follow-ups, the urgency is computed by
    SQLite, Python only adds the local due time."""
    now_s = to_store(now)
    params: dict[str, Any] = {"now": now_s}
    clauses = ["f.status = 'open'"]
    if not include_all:
        clauses.append("f.due_at < :end")
        params["end"] = to_store(day_end(now, tz, upcoming_days or 0))
    owner_sql = ""
    if owner is not None:
        if owner.strip().lower() in ("none", "-", ""):
            owner_sql = " IS NULL"
        else:
            owner_sql = " = :owner"
            params["owner"] = owner.strip().lower()
        clauses.append("f.owner" + owner_sql)
    if kind is not None:
        clauses.append("f.kind = :kind")
        params["kind"] = check_kind(kind)
    if lead_id is not None:
        clauses.append("f.lead_id = :lead")
        params["lead"] = lead_id
    coeffs = urgency.load_coefficients(conn)
    from leadctl.db import get_setting

    currency = get_setting(conn, "currency")
    sqls = [_sql(_ROW_SQL, coeffs, " AND ".join(clauses), lead_rows=False, currency=currency)]
    if include_all and kind is None:
        from leadctl.leads import NO_NEXT_STEP_SQL

        where = NO_NEXT_STEP_SQL
        if owner is not None:
            where += " AND l.owner" + owner_sql
        if lead_id is not None:
            where += " AND l.id = :lead"
        sqls.append(_sql(_LEAD_ROW_SQL, coeffs, where, lead_rows=True, currency=currency))
    sql = (
        "SELECT * FROM (" + " UNION ALL ".join(sqls) + ")"
        " ORDER BY urgency DESC, due_at IS NULL, due_at, id, lead_id"
    )
    # Plain tuples zipped with the column names: ~5x faster than sqlite3.Row
    # lookups by name for the 1,000 rows of a morning listing.
    cur = conn.cursor()
    cur.row_factory = None
    cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    today = now.astimezone(tz).date()
    records = []
    for values in cur:
        rec = dict(zip(names, values, strict=True))
        rec["stale"] = bool(rec["stale"])
        rec["no_next_step"] = bool(rec["no_next_step"])
        due_at = rec["due_at"]
        if due_at is None:
            rec.update(due_local=None, overdue=False, overdue_days=0)
        else:
            local = from_store(due_at).astimezone(tz)
            # isoformat is C code: ~10x faster than strftime.
            rec["due_local"] = local.isoformat(" ", "minutes")[:16]
            rec["overdue"] = overdue = due_at < now_s
            rec["overdue_days"] = (today - local.date()).days if overdue else 0
        records.append(rec)
    return records


def explain(
    conn: sqlite3.Connection, followup_id: int, *, now: datetime, tz: tzinfo
) -> dict[str, Any]:
    """Every urgency term of one follow-up with coefficient and points, and the
    total: the same SQL as the listing, so the numbers agree exactly."""
    get_followup(conn, followup_id)
    coeffs = urgency.load_coefficients(conn)
    outer = _OUTER + ", " + ", ".join(f"t_{n}" for n in urgency.ORDER)
    sql = _sql(_ROW_SQL, coeffs, "f.id = :id", lead_rows=False, outer=outer)
    row = conn.execute(sql, {"now": to_store(now), "id": followup_id}).fetchone()
    terms = [urgency.Term(n, float(row["t_" + n]), coeffs[n]) for n in urgency.ORDER]
    return {
        "id": row["id"],
        "lead_id": row["lead_id"],
        "lead_name": row["lead_name"],
        "due_at": row["due_at"],
        "status": row["status"],
        "urgency": row["urgency"],
        "terms": [t.to_dict() for t in terms],
    }
