"""targets: every target next to its actual over its period.

By default each target is measured over its own current period (a month
target over this month, a week target over this week...). A named period
(`--period last-month`) measures the targets of that unit over that period.
percent = actual / target × 100; expected_by_now = target × the elapsed
share of the period; on_track = actual ≥ expected_by_now.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo

from leadctl import targets as targets_core
from leadctl.periods import Period
from leadctl.reports import Report, context


def targets(
    conn: sqlite3.Connection,
    period: Period | None,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
) -> Report:
    ctx = context(conn, period or Period("current", None, None), now, tz, owner)
    rows = []
    for t in targets_core.list_targets(conn, ctx.owner):
        if period is not None and period.unit is not None and t.period != period.unit:
            continue
        use = period if period is not None and period.unit is not None else None
        rows.append(targets_core.evaluate(conn, t, now, tz, use))
    totals = {
        "targets": len(rows),
        "on_track": sum(1 for r in rows if r["on_track"]),
        "reached": sum(1 for r in rows if r["actual"] >= r["target"]),
    }
    return Report("targets", ctx.period, ctx.currency, rows, totals, ctx.owner)
