"""E-mail, phone, money, tags, fields: examples and properties."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadctl import normalize
from leadctl.errors import ValidationError
from leadctl.normalize import (
    format_money,
    normalize_email,
    normalize_phone,
    parse_bool,
    parse_field,
    parse_money,
    parse_probability,
    parse_tags,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Budi@Example.CO.ID", "budi@example.co.id"),
        ("  siti.rahma+crm@mail.com ", "siti.rahma+crm@mail.com"),
        ("mailto:ANI@x.id", "ani@x.id"),
    ],
)
def test_email_is_lowercased(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["bad", "a@b", "a@@b.com", "@x.com", "a@.com", "a..b@x.com", "a b@x.com", "a@x.c0m"]
)
def test_bad_email_is_refused(raw: str) -> None:
    with pytest.raises(ValidationError, match="not a valid e-mail"):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("0812-3456-7890", "ID", "+6281234567890"),
        ("+62 812 3456 7890", "ID", "+6281234567890"),
        ("0062 812 3456 7890", "ID", "+6281234567890"),
        ("(021) 5290 1234", "ID", "+622152901234"),
        ("6123 4567", "SG", "+6561234567"),
        ("+1 (415) 555-2671", "ID", "+14155552671"),
    ],
)
def test_phone_e164(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["12", "0812", "hello", "+999 1234", "", "0812-3456-7890-1234-55"])
def test_bad_phone_is_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        normalize_phone(raw, "ID")


@pytest.mark.parametrize(
    ("raw", "ext"),
    [("021 5290 1234 ext 5", "5"), ("+62 21 5290 1234 x12", "12"), ("(021) 5290 1234 #7", "7")],
)
def test_a_phone_with_an_extension_is_refused_saying_where_it_can_go(raw: str, ext: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_phone(raw, "ID")
    assert info.value.message == (
        f"{raw!r} has an extension ({ext}): leadctl stores phone numbers without one"
    )
    assert info.value.hint == (
        f"Give the number alone (+622152901234) and keep the extension in a custom field,"
        f" e.g. phone_ext={ext}."
    )


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("15000000", "IDR", 15_000_000),
        ("15,000,000", "IDR", 15_000_000),
        ("15.000.000", "IDR", 15_000_000),
        ("Rp 15.000.000", "IDR", 15_000_000),
        ("Rp 7.500.000", "IDR", 7_500_000),
        ("Rp15.000.000,00", "IDR", 15_000_000),
        ("IDR 2,500,000", "IDR", 2_500_000),
        ("1.5jt", "IDR", 1_500_000),
        ("1,5 juta", "IDR", 1_500_000),
        ("250rb", "IDR", 250_000),
        ("15k", "IDR", 15_000),
        ("2 miliar", "IDR", 2_000_000_000),
        ("7.500", "IDR", 7_500),
        ("$1,054.50", "USD", 105_450),
        ("1054", "USD", 105_400),
        ("1054.0", "USD", 105_400),
        ("1.054,50", "USD", 105_450),
        ("0", "IDR", 0),
        (1500, "IDR", 1500),
    ],
)
def test_money_forms(raw: str, currency: str, expected: int) -> None:
    assert parse_money(raw, currency) == expected


@pytest.mark.parametrize(
    "raw", ["", "abc", "-5", "1.5m", "15,00,000", "1.2.3,4,5", "Rp", "12.5", "1e5", "(100)"]
)
def test_bad_money_is_refused(raw: str) -> None:
    # '12.5' IDR has a fraction of a rupiah, which IDR does not use here.
    with pytest.raises(ValidationError):
        parse_money(raw, "IDR")


def test_money_display() -> None:
    assert format_money(15_000_000, "IDR") == "Rp 15.000.000"
    assert format_money(105_450, "USD") == "USD 1,054.50"
    assert format_money(None, "IDR") == ""


def test_tags_fields_bools_probability() -> None:
    assert parse_tags("Hot; B2B, hot ,,") == ["hot", "b2b"]
    assert parse_tags(["VIP", "vip "]) == ["vip"]
    assert parse_field("birthday=1990-04-02") == ("birthday", "1990-04-02")
    assert parse_field("note=a=b") == ("note", "a=b")
    with pytest.raises(ValidationError):
        parse_field("no-equals")
    assert parse_bool("Ya") is True and parse_bool("tidak") is False
    with pytest.raises(ValidationError):
        parse_bool("maybe")
    assert parse_probability("35%") == 35.0
    with pytest.raises(ValidationError):
        parse_probability("120")


# ---- properties: idempotent, and only ValidationError escapes -------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_email_only_raises_validation_error_and_is_idempotent(text: str) -> None:
    try:
        email = normalize_email(text)
    except ValidationError:
        return
    assert normalize_email(email) == email


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789+-() .", max_size=25), st.sampled_from(["ID", "SG", "US"]))
def test_phone_only_raises_validation_error_and_is_idempotent(text: str, region: str) -> None:
    try:
        phone = normalize_phone(text, region)
    except ValidationError:
        return
    assert phone.startswith("+")
    assert normalize_phone(phone, region) == phone


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_money_only_raises_validation_error(text: str) -> None:
    try:
        value = parse_money(text, "IDR")
    except ValidationError:
        return
    assert value >= 0


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=normalize.MAX_MINOR),
    st.sampled_from(sorted(normalize.CURRENCY_EXPONENTS)),
)
def test_money_round_trips_through_display(minor: int, currency: str) -> None:
    """Every currency: what a table shows reads back as the same amount
    (KWD 1.500 is one and a half dinars, not fifteen hundred)."""
    assert parse_money(format_money(minor, currency), currency) == minor


def test_amounts_stop_where_report_sums_would_overflow() -> None:
    assert parse_money("999.999.999.999.999", "IDR") == normalize.MAX_MINOR
    for text in ("1.000.000.000.000.000", "9223372036854775807", "1e30"):
        with pytest.raises(ValidationError, match=r"too large|not an amount"):
            parse_money(text, "IDR")


def test_three_decimal_currencies() -> None:
    assert parse_money("KWD 1.500", "KWD") == 1_500
    assert parse_money("1,500", "KWD") == 1_500_000  # a comma alone still groups
    assert parse_money("BHD 1,234.567", "BHD") == 1_234_567
    assert parse_money("Rp 7.500.000", "IDR") == 7_500_000
    assert parse_money("7.500", "IDR") == 7_500


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_tags_and_fields_only_raise_validation_error(text: str) -> None:
    tags = parse_tags(text)
    assert parse_tags(";".join(tags)) == tags
    with contextlib.suppress(ValidationError):
        parse_field(text)
    with contextlib.suppress(ValidationError):
        parse_bool(text)


def test_only_iso_currency_codes_are_taken(cli: Any, tmp_path: Any) -> None:
    assert normalize.normalize_currency(" usd ") == "USD"
    for bad in ("FOO", "XAU", "US", "usd1"):
        with pytest.raises(ValidationError, match="not a currency code"):
            normalize.normalize_currency(bad)
    src = tmp_path / "in.csv"
    src.write_text("name,value\nA,10\n", encoding="utf-8")
    for args in (("settings", "set", "currency", "FOO"), ("add", "X", "--currency", "FOO"),
                 ("import", str(src), "--currency", "FOO")):  # fmt: skip
        r = cli(*args, ok=False)
        assert r.exit_code == 2 and "not a currency code" in r.stderr, args
    assert cli.json("list", "-f", "json") == []
    assert (
        cli.json("add", "Y", "--value", "10", "--currency", "ugx", "-f", "json")["currency"]
        == "UGX"
    )
