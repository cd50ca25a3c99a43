"""summary: the one-screen overview `leadctl report` shows.

Today's follow-ups (open, due by the end of today; overdue = due before
today), the open pipeline (count, value, weighted value), the month so far
(new leads, won, won value; `--period` picks another window) with the month
targets, and stale / no-next-step counts.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from leadctl import targets as targets_core
from leadctl.dates import to_store
from leadctl.periods import Period, unit_period
from leadctl.reports import Report, context, owner_terms, where
from leadctl.reports.pipeline import pipeline
from leadctl.reports.stale import stale


def summary(
    conn: sqlite3.Connection,
    period: Period | None,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
) -> Report:
    today = unit_period("day", now.astimezone(tz).date(), tz, name="today")
    month = period or unit_period("month", now.astimezone(tz).date(), tz, name="this-month")
    ctx = context(conn, month, now, tz, owner)
    # Overdue as `followups` says it: due before now (earlier today too).
    fp: list[Any] = [to_store(now), today.end_s]
    fterms = ["status = 'open'", "due_at < ?", *owner_terms("owner", ctx, fp)]
    # Not the steps of enrolments about to stop (the lead closed, opted out
    # or replied): `followups` stops those before listing.
    from leadctl.agenda import PENDING_STOP_IDS_SQL

    fterms.append(f"(enrollment_id IS NULL OR enrollment_id NOT IN ({PENDING_STOP_IDS_SQL}))")
    fu = conn.execute(
        f"SELECT SUM(due_at < ?) AS overdue, count(*) AS due FROM followups{where(fterms)}", fp
    ).fetchone()
    pipe = pipeline(conn, Period("all", None, None), now, tz, ctx.owner).totals
    st = stale(conn, Period("all", None, None), now, tz, ctx.owner).totals
    who = ctx.owner
    month_figures = {
        m: targets_core.actual(conn, m, month, who)
        for m in ("new_leads", "won_count", "won_value", "activities")
    }
    # The targets of the period's unit (the month's by default), measured over
    # it: a year of sales is not compared with a month target. A range that
    # is no calendar unit (--since/--until) has none.
    unit = period.unit if period is not None else "month"
    month_targets = [
        targets_core.evaluate(conn, t, now, tz, month if period is not None else None)
        for t in targets_core.list_targets(conn, who or "")
        if t.period == unit
    ]
    totals = {
        "followups_due_today": int(fu["due"] or 0),
        "followups_overdue": int(fu["overdue"] or 0),
        "open_leads": pipe["count"],
        "pipeline_value": pipe["value"],
        "weighted_value": pipe["weighted_value"],
        "new_leads": month_figures["new_leads"],
        "won": month_figures["won_count"],
        "won_value": month_figures["won_value"],
        "activities": month_figures["activities"],
        "stale": st["stale"],
        "no_next_step": st["no_next_step"],
    }
    return Report("summary", month, ctx.currency, month_targets, totals, ctx.owner)
