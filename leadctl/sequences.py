"""Nurturing sequences: planned touches, one follow-up at a time.

A sequence is an ordered list of steps (delay in days, kind, optional
template name, optional note). Enrolling a lead schedules step 1 as a
follow-up due `delay` days after enrolment. Completing (or cancelling) that
follow-up schedules the next step, due `delay` days after the previous step
was completed: delays are relative to the previous step, so a late call does
not make the next touch land on top of it. After the last step the enrolment
is `completed`.

An active enrolment stops by itself (status `stopped`, open follow-ups
cancelled) when its lead is no longer in an open stage (won, lost,
disqualified, inactive; the reason is the stage kind), when it is unenrolled,
or when an inbound activity (a reply) is logged at or after enrolment,
unless the sequence was added with stop_on_reply off. `sync` applies those
rules; the CLI runs it before listing follow-ups or sequence status and after
writes that can trigger a stop, and is cheap when nothing is to stop.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadctl.dates import to_store
from leadctl.db import transaction
from leadctl.errors import (
    ConflictError,
    LeadctlError,
    NotFoundError,
    UsageError,
    ValidationError,
)

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DELAY_RE = re.compile(r"^\+?(\d{1,4})\s*(d|days?|w|weeks?)?$")
STEP_EXAMPLE = 'Example: --step "0d email intro" --step "3d call : ask about the demo"'
MAX_DELAY_DAYS = 3660


@dataclass
class Step:
    position: int
    delay_days: int
    kind: str
    template: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        text = f"+{self.delay_days}d {self.kind}"
        if self.template:
            text += f" {self.template}"
        if self.note:
            text += f" : {self.note}"
        return text


@dataclass
class Sequence:
    name: str
    stop_on_reply: bool
    created_at: str
    steps: list[Step] = field(default_factory=list)
    active: int = 0
    completed: int = 0
    stopped: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["steps"] = [s.to_dict() for s in self.steps]
        return d


@dataclass
class Enrollment:
    id: int
    lead_id: int
    sequence: str
    current_step: int
    status: str
    stop_reason: str | None
    enrolled_at: str
    ended_at: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Enrollment:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- defining sequences ------------------------------------------------------


def _check_name(name: str) -> str:
    key = name.strip().lower()
    if not _NAME_RE.match(key):
        raise ValidationError(
            f"{name!r} is not a valid sequence name",
            "Use letters, digits, - and _, e.g. welcome or re-engage.",
        )
    return key


def parse_delay(text: str) -> int:
    """'3d', '3', '+3d', '2w' -> days."""
    m = _DELAY_RE.match(text.strip().lower())
    if not m:
        raise ValidationError(f"Cannot read the delay {text!r}", STEP_EXAMPLE)
    days = int(m.group(1)) * (7 if (m.group(2) or "d").startswith("w") else 1)
    if days > MAX_DELAY_DAYS:
        raise ValidationError(f"The delay {text!r} is over {MAX_DELAY_DAYS} days", STEP_EXAMPLE)
    return days


def parse_step(text: str, position: int) -> Step:
    """'DELAY KIND [TEMPLATE] [: NOTE]', e.g. '0d email intro' or '3d call : ask'."""
    from leadctl.followups import check_kind

    spec, sep, note = text.partition(":")
    words = spec.split()
    if len(words) < 2 or len(words) > 3:
        raise ValidationError(f"Cannot read the step {text!r}", STEP_EXAMPLE)
    delay = parse_delay(words[0])
    kind = check_kind(words[1])
    template = words[2] if len(words) == 3 else None
    clean_note = note.strip() if sep and note.strip() else None
    if clean_note and "\x00" in clean_note:
        raise ValidationError("A step note contains a NUL byte")
    return Step(position, delay, kind, template, clean_note)


def _check_templates(conn: sqlite3.Connection, steps: list[Step]) -> None:
    known = {r[0] for r in conn.execute("SELECT name FROM templates")}
    for step in steps:
        if step.template and step.template not in known:
            names = ", ".join(sorted(known)) or "none yet"
            raise NotFoundError(
                f"Unknown template {step.template!r} in step {step.position}",
                f"Templates: {names}; add one with `leadctl template add`.",
            )


def add_sequence(
    conn: sqlite3.Connection,
    name: str,
    steps: list[str],
    *,
    now: datetime,
    stop_on_reply: bool = True,
) -> Sequence:
    key = _check_name(name)
    if not steps:
        raise UsageError(f"Sequence {key!r} needs at least one --step", STEP_EXAMPLE)
    parsed = [parse_step(text, i) for i, text in enumerate(steps, start=1)]
    with transaction(conn):
        if conn.execute("SELECT 1 FROM sequences WHERE name = ?", (key,)).fetchone():
            raise ConflictError(
                f"A sequence named {key!r} already exists",
                f"Remove it first with `leadctl sequence remove {key}`, or choose another name.",
            )
        _check_templates(conn, parsed)
        conn.execute(
            "INSERT INTO sequences (name, stop_on_reply, created_at) VALUES (?, ?, ?)",
            (key, int(stop_on_reply), to_store(now)),
        )
        conn.executemany(
            "INSERT INTO sequence_steps (sequence, position, delay_days, kind, template, note)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(key, s.position, s.delay_days, s.kind, s.template, s.note) for s in parsed],
        )
    return get_sequence(conn, key)


def _steps(conn: sqlite3.Connection, name: str) -> list[Step]:
    return [
        Step(r["position"], r["delay_days"], r["kind"], r["template"], r["note"])
        for r in conn.execute(
            "SELECT * FROM sequence_steps WHERE sequence = ? ORDER BY position", (name,)
        )
    ]


def _not_found(conn: sqlite3.Connection, name: str) -> NotFoundError:
    names = [r[0] for r in conn.execute("SELECT name FROM sequences ORDER BY name")]
    return NotFoundError(
        f"Unknown sequence {name!r}",
        f"Sequences: {', '.join(names)}." if names else "Add one with `leadctl sequence add`.",
    )


def get_sequence(conn: sqlite3.Connection, name: str) -> Sequence:
    key = name.strip().lower()
    row = conn.execute("SELECT * FROM sequences WHERE name = ?", (key,)).fetchone()
    if row is None:
        raise _not_found(conn, name)
    counts = dict(
        conn.execute(
            "SELECT status, count(*) FROM sequence_enrollments WHERE sequence = ? GROUP BY status",
            (key,),
        ).fetchall()
    )
    return Sequence(
        row["name"], bool(row["stop_on_reply"]), row["created_at"], _steps(conn, key),
        counts.get("active", 0), counts.get("completed", 0), counts.get("stopped", 0),
    )  # fmt: skip


def list_sequences(conn: sqlite3.Connection) -> list[Sequence]:
    return [
        get_sequence(conn, r[0]) for r in conn.execute("SELECT name FROM sequences ORDER BY name")
    ]


def remove_sequence(
    conn: sqlite3.Connection, name: str, *, now: datetime, force: bool = False
) -> Sequence:
    """Delete a sequence; with active enrolments only when forced (they stop)."""
    from leadctl.followups import cancel_open_for_enrollments

    with transaction(conn):
        seq = get_sequence(conn, name)
        if seq.active and not force:
            raise ConflictError(
                f"Sequence {seq.name!r} has {seq.active} active enrolment(s)",
                "Unenroll them first, or add --force to stop them and remove it.",
            )
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM sequence_enrollments WHERE sequence = ?", (seq.name,)
            )
        ]
        cancel_open_for_enrollments(conn, ids, now=now)
        if ids:
            marks = ", ".join("?" for _ in ids)
            # Done follow-ups stay as history, detached from the deleted enrolment.
            conn.execute(
                f"UPDATE followups SET enrollment_id = NULL WHERE enrollment_id IN ({marks})", ids
            )
            conn.execute(f"DELETE FROM sequence_enrollments WHERE id IN ({marks})", ids)
        conn.execute("DELETE FROM sequences WHERE name = ?", (seq.name,))
    return seq


# ---- enrolment and progression -------------------------------------------------


def get_enrollment(conn: sqlite3.Connection, enrollment_id: int) -> Enrollment:
    row = conn.execute(
        "SELECT * FROM sequence_enrollments WHERE id = ?", (enrollment_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"No enrolment with id {enrollment_id}")
    return Enrollment.from_row(row)


def _schedule(
    conn: sqlite3.Connection, enrollment: Enrollment, step: Step, *, base: datetime, now: datetime
) -> Any:
    from leadctl.followups import add_followup

    return add_followup(
        conn, enrollment.lead_id, base + timedelta(days=step.delay_days), now=now,
        kind=step.kind, note=step.note or f"{enrollment.sequence} step {step.position}",
        enrollment_id=enrollment.id, step=step.position, template=step.template,
    )  # fmt: skip


# The contact detail a step of each kind reaches the lead by.
_CHANNEL = {"email": "email", "whatsapp": "phone", "sms": "phone", "call": "phone"}


def _refusal(conn: sqlite3.Connection, lead_id: int, seq: Sequence) -> LeadctlError | None:
    """Why lead_id cannot be enrolled in `seq` now (None: it can)."""
    sequence = seq.name
    lead = conn.execute(
        "SELECT l.id, l.stage, l.do_not_contact, l.email, l.phone, s.kind FROM leads l"
        " JOIN stages s ON s.name = l.stage WHERE l.id = ?",
        (lead_id,),
    ).fetchone()
    if lead is None:
        return NotFoundError(f"No lead with id {lead_id}", "List ids with `leadctl list`.")
    if lead["kind"] != "open":
        return ConflictError(
            f"Lead {lead_id} is {lead['stage']} (closed) and cannot be enrolled",
            f"Reopen it first with `leadctl advance {lead_id} --to STAGE --reopen`.",
        )
    if lead["do_not_contact"]:
        return ConflictError(
            f"Lead {lead_id} is marked do-not-contact and cannot be enrolled",
            f"If they agreed to hear from you again: `leadctl edit {lead_id} --contact-ok`.",
        )
    for step in seq.steps:
        need = _CHANNEL.get(step.kind)
        if need is not None and not lead[need]:
            what = "e-mail address" if need == "email" else "phone number"
            option = "--email" if need == "email" else "--phone"
            return ConflictError(
                f"Lead {lead_id} has no {what}, and step {step.position} of {sequence!r}"
                f" is {'an' if step.kind == 'email' else 'a'} {step.kind}",
                f"Add one (`leadctl edit {lead_id} {option} ...`) or choose a sequence"
                f" without {step.kind} steps.",
            )
    if conn.execute(
        "SELECT 1 FROM sequence_enrollments WHERE lead_id = ? AND sequence = ?"
        " AND status = 'active'",
        (lead_id, sequence),
    ).fetchone():
        return ConflictError(
            f"Lead {lead_id} is already enrolled in {sequence!r}",
            f"See `leadctl sequence status --lead {lead_id}`.",
        )
    return None


def enroll(conn: sqlite3.Connection, lead_id: int, name: str, *, now: datetime) -> dict[str, Any]:
    """Enrol an open lead and schedule step 1 (due `delay` days from now):
    {"enrollment": ..., "followup": ...}."""
    enrolled: list[dict[str, Any]] = enroll_many(conn, name, [lead_id], now=now)["enrolled"]
    return enrolled[0]


def enroll_many(
    conn: sqlite3.Connection,
    name: str,
    lead_ids: list[int],
    *,
    now: datetime,
    skip_unfit: bool = False,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Enrol each lead (one transaction): {"sequence", "enrolled": [{"enrollment",
    "followup"}], "skipped": [{"lead_id", "reason"}]}. A lead that cannot be
    enrolled (unknown, closed, do-not-contact, already in it) fails the whole
    call, or with `skip_unfit` is skipped with its reason. A repeated id is
    enrolled once. `dry_run`: nothing is written; "enrolled" holds the lead
    ids that would be (a read: it works on a read-only file)."""
    from contextlib import nullcontext

    with nullcontext(conn) if dry_run else transaction(conn):
        seq = get_sequence(conn, name)
        enrolled: list[Any] = []
        skipped: list[dict[str, Any]] = []
        for lead_id in dict.fromkeys(lead_ids):
            refusal = _refusal(conn, lead_id, seq)
            if refusal is not None:
                if not skip_unfit:
                    raise refusal
                skipped.append({"lead_id": lead_id, "reason": refusal.message})
            elif dry_run:
                enrolled.append(lead_id)
            else:
                cur = conn.execute(
                    "INSERT INTO sequence_enrollments (lead_id, sequence, current_step, status,"
                    " enrolled_at) VALUES (?, ?, 0, 'active', ?)",
                    (lead_id, seq.name, to_store(now)),
                )
                assert cur.lastrowid is not None
                enrollment = get_enrollment(conn, cur.lastrowid)
                first = _schedule(conn, enrollment, seq.steps[0], base=now, now=now)
                enrolled.append({"enrollment": enrollment.to_dict(), "followup": first.to_dict()})
        return {"sequence": seq.name, "enrolled": enrolled, "skipped": skipped}


