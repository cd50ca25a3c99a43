"""A month or a year with no day: a whole span for --since/--until, refused
as one moment (--due, --to, --at, --next).

It used to get its missing day (and month) from today: on 2026-11-22,
`--since 2017-06` started on 2017-06-22 and `--due 2027` was 2027-11-22.
The suite's clock is Sunday 2026-11-22 08:00 UTC, time zone UTC.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadctl import leads
from leadctl.dates import parse_when, read_when, to_store
from leadctl.errors import ValidationError
from leadctl.periods import parse_period, resolve

UTC = timezone.utc
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
JKT = ZoneInfo("Asia/Jakarta")

# Leads created around the edges of June 2017 and of 2017, in UTC. 17:00 UTC
# is the next day's midnight in Jakarta (UTC+7).
CREATED = {
    "may-31": datetime(2017, 5, 31, 16, 59, tzinfo=UTC),
    "jun-1-jakarta": datetime(2017, 5, 31, 17, 0, tzinfo=UTC),
    "jun-1": datetime(2017, 6, 1, 0, 0, tzinfo=UTC),
    "jun-22": datetime(2017, 6, 22, 12, 0, tzinfo=UTC),
    "jun-30-late": datetime(2017, 6, 30, 23, 59, 59, tzinfo=UTC),
    "jul-1": datetime(2017, 7, 1, 0, 0, tzinfo=UTC),
    "dec-31": datetime(2017, 12, 31, 23, 0, tzinfo=UTC),
    "2018": datetime(2018, 1, 1, 0, 0, tzinfo=UTC),
    "2016": datetime(2016, 12, 31, 23, 59, tzinfo=UTC),
}


@pytest.fixture
def world(conn: Any) -> None:
    for name, at in CREATED.items():
        leads.add_lead(conn, {"name": name}, now=at, actor="t")


def window(cli: Any, *options: str, tz: str | None = None) -> tuple[str | None, str | None, int]:
    """(since, until, leads) of the conversion report with these options."""
    zone = ("--tz", tz) if tz else ()
    rep = cli.json(*zone, "report", "conversion", *options)
    return rep["period"]["since"], rep["period"]["until"], rep["totals"]["leads"]


@pytest.mark.parametrize(
    "month", ["2017-06", "2017-6", "Jun 2017", "June 2017", "2017/06", "06/2017"]
)
def test_since_a_month_starts_on_its_first_day(world: None, cli: Any, month: str) -> None:
    since, until, n = window(cli, "--since", month)
    assert (since, until) == ("2017-06-01T00:00:00Z", None)
    # jun-1, jun-22, jun-30-late, jul-1, dec-31, 2018 (from the 22nd, jun-1 was left out)
    assert n == 6


def test_since_a_year_starts_on_january_first(world: None, cli: Any) -> None:
    since, until, n = window(cli, "--since", "2017")
    assert (since, until) == ("2017-01-01T00:00:00Z", None)
    assert n == len(CREATED) - 1  # all but 2016


@pytest.mark.parametrize("month", ["2017-06", "Jun 2017", "June 2017", "2017/06"])
def test_a_month_on_both_sides_is_that_month(world: None, cli: Any, month: str) -> None:
    period = window(cli, "--period", "2017-06")
    assert period == ("2017-06-01T00:00:00Z", "2017-07-01T00:00:00Z", 3)
    assert window(cli, "--since", month, "--until", month) == period
    # A month for --until includes all of it, as a bare last day does.
    assert window(cli, "--since", "2017-06-01", "--until", month) == period
    assert window(cli, "--since", "2017-06-01", "--until", "2017-06-30") == period


def test_a_year_on_both_sides_is_that_year(world: None, cli: Any) -> None:
    period = window(cli, "--period", "2017")
    assert period == ("2017-01-01T00:00:00Z", "2018-01-01T00:00:00Z", 7)
    assert window(cli, "--since", "2017", "--until", "2017") == period
    since, until, _ = window(cli, "--until", "2017-12")
    assert (since, until) == (None, "2018-01-01T00:00:00Z")


def test_a_month_is_local_in_another_time_zone(world: None, cli: Any) -> None:
    """June 2017 in Jakarta is 2017-05-31 17:00 UTC to 2017-06-30 17:00 UTC."""
    period = window(cli, "--period", "2017-06", tz="Asia/Jakarta")
    assert period[:2] == ("2017-05-31T17:00:00Z", "2017-06-30T17:00:00Z")
    assert period[2] == 3  # jun-1-jakarta, jun-1, jun-22; jun-30-late is July 1 there
    got = window(cli, "--since", "Jun 2017", "--until", "2017-06", tz="Asia/Jakarta")
    assert got == period


def test_a_bare_date_dateutil_reads_for_until_includes_that_day(world: None, cli: Any) -> None:
    got = window(cli, "--since", "1 Jun 2017", "--until", "30 Jun 2017")
    assert got == window(cli, "--period", "2017-06")
    # With a time it is that moment, as an ISO time is.
    assert window(cli, "--until", "30 Jun 2017 12:00")[1] == "2017-06-30T12:00:00Z"


def open_followups(cli: Any) -> list[dict[str, Any]]:
    """Lead 1's open follow-ups (not the "no next step" row of the lead)."""
    return [f for f in cli.json("followups", "--all", "--lead", "1") if f["id"] is not None]


