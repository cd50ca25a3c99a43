"""Disk full, read-only database or folder, file modes and privacy.

Read-only for real: tests run as root in CI, where chmod does not stop
anyone. When root, the CLI runs under `setpriv` with CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH dropped from the bounding set, so the kernel enforces the
file modes on root too; without setpriv those tests are skipped, and the
in-process tests below still drive SQLite's real read-only error through a
`mode=ro` connection. Disk full for real: `PRAGMA max_page_count` makes
SQLite report SQLITE_FULL exactly as on a full disk.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from leadctl import db as dbmod
from leadctl import leads, maintenance
from leadctl.db import open_db
from leadctl.errors import ConflictError

REAL_CONNECT = dbmod.connect


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def dump(path: Path) -> list[str]:
    """The logical content of a database (schema and rows), read without
    leaving a -wal or -shm behind."""
    c = sqlite3.connect(dbmod.readonly_uri(path), uri=True)
    try:
        return list(c.iterdump())
    finally:
        c.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def filled(cli, db_path) -> Path:
    cli("add", "Budi", "--phone", "0812-3456-7890", "--value", "15jt")
    cli("add", "Ani", "--email", "ani@example.com", "--note", "first call")
    return db_path


# ---- read-only, for real ------------------------------------------------------


def _unprivileged() -> list[str]:
    """A command prefix under which file modes bind (or skip the test)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: chmod would not bind")
    probe = subprocess.run(
        [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", "true"],
        capture_output=True,
    )
    if probe.returncode != 0:
        pytest.skip("setpriv cannot drop capabilities here")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]


