"""leadctl db backup / restore / check, and db.identify."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from leadctl import maintenance
from leadctl.db import APPLICATION_ID, SCHEMA_VERSION, identify, open_db
from leadctl.errors import DatabaseError


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def two_leads(cli) -> None:
    cli("add", "Budi", "--phone", "0812-3456-7890")
    cli("add", "Ani", "--email", "ani@example.com")


def test_backup_is_private_single_file_and_complete(cli, tmp_path, two_leads) -> None:
    old = os.umask(0)  # even a permissive umask must not open the backup up
    try:
        out = cli.json("db", "backup", str(tmp_path / "b.db"))
    finally:
        os.umask(old)
    target = tmp_path / "b.db"
    assert out["leads"] == 2 and out["schema_version"] == SCHEMA_VERSION
    assert out["bytes"] == target.stat().st_size
    assert mode(target) == 0o600
    # One self-contained file: rollback journal, no -wal left beside it.
    assert not (tmp_path / "b.db-wal").exists()
    c = sqlite3.connect(target)
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert c.execute("SELECT name FROM leads ORDER BY id").fetchall() == [("Budi",), ("Ani",)]
    c.close()
    ident = identify(target)
    assert ident.is_leadctl and ident.user_version == SCHEMA_VERSION
    # No temporary file left behind.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_backup_refuses_to_overwrite_without_force(cli, tmp_path, two_leads) -> None:
    target = tmp_path / "b.db"
    target.write_bytes(b"precious")
    r = cli("db", "backup", str(target), ok=False)
    assert r.exit_code == 1
    assert "already exists" in one_error_line(r.stderr)
    assert target.read_bytes() == b"precious"
    cli("db", "backup", str(target), "--force")
    assert identify(target).is_leadctl
    assert mode(target) == 0o600


def test_backup_refuses_the_live_database_and_bad_targets(
    cli, tmp_path, db_path, two_leads
) -> None:
    before = db_path.read_bytes()
    r = cli("db", "backup", str(db_path), "--force", ok=False)
    assert r.exit_code == 1 and "database itself" in one_error_line(r.stderr)
    assert db_path.read_bytes() == before
    r = cli("db", "backup", str(tmp_path / "nope" / "b.db"), ok=False)
    assert r.exit_code == 1 and "does not exist" in one_error_line(r.stderr)
    r = cli("db", "backup", str(tmp_path), ok=False)
    assert r.exit_code == 1 and "folder" in one_error_line(r.stderr)


def test_restore_round_trip_keeps_a_safety_copy(cli, tmp_path, db_path, two_leads) -> None:
    backup = tmp_path / "b.db"
    cli("db", "backup", str(backup))
    cli("add", "Citra", "--email", "citra@example.com")
    cli("delete", "1", "--yes")
    out = cli.json("db", "restore", str(backup), "--yes")
    assert out["leads"] == 2 and out["migrated_from"] == SCHEMA_VERSION
    names = [lead["name"] for lead in cli.json("list")]
    assert names == ["Budi", "Ani"]
    safety = Path(out["safety_copy"])
    assert safety.parent == db_path.parent and mode(safety) == 0o600
    c = sqlite3.connect(safety)
    assert [r[0] for r in c.execute("SELECT name FROM leads ORDER BY id")] == ["Ani", "Citra"]
    c.close()
    # The restored database is a normal live database again.
    assert cli.json("db", "check")["ok"] is True
    assert mode(db_path) == 0o600
    # A second restore in the same second gets its own safety copy.
    out2 = cli.json("db", "restore", str(backup), "--yes")
    assert out2["safety_copy"] != out["safety_copy"]


def test_restore_is_seen_by_an_open_connection(cli, tmp_path, db_path, two_leads) -> None:
    backup = tmp_path / "b.db"
    cli("db", "backup", str(backup))
    other = open_db(db_path)
    assert other.execute("SELECT count(*) FROM leads").fetchone()[0] == 2
    cli("add", "Citra", "--email", "citra@example.com")
    assert other.execute("SELECT count(*) FROM leads").fetchone()[0] == 3
    cli("db", "restore", str(backup), "--yes")
    assert other.execute("SELECT count(*) FROM leads").fetchone()[0] == 2
    other.close()


def test_restore_into_a_missing_database(cli, tmp_path, two_leads) -> None:
    backup = tmp_path / "b.db"
    cli("db", "backup", str(backup))
    fresh = tmp_path / "fresh.db"
    out = cli.json("--db", str(fresh), "db", "restore", str(backup), "--yes")
    assert out["safety_copy"] is None and out["leads"] == 2
    assert mode(fresh) == 0o600


def test_restore_migrates_an_older_backup(cli, tmp_path, two_leads) -> None:
    backup = tmp_path / "b.db"
    cli("db", "backup", str(backup))
    c = sqlite3.connect(backup)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    c.close()
    out = cli.json("db", "restore", str(backup), "--yes")
    assert out["migrated_from"] == SCHEMA_VERSION - 1
    assert out["schema_version"] == SCHEMA_VERSION


def _unrelated_sqlite(path: Path) -> bytes:
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE notes (x TEXT)")
    c.execute("INSERT INTO notes VALUES ('keep me')")
    c.commit()
    c.close()
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["text", "unrelated", "newer", "empty", "missing", "folder"])
def test_restore_refuses_what_is_not_a_leadctl_backup(cli, tmp_path, db_path, two_leads, kind):
    src = tmp_path / "src.db"
    expected_code = 1
    if kind == "text":
        src.write_text("name,email\nBudi,budi@example.com\n")
    elif kind == "unrelated":
        _unrelated_sqlite(src)
    elif kind == "newer":
        cli("db", "backup", str(src))
        c = sqlite3.connect(src)
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
        c.close()
    elif kind == "empty":
        src.write_bytes(b"")
    elif kind == "missing":
        expected_code = 3
    elif kind == "folder":
        src.mkdir()
    src_before = src.read_bytes() if src.is_file() else None
    live_before = [lead["name"] for lead in cli.json("list")]
    r = cli("db", "restore", str(src), "--yes", ok=False)
    assert r.exit_code == expected_code, r.stderr
    one_error_line(r.stderr)
    if src_before is not None:
        assert src.read_bytes() == src_before
    assert [lead["name"] for lead in cli.json("list")] == live_before
    assert not list(db_path.parent.glob("*.before-restore-*"))


def test_restore_needs_yes_when_not_interactive(cli, tmp_path, two_leads) -> None:
    backup = tmp_path / "b.db"
    cli("db", "backup", str(backup))
    cli("add", "Citra", "--email", "citra@example.com")
    r = cli("db", "restore", str(backup), ok=False, input="")
    assert r.exit_code == 2 and "--yes" in one_error_line(r.stderr)
    assert len(cli.json("list")) == 3


def test_check_ok(cli, two_leads) -> None:
    out = cli.json("db", "check")
    assert out["ok"] is True
    assert out["integrity"] == ["ok"] and out["foreign_key_violations"] == []
    assert out["application_id"] == APPLICATION_ID
    assert out["schema_version"] == out["expected_schema_version"] == SCHEMA_VERSION
    assert len(out["migrations_applied"]) == SCHEMA_VERSION
    assert out["journal_mode"] == "wal"
    r = cli("db", "check")
    assert r.exit_code == 0 and "Database OK." in r.stderr


def test_check_reports_broken_foreign_keys(cli, db_path, two_leads) -> None:
    c = sqlite3.connect(db_path)
    c.execute("PRAGMA foreign_keys = OFF")
    c.execute(
        "INSERT INTO activities (lead_id, kind, at, created_at) VALUES (999, 'note', 'x', 'x')"
    )
    c.commit()
    c.close()
    r = cli("db", "check", "--format", "json", ok=False)
    assert r.exit_code == 1
    assert "foreign keys" in one_error_line(r.stderr)
    out = r.json()
    assert out["ok"] is False
    assert out["foreign_key_violations"][0]["table"] == "activities"


def test_check_reports_a_corrupt_file(cli, db_path, two_leads) -> None:
    c = sqlite3.connect(db_path)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.execute("PRAGMA journal_mode = DELETE")
    c.close()
    data = bytearray(db_path.read_bytes())
    page = 4096
    # Scribble over every page but the header page: b-tree pages become garbage.
    for start in range(page, len(data), page):
        data[start + 8 : start + 200] = b"\xa5" * 192
    db_path.write_bytes(bytes(data))
    r = cli("db", "check", ok=False)
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert "integrity" in line or "cannot be opened" in line


def test_check_missing_database(cli, tmp_path) -> None:
    r = cli("--db", str(tmp_path / "none.db"), "db", "check", ok=False)
    assert r.exit_code == 3 and "no database" in one_error_line(r.stderr)
    assert not (tmp_path / "none.db").exists()


def test_check_old_schema_is_a_note_not_a_problem(cli, db_path, two_leads) -> None:
    c = sqlite3.connect(db_path)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    c.close()
    result = maintenance.check(db_path)
    assert result.notes and not result.ok  # recorded migrations disagree with the version
    c = sqlite3.connect(db_path)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    c.close()
    assert maintenance.check(db_path).ok


def test_identify_never_writes(tmp_path) -> None:
    unrelated = tmp_path / "other.db"
    before = _unrelated_sqlite(unrelated)
    with pytest.raises(DatabaseError, match="another application"):
        identify(unrelated)
    assert unrelated.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]
    new = identify(tmp_path / "new.db")
    assert new.is_new and not new.is_leadctl
    assert not (tmp_path / "new.db").exists()


def test_restore_a_backup_from_the_first_schema(cli, tmp_path) -> None:
    """A backup made by the first leadctl (schema 2): restored and migrated."""
    from sqlite_utils import Database

    from leadctl.migrations import migrations

    old = tmp_path / "old.db"
    conn = sqlite3.connect(old, isolation_level=None)
    names = [m.name for m in migrations._migrations]
    migrations.apply(Database(conn), stop_before=names[2])
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO leads (name, currency, stage, created_at, updated_at, stage_entered_at)"
        " VALUES ('Lama', 'IDR', 'new', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z',"
        " '2025-01-01T00:00:00Z')"
    )
    conn.close()
    out = cli.json("db", "restore", str(old), "--yes")
    assert out["migrated_from"] == 2 and out["schema_version"] == SCHEMA_VERSION
    check = cli.json("db", "check")
    assert check["ok"] and check["migrations_applied"] == names
    assert [lead["name"] for lead in cli.json("list")] == ["Lama"]
    cli("add", "Baru", "--email", "baru@example.com")  # and it is fully usable


def bad_json_columns(cli) -> list[tuple[str, str]]:
    """(table, column) of each JSON problem `db check` reports (it exits 1)."""
    bad = cli("db", "check", "--format", "json", ok=False).json()["bad_json"]
    return [(b["table"], b["column"]) for b in bad]


def _scribble(db_path: Path, sql: str) -> None:
    """Change the database behind leadctl's back, as a hand edit in sqlite3 would."""
    c = sqlite3.connect(db_path)
    c.execute(sql)
    c.commit()
    c.close()


