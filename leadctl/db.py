"""Open a leadctl database: identify it, set pragmas, migrate on open.

The fast path (an up-to-date database) costs one sqlite3 connect and three
pragma reads; sqlite_utils and the migrations are imported only when a
migration is pending, because `import sqlite_utils` alone costs ~150 ms and
every command a person types opens the database.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from leadctl.errors import DatabaseError

# 'LEAD' in ASCII: marks a file as a leadctl database (PRAGMA application_id),
# so another application's SQLite file is recognised and left alone.
APPLICATION_ID = 0x4C454144
# Number of migrations in leadctl.migrations; PRAGMA user_version holds how
# many a database has applied. A test keeps the two in step.
SCHEMA_VERSION = 8
# PRAGMA user_version = DEFERRED_INDEXES + version while a big import has
# dropped secondary indexes (see `defer_indexes`): any open that sees it
# rebuilds the missing indexes from the migrations and restores the version,
# so a crash between the drop and the rebuild heals on the next command.
DEFERRED_INDEXES = 1000
# A bulk load that deduplicates after storing (leadctl.importer's fastest
# path) names itself in this setting until `sweep_duplicates` has run; the
# sweep reads these indexes, rebuilt before the others.
BULK_SWEEP = "bulk_sweep"
SWEEP_INDEXES = ("idx_leads_email", "idx_leads_phone", "idx_leads_external_id")
SWEEP_INDEXES_KEYS = ("email", "phone", "external_id")
SORT_THREADS = 2
# The sweep deletes rows spread over every page of three tables and their
# indexes: with a 2 MiB cache (what index rebuilds use) each delete re-reads
# its pages (measured on 1M leads, 44k duplicates: deletes 2.6 s -> 1.0 s
# with 20 MiB, the cache size of the load itself, so no new memory peak).
SWEEP_CACHE_KIB = 20_480
BUSY_TIMEOUT_MS = 30_000
SQLITE_HEADER = b"SQLite format 3\x00"


def _refuse(path: Path, why: str, hint: str) -> DatabaseError:
    return DatabaseError(f"{path} {why}", hint)


_DB_HINT = "Check the --db path or LEADCTL_DB."


def _check_file(path: Path, hint: str = _DB_HINT) -> bool:
    """Return True if `path` is a new (missing or empty) file; refuse non-SQLite files."""
    if path.is_dir():
        raise _refuse(path, "is a folder, not a database file", "Pass a file path with --db.")
    if not path.exists():
        if not path.parent.exists():
            raise DatabaseError(
                f"The folder {path.parent} does not exist",
                "Create it first or pass another --db path.",
            )
        return True
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseError(f"Cannot read {path}: {exc.strerror}") from exc
    if not header:
        return True
    if header != SQLITE_HEADER:
        raise _refuse(
            path,
            "is not a leadctl database (it is not an SQLite file); it was not changed",
            hint,
        )
    return False


def _create_private(path: Path) -> None:
    # Customer lists are personal data: the file is readable by its owner only.
    # SQLite gives the -wal and -shm files the same mode as the database.
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseError(
            f"Cannot create the database {path}: {exc.strerror}",
            "Check that the folder exists and is writable.",
        ) from exc
    os.close(fd)


def connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are explicit (see `transaction`), so a
    # batch is exactly one BEGIN IMMEDIATE ... COMMIT and nothing commits early.
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


class Identity(NamedTuple):
    """What a file is, as far as leadctl cares (see `identify`)."""

    path: Path
    is_new: bool
    application_id: int
    user_version: int

    @property
    def is_leadctl(self) -> bool:
        return self.application_id == APPLICATION_ID


def _classify(conn: sqlite3.Connection, path: Path, hint: str = _DB_HINT) -> tuple[int, int]:
    """(application_id, user_version) of an open file; refuse another
    application's database and one made by a newer leadctl."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    schema = version - DEFERRED_INDEXES if version >= DEFERRED_INDEXES else version
    if app_id != APPLICATION_ID:
        has_tables = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchone()[0]
        if has_tables:
            raise _refuse(
                path,
                "is an SQLite database of another application, not leadctl; it was not changed",
                hint,
            )
    elif schema > SCHEMA_VERSION:
        raise _refuse(
            path,
            f"was made by a newer leadctl (schema {schema}, this leadctl knows {SCHEMA_VERSION})",
            "Upgrade leadctl (pip install -U leadctl) to use it.",
        )
    return int(app_id), int(version)