def run_cli(prefix: list[str], db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEADCTL_DB": str(db)}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "leadctl", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


WRITES = [
    ["add", "Citra", "--email", "citra@example.com"],
    ["edit", "1", "--city", "Bandung"],
    ["log", "1", "--kind", "call", "--note", "no answer"],
    ["advance", "1"],
    ["settings", "set", "region", "SG"],
]


@pytest.mark.slow
def test_read_only_database_file(filled, tmp_path) -> None:
    prefix = _unprivileged()
    before = dump(filled)
    filled.chmod(0o444)
    try:
        r = run_cli(prefix, filled, "list", "--format", "json")
        assert r.returncode == 0, r.stderr  # reading still works
        assert "Budi" in r.stdout
        for args in WRITES:
            r = run_cli(prefix, filled, *args)
            assert r.returncode == 1, (args, r.stderr)
            assert "read-only" in one_error_line(r.stderr), args
    finally:
        filled.chmod(0o600)
    assert dump(filled) == before


@pytest.mark.slow
def test_read_only_folder(filled, tmp_path) -> None:
    prefix = _unprivileged()
    before = dump(filled)
    folder = filled.parent
    backup = tmp_path.parent / f"{tmp_path.name}-out.db"
    folder.chmod(0o555)
    assert sorted(p.name for p in folder.iterdir()) == [filled.name]
    try:
        for args in WRITES[:2]:
            r = run_cli(prefix, filled, *args)
            assert r.returncode == 1, (args, r.stderr)
            line = one_error_line(r.stderr)
            assert "read-only" in line or "writable" in line, line
        r = run_cli(prefix, folder / "new.db", "add", "Budi")
        assert r.returncode == 1 and "Permission denied" in one_error_line(r.stderr)
        r = run_cli(prefix, filled, "db", "backup", str(folder / "b.db"))
        assert r.returncode == 1 and "Cannot write in" in one_error_line(r.stderr)
        # Reading still works (opened read-only: nothing can be writing it).
        r = run_cli(prefix, filled, "list", "--format", "json")
        assert r.returncode == 0 and "Budi" in r.stdout, r.stderr
        # A backup to a writable place still works from a read-only folder.
        r = run_cli(prefix, filled, "db", "backup", str(backup))
        assert r.returncode == 0, r.stderr
    finally:
        folder.chmod(0o755)
    assert not (folder / "new.db").exists() and not (folder / "b.db").exists()
    assert dump(filled) == before
    assert dump(backup)[-5:] == before[-5:]
    backup.unlink()


def _patch_connect(monkeypatch, *, uri_flags: str = "", after=None) -> None:
    """Make every leadctl connection open the way a test needs."""
    real = dbmod.connect

    def connect(path):
        if uri_flags:
            conn = sqlite3.connect(
                f"file:{Path(path).resolve()}?{uri_flags}", uri=True, isolation_level=None,
                timeout=dbmod.BUSY_TIMEOUT_MS / 1000,
            )  # fmt: skip
            conn.row_factory = sqlite3.Row
        else:
            conn = real(path)
        if after:
            after(conn)
        return conn

    monkeypatch.setattr(dbmod, "connect", connect)


def test_read_only_connection_in_process(cli, filled, monkeypatch) -> None:
    """SQLite's own SQLITE_READONLY, through the CLI, as any user."""
    before = dump(filled)
    _patch_connect(monkeypatch, uri_flags="mode=ro")
    assert [lead["name"] for lead in cli.json("list")] == ["Budi", "Ani"]
    for args in WRITES:
        r = cli(*args, ok=False)
        assert r.exit_code == 1, (args, r.stderr)
        assert "read-only" in one_error_line(r.stderr), args
    monkeypatch.setattr(dbmod, "connect", REAL_CONNECT)
    assert dump(filled) == before


def test_followups_read_only_with_a_sequence_to_stop(cli, filled, monkeypatch) -> None:
    """A lead closed behind leadctl's back while enrolled: the morning listing
    would stop its sequence, but the file is read-only. The listing still
    works and does not show the step that should have stopped."""
    cli("sequence", "add", "welcome", "--step", "0d meeting : say hi")
    cli("sequence", "enroll", "1", "welcome")
    cli("sequence", "enroll", "2", "welcome")
    raw = sqlite3.connect(filled)
    raw.execute("UPDATE leads SET stage = 'lost', lost_reason = 'price' WHERE id = 1")
    raw.commit()
    raw.close()
    before = dump(filled)
    _patch_connect(monkeypatch, uri_flags="mode=ro")
    for args in (["followups", "-f", "json"], ["followups"]):
        r = cli(*args)
        assert r.exit_code == 0 and "Budi" not in r.stdout and "Ani" in r.stdout, args
    # Nothing written; the one that should stop shows as stopping, no next step.
    rows = {e["lead_id"]: e for e in cli.json("sequence", "status")}
    assert rows[1]["status"] == "stopping" and rows[1]["stop_reason"] == "lost"
    assert rows[1]["next_due"] is None and rows[1]["next_followup"] is None
    assert rows[2]["status"] == "active" and rows[2]["next_followup"] is not None
    monkeypatch.setattr(dbmod, "connect", REAL_CONNECT)
    assert dump(filled) == before
    assert [r["lead_id"] for r in cli.json("followups")] == [2]  # a writer stops it now
    status = {e["lead_id"]: e["stop_reason"] for e in cli.json("sequence", "status", "--all")}
    assert status == {1: "lost", 2: None}


# ---- disk full, for real ------------------------------------------------------


def _cap_pages(conn: sqlite3.Connection) -> None:
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def test_disk_full_through_the_cli(cli, filled, monkeypatch) -> None:
    before = dump(filled)
    _patch_connect(monkeypatch, after=_cap_pages)
    big = "catatan panjang " * 600  # ~9,600 characters: needs new pages
    for args in (
        ["add", "Citra", "--note", big],
        ["log", "1", "--kind", "note", "--note", big],
        ["edit", "1", "--field", f"notes={big}"],
    ):
        r = cli(*args, ok=False)
        assert r.exit_code == 1, (args, r.stderr)
        line = one_error_line(r.stderr)
        assert "disk is full" in line and "nothing was changed" in line, line
    monkeypatch.setattr(dbmod, "connect", REAL_CONNECT)
    assert dump(filled) == before
    # Space freed: the same write now works.
    cli("add", "Citra", "--note", big)


def test_disk_full_in_the_core_rolls_back(filled, monkeypatch) -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)
    conn = open_db(filled)
    _cap_pages(conn)
    with pytest.raises(sqlite3.OperationalError, match="full"):
        leads.add_lead(conn, {"name": "Citra", "company": "x" * 9_000}, now=now, actor="t")
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 2
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_failed_backup_leaves_nothing(cli, filled, tmp_path, monkeypatch) -> None:
    def full(src, dest_path):
        dest_path.write_bytes(b"partial")
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(maintenance, "_copy", full)
    before = sorted(p.name for p in tmp_path.iterdir())
    r = cli("db", "backup", str(tmp_path / "b.db"), ok=False)
    assert r.exit_code == 1 and "disk is full" in one_error_line(r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (sqlite3.OperationalError("database or disk is full"), "disk is full"),
        (OSError(errno.ENOSPC, "No space left on device"), "disk is full"),
        (sqlite3.OperationalError("database is locked"), "busy"),
        (sqlite3.OperationalError("unable to open database file"), "writable"),
        (sqlite3.DatabaseError("database disk image is malformed"), "damaged"),
        (OSError(errno.EACCES, "Permission denied", "/x/leads.db"), "Permission denied"),
    ],
)
def test_error_translation(cli, filled, monkeypatch, exc, expected) -> None:
    def boom(*a, **k):
        raise exc

    monkeypatch.setattr(leads, "add_lead", boom)
    r = cli("add", "Citra", ok=False)
    assert r.exit_code == 1
    assert expected in one_error_line(r.stderr)


# ---- file modes ---------------------------------------------------------------