@pytest.mark.parametrize(
    ("due", "message"),
    [
        ("2026-12", "'2026-12' has no day. Give one, e.g. 2026-12-01."),
        ("2027", "'2027' has no month or day. Give one, e.g. 2027-01-01."),
        ("Dec 2026", "'Dec 2026' has no day. Give one, e.g. 2026-12-01."),
        ("2026/12", "'2026/12' has no day. Give one, e.g. 2026-12-01."),
        ("June", "'June' has no day. Give one, e.g. 2026-06-01."),
        ("Dec 2026 10:00", "'Dec 2026 10:00' has no day. Give one, e.g. 2026-12-01 10:00."),
    ],
)
def test_a_due_date_with_no_day_is_refused(cli: Any, due: str, message: str) -> None:
    cli("add", "Budi")
    r = cli("followups", "add", "1", "--due", due, ok=False)
    assert r.exit_code == 2
    assert r.stderr == f"Error: {message}\n"
    assert open_followups(cli) == []


def test_other_moments_with_no_day_are_refused(cli: Any) -> None:
    cli("add", "Budi")
    fu = cli.json("followups", "add", "1", "--due", "tomorrow")
    for args in (
        ("followups", "snooze", str(fu["id"]), "--to", "2027-01"),
        ("followups", "done", str(fu["id"]), "--next", "Jan 2027"),
        ("log", "1", "--kind", "call", "--at", "2017-06"),
        ("log", "1", "--kind", "call", "--next", "2027"),
        ("advance", "1", "--to", "contacted", "--at", "Jun 2017"),
    ):
        r = cli(*args, ok=False)
        assert r.exit_code == 2 and "has no" in r.stderr, (args, r.stderr)
        assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, args
    assert [f["due_at"] for f in open_followups(cli)] == [fu["due_at"]]
    assert cli.json("show", "1")["stage"] == "new"


@pytest.mark.parametrize(
    ("due", "stored"),
    [
        ("2026-12-01", "2026-12-01T09:00:00Z"),  # a date alone means 09:00
        ("1 Dec 2026", "2026-12-01T09:00:00Z"),
        ("Dec 1", "2026-12-01T09:00:00Z"),  # no year: this year's, as before
        ("1 Dec 2026 2pm", "2026-12-01T14:00:00Z"),
        ("2026-12-01 14:00", "2026-12-01T14:00:00Z"),
        ("tomorrow", "2026-11-23T09:00:00Z"),
        ("+3d", "2026-11-25T08:00:00Z"),
        ("mon 9am", "2026-11-23T09:00:00Z"),
        ("eom at 17:00", "2026-11-30T17:00:00Z"),
        ("15:30", "2026-11-22T15:30:00Z"),  # a time alone is today's
    ],
)
def test_due_dates_with_a_day_still_work(cli: Any, due: str, stored: str) -> None:
    cli("add", "Budi")
    assert cli.json("followups", "add", "1", "--due", due)["due_at"] == stored


def test_a_month_or_year_for_a_deadline_is_its_last_day(cli: Any) -> None:
    """--expected-close (a calendar date) keeps '2026-12' = the end of December,
    and reads the other spellings of a month, and a year, the same way."""
    for text, day in (("2026-12", "2026-12-31"), ("Dec 2026", "2026-12-31"),
                      ("2027/02", "2027-02-28"), ("2027", "2027-12-31"),
                      ("2026-12-05", "2026-12-05")):  # fmt: skip
        lead = cli("add", f"L {text}").stdout.strip()
        cli("edit", lead, "--expected-close", text)
        assert cli.json("show", lead)["expected_close"] == day, text