def test_check_reports_json_values_changed_by_hand(cli, db_path, two_leads) -> None:
    assert cli.json("db", "check")["bad_json"] == []
    _scribble(db_path, "UPDATE leads SET tags = '[vip' WHERE id = 1")
    _scribble(db_path, "UPDATE leads SET fields = '[1]' WHERE id = 2")  # valid, not an object
    _scribble(db_path, "UPDATE activities SET data = '{' WHERE lead_id = 2")
    r = cli("db", "check", "--format", "json", ok=False)
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert "leads.tags is not valid JSON in 1 row(s) (id 1)" in line
    assert "leads.fields is not valid JSON in 1 row(s) (id 2)" in line
    assert "valid JSON" in line and "db restore" in line
    bad = {(b["table"], b["column"]): (b["rows"], b["first"]) for b in r.json()["bad_json"]}
    acts = sqlite3.connect(db_path).execute("SELECT id FROM activities WHERE lead_id = 2")
    act_ids = [row[0] for row in acts]
    assert bad == {
        ("leads", "tags"): (1, [1]),
        ("leads", "fields"): (1, [2]),
        ("activities", "data"): (len(act_ids), act_ids),
    }
    # A tag list holding a number is not one leadctl writes either.
    _scribble(db_path, "UPDATE leads SET tags = '[\"vip\", 5]' WHERE id = 1")
    _scribble(db_path, "UPDATE leads SET fields = '{}' WHERE id = 2")
    _scribble(db_path, "UPDATE activities SET data = NULL")
    bad = cli("db", "check", "--format", "json", ok=False).json()["bad_json"]
    assert [(b["table"], b["column"], b["first"]) for b in bad] == [("leads", "tags", [1])]
    _scribble(db_path, "UPDATE leads SET tags = '[\"vip\"]' WHERE id = 1")
    assert cli.json("db", "check")["ok"] is True
    _scribble(db_path, "UPDATE criteria SET choices = 'small' WHERE key = 'budget'")
    bad = cli("db", "check", "--format", "json", ok=False).json()["bad_json"]
    assert [(b["table"], b["column"], b["key"], b["first"]) for b in bad] == [
        ("criteria", "choices", "key", ["budget"])
    ]


