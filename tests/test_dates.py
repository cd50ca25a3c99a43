"""The date words people type (leadctl.dates.parse_when), with the time injected.

Fixed now: Sunday 2026-11-22 08:00 UTC.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadctl.dates import WEEKDAYS, from_store, parse_day, parse_when, to_store
from leadctl.errors import ValidationError

UTC = timezone.utc
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)  # a Sunday
JKT = ZoneInfo("Asia/Jakarta")


def p(text: str, now: datetime = NOW, tz: object = UTC, **kw: object) -> datetime:
    return parse_when(text, now, tz, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", "2026-11-22T00:00:00Z"),
        ("today 15:00", "2026-11-22T15:00:00Z"),
        ("tomorrow", "2026-11-23T00:00:00Z"),
        ("tomorrow 10:00", "2026-11-23T10:00:00Z"),
        ("Tomorrow at 9am", "2026-11-23T09:00:00Z"),
        ("yesterday 15:00", "2026-11-21T15:00:00Z"),
        ("mon", "2026-11-23T00:00:00Z"),
        ("monday 9:30pm", "2026-11-23T21:30:00Z"),
        ("sat", "2026-11-28T00:00:00Z"),
        ("sun", "2026-11-29T00:00:00Z"),  # said on a Sunday: next week's
        ("+3d", "2026-11-25T08:00:00Z"),
        ("+3d 14:30", "2026-11-25T14:30:00Z"),
        ("3 days", "2026-11-25T08:00:00Z"),
        ("+2w", "2026-12-06T08:00:00Z"),
        ("-2w", "2026-11-08T08:00:00Z"),
        ("+1m", "2026-12-22T08:00:00Z"),
        ("+4h", "2026-11-22T12:00:00Z"),
        ("+30min", "2026-11-22T08:30:00Z"),
        ("eow", "2026-11-22T23:59:59Z"),  # a Sunday is the end of its own week
        ("eom", "2026-11-30T23:59:59Z"),
        ("eom 17:00", "2026-11-30T17:00:00Z"),
        ("eoy", "2026-12-31T23:59:59Z"),
        ("2026-12-01", "2026-12-01T00:00:00Z"),
        ("2026-12-01 14:00", "2026-12-01T14:00:00Z"),
        ("2026-12-01T14:00:00+07:00", "2026-12-01T07:00:00Z"),
        ("1 Dec 2026 2pm", "2026-12-01T14:00:00Z"),
    ],
)
def test_words(text: str, expected: str) -> None:
    assert to_store(p(text)) == expected


def test_default_time_applies_to_dates_only() -> None:
    nine = time(9, 0)
    assert to_store(p("tomorrow", default_time=nine)) == "2026-11-23T09:00:00Z"
    assert to_store(p("2026-12-01", default_time=nine)) == "2026-12-01T09:00:00Z"
    assert to_store(p("tomorrow 10:00", default_time=nine)) == "2026-11-23T10:00:00Z"
    assert to_store(p("+3d", default_time=nine)) == "2026-11-25T08:00:00Z"


def test_words_are_read_in_the_time_zone() -> None:
    # 08:00 UTC is 15:00 in Jakarta: 'today 10:00' there is 03:00 UTC.
    assert to_store(p("today 10:00", tz=JKT)) == "2026-11-22T03:00:00Z"
    late = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # already the 23rd (Monday) in Jakarta
    assert to_store(p("tomorrow", now=late, tz=JKT)) == "2026-11-23T17:00:00Z"
    assert to_store(p("mon", now=late, tz=JKT)) == "2026-11-29T17:00:00Z"


def test_words_with_a_zone_after_the_time() -> None:
    """The day is read here (the database's zone), the time in the zone given."""
    for text, stored in (
        ("tomorrow 10:00 WIB", "2026-11-23T03:00:00Z"),
        ("tomorrow at 9:30pm wita", "2026-11-23T13:30:00Z"),
        ("mon 9am +07:00", "2026-11-23T02:00:00Z"),
        ("mon 9am +0530", "2026-11-23T03:30:00Z"),
        ("today 14:00 UTC", "2026-11-22T14:00:00Z"),
        ("eom 17:00 WIT", "2026-11-30T08:00:00Z"),
        ("+3d", "2026-11-25T08:00:00Z"),
    ):
        assert to_store(p(text, tz=JKT)) == stored, text
    for bad in ("tomorrow 10:00 +25:00", "tomorrow 10:00 XYZ", "tomorrow WIB"):
        with pytest.raises(ValidationError):
            p(bad, tz=JKT)


def test_month_end_clamps() -> None:
    jan31 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    assert to_store(p("+1m", now=jan31)) == "2026-02-28T12:00:00Z"
    assert to_store(p("eom", now=datetime(2028, 2, 3, tzinfo=UTC))) == "2028-02-29T23:59:59Z"


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "soonish", "x", "tomorrow 25:00", "mon 9", "+3x", "eom whenever", "2026-13-40"],
)
def test_bad_input_raises_validation_error(bad: str) -> None:
    with pytest.raises(ValidationError):
        p(bad)


