"""The state every command shares: global options resolved lazily (database,
clock, time zone, actor). No typer here: `leadctl.cli.launch` answers the
cron command without building the Typer app and uses this directly."""

import os
import sqlite3
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING

from leadctl.errors import ValidationError

if TYPE_CHECKING:
    from pathlib import Path


class State:
    """Resolved global options; the database opens lazily, once per command.
    A plain class, not a dataclass: `dataclasses` costs the cron command ~6 ms."""

    def __init__(
        self, db_arg: str | None = None, tz_name: str | None = None, actor_arg: str | None = None
    ) -> None:
        self.db_arg = db_arg
        self.tz_name = tz_name
        self.actor_arg = actor_arg
        self._conn: sqlite3.Connection | None = None
        self._tz: tzinfo | None = None
        self._now: datetime | None = None

    def db_path(self) -> "Path":
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
    def existing_conn(self) -> sqlite3.Connection:
        """The database of a command that reads (listings, shows, reports,
        export, backup) or changes what must already be in it (a lead, a
        follow-up, a member, an enrolment, a target or cost; scoring,
        assigning): a path named by --db or LEADCTL_DB must exist. A typo in
        a cron line would otherwise create an empty database and report an
        empty day, every day; `advance 12` would create one to say lead 12
        is not found. Commands that create or set up (add, import, settings,
        a member, sequence or target, the built-in stages, criteria, rules
        and templates, which every new file has) may make it. (The default
        path is made on first use.) Take it before anything that opens
        `conn` (a date parsed in the database's time zone does)."""
        if self._conn is None:
            from leadctl.config import resolve_db_path

            path, is_default = resolve_db_path(self.db_arg, os.environ)
            if not is_default and not path.exists():
                from leadctl.errors import NotFoundError

                raise NotFoundError(
                    f"No database at {path}",
                    "Check --db or LEADCTL_DB; `leadctl add` or `leadctl import` makes a new one.",
                )
        return self.conn

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
    def data_tz(self) -> tzinfo:
        """The zone of dates in an imported file: --tz if given, else the
        database's (so every user's import of a file stores the same times),
        else what `tz` falls back to (LEADCTL_TZ, the machine's)."""
        if self.tz_name:
            return self.tz
        from leadctl.db import get_setting

        name = get_setting(self.conn, "timezone")
        if not name:
            return self.tz
        from leadctl.dates import get_tz

        return get_tz(name)

    @property
    def actor(self) -> str | None:
        """Who is acting: --as, else LEADCTL_USER, else the login name (the
        variables getpass reads, cron sets LOGNAME only; else the account's name)."""
        if self.actor_arg:
            return self.actor_arg.lower()
        env = os.environ.get("LEADCTL_USER")
        if not env:
            import getpass

            try:
                env = getpass.getuser()
            except (OSError, KeyError, ImportError):  # no variable and no passwd entry
                env = None
        return env.lower() if env else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