def readonly_uri(path: Path) -> str:
    """A URI that opens `path` without creating or changing any file.

    A WAL-mode file opened plainly read-only still gets a -wal and -shm
    created beside it (and left there). With no -wal present the file alone
    is the whole database, so it is opened `immutable`; with a -wal present
    (another process has it open) it is opened read-only, and SQLite merges
    the log without writing.
    """
    from urllib.parse import quote

    path = path.resolve()
    wal = path.with_name(path.name + "-wal")
    flag = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    return f"file:{quote(str(path))}?{flag}"


def identify(path: Path | str) -> Identity:
    """Identify `path` without writing a byte (opened read-only).

    Raises DatabaseError, as `open_db` would, for a folder, a missing folder, a
    non-SQLite file, another application's SQLite file and a newer schema.
    A missing or empty file is reported as new (`is_new`, application id 0).
    """
    path = Path(path)
    hint = "Check the file path."
    if _check_file(path, hint):
        return Identity(path, True, 0, 0)
    try:
        conn = sqlite3.connect(
            readonly_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        try:
            app_id, version = _classify(conn, path, hint)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise _refuse(path, f"cannot be opened as a database ({exc})", hint) from exc
    return Identity(path, False, app_id, version)


def _connect_readonly(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        readonly_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _connect_classified(
    path: Path, opener: Callable[[Path], sqlite3.Connection]
) -> tuple[sqlite3.Connection, int, int]:
    conn = opener(path)
    try:
        app_id, version = _classify(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn, app_id, version


def open_db(path: Path | str, *, migrate: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) the leadctl database at `path`.

    Refuses, without writing a byte, a file that is not SQLite, an SQLite file
    of another application, and a database made by a newer leadctl.
    """
    path = Path(path)
    is_new = _check_file(path)
    if is_new:
        _create_private(path)
    try:
        try:
            conn, app_id, version = _connect_classified(path, connect)
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if is_new or not ("readonly" in text or "unable to open" in text):
                raise
            # A WAL database in a read-only folder: SQLite cannot create the
            # -wal/-shm files it needs. With no -wal present the file alone is
            # the whole database and nobody can be writing it, so open it
            # read-only: reading and backups work, writes fail clearly.
            conn, app_id, version = _connect_classified(path, _connect_readonly)
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "readonly" in text or "unable to open" in text:
            raise DatabaseError(
                f"Cannot open {path} ({text})",
                "Check that the file and its folder are writable.",
            ) from exc
        if "locked" in text or "busy" in text:
            # Another program holds it exclusively (past the busy timeout).
            raise DatabaseError(
                f"The database {path} is busy (another program is using it)",
                "Try again in a moment.",
            ) from exc
        raise _refuse(path, f"cannot be opened as a database ({exc})", _DB_HINT) from exc
    except sqlite3.DatabaseError as exc:
        raise _refuse(path, f"cannot be opened as a database ({exc})", _DB_HINT) from exc
    _set_pragmas(conn)
    if migrate and (app_id != APPLICATION_ID or version != SCHEMA_VERSION):
        if app_id == APPLICATION_ID and version == DEFERRED_INDEXES + SCHEMA_VERSION:
            _heal(conn, path)
        else:
            _migrate(conn, path)
    return conn


def _heal(conn: sqlite3.Connection, path: Path) -> None:
    """Rebuild the indexes a big import deferred, if nobody is writing now.

    While the import runs it holds the write lock almost all the time: then
    this open does not wait for it (the database answers every query without
    those indexes, only slower) and the import rebuilds them at its end.
    With nobody writing (the import crashed or was killed) the lock is free
    and this open heals the database.
    """
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        _migrate(conn, path)
    except DatabaseError as exc:
        if not isinstance(exc.__cause__, sqlite3.OperationalError) or "locked" not in str(
            exc.__cause__
        ):
            raise
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _set_pragmas(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        # WAL lets cron read while a person writes, and a writer never blocks
        # readers; NORMAL sync is durable at every checkpoint in WAL mode.
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            # Leaving a rollback journal needs the file to itself. A big
            # import runs with one (importer._rollback_journal) and switches
            # back at its end: meanwhile this open reads beside it, waiting
            # only while a batch writes, instead of the whole import.
            conn.execute("PRAGMA busy_timeout = 0")
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            finally:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if mode == "wal":
            conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.OperationalError:
        # A read-only file or folder: reading still works; a write will fail
        # later with a clear message from the CLI's error translation.
        pass


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    from sqlite_utils import Database

    from leadctl.migrations import migrations

    # Off while migrating or healing (it only changes outside a transaction):
    # a bulk load's duplicate sweep deletes rows that nothing else refers to,
    # and checking every delete against unindexed child columns would scan.
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        # One writer migrates; a second process opening at the same time waits
        # on the lock and then finds nothing pending.
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= DEFERRED_INDEXES:
                version -= DEFERRED_INDEXES
                _rebuild(conn, version)
            if version < SCHEMA_VERSION:
                migrations.apply(Database(conn))
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as exc:
        raise DatabaseError(
            f"Cannot update the database {path}: {exc}",
            "Check that the file and its folder are writable.",
        ) from exc
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


def schema_indexes(version: int = SCHEMA_VERSION) -> dict[str, tuple[str, str]]:
    """{index name: (table, CREATE INDEX sql)} of the schema the first `version`
    migrations build: the migrations stay the one source of truth."""
    from sqlite_utils import Database

    from leadctl.migrations import migrations

    names = [m.name for m in migrations._migrations]
    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrations.apply(Database(mem), stop_before=names[version:])
        rows = mem.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
    finally:
        mem.close()
    return {name: (table, sql) for name, table, sql in rows}


def _create_indexes(conn: sqlite3.Connection, indexes: dict[str, tuple[str, str]]) -> list[str]:
    """CREATE the indexes of `indexes` that the database lacks (their tables exist)."""
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    made = []
    # The sorter of CREATE INDEX may use a helper thread (measured on 1M
    # leads: 13 indexes in 7 s instead of 11 s).
    threads = conn.execute("PRAGMA threads").fetchone()[0]
    conn.execute(f"PRAGMA threads = {SORT_THREADS}")
    try:
        for name, (table, sql) in indexes.items():
            if name not in have and table in tables:
                conn.execute(sql)
                made.append(name)
    finally:
        conn.execute(f"PRAGMA threads = {int(threads)}")
    return made


def _rebuild(conn: sqlite3.Connection, version: int) -> list[str]:
    """Rebuild the deferred indexes of a `version` schema and clear the mark;
    between the duplicate-key indexes and the others, `sweep_duplicates`."""
    indexes = schema_indexes(version)
    made = _create_indexes(conn, {n: v for n, v in indexes.items() if n in SWEEP_INDEXES})
    sweep_duplicates(conn, remember=True)  # its import may resume on the row path
    made += _create_indexes(conn, indexes)
    conn.execute(f"PRAGMA user_version = {version}")
    return made


def sweep_duplicates(
    conn: sqlite3.Connection, *, staged: bool = False, remember: bool = False
) -> int:
    """Finish a bulk load that stored rows before deduplicating them.

    The `bulk_sweep` setting ({"import_id", "first_id", "keys"}) names the
    import: each of its leads (id >= first_id) that shares a key with a lead
    of smaller id is a duplicate, and is deleted with its activities and stage
    and score history; the import's counts move from inserted to skipped.
    With foreign keys off and the SWEEP_INDEXES built (each key is read in
    index order). Returns how many leads were deleted.

    In one transaction (the caller's, or its own). `staged` (outside any
    transaction) commits the history tables' deletes one by one first, so a
    `Checkpointer` copies one table's pages into the file while the next is
    swept; the leads, the counts and the setting then go in one last
    transaction. A crash in between only leaves history rows of leads that
    are about to go: the next sweep finds the same leads and finishes.

    `remember` (a sweep that heals a bulk load cut short, which may resume
    on the row path): the keys of the deleted leads go to import_keys, each
    to the earliest kept lead sharing a key with its lead, as the row path
    keeps the keys of the rows it matched.
    """
    found = None
    if staged and not conn.in_transaction:
        with transaction(conn):
            found = _find_swept(conn)
        if found is None:
            return 0
        for table in _SWEPT_TABLES[:-1]:
            with transaction(conn), _sweep_cache(conn):
                if _pending_sweep(conn) != found:
                    break  # swept meanwhile: temp.sweep_ids may name reused ids
                _own_only(conn, int(found["import_id"]))
                _delete_swept(conn, table)
    with transaction(conn):
        if found is None or _pending_sweep(conn) != found:
            found = _find_swept(conn)  # not staged, or another process swept meanwhile
            if found is None:
                conn.execute("DROP TABLE IF EXISTS temp.sweep_ids")
                return 0
        else:
            _own_only(conn, int(found["import_id"]))  # an id freed and reused meanwhile
        with _sweep_cache(conn):
            if remember:
                _remember_swept(conn, int(found["import_id"]), list(found["keys"]))
            for table in _SWEPT_TABLES:
                swept = _delete_swept(conn, table)
        if swept:
            conn.execute(
                "UPDATE imports SET inserted = inserted - ?, skipped = skipped + ? WHERE id = ?",
                (swept, swept, int(found["import_id"])),
            )
        conn.execute("DROP TABLE temp.sweep_ids")
        conn.execute("DELETE FROM settings WHERE key = ?", (BULK_SWEEP,))
    return swept


# The history tables first, the leads last (their deleted count is the result).
_SWEPT_TABLES = ("stage_history", "activities", "score_history", "leads")


def _remember_swept(conn: sqlite3.Connection, import_id: int, keys: list[str]) -> None:
    """Keep the keys of the leads in temp.sweep_ids for the import's resumed
    run (see sweep_duplicates): each goes to the earliest kept lead that
    shares one of its lead's keys (a lead whose every such lead is swept too
    leaves its keys to those leads' entries)."""
    keys = [k for k in keys if k in SWEEP_INDEXES_KEYS]
    have = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'import_keys'").fetchone()
    if not keys or have is None:  # (an older schema healing before it migrates)
        return
    near = " UNION ALL ".join(
        f"SELECT s.id AS id, o.id AS kept FROM temp.sweep_ids AS s"
        f" JOIN leads AS l ON l.id = s.id JOIN leads AS o ON o.{k} = l.{k}"
        f" WHERE o.id NOT IN (SELECT id FROM temp.sweep_ids)"
        for k in keys
    )
    for k in keys:
        conn.execute(
            f"INSERT OR IGNORE INTO import_keys (import_id, key, value, lead_id)"
            f" SELECT ?, '{k}', l.{k}, t.kept FROM"
            f" (SELECT id, min(kept) AS kept FROM ({near}) GROUP BY id) AS t"
            f" JOIN leads AS l ON l.id = t.id WHERE l.{k} IS NOT NULL ORDER BY t.id",
            (import_id,),
        )


def _pending_sweep(conn: sqlite3.Connection) -> dict[str, Any] | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (BULK_SWEEP,)).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def _find_swept(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """Fill temp.sweep_ids with the duplicate leads of the pending sweep; its
    setting, or None when no sweep is pending."""
    sweep = _pending_sweep(conn)
    if sweep is None:
        return None
    import_id, first = int(sweep["import_id"]), int(sweep["first_id"])
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS sweep_ids (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.sweep_ids")
    for key in sweep["keys"]:
        if key not in ("email", "phone", "external_id"):
            continue
        # The repeated keys (a pass over the key's index), then their later leads.
        conn.execute(
            "INSERT OR IGNORE INTO temp.sweep_ids SELECT l.id FROM"
            f" (SELECT {key} AS value, min(id) AS earliest FROM leads WHERE {key} IS NOT NULL"
            f" GROUP BY {key} HAVING count(*) > 1) AS d JOIN leads AS l ON l.{key} = d.value"
            " WHERE l.id > d.earliest AND l.id >= ?",
            (first,),
        )
    # Only the import's own leads: another writer's lead between two batches stays.
    _own_only(conn, import_id)
    return sweep


def _own_only(conn: sqlite3.Connection, import_id: int) -> None:
    conn.execute(
        "DELETE FROM temp.sweep_ids WHERE"
        " (SELECT import_id FROM leads WHERE leads.id = sweep_ids.id) IS NOT ?",
        (import_id,),
    )


def _delete_swept(conn: sqlite3.Connection, table: str) -> int:
    """Delete the rows of the leads in temp.sweep_ids from `table`; how many."""
    column = "id" if table == "leads" else "lead_id"
    return conn.execute(
        f"DELETE FROM {table} WHERE {column} IN (SELECT id FROM temp.sweep_ids)"
    ).rowcount


@contextmanager
def _sweep_cache(conn: sqlite3.Connection) -> Iterator[None]:
    """The swept rows are the import's own, minutes old: no need to zero
    their bytes (this build of SQLite has secure_delete on by default); and a
    cache of SWEEP_CACHE_KIB at least."""
    secure = conn.execute("PRAGMA secure_delete").fetchone()[0]
    cache = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    conn.execute("PRAGMA secure_delete = OFF")
    if -SWEEP_CACHE_KIB < cache < 0:
        conn.execute(f"PRAGMA cache_size = -{SWEEP_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(secure)}")
        conn.execute(f"PRAGMA cache_size = {cache}")


def defer_indexes(
    conn: sqlite3.Connection, keep: tuple[str, ...], tables: tuple[str, ...]
) -> list[str]:
    """Drop the secondary indexes of `tables` not named in `keep` nor UNIQUE, and
    mark the database (user_version) so that any open rebuilds them.

    Call inside a transaction: the drop and the mark commit together.
    `restore_indexes` rebuilds them (an index is built by sorting: far
    cheaper than updating it row by row during a big load).
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version != SCHEMA_VERSION:
        return []
    # Only indexes the migrations define: those are what a heal rebuilds (an
    # index someone added by hand is left alone).
    ours = schema_indexes(version)
    marks = ", ".join("?" for _ in tables)
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        f" AND tbl_name IN ({marks}) ORDER BY name",
        tables,
    ).fetchall()
    dropped = []
    for name, sql in rows:
        if name in keep or name not in ours or sql.lstrip().upper().startswith("CREATE UNIQUE"):
            continue
        conn.execute(f'DROP INDEX "{name}"')
        dropped.append(name)
    if dropped:
        conn.execute(f"PRAGMA user_version = {DEFERRED_INDEXES + version}")
    return dropped


def restore_indexes(conn: sqlite3.Connection) -> list[str]:
    """Rebuild what `defer_indexes` dropped and clear the mark.

    Step by step, each step its own transaction (inside an outer transaction
    they all join it): the duplicate-key indexes, the sweep (a few steps of
    its own), then one index at a time, then the mark. So a `Checkpointer` copies one index's
    pages into the file while the next is sorted. A crash in between leaves
    the mark: the next open builds whatever is missing. A no-op when the
    database is not marked (e.g. another process's open healed it).
    """

    def marked() -> int | None:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        return version - DEFERRED_INDEXES if version >= DEFERRED_INDEXES else None

    with transaction(conn):
        version = marked()
        if version is None:
            return []
        indexes = schema_indexes(version)
        made = _create_indexes(conn, {n: v for n, v in indexes.items() if n in SWEEP_INDEXES})
    sweep_duplicates(conn, staged=True)
    for name, spec in indexes.items():
        with transaction(conn):
            if marked() != version:
                return made  # healed meanwhile by another process's open
            made += _create_indexes(conn, {name: spec})
    with transaction(conn):
        if marked() == version:
            conn.execute(f"PRAGMA user_version = {version}")
    return made


class Checkpointer:
    """Copies committed WAL pages into the database file from a thread of its
    own (PRAGMA wal_checkpoint(PASSIVE) every `every` seconds, on a second
    connection) while a big import goes on writing (one that keeps the WAL:
    see importer._rollback_journal).

    Without it the writer copies them itself inside a COMMIT, each time the
    WAL passes wal_autocheckpoint and once more after the last index: ~1.5 s
    at the end of a 1M-row import with nothing else running. sqlite3
    releases the GIL while SQLite works, so the copying overlaps the writer's
    own work. A passive checkpoint never blocks the writer nor waits for it;
    an error just ends the copying (the writer's own checkpoints remain).
    """

    def __init__(self, conn: sqlite3.Connection, every: float = 0.5) -> None:
        import threading

        row = conn.execute("PRAGMA database_list").fetchone()
        self.path = str(row[2]) if row is not None else ""
        self.every = every
        self.copies = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadctl-checkpoint", daemon=True)

    def start(self) -> None:
        if self.path:  # "" for an in-memory or temporary database
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            uri = Path(self.path).resolve().as_uri() + "?mode=rw"
            copier = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            copier.execute("PRAGMA busy_timeout = 0")
            copier.execute("PRAGMA synchronous = NORMAL")
            while not self._stop.wait(self.every):
                copier.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.copies += 1
        except sqlite3.Error:
            pass
        finally:
            copier.close()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic write: BEGIN IMMEDIATE takes the write lock up front, so a
    concurrent writer waits (busy timeout) instead of failing half-way."""
    if conn.in_transaction:
        # Nested use joins the outer transaction; the outermost one commits.
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def get_setting(conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    if row is None:
        return default
    value = json.loads(row[0])
    return default if value is None else value


# The largest id ever given in a table, kept when a delete removes the
# largest row: SQLite would hand that id to the next row, and scripts,
# exports, notes and calendars that name lead 7 or follow-up 3 would then
# name another. Deleting a lead (and with it its follow-ups) keeps them.
_IDS_USED = {"leads": "last_lead_id", "followups": "last_followup_id"}


def next_id(conn: sqlite3.Connection, table: str) -> int:
    """The id the next new row of `table` (leads or followups) takes: past
    every row there is or was."""
    top = int(conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])
    return max(top, int(get_setting(conn, _IDS_USED[table], 0))) + 1


def keep_ids(conn: sqlite3.Connection) -> None:
    """Before deleting leads: remember the largest ids given so far."""
    for table, key in _IDS_USED.items():
        set_setting(conn, key, next_id(conn, table) - 1)


def set_setting(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value)),
    )