def step_done(
    conn: sqlite3.Connection, enrollment_id: int, step: int | None, *, now: datetime
) -> tuple[Any, str]:
    """A step's follow-up was completed or skipped: schedule the next step
    (due its delay after `now`) or complete the enrolment. Returns
    (next follow-up or None, enrolment status)."""
    with transaction(conn):
        enrollment = get_enrollment(conn, enrollment_id)
        if enrollment.status != "active":
            return None, enrollment.status
        from leadctl.agenda import pending_sequence_stops

        # The lead closed, opted out or replied since (an import, say): no next step.
        reason = dict(pending_sequence_stops(conn)).get(enrollment_id)
        if reason is not None:
            _stop(conn, [(enrollment_id, reason)], now)
            return None, "stopped"
        position = step if step is not None else enrollment.current_step + 1
        steps = [s for s in _steps(conn, enrollment.sequence) if s.position > position]
        if steps:
            conn.execute(
                "UPDATE sequence_enrollments SET current_step = ? WHERE id = ?",
                (position, enrollment_id),
            )
            return _schedule(conn, enrollment, steps[0], base=now, now=now), "active"
        conn.execute(
            "UPDATE sequence_enrollments SET current_step = ?, status = 'completed',"
            " ended_at = ? WHERE id = ?",
            (position, to_store(now), enrollment_id),
        )
        return None, "completed"


