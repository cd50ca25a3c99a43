"""qualify: answer the qualification criteria; criteria: define them."""

from typing import Annotated, Any

import typer

from leadctl.cli.common import Format, FormatOpt, state

criteria_app = typer.Typer(
    help="Qualification criteria (default BANT): list, add, edit, remove.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _split_answer(text: str) -> tuple[str, str]:
    from leadctl.errors import ValidationError

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValidationError(
            f"{text!r} is not an answer", "Use KEY=VALUE, e.g. --answer company_size=50."
        )
    return key.strip(), value


def cmd_qualify(
    ctx: typer.Context,
    lead_id: Annotated[int, typer.Argument(help="Lead id.", metavar="ID")],
    budget: Annotated[str | None, typer.Option(help="Budget: can they pay? (yes/no)")] = None,
    authority: Annotated[
        str | None, typer.Option(help="Authority: is this the decision maker? (yes/no)")
    ] = None,
    need: Annotated[str | None, typer.Option(help="Need: the problem to solve.")] = None,
    timeline: Annotated[
        str | None, typer.Option(help="Timeline: when they buy, e.g. 2026-12 or +30d.")
    ] = None,
    answer: Annotated[
        list[str] | None,
        typer.Option("--answer", "-a", help="Any criterion: KEY=VALUE (repeatable; '' clears)."),
    ] = None,
    segment: Annotated[str | None, typer.Option(help="Segment, e.g. retail, b2b.")] = None,
    value: Annotated[str | None, typer.Option(help="Deal size, e.g. 20000000 or 20jt.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Add a tag (repeatable).")] = None,
    advance: Annotated[
        bool, typer.Option("--advance", help="When qualified, move the lead to --stage.")
    ] = False,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Stage --advance moves to (default: qualified).")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Record qualification answers; say which required criteria are missing.

    With no answers, shows the lead's qualification. Each changed answer is an
    activity in the lead's history.
    """
    from leadctl import qualify
    from leadctl.errors import UsageError
    from leadctl.render import emit_object, key_value, message

    st = state(ctx)
    conn = st.existing_conn
    if advance:
        stage = _advance_target(conn, lead_id, stage)  # fails before anything is stored
    elif stage is not None:
        raise UsageError("--stage goes with --advance", "Add --advance, or drop --stage.")
    answers: dict[str, str] = {}
    for key, given in (("budget", budget), ("authority", authority), ("need", need),
                       ("timeline", timeline)):  # fmt: skip
        if given is not None:
            answers[key] = given
    for item in answer or []:
        k, v = _split_answer(item)
        answers[k] = v
    changes: dict[str, Any] = {}
    if segment is not None:
        changes["segment"] = segment
    if value is not None:
        changes["value"] = value
    if answers or changes or tag or advance:
        result = qualify.qualify_lead(
            conn, lead_id, answers, now=st.now, tz=st.tz, actor=st.actor,
            lead_changes=changes, add_tags=tag, advance=advance, advance_to=stage or "qualified",
        )  # fmt: skip
    else:
        result = qualify.status(conn, lead_id)
    if fmt is not Format.table:
        emit_object(result.to_dict(), fmt.value)
        return
    labels = {c.key: c for c in qualify.list_criteria(conn)}
    pairs: list[tuple[str, Any]] = []
    for key, val in result.answers.items():
        c = labels.get(key)
        mark = "" if c is None or not c.required else " (required)"
        pairs.append((f"{key}{mark}", "-" if val is None else val))
    key_value(pairs)
    for ch in result.changed:
        message(f"{ch['criterion']}: {ch['old'] or '-'} → {ch['new'] or '-'}")
    if result.qualified:
        message(f"Lead {lead_id} is qualified.")
    else:
        missing = "; ".join(f"{m['criterion']} ({m['why']})" for m in result.missing)
        message(f"Lead {lead_id} is not qualified. Missing: {missing}.")
    if result.moved_to:
        message(f"Lead {lead_id} moved to {result.moved_to}.")
    elif advance and result.qualified:
        message(f"Lead {lead_id} stays in {result.stage} (already at or past {stage}).")
    elif advance:
        message(f"Lead {lead_id} was not advanced.")


def _criteria_records(conn: Any) -> list[dict[str, Any]]:
    from leadctl import qualify

    answered = dict(
        conn.execute(
            "SELECT criterion, count(*) FROM qualification_answers GROUP BY criterion"
        ).fetchall()
    )
    out = []
    for c in qualify.list_criteria(conn):
        d = c.to_dict()
        d["answered"] = answered.get(c.key, 0)
        out.append(d)
    return out


def _show(ctx: typer.Context, fmt: Format) -> None:
    from leadctl.render import Column, emit_records

    emit_records(
        _criteria_records(state(ctx).existing_conn),
        [
            Column("key", "Key"), Column("label", "Label", max_width=40), Column("type", "Type"),
            Column("choices", "Choices", max_width=30), Column("required", "Required"),
            Column("answered", "Answered", justify="right"),
        ],
        fmt.value,
        csv_keys=["key", "label", "type", "choices", "required", "position", "answered"],
    )  # fmt: skip


@criteria_app.callback()
def criteria_main(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """Show the qualification criteria."""
    if ctx.invoked_subcommand is None:
        _show(ctx, fmt)


@criteria_app.command("list")
def criteria_list(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """Show the qualification criteria."""
    _show(ctx, fmt)


def _choices(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [c for c in (p.strip() for p in text.split(",")) if c]


def _advance_target(conn: Any, lead_id: int, stage: str | None) -> str:
    """The open stage `qualify --advance` moves to: --stage, else `qualified`."""
    from leadctl.errors import UsageError
    from leadctl.pipeline import get_stage, list_stages

    if stage is None:
        names = [s.name for s in list_stages(conn)]
        if "qualified" not in names:  # renamed or removed
            raise UsageError(
                "--advance moves to the stage 'qualified', which this pipeline no longer has",
                f"Name the stage with --stage (stages: {', '.join(names)}).",
            )
        stage = "qualified"
    target = get_stage(conn, stage)
    if target.kind != "open":
        raise UsageError(
            f"--advance moves a qualified lead forward, not to the closed stage {target.name!r}",
            f"Close it with `leadctl advance {lead_id} --to {target.name}"
            + (" --reason REASON`." if target.requires_reason else "`."),
        )
    return target.name


@criteria_app.command("add")
def criteria_add(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Key, e.g. company_size (used in --answer).")],
    label: Annotated[str | None, typer.Option(help="The question, shown to people.")] = None,
    type_: Annotated[
        str, typer.Option("--type", help="yesno, choice, number, date or text.")
    ] = "text",
    choices: Annotated[
        str | None, typer.Option(help="For --type choice: comma-separated choices.")
    ] = None,
    required: Annotated[
        bool, typer.Option("--required/--optional", help="Needed to be qualified?")
    ] = True,
) -> None:
    """Add a qualification criterion."""
    from leadctl import qualify
    from leadctl.cli.score import rescore_after_change

    c = qualify.add_criterion(
        state(ctx).conn, key, label=label, type_=type_, choices=_choices(choices),
        required=required,
    )  # fmt: skip
    # `qualified` and the answers changed for every lead: so do their scores.
    rescore_after_change(
        ctx, f"Criterion {c.key} added ({c.type}, {'required' if c.required else 'optional'})."
    )


@criteria_app.command("edit")
def criteria_edit(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Criterion key.")],
    label: Annotated[str | None, typer.Option(help="New question text.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="New type (if unanswered).")] = None,
    choices: Annotated[str | None, typer.Option(help="New comma-separated choices.")] = None,
    required: Annotated[bool | None, typer.Option("--required/--optional")] = None,
) -> None:
    """Change a criterion; `qualified` is recomputed for every lead."""
    from leadctl import qualify
    from leadctl.cli.score import rescore_after_change
    from leadctl.render import message

    c = qualify.edit_criterion(
        state(ctx).conn, key, label=label, type_=type_, choices=_choices(choices),
        required=required,
    )  # fmt: skip
    said = f"Criterion {c.key}: {c.type}, {'required' if c.required else 'optional'}."
    if (type_, choices, required) == (None, None, None):
        message(said)  # a new question text changes no answer nor score
    else:
        rescore_after_change(ctx, said)


@criteria_app.command("remove")
def criteria_remove(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Criterion key.")],
) -> None:
    """Remove a criterion and its current answers (their history stays)."""
    from leadctl import qualify
    from leadctl.cli.score import rescore_after_change

    n = qualify.remove_criterion(state(ctx).conn, key)
    rescore_after_change(ctx, f"Criterion {key} removed ({n} answer(s) dropped; history kept).")


def register(app: typer.Typer) -> None:
    app.command("qualify", short_help="Record qualification answers; see what is missing.")(
        cmd_qualify
    )
    app.add_typer(criteria_app, name="criteria")
