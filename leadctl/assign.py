"""Distribution: who works which lead (DESIGN.md §3 "Assignment").

Automatic assignment takes leads highest score first (unscored last, then
oldest first). For each lead the candidates are the active members whose
filters accept it and who have capacity left; the first candidate in the
round-robin queue gets it and moves to the end of the queue. The queue is
stored in `team_members.rr_order`, so the next run continues the rotation.
Optionally the member who captured the lead gets it when they are a
candidate. A lead nobody can take stays unassigned, with the reason.

Every assignment is an `assignment` activity with data {from, to, rule}.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadctl import activities
from leadctl.dates import to_store
from leadctl.db import get_setting, transaction
from leadctl.errors import ConflictError, NotFoundError
from leadctl.team import (
    FILTER_KEYS,
    Load,
    Member,
    get_member,
    list_members,
    loads,
    member_hint,
    set_active,
)

# Setting: give a lead to the member who captured it when they can take it.
PREFER_CAPTURED_BY = "assign_prefer_captured_by"

ASSIGNED = "assigned"  # the lead got (or, in a dry run, would get) an owner
UNASSIGNED = "unassigned"  # nobody could take it; `reason` says why
SKIPPED = "skipped"  # not eligible for automatic assignment (owned, closed)
UNCHANGED = "unchanged"  # manual assignment to the current owner

# Highest score first, unscored last, then oldest first.
_ORDER = "l.score IS NULL, l.score DESC, l.created_at, l.id"
# In the order of LeadRef's fields (rows are unpacked positionally, for speed).
_COLUMNS = (
    "l.id, l.name, l.score, l.owner, l.captured_by, l.product, l.segment, l.city,"
    " l.source, l.stage, s.kind AS stage_kind, l.created_at"
)
_FROM = "leads l JOIN stages s ON s.name = l.stage"


@dataclass
class LeadRef:
    """The columns of a lead the assignment rules read."""

    id: int
    name: str | None
    score: int | None
    owner: str | None
    captured_by: str | None
    product: str | None
    segment: str | None
    city: str | None
    source: str | None
    stage: str
    stage_kind: str
    created_at: str

    @property
    def is_open(self) -> bool:
        return self.stage_kind == "open"


@dataclass
class Decision:
    lead_id: int
    name: str | None
    score: int | None
    from_owner: str | None
    to: str | None
    status: str
    rule: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `assign` (one record per lead)."""
        return {
            "lead_id": self.lead_id, "name": self.name, "score": self.score,
            "from": self.from_owner, "to": self.to, "status": self.status,
            "rule": self.rule, "reason": self.reason,
        }  # fmt: skip


def _writing(conn: sqlite3.Connection, dry_run: bool) -> AbstractContextManager[Any]:
    return nullcontext() if dry_run else transaction(conn)


def _select(conn: sqlite3.Connection, where: str, params: list[Any]) -> list[LeadRef]:
    sql = f"SELECT {_COLUMNS} FROM {_FROM} WHERE {where} ORDER BY {_ORDER}"
    return [LeadRef(*r) for r in conn.execute(sql, params)]


def _show(value: str | None) -> str:
    return "(none)" if value is None else value


def _apply(
    conn: sqlite3.Connection, lead: LeadRef, to: str | None, rule: str, *, now: datetime,
    actor: str | None,
) -> None:  # fmt: skip
    from leadctl.followups import move_with_lead

    conn.execute(
        "UPDATE leads SET owner = ?, updated_at = ? WHERE id = ?", (to, to_store(now), lead.id)
    )
    move_with_lead(conn, lead.id, lead.owner, to)
    activities.record(
        conn, lead.id, "assignment", at=now, now=now, actor=actor,
        data={"from": lead.owner, "to": to, "rule": rule},
    )  # fmt: skip


# ---------------------------------------------------------------- manual