@pytest.mark.parametrize("value", ["tags = '[vip', fields = '{x'", "fields = '[1]'", "tags = '{}'"])
@pytest.mark.parametrize(
    "args",
    [("show", "1"), ("score", "1"), ("score", "--all"), ("list", "--tag", "vip"),
     ("edit", "1", "--tag", "x"), ("export", "--format", "csv")],
)  # fmt: skip
def test_invalid_json_in_a_lead_is_one_clear_error(cli, db_path, two_leads, args, value) -> None:
    """Not 'internal error', and not 'the file is damaged' (SQLite says 'malformed
    JSON'): invalid JSON or JSON of the wrong type, as `db check` reports them."""
    if args == ("list", "--tag", "vip") and "[vip" not in value:
        args = ("list",)  # valid JSON: SQLite's json_each reads it, the lead object not
    _scribble(db_path, f"UPDATE leads SET {value} WHERE id = 1")
    if args == ("score", "--all") and value == "fields = '[1]'":
        cli(*args)  # no rule reads custom fields: `score --all` does not read them
        return
    before = sqlite3.connect(db_path).execute("SELECT * FROM leads ORDER BY id").fetchall()
    r = cli(*args, ok=False)
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert "not the JSON leadctl wrote" in line and "leadctl db check" in line, line
    assert "damaged" not in line and "internal" not in line
    assert sqlite3.connect(db_path).execute("SELECT * FROM leads ORDER BY id").fetchall() == before


