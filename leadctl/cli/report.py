"""report: pipeline, funnel, conversion, velocity, stale, forecast, activity,
sources, customers, team, targets, summary (`leadctl report` alone)."""

from typing import Annotated, Any

import typer

from leadctl.cli.common import Format, FormatOpt, State, state

PeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        "-p",
        help="all, today, yesterday, this-week, last-week, this-month, last-month, "
        "this-quarter, last-quarter, this-year, last-year, YYYY, YYYY-MM, YYYY-Qn, YYYY-MM-DD.",
    ),
]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Start of a custom period (a date or time).")
]
UntilOpt = Annotated[
    str | None,
    typer.Option("--until", help="End of a custom period (a bare date includes that day)."),
]
OwnerOpt = Annotated[
    str | None, typer.Option("--owner", help="Only this salesperson ('none': unassigned).")
]

report_app = typer.Typer(
    short_help="Reports; without a name, the summary.",
    help="Reports: pipeline, funnel, conversion, velocity, stale, forecast, activity, "
    "sources, customers, team, targets. Without a name: the summary.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _period(
    st: State, period: str | None, since: str | None, until: str | None, default: str
) -> Any:
    from leadctl.periods import resolve

    _ = st.existing_conn  # the database's time zone setting applies to period boundaries
    return resolve(period, since, until, now=st.now, tz=st.tz, default=default)


# ---- rendering ---------------------------------------------------------------


def _fmt_cell(kind: str, currency: str) -> Any:
    from leadctl.normalize import format_money

    if kind == "money":
        return lambda v: format_money(int(v), currency)
    if kind == "rate":
        return lambda v: f"{v * 100:.1f}%"
    if kind == "pct":
        return lambda v: f"{v:.1f}%"
    if kind == "days":
        return lambda v: f"{v:.1f}"
    if kind == "hours":
        return lambda v: f"{v:.1f}"
    return None


def _emit(
    rep: Any,
    fmt: Format,
    columns: list[tuple[str, str, str]],
    *,
    bar: str | None = None,
    totals: list[tuple[str, str, str]] | None = None,
    empty: str = "Nothing to report for this period.",
) -> None:
    """JSON: the whole report object; JSONL/CSV: the rows; table: rows + totals."""
    from leadctl.render import Column, emit_object, emit_records, key_value
    from leadctl.render import bar as draw

    data = rep.to_dict()
    if fmt is Format.json:
        emit_object(data, "json")
        return
    if fmt in (Format.jsonl, Format.csv):
        # The documented columns, in order, with rows or without.
        emit_records(data["rows"], [], fmt.value, csv_keys=row_keys(rep))
        return
    rows = [dict(r) for r in data["rows"]]
    cols = []
    for key, header, kind in columns:
        justify = "left" if kind == "text" else "right"
        cols.append(Column(key, header, _fmt_cell(kind, rep.currency), justify=justify))
    if bar:
        top = max((r.get(bar) or 0 for r in rows), default=0)
        for r in rows:
            r["_bar"] = draw(r.get(bar) or 0, top)
        cols.append(Column("_bar", ""))
    title = f"{rep.report} · {rep.period.name}" + (f" · {rep.owner}" if rep.owner else "")
    emit_records(rows, cols, "table", title=title, empty=empty)
    if totals:
        pairs = []
        for key, label, kind in totals:
            value = data["totals"].get(key)
            f = _fmt_cell(kind, rep.currency)
            pairs.append((label, "" if value is None else (f(value) if f else value)))
        typer.echo()
        key_value(pairs)


_TARGET_KEYS = ["period", "window", "metric", "owner", "target", "actual", "percent",
                "elapsed_percent", "expected_by_now", "on_track", "remaining"]  # fmt: skip
