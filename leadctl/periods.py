"""Report periods: the names people type, resolved to [start, end) in UTC.

Names: all, today, yesterday, this-week, last-week, this-month, last-month,
this-quarter, last-quarter, this-year, last-year, YYYY, YYYY-MM, YYYY-Qn,
YYYY-MM-DD; or --since/--until. Calendar boundaries are local midnights in the
report's time zone (so "today" in Jakarta starts at 17:00 UTC the day before);
weeks start on Monday. `end` is exclusive. An unbounded side is None.
--since/--until take what dates.read_when reads: a whole day, month or year
("2026-11-30", "tomorrow", "2017-06", "Jun 2017", "2017") or a moment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from leadctl.dates import UTC, read_when, to_store
from leadctl.errors import UsageError, ValidationError

NAMES = (
    "all", "today", "yesterday", "this-week", "last-week", "this-month", "last-month",
    "this-quarter", "last-quarter", "this-year", "last-year",
)  # fmt: skip
UNITS = ("day", "week", "month", "quarter", "year")
_HINT = (
    "Use one of: " + ", ".join(NAMES) + ", YYYY, YYYY-MM, YYYY-Qn, YYYY-MM-DD, or --since/--until."
)
_YEAR_RE = re.compile(r"^(\d{4})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER_RE = re.compile(r"^(\d{4})-?[qQ]([1-4])$")
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    """A half-open time window [start, end) in UTC; None means unbounded."""

    name: str
    start: datetime | None
    end: datetime | None
    # The calendar unit of a named period (for targets): day/week/month/quarter/year.
    unit: str | None = None

    @property
    def start_s(self) -> str | None:
        return to_store(self.start) if self.start else None

    @property
    def end_s(self) -> str | None:
        return to_store(self.end) if self.end else None

    def bounds(self) -> tuple[str, str]:
        """Stored-text bounds for SQL `col >= ? AND col < ?` (open sides widened)."""
        return (self.start_s or "0000", self.end_s or "9999")

    def elapsed_fraction(self, now: datetime) -> float:
        """How much of the period has passed at `now` (0..1); 1 if unbounded."""
        if self.start is None or self.end is None:
            return 1.0
        total = (self.end - self.start).total_seconds()
        done = (min(max(now, self.start), self.end) - self.start).total_seconds()
        return done / total if total > 0 else 1.0

    def to_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "since": self.start_s, "until": self.end_s}


def _local_midnight(d: date, tz: tzinfo) -> datetime:
    return datetime.combine(d, time(0), tz).astimezone(UTC)


def _span(name: str, first: date, after: date, tz: tzinfo, unit: str | None) -> Period:
    return Period(name, _local_midnight(first, tz), _local_midnight(after, tz), unit)


def _month_start(year: int, month: int) -> date:
    # month may run past 12 or below 1: normalise.
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1)


def unit_period(unit: str, ref: date, tz: tzinfo, *, name: str | None = None) -> Period:
    """The day/week/month/quarter/year containing the local date `ref`."""
    if unit == "day":
        return _span(name or ref.isoformat(), ref, ref + timedelta(days=1), tz, unit)
    if unit == "week":
        monday = ref - timedelta(days=ref.weekday())
        iso = monday.isocalendar()
        label = name or f"{iso[0]:04d}-W{iso[1]:02d}"
        return _span(label, monday, monday + timedelta(days=7), tz, unit)
    if unit == "month":
        first = date(ref.year, ref.month, 1)
        label = name or f"{ref.year:04d}-{ref.month:02d}"
        return _span(label, first, _month_start(ref.year, ref.month + 1), tz, unit)
    if unit == "quarter":
        q = (ref.month - 1) // 3
        first = date(ref.year, 3 * q + 1, 1)
        label = name or f"{ref.year:04d}-Q{q + 1}"
        return _span(label, first, _month_start(ref.year, 3 * q + 4), tz, unit)
    if unit == "year":
        label = name or f"{ref.year:04d}"
        return _span(label, date(ref.year, 1, 1), date(ref.year + 1, 1, 1), tz, unit)
    raise ValidationError(f"Unknown period unit {unit!r}", f"Use one of: {', '.join(UNITS)}.")


def parse_period(text: str, now: datetime, tz: tzinfo) -> Period:
    """A period name -> Period. Raises ValidationError (only) for anything else."""
    if not isinstance(text, str):
        raise ValidationError("A period is empty", _HINT)
    s = text.strip().lower().replace("_", "-")
    if not s:
        raise ValidationError("A period is empty", _HINT)
    today = now.astimezone(tz).date()
    try:
        if s in ("all", "all-time", "ever"):
            return Period("all", None, None, None)
        if s == "today":
            return unit_period("day", today, tz, name="today")
        if s == "yesterday":
            return unit_period("day", today - timedelta(days=1), tz, name="yesterday")
        rel = re.fullmatch(r"(this|last)-(week|month|quarter|year)", s)
        if rel:
            which, unit = rel.groups()
            ref = today
            if which == "last":
                if unit == "week":
                    ref = today - timedelta(days=7)
                elif unit == "month":
                    ref = _month_start(today.year, today.month - 1)
                elif unit == "quarter":
                    ref = _month_start(today.year, today.month - 3)
                else:
                    ref = date(today.year - 1, 1, 1)
            return unit_period(unit, ref, tz, name=s)
        m = _YEAR_RE.match(s)
        if m:
            return unit_period("year", date(int(m.group(1)), 1, 1), tz)
        m = _MONTH_RE.match(s)
        if m:
            return unit_period("month", date(int(m.group(1)), int(m.group(2)), 1), tz)
        m = _QUARTER_RE.match(s)
        if m:
            return unit_period("quarter", date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1), tz)
        if _DAY_RE.match(s):
            return unit_period("day", date.fromisoformat(s), tz)
    except (ValueError, OverflowError) as exc:
        raise ValidationError(f"{text!r} is not a valid period", _HINT) from exc
    raise ValidationError(f"Unknown period {text!r}", _HINT)


def _bound(text: str, now: datetime, tz: tzinfo, *, end: bool) -> datetime:
    """The --since (start) or --until (`end`) instant of what `text` names.

    A whole day, month or year is included whole: "--until 2017-06" ends at
    the first local midnight of July, as "--until 2017-06-30" does. A moment
    ("2026-11-10 12:00", "+3d", "eom") is itself.
    """
    when = read_when(text, now, tz)
    if when.unit is None or not end:
        return when.at  # a whole unit's `at` is its first local midnight
    first = when.at.astimezone(tz).date()
    if when.unit == "day":
        after = first + timedelta(days=1)
    elif when.unit == "month":
        after = _month_start(first.year, first.month + 1)
    else:
        after = date(first.year + 1, 1, 1)
    return _local_midnight(after, tz)


def resolve(
    period: str | None,
    since: str | None,
    until: str | None,
    *,
    now: datetime,
    tz: tzinfo,
    default: str = "all",
) -> Period:
    """--period, or --since/--until (either side optional), else `default`.

    --until with a bare date includes that whole day; a month or a year
    ("2017-06", "Jun 2017", "2017") is the whole month or year on either side.
    """
    # An empty value (a script's unset variable) is an error, not the default.
    if period is not None and (since is not None or until is not None):
        raise UsageError(
            "--period cannot be combined with --since/--until", "Give one or the other."
        )
    if since is not None or until is not None:
        start = _bound(since, now, tz, end=False) if since is not None else None
        end = _bound(until, now, tz, end=True) if until is not None else None
        if start and end and end <= start:
            raise ValidationError(
                "--until is not after --since", "Example: --since 2026-11-01 --until 2026-11-30"
            )
        name = f"{to_store(start) if start else '…'}..{to_store(end) if end else '…'}"
        return Period(name, start, end, None)
    return parse_period(default if period is None else period, now, tz)
