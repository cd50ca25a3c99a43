"""Merge a duplicate lead into the lead to keep.

`merge_leads(conn, keep, other)` in one transaction:

- fills the kept lead's empty fields from the other (a value comes with its
  currency), unions the tags, adds the custom fields it lacks; do-not-contact
  and qualified are kept if either lead has them;
- moves the other lead's calls, e-mails, meetings, notes, sales and the rest
  of its activities, its follow-ups, its sequence enrolments (an active one in
  a sequence the kept lead is also active in is stopped, reason `merged`) and
  the qualification answers the kept lead lacks;
- deletes the other lead with its own lifecycle: its `created`, `import` and
  `stage_change` activities, stage history and score history (the kept lead's
  stage and history stand); its id is never given again;
- records a `field_change` activity on the kept lead naming the merged lead
  (its id, name, keys, stage and dates) and what was filled; rescores it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from leadctl import activities
from leadctl.dates import to_store
from leadctl.db import keep_ids, transaction
from leadctl.errors import UsageError
from leadctl.leads import get_lead
from leadctl.models import Lead

# Filled on the kept lead when empty there.
FILLED = (
    "name", "email", "phone", "external_id", "company", "source", "campaign", "product",
    "segment", "city", "owner", "captured_by", "expected_close", "probability_manual",
)  # fmt: skip
# The other lead's own lifecycle: deleted with it, not moved.
_OWN_KINDS = ("created", "import", "stage_change")


def merge_leads(
    conn: sqlite3.Connection,
    keep_id: int,
    other_id: int,
    *,
    now: datetime,
    actor: str | None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Merge lead `other_id` into `keep_id` (see the module docstring):
    {"lead", "merged", "filled", "moved"}. `dry_run` writes nothing."""
    if keep_id == other_id:
        raise UsageError(
            f"Lead {keep_id} cannot be merged into itself", "Give two lead ids: KEEP OTHER."
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        out = _merge(conn, keep_id, other_id, now=now, actor=actor)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("ROLLBACK" if dry_run else "COMMIT")
    return out


def _merge(
    conn: sqlite3.Connection, keep_id: int, other_id: int, *, now: datetime, actor: str | None
) -> dict[str, Any]:
    keep, other = get_lead(conn, keep_id), get_lead(conn, other_id)
    changes = _filled(keep, other)
    moved = _move(conn, keep_id, other_id, now)
    if moved["answers"] and not keep.qualified and "qualified" not in changes:
        from leadctl.qualify import status

        if status(conn, keep_id).qualified:  # the answers it gained meet the criteria
            changes["qualified"] = [False, True]
    with transaction(conn):  # joins the caller's
        keep_ids(conn)
        conn.execute("DELETE FROM leads WHERE id = ?", (other_id,))
    sets: dict[str, Any] = {k: v[1] for k, v in changes.items()}
    for k in ("tags", "fields"):
        if k in sets:
            sets[k] = json.dumps(sets[k], ensure_ascii=False)
    for k in ("do_not_contact", "qualified"):
        if k in sets:
            sets[k] = int(sets[k])
    touches = [t for t in (keep.last_touch_at, other.last_touch_at) if t]
    if touches and max(touches) != keep.last_touch_at:
        sets["last_touch_at"] = max(touches)
    sets["updated_at"] = to_store(now)
    assignments = ", ".join(f"{k} = ?" for k in sets)
    conn.execute(f"UPDATE leads SET {assignments} WHERE id = ?", [*sets.values(), keep_id])
    if changes.get("do_not_contact"):
        from leadctl.sequences import stop_for_lead

        stop_for_lead(conn, keep_id, "do_not_contact", now=now)
    merged = {
        "id": other.id, "name": other.name, "email": other.email, "phone": other.phone,
        "external_id": other.external_id, "stage": other.stage,
        "created_at": other.created_at, "import_id": other.import_id,
    }  # fmt: skip
    activities.record(
        conn, keep_id, "field_change", at=now, now=now, actor=actor,
        note=f"Merged lead {other.id} into this one",
        data={"merged": merged, "changes": changes, "moved": moved},
    )  # fmt: skip
    from leadctl import predict, scoring

    scoring.rescore_lead(conn, keep_id, now)
    predict.update_lead(conn, keep_id)
    return {
        "lead": get_lead(conn, keep_id).to_dict(),
        "merged": merged,
        "filled": sorted(changes),
        "moved": moved,
    }


def _filled(keep: Lead, other: Lead) -> dict[str, list[Any]]:
    """{column: [old, new]} of the kept lead: its empty fields filled from
    the other, tags united, custom fields added, flags kept from either."""
    changes: dict[str, list[Any]] = {}
    for col in FILLED:
        old, new = getattr(keep, col), getattr(other, col)
        if old in (None, "") and new not in (None, ""):
            changes[col] = [old, new]
    if keep.value is None and other.value is not None:
        changes["value"] = [None, other.value]
        if other.currency != keep.currency:
            changes["currency"] = [keep.currency, other.currency]
    tags = [*keep.tags, *(t for t in other.tags if t not in keep.tags)]
    if tags != keep.tags:
        changes["tags"] = [keep.tags, tags]
    fields = {**other.fields, **keep.fields}
    if fields != keep.fields:
        changes["fields"] = [keep.fields, fields]
    for flag in ("do_not_contact", "qualified"):
        if getattr(other, flag) and not getattr(keep, flag):
            changes[flag] = [False, True]
    return changes


def _move(conn: sqlite3.Connection, keep_id: int, other_id: int, now: datetime) -> dict[str, int]:
    """Give the other lead's activities, follow-ups, enrolments and missing
    answers to the kept lead; how many of each."""
    from leadctl.sequences import _stop

    marks = ", ".join("?" for _ in _OWN_KINDS)
    acts = conn.execute(
        f"UPDATE activities SET lead_id = ? WHERE lead_id = ? AND kind NOT IN ({marks})",
        (keep_id, other_id, *_OWN_KINDS),
    ).rowcount
    clash = [
        (r[0], "merged")
        for r in conn.execute(
            "SELECT id FROM sequence_enrollments WHERE lead_id = ? AND status = 'active'"
            " AND sequence IN (SELECT sequence FROM sequence_enrollments"
            " WHERE lead_id = ? AND status = 'active')",
            (other_id, keep_id),
        )
    ]
    if clash:
        _stop(conn, clash, now)  # cancels their open follow-ups too
    enrolments = conn.execute(
        "UPDATE sequence_enrollments SET lead_id = ? WHERE lead_id = ?", (keep_id, other_id)
    ).rowcount
    followups = conn.execute(
        "UPDATE followups SET lead_id = ? WHERE lead_id = ?", (keep_id, other_id)
    ).rowcount
    answers = conn.execute(
        "INSERT OR IGNORE INTO qualification_answers (lead_id, criterion, value, answered_at)"
        " SELECT ?, criterion, value, answered_at FROM qualification_answers WHERE lead_id = ?",
        (keep_id, other_id),
    ).rowcount
    conn.execute("UPDATE import_keys SET lead_id = ? WHERE lead_id = ?", (keep_id, other_id))
    return {
        "activities": acts, "followups": followups, "enrollments": enrolments,
        "answers": answers,
    }  # fmt: skip