_ROW_KEYS = {
    "pipeline": ["stage", "kind", "<by>", "count", "value", "weighted_value", "probability"],
    "funnel": ["stage", "kind", "reached", "share_of_leads", "conversion_rate"],
    "conversion": ["<by>", "leads", "open", "won", "lost", "disqualified", "won_value",
                   "win_rate", "close_rate", "average_deal"],
    "velocity": ["stage", "visits", "in_stage_now", "average_days", "total_days"],
    "stale": ["owner", "open", "stale", "no_next_step", "stale_and_no_next_step", "stale_rate"],
    "forecast": ["month", "open", "open_value", "weighted_value", "won", "won_value",
                 "forecast_value"],
    "activity": ["owner", "total", "by_kind", "per_day", "daily_target", "daily_target_pct"],
    "sources": ["source", "<by>", "leads", "qualified", "won", "won_value", "qualified_rate",
                "close_rate"],
    "customers": ["product", "sales", "revenue", "customers"],
    "team": ["rank", "owner", "new_leads", "won", "lost", "won_value", "win_rate", "activities",
             "responded", "first_response_hours"],
    "targets": _TARGET_KEYS,
    "summary": _TARGET_KEYS,
}  # fmt: skip
_COST_KEYS = ["cost", "cost_per_lead", "acquisition_cost", "return_on_spend"]


def row_keys(rep: Any) -> list[str]:
    """A report's row keys as the README documents them: the CSV header and
    JSONL keys, the same whether the report has rows or not."""
    by = rep.by  # pipeline: None or the column; conversion: the column; sources: source|campaign
    if rep.report == "sources":
        by = "campaign" if by == "campaign" else None
    keys = [by if k == "<by>" else k for k in _ROW_KEYS[rep.report] if k != "<by>" or by]
    if rep.report == "sources" and rep.extra.get("costs"):
        keys += _COST_KEYS
    return keys


def _target_cells(rows: list[dict[str, Any]], currency: str) -> None:
    """Table cells for target rows: money for won_value, plain numbers otherwise."""
    from leadctl.normalize import format_money

    for r in rows:
        money = r["metric"] == "won_value"
        for key in ("actual", "target", "expected_by_now"):
            r[f"{key}_cell"] = format_money(r[key], currency) if money else str(r[key])
        r["who"] = r["owner"] or "team"
        r["window_name"] = r["window"]["name"]


# ---- reports -----------------------------------------------------------------


