"""followups: what is due today, by urgency; add, done, snooze, cancel.

`leadctl followups` is what cron runs every morning, so this module imports
only typer and stdlib at the top; the core, Rich (terminal tables only) and
icalendar (--format ics only) load inside the commands.

Annotations here are real objects, not postponed strings, on purpose: Typer
would eval() each string annotation at start-up (tests/test_help.py).
"""

import sys
from enum import Enum
from typing import Annotated, Any

import typer

from leadctl.cli.common import Format, FormatOpt, State, parse_when, state

followups_app = typer.Typer(
    short_help="Today's follow-ups; add, done, snooze, cancel.",
    help="What to do today, most urgent first; add, done, snooze, cancel follow-ups.",
    invoke_without_command=True,
    no_args_is_help=False,
)


class ListFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    ics = "ics"


WHEN_HELP = "e.g. 'tomorrow 10:00', mon, +3d, eow, 2026-12-01 14:00 (a date alone means 09:00)."


def _due_default_time() -> Any:
    from datetime import time

    return time(9, 0)


def _when(st: State, text: str) -> Any:
    return parse_when(st, text, default_time=_due_default_time())


@followups_app.callback()
def cmd_followups(
    ctx: typer.Context,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this owner's ('none' = unassigned).")
    ] = None,
    upcoming: Annotated[
        str | None, typer.Option("--upcoming", help="Also what is due in the next N days: 7d, 2w.")
    ] = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all", help="Every open follow-up, plus open leads with no next step (flagged)."
        ),
    ] = False,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind: call, ...")] = None,
    lead: Annotated[
        int | None, typer.Option("--lead", metavar="ID", help="Only this lead's.")
    ] = None,
    explain: Annotated[
        int | None,
        typer.Option("--explain", metavar="FID", help="Show how a follow-up's urgency adds up."),
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Time zone for 'today', e.g. Asia/Jakarta.")
    ] = None,
    fmt: Annotated[
        ListFormat,
        typer.Option("--format", "-f", help="table for people; json, jsonl, csv, ics (calendar)."),
    ] = ListFormat.table,
) -> None:
    """What is overdue and due today, most urgent first.

    When stdout is not a terminal (cron, pipes) the table is plain text, one
    line per follow-up: when, lead, phone, what, owner, id.
    """
    st = state(ctx)
    if tz:
        st.tz_name = tz
        st._tz = None
    if ctx.invoked_subcommand is not None:
        return
    from leadctl.cli.today import show

    show(
        st, owner=owner, upcoming=upcoming, include_all=all_, kind=kind, lead=lead,
        explain=explain, fmt=fmt.value,
    )  # fmt: skip


