"""Every error is a sentence: walk every command with wrong arguments.

Each case must print exactly one line on stderr, starting with `Error: `,
exit with the documented code (1 failed, 2 usage/invalid, 3 not found), and
never show a traceback or the catch-all "Unexpected internal error".
Database-level cases (missing folder, newer schema, non-SQLite file,
unrelated SQLite file, a folder) run against every command that opens the
database, and the file must be left byte-identical.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from leadctl.db import SCHEMA_VERSION
from leadctl.errors import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_USAGE


def assert_one_error(r, code: int, args, *, internal_ok: bool = False) -> str:
    where = f"leadctl {' '.join(map(str, args))}"
    assert r.exit_code == code, f"{where}: exit {r.exit_code}, want {code}\n{r.stderr}"
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, f"{where}: stderr has {len(lines)} lines:\n{r.stderr}"
    assert lines[0].startswith("Error: "), f"{where}: {r.stderr}"
    assert "Traceback" not in r.stderr, where
    assert internal_ok or "Unexpected internal error" not in r.stderr, where
    return lines[0]


# (argv, expected exit code). Lead 1 is 'Budi' (phone 0812-3456-7890, stage new).
CASES: list[tuple[list[str], int]] = [
    # usage: unknown commands and options, bad types
    (["frobnicate"], EXIT_USAGE),
    (["list", "--frobnicate"], EXIT_USAGE),
    (["list", "--format", "xml"], EXIT_USAGE),
    (["list", "--limit", "ten"], EXIT_USAGE),
    (["show", "abc"], EXIT_USAGE),
    (["show"], EXIT_USAGE),
    (["--tz", "Mars/Olympus", "list"], EXIT_USAGE),
    # add
    (["add"], EXIT_USAGE),
    (["add", "   "], EXIT_USAGE),
    (["add", "X", "--email", "not-an-email"], EXIT_USAGE),
    (["add", "X", "--phone", "123"], EXIT_USAGE),
    (["add", "X", "--value", "lots"], EXIT_USAGE),
    (["add", "X", "--value", "1.5m"], EXIT_USAGE),
    (["add", "X", "--value", "-5"], EXIT_USAGE),
    (["add", "X", "--currency", "RUPIAH"], EXIT_USAGE),
    (["add", "X", "--expected-close", "whenever"], EXIT_USAGE),
    (["add", "X", "--expected-close", "2026-13"], EXIT_USAGE),
    (["add", "X", "--field", "novalue"], EXIT_USAGE),
    (["add", "X", "--field", "{bad}=1"], EXIT_USAGE),
    (["add", "X", "--region", "ZZ", "--phone", "0812-3456-7890"], EXIT_USAGE),
    (["add", "X", "--name-typo", "y"], EXIT_USAGE),
    (["add", "Budi again", "--phone", "+62 812-3456-7890"], EXIT_FAILED),
    (["add", "X" * 10_001], EXIT_USAGE),
    (["add", "nul\x00byte"], EXIT_USAGE),
    # list
    (["list", "--sort", "shoe-size"], EXIT_USAGE),
    (["list", "--stage", "nowhere"], EXIT_NOT_FOUND),
    (["list", "--limit", "-1"], EXIT_USAGE),
    # show / edit / delete
    (["show", "999"], EXIT_NOT_FOUND),
    (["edit", "999", "--name", "x"], EXIT_NOT_FOUND),
    (["edit", "1", "--email", "bad@"], EXIT_USAGE),
    (["edit", "1", "--value", "abc"], EXIT_USAGE),
    (["edit", "1", "--expected-close", "never"], EXIT_USAGE),
    (["edit", "1", "--field", "=x"], EXIT_USAGE),
    (["edit", "2", "--phone", "0812-3456-7890"], EXIT_FAILED),
    (["delete", "999", "--yes"], EXIT_NOT_FOUND),
    (["delete", "1"], EXIT_USAGE),  # no tty, no --yes
    # advance
    (["advance", "999"], EXIT_NOT_FOUND),
    (["advance"], EXIT_USAGE),
    (["advance", "1", "--to", "nowhere"], EXIT_NOT_FOUND),
    (["advance", "1", "--to", "new"], EXIT_FAILED),
    (["advance", "1", "--to", "lost"], EXIT_USAGE),
    (["advance", "1", "--to", "inactive"], EXIT_FAILED),
    (["advance", "1", "--at", "someday"], EXIT_USAGE),
    (["advance", "1", "--at", "2000-01-01"], EXIT_USAGE),
    (["advance", "3"], EXIT_FAILED),  # lead 3 is lost (closed)
    (["advance", "3", "--to", "new"], EXIT_FAILED),
    # log
    (["log", "999", "--kind", "call"], EXIT_NOT_FOUND),
    (["log", "1"], EXIT_USAGE),
    (["log", "1", "--kind", "fax"], EXIT_USAGE),
    (["log", "1", "--kind", "call", "--at", "soonish"], EXIT_USAGE),
    (["log", "1", "--kind", "call", "--at", "tomorrow 25:99"], EXIT_USAGE),
    (["log", "1", "--kind", "call", "--amount", "5"], EXIT_USAGE),
    (["log", "1", "--kind", "call", "--at", "001/"], EXIT_USAGE),  # the year 1
    (["log", "1", "--kind", "call", "--at", "+9999y"], EXIT_USAGE),
    (["log", "1", "--kind", "sale"], EXIT_USAGE),
    (["log", "1", "--kind", "sale", "--amount", "many"], EXIT_USAGE),
    # stages
    (["stages", "set", "nowhere", "--probability", "5"], EXIT_NOT_FOUND),
    (["stages", "set", "new", "--probability", "500"], EXIT_USAGE),
    (["stages", "set", "new", "--rot-days", "0"], EXIT_USAGE),
    (["stages", "add", "new", "--probability", "5"], EXIT_FAILED),
    (["stages", "add", "bad name!", "--probability", "5"], EXIT_USAGE),
    (["stages", "add", "proposal", "--probability", "5", "--kind", "weird"], EXIT_USAGE),
    (["stages", "add", "proposal", "--probability", "5", "--after", "nowhere"], EXIT_NOT_FOUND),
    (["stages", "add", "proposal"], EXIT_USAGE),
    (["stages", "move", "new"], EXIT_USAGE),
    (["stages", "move", "new", "--after", "won", "--before", "lost"], EXIT_USAGE),
    (["stages", "move", "new", "--after", "new"], EXIT_USAGE),
    (["stages", "move", "nowhere", "--after", "new"], EXIT_NOT_FOUND),
    (["stages", "remove", "new"], EXIT_FAILED),
    (["stages", "remove", "nowhere"], EXIT_NOT_FOUND),
    (["stages", "rename", "nowhere", "x"], EXIT_NOT_FOUND),
    (["stages", "rename", "new", "won"], EXIT_FAILED),
    # settings
    (["settings", "set", "colour", "blue"], EXIT_NOT_FOUND),
    (["settings", "set", "currency", "RUPIAH"], EXIT_USAGE),
    (["settings", "set", "currency", "USD"], EXIT_FAILED),  # leads have IDR values
    (["settings", "set", "region", "ZZ"], EXIT_USAGE),
    (["settings", "set", "timezone", "Mars/Olympus"], EXIT_USAGE),
    # db
    (["db", "backup", "{tmp}/exists.db"], EXIT_FAILED),
    (["db", "backup", "{tmp}/no/such/folder/b.db"], EXIT_FAILED),
    (["db", "restore", "{tmp}/missing.db", "--yes"], EXIT_NOT_FOUND),
    (["db", "restore", "{tmp}/exists.db", "--yes"], EXIT_FAILED),
    (["db", "frobnicate"], EXIT_USAGE),
    # import / export
    (["import", "{tmp}/missing.csv"], EXIT_USAGE),
    (["import", "{tmp}"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--map", "nope=name"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--map", "name"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--map", "name=NoSuchColumn"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--key", "nope"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--on-duplicate", "explode"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--encoding", "klingon"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--delimiter", "xx"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--input-format", "xml"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--region", "ZZ"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--currency", "RUPIAH"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--stage-map", "x"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--stage-map", "x=nowhere"], EXIT_NOT_FOUND),
    (["import", "{tmp}/ok.csv", "--batch-size", "0"], EXIT_USAGE),
    (["import", "{tmp}/ok.csv", "--rejects", "{tmp}/no/dir/r.csv"], EXIT_FAILED),
    (["import", "{tmp}/ok.csv", "--format", "csv"], EXIT_USAGE),
    (["export", "--format", "xml"], EXIT_USAGE),
    (["export", "--output", "{tmp}/no/dir/x.csv"], EXIT_FAILED),
    (["export", "--output", "{tmp}"], EXIT_FAILED),
    (["export", "--stage", "nowhere"], EXIT_NOT_FOUND),
    (["export", "--sort", "nope"], EXIT_USAGE),
    # report / target / source
    (["report", "funnel", "--period", "someday"], EXIT_USAGE),
    (["report", "funnel", "--period", "2026-13"], EXIT_USAGE),
    (["report", "funnel", "--since", "never"], EXIT_USAGE),
    (["report", "funnel", "--since", "2026-12-01", "--until", "2026-01-01"], EXIT_USAGE),
    (["report", "funnel", "--period", "this-month", "--since", "2026-01-01"], EXIT_USAGE),
    (["report", "conversion", "--by", "shoe"], EXIT_USAGE),
    (["report", "nope"], EXIT_USAGE),
    (["report", "team", "--period", "1999-Q5"], EXIT_USAGE),
    (["report", "targets", "--period", "bogus"], EXIT_USAGE),
    (["report", "pipeline", "--format", "xml"], EXIT_USAGE),
    (["target", "set"], EXIT_USAGE),
    (["target", "set", "--metric", "nope", "--value", "5", "--period", "month"], EXIT_USAGE),
    (["target", "set", "--metric", "won_value", "--value", "lots", "--period", "month"], 2),
    (["target", "set", "--metric", "new_leads", "--value", "-1", "--period", "month"], 2),
    (["target", "set", "--metric", "new_leads", "--value", "5", "--period", "fortnight"], 2),
    (["target", "set", "-m", "new_leads", "-v", "5", "-p", "month", "--owner", "nope"], 3),
    (["target", "remove", "--metric", "new_leads", "--period", "month"], EXIT_NOT_FOUND),
    (["source", "cost", "ads", "lots"], EXIT_USAGE),
    (["source", "cost", "ads", "100", "--month", "2026-13"], EXIT_USAGE),
    # followups
    (["followups", "add", "999", "--due", "tomorrow"], EXIT_NOT_FOUND),
    (["followups", "add", "1", "--due", "someday"], EXIT_USAGE),
    (["followups", "add", "1", "--due", "001/"], EXIT_USAGE),
    (["followups", "add", "1", "--due", "tomorrow", "--kind", "fax"], EXIT_USAGE),
    (["followups", "add", "1", "--due", "tomorrow", "--owner", "nope"], EXIT_NOT_FOUND),
    (["followups", "add", "1"], EXIT_USAGE),
    (["followups", "done", "999"], EXIT_NOT_FOUND),
    (["followups", "snooze", "999", "--to", "tomorrow"], EXIT_NOT_FOUND),
    (["followups", "snooze", "1", "--to", "never"], EXIT_USAGE),
    (["followups", "cancel", "999"], EXIT_NOT_FOUND),
    (["followups", "--upcoming", "forever"], EXIT_USAGE),
    (["followups", "--kind", "fax"], EXIT_USAGE),
    (["followups", "--explain", "999"], EXIT_NOT_FOUND),
    # sequence
    (["sequence", "add", "s1"], EXIT_USAGE),
    (["sequence", "add", "s1", "--step", "nonsense"], EXIT_USAGE),
    (["sequence", "add", "s1", "--step", "3x call"], EXIT_USAGE),
    (["sequence", "add", "s1", "--step", "0d fax"], EXIT_USAGE),
    (["sequence", "add", "s1", "--step", "0d email nosuchtemplate"], EXIT_NOT_FOUND),
    (["sequence", "add", "s1", "--step", "99999d call"], EXIT_USAGE),
    (["sequence", "show", "nope"], EXIT_NOT_FOUND),
    (["sequence", "remove", "nope"], EXIT_NOT_FOUND),
    (["sequence", "enroll", "999", "welcome"], EXIT_NOT_FOUND),
    (["sequence", "enroll", "1", "nope"], EXIT_NOT_FOUND),
    (["sequence", "unenroll", "1", "nope"], EXIT_NOT_FOUND),
    # template
    (["template", "show", "nope"], EXIT_NOT_FOUND),
    (["template", "render", "nope", "1"], EXIT_NOT_FOUND),
    (["template", "render", "product-intro", "999"], EXIT_NOT_FOUND),
    (["template", "add", "product-intro", "--body", "x"], EXIT_FAILED),
    (["template", "add", "newt"], EXIT_USAGE),
    (["template", "add", "bad name!", "--body", "x"], EXIT_USAGE),
    (["template", "add", "t2", "--body-file", "{tmp}/no/such/file"], EXIT_USAGE),
    (["template", "add", "t3", "--body", "Hi {nonexistent_placeholder}"], EXIT_USAGE),
    (["template", "edit", "nope", "--body", "x"], EXIT_NOT_FOUND),
    (["template", "remove", "nope"], EXIT_NOT_FOUND),
    (["template", "reset", "nope"], EXIT_NOT_FOUND),
    # team
    (["team", "add", "ani"], EXIT_FAILED),
    (["team", "add", "Bad Handle!"], EXIT_USAGE),
    (["team", "add", "bob", "--email", "bad"], EXIT_USAGE),
    (["team", "add", "bob", "--phone", "123"], EXIT_USAGE),
    (["team", "add", "bob", "--capacity", "lots"], EXIT_USAGE),
    (["team", "add", "bob", "--capacity", "-3"], EXIT_USAGE),
    (["team", "show", "nope"], EXIT_NOT_FOUND),
    (["team", "edit", "nope", "--name", "x"], EXIT_NOT_FOUND),
    (["team", "edit", "ani", "--capacity", "x"], EXIT_USAGE),
    (["team", "edit", "ani", "--clear", "nothing"], EXIT_USAGE),
    (["team", "deactivate", "nope"], EXIT_NOT_FOUND),
    (["team", "activate", "nope"], EXIT_NOT_FOUND),
    # assign
    (["assign", "999", "--to", "ani"], EXIT_NOT_FOUND),
    (["assign", "1", "--to", "nope"], EXIT_NOT_FOUND),
    (["assign", "1"], EXIT_USAGE),
    (["assign", "1", "--to", "ani", "--auto"], EXIT_USAGE),
    (["add", "X", "--owner", "ghost"], EXIT_NOT_FOUND),  # a team exists: owners are members
    (["edit", "1", "--owner", "ghost"], EXIT_NOT_FOUND),
    # qualify / criteria
    (["qualify", "999", "--budget", "yes"], EXIT_NOT_FOUND),
    (["qualify", "1", "--budget", "maybe"], EXIT_USAGE),
    (["qualify", "1", "--timeline", "whenever"], EXIT_USAGE),
    (["qualify", "1", "--value", "lots"], EXIT_USAGE),
    (["qualify", "1", "--advance", "--stage", "nowhere"], EXIT_NOT_FOUND),
    (["qualify", "1", "--answer", "visits=1e99999999"], EXIT_USAGE),
    (["qualify", "1", "--answer", "visits=many"], EXIT_USAGE),
    (["qualify", "1", "--answer", "nope=1"], EXIT_NOT_FOUND),
    (["team", "add", "bob", "--capacity", "9" * 400], EXIT_USAGE),
    (["team", "add", "bob", "--capacity-window", "9" * 40], EXIT_USAGE),
    (["criteria", "add", "budget", "--label", "x"], EXIT_FAILED),
    (["criteria", "add", "x", "--type", "weird"], EXIT_USAGE),
    (["criteria", "add", "y", "--type", "choice"], EXIT_USAGE),
    (["criteria", "edit", "nope", "--label", "x"], EXIT_NOT_FOUND),
    (["criteria", "remove", "nope"], EXIT_NOT_FOUND),
    # score
    (["score", "999"], EXIT_NOT_FOUND),
    (["score", "show", "999"], EXIT_NOT_FOUND),
    (["score", "--evaluate", "--folds", "1"], EXIT_USAGE),
    (["score", "--train", "--fields", "nope"], EXIT_USAGE),
    (["score", "rules", "cap", "fit", "lots"], EXIT_USAGE),
    (["score", "rules", "add"], EXIT_USAGE),
    (["score", "rules", "edit", "999", "--points", "3"], EXIT_NOT_FOUND),
    (["score", "rules", "remove", "999"], EXIT_NOT_FOUND),
    (["score", "rules", "import", "{tmp}/missing.toml"], EXIT_FAILED),
    (["score", "rules", "export", "{tmp}/no/dir/x.toml"], EXIT_FAILED),
    # Numbers past SQLite's 64-bit integers.
    (["show", "9" * 25], EXIT_USAGE),
    (["advance", "9" * 25], EXIT_USAGE),
    (["delete", "--yes", "9" * 25], EXIT_USAGE),
    (["followups", "done", "9" * 25], EXIT_USAGE),
    (["list", "--limit", "9" * 20], EXIT_USAGE),
    (["stages", "set", "new", "--rot-days", "9" * 20], EXIT_USAGE),
]


@pytest.fixture
def seeded(cli, tmp_path):
    cli("add", "Budi", "--phone", "0812-3456-7890", "--value", "15jt")
    cli("add", "Ani", "--email", "ani@example.com")
    cli("add", "Citra", "--email", "citra@example.com")
    cli("advance", "3", "--to", "lost", "--reason", "price")
    cli("team", "add", "ani", "--name", "Ani")
    cli("criteria", "add", "visits", "--type", "number", "--optional", "--label", "Visits")
    (tmp_path / "exists.db").write_text("not a database\n")
    (tmp_path / "ok.csv").write_text("name,email\nDewi,dewi@example.com\n")
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "code"), [c for c in CASES if c[1] is not None], ids=lambda v: repr(v)[:60]
)
def test_wrong_arguments_give_one_sentence(cli, seeded, argv, code) -> None:
    args = [a.replace("{tmp}", str(seeded)) for a in argv]
    r = cli(*args, ok=False, input="")
    assert_one_error(r, code, args)


def test_strict_import_lists_rows_then_one_error(cli, seeded) -> None:
    # Rejected rows are reported one per line (that is the report asked for);
    # the failure itself is the last line, one sentence.
    r = cli("import", f"{seeded}/ok.csv", "--strict", "--map", "email=name", ok=False)
    assert r.exit_code == EXIT_FAILED and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == [r.stderr.strip().splitlines()[-1]]
    assert len(cli.json("list")) == 3


def test_failed_export_leaves_no_file(cli, seeded) -> None:
    for args in (["--stage", "nowhere"], ["--sort", "nope"]):
        r = cli("export", "--output", f"{seeded}/x.csv", *args, ok=False)
        assert r.exit_code in (EXIT_USAGE, EXIT_NOT_FOUND)
        assert sorted(p.name for p in seeded.iterdir() if p.name.startswith("x.csv")) == []


def test_failed_commands_change_nothing(cli, seeded) -> None:
    before = cli.json("show", "1")
    for argv, code in CASES:
        if code is None:
            continue
        cli(*[a.replace("{tmp}", str(seeded)) for a in argv], ok=False, input="")
    after = cli.json("show", "1")
    assert after == before
    assert [lead["id"] for lead in cli.json("list")] == [1, 2, 3]


def test_bad_fixed_clock_is_explained(cli, conn, monkeypatch) -> None:
    monkeypatch.setenv("LEADCTL_NOW", "yesterday-ish")
    r = cli("list", ok=False)
    assert_one_error(r, EXIT_USAGE, ["list"])


# ---- the database itself is wrong -------------------------------------------

# Commands that open the database, with arguments that would otherwise be valid.
DB_COMMANDS: list[list[str]] = [
    ["list"],
    ["add", "Budi"],
    ["show", "1"],
    ["edit", "1", "--name", "x"],
    ["delete", "1", "--yes"],
    ["advance", "1"],
    ["log", "1", "--kind", "call"],
    ["stages"],
    ["stages", "set", "new", "--probability", "5"],
    ["settings"],
    ["settings", "set", "region", "SG"],
    ["db", "backup", "{tmp}/backup.db"],
    ["db", "check"],
    ["template", "list"],
    ["template", "render", "product-intro", "1"],
    ["team", "add", "ani"],
    ["team", "list"],
    ["assign", "1", "--to", "ani"],
    ["assign", "--auto"],
    ["qualify", "1", "--budget", "yes"],
    ["criteria", "list"],
    ["score", "1"],
    ["score", "--all"],
    ["score", "rules", "list"],
    ["followups"],
    ["followups", "add", "1", "--due", "tomorrow"],
    ["followups", "done", "1"],
    ["sequence", "list"],
    ["sequence", "enroll", "1", "welcome"],
    ["import", "{tmp}/in.csv"],
    ["export", "--format", "csv"],
    ["export", "--output", "{tmp}/out.csv"],
    ["report", "summary"],
    ["report", "pipeline"],
    ["report", "forecast"],
    ["target", "set", "--metric", "new_leads", "--value", "5", "--period", "month"],
    ["target", "list"],
    ["source", "cost", "ads", "100"],
]


def _make(kind: str, tmp: Path) -> Path:
    path = tmp / "target.db"
    (tmp / "in.csv").write_text("name,email\nDewi,dewi@example.com\n")
    if kind == "missing-folder":
        return tmp / "no" / "such" / "x.db"
    if kind == "folder":
        path.mkdir()
    elif kind == "text":
        path.write_text("id,name\n1,Budi\n")
    elif kind == "unrelated":
        c = sqlite3.connect(path)
        c.execute("CREATE TABLE recipes (name TEXT)")
        c.execute("INSERT INTO recipes VALUES ('rendang')")
        c.commit()
        c.close()
    elif kind == "newer":
        from leadctl.db import open_db

        open_db(path).close()
        c = sqlite3.connect(path)
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 7}")
        c.close()
    elif kind == "garbage-sqlite":
        path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    return path


def _needs_existing(argv: list[str]) -> bool:
    """Listings, reports, export, and what changes a lead, follow-up, stage...
    that must already be there: a missing --db is not made for them."""
    creates = (["add"], ["settings", "set"], ["team", "add"], ["import"], ["target", "set"],
               ["source", "cost"], ["stages", "set"])  # fmt: skip
    return not any(argv[: len(c)] == c for c in creates)


DB_KINDS = ["missing-folder", "folder", "text", "unrelated", "newer", "garbage-sqlite"]


@pytest.mark.parametrize("kind", DB_KINDS)
@pytest.mark.parametrize("argv", DB_COMMANDS, ids=lambda a: " ".join(a))
def test_wrong_database_is_refused_untouched(cli, tmp_path, kind, argv) -> None:
    path = _make(kind, tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    content = path.read_bytes() if path.is_file() else None
    args = ["--db", str(path), *[a.replace("{tmp}", str(tmp_path)) for a in argv]]
    r = cli(*args, ok=False, input="")
    code = EXIT_FAILED
    if kind == "missing-folder" and (argv == ["db", "check"] or _needs_existing(argv)):
        code = EXIT_NOT_FOUND  # "there is no database at ...", "No database at ..."
    line = assert_one_error(r, code, args)
    assert str(path) in line or str(path.parent) in line
    if content is not None:
        assert path.read_bytes() == content, "the file was modified"
    # No -wal / -shm / journal / backup appeared beside it.
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.slow
def test_traceback_never_reaches_a_real_process(tmp_path) -> None:
    """The installed entry point, not the test runner: invalid UTF-8 in argv,
    a folder as --db, and an unknown id, each one line and the right code."""
    env = {**os.environ, "LEADCTL_DB": str(tmp_path / "p.db")}
    cases = [
        ([b"add", b"Bad \xff\xfe name"], EXIT_USAGE),
        ([b"--db", str(tmp_path).encode(), b"list"], EXIT_FAILED),
        ([b"show", b"42"], EXIT_NOT_FOUND),
        ([b"log", b"1", b"--kind", b"note", b"--note", b"\xc3\x28"], EXIT_NOT_FOUND),
    ]
    for argv, code in cases:
        p = subprocess.run(
            [sys.executable.encode(), b"-m", b"leadctl", *argv],
            capture_output=True,
            env=env,
            timeout=60,
        )
        err = p.stderr.decode("utf-8", "replace")
        assert p.returncode == code, (argv, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (argv, err)
        assert "Traceback" not in err


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        ("abort", EXIT_FAILED, "Aborted."),
        ("internal", EXIT_FAILED, "Unexpected internal error (RuntimeError)"),
        ("interrupt", 130, "Interrupted"),
        ("unicode", EXIT_USAGE, "not valid UTF-8"),
    ],
)
def test_last_resort_handlers_print_one_line(cli, conn, monkeypatch, exc, code, text) -> None:
    import typer

    from leadctl import leads

    def boom(*a, **k):
        if exc == "abort":
            raise typer.Abort()
        if exc == "interrupt":
            raise KeyboardInterrupt
        if exc == "unicode":
            "\udcff".encode()
        raise RuntimeError("lead data must not leak: Budi 0812")

    monkeypatch.setattr(leads, "list_leads", boom)
    r = cli("list", ok=False)
    line = assert_one_error(r, code, ["list"], internal_ok=True)
    assert text in line
    assert "Budi" not in r.stderr


def test_the_actor_under_cron_is_the_login_name(cli, monkeypatch) -> None:
    """cron sets LOGNAME, not USER: activities still name who ran the job."""
    monkeypatch.delenv("LEADCTL_USER")
    for name in ("USER", "USERNAME", "LNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOGNAME", "Ani")
    lead = cli("add", "Budi").stdout.strip()
    cli("log", lead, "--kind", "call", "--note", "from cron")
    acts = cli.json("show", lead)["activities"]
    assert {a["actor"] for a in acts if a["kind"] == "call"} == {"ani"}


def test_an_empty_or_missing_database_path_is_refused(cli, tmp_path) -> None:
    """`--db "$UNSET"` in a script is an error, not the default database; a
    backup of a mistyped path backs up nothing and creates nothing."""
    for argv in (["--db", "", "list"], ["--db", " ", "followups"]):
        r = cli(*argv, ok=False)
        assert_one_error(r, EXIT_USAGE, argv)
    missing = tmp_path / "typo.db"
    argv = ["db", "backup", str(tmp_path / "b.db")]
    r = cli("--db", str(missing), *argv, ok=False)
    assert_one_error(r, EXIT_NOT_FOUND, argv)
    assert not missing.exists() and not (tmp_path / "b.db").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["edit", "1", "--name", "x"],
        ["advance", "1", "--at", "yesterday"],
        ["log", "1", "--kind", "call"],
        ["qualify", "1", "--budget", "yes"],
        ["score", "1"],
        ["score", "--all"],
        ["score", "--train"],
        ["assign", "1", "--to", "ani"],
        ["assign", "--auto"],
        ["followups", "add", "1", "--due", "tomorrow"],
        ["followups", "done", "1"],
        ["followups", "snooze", "1", "--to", "tomorrow"],
        ["sequence", "enroll", "1", "welcome"],
        ["sequence", "unenroll", "1"],
        ["team", "edit", "ani", "--capacity", "5"],
        ["template", "render", "product-intro", "1"],
        ["target", "remove", "--metric", "new_leads", "--period", "month"],
        ["source", "costs"],
        ["source", "remove-cost", "ads", "--month", "2026-11"],
    ],
    ids=lambda a: " ".join(a),
)
def test_a_missing_database_is_not_made_to_change_what_is_not_there(cli, tmp_path, argv):
    """`advance 12` on a mistyped --db says there is no database; it does not
    make an empty one to say lead 12 is not found."""
    typo = tmp_path / "typo.db"
    r = cli("--db", str(typo), *argv, ok=False)
    line = assert_one_error(r, EXIT_NOT_FOUND, argv)
    assert f"No database at {typo}" in line
    assert list(tmp_path.iterdir()) == []
