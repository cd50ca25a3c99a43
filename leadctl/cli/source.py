"""source: what each lead source cost per month (for CAC and return on spend)."""

from typing import Annotated

import typer

from leadctl.cli.common import Format, FormatOpt, state

source_app = typer.Typer(help="Lead source costs per month; used by `leadctl report sources`.")

MonthOpt = Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: this month).")]


def _columns() -> list:  # type: ignore[type-arg]
    from leadctl.render import Column

    return [Column("month", "Month"), Column("source", "Source"),
            Column("amount_display", "Cost", justify="right")]  # fmt: skip


@source_app.command("cost")
def cmd_cost(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The source, as on leads (e.g. ads).")],
    amount: Annotated[str, typer.Argument(help="What it cost that month, e.g. 5000000 or 5jt.")],
    month: MonthOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Record (or replace) a source's cost for a month."""
    from leadctl import costs
    from leadctl.normalize import format_money
    from leadctl.render import emit_object, message

    st = state(ctx)
    _ = st.conn
    c = costs.set_cost(st.conn, source, costs.parse_month(month, st.now, st.tz), amount)
    if fmt is Format.table:
        message(f"Cost of {c.source} in {c.month}: {format_money(c.amount, c.currency)}.")
    else:
        emit_object(c.to_dict(), fmt.value)


@source_app.command("costs")
def cmd_costs(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    month: MonthOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List source costs."""
    from leadctl import costs
    from leadctl.normalize import format_money
    from leadctl.render import emit_records

    st = state(ctx)
    _ = st.existing_conn
    m = costs.parse_month(month, st.now, st.tz) if month else None
    rows = [c.to_dict() for c in costs.list_costs(st.conn, source=source, month=m)]
    if fmt is Format.table:
        for r in rows:
            r["amount_display"] = format_money(r["amount"], r["currency"])
    emit_records(rows, _columns(), fmt.value, empty="No source costs recorded.",
                 csv_keys=["source", "month", "amount", "currency"])  # fmt: skip


@source_app.command("remove-cost")
def cmd_remove_cost(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The source.")],
    month: Annotated[str, typer.Option("--month", help="YYYY-MM.")],
) -> None:
    """Remove a source's cost for a month."""
    from leadctl import costs
    from leadctl.render import message

    st = state(ctx)
    _ = st.existing_conn
    c = costs.remove_cost(st.conn, source, costs.parse_month(month, st.now, st.tz))
    message(f"Removed the cost of {c.source} in {c.month}.")


def register(app: typer.Typer) -> None:
    app.add_typer(source_app, name="source")
