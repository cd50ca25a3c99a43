"""import and export."""

from enum import Enum
from typing import Annotated, Any

import typer

from leadctl.cli.common import (
    CityFilter,
    Format,
    FormatOpt,
    NoNextStepFilter,
    OpenFilter,
    OwnerFilter,
    ProductFilter,
    QualifiedFilter,
    SearchFilter,
    SegmentFilter,
    SortOpt,
    SourceFilter,
    StageFilter,
    StaleFilter,
    TagFilter,
    lead_filter,
    refuse_overwrite,
    state,
)


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


class DuplicateMode(str, Enum):
    skip = "skip"
    update = "update"
    merge = "merge"


def cmd_import(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="CSV or JSON lines file; '-' reads stdin.")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN: read FIELD from COLUMN (repeatable)."),
    ] = None,
    ignore_unmapped: Annotated[
        bool, typer.Option(help="Drop unrecognised columns instead of keeping custom fields.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the mapping and first rows; write nothing.")
    ] = False,
    encoding: Annotated[
        str | None, typer.Option(help="File encoding (default UTF-8; e.g. latin-1, cp1252).")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter: ',', ';', 'tab', '|' (default: sniffed).")
    ] = None,
    input_format: Annotated[
        str | None, typer.Option("--input-format", help="csv or jsonl (default: guessed).")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Phone region for local numbers (default: the db's).")
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="Currency of the value column (default: the db's).")
    ] = None,
    dayfirst: Annotated[
        bool, typer.Option("--dayfirst", help="Read 01/02/2026 as 1 February.")
    ] = False,
    stage_map: Annotated[
        str | None,
        typer.Option(help='Foreign stage names: "Engaging=contacted,Prospecting=new".'),
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="Duplicate keys: email, phone, external_id, or none."),
    ] = None,
    on_duplicate: Annotated[
        DuplicateMode, typer.Option(help="What to do with a duplicate row.")
    ] = DuplicateMode.skip,
    rejects: Annotated[
        str | None, typer.Option(help="Write rejected rows (+ reason) to this CSV file.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Any rejected row: import nothing, exit 1.")
    ] = False,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient", help="Keep a row with a bad e-mail/phone (value kept as custom field)."
        ),
    ] = False,
    null: Annotated[
        list[str] | None,
        typer.Option("--null", help="A placeholder meaning empty, e.g. Select (repeatable)."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(help="Rows per transaction (a big import commits every 100,000).")
    ] = 10_000,
    score: Annotated[
        bool,
        typer.Option(
            "--score/--no-score",
            help="Score the new and updated leads at the end (--no-score: later, with "
            "`leadctl score --all`).",
        ),
    ] = True,
    fmt: FormatOpt = Format.table,
) -> None:
    """Import leads from a CSV or JSON lines file (deduplicated, resumable)."""
    import os
    import sys
    import time
    from pathlib import Path

    from leadctl import importer
    from leadctl.errors import ConflictError, UsageError
    from leadctl.render import emit_object

    st = state(ctx)
    opts = importer.ImportOptions(
        mapping=importer.parse_map(map_), ignore_unmapped=ignore_unmapped, encoding=encoding,
        delimiter=delimiter, input_format=input_format, region=region, currency=currency,
        dayfirst=dayfirst, stage_map=importer.parse_stage_map(stage_map),
        keys=importer.parse_keys(key), on_duplicate=on_duplicate.value, strict=strict,
        lenient=lenient, dry_run=dry_run, nulls=tuple(null or ()), batch_size=batch_size,
        score=score,
    )  # fmt: skip
    if fmt is Format.csv:
        raise UsageError("The import summary has no CSV form", "Use --format json or table.")
    started = time.perf_counter()
    tmp: Path | None = None
    if file == "-":
        tmp = _spool_stdin()
        path, name = tmp, "stdin"
    else:
        path, name = Path(file), Path(file).name
        if not path.is_file():
            raise UsageError(f"No such file: {file}", "Check the path (use '-' for stdin).")
    # (A dry run on a new path makes the empty database: previewing a first
    # import before anything exists is the README's first step.)
    conn, now, tz = st.conn, st.now, st.data_tz
    # Typos in options fail before any row is read, even if no row needs them.
    if region:
        from leadctl.settings import KNOWN

        KNOWN["region"].parse(region)
    if opts.stage_map:
        from leadctl.pipeline import get_stage

        for target in set(opts.stage_map.values()):
            get_stage(conn, target)
    if score and not dry_run:
        from leadctl import scoring

        scoring.use_worker_processes()  # the rescoring of a big import (see score_all)
    if rejects:
        refuse_overwrite(st, rejects, path)
    rejects_fh = open(rejects, "w", encoding="utf-8", newline="") if rejects else None  # noqa: SIM115
    progress, finish = _progress_bar(path.stat().st_size)
    try:
        result = importer.run_import(
            conn, path, opts, now=now, tz=tz, actor=st.actor, display_name=name,
            progress=progress, rejects_out=rejects_fh,
        )  # fmt: skip
    finally:
        finish()
        if rejects_fh is not None:
            rejects_fh.close()
        if tmp is not None:
            os.unlink(tmp)
    result.seconds = round(time.perf_counter() - started, 3)
    data = result.to_dict()
    if not dry_run:
        data.pop("preview")
    if fmt is not Format.table:
        emit_object(data, fmt.value)
    _summary(result, rejects)
    if strict and result.rejected:
        sys.stderr.flush()
        raise ConflictError(
            f"{len(result.rejected)} row(s) rejected with --strict; nothing was imported",
            "Fix them (see --rejects FILE) or run without --strict.",
        )


