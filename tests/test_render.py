"""Untrusted text never becomes markup, control codes or spreadsheet formulas."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from leadctl import render
from tests.conftest import Cli

HOSTILE = "[bold red]x[/] \x1b[31mred\x1b]0;title\x07 \u202eevil\x9b \x00"


def test_safe_text_escapes_controls() -> None:
    out = render.safe_text(HOSTILE)
    for bad in ("\x1b", "\x07", "\u202e", "\x9b", "\x00"):
        assert bad not in out
    assert "[bold red]x[/]" in out and "\\x1b[31m" in out and "\\u202e" in out


def test_json_round_trips_exactly() -> None:
    text = render.json_dumps({"name": HOSTILE})
    assert "\x1b" not in text and "\u202e" not in text and "\x9b" not in text
    assert json.loads(text)["name"] == HOSTILE


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("+6281234567890", "+6281234567890"),
        ("-15", "-15"),
        ("plain", "plain"),
    ],
)
def test_csv_neutralises_formulas(cell: str, expected: str) -> None:
    assert render.csv_safe(cell) == expected


def test_rich_table_does_not_interpret_lead_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "use_plain", lambda: False)
    out = io.StringIO()
    render.table([{"name": "[bold]x[/bold] \x1b[2J"}], [render.Column("name", "Name")], out=out)
    text = out.getvalue()
    assert "[bold]x[/bold]" in text and "\x1b[2J" not in text


def test_cli_output_is_safe(cli: Cli) -> None:
    cli("add", "[bold red]x[/] \x1b]0;pwned\x07 \u202eboss", "--company", "=HYPERLINK(1)")
    table = cli("list").stdout
    assert "[bold red]x[/]" in table
    assert "\x1b" not in table and "\x07" not in table and "\u202e" not in table
    assert ",'=HYPERLINK(1)," in cli("list", "--format", "csv").stdout
    assert cli.json("show", "1")["name"] == "[bold red]x[/] \x1b]0;pwned\x07 \u202eboss"


def test_bar() -> None:
    assert render.bar(10, 10, width=4) == "████"
    assert render.bar(0, 10) == ""
    assert render.bar(5, 0) == ""


def test_csv_of_records_holds_json_and_followups_csv_has_every_documented_key(cli: Any) -> None:
    import csv as csv_mod

    cli("add", "A", "--tag", "x", "--tag", "y")
    cli("followups", "add", "1", "--due", "tomorrow")
    shown = next(csv_mod.DictReader(io.StringIO(cli("show", "1", "-f", "csv").stdout)))
    assert shown["tags"] == "x;y"
    assert [a["kind"] for a in json.loads(shown["activities"])] == ["created"]
    header = cli("followups", "--all", "-f", "csv").stdout.splitlines()[0].split(",")
    assert set(cli.json("followups", "--all")[0]) == set(header)


def test_a_plain_table_cuts_long_cells_but_not_the_last_column() -> None:
    out = io.StringIO()
    cols = [render.Column("a", "A"), render.Column("b", "B")]
    render._plain_table([["x" * 80, "why: " + "y" * 200]], cols, None, out)
    line = out.getvalue().splitlines()[1]
    assert line.startswith("x" * 59 + "…  why: ") and line.endswith("y" * 200)