def test_parse_day() -> None:
    assert parse_day("2026-12", NOW, UTC) == date(2026, 12, 31)
    assert parse_day("tomorrow", NOW, UTC) == date(2026, 11, 23)


# ---- properties -------------------------------------------------------------

nows = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)
zones = st.sampled_from([UTC, JKT, ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")])
times = st.one_of(
    st.none(),
    st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59)),
    st.builds(lambda h, ap: f"{h}{ap}", st.integers(1, 12), st.sampled_from(["am", "pm"])),
)
words = st.one_of(
    st.sampled_from(["today", "tomorrow", "eow", "eom", *WEEKDAYS]),
    st.builds(lambda n, u: f"+{n}{u}", st.integers(0, 400), st.sampled_from(["d", "w", "m", "h"])),
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), nows, zones)
def test_anything_typed_either_parses_or_raises_validation_error(
    text: str, now: datetime, tz: ZoneInfo
) -> None:
    try:
        result = parse_when(text, now, tz)
    except ValidationError:
        return
    assert result.tzinfo is not None and result.utcoffset() == timedelta(0)


@settings(max_examples=300, deadline=None)
@given(words, times, nows, zones)
def test_words_are_idempotent_through_storage(
    word: str, at: str | None, now: datetime, tz: ZoneInfo
) -> None:
    text = f"{word} {at}" if at else word
    result = parse_when(text, now, tz)
    stored = to_store(result)
    # The stored form parses back to the same instant, and is stable.
    assert parse_when(stored, now, tz) == from_store(stored)
    assert to_store(parse_when(stored, now, tz)) == stored
    # Same input, same clock: same answer.
    assert parse_when(text, now, tz) == result


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(WEEKDAYS)), times, nows, zones)
def test_weekday_is_the_next_such_day(
    word: str, at: str | None, now: datetime, tz: ZoneInfo
) -> None:
    text = f"{word} {at}" if at else word
    local = parse_when(text, now, tz).astimezone(tz)
    today = now.astimezone(tz).date()
    assert local.weekday() == WEEKDAYS[word]
    assert 1 <= (local.date() - today).days <= 7
    if at is None:
        assert local.time() == time(0)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 500), st.sampled_from(["d", "w"]), nows)
def test_offsets_are_exact_in_utc(n: int, unit: str, now: datetime) -> None:
    days = n * (7 if unit == "w" else 1)
    assert parse_when(f"+{n}{unit}", now, UTC) - now == timedelta(days=days)


@settings(max_examples=300, deadline=None)
@given(st.integers(-3000, 3000), st.sampled_from(["min", "h"]), nows, zones)
def test_minutes_and_hours_are_elapsed_time_in_any_zone(
    n: int, unit: str, now: datetime, tz: ZoneInfo
) -> None:
    """+90min is 90 minutes later, across a DST change too (it was wall-clock
    arithmetic: an hour off, or a time that does not exist)."""
    delta = timedelta(minutes=n) if unit == "min" else timedelta(hours=n)
    got = parse_when(f"{n:+d}{unit}", now, tz)
    assert got.astimezone(UTC) - now.astimezone(UTC) == delta