def _stop(conn: sqlite3.Connection, ids_reasons: list[tuple[int, str]], now: datetime) -> None:
    from leadctl.followups import cancel_open_for_enrollments

    now_s = to_store(now)
    for enrollment_id, reason in ids_reasons:
        conn.execute(
            "UPDATE sequence_enrollments SET status = 'stopped', stop_reason = ?, ended_at = ?"
            " WHERE id = ? AND status = 'active'",
            (reason, now_s, enrollment_id),
        )
    cancel_open_for_enrollments(conn, [i for i, _ in ids_reasons], now=now)


def stop_for_lead(
    conn: sqlite3.Connection, lead_id: int, reason: str, *, now: datetime
) -> list[int]:
    """Stop the lead's active enrolments at once (it closed, or must not be
    contacted) and cancel their open follow-ups. Returns the enrolment ids."""
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM sequence_enrollments WHERE lead_id = ? AND status = 'active'",
            (lead_id,),
        )
    ]
    if ids:
        with transaction(conn):
            _stop(conn, [(i, reason) for i in ids], now)
    return ids


def unenroll(
    conn: sqlite3.Connection, lead_id: int, name: str | None = None, *, now: datetime
) -> list[Enrollment]:
    """Stop the lead's active enrolments (in `name` only, if given)."""
    with transaction(conn):
        sql = "SELECT * FROM sequence_enrollments WHERE lead_id = ? AND status = 'active'"
        params: list[Any] = [lead_id]
        if name is not None:
            seq = get_sequence(conn, name)
            sql += " AND sequence = ?"
            params.append(seq.name)
        rows = [Enrollment.from_row(r) for r in conn.execute(sql, params)]
        if not rows:
            where = f" in {name.strip().lower()!r}" if name else ""
            raise NotFoundError(
                f"Lead {lead_id} is not enrolled{where}",
                f"See `leadctl sequence status --lead {lead_id}`.",
            )
        _stop(conn, [(e.id, "unenrolled") for e in rows], now)
        return [get_enrollment(conn, e.id) for e in rows]