def _spool_stdin() -> Any:
    import shutil
    import sys
    import tempfile
    from pathlib import Path

    # The import hashes the file (for resume) and reads it twice at most, so
    # stdin is copied to a private temp file first; memory stays flat.
    fd, name = tempfile.mkstemp(prefix="leadctl-import-", suffix=".csv")
    with open(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    return Path(name)


def _progress_bar(total: int) -> Any:
    import sys

    if not sys.stderr.isatty() or total < (1 << 20):
        return None, lambda: None
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TimeRemainingColumn(), transient=True,
    )  # fmt: skip
    task = bar.add_task("Importing", total=total)
    bar.start()

    def update(done: int, whole: int) -> None:
        bar.update(task, completed=min(done, whole), total=whole)

    return update, bar.stop


def _summary(result: Any, rejects: str | None) -> None:
    from leadctl.render import message

    for w in result.warnings[:20]:
        where = f"line {w['line']}: " if w["line"] else ""
        message(f"Warning: {where}{w['warning']}")
    if len(result.warnings) > 20:
        message(f"... and {len(result.warnings) - 20} more warnings (--format json lists all).")
    for r in result.rejected[:20]:
        message(f"Rejected line {r['line']}: {r['reason']}")
    if len(result.rejected) > 20:
        more = f"{len(result.rejected) - 20} more rejected rows"
        message(f"... and {more} ({'see ' + rejects if rejects else '--rejects FILE lists all'}).")
    head = "Dry run (nothing written)" if result.dry_run else f"Import {result.import_id}"
    resumed = (
        f", resumed after line {result.resumed_after_line}" if result.resumed_after_line else ""
    )
    message(
        f"{head}: {result.file}{resumed}: read {result.read}, inserted {result.inserted}, "
        f"updated {result.updated}, duplicates {result.skipped_duplicates}, "
        f"rejected {len(result.rejected)} in {result.seconds:.1f}s."
    )
    if result.dry_run:
        for m in result.mapping:
            target = (
                m["field"] if m["field"] else f"field:{m['custom_field']}"
                if m["custom_field"] else "(dropped)"
            )  # fmt: skip
            message(f"  {m['column']} -> {target}")
        for p in result.preview:
            message("  " + ", ".join(f"{k}={v}" for k, v in p.items()))


def cmd_export(
    ctx: typer.Context,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="csv, json or jsonl.")
    ] = ExportFormat.csv,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file (default stdout).")
    ] = None,
    stage: StageFilter = None,
    owner: OwnerFilter = None,
    tag: TagFilter = None,
    source: SourceFilter = None,
    product: ProductFilter = None,
    segment: SegmentFilter = None,
    city: CityFilter = None,
    search: SearchFilter = None,
    open_only: OpenFilter = False,
    qualified: QualifiedFilter = None,
    stale: StaleFilter = False,
    no_next_step: NoNextStepFilter = False,
    sort: SortOpt = None,
) -> None:
    """Export leads (all fields, custom fields, tags) as CSV, JSON or JSON lines."""
    import sys

    from leadctl import exporter
    from leadctl.render import message

    st = state(ctx)
    f = lead_filter(
        stage=stage,
        owner=owner,
        tag=tag,
        source=source,
        product=product,
        segment=segment,
        city=city,
        search=search,
        open_only=open_only,
        qualified=qualified,
        stale=stale,
        no_next_step=no_next_step,
    )
    if output:
        import os

        conn = st.existing_conn  # a wrong database is refused before any file is created
        refuse_overwrite(st, output)
        # Written beside the target and renamed when complete, so a failed
        # export leaves no empty or half file. open() honours the umask. A
        # device or pipe (-o /dev/stdout) is written directly.
        direct = os.path.exists(output) and not os.path.isfile(output)
        tmp = output if direct else f"{output}.partial"
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as out:
                n = exporter.export_leads(conn, f, fmt.value, out, now=st.now, sort=sort)
            if not direct:
                os.replace(tmp, output)
        except BaseException:
            if not direct and os.path.isfile(tmp):
                os.unlink(tmp)
            raise
        message(f"Exported {n} lead(s) to {output}.")
    else:
        exporter.export_leads(st.existing_conn, f, fmt.value, sys.stdout, now=st.now, sort=sort)


def register(app: typer.Typer) -> None:
    app.command("import", short_help="Import leads from a CSV or JSON lines file.")(cmd_import)
    app.command("export", short_help="Export leads as CSV, JSON or JSON lines.")(cmd_export)