def test_wrong_json_in_team_filters_and_activity_data_is_one_clear_error(cli, db_path) -> None:
    cli("team", "add", "ani")
    cli("add", "Budi", "--phone", "0812-3456-7890")
    _scribble(db_path, "UPDATE team_members SET filters = '[]'")
    _scribble(db_path, "UPDATE activities SET data = '[1]'")
    for args in (("team", "list"), ("show", "1")):
        r = cli(*args, ok=False)
        assert r.exit_code == 1, args
        assert "not the JSON leadctl wrote" in one_error_line(r.stderr)
    _scribble(db_path, 'UPDATE team_members SET filters = \'{"product": "gold"}\'')
    r = cli("team", "list", ok=False)  # a filter must be a list (it was split into letters)
    assert r.exit_code == 1 and "a team member's filters" in r.stderr
    assert bad_json_columns(cli) == [
        ("activities", "data"), ("team_members", "filters")
    ]  # fmt: skip
    # Filters are read in Python only, where '' is empty; activity data is read
    # by SQL's JSON functions too, which refuse '': `db check` flags that one.
    _scribble(db_path, "UPDATE team_members SET filters = ''")
    _scribble(db_path, "UPDATE activities SET data = ''")
    assert bad_json_columns(cli) == [("activities", "data")]
    cli("team", "list")
    _scribble(db_path, "UPDATE activities SET data = NULL")
    assert cli.json("db", "check")["ok"] is True


def test_wrong_json_met_by_an_update_import_or_in_the_model_is_one_clear_error(
    cli, db_path, tmp_path
) -> None:
    from leadctl.predict import MODEL_NAME

    cli("add", "Budi", "--email", "b@x.co")
    _scribble(db_path, "UPDATE leads SET fields = '[1]'")
    f = tmp_path / "u.csv"
    f.write_text("email,Lead Profile\nb@x.co,cold\n")
    for mode in ("update", "merge"):
        r = cli("import", str(f), "--on-duplicate", mode, ok=False)
        assert r.exit_code == 1 and "lead 1's custom fields" in one_error_line(r.stderr)
    _scribble(db_path, "UPDATE leads SET fields = '{}', tags = '[\"vip\", 5]'")
    r = cli("import", str(f), "--on-duplicate", "merge", ok=False)
    assert r.exit_code == 1 and "lead 1's tags" in one_error_line(r.stderr)
    _scribble(db_path, "UPDATE leads SET tags = '[]'")
    for data in ("[]", "{}", "{"):
        _scribble(db_path, "DELETE FROM models")
        _scribble(
            db_path,
            f"INSERT INTO models (name, trained_at, data) VALUES ('{MODEL_NAME}', 'x', '{data}')",
        )
        r = cli("score", "1", ok=False)
        assert r.exit_code == 1 and "the learned model" in one_error_line(r.stderr), data


def test_filters_and_choices_must_hold_texts(cli, db_path) -> None:
    """A filter or a choice that is not a text: one clear line from the
    commands, and `db check` names it (it was an internal TypeError)."""
    cli("team", "add", "budi", "--cities", "Jakarta")
    cli("criteria", "add", "size", "--label", "Size", "--type", "choice", "--choices", "small,big")
    cli("add", "Budi", "--phone", "0812-3456-7890")
    _scribble(db_path, "UPDATE team_members SET filters = '{\"city\": [1, 2]}'")
    _scribble(db_path, "UPDATE criteria SET choices = '[1, 2]' WHERE key = 'size'")
    for args, what in ((("team", "list"), "filters"), (("qualify", "1", "-a", "size=small"),
                                                       "choices")):  # fmt: skip
        r = cli(*args, ok=False)
        assert r.exit_code == 1 and what in one_error_line(r.stderr), args
    assert bad_json_columns(cli) == [
        ("team_members", "filters"), ("criteria", "choices")
    ]  # fmt: skip
    # Null and unknown keys are read as no filter, by both.
    _scribble(db_path, 'UPDATE team_members SET filters = \'{"city": null, "foo": 1}\'')
    _scribble(db_path, "UPDATE criteria SET choices = '[\"small\", \"big\"]' WHERE key = 'size'")
    assert cli.json("db", "check")["ok"] is True
    cli("team", "list")
