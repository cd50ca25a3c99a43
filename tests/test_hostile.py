"""Hostile input through every command that takes user text.

For each corpus value: stored exactly (JSON round trip), shown without a
control byte reaching the terminal (plain tables and Rich tables on a forced
terminal), exported to CSV formula-safe, and rejected input explained in one
line that does not echo the value.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli
from hostile import (
    ACCEPTED,
    INVALID_UTF8,
    REJECTED,
    formula_cells,
    terminal_leaks,
)

from leadctl import render
from leadctl.normalize import parse_tags

TEXT_OPTIONS = ("company", "source", "campaign", "product", "segment", "city", "captured-by")


def add_hostile(cli, value: str) -> int:
    """A lead whose every free-text field holds `value`; returns its id."""
    opts = [f"--{o}={value}" for o in TEXT_OPTIONS]
    opts += [f"--external-id={value}", f"--note={value}", f"--owner={value}"]
    if len(value) <= 200:  # tags are capped at 200 characters
        opts.append(f"--tag={value}")
    opts += [f"--field=hostile={value}", "--allow-duplicate"]
    r = cli("add", *opts, "--", value)
    return int(r.stdout.strip())


def _is_file(value: str) -> bool:
    try:
        return "://" not in value and bool(value.strip()) and Path(value).expanduser().is_file()
    except (OSError, ValueError):
        return False


def log_hostile(cli, lead_id: int, value: str) -> None:
    cli(
        "log", str(lead_id), "--kind", "call", f"--note={value}", f"--outcome={value}",
        f"--attach={value}",
    )  # fmt: skip
    cli("log", str(lead_id), "--kind", "sale", "--amount", "5jt", f"--product={value}")
    cli("log", str(lead_id), "--kind", "document", f"--attach={value}")


@pytest.fixture(scope="module")
def _corpus(tmp_path_factory) -> tuple[str, dict[str, int]]:
    """One database holding the whole corpus, built once for the module."""
    path = tmp_path_factory.mktemp("corpus") / "corpus.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEADCTL_DB", str(path))
        mp.setenv("LEADCTL_NOW", "2026-11-22T08:00:00Z")
        mp.setenv("LEADCTL_TZ", "UTC")
        mp.setenv("LEADCTL_USER", "tester")
        mp.setenv("NO_COLOR", "1")
        cli = Cli()
        ids = {}
        for key, value in ACCEPTED.items():
            ids[key] = add_hostile(cli, value)
            log_hostile(cli, ids[key], value)
            cli("edit", str(ids[key]), f"--city={value}!", f"--field=second={value}")
        # A closed lead whose lost reason is hostile too.
        cli("advance", str(ids["ansi_csi"]), "--to", "lost", f"--reason={ACCEPTED['osc_title']}")
    return str(path), ids


@pytest.fixture
def corpus_db(_corpus, monkeypatch) -> dict[str, int]:
    monkeypatch.setenv("LEADCTL_DB", _corpus[0])
    return _corpus[1]


def test_stored_exactly(cli, corpus_db) -> None:
    for key, value in ACCEPTED.items():
        lead = cli.json("show", str(corpus_db[key]))
        stripped = value.strip()
        assert lead["name"] == stripped, key
        for o in TEXT_OPTIONS:
            field = o.replace("-", "_")
            if field == "captured_by":
                assert lead[field] == stripped.lower(), key
            elif field == "city":
                assert lead[field] == f"{value}!".strip(), key
            else:
                assert lead[field] == stripped, (key, field)
        assert lead["external_id"] == stripped, key
        assert lead["owner"] == stripped.lower(), key
        assert lead["tags"] == (parse_tags([value]) if len(value) <= 200 else []), key
        assert lead["fields"] == {"hostile": value, "second": value}, key
        notes = [a["note"] for a in lead["activities"] if a["kind"] in ("note", "call")]
        assert notes.count(value) == 2, key  # the add --note and the logged call
        call = next(a for a in lead["activities"] if a["kind"] == "call")
        # An attachment naming a file here is kept by its absolute path.
        local = str(Path(value).absolute()) if _is_file(value) else value
        assert call["outcome"] == value and call["attachment"] == local, key
        sale = next(a for a in lead["activities"] if a["kind"] == "sale")
        assert sale["product"] == value, key
        # Found by its own text: search and filters treat it as data, not SQL.
        found = cli.json("list", f"--source={stripped}")
        assert corpus_db[key] in [x["id"] for x in found], key
    lost = cli.json("show", str(corpus_db["ansi_csi"]))
    assert lost["lost_reason"] == ACCEPTED["osc_title"].strip()
    # SQL-looking text did nothing to the schema.
    assert len(cli.json("list")) == len(ACCEPTED)


def test_jsonl_and_csv_round_trip(cli, corpus_db) -> None:
    lines = cli("list", "--format", "jsonl").stdout.splitlines()
    assert len(lines) == len(ACCEPTED)
    import json

    by_id = {rec["id"]: rec for rec in map(json.loads, lines)}
    for key, value in ACCEPTED.items():
        assert by_id[corpus_db[key]]["company"] == value.strip(), key
    # JSON escapes invisible characters, so the raw text carries none of them.
    assert not terminal_leaks(cli("list", "--format", "json").stdout)


def _check_terminal_output(cli, corpus_db, *, rich: bool) -> None:
    runs = [["list"], ["list", "--search", "a"], ["stages"]]
    runs += [["show", str(corpus_db[key])] for key in ACCEPTED]
    for args in runs:
        r = cli(*args)
        leaks = terminal_leaks(r.stdout, rich=rich) + terminal_leaks(r.stderr, rich=rich)
        assert not leaks, (args, leaks)
        if rich:
            assert "\x1b]" not in r.stdout, args  # no OSC at all
            assert "\x1b[31m" not in r.stdout and "\x1b[2J" not in r.stdout, args
    shown = cli("show", str(corpus_db["rich_markup"])).stdout
    assert "[bold red]x[/]" in shown  # markup printed literally, not applied
    shown = cli("show", str(corpus_db["rich_link"])).stdout
    assert "[link=https://evil.example]click me[/link]" in shown
    assert ":warning:" in cli("show", str(corpus_db["rich_emoji_code"])).stdout
    shown = cli("show", str(corpus_db["ansi_csi"])).stdout
    assert "\\x1b[31mred" in shown  # visible, escaped


def test_plain_output_has_no_control_bytes(cli, corpus_db) -> None:
    assert render.use_plain()
    _check_terminal_output(cli, corpus_db, rich=False)


def test_rich_output_on_a_terminal_has_no_control_bytes(cli, corpus_db, monkeypatch) -> None:
    from rich.console import Console

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(render, "stdout_is_terminal", lambda: True)
    assert not render.use_plain()

    def console(out):
        return Console(
            file=out, force_terminal=True, color_system="truecolor", width=160,
            highlight=False, markup=False, emoji=False, soft_wrap=False,
        )  # fmt: skip

    monkeypatch.setattr(render, "_console", console)
    r = cli("list")
    assert "\x1b[" in r.stdout  # really the styled terminal path
    _check_terminal_output(cli, corpus_db, rich=True)


def test_csv_is_formula_safe(cli, corpus_db) -> None:
    text = cli("list", "--format", "csv").stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == len(ACCEPTED) + 1
    assert formula_cells(rows) == []
    # Neutralised, not mangled: the original follows the quote.
    cells = {c for row in rows for c in row}
    assert "'" + ACCEPTED["formula_hyperlink"] in cells
    assert "'@SUM(A1:A9)" in cells and "'+1+1" in cells and "'-2+3" in cells
    # Numbers and E.164 phones stay numbers.
    assert all(formula_cells([[c]]) == [] for c in ("-5", "+6281234567890"))


def test_error_messages_escape_hostile_text(cli, corpus_db) -> None:
    for key, value in ACCEPTED.items():
        if key == "long_ok":
            continue
        for args in (
            ["list", f"--stage={value}"],
            ["list", f"--sort={value}"],
            ["log", "1", f"--kind={value}"],
            ["advance", "1", f"--to={value}"],
            ["settings", "set", value, "x"],
            ["stages", "add", value, "--probability", "5"],
            ["add", "X", f"--email={value}"],
            ["add", "X", f"--value={value}"],
            ["add", "X", f"--expected-close={value}"],
        ):
            r = cli(*args, ok=False)
            assert r.exit_code in (2, 3), (key, args, r.stderr)
            assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, (key, args)
            assert not terminal_leaks(r.stderr), (key, args)


@pytest.mark.parametrize("key", sorted(REJECTED))
def test_rejected_values_are_explained_without_echo(cli, key) -> None:
    value = REJECTED[key]
    for args in (
        ["add", "--", value],
        ["add", "X", f"--company={value}"],
        ["add", "X", f"--field=k={value}"],
        ["add", "X", f"--note={value}"],
    ):
        r = cli(*args, ok=False)
        assert r.exit_code == 2, (args[:2], r.stderr)
        assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1
        assert "Santoso" not in r.stderr and "xxxxxxxxxx" not in r.stderr
        assert "yyyyyyyyyy" not in r.stderr
    r = cli("add", "X", "--expected-close", "z" * 100_000, ok=False)
    assert r.exit_code == 2 and len(r.stderr) < 1100 and r.stderr.count("\n") == 1
    cli("add", "Budi", "--phone", "0812-3456-7890")
    for args in (
        ["log", "1", "--kind", "note", f"--note={value}"],
        ["edit", "1", f"--city={value}"],
        ["edit", "1", f"--field=k={value}"],
        ["advance", "1", "--to", "lost", f"--reason={value}"],
    ):
        r = cli(*args, ok=False)
        assert r.exit_code == 2, (args[:3], r.stderr)
        assert r.stderr.count("\n") == 1
    lead = cli.json("show", "1")
    assert lead["city"] is None and lead["fields"] == {} and lead["stage"] == "new"
    assert len(cli.json("list")) == 1


@pytest.mark.slow
def test_invalid_utf8_from_argv_is_refused(tmp_path) -> None:
    env = {**os.environ, "LEADCTL_DB": str(tmp_path / "u.db")}
    run = [sys.executable.encode(), b"-m", b"leadctl"]
    subprocess.run([*run, b"add", b"Budi"], env=env, check=True, capture_output=True)
    for raw in INVALID_UTF8:
        for argv in ([b"add", b"X", b"--company", raw],
                     [b"log", b"1", b"--kind", b"note", b"--note", raw]):  # fmt: skip
            p = subprocess.run([*run, *argv], env=env, capture_output=True, timeout=60)
            err = p.stderr.decode("utf-8", "replace")
            assert p.returncode == 2, (argv, err)
            assert err.startswith("Error: ") and err.count("\n") == 1, (argv, err)
            assert "UTF-8" in err
    out = subprocess.run(
        [*run, b"list", b"--format", b"json"], env=env, check=True, capture_output=True
    )
    assert out.stdout.count(b'"id"') == 1


# ---- commands merged later: team, qualify, criteria, template, score ---------

# Names and labels of team members and criteria have shorter caps than lead text.
SHORT = {k: v for k, v in ACCEPTED.items() if len(v) <= 200}


@pytest.fixture(scope="module")
def _corpus_more(tmp_path_factory) -> tuple[str, dict[str, int]]:
    path = tmp_path_factory.mktemp("corpus_more") / "more.db"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"LEADCTL_DB": str(path), "LEADCTL_NOW": "2026-11-22T08:00:00Z",
                     "LEADCTL_TZ": "UTC", "LEADCTL_USER": "tester", "NO_COLOR": "1"}.items():  # fmt: skip
            mp.setenv(k, v)
        cli = Cli()
        ids = {}
        for n, (key, value) in enumerate(SHORT.items()):
            ids[key] = int(cli("add", f"--company={value}", "--", value).stdout)
            cli("team", "add", f"m{n}", f"--name={value}")
            cli("qualify", str(ids[key]), f"--need={value}")
            cli("criteria", "add", f"c{n}", f"--label={value}", "--type", "text", "--optional")
            cli("qualify", str(ids[key]), f"--answer=c{n}={value}")
            cli("followups", "add", str(ids[key]), "--due", "tomorrow 10:00", f"--note={value}")
    return str(path), ids


@pytest.fixture
def more_db(_corpus_more, monkeypatch) -> dict[str, int]:
    monkeypatch.setenv("LEADCTL_DB", _corpus_more[0])
    return _corpus_more[1]


def test_more_commands_store_exactly(cli, more_db) -> None:
    team = {m["handle"]: m for m in cli.json("team", "list")}
    criteria = {c["key"]: c for c in cli.json("criteria", "list")}
    for n, (key, value) in enumerate(SHORT.items()):
        assert team[f"m{n}"]["name"] == value.strip(), key
        assert criteria[f"c{n}"]["label"] == value.strip(), key
        q = cli.json("qualify", str(more_db[key]))
        assert q["answers"]["need"] == value.strip(), key
        assert q["answers"][f"c{n}"] == value.strip(), key


def test_more_commands_show_no_control_bytes(cli, more_db, monkeypatch) -> None:
    runs = [["team", "list"], ["criteria", "list"], ["score", "--all"]]
    for key in SHORT:
        lead = str(more_db[key])
        runs += [["qualify", lead], ["score", lead]]
        runs += [["template", "render", "product-intro", lead, "--allow-empty"]]
    for args in runs:
        r = cli(*args)
        assert not terminal_leaks(r.stdout) and not terminal_leaks(r.stderr), args
    for args in (["team", "list"], ["criteria", "list"]):
        text = cli(*args, "--format", "csv").stdout
        assert formula_cells(list(csv.reader(io.StringIO(text)))) == [], args


def test_template_bodies(cli, more_db) -> None:
    for n, (key, value) in enumerate(SHORT.items()):
        body = f"Halo {{first_name}}, {value}"
        r = cli("template", "add", f"h{n}", f"--body={body}", ok=False)
        if r.exit_code == 0:
            shown = cli.json("template", "show", f"h{n}")
            # Line ends are normalised to \n; nothing else changes.
            assert shown["body"] == body.replace("\r\n", "\n").strip(), key
            out = cli("template", "render", f"h{n}", str(more_db[key]))
            # A tab the template's author typed is allowed (and harmless).
            assert not terminal_leaks(out.stdout.replace("\t", " ")), key
            assert not terminal_leaks(out.stderr), key
        else:  # refused: explained in one line, never a traceback
            assert r.exit_code == 2, (key, r.stderr)
            assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, key


def test_followup_notes(cli, more_db) -> None:
    fus = cli.json("followups", "--all")
    by_lead = {f["lead_id"]: f for f in fus if "note" in f and f.get("id")}
    for key, value in SHORT.items():
        assert by_lead[more_db[key]]["note"] == value.strip(), key
    for args in (["followups", "--all"], ["followups", "--upcoming", "7d"]):
        r = cli(*args)
        assert not terminal_leaks(r.stdout) and not terminal_leaks(r.stderr), args
    text = cli("followups", "--all", "--format", "csv").stdout
    assert formula_cells(list(csv.reader(io.StringIO(text)))) == []
    ics = cli("followups", "--upcoming", "7d", "--format", "ics").stdout
    ics = ics.replace("\r\n", "\n")
    lines = ics.replace("\n ", "").split("\n")  # unfold continuation lines, then split
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == len(SHORT)
    assert not any(line.startswith("SUMMARY:EVIL") for line in lines)
    # RFC 5545: no control characters (CTL) other than tab in a TEXT value.
    assert not re.search("[\x00-\x08\x0a-\x1f\x7f]", ics.replace("\n", "")), "CTL in ICS"


REPORTS = [
    ["report", "summary"],
    ["report", "pipeline"],
    ["report", "funnel"],
    ["report", "conversion", "--by", "source"],
    ["report", "conversion", "--by", "product"],
    ["report", "conversion", "--by", "owner"],
    ["report", "velocity"],
    ["report", "stale"],
    ["report", "forecast"],
    ["report", "activity", "--period", "all"],
    ["report", "sources"],
    ["report", "customers"],
    ["report", "team"],
]


def test_reports_show_hostile_names_safely(cli, corpus_db, monkeypatch, tmp_path) -> None:
    import shutil

    # A private copy: source costs and targets are written for this test only.
    db = tmp_path / "reports.db"
    shutil.copy(os.environ["LEADCTL_DB"], db)
    monkeypatch.setenv("LEADCTL_DB", str(db))
    for n, value in enumerate(v for v in ACCEPTED.values() if len(v) <= 200):
        r = cli("source", "cost", "--", value.strip(), str(1000 + n), ok=False)
        assert r.exit_code in (0, 2), r.stderr
    for args in [*REPORTS, ["source", "costs"]]:
        r = cli(*args)
        assert not terminal_leaks(r.stdout) and not terminal_leaks(r.stderr), args
        text = cli(*args, "--format", "csv").stdout
        assert formula_cells(list(csv.reader(io.StringIO(text)))) == [], args
    sources = {row.get("source") for row in cli.json("report", "sources")["rows"]}
    assert ACCEPTED["sql"].strip() in sources


@pytest.mark.parametrize("rich", [False, True])
def test_a_custom_field_name_from_a_file_header_is_shown_safely(
    cli, tmp_path, monkeypatch, rich
) -> None:
    """An imported header becomes a custom field's name; `show` prints it as
    a key: escaped like the values."""
    from leadctl import render

    f = tmp_path / "h.csv"
    f.write_text("Name,[bold]Col\x1b[31m\nBudi,val\x1b[5m\n", encoding="utf-8")
    cli("import", str(f))
    monkeypatch.setattr(render, "stdout_is_terminal", lambda: rich)
    shown = cli("show", "1").stdout
    assert not terminal_leaks(shown, rich=rich) and "\x1b" not in shown
    assert "field:[bold]Col\\x1b[31m" in shown and "val\\x1b[5m" in shown
