"""Several real processes writing the same database at once.

Every write must land and no "database is locked" may reach anyone: WAL,
BEGIN IMMEDIATE and a 30 s busy timeout make writers queue instead of fail.
Workers are separate Python processes (not threads): each runs a loop of
core `add_lead` calls over its own connection, because starting Python for
every one of hundreds of adds would take minutes; real `leadctl` CLI
processes run interleaved with them.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

WORKERS = 2
ADDS_PER_WORKER = 500
CLI_ADDS = 6
CLI_LOGS = 4

# A worker: open the database (creating and migrating it if it is the first),
# wait for the starting gun, then add leads in a loop, one transaction each.
WORKER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    from pathlib import Path
    from leadctl.db import open_db
    from leadctl.leads import add_lead
    from leadctl.activities import record
    from leadctl.db import transaction

    path, tag, count, gun = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    while not gun.exists():
        time.sleep(0.005)
    conn = open_db(path)
    now = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
    for i in range(count):
        lead = add_lead(
            conn, {"name": f"{tag} {i}", "email": f"{tag}.{i}@example.com"},
            now=now, actor=tag,
        )
        if i % 10 == 0 and "nolog" not in sys.argv:
            # A read, then a write on the same connection: the upgrade path.
            conn.execute("SELECT count(*) FROM leads").fetchone()
            with transaction(conn):
                record(conn, lead.id, "call", at=now, now=now, actor=tag, note="rang")
    conn.close()
    print(count)
    """
)


def _env(db: Path) -> dict[str, str]:
    return {**os.environ, "LEADCTL_DB": str(db), "LEADCTL_USER": "cli", "NO_COLOR": "1"}


def _cli(db: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "leadctl", *args],
        env=_env(db),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_a_lead(db: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
            try:
                if c.execute("SELECT count(*) FROM leads").fetchone()[0]:
                    return
            finally:
                c.close()
        except sqlite3.OperationalError:
            pass  # not created or not migrated yet
        time.sleep(0.02)
    raise AssertionError("no lead was added within 60 s")


def test_parallel_writers_lose_nothing(tmp_path) -> None:
    db = tmp_path / "shared.db"  # does not exist yet: creation and migration race too
    gun = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db), f"w{n}", str(ADDS_PER_WORKER), str(gun)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(WORKERS)
    ]
    gun.touch()
    # Real CLI processes while the workers write: adds, then logs on lead 1.
    clis = [_cli(db, "add", f"Cli {n}", "--email", f"cli.{n}@example.com") for n in range(CLI_ADDS)]
    _wait_for_a_lead(db)
    clis += [_cli(db, "log", "1", "--kind", "whatsapp", "--note", f"m{n}") for n in range(CLI_LOGS)]
    failures = []
    for p in workers + clis:
        _out, err = p.communicate(timeout=120)
        if p.returncode != 0 or b"Error" in err or b"locked" in err or b"Traceback" in err:
            failures.append((p.args[-3:], p.returncode, err.decode()[-500:]))
    assert not failures, failures

    c = sqlite3.connect(db)
    attempted = WORKERS * ADDS_PER_WORKER + CLI_ADDS
    landed = c.execute("SELECT count(*) FROM leads").fetchone()[0]
    assert landed == attempted
    assert c.execute("SELECT count(DISTINCT email) FROM leads").fetchone()[0] == attempted
    calls = c.execute("SELECT count(*) FROM activities WHERE kind = 'call'").fetchone()[0]
    assert calls == WORKERS * ADDS_PER_WORKER // 10
    logs = c.execute("SELECT count(*) FROM activities WHERE kind = 'whatsapp'").fetchone()[0]
    assert logs == CLI_LOGS
    created = c.execute("SELECT count(*) FROM activities WHERE kind = 'created'").fetchone()[0]
    assert created == attempted
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert c.execute("PRAGMA foreign_key_check").fetchall() == []
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    c.close()


def _leads(db: Path) -> int:
    """How many leads a database file holds now (0 while it is being made)."""
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return int(c.execute("SELECT count(*) FROM leads").fetchone()[0])
        finally:
            c.close()
    except sqlite3.Error:
        return 0


def test_backup_while_another_process_writes(tmp_path) -> None:
    db = tmp_path / "live.db"
    gun = tmp_path / "go"
    writer = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(db), "w", "400", str(gun)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    gun.touch()
    # `db backup` refuses a database that does not exist yet: wait for the
    # writer to have made it (its first lead).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.exists() and _leads(db):
            break
        time.sleep(0.02)
    counts = []
    for n in range(3):
        target = tmp_path / f"b{n}.db"
        p = subprocess.run(
            [sys.executable, "-m", "leadctl", "db", "backup", str(target), "--format", "json"],
            env=_env(db),
            capture_output=True,
            timeout=120,
        )
        assert p.returncode == 0, p.stderr
        c = sqlite3.connect(target)
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        n_leads = c.execute("SELECT count(*) FROM leads").fetchone()[0]
        # A consistent snapshot: every lead has its 'created' activity.
        assert c.execute("SELECT count(*) FROM activities WHERE kind='created'").fetchone()[0] == (
            n_leads
        )
        c.close()
        counts.append(n_leads)
    _out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0 and not err.strip(), err
    assert counts == sorted(counts)
    c = sqlite3.connect(db)
    assert c.execute("SELECT count(*) FROM leads").fetchone()[0] == 400
    c.close()


def test_restore_while_another_process_writes(tmp_path) -> None:
    db = tmp_path / "live.db"
    backup = tmp_path / "b.db"
    seed = subprocess.run(
        [sys.executable, "-c", WORKER, str(db), "seed", "50", str(tmp_path)],
        capture_output=True,
        timeout=120,
    )
    assert seed.returncode == 0, seed.stderr
    p = subprocess.run(
        [sys.executable, "-m", "leadctl", "db", "backup", str(backup)],
        env=_env(db),
        capture_output=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    gun = tmp_path / "go"
    writer = subprocess.Popen(
        # No follow-up writes on the lead just added: the restore may remove it.
        [sys.executable, "-c", WORKER, str(db), "w", "400", str(gun), "nolog"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    gun.touch()
    _wait_for_count(db, 100)
    p = subprocess.run(
        [sys.executable, "-m", "leadctl", "db", "restore", str(backup), "--yes"],
        env=_env(db),
        capture_output=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    _out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0 and not err.strip(), err
    c = sqlite3.connect(db)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert c.execute("PRAGMA foreign_key_check").fetchall() == []
    n = c.execute("SELECT count(*) FROM leads").fetchone()[0]
    # The 50 of the backup, plus whatever the writer added after the restore.
    assert 50 <= n <= 450
    names = [r[0] for r in c.execute("SELECT name FROM leads WHERE name LIKE 'seed %'")]
    assert len(names) == 50
    c.close()


def _wait_for_count(db: Path, n: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        c = sqlite3.connect(db, timeout=30)
        try:
            if c.execute("SELECT count(*) FROM leads").fetchone()[0] >= n:
                return
        finally:
            c.close()
        time.sleep(0.01)
    raise AssertionError(f"fewer than {n} leads after 60 s")
