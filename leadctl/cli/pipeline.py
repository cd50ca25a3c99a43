"""advance, and `stages` to see and shape the pipeline."""

from typing import Annotated, Any

import typer

from leadctl.cli.common import Format, FormatOpt, parse_past, state

stages_app = typer.Typer(
    short_help="Show the pipeline and change its stages.",
    help="Show the pipeline; rename, add, reorder stages; set probabilities and rot days.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def cmd_advance(
    ctx: typer.Context,
    lead_ids: Annotated[list[int], typer.Argument(help="Lead id(s).", metavar="ID...")],
    to: Annotated[
        str | None, typer.Option("--to", help="Stage to move to (default: the next one).")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (required for lost).")] = None,
    reopen: Annotated[
        bool, typer.Option(help="Allow moving a closed (won/lost/...) lead.")
    ] = False,
    at: Annotated[
        str | None, typer.Option(help="When it happened, e.g. 'yesterday 15:00'.")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Move leads to the next stage, or --to a stage."""
    from leadctl import pipeline
    from leadctl.db import transaction
    from leadctl.render import emit_records, message

    st = state(ctx)
    _ = st.existing_conn  # the leads must be there (and the database's time zone applies)
    when = (
        parse_past(st, at, "a stage move is dated when it happened",
                   "Move the lead when it happens, or give a past --at.")
        if at is not None
        else None
    )  # fmt: skip
    moves = []
    with transaction(st.conn):  # all the leads move, or none (one refused: nothing changes)
        for lead_id in dict.fromkeys(lead_ids):  # a repeated id moves once
            moves.append(
                pipeline.move_stage(st.conn, lead_id, to, now=st.now, actor=st.actor,
                                    reason=reason, reopen=reopen, at=when).to_dict()
            )  # fmt: skip
    if fmt is Format.table:
        for move in moves:
            message(f"Lead {move['lead_id']}: {move['from']} → {move['to']}")
    else:
        emit_records(moves, [], fmt.value, csv_keys=["lead_id", "from", "to", "at", "reason"])


def _stage_records(conn: Any) -> list[dict[str, Any]]:
    from leadctl import pipeline

    counts = dict(conn.execute("SELECT stage, count(*) FROM leads GROUP BY stage").fetchall())
    out = []
    for s in pipeline.list_stages(conn):
        d = s.to_dict()
        d["leads"] = counts.get(s.name, 0)
        out.append(d)
    return out


def _show_stages(ctx: typer.Context, fmt: Format) -> None:
    from leadctl.render import Column, emit_records

    st = state(ctx)
    emit_records(
        _stage_records(st.existing_conn),
        [
            Column("position", "#", justify="right"), Column("name", "Stage"),
            Column("kind", "Kind"), Column("probability", "Prob %", justify="right"),
            Column("rot_days", "Rot days", justify="right"),
            Column("requires_reason", "Needs reason"), Column("leads", "Leads", justify="right"),
        ],
        fmt.value,
        csv_keys=["position", "name", "kind", "probability", "rot_days", "requires_reason", "leads"],
    )  # fmt: skip


@stages_app.callback()
def stages_main(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """Show the pipeline: order, kind, probability, rot days, lead count."""
    if ctx.invoked_subcommand is None:
        _show_stages(ctx, fmt)


@stages_app.command("list")
def stages_list(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """Show the pipeline."""
    _show_stages(ctx, fmt)


@stages_app.command("set")
def stages_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Stage name.")],
    probability: Annotated[int | None, typer.Option(help="Default win probability, 0-100.")] = None,
    rot_days: Annotated[
        int | None, typer.Option(help="Days untouched before a lead is stale.")
    ] = None,
    no_rot: Annotated[
        bool, typer.Option("--no-rot", help="Never flag leads in this stage as stale.")
    ] = False,
    requires_reason: Annotated[bool | None, typer.Option("--requires-reason/--no-reason")] = None,
) -> None:
    """Change a stage's probability, rot days or reason rule."""
    from leadctl import pipeline
    from leadctl.render import message

    st = state(ctx)
    s = pipeline.update_stage(
        st.conn, name, probability=probability, rot_days=rot_days, clear_rot=no_rot,
        requires_reason=requires_reason,
    )  # fmt: skip
    message(f"Stage {s.name}: probability {s.probability}%, rot days {s.rot_days or '-'}.")


@stages_app.command("rename")
def stages_rename(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="Current name.")],
    new: Annotated[str, typer.Argument(help="New name.")],
) -> None:
    """Rename a stage (its leads and history follow)."""
    from leadctl import pipeline
    from leadctl.render import message

    s = pipeline.rename_stage(state(ctx).conn, old, new)
    message(f"Stage renamed to {s.name}.")


@stages_app.command("add")
def stages_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="New stage name.")],
    probability: Annotated[
        int | None,
        typer.Option(help="Default win probability, 0-100 (closed stages: won 100, others 0)."),
    ] = None,
    kind: Annotated[str, typer.Option(help="open, won, lost, disqualified or inactive.")] = "open",
    after: Annotated[str | None, typer.Option(help="Place after this stage.")] = None,
    rot_days: Annotated[int | None, typer.Option(help="Days untouched before stale.")] = None,
    requires_reason: Annotated[bool, typer.Option("--requires-reason")] = False,
) -> None:
    """Add a stage to the pipeline."""
    from leadctl import pipeline
    from leadctl.render import message

    s = pipeline.add_stage(
        state(ctx).conn, name, kind=kind, probability=probability, rot_days=rot_days,
        after=after, requires_reason=requires_reason,
    )  # fmt: skip
    message(f"Stage {s.name} added at position {s.position}.")


@stages_app.command("move")
def stages_move(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Stage to move.")],
    after: Annotated[str | None, typer.Option(help="Place after this stage.")] = None,
    before: Annotated[str | None, typer.Option(help="Place before this stage.")] = None,
) -> None:
    """Reorder the pipeline."""
    from leadctl import pipeline
    from leadctl.render import message

    order = pipeline.move_stage_position(state(ctx).conn, name, after=after, before=before)
    message("Pipeline: " + " → ".join(s.name for s in order))


@stages_app.command("remove")
def stages_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Stage to remove (must be empty).")],
) -> None:
    """Remove a stage that holds no leads."""
    from leadctl import pipeline
    from leadctl.render import message

    pipeline.remove_stage(state(ctx).conn, name)
    message(f"Stage {name} removed.")


def register(app: typer.Typer) -> None:
    app.command("advance")(cmd_advance)
    app.add_typer(stages_app, name="stages")
