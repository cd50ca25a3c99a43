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
DAY = 86400.0
MAX_NOTE = 10_000

# Columns of one follow-up row with what urgency and the listing need from
# its lead, stage and enrollment. `stale` is leads.STALE_SQL (one parameter: now).
_ROW_SQL = """
SELECT f.id, f.lead_id, f.due_at, f.kind, f.note, f.owner, f.status, f.enrollment_id,
       f.step, f.template, f.snoozed, f.created_at, f.closed_at,
       l.name AS lead_name, l.company, l.phone, l.email, l.score, l.value, l.currency,
       l.stage, s.kind AS stage_kind, s.probability AS stage_probability,
       CASE WHEN s.kind = 'open'
            THEN COALESCE(l.probability_manual, l.probability_auto, s.probability)
            ELSE s.probability END AS probability,
       {stale} AS stale,
       e.sequence
FROM followups f
JOIN leads l ON l.id = f.lead_id
JOIN stages s ON s.name = l.stage
LEFT JOIN sequence_enrollments e ON e.id = f.enrollment_id
"""
# Leads flagged in `followups --all`: open, and no open follow-up at all.
_LEAD_ROW_SQL = """
SELECT l.id AS lead_id, l.name AS lead_name, l.company, l.phone, l.email, l.score,
       l.value, l.currency, l.owner, l.stage, s.kind AS stage_kind,
       s.probability AS stage_probability,
       COALESCE(l.probability_manual, l.probability_auto, s.probability) AS probability,
       {stale} AS stale
FROM leads l JOIN stages s ON s.name = l.stage
WHERE {no_next_step}
"""


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


def _stale_sql() -> str:
    from leadctl.leads import STALE_SQL

    return STALE_SQL


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
    from leadctl.activities import check_kind as _check

    return _check(kind)


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
    if not raw.isdigit() or not 0 <= int(raw) * unit <= 3660:
        raise ValidationError(f"Cannot read {text!r} as a number of days", "Example: 7d or 2w")
    return int(raw) * unit


class _ValueCaps(dict[str, int]):
    """Big-deal size per currency (minor units), computed on first use."""

    def __init__(self, override: float | None) -> None:
        super().__init__()
        self.override = override

    def __missing__(self, currency: str) -> int:
        cap = urgency.value_cap(currency, self.override)
        self[currency] = cap
        return cap


def _record(
    row: sqlite3.Row,
    *,
    now: datetime,
    tz: tzinfo,
    coeffs: dict[str, float],
    max_values: _ValueCaps,
    lead_row: bool = False,
) -> tuple[dict[str, Any], tuple[float, ...]]:
    """One listing record and its urgency term values. Runs once per row of
    the morning listing, so it builds plain dicts and tuples only."""
    rec = dict(row)
    stale = bool(rec["stale"])
    if lead_row:
        overdue_f = None
        rec.update(
            id=None, due_at=None, kind=None, note=None, status=None, template=None,
            sequence=None, enrollment_id=None, step=None, snoozed=0,
        )  # fmt: skip
    else:
        due = from_store(rec["due_at"])
        overdue_f = (now - due).total_seconds() / DAY
    values = urgency.term_values(
        overdue_days=overdue_f, score=rec["score"], probability=rec["probability"],
        value=rec["value"], max_value=max_values[rec["currency"]],
        stage_probability=rec["stage_probability"], stale=stale, no_next_step=lead_row,
    )  # fmt: skip
    overdue = overdue_f is not None and overdue_f > 0
    overdue_days = 0
    if overdue:
        overdue_days = (now.astimezone(tz).date() - due.astimezone(tz).date()).days
    for key in ("stage_kind", "stage_probability", "created_at", "closed_at"):
        rec.pop(key, None)
    rec.update(
        urgency=urgency.urgency_of(coeffs, values),
        overdue=overdue,
        overdue_days=overdue_days,
        stale=stale,
        no_next_step=lead_row,
    )
    return rec, values


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
    open one with include_all), most urgent first. include_all also lists open
    leads with no follow-up ("no next step") as rows with id None."""
    clauses = ["f.status = 'open'"]
    params: list[Any] = [to_store(now)]
    if not include_all:
        clauses.append("f.due_at < ?")
        params.append(to_store(day_end(now, tz, upcoming_days or 0)))
    owner_clause = None
    if owner is not None:
        if owner.strip().lower() in ("none", "-", ""):
            owner_clause = ("IS NULL", None)
            clauses.append("f.owner IS NULL")
        else:
            owner_clause = ("= ?", owner.strip().lower())
            clauses.append("f.owner = ?")
            params.append(owner.strip().lower())
    if kind is not None:
        clauses.append("f.kind = ?")
        params.append(check_kind(kind))
    if lead_id is not None:
        clauses.append("f.lead_id = ?")
        params.append(lead_id)
    stale = _stale_sql()
    sql = _ROW_SQL.format(stale=stale) + " WHERE " + " AND ".join(clauses)
    coeffs = urgency.load_coefficients(conn)
    max_values = _ValueCaps(coeffs.get("value_cap"))
    records = [
        _record(r, now=now, tz=tz, coeffs=coeffs, max_values=max_values)[0]
        for r in conn.execute(sql, params)
    ]
    if include_all and kind is None:
        from leadctl.leads import NO_NEXT_STEP_SQL

        lsql = _LEAD_ROW_SQL.format(stale=stale, no_next_step=NO_NEXT_STEP_SQL)
        lparams: list[Any] = [to_store(now)]
        if owner_clause is not None:
            lsql += f" AND l.owner {owner_clause[0]}"
            if owner_clause[1] is not None:
                lparams.append(owner_clause[1])
        if lead_id is not None:
            lsql += " AND l.id = ?"
            lparams.append(lead_id)
        records += [
            _record(r, now=now, tz=tz, coeffs=coeffs, max_values=max_values, lead_row=True)[0]
            for r in conn.execute(lsql, lparams)
        ]
    records.sort(key=lambda r: (-r["urgency"], r["due_at"] or "", r["id"] or 0, r["lead_id"]))
    return records


def explain(
    conn: sqlite3.Connection, followup_id: int, *, now: datetime, tz: tzinfo
) -> dict[str, Any]:
    """Every urgency term of one follow-up with coefficient and points, and the total."""
    get_followup(conn, followup_id)
    sql = _ROW_SQL.format(stale=_stale_sql()) + " WHERE f.id = ?"
    row = conn.execute(sql, (to_store(now), followup_id)).fetchone()
    coeffs = urgency.load_coefficients(conn)
    rec, values = _record(
        row, now=now, tz=tz, coeffs=coeffs, max_values=_ValueCaps(coeffs.get("value_cap"))
    )
    ts = [urgency.Term(n, v, coeffs[n]) for n, v in zip(urgency.ORDER, values, strict=True)]
    return {
        "id": rec["id"],
        "lead_id": rec["lead_id"],
        "lead_name": rec["lead_name"],
        "due_at": rec["due_at"],
        "status": rec["status"],
        "urgency": rec["urgency"],
        "terms": [t.to_dict() for t in ts],
    }
