"""Pipeline stages and moving leads through them, with cheap stage history.

Every move is an activity (from, to, reason) and a row in `stage_history`,
whose `seconds` is filled when the stage is left, so time-in-stage reports
are plain aggregates.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from leadctl import activities
from leadctl.dates import from_store, to_store
from leadctl.db import transaction
from leadctl.errors import ConflictError, NotFoundError, UsageError, ValidationError
from leadctl.models import OPEN, Stage

STAGE_KINDS = ("open", "won", "lost", "disqualified", "inactive")
CLOSING_KINDS = ("won", "lost", "disqualified")


@dataclass
class StageMove:
    lead_id: int
    from_stage: str
    to_stage: str
    at: str
    reason: str | None
    activity_id: int

    def to_dict(self) -> dict[str, object]:
        return {
            "lead_id": self.lead_id, "from": self.from_stage, "to": self.to_stage,
            "at": self.at, "reason": self.reason, "activity_id": self.activity_id,
        }  # fmt: skip


def list_stages(conn: sqlite3.Connection) -> list[Stage]:
    return [Stage.from_row(r) for r in conn.execute("SELECT * FROM stages ORDER BY position")]


def get_stage(conn: sqlite3.Connection, name: str) -> Stage:
    key = name.strip().lower()
    row = conn.execute("SELECT * FROM stages WHERE name = ?", (key,)).fetchone()
    if row is None:
        names = ", ".join(s.name for s in list_stages(conn))
        raise NotFoundError(f"Unknown stage {name!r}", f"Stages: {names}.")
    return Stage.from_row(row)


def first_open_stage(conn: sqlite3.Connection) -> Stage:
    row = conn.execute(
        "SELECT * FROM stages WHERE kind = 'open' ORDER BY position LIMIT 1"
    ).fetchone()
    if row is None:
        raise ConflictError("The pipeline has no open stage", "Add one with `leadctl stages add`.")
    return Stage.from_row(row)


def next_stage(conn: sqlite3.Connection, current: Stage) -> Stage:
    """The next stage along the main path (open stages, then won)."""
    row = conn.execute(
        "SELECT * FROM stages WHERE position > ? AND kind IN ('open', 'won')"
        " ORDER BY position LIMIT 1",
        (current.position,),
    ).fetchone()
    if row is None:
        raise ConflictError(
            f"Stage {current.name!r} is the last one", "Use --to STAGE to choose where it goes."
        )
    return Stage.from_row(row)


def allowed_targets(conn: sqlite3.Connection, current: Stage, reopen: bool) -> list[Stage]:
    out = []
    for st in list_stages(conn):
        if st.name == current.name:
            continue
        if st.kind == "inactive" and current.kind != "won":
            continue
        if (
            current.kind != OPEN
            and not reopen
            and not (current.kind == "won" and st.kind == "inactive")
        ):
            continue
        out.append(st)
    return out


def move_stage(
    conn: sqlite3.Connection,
    lead_id: int,
    to: str | None,
    *,
    now: datetime,
    actor: str | None,
    reason: str | None = None,
    reopen: bool = False,
    at: datetime | None = None,
) -> StageMove:
    """Move a lead to `to` (or the next stage). Refuses moves the pipeline forbids."""
    when = at or now
    with transaction(conn):
        row = conn.execute(
            "SELECT stage, stage_entered_at FROM leads WHERE id = ?", (lead_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"No lead with id {lead_id}", "List ids with `leadctl list`.")
        current = get_stage(conn, row["stage"])
        if to is None:
            if not current.is_open:
                raise ConflictError(
                    f"Lead {lead_id} is {current.name} (closed)",
                    "Use --to STAGE --reopen to move it again.",
                )
            target = next_stage(conn, current)
        else:
            target = get_stage(conn, to)
        allowed = allowed_targets(conn, current, reopen)
        if target.name == current.name:
            raise ConflictError(
                f"Lead {lead_id} is already in stage {current.name!r}",
                "See its stages with `leadctl stages`; give another --to.",
            )
        if target.name not in {s.name for s in allowed}:
            names = ", ".join(s.name for s in allowed) or "none"
            if target.kind == "inactive" and current.kind != "won":
                why = f"only a won lead can become {target.name!r}"
            elif not current.is_open and not reopen:
                why = f"lead {lead_id} is {current.name} (closed); add --reopen to move it"
            else:
                why = f"lead {lead_id} cannot move from {current.name!r} to {target.name!r}"
            raise ConflictError(f"Cannot move: {why}", f"Allowed stages: {names}.")
        reason = reason.strip() if reason else None
        if target.requires_reason and not reason:
            raise UsageError(
                f"Moving to {target.name!r} needs a reason",
                f'Add --reason, e.g. --to {target.name} --reason "too expensive".',
            )
        when_s = to_store(when)
        if when_s < row["stage_entered_at"]:
            raise ValidationError(
                f"The move time {when_s} is before the lead entered {current.name!r}",
                "Give a later --at.",
            )
        activity_id = activities.record(
            conn, lead_id, "stage_change", at=when, now=now, actor=actor, note=reason,
            data={"from": current.name, "to": target.name, "reason": reason},
        )  # fmt: skip
        _write_history(conn, lead_id, target.name, when_s, activity_id)
        if target.kind in CLOSING_KINDS:
            closed_at: str | None = when_s
        elif target.kind == "inactive":
            closed_at = conn.execute(
                "SELECT closed_at FROM leads WHERE id = ?", (lead_id,)
            ).fetchone()[0]
        else:
            closed_at = None
        conn.execute(
            "UPDATE leads SET stage = ?, stage_entered_at = ?, closed_at = ?,"
            " lost_reason = CASE WHEN ? THEN ? ELSE lost_reason END, updated_at = ?"
            " WHERE id = ?",
            (
                target.name, when_s, closed_at, target.kind in ("lost", "disqualified"),
                reason, to_store(now), lead_id,
            ),
        )  # fmt: skip
        if target.kind != "open":
            # Nurturing stops the moment the lead closes, not at the next run.
            from leadctl.sequences import stop_for_lead

            stop_for_lead(conn, lead_id, target.kind, now=now)
        # The activity above was scored with the old stage; rescore with the new one.
        from leadctl.scoring import rescore_lead

        rescore_lead(conn, lead_id, now)
    return StageMove(lead_id, current.name, target.name, when_s, reason, activity_id)


def _write_history(
    conn: sqlite3.Connection, lead_id: int, stage: str, at: str, activity_id: int | None
) -> None:
    open_row = conn.execute(
        "SELECT id, entered_at FROM stage_history WHERE lead_id = ? AND left_at IS NULL",
        (lead_id,),
    ).fetchone()
    if open_row is not None:
        seconds = int((from_store(at) - from_store(open_row["entered_at"])).total_seconds())
        conn.execute(
            "UPDATE stage_history SET left_at = ?, seconds = ? WHERE id = ?",
            (at, max(seconds, 0), open_row["id"]),
        )
    conn.execute(
        "INSERT INTO stage_history (lead_id, stage, entered_at, activity_id) VALUES (?, ?, ?, ?)",
        (lead_id, stage, at, activity_id),
    )


def start_history(conn: sqlite3.Connection, lead_id: int, stage: str, at: str) -> None:
    """The first stage-history row of a new lead."""
    _write_history(conn, lead_id, stage, at, None)


# ---- editing the pipeline ---------------------------------------------------


def _check_probability(kind: str, name: str, probability: int | None) -> int | None:
    """A closed stage's probability is fixed (DESIGN: won counts at 100, the
    others at 0): a closed lead takes its stage's, and the pipeline, forecast
    and list must agree on it. Returns the probability to store."""
    if probability is not None and not 0 <= probability <= 100:
        raise ValidationError(
            f"Probability {probability} is not 0-100", "Example: --probability 40"
        )
    if kind == OPEN:
        return probability
    fixed = 100 if kind == "won" else 0
    if probability is not None and probability != fixed:
        raise ValidationError(
            f"Stage {name!r} is {kind}: its probability is always {fixed}",
            "Set the probability of the open stages.",
        )
    return fixed


def update_stage(
    conn: sqlite3.Connection,
    name: str,
    *,
    probability: int | None = None,
    rot_days: int | None = None,
    clear_rot: bool = False,
    requires_reason: bool | None = None,
) -> Stage:
    stage = get_stage(conn, name)
    if probability is not None:
        probability = _check_probability(stage.kind, stage.name, probability)
    if rot_days is not None and rot_days < 1:
        raise ValidationError(f"Rot days {rot_days} must be 1 or more", "Example: --rot-days 14")
    with transaction(conn):
        conn.execute(
            "UPDATE stages SET probability = COALESCE(?, probability),"
            " rot_days = CASE WHEN ? THEN NULL ELSE COALESCE(?, rot_days) END,"
            " requires_reason = COALESCE(?, requires_reason) WHERE name = ?",
            (probability, clear_rot, rot_days, requires_reason, stage.name),
        )
    return get_stage(conn, stage.name)


def _check_name(conn: sqlite3.Connection, name: str) -> str:
    key = name.strip().lower()
    if not key or not all(ch.isalnum() or ch in "-_" for ch in key):
        raise ValidationError(
            f"{name!r} is not a valid stage name", "Use letters, digits, - and _, e.g. proposal."
        )
    if conn.execute("SELECT 1 FROM stages WHERE name = ?", (key,)).fetchone():
        raise ConflictError(
            f"A stage named {key!r} already exists", "Pick another name (see `leadctl stages`)."
        )
    return key


def rename_stage(conn: sqlite3.Connection, old: str, new: str) -> Stage:
    stage = get_stage(conn, old)
    key = _check_name(conn, new)
    with transaction(conn):
        # leads.stage follows by ON UPDATE CASCADE; history and follow-ups are
        # keyed by name too, so they follow here. Activities keep the name the
        # stage had at the time: they are history.
        conn.execute("UPDATE stages SET name = ? WHERE name = ?", (key, stage.name))
        conn.execute("UPDATE stage_history SET stage = ? WHERE stage = ?", (key, stage.name))
        # So do the score rules on `stage` and what the learned model knows of
        # it: a rename changes no score nor probability.
        for rule_id, value in conn.execute(
            "SELECT id, value FROM score_rules WHERE field = 'stage' AND value IS NOT NULL"
        ).fetchall():
            names = [v.strip() for v in str(value).split(",")]
            if any(v.lower() == stage.name for v in names):
                renamed = ",".join(key if v.lower() == stage.name else v for v in names)
                conn.execute("UPDATE score_rules SET value = ? WHERE id = ?", (renamed, rule_id))
        from leadctl.predict import rename_stage_reached

        rename_stage_reached(conn, stage.name, key)
    return get_stage(conn, key)


def add_stage(
    conn: sqlite3.Connection,
    name: str,
    *,
    kind: str = OPEN,
    probability: int | None,
    rot_days: int | None = None,
    after: str | None = None,
    requires_reason: bool = False,
) -> Stage:
    key = _check_name(conn, name)
    if kind not in STAGE_KINDS:
        raise ValidationError(
            f"Unknown stage kind {kind!r}", f"Use one of: {', '.join(STAGE_KINDS)}."
        )
    probability = _check_probability(kind, key, probability)
    if probability is None:
        raise ValidationError("An open stage needs a win probability", "Example: --probability 40")
    with transaction(conn):
        if after is not None:
            position = get_stage(conn, after).position + 1
        else:
            # New open stages go before the first closed one by default.
            row = conn.execute("SELECT MIN(position) FROM stages WHERE kind != 'open'").fetchone()
            position = row[0] if kind == OPEN and row[0] is not None else _max_position(conn) + 1
        conn.execute("UPDATE stages SET position = position + 1 WHERE position >= ?", (position,))
        conn.execute(
            "INSERT INTO stages (name, position, kind, probability, rot_days, requires_reason)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, position, kind, probability, rot_days, int(requires_reason)),
        )
        _renumber(conn)
    return get_stage(conn, key)


def move_stage_position(
    conn: sqlite3.Connection, name: str, *, after: str | None = None, before: str | None = None
) -> list[Stage]:
    if (after is None) == (before is None):
        raise UsageError("Give exactly one of --after or --before")
    stage = get_stage(conn, name)
    anchor = get_stage(conn, after or before or "")
    if anchor.name == stage.name:
        raise UsageError("A stage cannot be placed relative to itself")
    with transaction(conn):
        order = [s.name for s in list_stages(conn) if s.name != stage.name]
        idx = order.index(anchor.name) + (1 if after else 0)
        order.insert(idx, stage.name)
        for pos, n in enumerate(order, start=1):
            conn.execute("UPDATE stages SET position = ? WHERE name = ?", (-pos, n))
        conn.execute("UPDATE stages SET position = -position")
    return list_stages(conn)


def remove_stage(conn: sqlite3.Connection, name: str) -> None:
    stage = get_stage(conn, name)
    with transaction(conn):
        used = conn.execute("SELECT count(*) FROM leads WHERE stage = ?", (stage.name,)).fetchone()[
            0
        ]
        if used:
            raise ConflictError(
                f"Stage {stage.name!r} still holds {used} lead(s)",
                "Move them first (leadctl list --stage ... then advance --to).",
            )
        kinds_left = conn.execute(
            "SELECT count(*) FROM stages WHERE kind = ? AND name != ?", (stage.kind, stage.name)
        ).fetchone()[0]
        if stage.kind in ("open", "won", "lost") and not kinds_left:
            raise ConflictError(f"Stage {stage.name!r} is the only {stage.kind} stage; keep it")
        conn.execute("DELETE FROM stages WHERE name = ?", (stage.name,))
        _renumber(conn)


def _max_position(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(position), 0) FROM stages").fetchone()[0])


def _renumber(conn: sqlite3.Connection) -> None:
    names = [r[0] for r in conn.execute("SELECT name FROM stages ORDER BY position, name")]
    for pos, n in enumerate(names, start=1):
        conn.execute("UPDATE stages SET position = ? WHERE name = ?", (-pos, n))
    conn.execute("UPDATE stages SET position = -position")
