"""Database maintenance: online backup, restore, integrity check.

All three use SQLite's own machinery, never a file copy: a copy of a WAL
database taken while another process writes can miss the -wal file or catch
a half-written page. The backup API copies a consistent snapshot (in WAL mode
the reader never blocks writers), and restoring through it into the live file
is one write transaction, so other leadctl processes see the old database or
the new one, never a mix.

Backups are written to a private temporary file next to the target and moved
into place only when complete, so a failed backup never leaves a truncated
file where a good one is expected.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from leadctl.db import (
    APPLICATION_ID,
    DEFERRED_INDEXES,
    SCHEMA_VERSION,
    connect,
    identify,
    readonly_uri,
)
from leadctl.errors import ConflictError, DatabaseError, NotFoundError


@dataclass
class BackupResult:
    path: str
    bytes: int
    leads: int
    schema_version: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RestoreResult:
    path: str
    source: str
    safety_copy: str | None
    leads: int
    schema_version: int
    migrated_from: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckResult:
    path: str
    application_id: int
    schema_version: int
    expected_schema_version: int
    migrations_applied: list[str]
    journal_mode: str
    page_size: int
    pages: int
    integrity: list[str]
    foreign_key_violations: list[dict[str, Any]]
    bad_json: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        return d


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _private_temp(folder: Path, name: str) -> Path:
    """An empty file, mode 0600, in `folder` (so a rename into place is atomic)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    except FileNotFoundError as exc:
        raise DatabaseError(
            f"The folder {folder} does not exist", "Create it first or choose another path."
        ) from exc
    except OSError as exc:
        raise DatabaseError(
            f"Cannot write in {folder}: {exc.strerror}",
            "Check that the folder is writable and the disk is not full.",
        ) from exc
    os.close(fd)  # mkstemp creates the file 0600 whatever the umask.
    return Path(tmp)


def _copy(src: sqlite3.Connection, dest_path: Path) -> None:
    """Online-backup `src` into the (empty) file `dest_path`, as one file."""
    dest = sqlite3.connect(str(dest_path), isolation_level=None)
    try:
        # pages=-1: the whole database in one step, from one consistent
        # snapshot. With smaller steps a write by another process would make
        # SQLite restart the copy, possibly forever under steady writes.
        src.backup(dest, pages=-1)
        # A backup is one self-contained file: no -wal beside it to forget.
        dest.execute("PRAGMA journal_mode = DELETE")
    finally:
        dest.close()


