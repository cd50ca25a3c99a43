"""Period names → [start, end) in UTC, in the report's time zone; weeks start Monday."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadctl.errors import ValidationError
from leadctl.periods import parse_period, resolve, unit_period

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)  # a Sunday
UTC = ZoneInfo("UTC")
JKT = ZoneInfo("Asia/Jakarta")


def span(text: str, tz=UTC, now=NOW):  # type: ignore[no-untyped-def]
    p = parse_period(text, now, tz)
    return p.start_s, p.end_s


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("today", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"),
        ("yesterday", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"),
        ("this-week", "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z"),
        ("last-week", "2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z"),
        ("this-month", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
        ("last-month", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"),
        ("this-quarter", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("last-quarter", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z"),
        ("this-year", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("last-year", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("2025", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("2026-02", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
        ("2026-12", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("2026-Q4", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("2026q1", "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z"),
        ("2026-11-05", "2026-11-05T00:00:00Z", "2026-11-06T00:00:00Z"),
        ("This_Month", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
    ],
)
def test_named_periods(text: str, start: str, end: str) -> None:
    assert span(text) == (start, end)


def test_all_is_unbounded() -> None:
    p = parse_period("all", NOW, UTC)
    assert (p.start, p.end) == (None, None)
    assert p.elapsed_fraction(NOW) == 1.0


def test_local_time_zone_moves_the_boundaries() -> None:
    # Jakarta is UTC+7: its "today" began at 17:00 UTC the day before.
    assert span("today", JKT) == ("2026-11-21T17:00:00Z", "2026-11-22T17:00:00Z")
    assert span("this-month", JKT) == ("2026-10-31T17:00:00Z", "2026-11-30T17:00:00Z")
    # Late on Sunday evening UTC it is already Monday in Jakarta: a new week.
    late = datetime(2026, 11, 22, 20, 0, tzinfo=timezone.utc)
    assert span("this-week", JKT, late)[0] == "2026-11-22T17:00:00Z"


def test_year_and_quarter_edges() -> None:
    jan = datetime(2026, 1, 10, tzinfo=timezone.utc)
    assert span("last-month", UTC, jan) == ("2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z")
    assert span("last-quarter", UTC, jan) == ("2025-10-01T00:00:00Z", "2026-01-01T00:00:00Z")
    mar31 = datetime(2026, 3, 31, tzinfo=timezone.utc)
    assert span("last-month", UTC, mar31) == ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")


def test_elapsed_fraction() -> None:
    p = unit_period("month", NOW.date(), UTC)
    assert p.elapsed_fraction(NOW) == pytest.approx((21 * 24 + 8) / (30 * 24))
    last = parse_period("last-month", NOW, UTC)
    assert last.elapsed_fraction(NOW) == 1.0
    nxt = parse_period("2026-12", NOW, UTC)
    assert nxt.elapsed_fraction(NOW) == 0.0


def test_since_until() -> None:
    p = resolve(None, "2026-11-01", "2026-11-30", now=NOW, tz=UTC)
    assert (p.start_s, p.end_s) == ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    p = resolve(None, None, "2026-11-10 12:00", now=NOW, tz=UTC)
    assert (p.start, p.end_s) == (None, "2026-11-10T12:00:00Z")
    p = resolve(None, "2026-11-10", None, now=NOW, tz=JKT)
    assert (p.start_s, p.end) == ("2026-11-09T17:00:00Z", None)
    assert resolve(None, None, None, now=NOW, tz=UTC, default="this-week").name == "this-week"
    # A day word for --until includes that day: "fri" is the coming Friday, 11-27.
    assert resolve(None, None, "fri", now=NOW, tz=UTC).end_s == "2026-11-28T00:00:00Z"
    assert resolve(None, None, "today", now=NOW, tz=UTC).end_s == "2026-11-23T00:00:00Z"
    with pytest.raises(ValidationError):
        resolve(None, "2026-11-30", "2026-11-01", now=NOW, tz=UTC)


@pytest.mark.parametrize("bad", ["", "  ", "someday", "2026-13", "2026-Q5", "20266", "2026-02-30",
                                 "this-decade", "last"])  # fmt: skip
def test_bad_periods(bad: str) -> None:
    with pytest.raises(ValidationError):
        parse_period(bad, NOW, UTC)


@given(st.text(max_size=30))
def test_parse_raises_only_validation_errors(text: str) -> None:
    try:
        p = parse_period(text, NOW, UTC)
    except ValidationError:
        return
    # Idempotent: the name of a parsed period parses to the same period.
    assert parse_period(p.name, NOW, UTC) == p


@given(st.integers(1, 9998), st.integers(1, 12))
def test_months_roundtrip(year: int, month: int) -> None:
    p = parse_period(f"{year:04d}-{month:02d}", NOW, UTC)
    assert p.name == f"{year:04d}-{month:02d}"
    assert parse_period(p.name, NOW, UTC) == p
