"""target: set, list and remove targets (per period, metric, optionally per person)."""

from typing import Annotated, Any

import typer

from leadctl.cli.common import Format, FormatOpt, state

target_app = typer.Typer(
    short_help="Sales targets per period (see report targets).",
    help="Targets per day/week/month/quarter/year; see `leadctl report targets`.",
)

UnitOpt = Annotated[str, typer.Option("--period", "-p", help="day, week, month, quarter or year.")]
MetricOpt = Annotated[
    str,
    typer.Option(
        "--metric", "-m", help="new_leads, qualified, won_count, won_value or activities."
    ),
]
OwnerOpt = Annotated[
    str | None, typer.Option("--owner", help="A salesperson (default: the whole team).")
]


def _columns() -> list:  # type: ignore[type-arg]
    from leadctl.render import Column

    return [Column("id", "ID", justify="right"), Column("period", "Period"),
            Column("metric", "Metric"), Column("owner", "Owner"),
            Column("value", "Target", justify="right")]  # fmt: skip


def _shown(conn: Any, metric: str, value: int) -> str:
    """A target as people read it: money for won_value (stored in minor units)."""
    if metric != "won_value":
        return f"{value:,}"
    from leadctl.db import get_setting
    from leadctl.normalize import format_money

    return format_money(value, get_setting(conn, "currency", "IDR"))


@target_app.command("set")
def cmd_set(
    ctx: typer.Context,
    period: UnitOpt,
    metric: MetricOpt,
    value: Annotated[
        str, typer.Option("--value", "-v", help="The number (won_value: money, e.g. 500jt).")
    ],
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Set (or replace) a target."""
    from leadctl import targets
    from leadctl.render import emit_object, message

    st = state(ctx)
    t = targets.set_target(st.conn, period, metric, value, owner=owner, now=st.now)
    if fmt is Format.table:
        shown = _shown(st.conn, t.metric, t.value)
        message(f"Target set: {t.metric} per {t.period} = {shown} for {t.owner or 'the team'}.")
    else:
        emit_object(t.to_dict(), fmt.value)


@target_app.command("list")
def cmd_list(
    ctx: typer.Context,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List targets."""
    from leadctl import targets
    from leadctl.render import emit_records

    st = state(ctx)
    rows = [t.to_dict() for t in targets.list_targets(st.existing_conn, owner)]
    for r in rows:
        if fmt is Format.table:
            r["owner"] = r["owner"] or "team"
            r["value"] = _shown(st.conn, r["metric"], r["value"])
    emit_records(rows, _columns(), fmt.value,
                 empty="No targets set." if owner is None else f"No targets for {owner.strip()}.",
                 csv_keys=["id", "period", "metric", "owner", "value", "created_at"])  # fmt: skip


@target_app.command("remove")
def cmd_remove(
    ctx: typer.Context,
    period: UnitOpt,
    metric: MetricOpt,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Remove a target."""
    from leadctl import targets
    from leadctl.render import emit_object, message

    st = state(ctx)
    t = targets.remove_target(st.existing_conn, period, metric, owner=owner)
    if fmt is Format.table:
        message(f"Target removed: {t.metric} per {t.period} for {t.owner or 'the team'}.")
    else:
        emit_object(t.to_dict(), fmt.value)


def register(app: typer.Typer) -> None:
    app.add_typer(target_app, name="target")