def test_day_first_dates_still_read() -> None:
    assert to_store(parse_when("02/03/2026", NOW, UTC, dayfirst=True)) == "2026-03-02T00:00:00Z"
    assert to_store(parse_when("02/03/2026", NOW, UTC)) == "2026-02-03T00:00:00Z"
    with pytest.raises(ValidationError, match="has no day"):
        parse_when("03/2026", NOW, UTC, dayfirst=True)


# ---- properties -------------------------------------------------------------

years = st.integers(1901, 2198)
months = st.integers(1, 12)
zones = st.sampled_from([UTC, JKT, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")])
spellings = st.sampled_from([
    "{y:04d}-{m:02d}", "{y:04d}-{m}", "{y:04d}/{m:02d}", "{m:02d}/{y:04d}", "{abbr} {y:04d}",
    "{name} {y:04d}", "{name}, {y:04d}",
])  # fmt: skip


def month_text(spelling: str, year: int, month: int) -> str:
    name = calendar.month_name[month]
    return spelling.format(y=year, m=month, abbr=name[:3], name=name)


@given(years, months, zones, spellings)
def test_a_month_is_the_same_span_as_its_period(
    year: int, month: int, tz: Any, spelling: str
) -> None:
    text = month_text(spelling, year, month)
    got = resolve(None, text, text, now=NOW, tz=tz)
    assert got.start is not None and got.end is not None
    # Local midnights, compared as instants: where a zone skipped midnight
    # (Jakarta, 1 November 1932: 00:00 +07:20 is 00:10 +07:30) the wall
    # clock never read 00:00.
    after = date(year + month // 12, month % 12 + 1, 1)
    assert got.start == datetime.combine(date(year, month, 1), time(0), tzinfo=tz)
    assert got.end == datetime.combine(after, time(0), tzinfo=tz)
    period = parse_period(f"{year:04d}-{month:02d}", NOW, tz)
    assert (got.start, got.end) == (period.start, period.end)
    # --since alone starts there too; --until alone ends there too.
    assert resolve(None, text, None, now=NOW, tz=tz).start == period.start
    assert resolve(None, None, text, now=NOW, tz=tz).end == period.end
    with pytest.raises(ValidationError, match="has no day"):
        parse_when(text, NOW, tz)


@given(years, zones)
def test_a_year_is_the_same_span_as_its_period(year: int, tz: Any) -> None:
    got = resolve(None, str(year), str(year), now=NOW, tz=tz)
    period = parse_period(str(year), NOW, tz)
    assert (got.start, got.end) == (period.start, period.end)
    assert got.start is not None and got.start.astimezone(tz).date() == date(year, 1, 1)
    with pytest.raises(ValidationError, match="has no month or day"):
        parse_when(str(year), NOW, tz)


nows = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)


@given(years, months, st.integers(1, 31), nows, zones)
def test_a_full_date_never_takes_anything_from_today(
    year: int, month: int, day: int, now: datetime, tz: Any
) -> None:
    """A date with a day is that day whatever today is, in every spelling."""
    day = min(day, calendar.monthrange(year, month)[1])
    name = calendar.month_name[month]
    expected = datetime.combine(date(year, month, day), time(0), tz).astimezone(UTC)
    for text in (f"{year:04d}-{month:02d}-{day:02d}", f"{day} {name} {year:04d}",
                 f"{name[:3]} {day}, {year:04d}", f"{year:04d}/{month}/{day}"):  # fmt: skip
        when = read_when(text, now, tz)
        assert (when.at, when.unit) == (expected, "day"), text
        assert parse_when(text, now, tz) == expected, text
        until = resolve(None, None, text, now=now, tz=tz).end
        assert until == datetime.combine(date(year, month, day) + timedelta(days=1), time(0),
                                         tz).astimezone(UTC)  # fmt: skip


@given(st.text(max_size=30), nows, zones)
def test_anything_typed_is_a_moment_a_whole_span_or_a_validation_error(
    text: str, now: datetime, tz: Any
) -> None:
    try:
        when = read_when(text, now, tz)
    except ValidationError:
        return
    assert when.unit in (None, "day", "month", "year")
    if when.unit in ("month", "year"):
        local = when.at.astimezone(tz)
        assert local.day == 1 and local.time() == time(0)
        assert when.unit == "month" or local.month == 1
        with pytest.raises(ValidationError):
            parse_when(text, now, tz)
    else:
        assert parse_when(text, now, tz) == when.at