@report_app.callback()
def report_root(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Without a report name: the summary (follow-ups today, pipeline, month vs target, stale)."""
    if ctx.invoked_subcommand is None:
        cmd_summary(ctx, period, since, until, owner, fmt)
    elif (period, since, until, owner) != (None,) * 4 or fmt is not Format.table:
        # `report --owner ani pipeline` would otherwise silently report everyone.
        from leadctl.errors import UsageError

        raise UsageError(
            "Report options go after the report name",
            f"Example: leadctl report {ctx.invoked_subcommand} --period this-month.",
        )


@report_app.command("summary", short_help="One screen: follow-ups, pipeline, month, stale.")
def cmd_summary(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """One screen: today's follow-ups, the pipeline, this month vs target, stale leads."""
    from leadctl.reports.summary import summary

    st = state(ctx)
    given = (period, since, until) != (None, None, None)
    p = _period(st, period, since, until, "this-month") if given else None
    rep = summary(st.existing_conn, p, st.now, st.tz, owner)
    if fmt is Format.table:
        _target_cells(rep.rows, rep.currency)
    _emit(
        rep, fmt,
        [("metric", "Month target", "text"), ("who", "Who", "text"),
         ("actual_cell", "Actual", "num"), ("target_cell", "Target", "num"),
         ("percent", "%", "pct"), ("expected_by_now_cell", "Expected now", "num"),
         ("on_track", "On track", "text")],
        totals=[
            ("followups_due_today", "Follow-ups due today", "int"),
            ("followups_overdue", "  of which overdue", "int"),
            ("open_leads", "Open leads", "int"),
            ("pipeline_value", "Pipeline value", "money"),
            ("weighted_value", "Weighted value", "money"),
            ("new_leads", f"New leads ({rep.period.name})", "int"),
            ("won", "Won", "int"),
            ("won_value", "Won value", "money"),
            ("activities", "Activities", "int"),
            ("stale", "Stale leads", "int"),
            ("no_next_step", "No next step", "int"),
        ],
        empty="No month targets set (leadctl target set --period month ...).",
    )  # fmt: skip


@report_app.command("pipeline", short_help="Leads per stage now: count, value, weighted.")
def cmd_pipeline(
    ctx: typer.Context,
    by: Annotated[
        str | None, typer.Option("--by", help="Also group by owner, product, segment, source.")
    ] = None,
    closed: Annotated[
        bool, typer.Option("--closed", help="Include closed stages (won, lost, ...).")
    ] = False,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Leads per stage now: count, value, weighted value (value × probability)."""
    from leadctl.reports.pipeline import pipeline

    st = state(ctx)
    rep = pipeline(
        st.existing_conn, _period(st, period, since, until, "all"), st.now, st.tz, owner, by, closed
    )
    cols = [("stage", "Stage", "text")]
    if rep.by:
        cols.append((rep.by, rep.by.capitalize(), "text"))
    cols += [("count", "Leads", "int"), ("value", "Value", "money"),
             ("probability", "Prob %", "int"), ("weighted_value", "Weighted", "money")]  # fmt: skip
    _emit(rep, fmt, cols, bar="weighted_value",
          totals=[("count", "Leads", "int"), ("value", "Value", "money"),
                  ("weighted_value", "Weighted value", "money")])  # fmt: skip


@report_app.command("funnel", short_help="How far the period's new leads got, by stage.")
def cmd_funnel(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """How many leads created in the period reached each stage, and stage-to-stage conversion."""
    from leadctl.reports.funnel import funnel

    st = state(ctx)
    rep = funnel(st.existing_conn, _period(st, period, since, until, "all"), st.now, st.tz, owner)
    _emit(
        rep, fmt,
        [("stage", "Stage", "text"), ("reached", "Reached", "int"),
         ("share_of_leads", "Of leads", "rate"), ("conversion_rate", "→ next", "rate")],
        bar="reached",
        totals=[("leads", "Leads", "int"), ("open", "Open", "int"), ("won", "Won", "int"),
                ("lost", "Lost", "int"), ("disqualified", "Disqualified", "int"),
                ("conversion_rate", "Lead → won", "rate")],
    )  # fmt: skip


@report_app.command("conversion", short_help="Outcomes, win and close rates of new leads.")
def cmd_conversion(
    ctx: typer.Context,
    by: Annotated[
        str, typer.Option("--by", help="owner, source, campaign, product, segment or city.")
    ] = "owner",
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Leads created in the period (default: all time) by outcome, win and close rates."""
    from leadctl.reports.conversion import conversion

    st = state(ctx)
    rep = conversion(
        st.existing_conn, _period(st, period, since, until, "all"), st.now, st.tz, owner, by
    )
    _emit(
        rep, fmt,
        [(rep.by or "owner", (rep.by or "owner").capitalize(), "text"), ("leads", "Leads", "int"),
         ("open", "Open", "int"), ("won", "Won", "int"), ("lost", "Lost", "int"),
         ("disqualified", "Disq", "int"), ("win_rate", "Win rate", "rate"),
         ("close_rate", "Close rate", "rate"), ("won_value", "Won value", "money"),
         ("average_deal", "Avg deal", "money")],
        bar="won_value",
        totals=[("leads", "Leads", "int"), ("won", "Won", "int"), ("lost", "Lost", "int"),
                ("win_rate", "Win rate", "rate"), ("close_rate", "Close rate", "rate"),
                ("won_value", "Won value", "money"), ("average_deal", "Average deal", "money")],
    )  # fmt: skip


@report_app.command("velocity", short_help="Days to win, time per stage, sales velocity.")
def cmd_velocity(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Days to win (average, median), time in each stage, and sales velocity."""
    from leadctl.reports.velocity import velocity

    st = state(ctx)
    rep = velocity(st.existing_conn, _period(st, period, since, until, "all"), st.now, st.tz, owner)
    _emit(
        rep, fmt,
        [("stage", "Stage", "text"), ("visits", "Visits", "int"),
         ("in_stage_now", "In it now", "int"), ("average_days", "Avg days", "days")],
        bar="average_days",
        totals=[("won", "Won", "int"), ("lost", "Lost", "int"), ("win_rate", "Win rate", "rate"),
                ("average_deal", "Average deal", "money"),
                ("average_cycle_days", "Average days to win", "days"),
                ("median_cycle_days", "Median days to win", "days"),
                ("open_now", "Open leads now", "int"),
                ("sales_velocity_per_day", "Sales velocity / day", "money")],
    )  # fmt: skip


@report_app.command("stale", short_help="Per owner: leads past rot days or without a step.")
def cmd_stale(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Per owner: open leads past their stage's rot days, and with no next step."""
    from leadctl.reports.stale import stale

    st = state(ctx)
    rep = stale(st.existing_conn, _period(st, period, since, until, "all"), st.now, st.tz, owner)
    _emit(
        rep, fmt,
        [("owner", "Owner", "text"), ("open", "Open", "int"), ("stale", "Stale", "int"),
         ("no_next_step", "No next step", "int"), ("stale_and_no_next_step", "Both", "int"),
         ("stale_rate", "Stale %", "rate")],
        bar="stale",
        totals=[("open", "Open", "int"), ("stale", "Stale", "int"),
                ("no_next_step", "No next step", "int")],
        empty="No open leads.",
    )  # fmt: skip


@report_app.command("forecast", short_help="Weighted value by expected close month.")
def cmd_forecast(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Weighted value by expected close month (won at 100 %, lost left out)."""
    from leadctl.reports.forecast import forecast

    st = state(ctx)
    rep = forecast(st.existing_conn, _period(st, period, since, until, "all"), st.now, st.tz, owner)
    _emit(
        rep, fmt,
        [("month", "Month", "text"), ("open", "Open", "int"), ("open_value", "Open value", "money"),
         ("weighted_value", "Weighted", "money"), ("won", "Won", "int"),
         ("won_value", "Won value", "money"), ("forecast_value", "Forecast", "money")],
        bar="forecast_value",
        totals=[("weighted_value", "Weighted", "money"), ("won_value", "Won", "money"),
                ("forecast_value", "Forecast", "money")],
    )  # fmt: skip


@report_app.command("activity", short_help="Activities per person and kind, vs the target.")
def cmd_activity(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Activities per person per kind (default: this week), per day vs the daily target."""
    from leadctl.reports.activity import activity

    st = state(ctx)
    rep = activity(
        st.existing_conn, _period(st, period, since, until, "this-week"), st.now, st.tz, owner
    )
    if fmt is Format.table:
        for row in rep.rows:
            for k in rep.extra["kinds"]:
                row[f"kind:{k}"] = row["by_kind"].get(k, 0)
    cols = [("owner", "Who", "text")] + [(f"kind:{k}", k, "int") for k in rep.extra["kinds"]]
    cols += [("total", "Total", "int"), ("per_day", "Per day", "days"),
             ("daily_target", "Target/day", "int"), ("daily_target_pct", "Of target", "rate")]  # fmt: skip
    _emit(rep, fmt, cols, bar="total",
          totals=[("total", "Activities", "int"), ("per_day", "Per day", "days"),
                  ("daily_target", "Team target per day", "int")])  # fmt: skip


@report_app.command("sources", short_help="Leads, wins and costs per source (CAC, return).")
def cmd_sources(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="source, or campaign (source + campaign).")] = (
        "source"
    ),
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Leads, qualified, won and won value per source; cost per lead, CAC, return on spend."""
    from leadctl.reports.sources import sources

    st = state(ctx)
    rep = sources(
        st.existing_conn, _period(st, period, since, until, "all"), st.now, st.tz, owner, by
    )
    cols = [("source", "Source", "text")]
    if rep.by == "campaign":
        cols.append(("campaign", "Campaign", "text"))
    cols += [("leads", "Leads", "int"), ("qualified", "Qualified", "int"), ("won", "Won", "int"),
             ("won_value", "Won value", "money")]  # fmt: skip
    if rep.extra["costs"]:
        cols += [("cost", "Cost", "money"), ("cost_per_lead", "Per lead", "money"),
                 ("acquisition_cost", "CAC", "money"), ("return_on_spend", "Return", "days")]  # fmt: skip
    _emit(rep, fmt, cols, bar="won_value",
          totals=[("leads", "Leads", "int"), ("won", "Won", "int"),
                  ("won_value", "Won value", "money"), ("cost", "Cost", "money"),
                  ("acquisition_cost", "CAC", "money")])  # fmt: skip


@report_app.command("customers", short_help="Lifetime value, repeat and upsell rates, churn.")
def cmd_customers(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Lifetime value, repeat / upsell / cross-sell rates and churn, from logged sales."""
    from leadctl.reports.customers import customers

    st = state(ctx)
    rep = customers(
        st.existing_conn, _period(st, period, since, until, "all"), st.now, st.tz, owner
    )
    _emit(
        rep, fmt,
        [("product", "Product", "text"), ("sales", "Sales", "int"),
         ("revenue", "Revenue", "money"), ("customers", "Customers", "int")],
        bar="revenue",
        totals=[("customers_with_sales", "Customers with sales", "int"),
                ("lifetime_value", "Lifetime value", "money"),
                ("repeat_rate", "Repeat rate", "rate"), ("upsell_rate", "Upsell rate", "rate"),
                ("cross_sell_rate", "Cross-sell rate", "rate"),
                ("revenue_in_period", "Revenue in period", "money"),
                ("new_customers", "New customers", "int"), ("churned", "Churned", "int"),
                ("churn_rate", "Churn rate", "rate")],
        empty="No sales in this period.",
    )  # fmt: skip


@report_app.command("team", short_help="Leaderboard: won value, win rate, activities.")
def cmd_team(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Leaderboard (default: this month): won value, win rate, activities, first response."""
    from leadctl.reports.team import team

    st = state(ctx)
    rep = team(
        st.existing_conn, _period(st, period, since, until, "this-month"), st.now, st.tz, owner
    )
    _emit(
        rep, fmt,
        [("rank", "#", "int"), ("owner", "Owner", "text"), ("won_value", "Won value", "money"),
         ("won", "Won", "int"), ("lost", "Lost", "int"), ("win_rate", "Win rate", "rate"),
         ("new_leads", "New", "int"), ("activities", "Activities", "int"),
         ("first_response_hours", "1st reply h", "hours")],
        bar="won_value",
        totals=[("won_value", "Won value", "money"), ("win_rate", "Win rate", "rate"),
                ("activities", "Activities", "int"),
                ("first_response_hours", "Avg first response (h)", "hours")],
    )  # fmt: skip


@report_app.command("targets", short_help="Each target against actual, and on track or not.")
def cmd_targets(
    ctx: typer.Context,
    period: PeriodOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Each target: actual, target, percent, expected by now, on track (its current period)."""
    from leadctl.errors import UsageError
    from leadctl.reports.targets import targets

    st = state(ctx)
    p = None
    if (period, since, until) != (None, None, None):  # an empty one is refused
        p = _period(st, period, since, until, "this-month")
        if p.unit is None:
            raise UsageError(
                "Targets are per day, week, month, quarter or year",
                "Use a calendar period, e.g. --period last-month or --period 2026-Q3.",
            )
    rep = targets(st.existing_conn, p, st.now, st.tz, owner)
    if fmt is Format.table:
        _target_cells(rep.rows, rep.currency)
    _emit(
        rep, fmt,
        [("period", "Period", "text"), ("window_name", "Window", "text"),
         ("metric", "Metric", "text"), ("who", "Who", "text"), ("actual_cell", "Actual", "num"),
         ("target_cell", "Target", "num"), ("percent", "%", "pct"),
         ("expected_by_now_cell", "Expected now", "num"), ("on_track", "On track", "text")],
        bar="percent",
        totals=[("targets", "Targets", "int"), ("on_track", "On track", "int"),
                ("reached", "Reached", "int")],
        empty=_no_targets(owner, p.unit if p is not None else None),
    )  # fmt: skip


def _no_targets(owner: str | None, unit: str | None) -> str:
    per = unit or "month"
    add = f"leadctl target set --period {per} --metric won_value --value 500000000"
    if owner is None:
        return f"No {unit + ' ' if unit else ''}targets set. Add one: {add}"
    who = owner.strip()
    return f"No {unit + ' ' if unit else ''}targets for {who}. Add one: {add} --owner {who}"


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