def assign_to(
    conn: sqlite3.Connection,
    lead_ids: list[int],
    handle: str,
    *,
    now: datetime,
    actor: str | None,
    force: bool = False,
) -> tuple[list[Decision], list[str]]:
    """Give leads to one member by hand. Returns the decisions and warnings.

    All or nothing: an unknown lead, or one that would put the member over
    capacity (without `force`), refuses the whole batch.
    """
    warnings: list[str] = []
    decisions: list[Decision] = []
    with transaction(conn):
        member = get_member(conn, handle)
        if not member.active:
            raise ConflictError(
                f"Team member {member.handle!r} is inactive",
                f"{member_hint(conn)} Or `leadctl team activate {member.handle}`.",
            )
        load = loads(conn, [member], now=now)[member.handle]
        for lead_id in lead_ids:
            found = _select(conn, "l.id = ?", [lead_id])
            if not found:
                raise NotFoundError(f"No lead with id {lead_id}", "List ids with `leadctl list`.")
            lead = found[0]
            if lead.owner == member.handle:
                decisions.append(
                    Decision(lead.id, lead.name, lead.score, lead.owner, lead.owner, UNCHANGED,
                             "manual", f"already owned by {member.handle}")
                )  # fmt: skip
                continue
            counts = lead.is_open or load.window_days is not None
            rule = "manual"
            if counts and load.full:
                over = f"{member.handle} is at capacity ({load.describe()})"
                if not force:
                    raise ConflictError(
                        f"Cannot assign lead {lead.id}: {over}",
                        "Add --force to assign anyway, or raise it with "
                        f"`leadctl team edit {member.handle} --capacity N`.",
                    )
                warnings.append(f"Lead {lead.id}: {over}; assigned anyway (--force).")
                rule = f"manual, over capacity {load.describe()} (forced)"
            _apply(conn, lead, member.handle, rule, now=now, actor=actor)
            load.take(is_open=lead.is_open)
            decisions.append(
                Decision(lead.id, lead.name, lead.score, lead.owner, member.handle, ASSIGNED, rule)
            )
    return decisions, warnings


# ---------------------------------------------------------------- automatic


def _why_nobody(lead: LeadRef, members: list[Member], current: dict[str, Load]) -> str:
    if not members:
        return "no active team member (add one with `leadctl team add`)"
    rejecting: dict[str, list[str]] = {}
    accepting: list[Member] = []
    for m in members:
        key = m.rejects(lead)
        if key is None:
            accepting.append(m)
        else:
            rejecting.setdefault(key, []).append(m.handle)
    if accepting:
        full = ", ".join(f"{m.handle} {current[m.handle].describe()}" for m in accepting)
        return f"all matching members are at capacity: {full}"
    keys = [k for k in FILTER_KEYS if k in rejecting]
    if len(keys) == 1:
        return f"no member accepts {keys[0]}={_show(getattr(lead, keys[0]))}"
    parts = [f"{k}={_show(getattr(lead, k))} ({', '.join(rejecting[k])})" for k in keys]
    return "no member accepts " + "; ".join(parts)


def _filtered_keys(candidates: list[Member]) -> tuple[str, ...]:
    return tuple(k for k in FILTER_KEYS if any(m.filters.get(k) for m in candidates))


def _why_these(lead: LeadRef, keys: tuple[str, ...]) -> str:
    """The lead values that the candidates' filters looked at, e.g. '(product=X)'."""
    if not keys:
        return ""
    return " (" + ", ".join(f"{k}={_show(getattr(lead, k))}" for k in keys) + ")"


def plan(
    leads: list[LeadRef],
    members: list[Member],
    current: dict[str, Load],
    *,
    prefer_captured_by: bool,
) -> tuple[list[Decision], list[str]]:
    """Decide an owner for each lead, in order. Pure: changes only `current`.

    `members` are the active members in queue order. Returns the decisions
    and the queue after the run.
    """
    queue = [m.handle for m in members]
    by_handle = {m.handle: m for m in members}
    decisions: list[Decision] = []
    # Who accepts a lead depends only on its filter values, which repeat a lot.
    accepting: dict[tuple[str | None, ...], set[str]] = {}
    keys_of: dict[frozenset[str], tuple[str, ...]] = {}
    for lead in leads:
        values = tuple(getattr(lead, k) for k in FILTER_KEYS)
        takers = accepting.get(values)
        if takers is None:
            takers = accepting[values] = {m.handle for m in members if m.accepts(lead)}
        candidates = [by_handle[h] for h in queue if h in takers and not current[h].full]
        if not candidates:
            decisions.append(
                Decision(lead.id, lead.name, lead.score, lead.owner, None, UNASSIGNED,
                         reason=_why_nobody(lead, members, current))
            )  # fmt: skip
            continue
        names = [m.handle for m in candidates]
        group = frozenset(names)
        keys = keys_of.get(group)
        if keys is None:
            keys = keys_of[group] = _filtered_keys(candidates)
        chosen = names[0]
        rule = f"round-robin among [{', '.join(names)}]{_why_these(lead, keys)}"
        if prefer_captured_by and lead.captured_by:
            if lead.captured_by in names:
                chosen = lead.captured_by
                rule = f"captured by {chosen}"
            else:
                rule += f"; captured by {lead.captured_by}, who cannot take it"
        queue.remove(chosen)
        queue.append(chosen)
        current[chosen].take(is_open=lead.is_open)
        decisions.append(
            Decision(lead.id, lead.name, lead.score, lead.owner, chosen, ASSIGNED, rule)
        )
    return decisions, queue


def _prefer(conn: sqlite3.Connection, prefer_captured_by: bool | None) -> bool:
    if prefer_captured_by is not None:
        return prefer_captured_by
    return bool(get_setting(conn, PREFER_CAPTURED_BY, False))


