"""What every command shares: the state from global options, option types, output."""

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from leadctl.errors import ValidationError


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


@dataclass
class State:
    """Resolved global options; the database opens lazily, once per command."""

    db_arg: str | None = None
    tz_name: str | None = None
    actor_arg: str | None = None
    _conn: sqlite3.Connection | None = field(default=None, repr=False)
    _tz: tzinfo | None = field(default=None, repr=False)
    _now: datetime | None = field(default=None, repr=False)

    def db_path(self) -> Path:
        from leadctl.config import resolve_db_path

        return resolve_db_path(self.db_arg, os.environ)[0]

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            from leadctl.config import ensure_default_folder, resolve_db_path
            from leadctl.db import open_db

            path, is_default = resolve_db_path(self.db_arg, os.environ)
            if is_default:
                ensure_default_folder(path)
            self._conn = open_db(path)
        return self._conn

    @property
    def now(self) -> datetime:
        """The clock. LEADCTL_NOW (ISO-8601) fixes it, for tests and demos."""
        if self._now is None:
            fixed = os.environ.get("LEADCTL_NOW")
            if fixed:
                try:
                    dt = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
                except ValueError as exc:
                    raise ValidationError(
                        f"LEADCTL_NOW={fixed!r} is not an ISO-8601 time",
                        "Example: 2026-11-22T08:00:00Z",
                    ) from exc
                self._now = dt if dt.tzinfo else dt.replace(tzinfo=self.tz)
            else:
                self._now = datetime.now(timezone.utc)
        return self._now

    @property
    def tz(self) -> tzinfo:
        if self._tz is None:
            from leadctl.dates import get_tz

            name = self.tz_name or os.environ.get("LEADCTL_TZ")
            if not name and self._conn is not None:
                from leadctl.db import get_setting

                name = get_setting(self._conn, "timezone")
            self._tz = get_tz(name)
        return self._tz

    @property
    def actor(self) -> str | None:
        """Who is acting: --as, else LEADCTL_USER, else the login name."""
        if self.actor_arg:
            return self.actor_arg.lower()
        env = os.environ.get("LEADCTL_USER") or os.environ.get("USER") or os.environ.get("USERNAME")
        return env.lower() if env else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


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


def parse_fields(items: list[str] | None) -> dict[str, str]:
    from leadctl.normalize import parse_field

    return dict(parse_field(item) for item in items or [])


def fmt_time(st: State) -> Any:
    from leadctl.dates import format_local

    return lambda v: format_local(v, st.tz)
