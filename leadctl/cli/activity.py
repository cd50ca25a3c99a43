"""log: record a call, e-mail, WhatsApp, SMS, meeting, note, document or sale."""

from typing import Annotated

import typer

from leadctl.cli.common import Format, FormatOpt, parse_when, state
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
    fmt: FormatOpt = Format.table,
) -> None:
    """Log an activity on a lead's history."""
    from leadctl import activities, leads
    from leadctl.db import transaction
    from leadctl.errors import UsageError
    from leadctl.normalize import parse_money
    from leadctl.render import emit_object, message

    st = state(ctx)
    k = activities.check_kind(kind)
    lead = leads.get_lead(st.conn, lead_id)
    when = parse_when(st, at) if at else st.now
    minor = None
    if amount is not None:
        if k != "sale":
            raise UsageError("--amount goes with --kind sale")
        minor = parse_money(amount, lead.currency)
    elif k == "sale":
        raise UsageError("A sale needs --amount", "Example: --kind sale --amount 15000000")
    with transaction(st.conn):
        activity_id = activities.record(
            st.conn, lead_id, k, at=when, now=st.now, actor=st.actor, note=note,
            outcome=outcome, direction="in" if inbound else "out", attachment=attach,
            amount=minor, product=product,
        )  # fmt: skip
    act = activities.get_activity(st.conn, activity_id)
    if fmt is Format.table:
        message(f"Logged {k} on lead {lead_id} (activity {activity_id}).")
    else:
        emit_object(act.to_dict(), fmt.value)


def register(app: typer.Typer) -> None:
    app.command("log")(cmd_log)
