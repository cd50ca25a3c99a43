"""Time: storage format, time zones, and the date words people type.

Stored: ISO-8601 UTC text 'YYYY-MM-DDTHH:MM:SSZ' (sorts as text).
Typed:  ISO dates/times, anything python-dateutil parses, and Taskwarrior-style
        words: now, today, tomorrow, yesterday, mon..sun, eod, eow, eom, eoy,
        +3d, -2w, +1m, +1y, +4h, +30min, each with an optional time
        ("tomorrow 10:00", "mon 9am", "+3d 14:30").
        A month or a year with no day ("2017-06", "Jun 2017", "2017") names a
        whole span: read_when says so, and parse_when (one moment) refuses it.

The core never reads the clock: `now` is passed in, so tests fix time.
dateutil is imported only for forms the fast paths do not cover.
"""

from __future__ import annotations

import calendar
import os
import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import NamedTuple

from leadctl.errors import ValidationError

UTC = timezone.utc
STORE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "wednesday": 2, "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4, "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_OFFSET_RE = re.compile(
    r"^([+-]?)(\d{1,4})\s*(min|mins|minutes?|h|hours?|d|days?|w|weeks?|m|months?|y|years?)$"
)
_TIME_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*(am|pm)?$")
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MONTH_OR_YEAR_RE = re.compile(r"^([0-9]{4})(?:-([0-9]{1,2}))?$")
MIN_YEAR, MAX_YEAR = 1900, 2199
_EXAMPLES = "Examples: 2026-12-01, 2026-12-01 14:00, today, tomorrow 10:00, mon, +3d, eom"
# Zone names after a time that dateutil is told of: Indonesia's three (it
# knows UTC, GMT and Z itself). Any other name is refused, not ignored.
_ZONE_NAMES = {"WIB": 7 * 3600, "WITA": 8 * 3600, "WIT": 9 * 3600}


