"""stale: per owner, open leads past their stage's rot threshold (untouched
longer than the stage's rot days) and open leads with no next step (no open
follow-up). A snapshot at `now`; a bounded period keeps leads created in it."""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from leadctl.dates import to_store
from leadctl.leads import NO_NEXT_STEP_SQL, STALE_SQL
from leadctl.periods import Period
from leadctl.reports import Report, context, owner_terms, rate, where, window


def stale(
    conn: sqlite3.Connection,
    period: Period,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
) -> Report:
    ctx = context(conn, period, now, tz, owner)
    wp: list[Any] = []
    terms = ["s.kind = 'open'", *window("l.created_at", period, wp)]
    terms += owner_terms("l.owner", ctx, wp)
    sql = (
        f"SELECT l.owner AS owner, count(*) AS open, SUM({STALE_SQL}) AS stale,"
        f" SUM({NO_NEXT_STEP_SQL}) AS no_next_step,"
        f" SUM({STALE_SQL} AND {NO_NEXT_STEP_SQL}) AS both_"
        f" FROM leads l CROSS JOIN stages s ON s.name = l.stage{where(terms)}"
        " GROUP BY +l.owner ORDER BY l.owner IS NULL, l.owner"
    )
    now_s = to_store(now)
    rows = []
    for r in conn.execute(sql, [now_s, now_s, *wp]):
        rows.append(
            {
                "owner": r["owner"],
                "open": r["open"],
                "stale": int(r["stale"] or 0),
                "no_next_step": int(r["no_next_step"] or 0),
                "stale_and_no_next_step": int(r["both_"] or 0),
                "stale_rate": rate(int(r["stale"] or 0), r["open"]),
            }
        )
    totals: dict[str, Any] = {
        k: sum(r[k] for r in rows)
        for k in ("open", "stale", "no_next_step", "stale_and_no_next_step")
    }
    totals["stale_rate"] = rate(totals["stale"], totals["open"])
    return Report("stale", period, ctx.currency, rows, totals, ctx.owner)
