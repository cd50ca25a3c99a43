"""assign: give leads to team members, by hand or by the rules."""

from typing import Annotated

import typer

from leadctl.cli.common import Format, FormatOpt, state


def cmd_assign(
    ctx: typer.Context,
    lead_ids: Annotated[
        list[int] | None,
        typer.Argument(
            help="Lead id(s); with --auto and no ids: every unassigned open lead.",
            metavar="[ID]...",
        ),
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Member handle (manual).")] = None,
    auto: Annotated[
        bool, typer.Option("--auto", help="Assign by filters, capacity and round robin.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what --auto would do; write nothing.")
    ] = False,
    prefer_captured_by: Annotated[
        bool | None,
        typer.Option(
            "--prefer-captured-by/--no-prefer-captured-by",
            help="Give a lead to the member who captured it when they can take it "
            "(default: the assign_prefer_captured_by setting).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="With --to: assign even over capacity.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Assign leads: `assign ID... --to HANDLE`, or `assign [ID...] --auto [--dry-run]`.

    --auto takes leads highest score first; candidates are active members whose
    filters accept the lead and who have capacity left; the first in the
    round-robin queue gets it and goes to the end. Leads nobody can take stay
    unassigned, with the reason.
    """
    from leadctl import assign
    from leadctl.cli.team import emit_decisions, summarize
    from leadctl.errors import UsageError
    from leadctl.render import message

    st = state(ctx)
    ids = list(lead_ids or [])
    if to is not None and auto:
        raise UsageError("--to and --auto do not go together", "Use one of them.")
    if to is None and not auto:
        raise UsageError(
            "Say who gets the lead(s)",
            "Use `leadctl assign ID --to HANDLE`, or `leadctl assign --auto`.",
        )
    if to is not None:
        if not ids:
            raise UsageError("--to needs lead id(s)", "Example: leadctl assign 12 --to ani")
        if dry_run:
            raise UsageError("--dry-run goes with --auto", "Drop --dry-run, or use --auto.")
        decisions, warnings = assign.assign_to(
            st.existing_conn, ids, to, now=st.now, actor=st.actor, force=force
        )
        for w in warnings:
            message(f"Warning: {w}")
        emit_decisions(decisions, fmt)
        message(summarize(decisions, dry_run=False))
        return
    if force:
        raise UsageError("--force goes with --to", "Auto-assignment never exceeds capacity.")
    decisions = assign.auto_assign(
        st.existing_conn, now=st.now, actor=st.actor, lead_ids=ids or None, dry_run=dry_run,
        prefer_captured_by=prefer_captured_by,
    )  # fmt: skip
    if not decisions:
        message("No unassigned open leads.")
        if fmt is not Format.table:
            emit_decisions([], fmt)
        return
    emit_decisions(decisions, fmt)
    message(summarize(decisions, dry_run=dry_run))


def register(app: typer.Typer) -> None:
    app.command("assign", short_help="Assign leads by hand (--to) or by rules (--auto).")(
        cmd_assign
    )
