"""The activity history: every call, message, edit and stage change, append-only."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from leadctl.dates import to_store
from leadctl.errors import ValidationError
from leadctl.models import ACTIVITY_KINDS, Activity

# Kinds that count as touching the lead (a contact attempt or a real move);
# edits and assignments do not stop a lead from going stale.
TOUCH_KINDS = frozenset(ACTIVITY_KINDS) | {
    "created", "stage_change", "message_sent", "followup_done", "qualification",
}  # fmt: skip
DIRECTIONS = ("in", "out")


def check_kind(kind: str) -> str:
    k = kind.strip().lower()
    if k not in ACTIVITY_KINDS:
        raise ValidationError(
            f"Unknown activity kind {kind!r}", f"Use one of: {', '.join(ACTIVITY_KINDS)}."
        )
    return k


def record(
    conn: sqlite3.Connection,
    lead_id: int,
    kind: str,
    *,
    at: datetime,
    now: datetime,
    actor: str | None,
    note: str | None = None,
    outcome: str | None = None,
    direction: str | None = None,
    attachment: str | None = None,
    amount: int | None = None,
    product: str | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append one activity row (inside the caller's transaction); return its id."""
    at_s = to_store(at)
    cur = conn.execute(
        "INSERT INTO activities (lead_id, kind, at, actor, note, outcome, direction,"
        " attachment, amount, product, data, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            lead_id, kind, at_s, actor, note, outcome, direction, attachment, amount,
            product, json.dumps(data, ensure_ascii=False) if data else None, to_store(now),
        ),
    )  # fmt: skip
    if kind in TOUCH_KINDS:
        conn.execute(
            "UPDATE leads SET last_touch_at = ? WHERE id = ?"
            " AND (last_touch_at IS NULL OR last_touch_at < ?)",
            (at_s, lead_id, at_s),
        )
    assert cur.lastrowid is not None
    # Every write path (add, edit, log, qualify, import) records an activity
    # after changing the lead, so rescoring here keeps scores current.
    # rescore_lead never records an activity, so this cannot recurse.
    from leadctl.scoring import rescore_lead

    rescore_lead(conn, lead_id, now)
    return cur.lastrowid


def get_activity(conn: sqlite3.Connection, activity_id: int) -> Activity:
    row = conn.execute("SELECT * FROM activities WHERE id = ?", (activity_id,)).fetchone()
    if row is None:
        from leadctl.errors import NotFoundError

        raise NotFoundError(f"No activity with id {activity_id}")
    return Activity.from_row(row)


def list_activities(
    conn: sqlite3.Connection, lead_id: int, *, limit: int | None = None
) -> list[Activity]:
    """The lead's timeline, newest first."""
    sql = "SELECT * FROM activities WHERE lead_id = ? ORDER BY at DESC, id DESC"
    params: list[Any] = [lead_id]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [Activity.from_row(r) for r in conn.execute(sql, params)]