def _save_queue(conn: sqlite3.Connection, queue: list[str]) -> None:
    conn.executemany(
        "UPDATE team_members SET rr_order = ? WHERE handle = ?",
        [(i, h) for i, h in enumerate(queue, 1)],
    )


def _run(
    conn: sqlite3.Connection,
    leads: list[LeadRef],
    members: list[Member],
    *,
    now: datetime,
    actor: str | None,
    prefer: bool,
    dry_run: bool,
    rule_prefix: str = "",
) -> list[Decision]:
    current = loads(conn, members, now=now)
    decisions, queue = plan(leads, members, current, prefer_captured_by=prefer)
    if rule_prefix:
        for d in decisions:
            if d.rule:
                d.rule = rule_prefix + d.rule
    if dry_run:
        return decisions
    by_id = {lead.id: lead for lead in leads}
    for d in decisions:
        lead = by_id[d.lead_id]
        if d.status == ASSIGNED and d.to is not None and d.rule is not None:
            _apply(conn, lead, d.to, d.rule, now=now, actor=actor)
        elif d.status == UNASSIGNED and lead.owner is not None:
            # A lead taken from a deactivated member that nobody else can take
            # goes back to the unassigned pool, for the next `assign --auto`.
            d.rule = f"{rule_prefix}nobody could take it"
            _apply(conn, lead, None, f"{d.rule}: {d.reason}", now=now, actor=actor)
    _save_queue(conn, queue)
    return decisions


def auto_assign(
    conn: sqlite3.Connection,
    *,
    now: datetime,
    actor: str | None,
    lead_ids: list[int] | None = None,
    dry_run: bool = False,
    prefer_captured_by: bool | None = None,
) -> list[Decision]:
    """Assign every unassigned open lead (or just `lead_ids`) by the rules.

    A dry run reads without taking the write lock and writes nothing.
    """
    with _writing(conn, dry_run):
        skipped: list[Decision] = []
        if lead_ids:
            marks = ", ".join("?" for _ in lead_ids)
            found = _select(conn, f"l.id IN ({marks})", list(lead_ids))
            missing = sorted(set(lead_ids) - {lead.id for lead in found})
            if missing:
                raise NotFoundError(
                    f"No lead with id {', '.join(map(str, missing))}",
                    "List ids with `leadctl list`.",
                )
            leads = []
            for lead in found:
                if lead.owner is not None:
                    why = f"already owned by {lead.owner} (use --to to reassign)"
                elif not lead.is_open:
                    why = f"closed (stage {lead.stage})"
                else:
                    leads.append(lead)
                    continue
                skipped.append(
                    Decision(lead.id, lead.name, lead.score, lead.owner, lead.owner, SKIPPED,
                             reason=why)
                )  # fmt: skip
        else:
            leads = _select(conn, "l.owner IS NULL AND s.kind = 'open'", [])
        members = list_members(conn, active_only=True)
        decisions = _run(
            conn, leads, members, now=now, actor=actor, prefer=_prefer(conn, prefer_captured_by),
            dry_run=dry_run,
        )  # fmt: skip
    return decisions + skipped


def open_leads_of(conn: sqlite3.Connection, handle: str) -> int:
    row = conn.execute(
        f"SELECT count(*) FROM {_FROM} WHERE l.owner = ? AND s.kind = 'open'", (handle,)
    ).fetchone()
    return int(row[0])


def redistribute(
    conn: sqlite3.Connection,
    handle: str,
    *,
    now: datetime,
    actor: str | None,
    dry_run: bool = False,
    prefer_captured_by: bool | None = None,
) -> list[Decision]:
    """Hand a member's open leads to the other active members by the same rules.

    Leads nobody can take become unassigned (so `assign --auto` picks them up
    later) instead of staying with a member who no longer works them.
    """
    with _writing(conn, dry_run):
        member = get_member(conn, handle)
        leads = _select(conn, "l.owner = ? AND s.kind = 'open'", [member.handle])
        others = [m for m in list_members(conn, active_only=True) if m.handle != member.handle]
        return _run(
            conn, leads, others, now=now, actor=actor, prefer=_prefer(conn, prefer_captured_by),
            dry_run=dry_run, rule_prefix=f"redistributed from {member.handle}: ",
        )  # fmt: skip


def deactivate(
    conn: sqlite3.Connection,
    handle: str,
    *,
    now: datetime,
    actor: str | None,
    redistribute_leads: bool,
    prefer_captured_by: bool | None = None,
) -> tuple[Member, list[Decision]]:
    """Deactivate a member and, if asked, redistribute their open leads (one transaction)."""
    with transaction(conn):
        member = set_active(conn, handle, False, now=now)
        decisions: list[Decision] = []
        if redistribute_leads:
            decisions = redistribute(
                conn, member.handle, now=now, actor=actor, prefer_captured_by=prefer_captured_by
            )
    return member, decisions
