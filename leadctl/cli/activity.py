"""log: record a call, e-mail, WhatsApp, SMS, meeting, note, document or sale."""

from typing import Annotated

import typer

from leadctl.cli.common import Format, FormatOpt, parse_past, parse_when, state
from leadctl.models import ACTIVITY_KINDS


def cmd_log(
    ctx: typer.Context,
    lead_id: Annotated[int, typer.Argument(help="Lead id.", metavar="ID")],
    kind: Annotated[
        str, typer.Option("--kind", "-k", help=f"One of: {', '.join(ACTIVITY_KINDS)}.")
    ],
    note: Annotated[str | None, typer.Option("--note", "-n", help="What happened.")] = None,
    at: Annotated[
        str | None, typer.Option(help="When, e.g. 'yesterday 15:00' (default: now).")
    ] = None,
    outcome: Annotated[
        str | None, typer.Option(help="Outcome, e.g. no-answer, interested.")
    ] = None,
    inbound: Annotated[
        bool, typer.Option("--inbound", help="The lead contacted us (a reply).")
    ] = False,
    attach: Annotated[
        str | None, typer.Option("--attach", help="A file path or URL to keep with it.")
    ] = None,
    amount: Annotated[str | None, typer.Option(help="Sale amount (with --kind sale).")] = None,
    product: Annotated[str | None, typer.Option(help="Product sold (with --kind sale).")] = None,
    next_: Annotated[
        str | None,
        typer.Option("--next", help="Also schedule a follow-up: +2d, 'tomorrow 10:00', mon ..."),
    ] = None,
    next_kind: Annotated[
        str | None, typer.Option("--next-kind", help="Kind of that follow-up (default: --kind).")
    ] = None,
    next_note: Annotated[str | None, typer.Option("--next-note", help="Its note.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Log an activity on a lead's history."""
    from leadctl import activities, leads
    from leadctl.db import transaction
    from leadctl.errors import UsageError
    from leadctl.normalize import parse_money
    from leadctl.render import emit_object, message, safe_text

    st = state(ctx)
    k = activities.check_kind(kind)
    lead = leads.get_lead(st.existing_conn, lead_id)
    when = (
        parse_past(st, at, "`log` records what has happened",
                   "To plan it, add --next 'tomorrow 10:00' or use `leadctl followups add`.")
        if at is not None
        else st.now
    )  # fmt: skip
    minor = None
    if amount is not None:
        if k != "sale":
            raise UsageError(
                "--amount goes with --kind sale", "Log a sale with --kind sale --amount 5jt."
            )
        minor = parse_money(amount, lead.currency)
    elif k == "sale":
        raise UsageError("A sale needs --amount", "Example: --kind sale --amount 15000000")
    next_due = None
    if next_ is not None:
        from datetime import time

        next_due = parse_when(st, next_, default_time=time(9, 0))
    if attach is not None and "://" not in attach and attach.strip():
        # A file is kept by its absolute path: a relative one means nothing
        # from another folder. A name that is no file here is kept as typed.
        from pathlib import Path

        try:
            path = Path(attach).expanduser()
            found = path.is_file()
        except (OSError, ValueError):  # too long, a NUL byte
            found = False
        if found:
            attach = str(path.absolute())
        else:
            message(f"Warning: no file at {safe_text(attach)}; kept as typed.")
    followup = None
    with transaction(st.conn):
        activity_id = activities.record(
            st.conn, lead_id, k, at=when, now=st.now, actor=st.actor, note=note,
            outcome=outcome, direction="in" if inbound else "out", attachment=attach,
            amount=minor, product=product,
        )  # fmt: skip
        if next_due is not None:
            from leadctl import followups

            followup = followups.add_followup(
                st.conn, lead_id, next_due, now=st.now,
                kind=next_kind or ("call" if k in ("note", "document", "sale") else k),
                note=next_note,
            )  # fmt: skip
    if inbound:
        # A reply stops the lead's sequences (those with stop-on-reply).
        from leadctl import sequences

        stopped = sequences.sync(st.conn, now=st.now)
        if stopped and fmt is Format.table:
            message(f"A reply stops sequences: {len(stopped)} enrolment(s) stopped.")
    if followup is not None:
        from leadctl.followups import lead_warnings

        for warning in lead_warnings(st.conn, lead_id):
            message(f"Warning: {warning}.")
    act = activities.get_activity(st.conn, activity_id)
    if fmt is Format.table:
        message(f"Logged {k} on lead {lead_id} (activity {activity_id}).")
        if followup is not None:
            from leadctl.dates import format_local

            message(
                f"Next: follow-up {followup.id} ({followup.kind}) on"
                f" {format_local(followup.due_at, st.tz)}."
            )
    else:
        out = act.to_dict()
        if followup is not None:
            out["next_followup"] = followup.to_dict()
        emit_object(out, fmt.value)


def register(app: typer.Typer) -> None:
    app.command("log")(cmd_log)