def test_minutes_across_the_new_york_spring_change() -> None:
    ny = ZoneInfo("America/New_York")
    now = datetime(2026, 3, 8, 7, 1, tzinfo=UTC)  # 03:01 EDT, just after 02:00 EST -> 03:00
    assert parse_when("-5min", now, ny).astimezone(UTC) == datetime(2026, 3, 8, 6, 56, tzinfo=UTC)
    assert parse_when("-2h", now, ny).astimezone(UTC) == datetime(2026, 3, 8, 5, 1, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(nows, zones)
def test_end_of_week_and_month(now: datetime, tz: ZoneInfo) -> None:
    today = now.astimezone(tz).date()
    eow = parse_when("eow", now, tz).astimezone(tz)
    assert eow.weekday() == 6 and 0 <= (eow.date() - today).days <= 6
    eom = parse_when("eom", now, tz).astimezone(tz)
    assert (eom.year, eom.month) == (today.year, today.month)
    assert eom.day == calendar.monthrange(today.year, today.month)[1]


@settings(max_examples=200, deadline=None)
@given(nows)
def test_store_round_trip(now: datetime) -> None:
    stored = to_store(now)
    assert from_store(stored) == now.replace(microsecond=0)
    assert from_store(stored) == datetime.strptime(stored, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_from_store_refuses_other_text() -> None:
    with pytest.raises(ValueError):
        from_store("2026-11-22 08:00:00")
    with pytest.raises(ValueError):
        from_store("2026-13-22T08:00:00Z")


def test_zone_names_are_read_or_refused_without_a_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # dateutil's UnknownTimezoneWarning included
        assert p("2026-01-02 10:00 WIB") == datetime(2026, 1, 2, 3, tzinfo=UTC)
        assert p("2 Jan 2026 10:00 WITA", tz=JKT) == datetime(2026, 1, 2, 2, tzinfo=UTC)
        assert p("2 Jan 2026 10:00 GMT", tz=JKT) == datetime(2026, 1, 2, 10, tzinfo=UTC)
        with pytest.raises(ValidationError, match="Unknown time zone"):
            p("5 March 2026 10:00 XYZ")


def test_an_empty_time_option_is_refused_not_read_as_now(cli: Any) -> None:
    cli("add", "Ani")
    for args in (("log", "1", "--kind", "call", "--at", ""), ("advance", "1", "--at", ""),
                 ("log", "1", "--kind", "call", "--next", "")):  # fmt: skip
        r = cli(*args, ok=False)
        assert r.exit_code == 2 and "empty" in r.stderr, args
    assert cli.json("show", "1")["stage"] == "new"


JAKARTA = ZoneInfo("Asia/Jakarta")
REF = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026/03/04", "2026-03-03T17:00:00Z"),  # year first: never year-day-month
        ("20260304", "2026-03-03T17:00:00Z"),
        ("2026-03-04 14:00 WIB", "2026-03-04T07:00:00Z"),
        ("2026-03-04 2:00 PM", "2026-03-04T07:00:00Z"),
        ("2026-03-04 14:00 UTC", "2026-03-04T14:00:00Z"),
        ("04/03/2026", "2026-03-03T17:00:00Z"),  # day first, as asked
        ("2026-03-04 14:00 GMT+7", "2026-03-04T07:00:00Z"),  # GMT+7 is UTC+7
        ("2026-03-04 14:00 UTC+07:00", "2026-03-04T07:00:00Z"),
        ("4 March 2026 14:00 gmt-5", "2026-03-04T19:00:00Z"),
    ],
)
def test_dayfirst_and_named_offsets(text: str, utc: str) -> None:
    assert to_store(parse_when(text, REF, JAKARTA, dayfirst=True)) == utc


def test_the_year_range_is_the_typed_year() -> None:
    """1900-01-01 in Jakarta is 1899 in UTC; the typed year is in range."""
    assert parse_when("1900-01-01", REF, JAKARTA).year == 1899
    assert parse_day("1900-01-01", REF, JAKARTA) == date(1900, 1, 1)
    ny = ZoneInfo("America/New_York")
    assert parse_when("2199-12-31 23:00", REF, ny).year == 2200
    with pytest.raises(ValidationError, match="is the year 1899"):
        parse_when("1899-12-31", REF, JAKARTA)


def test_an_error_quotes_the_offset_as_typed() -> None:
    with pytest.raises(ValidationError, match=r"Cannot read '31 Foo 2026 GMT\+7'"):
        parse_when("31 Foo 2026 GMT+7", REF, JAKARTA)
