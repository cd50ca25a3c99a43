"""The fast path for `leadctl followups` (leadctl.cli.launch): which command
lines it takes, and that for every one it takes it prints exactly what the
Typer app prints (stdout, stderr, exit code)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadctl.cli import launch
from leadctl.db import open_db


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["followups"], {}),
        (["--tz", "Asia/Jakarta", "followups"], {"root_tz": "Asia/Jakarta"}),
        (["--db=/x.db", "followups", "-f", "json"], {"db": "/x.db", "fmt": "json"}),
        (
            ["--as", "ani", "followups", "--owner", "ani", "--tz=UTC", "--format", "ics"],
            {"actor": "ani", "owner": "ani", "tz": "UTC", "fmt": "ics"},
        ),
        (["followups", "--owner="], {"owner": ""}),
    ],
)
def test_fast_path_takes_the_listing_forms(argv: list[str], expected: dict[str, str]) -> None:
    assert launch.followups_args(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["list"],
        ["followups", "add", "1", "--due", "today"],
        ["followups", "--all"],
        ["followups", "--help"],
        ["--help", "followups"],
        ["followups", "--format", "xml"],  # Typer reports the bad choice
        ["followups", "--format", "JSON"],
        ["followups", "--owner"],  # missing value
        ["followups", "--owner", "--tz"],  # option-looking value
        ["followups", "--owner", "a", "--owner", "b"],  # repeated
        ["followups", "-fjson"],
        ["followups", "-f=json"],
        ["--db", "followups"],  # 'followups' is the --db value
        ["--verbose", "followups"],
        ["followups", "--", "x"],
    ],
)
def test_fast_path_leaves_everything_else_to_typer(argv: list[str]) -> None:
    assert launch.followups_args(argv) is None


def _run(entry: Any, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    old = sys.argv
    sys.argv = ["leadctl", *argv]
    try:
        entry()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = old
    out = capsys.readouterr()
    return code, out.out, out.err


def _both(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[Any, Any]:
    from leadctl.cli import main

    assert launch.followups_args(argv) is not None, argv
    return _run(launch.run, argv, capsys), _run(main.run, argv, capsys)


@pytest.fixture
def seeded(cli: Any) -> None:
    def lead(*args: str) -> int:
        return int(cli.json("add", *args)["id"])

    budi = lead("Budi Santoso", "--phone", "0812-3456-7890", "--company", "PT Maju")
    sari = lead("Sari [bold]red[/bold] \x1b[31m", "--email", "sari@example.com")
    nina = lead("Nina", "--phone", "+62 811 1111 1111")
    cli("team", "add", "ani", "--name", "Ani")
    cli("followups", "add", str(budi), "--due", "today 10:00", "--note", "send price list")
    cli("followups", "add", str(sari), "--due", "2026-11-19 09:00", "--kind", "email",
        "--owner", "ani")  # fmt: skip
    cli("followups", "add", str(nina), "--due", "tomorrow 09:00")


ARGVS = [
    ["followups"],
    ["followups", "--format", "json"],
    ["followups", "-f", "csv"],
    ["followups", "--format=jsonl"],
    ["followups", "--format", "ics"],
    ["followups", "--owner", "ani"],
    ["followups", "--owner", "none"],
    ["followups", "--owner", "nobody"],
    ["followups", "--tz", "Asia/Jakarta", "-f", "json"],
    ["--tz", "Pacific/Kiritimati", "followups", "-f", "json"],
    ["--tz", "Mars/Base", "followups"],  # error: unknown zone
    ["followups", "--tz", "Mars/Base"],
    ["--db", "/nonexistent/folder/x.db", "followups"],  # error: cannot open
]


@pytest.mark.parametrize("argv", ARGVS, ids=[" ".join(a) for a in ARGVS])
def test_fast_path_prints_what_typer_prints(
    argv: list[str], seeded: None, capsys: pytest.CaptureFixture[str]
) -> None:
    fast, typer_path = _both(argv, capsys)
    assert fast == typer_path
    assert fast[1] or fast[2]  # something was said


def test_errors_on_the_fast_path_are_one_line(
    seeded: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (code, out, err), _ = _both(["--tz", "Mars/Base", "followups"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("Error: Unknown time zone") and err.count("\n") == 1


def test_fast_path_nothing_due_and_not_a_database(
    tmp_path: Path, cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # A --db or LEADCTL_DB that does not exist (a typo in a cron line) is an
    # error, not an empty day every day; nothing is created.
    typo = tmp_path / "typo.db"
    fast, typer_path = _both(["--db", str(typo), "followups"], capsys)
    assert fast == typer_path and fast[0] == 3 and f"No database at {typo}" in fast[2]
    assert not typo.exists()
    open_db(tmp_path / "test.db").close()
    (code, out, _), typer_path = _both(["followups"], capsys)
    assert (code, out) == (0, "Nothing due today.\n") and typer_path[:2] == (code, out)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    fast, typer_path = _both(["--db", str(junk), "followups"], capsys)
    assert fast == typer_path and fast[0] == 1 and "not a leadctl database" in fast[2].lower()
    assert junk.read_bytes() == b"this is not sqlite" * 100


_VALUES = st.sampled_from(
    ["UTC", "Asia/Jakarta", "Mars/Base", "ani", "none", "json", "csv", "table", "ics", "", "x y"]
)

_FORMATS = st.sampled_from(["table", "json", "jsonl", "csv", "ics", "xml"])


@st.composite
def _command_lines(draw: st.DrawFn) -> list[str]:
    """Mostly the fast path's grammar (options in any order, either spelling),
    sometimes with a stray word or a missing value mixed in."""

    def options(names: list[str]) -> list[str]:
        out: list[str] = []
        for name in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
            value = draw(_FORMATS if name == "--format" else _VALUES)
            out += [f"{name}={value}"] if draw(st.booleans()) else [name, value]
        return out

    words = [*options(["--tz", "--as"]), "followups", *options(["--owner", "--tz", "--format"])]
    if draw(st.integers(0, 4)) == 0:
        junk = draw(st.sampled_from(["--all", "-f", "--owner", "list", "--help", "--kind"]))
        words.insert(draw(st.integers(0, len(words))), junk)
    return words


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(words=_command_lines())
def test_fast_path_agrees_with_typer_on_any_command_line(
    words: list[str], seeded: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Generated command lines: wherever the fast path answers, Typer answers
    the same; elsewhere launch hands over to Typer (so they agree trivially)."""
    if launch.followups_args(words) is None:
        return
    fast, typer_path = _both(words, capsys)
    assert fast == typer_path


def test_ctrl_c_before_the_command_runs_is_one_line(tmp_path) -> None:
    """Ctrl-C while Python starts or the Typer app is built (a slow machine):
    the one interrupted line and exit 130, not a KeyboardInterrupt traceback."""
    import os
    import subprocess
    import sys

    code = (
        "import leadctl.cli.main as m\n"
        "def boom(modules):\n    raise KeyboardInterrupt\n"
        "m.make_app = boom\n"
        "from leadctl.cli.launch import run\nrun()\n"
    )
    env = {**os.environ, "LEADCTL_DB": str(tmp_path / "x.db")}
    p = subprocess.run(
        [sys.executable, "-c", code, "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 130
    assert p.stderr == "Error: Interrupted; nothing half-written was kept.\n"