@followups_app.command("add")
def cmd_add(
    ctx: typer.Context,
    lead_id: Annotated[int, typer.Argument(help="Lead id.", metavar="ID")],
    due: Annotated[str, typer.Option("--due", "-d", help=f"When: {WHEN_HELP}")],
    kind: Annotated[str, typer.Option("--kind", "-k", help="call, email, whatsapp, ...")] = "call",
    note: Annotated[str | None, typer.Option("--note", "-n", help="What to do.")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Who does it (default: the lead's owner).")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Schedule a follow-up for a lead."""
    from leadctl import followups
    from leadctl.render import emit_object, message

    st = state(ctx)
    conn = st.existing_conn  # before the date: the database's time zone applies
    when = _when(st, due)
    fu = followups.add_followup(conn, lead_id, when, now=st.now, kind=kind, note=note, owner=owner)
    for warning in followups.lead_warnings(st.conn, lead_id):
        message(f"Warning: {warning}.")
    if fmt is Format.table:
        from leadctl.dates import format_local

        message(
            f"Follow-up {fu.id}: {fu.kind} lead {lead_id} on {format_local(fu.due_at, st.tz)}"
            f" ({fu.owner or 'unassigned'})."
        )
    else:
        emit_object(fu.to_dict(), fmt.value)


def _interactive() -> bool:
    """A person at a terminal (both ends): only then may a command ask."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _ask_next(st: State, lead_id: int) -> Any:
    """On a terminal only: ask for the next step until it parses or is empty."""
    from leadctl.errors import ValidationError
    from leadctl.render import message

    while True:
        try:
            text = typer.prompt(
                f"Next step for lead {lead_id} (e.g. +3d, 'tomorrow 10:00'; Enter for none)",
                default="",
                show_default=False,
            )
        except typer.Abort:  # Ctrl-D or Ctrl-C: the follow-up is done already; no next step
            typer.echo(err=True)
            return None
        if not text.strip():
            return None
        try:
            return _when(st, text)
        except ValidationError as exc:
            message(f"{exc}")


@followups_app.command("done", short_help="Mark a follow-up done and log it on the lead.")
def cmd_done(
    ctx: typer.Context,
    followup_id: Annotated[int, typer.Argument(help="Follow-up id.", metavar="FID")],
    note: Annotated[str | None, typer.Option("--note", "-n", help="What happened.")] = None,
    outcome: Annotated[
        str | None, typer.Option(help="Outcome, e.g. no-answer, interested.")
    ] = None,
    next_: Annotated[
        str | None, typer.Option("--next", help=f"Schedule the next follow-up: {WHEN_HELP}")
    ] = None,
    next_kind: Annotated[
        str | None, typer.Option("--next-kind", help="Kind of the next one (default: same).")
    ] = None,
    next_note: Annotated[str | None, typer.Option("--next-note", help="Its note.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Mark a follow-up done: logs the activity (of its kind) on the lead.

    On a terminal, asks for the next step unless --next is given; never asks
    when not interactive.
    """
    from leadctl import followups, sequences
    from leadctl.dates import format_local
    from leadctl.render import emit_object, message

    st = state(ctx)
    conn = st.existing_conn
    next_due = _when(st, next_) if next_ is not None else None
    done = followups.complete_followup(
        conn, followup_id, now=st.now, actor=st.actor, note=note, outcome=outcome,
        next_due=next_due, next_kind=next_kind, next_note=next_note,
    )  # fmt: skip
    fu = done.followup
    if (
        next_due is None
        and done.sequence_next is None
        and _interactive()
        and _lead_is_open(conn, fu.lead_id)
    ):
        asked = _ask_next(st, fu.lead_id)
        if asked is not None:
            done.next_followup = followups.add_followup(
                conn, fu.lead_id, asked, now=st.now, kind=next_kind or fu.kind,
                note=next_note, owner=fu.owner,
            )  # fmt: skip
    sequences.sync(conn, now=st.now)
    if done.next_followup is not None:
        for warning in followups.lead_warnings(conn, fu.lead_id):
            message(f"Warning: {warning}.")
    if fmt is not Format.table:
        emit_object(done.to_dict(), fmt.value)
        return
    message(f"Done: follow-up {fu.id} ({fu.kind}, lead {fu.lead_id}); activity {done.activity_id}.")
    for label, nxt in (("Sequence next", done.sequence_next), ("Next", done.next_followup)):
        if nxt is not None:
            message(
                f"{label}: follow-up {nxt.id} ({nxt.kind}) on {format_local(nxt.due_at, st.tz)}."
            )
    if done.enrollment_status == "completed":
        message("The sequence is complete for this lead.")


def _lead_is_open(conn: Any, lead_id: int) -> bool:
    row = conn.execute(
        "SELECT s.kind FROM leads l JOIN stages s ON s.name = l.stage WHERE l.id = ?", (lead_id,)
    ).fetchone()
    return row is not None and row[0] == "open"


@followups_app.command("snooze")
def cmd_snooze(
    ctx: typer.Context,
    followup_id: Annotated[int, typer.Argument(help="Follow-up id.", metavar="FID")],
    to: Annotated[str, typer.Option("--to", "-t", help=f"New due time: {WHEN_HELP}")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Move a follow-up to a later time."""
    from leadctl import followups
    from leadctl.dates import format_local, to_store
    from leadctl.render import emit_object, message

    st = state(ctx)
    conn = st.existing_conn
    when = _when(st, to)
    if when <= st.now:
        from leadctl.errors import ValidationError

        raise ValidationError(
            f"--to {to!r} is {format_local(to_store(when), st.tz)}, not later than now: a"
            " snooze moves a follow-up later",
            "Example: --to tomorrow, --to '+2h', --to 'mon 9am'.",
        )
    fu = followups.snooze_followup(conn, followup_id, when, now=st.now)
    if fmt is Format.table:
        message(f"Follow-up {fu.id} moved to {format_local(fu.due_at, st.tz)}.")
    else:
        emit_object(fu.to_dict(), fmt.value)


@followups_app.command("cancel", short_help="Cancel a follow-up.")
def cmd_cancel(
    ctx: typer.Context,
    followup_id: Annotated[int, typer.Argument(help="Follow-up id.", metavar="FID")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Cancel a follow-up (a sequence step is skipped: the next step is scheduled)."""
    from leadctl import followups
    from leadctl.dates import format_local
    from leadctl.render import emit_object, message

    st = state(ctx)
    fu, nxt = followups.cancel_followup(st.existing_conn, followup_id, now=st.now)
    if fmt is not Format.table:
        emit_object(
            {"followup": fu.to_dict(), "sequence_next": nxt.to_dict() if nxt else None},
            fmt.value,
        )
        return
    message(f"Follow-up {fu.id} cancelled.")
    if nxt is not None:
        message(
            f"Sequence next: follow-up {nxt.id} ({nxt.kind}) on {format_local(nxt.due_at, st.tz)}."
        )


def register(app: typer.Typer) -> None:
    app.add_typer(followups_app, name="followups")
