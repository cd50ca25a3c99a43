"""CSV on a terminal shows control and bidi characters escaped, as a table
does; CSV to a file or a pipe is data and keeps them, so export -> import
round-trips them. Formula neutralisation applies either way."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leadctl import render
from leadctl.cli import launch

# ESC (clear screen, retitle window), BEL, a C1 CSI and a bidi override.
HOSTILE = "Evil\x1b[2J\x1b]0;pwned\x07\x9b31m\u202eName"
SHOWN = "Evil\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202eName"
PRODUCT = "P\x1b[31mred"
PRODUCT_SHOWN = "P\\x1b[31mred"
NOTE = "call \x1b[5mnow\nthen\tmail"  # a line break and a tab are no threat
NOTE_SHOWN = "call \\x1b[5mnow\nthen\tmail"
FIELD = "\u202ekey"  # a custom field name is a header of `export`
FIELD_SHOWN = "\\u202ekey"
UNSAFE = ("\x1b", "\x07", "\x9b", "\u202e")

CSV_COMMANDS = [
    ("followups", "-f", "csv"),
    ("export",),
    ("export", "-f", "csv"),
    ("list", "-f", "csv"),
    ("report", "customers", "-f", "csv"),
]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout is a terminal (the test runner captures it otherwise)."""
    monkeypatch.setattr(render, "stdout_is_terminal", lambda: True)


def seed(cli: Any) -> None:
    cli("add", HOSTILE, "--phone", "0812-3456-0002", "--product", PRODUCT,
        "--company", "=HYPERLINK(1)", "--field", f"{FIELD}=v\x07")  # fmt: skip
    cli("followups", "add", "1", "--due", "today", "--note", NOTE)
    cli("advance", "1", "--to", "won")
    cli("log", "1", "--kind", "sale", "--amount", "5jt", "--product", PRODUCT)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def leaks(text: str) -> list[str]:
    return [ch for ch in UNSAFE if ch in text]


@pytest.mark.parametrize("args", CSV_COMMANDS, ids=" ".join)
def test_csv_to_a_terminal_escapes_control_codes(cli: Any, terminal: None, args: Any) -> None:
    seed(cli)
    text = cli(*args).stdout
    assert leaks(text) == []
    row = rows(text)[0]
    if args[0] == "report":
        assert row["product"] == PRODUCT_SHOWN
        return
    assert row["name" if "name" in row else "lead_name"] == SHOWN
    assert row["company"] == "'=HYPERLINK(1)"  # still formula-safe
    if args[0] == "followups":
        assert row["note"] == NOTE_SHOWN
    else:
        assert row["product"] == PRODUCT_SHOWN
    if args[0] == "export":
        assert row[f"field:{FIELD_SHOWN}"] == "v\\x07"  # header and cell


def test_the_followups_fast_path_escapes_on_a_terminal(
    cli: Any, terminal: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(cli)
    capsys.readouterr()
    assert launch.run_followups({"fmt": "csv"}) == 0
    out = capsys.readouterr().out
    assert leaks(out) == [] and rows(out)[0]["lead_name"] == SHOWN


@pytest.mark.parametrize("args", CSV_COMMANDS, ids=" ".join)
def test_csv_to_a_pipe_keeps_the_data(cli: Any, args: Any) -> None:
    seed(cli)
    row = rows(cli(*args).stdout)[0]
    if args[0] == "report":
        assert row["product"] == PRODUCT
        return
    assert row["name" if "name" in row else "lead_name"] == HOSTILE
    assert row["company"] == "'=HYPERLINK(1)"
    if args[0] == "followups":
        assert row["note"] == NOTE
    if args[0] == "export":
        assert row[f"field:{FIELD}"] == "v\x07"


def test_csv_to_a_file_keeps_the_data_even_from_a_terminal(
    cli: Any, terminal: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(cli)
    before = cli.json("show", "1")
    path = tmp_path / "leads.csv"
    r = cli("export", "-o", str(path))
    assert r.stdout == "" and "Exported 1 lead(s)" in r.stderr
    row = rows(path.read_text(encoding="utf-8"))[0]
    assert (row["name"], row["product"], row[f"field:{FIELD}"]) == (HOSTILE, PRODUCT, "v\x07")
    # ... and the import gets back exactly what was exported.
    monkeypatch.setenv("LEADCTL_DB", str(tmp_path / "other.db"))
    s = json.loads(cli("import", str(path), "--format", "json").stdout)
    assert s["inserted"] == 1 and s["rejected"] == []
    after = cli.json("show", "1")
    assert after["name"] == HOSTILE == before["name"]
    assert after["product"] == PRODUCT and after["fields"] == {FIELD: "v\x07"}
    assert after["company"] == "=HYPERLINK(1)"  # the ' prefix is taken off again


def test_writer_decides_by_its_own_stream() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    for out, cell in ((io.StringIO(), HOSTILE), (Tty(), SHOWN)):
        render.write_csv([{"name": HOSTILE}], ["name"], out)
        assert out.getvalue() == f"name\n{cell}\n"


def _run(db: Path, stdout: int, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LEADCTL_DB": str(db)}
    env.pop("NO_COLOR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "leadctl", *args], stdout=stdout, stderr=subprocess.PIPE, env=env
    )


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_real_terminal_and_a_real_pipe(cli: Any, db_path: Path) -> None:
    import pty

    seed(cli)
    # A pipe (`leadctl followups -f csv | ...`): the data as it is.
    p = _run(db_path, subprocess.PIPE, "followups", "-f", "csv")
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0 and HOSTILE.encode() in out
    # A terminal: escaped. The child writes into a pseudo-terminal we read.
    leader, follower = pty.openpty()
    try:
        p = _run(db_path, follower, "followups", "-f", "csv")
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        _, err = p.communicate(timeout=60)
    finally:
        os.close(leader)
    shown = b"".join(chunks).decode("utf-8")
    assert p.returncode == 0 and err == b""
    assert SHOWN in shown and leaks(shown) == []