def to_store(dt: datetime) -> str:
    """Aware datetime -> stored UTC text."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime passed to to_store")
    u = dt.astimezone(UTC)
    # Not strftime: glibc writes year 1 as '1', not '0001', and a short year
    # breaks both text ordering and from_store.
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


def from_store(text: str) -> datetime:
    """Stored UTC text -> aware UTC datetime."""
    # fromisoformat is ~15x faster than strptime (which also imports _strptime
    # and locale on first use); listings parse one or two values per row.
    if len(text) == 20 and text[10] == "T" and text[19] == "Z":
        try:
            return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.strptime(text, STORE_FORMAT).replace(tzinfo=UTC)


def get_tz(name: str | None) -> tzinfo:
    """The time zone called `name`, else the machine's local zone."""
    if name and name.strip().upper() in ("UTC", "ETC/UTC", "Z"):
        return UTC  # the servers' zone: no zoneinfo import (~4 ms) on cron's path
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(
                f"Unknown time zone {name!r}", "Use an IANA name such as Asia/Jakarta or UTC."
            ) from exc
    env = os.environ.get("TZ")
    if env:
        try:
            return ZoneInfo(env.lstrip(":"))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            return ZoneInfo(link.split("zoneinfo/", 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else UTC


def format_local(stored: str | None, tz: tzinfo, with_time: bool = True) -> str:
    """Stored UTC text -> local 'YYYY-MM-DD HH:MM' for people."""
    if not stored:
        return ""
    local = from_store(stored).astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def _parse_time(text: str) -> time | None:
    m = _TIME_RE.match(text.strip().lower())
    if not m:
        return None
    hour, minute, second = int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)
    ampm = m.group(4)
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif m.group(2) is None:
        # A bare number ("10") is not a time; "10am" or "10:00" are.
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _add_months(d: date, months: int) -> date:
    month0 = d.month - 1 + months
    year = d.year + month0 // 12
    month = month0 % 12 + 1
    if not 1 <= year <= 9999:
        raise OverflowError
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def _end_of_day(d: date) -> time:
    return time(23, 59, 59)


def _relative(word: str, local_now: datetime) -> tuple[datetime | date, bool] | None:
    """A date word -> (datetime, exact) or (date, False); None if not a word."""
    today = local_now.date()
    if word == "now":
        return local_now, True
    if word == "today":
        return today, False
    if word == "tomorrow":
        return today + timedelta(days=1), False
    if word == "yesterday":
        return today - timedelta(days=1), False
    if word in WEEKDAYS:
        # The next such day, never today: "mon" said on a Monday means next week.
        ahead = (WEEKDAYS[word] - today.weekday() - 1) % 7 + 1
        return today + timedelta(days=ahead), False
    if word in ("eod", "eow", "eom", "eoy"):
        if word == "eod":
            d = today
        elif word == "eow":
            d = today + timedelta(days=6 - today.weekday())
        elif word == "eom":
            d = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
        else:
            d = date(today.year, 12, 31)
        return datetime.combine(d, _end_of_day(d), local_now.tzinfo), True
    m = _OFFSET_RE.match(word)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        n = int(m.group(2)) * sign
        unit = m.group(3)
        if unit.startswith("min") or unit.startswith("h"):
            # Elapsed time, in UTC: across a DST change, wall-clock arithmetic
            # would land an hour off (or on a time that does not exist).
            delta = timedelta(minutes=n) if unit.startswith("min") else timedelta(hours=n)
            return (local_now.astimezone(UTC) + delta).astimezone(local_now.tzinfo), True
        if unit.startswith("d"):
            return local_now + timedelta(days=n), True
        if unit.startswith("w"):
            return local_now + timedelta(weeks=n), True
        if unit.startswith("m"):
            d = _add_months(local_now.date(), n)
            return datetime.combine(d, local_now.timetz()), True
        d = _add_months(local_now.date(), 12 * n)
        return datetime.combine(d, local_now.timetz()), True
    return None


class When(NamedTuple):
    """What a typed date names. `at` is aware UTC; `unit` is "day", "month" or
    "year" when the text names a whole one (no time: "2026-12-01", "tomorrow",
    "2017-06", "Jun 2017", "2017"), else None (a moment: "+3d", "mon 9am").
    A whole month or year is `at` its first day, at the default time."""

    at: datetime
    unit: str | None


def read_when(
    text: str,
    now: datetime,
    tz: tzinfo,
    *,
    dayfirst: bool = False,
    default_time: time | None = None,
) -> When:
    """Parse what a person typed: a moment, or a whole day, month or year.

    A date with no time gets `default_time` (midnight if None) in `tz`.
    Raises ValidationError, and only that, for anything it cannot read.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("A date is empty", _EXAMPLES)
    raw = " ".join(text.strip().split())
    lowered = raw.lower()
    local_now = now.astimezone(tz)
    try:
        result = _parse_words(lowered, local_now, tz, default_time)
        if result is None:
            result = _parse_iso(raw, tz, default_time)
        if result is None:
            result = _parse_dateutil(raw, local_now, tz, dayfirst, default_time)
        at = result[0].astimezone(UTC)
    except ValidationError:
        raise
    except (ValueError, OverflowError, OSError) as exc:
        raise ValidationError(f"Cannot read {raw!r} as a date", _EXAMPLES) from exc
    typed = result[0].year  # the year as written: 1900-01-01 in Jakarta is 1899 in UTC
    if not MIN_YEAR <= typed <= MAX_YEAR:
        # '001/' reads as the year 1: surely a typo, and no lead lives then.
        raise ValidationError(
            f"{raw!r} is the year {typed}",
            f"Give a date between {MIN_YEAR} and {MAX_YEAR}. {_EXAMPLES}",
        )
    return When(at, result[1])


def parse_when(
    text: str,
    now: datetime,
    tz: tzinfo,
    *,
    dayfirst: bool = False,
    default_time: time | None = None,
) -> datetime:
    """Parse what a person typed into one moment: an aware UTC datetime.

    A date with no time gets `default_time` (midnight if None) in `tz`. A
    month or a year with no day is refused: its day would be a guess.
    Raises ValidationError, and only that, for anything it cannot read.
    """
    when = read_when(text, now, tz, dayfirst=dayfirst, default_time=default_time)
    if when.unit in ("month", "year"):
        raise _no_day(text, when.unit, when.at.astimezone(tz).date(), None)
    return when.at


def _no_day(text: str, unit: str, first: date, at: time | None) -> ValidationError:
    raw = " ".join(text.strip().split())
    example = first.isoformat() + (f" {at:%H:%M}" if at is not None else "")
    missing = "day" if unit == "month" else "month or day"
    return ValidationError(f"{raw!r} has no {missing}", f"Give one, e.g. {example}.")


def _parse_words(
    lowered: str, local_now: datetime, tz: tzinfo, default_time: time | None
) -> tuple[datetime, str | None] | None:
    first, _, rest = lowered.partition(" ")
    rel = _relative(first, local_now)
    if rel is None:
        # "+3 d" or "3 days": let the offset regex see the whole string.
        rel = _relative(lowered.replace(" ", ""), local_now)
        rest = ""
        if rel is None:
            return None
    when, exact = rel
    at: time | None = None
    if rest:
        rest = rest.removeprefix("at ").strip()
        rest, zone = _split_zone(rest)
        at = _parse_time(rest)
        if at is None:
            raise ValidationError(f"Cannot read the time {rest!r}", "Use 14:00, 9am or 9:30pm.")
        if zone is not None:  # "tomorrow 10:00 WIB": the day here, the time there
            day = when.date() if isinstance(when, datetime) else when
            return datetime.combine(day, at, zone), None
    if isinstance(when, datetime):
        if at is not None:
            return datetime.combine(when.date(), at, tz), None
        return (when if exact else datetime.combine(when.date(), time(0), tz)), None
    if at is not None:
        return datetime.combine(when, at, tz), None
    return datetime.combine(when, default_time or time(0), tz), "day"


_UTC_OFFSET_RE = re.compile(r"(?:utc|gmt)?([+-])(\d{1,2})(?::?(\d{2}))?")


def _split_zone(text: str) -> tuple[str, tzinfo | None]:
    """'10:00 wib' -> ('10:00', UTC+7); '9am +07:00' -> ('9am', UTC+7);
    a text with no zone after its time is returned as it is."""
    head, _, last = text.rpartition(" ")
    if not head:
        return text, None
    if last in ("utc", "gmt", "z"):
        return head, UTC
    if last.upper() in _ZONE_NAMES:
        return head, timezone(timedelta(seconds=_ZONE_NAMES[last.upper()]))
    m = _UTC_OFFSET_RE.fullmatch(last)
    if m is None:
        return text, None
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes > 59:
        raise ValidationError(f"{last!r} is not a UTC offset", "Example: +07:00")
    sign = -1 if m.group(1) == "-" else 1
    return head, timezone(sign * timedelta(hours=hours, minutes=minutes))


def _parse_iso(
    raw: str, tz: tzinfo, default_time: time | None
) -> tuple[datetime, str | None] | None:
    # The fast path: ISO text is what scripts and imports send, and
    # dateutil costs ~60 ms to import plus ~40 µs a value.
    if _ISO_DATE_RE.match(raw):
        return datetime.combine(date.fromisoformat(raw), default_time or time(0), tz), "day"
    m = _ISO_MONTH_OR_YEAR_RE.match(raw)
    if m:  # "2017-06", "2017": the whole month or year
        first = date(int(m.group(1)), int(m.group(2) or 1), 1)
        return datetime.combine(first, default_time or time(0), tz), (
            "month" if m.group(2) else "year"
        )
    if len(raw) >= 16 and raw[4] == "-" and raw[7] == "-" and raw[10] in "T ":
        try:
            dt = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        return (dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)), None
    return None


def _parse_dateutil(
    raw: str, local_now: datetime, tz: tzinfo, dayfirst: bool, default_time: time | None
) -> tuple[datetime, str | None]:
    if not any(ch.isdigit() for ch in raw):
        # dateutil would read "soon" or "x" as today (fuzzy defaults): refuse words
        # it does not really understand rather than guess.
        months = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                  "nov", "dec")  # fmt: skip
        if not any(mo in raw.lower() for mo in months):
            raise ValidationError(f"Cannot read {raw!r} as a date", _EXAMPLES)
    at = default_time or time(0)
    # dateutil fills what the text leaves out from `default`, silently: with
    # today as the default, "2017-06" was the 22nd on the 22nd. So read the
    # text with two defaults that differ in year, month, day and hour; a field
    # that comes out the same both times was typed. Both are leap years and
    # 31-day months, so any typed day fits both; the days 1 and 16 are not a
    # whole number of weeks apart, so a typed weekday ("Tue June 2017") moves
    # at least one of them.
    one = _dateutil(raw, datetime.combine(date(2000, 1, 1), at), dayfirst)
    other_time = at.replace(hour=(at.hour + 1) % 24)
    two = _dateutil(raw, datetime.combine(date(2004, 3, 16), other_time), dayfirst)
    has_year, has_month = one.year == two.year, one.month == two.month
    has_day, has_time = one.day == two.day, one.hour == two.hour
    if has_year and not has_month:
        # A year alone as dateutil reads it: "99", or "2017.06" (the year
        # 2017). `2017` itself never gets here (_parse_iso reads it).
        raise _no_day(raw, "year", date(one.year, 1, 1), None)
    if has_month and not has_day:
        # "June" alone is this year's, as "1 Dec" is.
        first = date(one.year if has_year else local_now.year, one.month, 1)
        weekday = (one.day, two.day) != (1, 16)
        if has_time or weekday:  # "June 2017 2pm": a moment, but on which day?
            raise _no_day(raw, "month", first, one.time() if has_time else None)
        return datetime.combine(first, at, tz), "month"
    if not (has_year and has_month and has_day):
        # "1 Dec", "15", "14:00": the year, month or day not typed is today's.
        one = _dateutil(raw, datetime.combine(local_now.date(), at), dayfirst)
    if one.tzinfo is not None:
        return one, None
    return one.replace(tzinfo=tz), ("day" if has_day and not has_time else None)


# A date that starts with its four-digit year ("2026/03/04", "20260304",
# "2026-03-04 14:00 WIB") is year-month-day whatever --dayfirst says:
# dateutil would read it year-day-month.
_YEAR_FIRST = re.compile(r"\s*\d{4}(?:[-/.]?\d)")
# "GMT+7", "UTC+07:00": dateutil reads them the POSIX way (GMT+7 = UTC-7);
# people mean UTC+7. Written as a plain offset, dateutil reads it right.
_NAMED_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\b", re.I)


def _dateutil(raw: str, default: datetime, dayfirst: bool) -> datetime:
    import warnings

    from dateutil import parser as du_parser

    if dayfirst and _YEAR_FIRST.match(raw):
        dayfirst = False
    typed = raw  # errors quote what was typed, not the rewritten offset
    raw = _NAMED_OFFSET.sub(lambda m: f"{m[1]}{int(m[2]):02d}:{m[3] or '00'}", raw)
    try:
        with warnings.catch_warnings():
            # A zone name dateutil does not know: it would warn on stderr and
            # read the time in `tz`.
            warnings.simplefilter("error", du_parser.UnknownTimezoneWarning)
            dt: datetime = du_parser.parse(
                raw, dayfirst=dayfirst, default=default, tzinfos=_ZONE_NAMES
            )
    except du_parser.UnknownTimezoneWarning as exc:
        raise ValidationError(
            f"Unknown time zone in {typed!r}",
            "Give an offset (2026-12-01 14:00 +07:00) or WIB, WITA, WIT or UTC.",
        ) from exc
    except (du_parser.ParserError, ValueError, OverflowError, TypeError) as exc:
        raise ValidationError(f"Cannot read {typed!r} as a date", _EXAMPLES) from exc
    return dt


def parse_day(text: str, now: datetime, tz: tzinfo, *, dayfirst: bool = False) -> date:
    """A calendar date (no time), e.g. a timeline or expected close date.

    A month ('2026-12', 'Dec 2026') or a year means its last day: the useful
    deadline.
    """
    s = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}", s):
        try:
            year, month = int(s[:4]), int(s[5:])
            if not MIN_YEAR <= year <= MAX_YEAR:
                raise ValueError(year)
            return date(year, month, calendar.monthrange(year, month)[1])
        except ValueError as exc:
            raise ValidationError(f"Cannot read {s!r} as a month", "Example: 2026-12") from exc
    when = read_when(s, now, tz, dayfirst=dayfirst)
    day = when.at.astimezone(tz).date()
    if when.unit == "month":
        return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    if when.unit == "year":
        return date(day.year, 12, 31)
    return day
