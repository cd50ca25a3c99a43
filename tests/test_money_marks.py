"""A currency mark in an amount must name the amount's currency: 'USD 10' is
never stored as Rp 10, nor 'Rp 7.500.000' as USD 7,500,000.00. And a JSON
list's null is no tag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadctl import normalize
from leadctl.errors import ValidationError
from leadctl.normalize import format_money, parse_money, parse_tags


def _import(cli: Any, path: Path, *args: str) -> Any:
    return cli.json("import", str(path), *args)


# ---- add --value --------------------------------------------------------------


def test_add_refuses_an_amount_in_another_currency(cli: Any) -> None:
    for text, mark in (("USD 10", "USD"), ("€250", "EUR"), ("$10", "dollars"), ("10 SGD", "SGD")):
        r = cli("add", "A", "--value", text, ok=False)
        assert r.exit_code == 2, text
        message = r.stderr.strip()
        assert message == (
            f"Error: '{text}' is in {mark}, not IDR. Give the amount in IDR, or set the "
            f"currency (add --currency {'USD' if mark == 'dollars' else mark}; import: a "
            "Currency column or --currency)."
        )
    assert cli.json("list") == []


def test_add_with_the_matching_currency_stores_it(cli: Any) -> None:
    lead = cli.json("add", "A", "--value", "USD 10", "--currency", "USD")
    assert (lead["value"], lead["currency"]) == (1000, "USD")
    lead = cli.json("add", "B", "--value", "Rp 7.500.000")
    assert (lead["value"], lead["currency"]) == (7_500_000, "IDR")
    lead = cli.json("add", "C", "--value", "$1,054.50", "--currency", "SGD")
    assert (lead["value"], lead["currency"]) == (105_450, "SGD")


def test_a_usd_database_refuses_rupiah(cli: Any) -> None:
    cli("settings", "set", "currency", "USD")
    r = cli("add", "A", "--value", "Rp 7.500.000", ok=False)
    assert r.exit_code == 2 and "'Rp 7.500.000' is in IDR, not USD" in r.stderr
    assert cli.json("add", "B", "--value", "US$ 10")["value"] == 1000


# ---- import --------------------------------------------------------------------


def test_import_rejects_marked_amounts_in_another_currency(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "usd.csv"
    path.write_text("Name,Email,Value\nA,a@x.com,USD 10\nB,b@x.com,€250\nC,c@x.com,Rp 5.000\n")
    summary = _import(cli, path)
    assert summary["inserted"] == 1
    reasons = {r["line"]: r["reason"] for r in summary["rejected"]}
    assert reasons[2].startswith("'USD 10' is in USD, not IDR.")
    assert reasons[3].startswith("'€250' is in EUR, not IDR.")
    assert [(lead["name"], lead["value"]) for lead in cli.json("list")] == [("C", 5000)]


def test_import_with_a_currency_column_takes_its_marked_amount(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "cur.csv"
    path.write_text(
        "Name,Email,Value,Currency\nA,a@x.com,USD 10,USD\nB,b@x.com,USD 10,\nC,c@x.com,$5,SGD\n"
    )
    summary = _import(cli, path)
    assert summary["inserted"] == 2
    assert [r["line"] for r in summary["rejected"]] == [3]  # no currency: the database's IDR
    got = {lead["name"]: (lead["value"], lead["currency"]) for lead in cli.json("list")}
    assert got == {"A": (1000, "USD"), "C": (500, "SGD")}


def test_import_with_currency_option(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "usd.csv"
    path.write_text("Name,Email,Value\nA,a@x.com,USD 10\nB,b@x.com,Rp 5.000\n")
    summary = _import(cli, path, "--currency", "USD")
    assert summary["inserted"] == 1
    assert summary["rejected"][0]["line"] == 3
    assert "'Rp 5.000' is in IDR, not USD" in summary["rejected"][0]["reason"]
    assert [(lead["value"], lead["currency"]) for lead in cli.json("list")] == [(1000, "USD")]


def test_rupiah_into_a_usd_database_is_rejected(cli: Any, tmp_path: Path) -> None:
    cli("settings", "set", "currency", "USD")
    path = tmp_path / "rp_in_usd.csv"
    path.write_text("Name,Email,Value\nA,a@x.com,Rp 7.500.000\n")
    summary = _import(cli, path)
    assert summary["inserted"] == 0
    assert summary["rejected"] == [
        {
            "line": 2,
            "reason": "'Rp 7.500.000' is in IDR, not USD. Give the amount in USD, or set the "
            "currency (add --currency IDR; import: a Currency column or --currency).",
        }
    ]
    assert cli.json("list") == []


def test_json_null_tag_is_dropped(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "jnull.jsonl"
    path.write_text(json.dumps({"name": "T", "email": "t@x.com", "tags": ["vip", None]}) + "\n")
    assert _import(cli, path)["inserted"] == 1
    assert cli.json("list")[0]["tags"] == ["vip"]


def test_parse_tags_drops_none() -> None:
    assert parse_tags(["vip", None, "B2B;hot"]) == ["vip", "b2b", "hot"]
    assert parse_tags([None]) == []


# ---- parse_money: examples ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("Rp 7.500.000", "IDR", 7_500_000),
        ("rp. 5.000", "IDR", 5_000),
        ("IDR 2,500,000", "IDR", 2_500_000),
        ("USD 10", "USD", 1_000),
        ("10usd", "USD", 1_000),
        ("US$ 10", "USD", 1_000),
        ("$10", "USD", 1_000),
        ("$10", "SGD", 1_000),  # '$' alone: any dollar
        ("$5.000", "CLP", 5_000),  # ... and the pesos that write '$'
        ("S$ 10", "SGD", 1_000),
        ("€250", "EUR", 25_000),
        ("£5", "GBP", 500),
        ("¥100", "JPY", 100),
        ("¥100", "CNY", 10_000),
        ("SEK 1.000,50", "SEK", 100_050),  # any ISO code, not only the table's
        ("HRK 10", "HRK", 1_000),  # a database's own older code
        ("1.5 mio", "IDR", 1_500_000),  # three letters that are a multiplier
        ("2 mil", "IDR", 2_000_000),
        ("10 thousand", "USD", 1_000_000),
    ],
)
def test_a_matching_mark_is_accepted(text: str, currency: str, minor: int) -> None:
    assert parse_money(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "named"),
    [
        ("USD 10", "IDR", "USD"),
        ("usd10", "IDR", "USD"),
        ("€250", "IDR", "EUR"),
        ("Rp 7.500.000", "USD", "IDR"),
        ("IDR 5000", "SGD", "IDR"),
        ("$10", "IDR", "dollars"),
        ("$10", "EUR", "dollars"),
        ("US$ 10", "SGD", "USD"),
        ("S$ 10", "USD", "SGD"),
        ("£5", "EUR", "GBP"),
        ("¥100", "IDR", "JPY or CNY"),
        ("SEK 10", "NOK", "SEK"),
        ("USD 10 Rp", "USD", "IDR"),  # every mark must match
    ],
)
def test_a_mark_naming_another_currency_is_refused(text: str, currency: str, named: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_money(text, currency)
    assert exc.value.message == f"{text!r} is in {named}, not {currency}"
    assert exc.value.hint is not None and f"Give the amount in {currency}" in exc.value.hint


# ---- parse_money: properties ------------------------------------------------------

# The table's currencies, and ISO codes format_money writes with two decimals.
_CODES = [*sorted(normalize.CURRENCY_EXPONENTS), "SEK", "NOK", "BRL", "ZAR", "TWD", "ALL"]
_SYMBOL_TEXT = sorted(normalize._SYMBOLS)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=normalize.MAX_MINOR),
    st.sampled_from(_CODES),
    st.sampled_from(_CODES),
)
def test_formatted_money_reads_back_only_in_its_currency(
    minor: int, shown: str, target: str
) -> None:
    """What format_money writes in one currency parses as the same amount
    under it, and is refused under any other (its mark, Rp or the code,
    names only its own currency)."""
    text = format_money(minor, shown)
    assert parse_money(text, shown) == minor
    if target != shown:
        with pytest.raises(ValidationError, match=r" is in "):
            parse_money(text, target)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_SYMBOL_TEXT),
    st.integers(min_value=0, max_value=10**9),
    st.sampled_from(sorted(normalize.ISO_CURRENCIES)),
    st.booleans(),
)
def test_a_symbol_is_taken_exactly_for_its_currencies(
    symbol: str, amount: int, currency: str, after: bool
) -> None:
    text = f"{amount} {symbol.upper()}" if after else f"{symbol.upper()}{amount}"
    allowed, _name, _hint = normalize._SYMBOLS[symbol]
    if currency in allowed:
        assert parse_money(text, currency) == amount * 10 ** normalize.currency_exponent(currency)
    else:
        with pytest.raises(ValidationError, match=r" is in "):
            parse_money(text, currency)
