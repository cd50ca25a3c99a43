"""forecast: weighted value by expected close month (DESIGN.md §3).

Open leads: Σ value × effective probability (the lead's manual, else learned,
else the stage default) in their expected close month ('unscheduled' when no
date is set). Won leads count at 100 % in the month they were won; lost and
disqualified leads are left out. forecast_value = weighted_value + won_value.
A bounded period keeps the months it overlaps (unscheduled leads then drop).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from leadctl.periods import Period
from leadctl.reports import (
    PROBABILITY_SQL,
    WON_KINDS,
    Report,
    context,
    in_list,
    owner_terms,
    where,
)

UNSCHEDULED = "unscheduled"


def _months(period: Period, tz: tzinfo) -> tuple[str | None, str | None]:
    """First and last local month ('YYYY-MM') the period overlaps."""
    from datetime import timedelta

    first = period.start.astimezone(tz).strftime("%Y-%m") if period.start else None
    last = None
    if period.end:
        last = (period.end.astimezone(tz) - timedelta(seconds=1)).strftime("%Y-%m")
    return first, last


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
    shift = f"{int(offset.total_seconds()) if offset else 0} seconds"

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

    for r in conn.execute(
        f"SELECT {month} AS m, count(*) AS n, SUM(CASE WHEN l.currency = ? THEN l.value END) AS v,"
        f" SUM(CASE WHEN l.currency = ? THEN l.value * ({PROBABILITY_SQL}) END) / 100.0 AS w"
        f" FROM leads l CROSS JOIN stages s ON s.name = l.stage{where(oterms)} GROUP BY m",
        [ctx.currency, ctx.currency, *op],
    ):
        row = slot(r["m"])
        row["open"] = r["n"]
        row["open_value"] = int(r["v"] or 0)
        row["weighted_value"] = round(r["w"] or 0)
    # Won in local months: the zone's current UTC offset shifts the stored UTC
    # time (an integer we computed, so it is safe to inline).
    wmonth = f"strftime('%Y-%m', closed_at, '{shift}')"
    wp: list[Any] = []
    wterms = [in_list("stage", ctx.names(*WON_KINDS), wp)]
    wterms += owner_terms("owner", ctx, wp) + month_terms(wmonth, wp)
    for r in conn.execute(
        f"SELECT {wmonth} AS m, count(*) AS n, SUM(CASE WHEN currency = ? THEN value END) AS v"
        f" FROM leads{where(wterms)} GROUP BY m",
        [ctx.currency, *wp],
    ):
        row = slot(r["m"])
        row["won"] = r["n"]
        row["won_value"] = int(r["v"] or 0)
    rows = [months[k] for k in sorted(months, key=lambda k: (k == UNSCHEDULED, k))]
    for row in rows:
        row["forecast_value"] = row["weighted_value"] + row["won_value"]
    totals = {
        k: sum(r[k] for r in rows)
        for k in ("open", "open_value", "weighted_value", "won", "won_value", "forecast_value")
    }
    return Report("forecast", period, ctx.currency, rows, totals, ctx.owner)
