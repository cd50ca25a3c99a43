"""sequence: nurturing sequences of planned touches (add, list, show, enroll, status).

Annotations are real objects, not postponed strings (see leadctl/cli/followups.py)."""

from typing import Annotated, Any

import typer

from leadctl.cli.common import (
    CityFilter,
    Format,
    FormatOpt,
    NoNextStepFilter,
    OwnerFilter,
    ProductFilter,
    QualifiedFilter,
    SearchFilter,
    SegmentFilter,
    SourceFilter,
    StageFilter,
    StaleFilter,
    TagFilter,
    lead_filter,
    state,
)

sequence_app = typer.Typer(
    help="Nurturing sequences: planned follow-ups, one step after another.",
    short_help="Nurturing sequences of planned follow-ups.",
    no_args_is_help=True,
)

STEP_HELP = (
    "A step: 'DELAY KIND [TEMPLATE] [: NOTE]', e.g. '0d email intro', '3d call : ask about"
    " the demo'. DELAY is days (3d, 2w) after the previous step was done (step 1: after"
    " enrolment). Repeat for each step, in order."
)


def _step_columns() -> Any:
    from leadctl.render import Column

    return [
        Column("position", "#", justify="right"), Column("delay_days", "Delay (days)", justify="right"),
        Column("kind", "Kind"), Column("template", "Template"), Column("note", "Note"),
    ]  # fmt: skip


def _sequence_record(seq: Any) -> dict[str, Any]:
    d: dict[str, Any] = seq.to_dict()
    d["plan"] = "; ".join(s.describe() for s in seq.steps)
    return d


@sequence_app.command("add")
def cmd_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Sequence name, e.g. welcome.")],
    steps: Annotated[list[str], typer.Option("--step", "-s", help=STEP_HELP)],
    stop_on_reply: Annotated[
        bool,
        typer.Option(
            "--stop-on-reply/--no-stop-on-reply",
            help="Stop when the lead replies (an inbound activity is logged).",
        ),
    ] = True,
    fmt: FormatOpt = Format.table,
) -> None:
    """Define a sequence of steps."""
    from leadctl import sequences
    from leadctl.render import emit_object, message

    st = state(ctx)
    seq = sequences.add_sequence(st.conn, name, steps, now=st.now, stop_on_reply=stop_on_reply)
    if fmt is Format.table:
        message(
            f"Sequence {seq.name!r}: {len(seq.steps)} step(s): " + _sequence_record(seq)["plan"]
        )
    else:
        emit_object(seq.to_dict(), fmt.value)


@sequence_app.command("list")
def cmd_list(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """Every sequence with its plan and how many leads are in it."""
    from leadctl import sequences
    from leadctl.render import Column, emit_records

    st = state(ctx)
    records = [_sequence_record(s) for s in sequences.list_sequences(st.existing_conn)]
    emit_records(
        records,
        [
            Column("name", "Sequence"), Column("plan", "Steps", max_width=60),
            Column("stop_on_reply", "Stop on reply"),
            Column("active", "Active", justify="right"),
            Column("completed", "Completed", justify="right"),
            Column("stopped", "Stopped", justify="right"),
        ],
        fmt.value,
        empty="No sequences yet; add one with `leadctl sequence add`.",
        csv_keys=["name", "plan", "stop_on_reply", "active", "completed", "stopped", "created_at"],
    )  # fmt: skip


@sequence_app.command("show")
def cmd_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Sequence name.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """A sequence's steps."""
    from leadctl import sequences
    from leadctl.render import emit_object, emit_records, key_value

    st = state(ctx)
    seq = sequences.get_sequence(st.existing_conn, name)
    if fmt in (Format.json, Format.jsonl):
        emit_object(seq.to_dict(), fmt.value)
        return
    if fmt is Format.csv:
        emit_records([s.to_dict() for s in seq.steps], _step_columns(), "csv")
        return
    key_value(
        [("sequence", seq.name), ("stop on reply", seq.stop_on_reply),
         ("active", seq.active), ("completed", seq.completed), ("stopped", seq.stopped)]
    )  # fmt: skip
    emit_records([s.to_dict() for s in seq.steps], _step_columns(), "table")


@sequence_app.command("remove")
def cmd_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Sequence name.")],
    force: Annotated[
        bool, typer.Option("--force", help="Also stop its active enrolments.")
    ] = False,
) -> None:
    """Delete a sequence (done follow-ups stay in the history)."""
    from leadctl import sequences
    from leadctl.render import message

    st = state(ctx)
    seq = sequences.remove_sequence(st.existing_conn, name, now=st.now, force=force)
    message(f"Sequence {seq.name!r} removed.")


