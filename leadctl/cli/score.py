"""score: the rule score (explained), its rules, and the learned win probability.

`leadctl score 5 --explain` is routed to the `show` subcommand by ScoreGroup:
Click cannot hold an optional ID argument in front of subcommands (it would
swallow `rules` as the ID), so a first argument that is a number means
`show`; `leadctl score show 5` works too.
"""

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from leadctl.cli.common import Format, FormatOpt, refuse_overwrite, state


class ScoreGroup(TyperGroup):
    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0].isdigit():
            cmd = self.get_command(ctx, "show")
            return "show", cmd, args
        return super().resolve_command(ctx, args)


score_app = typer.Typer(
    cls=ScoreGroup,
    help=(
        "Lead score 0-100 from rules, and the learned win probability. "
        "`score ID [--explain]`, `score --all`, `score --train`, `score --evaluate`, "
        "`score rules ...`."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)
rules_app = typer.Typer(
    help=(
        "Score rules (field, operator, value, points, group). Fields: lead columns (source, "
        "product, segment, city, value, tags, do_not_contact, qualified, ...), "
        "days_since_touch, days_in_stage, age_days, has:email|phone|company|contact, "
        "field:<custom>, answer:<criterion>, activities:<kind>|any|inbound. Operators: eq, ne, "
        "in, contains, gt, gte, lt, lte, between (LOW..HIGH), exists, missing, each (per "
        "activity, decayed by age)."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)


def _progress_bar(label: str) -> Any:
    """A Rich progress bar on stderr, only when stderr is a terminal; else None."""
    import sys

    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(),
        console=Console(file=sys.stderr), transient=True,
    )  # fmt: skip


def _rescore_everything(st: Any, label: str = "Scoring") -> dict[str, Any]:
    from leadctl import predict, scoring

    scoring.use_worker_processes()
    bar = _progress_bar(label)
    if bar is None:
        result = scoring.score_all(st.conn, st.now)
    else:
        with bar:
            task = bar.add_task(label, total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = scoring.score_all(st.conn, st.now, progress=tick)
    out = result.to_dict()
    dropped = predict.drop_untrainable(st.conn)
    trained = predict.ensure_trained(st.conn, st.now)
    out["trained"] = trained is not None
    if trained is not None:
        out["predicted"] = trained.predicted
    elif dropped:
        out["predicted"] = dropped  # back to their stage's probability
    else:
        model = predict.load_model(st.conn)
        if model is not None:
            from leadctl.db import transaction

            with transaction(st.conn):
                out["predicted"] = predict.predict_open(st.conn, model)
        else:
            out["predicted"] = 0
    return out


@score_app.callback()
def score_main(
    ctx: typer.Context,
    all_: Annotated[
        bool, typer.Option("--all", help="Recompute every lead's score (and probability).")
    ] = False,
    train: Annotated[
        bool, typer.Option("--train", help="Learn the win probability from won/lost leads.")
    ] = False,
    evaluate: Annotated[
        bool, typer.Option("--evaluate", help="Cross-validated AUC and Brier score.")
    ] = False,
    folds: Annotated[int, typer.Option(help="Folds for --evaluate.")] = 5,
    fields: Annotated[
        str | None,
        typer.Option(
            help="With --train/--evaluate: fields to learn from, comma-separated (saved by "
            "--train), e.g. source,product,tags,value,answers,fields,field:visits."
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Scores and win probabilities. See `leadctl score show --help` for one lead."""
    if ctx.invoked_subcommand is not None:
        return
    from leadctl import predict
    from leadctl.errors import UsageError
    from leadctl.render import emit_object, key_value, message

    st = state(ctx)
    if sum((all_, train, evaluate)) != 1:
        raise UsageError(
            "Give a lead id, or one of --all, --train, --evaluate",
            "Examples: leadctl score 5 --explain; leadctl score --all; leadctl score rules list.",
        )
    field_list = predict.check_fields(fields.split(",")) if fields else None
    _ = st.existing_conn  # leads to score, learn from or evaluate: the file must be there
    if all_:
        out = _rescore_everything(st)
        if fmt is not Format.table:
            emit_object(out, fmt.value)
        else:
            message(
                f"Scored {out['leads']} lead(s), {out['changed']} changed; win probability "
                f"{'retrained and ' if out['trained'] else ''}updated for {out['predicted']} "
                "open lead(s)."
            )
        return
    if train:
        if field_list:
            predict.set_fields(st.conn, field_list)
        result = predict.train(st.conn, st.now, fields=field_list)
        if fmt is not Format.table:
            emit_object(result.to_dict(), fmt.value)
        else:
            message(
                f"Trained on {result.won} won and {result.lost} lost lead(s) "
                f"({result.features} field values); probability updated for "
                f"{result.predicted} open lead(s)."
            )
        return
    ev = predict.evaluate(st.conn, folds=folds, fields=field_list)
    if fmt is not Format.table:
        emit_object(ev.to_dict(), fmt.value)
        return
    key_value(
        [
            ("Closed leads", f"{ev.leads} ({ev.won} won, {ev.lost} lost)"),
            ("Folds", ev.folds),
            ("AUC", f"{ev.auc:.3f}  (0.5 = guessing, 1 = perfect ranking)"),
            ("Brier score", f"{ev.brier:.3f}  (lower is better; always guessing the base "
                            f"rate scores {ev.brier_baseline:.3f})"),
            ("Fields", ", ".join(ev.fields)),
        ]
    )  # fmt: skip


def _effect(weight: float) -> str:
    return "up" if weight > 0 else "down" if weight < 0 else "none"


@score_app.command("show", short_help="One lead's score and win probability.")
def score_show(
    ctx: typer.Context,
    lead_id: Annotated[int, typer.Argument(help="Lead id.", metavar="ID")],
    explain: Annotated[
        bool, typer.Option("--explain", help="Every rule that fired, and what moves the odds.")
    ] = False,
    probability: Annotated[
        str | None,
        typer.Option("--probability", help="Set a manual win probability 0-100 (kept on retrain)."),
    ] = None,
    clear_probability: Annotated[
        bool, typer.Option("--clear-probability", help="Remove the manual probability.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """One lead's score (recomputed now) and win probability; --explain says why."""
    from leadctl import leads, predict, scoring
    from leadctl.errors import UsageError
    from leadctl.normalize import parse_probability
    from leadctl.render import Column, emit_object, key_value, message, table

    st = state(ctx)
    conn = st.existing_conn
    if probability is not None and clear_probability:
        raise UsageError("Give --probability or --clear-probability, not both")
    if probability is not None:
        predict.set_manual(
            conn, lead_id, parse_probability(probability), now=st.now, actor=st.actor
        )
    elif clear_probability:
        predict.set_manual(conn, lead_id, None, now=st.now, actor=st.actor)
    scoring.rescore_lead(conn, lead_id, st.now)
    lead = leads.get_lead(conn, lead_id)
    result = scoring.score_lead(conn, lead_id, st.now)
    learned = predict.explain(conn, lead_id) if explain else None
    obj: dict[str, Any] = {
        "lead_id": lead.id, "name": lead.name, "score": lead.score, "stage": lead.stage,
        "probability": lead.probability, "probability_auto": lead.probability_auto,
        "probability_manual": lead.probability_manual,
    }  # fmt: skip
    if explain:
        obj.update(
            {"raw": result.to_dict()["raw"], "rules": result.to_dict()["rules"],
             "groups": result.groups, "prediction": learned,
             "history": scoring.score_movement(conn, lead_id)}
        )  # fmt: skip
    if fmt is not Format.table:
        emit_object(obj, fmt.value)
        return
    source = (
        "manual" if lead.probability_manual is not None and lead.is_open
        else "learned" if lead.probability_auto is not None and lead.is_open
        else "stage default"
    )  # fmt: skip
    pairs: list[tuple[str, Any]] = [
        ("Lead", f"{lead.id} {lead.name or ''}".strip()),
        ("Stage", lead.stage),
        ("Score", lead.score),
        ("Probability", f"{lead.probability:g}% ({source})" if lead.probability is not None else "-"),
    ]  # fmt: skip
    key_value(pairs)
    if not explain:
        return
    typer.echo()
    rows = [
        {"rule": f.rule, "test": f"{f.field} {f.operator} {f.value or ''}".strip(),
         "actual": f.detail, "group": f.group, "points": f"{f.points:+.2f}"}
        for f in result.fired
    ]  # fmt: skip
    if rows:
        table(
            rows,
            [Column("rule", "Rule"), Column("test", "Test", max_width=40),
             Column("actual", "Lead has", max_width=30), Column("group", "Group"),
             Column("points", "Points", justify="right")],
            title="Rules that fired",
        )  # fmt: skip
    else:
        message("No rule fired.")
    group_rows = [
        {"group": g["group"], "points": f"{g['points']:+.2f}",
         "cap": "-" if g["cap"] is None else f"{g['cap']:g}", "counted": f"{g['counted']:+.2f}"}
        for g in result.groups
    ]  # fmt: skip
    if group_rows:
        typer.echo()
        table(
            group_rows,
            [Column("group", "Group"), Column("points", "Points", justify="right"),
             Column("cap", "Cap", justify="right"), Column("counted", "Counted", justify="right")],
        )  # fmt: skip
    typer.echo(f"\nTotal: {result.raw:.2f} → score {result.score} (clamped to 0-100, rounded)")
    if learned is None:
        message(
            "No learned probability yet: run `leadctl score --train` once leads are won and lost."
        )
        return
    typer.echo()
    factor_rows = [
        {"field": p["field"], "value": _bin_text(p, lead.currency), "effect": _effect(p["weight"]),
         "weight": f"{p['weight']:+.3f}", "won_lost": f"{p['won']}/{p['lost']}"}
        for p in learned["factors"][:15]
    ]  # fmt: skip
    if factor_rows:
        table(
            factor_rows,
            [Column("field", "Field"), Column("value", "Value", max_width=44),
             Column("effect", "Pushes"), Column("weight", "Log-odds", justify="right"),
             Column("won_lost", "Won/lost", justify="right")],
            title=f"Learned probability {learned['probability']:g}% (prior log-odds "
            f"{learned['prior_log_odds']:+.3f})",
        )  # fmt: skip


def _bin_text(factor: dict[str, Any], currency: str) -> str:
    """A factor's value for people: a binned number's range from its edges
    (money for the deal value, in minor units), else the value as learned."""
    if "from" not in factor:
        return str(factor["value"])
    from leadctl.normalize import format_money

    def shown(x: float) -> str:
        if factor["field"] == "value":
            return format_money(int(x), currency)
        return f"{int(x):,}" if float(x).is_integer() else f"{x:,.6g}"

    low, below = factor["from"], factor["below"]
    if low is None:
        return f"under {shown(below)}"
    if below is None:
        return f"{shown(low)} or more"
    return f"{shown(low)} to under {shown(below)}"


# ---- rules ------------------------------------------------------------------

RULE_COLUMNS = ["name", "field", "operator", "value", "points", "group", "active"]


def _rules_table(ctx: typer.Context, fmt: Format) -> None:
    from leadctl import scoring
    from leadctl.render import Column, emit_records

    rows = [r.to_dict() for r in scoring.list_rules(state(ctx).existing_conn)]
    emit_records(
        rows,
        [Column("name", "Name"), Column("field", "Field"), Column("operator", "Op"),
         Column("value", "Value"), Column("points", "Points", justify="right"),
         Column("group", "Group"), Column("active", "Active")],
        fmt.value,
        empty="No rules.",
        csv_keys=RULE_COLUMNS,
    )  # fmt: skip


@rules_app.callback()
def rules_main(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List the score rules."""
    if ctx.invoked_subcommand is None:
        _rules_table(ctx, fmt)


@rules_app.command("list")
def rules_list(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List the score rules."""
    _rules_table(ctx, fmt)


@rules_app.command("groups")
def rules_groups(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List the rule groups and their caps."""
    from leadctl import scoring
    from leadctl.render import Column, emit_records

    emit_records(
        scoring.list_groups(state(ctx).existing_conn),
        [Column("group", "Group"), Column("cap", "Cap", justify="right"),
         Column("rules", "Rules", justify="right")],
        fmt.value,
    )  # fmt: skip


def rescore_after_change(ctx: typer.Context, what: str) -> None:
    """Rescore every lead after a change to what scores read (rules, caps,
    criteria) and say so after `what`."""
    from leadctl import scoring
    from leadctl.render import message

    st = state(ctx)
    scoring.use_worker_processes()
    bar = _progress_bar("Rescoring")
    if bar is None:
        result = scoring.score_all(st.conn, st.now)
    else:
        with bar:
            task = bar.add_task("Rescoring", total=None)
            result = scoring.score_all(
                st.conn, st.now, progress=lambda d, t: bar.update(task, completed=d, total=t)
            )
    message(f"{what} Rescored {result.leads} lead(s), {result.changed} changed.")


@rules_app.command("cap")
def rules_cap(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(help="Group name, e.g. engagement.")],
    cap: Annotated[str, typer.Argument(help="Most points the group counts (±), or 'none'.")],
) -> None:
    """Set a group's cap."""
    from leadctl import scoring
    from leadctl.errors import ValidationError

    if cap.strip().lower() in ("none", "-", ""):
        value = None
    else:
        try:
            value = float(cap)
        except ValueError:
            raise ValidationError(f"Cap {cap!r} is not a number", "Example: 40, or none.") from None
    scoring.set_group_cap(state(ctx).conn, group, value)
    rescore_after_change(ctx, f"Group {group}: cap {cap}.")


PointsOpt = Annotated[
    float | None, typer.Option(help="Points when it fires (negative to subtract).")
]


@rules_app.command("add")
def rules_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Rule name, e.g. source_ads.")],
    field: Annotated[str, typer.Option(help="What to test, e.g. source, answer:budget.")],
    op: Annotated[str, typer.Option("--op", "--operator", help="eq, gte, each, ...")],
    points: Annotated[float, typer.Option(help="Points when it fires (negative to subtract).")],
    group: Annotated[str, typer.Option(help="Group (caps apply per group).")] = "fit",
    value: Annotated[str | None, typer.Option(help="Value to compare with.")] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="Add it switched off.")] = False,
) -> None:
    """Add a score rule; every lead is rescored."""
    from leadctl import scoring

    rule = scoring.Rule(None, name, field, op, value, points, group, not inactive)
    r = scoring.add_rule(state(ctx).conn, rule)
    rescore_after_change(ctx, f"Rule {r.name} added.")


@rules_app.command("edit")
def rules_edit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Rule name.")],
    new_name: Annotated[str | None, typer.Option("--name", help="Rename it.")] = None,
    field: Annotated[str | None, typer.Option(help="What to test.")] = None,
    op: Annotated[str | None, typer.Option("--op", "--operator", help="Operator.")] = None,
    value: Annotated[str | None, typer.Option(help="Value to compare with.")] = None,
    points: PointsOpt = None,
    group: Annotated[str | None, typer.Option(help="Group.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
) -> None:
    """Change a score rule; every lead is rescored."""
    from leadctl import scoring

    changes = {"name": new_name, "field": field, "operator": op, "value": value,
               "points": points, "group": group, "active": active}  # fmt: skip
    r = scoring.edit_rule(state(ctx).conn, name, changes)
    rescore_after_change(ctx, f"Rule {r.name} updated.")


@rules_app.command("remove")
def rules_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Rule name.")],
) -> None:
    """Remove a score rule; every lead is rescored."""
    from leadctl import scoring

    scoring.remove_rule(state(ctx).conn, name)
    rescore_after_change(ctx, f"Rule {name} removed.")


@rules_app.command("export")
def rules_export(
    ctx: typer.Context,
    path: Annotated[
        str | None, typer.Argument(help="TOML file to write (default: stdout).")
    ] = None,
) -> None:
    """Write the rules and group caps as TOML (for version control)."""
    from pathlib import Path

    from leadctl import scoring
    from leadctl.render import message

    st = state(ctx)
    text = scoring.export_rules(st.existing_conn)
    if path is None or path == "-":
        typer.echo(text, nl=False)
    else:
        refuse_overwrite(st, path)
        Path(path).write_text(text, encoding="utf-8")
        message(f"Rules written to {path}.")


@rules_app.command("import", short_help="Replace all rules and caps with a TOML file's.")
def rules_import(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="TOML file to read ('-' for stdin).")],
) -> None:
    """Replace every rule and group cap with a TOML file's (all or nothing)."""
    import sys
    from pathlib import Path

    from leadctl import scoring
    from leadctl.errors import ValidationError

    if path == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValidationError(f"{path} is not UTF-8 text", "Save it as UTF-8.") from None
    n = scoring.import_rules(state(ctx).conn, text, source="stdin" if path == "-" else path)
    rescore_after_change(ctx, f"Imported {n} rule(s).")


@rules_app.command("reset")
def rules_reset(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace every rule and group cap with the ones leadctl ships."""
    import sys

    from leadctl import scoring
    from leadctl.errors import UsageError

    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("Replacing every score rule needs confirmation", "Add --yes.")
        typer.confirm("Replace every score rule with the ones leadctl ships?", abort=True)
    n, left_out = scoring.reset_rules(state(ctx).conn)
    skipped = f" Left out {', '.join(left_out)}: their criteria were removed." if left_out else ""
    rescore_after_change(ctx, f"Restored the {n} rule(s) leadctl ships.{skipped}")


score_app.add_typer(rules_app, name="rules")


def register(app: typer.Typer) -> None:
    app.add_typer(score_app, name="score")
