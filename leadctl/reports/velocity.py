"""velocity: how fast deals move.

- cycle time = closed_at − created_at of leads won in the period (average and
  median days);
- time in stage: every visit to an open stage that started in the period, from
  the stage history (stored durations; a visit still going counts until now);
- win rate = won / (won + lost) among leads closed in the period;
- sales velocity = open leads (now) × average won deal × win rate / average
  cycle days: expected won value per day. A cycle under a day (walk-in
  customers, won the day they came) counts as one day: a rate per day of
  deals that take seconds would be the pipeline many thousand times over.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from leadctl.periods import Period
from leadctl.reports import (
    WON_KINDS,
    Report,
    closed_terms,
    context,
    in_list,
    iround,
    owner_terms,
    rate,
    where,
    window,
)

DAY = 86400.0


def velocity(
    conn: sqlite3.Connection,
    period: Period,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
) -> Report:
    ctx = context(conn, period, now, tz, owner)
    won_names = ctx.names(*WON_KINDS)
    lost_names = ctx.names("lost")

    # Won and lost leads closed in the period (idx_leads_closed).
    p: list[Any] = []
    terms = [in_list("stage", won_names + lost_names, p), *closed_terms(period, p)]
    terms += owner_terms("owner", ctx, p)
    closed = {
        r["stage"]: r
        for r in conn.execute(
            "SELECT stage, count(*) AS n, SUM(CASE WHEN currency = ? THEN value END) AS value,"
            " SUM(CASE WHEN currency = ? THEN 1 END) AS n_cur,"
            " SUM(unixepoch(closed_at) - unixepoch(created_at)) AS secs"
            f" FROM leads{where(terms)} GROUP BY +stage",
            [ctx.currency, ctx.currency, *p],
        )
    }
    won = sum(closed[s]["n"] for s in won_names if s in closed)
    lost = sum(closed[s]["n"] for s in lost_names if s in closed)
    won_value = sum(int(closed[s]["value"] or 0) for s in won_names if s in closed)
    won_cur = sum(int(closed[s]["n_cur"] or 0) for s in won_names if s in closed)
    cycle_secs = sum(int(closed[s]["secs"] or 0) for s in won_names if s in closed)
    avg_cycle = rate(cycle_secs / DAY, won)

    # Median cycle: the middle one or two of the sorted durations, found by SQLite.
    median = None
    if won:
        mp: list[Any] = []
        mterms = [in_list("stage", won_names, mp), *closed_terms(period, mp)]
        mterms += owner_terms("owner", ctx, mp)
        mids = [
            r[0]
            for r in conn.execute(
                "SELECT unixepoch(closed_at) - unixepoch(created_at) AS d"
                f" FROM leads{where(mterms)} ORDER BY d LIMIT ? OFFSET ?",
                [*mp, 2 - won % 2, (won - 1) // 2],
            )
        ]
        median = sum(mids) / len(mids) / DAY

    # Open leads now (a snapshot; the period does not apply).
    op: list[Any] = []
    oterms = [in_list("stage", ctx.names("open"), op), *owner_terms("owner", ctx, op)]
    open_now = conn.execute(f"SELECT count(*) FROM leads{where(oterms)}", op).fetchone()[0]

    # Time in each open stage, from stage history.
    open_stages = [s for s in ctx.stages if s["kind"] == "open"]
    hp: list[Any] = [int(now.timestamp())]
    # The (stage, entered_at, seconds, left_at, lead_id) index covers this query.
    hterms = [in_list("h.stage", [s["name"] for s in open_stages], hp, indexed=True)]
    hterms += window("h.entered_at", period, hp)
    join = ""
    if ctx.owner is not None:
        join = " JOIN leads l ON l.id = h.lead_id"
        hterms += owner_terms("l.owner", ctx, hp)
    visits = {
        r["stage"]: r
        for r in conn.execute(
            "SELECT h.stage AS stage, count(*) AS n,"
            " SUM(COALESCE(h.seconds, ? - unixepoch(h.entered_at))) AS secs,"
            " SUM(h.left_at IS NULL) AS current"
            f" FROM stage_history h{join}{where(hterms)} GROUP BY h.stage",
            hp,
        )
    }
    rows = []
    for st in open_stages:
        r = visits.get(st["name"])
        n = r["n"] if r else 0
        secs = int(r["secs"] or 0) if r else 0
        rows.append(
            {
                "stage": st["name"],
                "visits": n,
                "in_stage_now": int(r["current"] or 0) if r else 0,
                "average_days": rate(secs / DAY, n),
                "total_days": secs / DAY,
            }
        )
    win_rate = rate(won, won + lost)
    avg_deal = rate(won_value, won_cur)
    sales_velocity = None
    if avg_cycle is not None and avg_deal is not None and win_rate is not None:
        sales_velocity = iround(open_now * avg_deal * win_rate / max(avg_cycle, 1.0))
    totals = {
        "won": won,
        "lost": lost,
        "win_rate": win_rate,
        "won_value": won_value,
        "average_deal": iround(avg_deal),
        "average_cycle_days": avg_cycle,
        "median_cycle_days": median,
        "open_now": open_now,
        "sales_velocity_per_day": sales_velocity,
    }
    return Report("velocity", period, ctx.currency, rows, totals, ctx.owner)
