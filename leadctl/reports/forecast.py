"""forecast: weighted value by expected close month (DESIGN.md §3).

Open leads: Σ value × effective probability (the lead's manual, else learned,
else the stage default) in their expected close month ('unscheduled' when no
date is set). Won leads count at 100 % in the month they were won; lost and
disqualified leads are left out. forecast_value = weighted_value + won_value.
A bounded period keeps the whole months it overlaps (unscheduled leads then
drop), and the report's period says so: `-p 2017-12-31` is December.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, tzinfo
from typing import Any

from leadctl.periods import Period
from leadctl.reports import (
    WON_KINDS,
    Report,
    context,
    in_list,
    owner_terms,
    rows_weighted,
    where,
)

UNSCHEDULED = "unscheduled"


def _months(period: Period, tz: tzinfo) -> tuple[str | None, str | None]:
    """First and last local month ('YYYY-MM') the period overlaps."""
    first = period.start.astimezone(tz).strftime("%Y-%m") if period.start else None
    last = None
    if period.end:
        last = (period.end.astimezone(tz) - timedelta(seconds=1)).strftime("%Y-%m")
    return first, last


def _dst_stretches(
    conn: sqlite3.Connection, tz: tzinfo, shift_s: int, period: Period
) -> list[tuple[str, str, str, str]]:
    """(month the shifted time gives, the right month, start, end) in stored
    UTC text, for each month boundary (in the period, or between the first
    and the last close) whose true UTC time differs from the shifted one."""
    from leadctl.dates import UTC, from_store, to_store

    lo, hi = period.start, period.end
    if lo is None or hi is None:
        first, last = conn.execute(
            "SELECT min(closed_at), max(closed_at) FROM leads WHERE closed_at IS NOT NULL"
        ).fetchone()
        if first is None:
            return []
        lo = lo or from_store(first)
        hi = hi or from_store(last)
    start, end = lo.astimezone(tz), hi.astimezone(tz)
    y, m = start.year, start.month
    out = []
    while (y, m) <= (end.year + (end.month == 12), end.month % 12 + 1):
        prev = f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"
        true = datetime(y, m, 1, tzinfo=tz).astimezone(UTC)
        shifted = datetime(y, m, 1, tzinfo=UTC) - timedelta(seconds=shift_s)
        here = f"{y:04d}-{m:02d}"
        if true < shifted:  # [true, shifted) was put in the previous month
            out.append((prev, here, to_store(true), to_store(shifted)))
        elif shifted < true:  # [shifted, true) was put in this month
            out.append((here, prev, to_store(shifted), to_store(true)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def forecast(
    conn: sqlite3.Connection,
    period: Period,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
) -> Report:
    ctx = context(conn, period, now, tz, owner)
    first, last = _months(period, tz)
    offset = now.astimezone(tz).utcoffset()
    shift_s = int(offset.total_seconds()) if offset else 0
    shift = f"{shift_s} seconds"

    def month_terms(col: str, p: list[Any]) -> list[str]:
        t = []
        if first:
            t.append(f"{col} >= ?")
            p.append(first)
        if last:
            t.append(f"{col} <= ?")
            p.append(last)
        return t

    op: list[Any] = []
    oterms = ["s.kind = 'open'", *owner_terms("l.owner", ctx, op)]
    month = "substr(l.expected_close, 1, 7)"
    oterms += month_terms(month, op)
    months: dict[str, dict[str, Any]] = {}

    def slot(m: str | None) -> dict[str, Any]:
        key = m or UNSCHEDULED
        return months.setdefault(
            key,
            {"month": key, "open": 0, "open_value": 0, "weighted_value": 0, "won": 0,
             "won_value": 0},
        )  # fmt: skip

    for r in rows_weighted(
        conn,
        f"SELECT {month} AS m, count(*) AS n, SUM(CASE WHEN l.currency = ? THEN l.value END) AS v,"
        " {weighted} AS w"
        f" FROM leads l CROSS JOIN stages s ON s.name = l.stage{where(oterms)} GROUP BY m",
        [ctx.currency, ctx.currency, *op],
    ):
        row = slot(r["m"])
        row["open"] = r["n"]
        row["open_value"] = int(r["v"] or 0)
        row["weighted_value"] = round(r["w"] or 0)
    # Won in local months, in two passes. 1: one scan shifts the stored UTC
    # time by the zone's offset today (an integer we computed: safe to inline).
    wmonth = f"strftime('%Y-%m', closed_at, '{shift}')"
    wp: list[Any] = []
    wterms = [in_list("stage", ctx.names(*WON_KINDS), wp), *owner_terms("owner", ctx, wp)]
    mp: list[Any] = []
    mterms = month_terms(wmonth, mp)
    for r in conn.execute(
        f"SELECT {wmonth} AS m, count(*) AS n, SUM(CASE WHEN currency = ? THEN value END) AS v"
        f" FROM leads{where(wterms + mterms)} GROUP BY m",
        [ctx.currency, *wp, *mp],
    ):
        row = slot(r["m"])
        row["won"] = r["n"]
        row["won_value"] = int(r["v"] or 0)

    # 2: where daylight saving time made the offset at a month's first
    # midnight differ, the hours between the true and the shifted boundary
    # went to the wrong month; an indexed range query per such stretch moves
    # them back.
    def in_range(m: str) -> bool:
        return (first is None or m >= first) and (last is None or m <= last)

    for wrong, right, lo, hi in _dst_stretches(conn, tz, shift_s, period):
        n, v = conn.execute(
            "SELECT count(*), SUM(CASE WHEN currency = ? THEN value END) FROM leads"
            f"{where(['closed_at IS NOT NULL', 'closed_at >= ?', 'closed_at < ?', *wterms])}",
            [ctx.currency, lo, hi, *wp],
        ).fetchone()
        if not n:
            continue
        for month, sign in ((wrong, -1), (right, 1)):
            if in_range(month):
                row = slot(month)
                row["won"] += sign * n
                row["won_value"] += sign * int(v or 0)
    rows = [
        months[k]
        for k in sorted(months, key=lambda k: (k == UNSCHEDULED, k))
        if months[k]["open"] or months[k]["won"] or k == UNSCHEDULED
    ]
    for row in rows:
        row["forecast_value"] = row["weighted_value"] + row["won_value"]
    totals = {
        k: sum(r[k] for r in rows)
        for k in ("open", "open_value", "weighted_value", "won", "won_value", "forecast_value")
    }
    return Report("forecast", _whole_months(period, tz), ctx.currency, rows, totals, ctx.owner)


def _whole_months(period: Period, tz: tzinfo) -> Period:
    """The period widened to the local months it overlaps (what is counted)."""
    from dataclasses import replace

    start, end = period.start, period.end
    if start is not None:
        local = start.astimezone(tz)
        start = datetime(local.year, local.month, 1, tzinfo=tz).astimezone(start.tzinfo)
    if end is not None:
        local = (end - timedelta(seconds=1)).astimezone(tz)
        y, m = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        end = datetime(y, m, 1, tzinfo=tz).astimezone(end.tzinfo)
    if (start, end) == (period.start, period.end):
        return period
    return replace(period, start=start, end=end, unit=None)