@sequence_app.command("enroll", short_help="Enrol leads in a sequence.")
def cmd_enroll(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(
            help="Lead id(s), then the sequence's name; or only the name, with filters.",
            metavar="[ID...] NAME",
        ),
    ],
    stage: StageFilter = None,
    owner: OwnerFilter = None,
    tag: TagFilter = None,
    source: SourceFilter = None,
    product: ProductFilter = None,
    segment: SegmentFilter = None,
    city: CityFilter = None,
    search: SearchFilter = None,
    qualified: QualifiedFilter = None,
    stale: StaleFilter = False,
    no_next_step: NoNextStepFilter = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With filters: who would be enrolled; write nothing.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Enrol leads: schedules step 1 as a follow-up; each completed step schedules the next.

    `enroll 12 welcome`, `enroll 12 13 14 welcome` (all or none), or `enroll
    welcome --source webinar --stage new` (the open leads the filters select, as
    in `list`; those marked do-not-contact, already in it, or without the
    e-mail or phone a step needs are skipped and named).
    """
    from leadctl import leads, sequences
    from leadctl.dates import format_local
    from leadctl.errors import UsageError
    from leadctl.render import emit_object, message

    st = state(ctx)
    *given, name = args
    ids = []
    for text in given:
        if not text.strip().isdigit():
            raise UsageError(
                f"{text!r} is not a lead id",
                "Give lead ids, then the sequence: leadctl sequence enroll 12 13 welcome",
            )
        ids.append(int(text))
    filters = {
        "stage": stage, "owner": owner, "tag": tag, "source": source, "product": product,
        "segment": segment, "city": city, "search": search, "qualified": qualified,
        "stale": stale, "no_next_step": no_next_step,
    }  # fmt: skip
    # --unqualified is qualified=False: a filter too (only None and unset flags are none).
    filtered = any(v is not None and v is not False and v != [] for k, v in filters.items()
                   if k != "qualified") or qualified is not None  # fmt: skip
    if ids and filtered:
        raise UsageError("Give lead ids or filters, not both", "Filters select the leads.")
    if not ids and not filtered:
        raise UsageError(
            "Say which leads to enrol",
            f"Give lead ids before the name (leadctl sequence enroll 12 {name}) or filters"
            f" (leadctl sequence enroll {name} --stage new --source webinar).",
        )
    if dry_run and not filtered:
        raise UsageError("--dry-run goes with filters", "Drop --dry-run, or select by filters.")
    conn = st.existing_conn
    if filtered:
        f = lead_filter(open_only=True, **filters)
        ids = leads.lead_ids(conn, f, now=st.now)
    if dry_run:
        sequences.sync_if_writable(conn, now=st.now)
    else:
        sequences.sync(conn, now=st.now)
    res = sequences.enroll_many(conn, name, ids, now=st.now, skip_unfit=filtered, dry_run=dry_run)
    if not filtered and len(ids) == 1:  # one lead: its enrolment and follow-up, as ever
        res = res["enrolled"][0]
        if fmt is not Format.table:
            emit_object(res, fmt.value)
            return
        fu = res["followup"]
        message(
            f"Lead {ids[0]} enrolled in {res['enrollment']['sequence']!r}; step 1 ({fu['kind']})"
            f" is follow-up {fu['id']} on {format_local(fu['due_at'], st.tz)}."
        )
        return
    if fmt is not Format.table:
        emit_object(res, fmt.value)
        return
    for skip in res["skipped"][:20]:
        message(f"Skipped: {skip['reason']}.")
    if len(res["skipped"]) > 20:
        message(f"... {len(res['skipped']) - 20} more skipped (--format json lists them all).")
    n = len(res["enrolled"])
    if dry_run:
        shown = ", ".join(str(i) for i in res["enrolled"][:20])
        more = f" and {n - 20} more" if n > 20 else ""
        message(
            f"Would enrol {n} lead(s) in {res['sequence']!r}"
            + (f": {shown}{more}." if n else ".")
            + (f" {len(res['skipped'])} skipped." if res["skipped"] else "")
        )
        return
    due = (
        f"; step 1 is due {format_local(res['enrolled'][0]['followup']['due_at'], st.tz)}"
        if n
        else ""
    )
    message(
        f"Enrolled {n} lead(s) in {res['sequence']!r}{due}."
        + (f" {len(res['skipped'])} skipped." if res["skipped"] else "")
    )


@sequence_app.command("unenroll")
def cmd_unenroll(
    ctx: typer.Context,
    lead_id: Annotated[int, typer.Argument(help="Lead id.", metavar="ID")],
    name: Annotated[
        str | None, typer.Argument(help="Sequence (default: every active one).", metavar="NAME")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Stop a lead's sequence(s); their open follow-ups are cancelled."""
    from leadctl import sequences
    from leadctl.render import emit_records, message

    st = state(ctx)
    stopped = sequences.unenroll(st.existing_conn, lead_id, name, now=st.now)
    if fmt is Format.table:
        for e in stopped:
            message(f"Lead {lead_id} unenrolled from {e.sequence!r}.")
    else:
        emit_records([e.to_dict() for e in stopped], [], fmt.value, csv_keys=list(
            ("id", "lead_id", "sequence", "current_step", "status", "stop_reason",
             "enrolled_at", "ended_at")
        ))  # fmt: skip


