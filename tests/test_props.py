"""Property tests over every parser a command-line argument goes through.

Whatever a person (or a CSV) types, a parser returns a value or raises the
project's own ValidationError/LeadctlError, never anything else; and
normalisers are idempotent (normalising a normal value changes nothing).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leadctl import dates, leads, normalize
from leadctl.errors import LeadctlError, ValidationError

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)
JAKARTA = ZoneInfo("Asia/Jakarta")

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Free text with the characters that break parsers: controls, surrogates,
# digits from other scripts, separators, signs, NUL, bidi marks.
nasty_text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=40
) | st.text(alphabet="0123456789 .,'-+:/%$()[]eEkKmMbBjJtT\x00\u202e\u0663\uff11\t\n", max_size=30)

date_words = st.sampled_from(
    ["now", "today", "tomorrow", "yesterday", "mon", "Friday", "eod", "eow", "eom", "eoy",
     "+3d", "-2w", "+1m", "+1y", "+4h", "+30min", "+9999y", "-9999y", "+0d", "2026-02-30",
     "2026-12-01", "2026-12-01 14:00", "2026-12-01T14:00:00Z", "1 Dec 2026 2pm", "31/12/2026",
     "12/31/2026", "Dec", "at", "9am", "25:00", "13pm", "0am", "10:61", "9999-12-31 23:59",
     "0001-01-01", "jan 32", "tomorrow 10:00", "mon 9am", "+3d 14:30", "eom 25:00"]
)  # fmt: skip
date_text = (
    nasty_text
    | date_words
    | st.tuples(date_words, st.sampled_from(["", " ", "  at "]), date_words).map("".join)
    | st.integers(-(10**6), 10**6).map(lambda n: f"{n:+d}d")
    | st.integers(-(10**5), 10**5).map(lambda n: f"{n:+d}m")
)
money_text = (
    nasty_text
    | st.from_regex(
        r"\A(Rp ?|USD |\$|€)?[0-9]{1,12}([.,'][0-9]{1,3}){0,4}\s?(k|rb|jt|juta|m|bn|miliar)?\Z"
    )
    | st.integers(min_value=-(10**20), max_value=10**20).map(str)
    | st.decimals(allow_nan=True, allow_infinity=True).map(str)
)
phone_text = (
    nasty_text
    | st.from_regex(r"\A(\+|00)?[0-9 ()\-.]{0,25}\Z")
    | st.sampled_from(
        ["0812-3456-7890", "+62 812 3456 7890", "0062 812 3456 7890", "+1 202 555 0123", "+"]
    )
)
email_text = (
    nasty_text
    | st.emails().map(lambda e: e.upper())
    | st.sampled_from(
        [
            "mailto:Budi@Example.CO.ID",
            "a@b",
            "a..b@c.de",
            ".a@b.cd",
            "a@-b.cd",
            "a@b.c0m",
            "a@xn--p1ai",
        ]
    )
)


def only_ours(fn, *args, **kw):
    """Call a parser: it returns or raises a LeadctlError, nothing else."""
    try:
        return fn(*args, **kw)
    except ValidationError as exc:
        assert str(exc) and "\n" not in exc.message
        return None
    except LeadctlError:
        return None


@SETTINGS
@given(date_text, st.sampled_from([timezone.utc, JAKARTA]), st.booleans())
@example("+9999y", timezone.utc, False)
@example("eom 25:00", timezone.utc, False)
@example("\x00", timezone.utc, False)
def test_parse_when(text, tz, dayfirst) -> None:
    result = only_ours(dates.parse_when, text, NOW, tz, dayfirst=dayfirst)
    if result is not None:
        assert result.tzinfo is not None and result.utcoffset() == timedelta(0)
        # Normalised output is accepted and means the same instant.
        assert dates.parse_when(result.isoformat(), NOW, tz) == result
        if result.microsecond == 0 and result.year >= 1000:
            assert dates.parse_when(dates.to_store(result), NOW, tz) == result


@SETTINGS
@given(
    date_text | st.from_regex(r"\A[0-9]{4}-[0-9]{2}\Z"), st.sampled_from([timezone.utc, JAKARTA])
)
@example("2026-13", timezone.utc)
@example("0000-01", timezone.utc)
def test_parse_day(text, tz) -> None:
    result = only_ours(dates.parse_day, text, NOW, tz)
    if result is not None and result.year > 1:
        assert dates.parse_day(result.isoformat(), NOW, tz) == result


@SETTINGS
@given(money_text, st.sampled_from(["IDR", "USD", "KWD", "JPY"]))
@example("1e400", "USD")
@example("NaN", "IDR")
@example("Infinity", "IDR")
@example("1" * 400, "IDR")
def test_parse_money(text, currency) -> None:
    result = only_ours(normalize.parse_money, text, currency)
    if result is not None:
        assert isinstance(result, int) and result >= 0
        # What leadctl prints, it reads back as the same amount. (Not for
        # 3-decimal currencies: 'KWD 1.500' reads as grouped thousands.)
        if normalize.currency_exponent(currency) <= 2:
            shown = normalize.format_money(result, currency)
            assert normalize.parse_money(shown, currency) == result
        if normalize.currency_exponent(currency) == 0:
            assert normalize.parse_money(str(result), currency) == result


@SETTINGS
@given(phone_text, st.sampled_from(["ID", "SG", "US", "GB"]))
def test_normalize_phone(text, region) -> None:
    result = only_ours(normalize.normalize_phone, text, region)
    if result is not None:
        assert result.startswith("+")
        assert normalize.normalize_phone(result, region) == result


@SETTINGS
@given(email_text)
def test_normalize_email(text) -> None:
    result = only_ours(normalize.normalize_email, text)
    if result is not None:
        assert result == result.strip().lower()
        assert normalize.normalize_email(result) == result


@SETTINGS
@given(nasty_text | st.tuples(nasty_text, nasty_text).map("=".join))
def test_parse_field(text) -> None:
    result = only_ours(normalize.parse_field, text)
    if result is not None:
        key, value = result
        assert normalize.parse_field(f"{key}={value}") == (key, value)


@SETTINGS
@given(nasty_text | st.lists(nasty_text, max_size=5) | st.none())
def test_parse_tags(text) -> None:
    tags = only_ours(normalize.parse_tags, text)
    assert tags is not None  # it never refuses: it cleans
    assert normalize.parse_tags(tags) == tags
    assert len(set(tags)) == len(tags) and all(t and t == t.strip().lower() for t in tags)


@SETTINGS
@given(nasty_text | st.sampled_from(["yes", "No", " Y ", "ya", "tidak", "✓", "", "2"]))
def test_parse_bool(text) -> None:
    result = only_ours(normalize.parse_bool, text)
    if result is not None:
        assert normalize.parse_bool("yes" if result else "no") is result


@SETTINGS
@given(
    nasty_text
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-1, max_value=101).map(lambda f: f"{f}%")
)
@example("nan")
@example("-0")
@example("1e400")
def test_parse_probability(value) -> None:
    result = only_ours(normalize.parse_probability, value)
    if result is not None:
        assert 0 <= result <= 100
        assert normalize.parse_probability(str(result)) == result


@SETTINGS
@given(nasty_text | st.sampled_from(["RP", "usd", " eur ", "IDRX", "12A"]))
def test_normalize_currency(text) -> None:
    result = only_ours(normalize.normalize_currency, text)
    if result is not None:
        assert normalize.normalize_currency(result) == result


@SETTINGS
@given(
    nasty_text
    | st.lists(
        st.sampled_from([*leads.SORT_KEYS, "-score", "+name", "x", "", " "]), max_size=4
    ).map(",".join)
)
def test_sort_keys(text) -> None:
    result = only_ours(leads._order, text)
    if result is not None:
        assert result.endswith("l.id")
        # Only known column expressions reach the SQL, whatever was typed.
        allowed = set(leads.SORT_KEYS.values())
        for part in result.split(", ")[:-1]:
            col = part.removesuffix(" IS NULL").removesuffix(" ASC").removesuffix(" DESC")
            assert col in allowed, part


@SETTINGS
@given(nasty_text | st.integers(9_990, 10_010).map(lambda n: "é" * n))
def test_check_text(text) -> None:
    result = only_ours(normalize.check_text, "note", text)
    if result is not None:
        assert result == text and "\x00" not in text and len(text) <= normalize.MAX_TEXT


def test_sort_rejects_sql(conn) -> None:
    with pytest.raises(ValidationError):
        leads.list_leads(conn, leads.LeadFilter(), now=NOW, sort="name; DROP TABLE leads")
    assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 0


# ---- parsers of the commands merged later --------------------------------------


number_text = nasty_text | st.sampled_from(
    ["1e5000", "1e99999999", "-1e-99999999", "NaN", "sNaN", "Infinity", "1_000", "1,5", "0e9"]
)


@SETTINGS
@given(st.sampled_from(["yesno", "number", "date", "text", "choice"]), number_text | date_text)
@example("number", "1e99999999")
@example("number", "1e5000")
def test_qualify_parse_answer(kind, text) -> None:
    from leadctl import qualify
    from leadctl.qualify import Criterion

    c = Criterion("k", "K", kind, ["Small", "Large"], True, 1)
    result = only_ours(qualify.parse_answer, c, text, NOW, JAKARTA)
    if result is not None:
        assert qualify.parse_answer(c, result, NOW, JAKARTA) == result
        if kind == "number":
            assert len(result) < 50


@SETTINGS
@given(nasty_text | st.integers(-(10**30), 10**30).map(str))
@example(str(10**4000))
def test_team_parsers(text) -> None:
    from leadctl import team

    for parse in (team.parse_capacity, team.parse_window):
        result = only_ours(parse, text)
        if result is not None:
            assert 0 <= result < 2**63, parse  # fits an SQLite INTEGER
            assert parse(str(result)) == result
    handle = only_ours(team.normalize_handle, text)
    if handle is not None:
        assert team.normalize_handle(handle) == handle
    filters = only_ours(team.parse_filter, text)
    if filters is not None:
        assert team.parse_filter(filters) == filters


@SETTINGS
@given(nasty_text | st.text(alphabet="{}abcdefghijklmnopqrstuvwxyz_ |:", max_size=40))
@example("{first_name|title}")
@example("{{}}")
def test_template_parser(text) -> None:
    from leadctl import templates

    only_ours(templates.parse, text)
    name = only_ours(templates.normalize_name, text)
    if name is not None:
        assert templates.normalize_name(name) == name


@SETTINGS
@given(st.lists(nasty_text | st.sampled_from(["source", "field:visits", "tags", ":", "field:"])))
def test_prediction_fields(names) -> None:
    from leadctl import predict

    result = only_ours(predict.check_fields, names)
    if result is not None:
        assert predict.check_fields(result) == result


@SETTINGS
@given(st.datetimes(timezones=st.just(timezone.utc)))
def test_stored_times_are_fixed_width_and_round_trip(dt) -> None:
    stored = dates.to_store(dt)
    assert len(stored) == 20 and stored.endswith("Z")  # sorts as text
    assert dates.from_store(stored) == dt.replace(microsecond=0)


step_text = nasty_text | st.tuples(
    st.sampled_from(["0d", "3", "+3d", "2w", "¹d", "9" * 30 + "d", "-1d", "x"]),
    st.sampled_from([" call", " email intro", " fax", "", " whatsapp a b"]),
    st.sampled_from(["", " : ask", ":", " : \x00"]),
).map("".join)


@SETTINGS
@given(step_text)
@example("¹d call")
def test_sequence_steps(text) -> None:
    from leadctl import sequences

    step = only_ours(sequences.parse_step, text, 1)
    if step is not None:
        again = f"{step.delay_days}d {step.kind} {step.template or ''}".strip()
        if step.note:
            again += f" : {step.note}"
        assert sequences.parse_step(again, 1) == step
    days = only_ours(sequences.parse_delay, text)
    if days is not None:
        assert sequences.parse_delay(f"{days}d") == days


@SETTINGS
@given(nasty_text | st.sampled_from(["7d", "2w", "7", "¹", "٣d", "9" * 5000, "0", "-1d"]))
def test_followup_span(text) -> None:
    from leadctl import agenda

    days = only_ours(agenda.parse_span, text)
    if days is not None:
        assert 0 <= days <= 3660 and agenda.parse_span(f"{days}d") == days