def _count_leads(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.execute("SELECT count(*) FROM leads").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def backup(
    conn: sqlite3.Connection, db_path: Path, target: Path, *, force: bool = False
) -> BackupResult:
    """Copy the open database `conn` (at `db_path`) to `target`, mode 0600.

    Refuses to overwrite an existing file unless `force`, and never writes
    over the live database itself.
    """
    target = Path(target)
    if target.is_dir():
        raise DatabaseError(f"{target} is a folder", "Give a file name for the backup.")
    if _same_file(target, db_path):
        raise ConflictError(
            f"{target} is the database itself", "Give another file name for the backup."
        )
    if target.exists() and not force:
        raise ConflictError(f"{target} already exists", "Add --force to overwrite it.")
    folder = target.parent if str(target.parent) else Path(".")
    tmp = _private_temp(folder, target.name)
    try:
        _copy(conn, tmp)
        size = tmp.stat().st_size
        if force:
            os.replace(tmp, target)
        else:
            # link() fails if the name appeared meanwhile: never overwrite
            # a file created between the check above and now.
            try:
                os.link(tmp, target)
            except FileExistsError as exc:
                raise ConflictError(
                    f"{target} already exists", "Add --force to overwrite it."
                ) from exc
            except OSError:
                # Filesystems without hard links: fall back to an exclusive rename.
                if target.exists():
                    raise ConflictError(
                        f"{target} already exists", "Add --force to overwrite it."
                    ) from None
                os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    return BackupResult(str(target), size, _count_leads(conn), version)


def safety_copy_path(db_path: Path, now: datetime) -> Path:
    """Where `restore` keeps the database it replaces: next to it, timestamped."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    base = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def restore(db_path: Path, source: Path, *, now: datetime) -> RestoreResult:
    """Replace the database at `db_path` with the leadctl backup `source`.

    The source is identified read-only first (a non-leadctl file or a newer
    schema is refused, untouched). The current database, if any, is first
    backed up next to itself; then the source is copied into the live file
    in one write transaction, and migrated if it is from an older leadctl.
    """
    from leadctl.db import open_db

    source = Path(source)
    if not source.exists():
        raise NotFoundError(f"{source} does not exist", "Check the backup file path.")
    if source.is_dir():
        raise DatabaseError(f"{source} is a folder", "Give the backup file to restore.")
    ident = identify(source)
    if ident.is_new or not ident.is_leadctl:
        raise DatabaseError(
            f"{source} is not a leadctl database; nothing was restored",
            "Give a file made by `leadctl db backup`.",
        )
    if _same_file(source, db_path):
        raise ConflictError(
            f"{source} is the database itself", "Give a backup file, not the live database."
        )
    live = open_db(db_path, migrate=False)
    safety: Path | None = None
    try:
        live_ident = live.execute("PRAGMA application_id").fetchone()[0]
        has_data = live_ident == APPLICATION_ID
        if has_data:
            safety = safety_copy_path(db_path, now)
            tmp = _private_temp(safety.parent, safety.name)
            try:
                _copy(live, tmp)
                os.replace(tmp, safety)
            finally:
                tmp.unlink(missing_ok=True)
        src = sqlite3.connect(readonly_uri(source), uri=True, isolation_level=None)
        try:
            # Into the live file, as one write transaction: concurrent
            # leadctl processes wait (busy timeout) and then see the new data.
            src.backup(live, pages=-1)
        except sqlite3.OperationalError as exc:
            raise DatabaseError(
                f"Cannot restore into {db_path}: {exc}",
                "Stop other leadctl processes and try again.",
            ) from exc
        finally:
            src.close()
    finally:
        live.close()
    # Re-open through the normal path: WAL mode, pragmas, pending migrations.
    conn = open_db(db_path)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        leads = _count_leads(conn)
    finally:
        conn.close()
    return RestoreResult(
        str(db_path), str(source), str(safety) if safety else None, leads, version,
        ident.user_version,
    )  # fmt: skip


def _pragma(conn: sqlite3.Connection, name: str, default: Any) -> Any:
    # A damaged file may fail even these reads; the check reports, not raises.
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    except sqlite3.DatabaseError:
        return default


# The columns leadctl stores JSON in: (table, key column, column, the JSON
# type each value must be, which values read as empty). leadctl only writes
# valid JSON; a value edited by hand outside it may not be.
JSON_COLUMNS = (
    ("leads", "id", "tags", "array", "never"),
    ("leads", "id", "fields", "object", "never"),
    ("activities", "id", "data", "object", "null"),
    ("team_members", "handle", "filters", "object", "empty"),
    ("imports", "id", "options", "object", "never"),
    ("criteria", "key", "choices", "array", "empty"),
    ("models", "name", "data", "object", "never"),
    ("settings", "key", "value", None, "never"),
)
# The last: which values read as empty. "empty": NULL and '' (only Python
# reads the column, with errors.stored_json); "null": NULL only (SQL's JSON
# functions read the column and refuse ''); "never": neither.
_JSON_SHOWN = 5  # keys of bad rows named per column
# A column's elements that leadctl would not have written: tags and
# criterion choices are texts; a team filter (see team.FILTER_KEYS) is a list
# of texts or null.
_FILTERS = "'product', 'segment', 'city', 'source'"
_JSON_INNER = {
    "tags": "SELECT 1 FROM json_each({col}) WHERE type != 'text'",
    "choices": "SELECT 1 FROM json_each({col}) WHERE type != 'text'",
    "filters": (
        "SELECT 1 FROM json_each({col}) AS f WHERE f.key IN (" + _FILTERS + ")"
        " AND (f.type NOT IN ('array', 'null')"
        " OR EXISTS (SELECT 1 FROM json_each(f.value) WHERE type != 'text'))"
    ),
}


def _bad_json(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Each JSON column holding values that are not valid JSON of its type
    (tags: an array of texts): how many rows and the keys of the first."""
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:  # a damaged file: integrity_check says so
        return []
    found = []
    for table, key, column, kind, empty in JSON_COLUMNS:
        if table not in tables:
            continue
        bad = f"NOT json_valid({column})"
        if kind is not None:
            bad = f"CASE WHEN json_valid({column}) THEN json_type({column}) IS NOT '{kind}' ELSE 1 END"
        inner = _JSON_INNER.get(column)  # what each element must be
        if inner:
            bad = (
                f"CASE WHEN {bad} THEN 1 ELSE EXISTS ({inner.format(col=f'{table}.{column}')}) END"
            )
        if empty == "empty":
            where = f"{column} IS NOT NULL AND {column} != '' AND ({bad})"
        elif empty == "null":
            where = f"{column} IS NOT NULL AND ({bad})"
        else:
            where = f"{column} IS NULL OR ({bad})"
        sql = f"SELECT {key} FROM {table} WHERE {where} ORDER BY {key}"
        try:
            keys = [r[0] for r in conn.execute(sql)]
        except sqlite3.DatabaseError:  # a damaged file (integrity_check says so), an old schema
            continue
        if keys:
            found.append({"table": table, "column": column, "key": key, "rows": len(keys),
                          "first": keys[:_JSON_SHOWN]})  # fmt: skip
    return found


def check(db_path: Path) -> CheckResult:
    """Integrity, foreign keys, identity and schema version of the database.

    Opened without migrating, so the report describes the file as it is.
    """
    if not db_path.exists():
        raise NotFoundError(
            f"There is no database at {db_path}", "Check --db / LEADCTL_DB, or run `leadctl add`."
        )
    ident = identify(db_path)
    conn = connect(db_path)
    try:
        problems: list[str] = []
        notes: list[str] = []
        try:
            integrity = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:
            integrity = [str(exc)]
        if integrity != ["ok"]:
            problems.append(f"integrity_check reported {len(integrity)} problem(s)")
        try:
            fk = [
                {"table": r[0], "rowid": r[1], "parent": r[2], "fkid": r[3]}
                for r in conn.execute("PRAGMA foreign_key_check")
            ]
        except sqlite3.DatabaseError as exc:
            fk = [{"table": None, "rowid": None, "parent": None, "fkid": None, "error": str(exc)}]
        if fk:
            problems.append(f"{len(fk)} row(s) point at rows that do not exist (foreign keys)")
        bad_json = _bad_json(conn)
        for bad in bad_json:
            keys = ", ".join(map(str, bad["first"])) + (
                ", ..." if bad["rows"] > _JSON_SHOWN else ""
            )
            problems.append(
                f"{bad['table']}.{bad['column']} is not valid JSON in {bad['rows']} row(s)"
                f" ({bad['key']} {keys})"
            )
        if ident.is_new or not ident.is_leadctl:
            problems.append("the file is not marked as a leadctl database (application_id)")
        if ident.user_version < SCHEMA_VERSION:
            notes.append(
                f"schema {ident.user_version} is older than {SCHEMA_VERSION}; "
                "the next leadctl command will migrate it"
            )
        try:
            applied = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM _sqlite_migrations WHERE migration_set = 'leadctl'"
                    " ORDER BY id"
                )
            ]
        except sqlite3.DatabaseError:
            applied = []
        version = ident.user_version
        if version >= DEFERRED_INDEXES:
            # A big import dropped indexes it rebuilds at its end (db.defer_indexes).
            version -= DEFERRED_INDEXES
            notes.append(
                "an import (running or interrupted) deferred some indexes; "
                "the next leadctl command rebuilds them"
            )
        if ident.is_leadctl and len(applied) != version:
            problems.append(
                f"{len(applied)} migration(s) recorded but the schema version is {version}"
            )
        return CheckResult(
            path=str(db_path),
            application_id=ident.application_id,
            schema_version=ident.user_version,
            expected_schema_version=SCHEMA_VERSION,
            migrations_applied=applied,
            journal_mode=str(_pragma(conn, "journal_mode", "?")),
            page_size=int(_pragma(conn, "page_size", 0)),
            pages=int(_pragma(conn, "page_count", 0)),
            integrity=integrity,
            foreign_key_violations=fk,
            bad_json=bad_json,
            problems=problems,
            notes=notes,
        )
    finally:
        conn.close()
