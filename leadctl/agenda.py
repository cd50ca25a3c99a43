"""The agenda: what is due, most urgent first (what `leadctl followups` lists).

Read-only. `list_followups` is what cron runs every morning on databases of
100,000 leads, so it is one indexed query (followups(status, due_at) joined to
the lead and its stage) with the urgency computed by SQLite, plus arithmetic
in Python. It lives apart from `leadctl.followups` (the records and their
changes) so that the morning listing imports no dataclasses and nothing but
the light core modules.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from leadctl import urgency
from leadctl.dates import UTC, from_store, to_store
from leadctl.errors import NotFoundError, ValidationError

# One follow-up row with what the listing shows of its lead, and its urgency
# terms computed by SQLite (urgency.term_sql), so Python only formats rows.
_ROW_SQL = """
SELECT {outer}, ROUND({urgency}, 2) AS urgency FROM (
  SELECT f.id, f.lead_id, f.due_at, f.kind, f.note, f.owner, f.status, f.enrollment_id,
         f.step, f.template, f.snoozed,
         l.name AS lead_name, l.company, l.phone, l.email, l.score, l.value, l.currency,
         l.stage, s.kind AS stage_kind, l.do_not_contact, {probability} AS probability,
         e.sequence,
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
         l.stage, s.kind AS stage_kind, l.do_not_contact, {probability} AS probability,
         NULL AS sequence,
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
SELECT e.id, s.kind AS stage_kind, l.do_not_contact,
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
    """[(enrolment id, reason)] that sequences.sync would stop (the lead
    closed, is marked do-not-contact, or replied); read only.
    Lives here so the morning listing can check without importing sequences."""
    return [
        (r["id"], _stop_reason(r["stage_kind"], r["do_not_contact"], r["replied"]))
        for r in conn.execute(_SEQUENCE_STOPS_SQL)
        if r["stage_kind"] != "open" or r["do_not_contact"] or r["replied"]
    ]


# The ids of those enrolments, as a subquery (no parameter per id).
PENDING_STOP_IDS_SQL = (
    f"SELECT id FROM ({_SEQUENCE_STOPS_SQL})"
    " WHERE stage_kind <> 'open' OR do_not_contact OR replied"
)


def _stop_reason(stage_kind: str, do_not_contact: int, replied: int) -> str:
    if stage_kind != "open":
        return stage_kind
    return "do_not_contact" if do_not_contact else "replied"


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
    "value", "currency", "stage", "stage_kind", "do_not_contact", "probability",
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
            from leadctl.owners import check_known_owner

            owner_sql = " = :owner"
            params["owner"] = owner.strip().lower()
            check_known_owner(conn, params["owner"])
        clauses.append("f.owner" + owner_sql)
    if kind is not None:
        clauses.append("f.kind = :kind")
        from leadctl.followups import check_kind

        params["kind"] = check_kind(kind)
    if lead_id is not None:
        if not conn.execute("SELECT 1 FROM leads WHERE id = ?", (lead_id,)).fetchone():
            raise NotFoundError(f"No lead with id {lead_id}", "List ids with `leadctl list`.")
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
    utc = tz is UTC
    records = []
    for values in cur:
        rec = dict(zip(names, values, strict=True))
        rec["stale"] = bool(rec["stale"])
        rec["no_next_step"] = bool(rec["no_next_step"])
        rec["do_not_contact"] = bool(rec["do_not_contact"])
        due_at = rec["due_at"]
        if due_at is None:
            rec.update(due_local=None, overdue=False, overdue_days=0)
        else:
            overdue = due_at < now_s
            if utc and len(due_at) == 20:
                # Stored text is already UTC: slice it (the common server case).
                rec["due_local"] = f"{due_at[:10]} {due_at[11:16]}"
                local_day = date.fromisoformat(due_at[:10]) if overdue else today
            else:
                local = from_store(due_at).astimezone(tz)
                # isoformat is C code: ~10x faster than strftime.
                rec["due_local"] = local.isoformat(" ", "minutes")[:16]
                local_day = local.date()
            rec["overdue"] = overdue
            rec["overdue_days"] = (today - local_day).days if overdue else 0
        records.append(rec)
    return records


def explain(
    conn: sqlite3.Connection, followup_id: int, *, now: datetime, tz: tzinfo
) -> dict[str, Any]:
    """Every urgency term of one follow-up with coefficient and points, and the
    total: the same SQL as the listing, so the numbers agree exactly."""
    from leadctl.followups import get_followup

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
