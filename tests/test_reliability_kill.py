"""SIGKILL in the middle of a large import, then rerun the same import.

A real `leadctl import` process is killed (no clean-up code can run) at
several points while it writes 15,000 rows in batches. After each kill the
database must pass integrity_check and foreign_key_check and hold only whole
batches (every lead has its 'created' activity and stage history); rerunning
the same import must finish the job with no duplicates.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("leadctl.importer") is None, reason="needs leadctl import"
    ),
]

ROWS = 15_000
BATCH = 1_000
# Kill once the database holds at least this many leads (so the process is
# busy with the following batch), then rerun; the last run completes.
KILL_AT = (2_000, 7_000, 12_000)


def _write_csv(path: Path) -> None:
    lines = ["name,email,phone,company,value,source,tags,note"]
    for i in range(ROWS):
        lines.append(
            f"Lead {i},lead{i}@example.com,0812{i:08d},PT Maju {i % 97},"
            f"{(i % 50 + 1) * 100_000},web,hot;b2b,called {i}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _count(db: Path) -> int:
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return int(c.execute("SELECT count(*) FROM leads").fetchone()[0])
        finally:
            c.close()
    except sqlite3.OperationalError:
        return 0  # not created or not migrated yet


def _start(db: Path, csv_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LEADCTL_DB": str(db)}
    return subprocess.Popen(
        [sys.executable, "-m", "leadctl", "import", str(csv_path), "--batch-size", str(BATCH)],
        env=env,
        cwd=db.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _assert_consistent(db: Path) -> int:
    c = sqlite3.connect(db)
    try:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        n = c.execute("SELECT count(*) FROM leads").fetchone()[0]
        dupes = c.execute(
            "SELECT email FROM leads GROUP BY email HAVING count(*) > 1 LIMIT 3"
        ).fetchall()
        assert dupes == []
        # Whole batches only: no lead without its 'created' activity and history.
        orphans = c.execute(
            "SELECT count(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM activities a"
            " WHERE a.lead_id = l.id AND a.kind IN ('created', 'import'))"
            " OR NOT EXISTS (SELECT 1 FROM stage_history h WHERE h.lead_id = l.id)"
        ).fetchone()[0]
        assert orphans == 0
        assert n % BATCH == 0, f"{n} leads: a partial batch was committed"
        return int(n)
    finally:
        c.close()


def test_sigkill_mid_import_then_rerun(tmp_path) -> None:
    db = tmp_path / "leads.db"
    csv_path = tmp_path / "big.csv"
    _write_csv(csv_path)
    kills = []
    for threshold in KILL_AT:
        p = _start(db, csv_path)
        deadline = time.monotonic() + 120
        while _count(db) < threshold and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if p.poll() is not None:
            pytest.fail(f"import finished before the kill at {threshold}: {p.stderr.read()!r}")
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=30)  # reaps it and closes its pipes
        assert p.returncode == -signal.SIGKILL
        n = _assert_consistent(db)
        kills.append(n)
        assert n >= threshold
    print(f"killed with {kills} of {ROWS} leads committed")  # the figures, with -s
    assert kills == sorted(kills) and kills[-1] < ROWS
    # The same import again completes the job.
    p = _start(db, csv_path)
    _out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err.decode()[-1000:]
    assert _assert_consistent(db) == ROWS
    c = sqlite3.connect(db)
    assert c.execute("SELECT count(DISTINCT email) FROM leads").fetchone()[0] == ROWS
    assert c.execute("SELECT count(DISTINCT phone) FROM leads").fetchone()[0] == ROWS
    c.close()
    # And once more: nothing is added twice.
    p = _start(db, csv_path)
    _out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err.decode()[-1000:]
    assert _assert_consistent(db) == ROWS
    check = subprocess.run(
        [sys.executable, "-m", "leadctl", "--db", str(db), "db", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert check.returncode == 0, check.stderr
