"""Follow-ups: the next touch for a lead; add, done, snooze, cancel.

A follow-up is open until it is done (which logs an activity of its kind) or
cancelled. What is due, by urgency, is `leadctl.agenda`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from leadctl.dates import to_store
from leadctl.db import transaction
from leadctl.errors import ConflictError, NotFoundError, ValidationError

STATUSES = ("open", "done", "cancelled")
MAX_NOTE = 10_000


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


def lead_warnings(conn: sqlite3.Connection, lead_id: int) -> list[str]:
    """What to know before scheduling a touch: the lead opted out, or closed."""
    row = conn.execute(
        "SELECT l.do_not_contact, l.stage, s.kind FROM leads l JOIN stages s ON s.name = l.stage"
        " WHERE l.id = ?",
        (lead_id,),
    ).fetchone()
    if row is None:
        return []
    out = []
    if row[0]:
        out.append(f"lead {lead_id} is marked do-not-contact")
    if row[2] != "open":
        out.append(f"lead {lead_id} is {row[1]} (closed)")
    return out


def move_with_lead(conn: sqlite3.Connection, lead_id: int, old: str | None, new: str | None) -> int:
    """The lead changed hands: its open follow-ups that were the old owner's
    (or nobody's, while it had none) become the new owner's; one given to
    someone else stays theirs. Returns how many moved."""
    return int(
        conn.execute(
            "UPDATE followups SET owner = ? WHERE lead_id = ? AND status = 'open' AND owner IS ?",
            (new, lead_id, old),
        ).rowcount
    )


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
            from leadctl.team import require_member

            require_member(conn, who)  # the rule of a lead's owner
        from leadctl.db import next_id

        cur = conn.execute(
            "INSERT INTO followups (id, lead_id, due_at, kind, note, owner, status,"
            " enrollment_id, step, template, snoozed, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, 0, ?)",
            (next_id(conn, "followups"), lead_id, to_store(due), k, text, who, enrollment_id,
             step, template, to_store(now)),
        )  # fmt: skip
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
    """Move an open follow-up to a new due time (counted in `snoozed`): a
    later one; a time already past would leave it overdue, no snooze."""
    with transaction(conn):
        fu = _open_followup(conn, followup_id)
        if to <= now:
            raise ValidationError(
                f"{to_store(to)} is not later than now: a snooze moves a follow-up later",
                "Example: --to tomorrow, --to '+2h', --to 'mon 9am'.",
            )
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