def sync(conn: sqlite3.Connection, *, now: datetime) -> list[tuple[int, str]]:
    """Stop active enrolments whose lead closed or replied. Returns
    [(enrolment id, reason)]; writes only when something stops."""
    from leadctl.agenda import pending_sequence_stops

    found = pending_sequence_stops(conn)
    if found:
        with transaction(conn):
            _stop(conn, found, now)
    return found


def sync_if_writable(conn: sqlite3.Connection, *, now: datetime) -> dict[int, str]:
    """`sync` for a reading command: on a read-only file (reading works there)
    nothing is written, and the enrolments that should stop are returned,
    {id: reason} (a listing leaves their steps out; `sequence status` shows
    them as stopping); the next writer stops them."""
    try:
        sync(conn, now=now)
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc):
            raise
        from leadctl.agenda import pending_sequence_stops

        return dict(pending_sequence_stops(conn))
    return {}


def status(
    conn: sqlite3.Connection,
    *,
    sequence: str | None = None,
    lead_id: int | None = None,
    include_ended: bool = False,
    stopping: dict[int, str] | None = None,
) -> list[dict[str, Any]]:
    """Who is where: one row per enrolment, with the next scheduled step.
    `stopping` ({id: reason}, from sync_if_writable on a read-only file):
    enrolments that stop at the next write, shown as "stopping", no next step."""
    clauses: list[str] = []
    params: list[Any] = []
    if sequence is not None:
        clauses.append("e.sequence = ?")
        params.append(get_sequence(conn, sequence).name)
    if lead_id is not None:
        if conn.execute("SELECT 1 FROM leads WHERE id = ?", (lead_id,)).fetchone() is None:
            raise NotFoundError(f"No lead with id {lead_id}", "List ids with `leadctl list`.")
        clauses.append("e.lead_id = ?")
        params.append(lead_id)
    if not include_ended:
        clauses.append("e.status = 'active'")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = f"""
        SELECT e.*, l.name AS lead_name,
               (SELECT count(*) FROM sequence_steps st WHERE st.sequence = e.sequence) AS steps,
               f.id AS next_followup, f.step AS next_step, f.due_at AS next_due,
               f.kind AS next_kind, f.template AS next_template
        FROM sequence_enrollments e
        JOIN leads l ON l.id = e.lead_id
        LEFT JOIN followups f ON f.enrollment_id = e.id AND f.status = 'open'
        {where}
        ORDER BY e.status = 'active' DESC, e.sequence, f.due_at, e.id
    """
    keys = (
        "id", "lead_id", "lead_name", "sequence", "status", "current_step", "steps",
        "next_step", "next_due", "next_kind", "next_template", "next_followup",
        "stop_reason", "enrolled_at", "ended_at",
    )  # fmt: skip
    rows = [{k: r[k] for k in keys} for r in conn.execute(sql, params)]
    for row in rows:
        if stopping and row["status"] == "active" and row["id"] in stopping:
            row["status"], row["stop_reason"] = "stopping", stopping[row["id"]]
            for k in ("next_step", "next_due", "next_kind", "next_template", "next_followup"):
                row[k] = None
    return rows
