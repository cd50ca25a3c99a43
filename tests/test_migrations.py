"""Migrate on open: fresh, upgrade from the previous schema, refuse too-new and foreign files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from leadctl import db
from leadctl.errors import DatabaseError, NotFoundError
from leadctl.migrations import migrations


def test_schema_version_matches_the_migrations() -> None:
    assert len(migrations._migrations) == db.SCHEMA_VERSION


def test_fresh_database(tmp_path: Path) -> None:
    conn = db.open_db(tmp_path / "new.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == db.APPLICATION_ID
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == [m.name for m in migrations._migrations]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_upgrade_from_the_first_migration(tmp_path: Path) -> None:
    """A database made when only 0001 existed gets the later migrations, keeping its data."""
    from sqlite_utils import Database

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    first = migrations._migrations[0].name
    later = [m.name for m in migrations._migrations[1:]]
    migrations.apply(Database(conn), stop_before=later[0] if later else None)
    conn.execute(f"PRAGMA application_id = {db.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO leads (name, currency, stage, created_at, updated_at, stage_entered_at)"
        " VALUES ('Old Lead', 'IDR', 'new', 'x', 'x', 'x')"
    )
    conn.close()
    upgraded = db.open_db(path)
    names = [r[0] for r in upgraded.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert names == [first, *later]
    assert upgraded.execute("SELECT name FROM leads").fetchone()[0] == "Old Lead"
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION


def test_reopen_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    db.open_db(path).close()
    before = path.read_bytes()
    db.open_db(path).close()
    assert path.read_bytes() == before


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    db.open_db(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(DatabaseError, match="made by a newer leadctl"):
        db.open_db(path)


def test_text_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("name,phone\nBudi,0812\n")
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="not an SQLite file"):
        db.open_db(path)
    assert path.read_bytes() == before


def test_other_apps_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="another application"):
        db.open_db(path)
    assert path.read_bytes() == before
    assert not Path(str(path) + "-wal").exists()


def test_missing_folder_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        db.open_db(tmp_path / "nope" / "x.db")
    with pytest.raises(DatabaseError, match="is a folder"):
        db.open_db(tmp_path)


def test_empty_file_becomes_a_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    conn = db.open_db(path)
    assert conn.execute("SELECT count(*) FROM stages").fetchone()[0] == 9


def test_work_queries_use_the_activity_indexes_without_imports(tmp_path: Path) -> None:
    """Migration 0007 leaves `import` activities out of the per-kind and
    per-person indexes: the queries over work done must still reach them."""
    from datetime import datetime, timezone

    from leadctl import owners, targets, team
    from leadctl.periods import unit_period
    from leadctl.reports.activity import activity
    from leadctl.reports.team import team as team_report

    conn = db.open_db(tmp_path / "x.db")
    sqls: list[str] = []
    conn.set_trace_callback(sqls.append)
    now = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)
    week = unit_period("week", now.date(), timezone.utc)
    activity(conn, week, now, timezone.utc)
    team_report(conn, week, now, timezone.utc)
    targets.actual(conn, "activities", week, "budi")
    team.assigned_since(conn, "budi", now)
    with pytest.raises(NotFoundError):
        owners.check_known_owner(conn, "budi")
    conn.set_trace_callback(None)
    queries = [s for s in sqls if "FROM activities" in s and "kind <> 'import'" in s]
    assert len(queries) >= 5
    for sql in queries:
        plan = " ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "idx_activities_kind_at_actor" in plan or "idx_activities_actor_at" in plan, sql
    conn.close()
