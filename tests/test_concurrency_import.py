"""An import while cron runs `followups` and a person logs calls.

All real processes on one database: every command succeeds, every write
lands, nobody sees "database is locked".
"""

from __future__ import annotations

import importlib.util
import os
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

ROWS = 6_000


def _run(db: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "leadctl", *args],
        env={**os.environ, "LEADCTL_DB": str(db), "NO_COLOR": "1"},
        cwd=db.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_import_with_cron_and_a_person(tmp_path) -> None:
    db = tmp_path / "leads.db"
    src = tmp_path / "leads.csv"
    lines = ["name,email,phone,source"]
    lines += [f"Lead {i},lead{i}@example.com,0813{i:08d},ads" for i in range(ROWS)]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = _run(db, "add", "Walk-in", "--phone", "0811-0000-0001")
    _out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err.decode()

    importer = _run(db, "import", str(src), "--batch-size", "500")
    others = []
    for n in range(4):
        others.append(_run(db, "followups", "--all"))
        others.append(_run(db, "log", "1", "--kind", "call", "--note", f"call {n}"))
        others.append(_run(db, "followups", "add", "1", "--due", f"+{n + 1}d"))
        time.sleep(0.05)
    failures = []
    for p in [importer, *others]:
        _out, err = p.communicate(timeout=180)
        if p.returncode != 0 or b"Error" in err or b"locked" in err or b"Traceback" in err:
            failures.append((p.args[3:6], p.returncode, err.decode()[-400:]))
    assert not failures, failures

    c = sqlite3.connect(db)
    assert c.execute("SELECT count(*) FROM leads").fetchone()[0] == ROWS + 1
    calls = c.execute("SELECT count(*) FROM activities WHERE kind = 'call' AND lead_id = 1")
    assert calls.fetchone()[0] == 4
    assert c.execute("SELECT count(*) FROM followups WHERE lead_id = 1").fetchone()[0] == 4
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert c.execute("PRAGMA foreign_key_check").fetchall() == []
    c.close()
