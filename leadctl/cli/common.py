"""What every command shares: the state from global options, option types, output."""

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from leadctl.cli.state import State

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["State"]  # re-exported: every command module takes its state from here


class Format(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="Output format: table for people; json, jsonl, csv for scripts."
    ),
]


# The lead filters shared by `list` and `export` (and anything else that
# selects leads): one definition, so both accept exactly the same options.
StageFilter = Annotated[
    list[str] | None, typer.Option("--stage", help="Only these stages (repeatable).")
]
OwnerFilter = Annotated[str | None, typer.Option(help="Only this owner ('none' for unassigned).")]
TagFilter = Annotated[
    list[str] | None, typer.Option("--tag", help="Having this tag (repeatable: all).")
]
SourceFilter = Annotated[str | None, typer.Option(help="Only this source.")]
ProductFilter = Annotated[str | None, typer.Option(help="Only this product.")]
SegmentFilter = Annotated[str | None, typer.Option(help="Only this segment.")]
CityFilter = Annotated[str | None, typer.Option(help="Only this city.")]
SearchFilter = Annotated[
    str | None, typer.Option(help="Text in name, e-mail, phone, company, city, external id.")
]
OpenFilter = Annotated[bool, typer.Option("--open", help="Only leads in open stages.")]
QualifiedFilter = Annotated[
    bool | None, typer.Option("--qualified/--unqualified", help="Only (un)qualified leads.")
]
StaleFilter = Annotated[
    bool, typer.Option("--stale", help="Open leads untouched past their stage's rot days.")
]
NoNextStepFilter = Annotated[
    bool, typer.Option("--no-next-step", help="Open leads with no open follow-up.")
]
SortOpt = Annotated[
    str | None,
    typer.Option(help="Sort keys, comma-separated; '-' for descending, e.g. -score,name."),
]


def lead_filter(**given: Any) -> Any:
    """A core LeadFilter from the shared filter options (lists default to empty)."""
    from leadctl.leads import LeadFilter

    return LeadFilter(
        stages=given.pop("stage") or [], tags=given.pop("tag") or [],
        open_only=given.pop("open_only"), **given,
    )  # fmt: skip


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    return obj


def parse_when(st: State, text: str, **kw: Any) -> datetime:
    from leadctl.dates import parse_when as _parse

    # Touch the connection first so the database's time zone setting applies.
    _ = st.conn
    return _parse(text, st.now, st.tz, **kw)


def parse_past(st: State, text: str, what: str, hint: str) -> datetime:
    """`--at` of something that has happened (a logged call, a stage move):
    a time after now is a usage error, so a lead is never last touched,
    moved or won in the future."""
    from leadctl.errors import UsageError

    when = parse_when(st, text)
    if when > st.now:
        local = when.astimezone(st.tz)
        shown = local.strftime(
            "%Y-%m-%d %H:%M" + (":%S" if local.second or local.microsecond else "")
        )
        if local.microsecond and (when - st.now).total_seconds() < 1:  # else it looks like now
            shown += f".{local.microsecond:06d}".rstrip("0")
        raise UsageError(f"--at {text!r} is {shown}, in the future: {what}", hint)
    return when


def parse_fields(items: list[str] | None) -> dict[str, str]:
    from leadctl.normalize import parse_field

    return dict(parse_field(item) for item in items or [])


def fmt_time(st: State) -> Any:
    from leadctl.dates import format_local

    return lambda v: format_local(v, st.tz)


def refuse_overwrite(st: State, output: str, *inputs: "Path") -> None:
    """Refuse an output file that is the database (or its WAL or shared
    memory file) or one of the command's input files: writing it would
    destroy what the command reads."""
    import os
    from pathlib import Path

    from leadctl.errors import UsageError

    target = Path(output)
    if not target.exists():
        return
    db = st.db_path()
    for other in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), *inputs):
        try:
            same = other.exists() and os.path.samefile(target, other)
        except OSError:
            same = False
        if same:
            what = "an input file" if other in inputs else "the database itself"
            raise UsageError(f"{output} is {what}", "Write to another file.")