def test_database_and_its_journal_are_private(cli, tmp_path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "fresh.db"
        cli("--db", str(path), "add", "Budi")
        assert mode(path) == 0o600
        conn = open_db(path)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE leads SET name = 'x'")
        for side in ("-wal", "-shm"):
            assert mode(path.with_name(path.name + side)) == 0o600, side
        conn.execute("ROLLBACK")
        conn.close()
    finally:
        os.umask(old)


def test_default_folder_is_private(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("LEADCTL_DB")
    cli("add", "Budi")
    db = Path(cli("db", "path").stdout.strip())
    assert tmp_path in db.parents  # HOME / XDG point into the test's folder
    assert mode(db) == 0o600 and mode(db.parent) == 0o700


def test_backups_and_safety_copies_are_private_whatever_the_umask(cli, filled, tmp_path):
    old = os.umask(0o000)
    try:
        cli("db", "backup", str(tmp_path / "b.db"))
        out = cli.json("db", "restore", str(tmp_path / "b.db"), "--yes")
    finally:
        os.umask(old)
    assert mode(tmp_path / "b.db") == 0o600
    assert mode(Path(out["safety_copy"])) == 0o600
    assert mode(filled) == 0o600


# ---- privacy: error messages name the id and the field, not the data ---------


def test_duplicate_errors_name_id_and_key_not_value(cli, filled) -> None:
    cases = [
        (["add", "Other", "--phone", "+62 812 3456 7890"], "phone", ["3456", "812"]),
        (["add", "Other", "--email", "ANI@example.com"], "e-mail", ["ani@", "example"]),
        (["edit", "2", "--phone", "0812-3456-7890"], "phone", ["3456"]),
    ]
    cli("edit", "1", "--external-id", "CRM-778899")
    cases.append((["add", "X", "--external-id", "CRM-778899"], "external id", ["778899"]))
    for args, key, secrets in cases:
        r = cli(*args, ok=False)
        line = one_error_line(r.stderr)
        assert r.exit_code == 1 and "Lead " in line and key in line, line
        for s in secrets:
            assert s not in line, (line, s)
        assert "Budi" not in line and "Ani" not in line


def test_core_errors_carry_no_lead_data(conn) -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)
    leads.add_lead(conn, {"name": "Budi Rahasia", "email": "budi@rahasia.id"}, now=now, actor="t")
    with pytest.raises(ConflictError) as err:
        leads.add_lead(
            conn, {"name": "Budi Rahasia", "email": "budi@rahasia.id"}, now=now, actor="t"
        )
    assert "rahasia" not in str(err.value).lower()


def test_unexpected_errors_do_not_print_the_exception_text(cli, filled, monkeypatch) -> None:
    def boom(*a, **k):
        raise KeyError("budi@example.com 0812-3456-7890")

    monkeypatch.setattr(leads, "list_leads", boom)
    r = cli("list", ok=False)
    line = one_error_line(r.stderr)
    assert "KeyError" in line and "budi" not in line and "0812" not in line


def test_no_log_or_stray_files_anywhere(cli, tmp_path, monkeypatch) -> None:
    """leadctl writes no log file: lead data lives in the database only."""
    monkeypatch.delenv("LEADCTL_DB")
    cli("add", "Budi Rahasia", "--phone", "0812-3456-7890", "--note", "secret")
    cli("edit", "1", "--city", "Bandung")
    cli("log", "1", "--kind", "call", "--note", "secret call")
    cli("show", "1")
    cli("list", "--format", "csv")
    cli("show", "999", ok=False)
    cli("followups", "add", "1", "--due", "tomorrow")
    cli("followups")
    db = Path(cli("db", "path").stdout.strip())
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [str(db.relative_to(tmp_path))]


def test_a_writer_holding_the_lock_past_the_timeout_gives_one_clear_line(
    cli, filled, monkeypatch
) -> None:
    """Real SQLITE_BUSY: another connection holds the write lock longer than
    the (shortened) busy timeout. The user gets one sentence, nothing changes."""
    before = dump(filled)
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(filled, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert len(cli.json("list")) == 2  # readers are never blocked (WAL)
        r = cli("add", "Citra", ok=False)
        assert r.exit_code == 1
        assert "busy" in one_error_line(r.stderr)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert dump(filled) == before


def test_a_database_held_exclusively_says_busy(cli, filled, monkeypatch) -> None:
    """Another program holds the file in exclusive locking mode: even opening
    it times out. The line says busy, not that the path is wrong."""
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(filled, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for argv in (["list"], ["followups"], ["add", "Citra"]):
            r = cli(*argv, ok=False)
            line = one_error_line(r.stderr)
            assert r.exit_code == 1 and "busy" in line and "--db" not in line, argv
    finally:
        holder.execute("ROLLBACK")
        holder.close()