@sequence_app.command("status")
def cmd_status(
    ctx: typer.Context,
    sequence: Annotated[
        str | None, typer.Option("--sequence", "-s", help="Only this sequence.")
    ] = None,
    lead_id: Annotated[int | None, typer.Option("--lead", help="Only this lead.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Include completed and stopped enrolments.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Who is where: each enrolment, its step and the next follow-up."""
    from leadctl import sequences
    from leadctl.cli.common import fmt_time
    from leadctl.render import Column, emit_records

    st = state(ctx)
    # A read-only file still shows; what should stop shows as stopping.
    stopping = sequences.sync_if_writable(st.existing_conn, now=st.now)
    rows = sequences.status(
        st.conn, sequence=sequence, lead_id=lead_id, include_ended=all_ or lead_id is not None,
        stopping=stopping,
    )  # fmt: skip
    for r in rows:
        r["progress"] = f"{r['current_step']}/{r['steps']}"
    emit_records(
        rows,
        [
            Column("id", "Enrolment", justify="right"), Column("lead_id", "Lead", justify="right"),
            Column("lead_name", "Name"), Column("sequence", "Sequence"),
            Column("status", "Status"), Column("progress", "Done", justify="right"),
            Column("next_step", "Next step", justify="right"), Column("next_kind", "Kind"),
            Column("next_due", "Due", fmt=fmt_time(st)), Column("stop_reason", "Stopped by"),
        ],
        fmt.value,
        empty="No enrolments" + ("." if all_ else " active; --all shows ended ones."),
        csv_keys=[
            "id", "lead_id", "lead_name", "sequence", "status", "current_step", "steps",
            "next_step", "next_due", "next_kind", "next_template", "next_followup",
            "stop_reason", "enrolled_at", "ended_at",
        ],
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(sequence_app, name="sequence")
