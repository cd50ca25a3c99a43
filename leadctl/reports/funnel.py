"""funnel: how far leads created in the period got along the main path.

The main path is the open stages by position, then won. A lead's furthest
point is the furthest main-path stage in its stage history (won, or inactive
which only follows won, is the end); reaching a stage means having passed
every stage before it, even one it skipped. Every lead reached the first
stage. conversion_rate = reached(next) / reached(this).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from leadctl.periods import Period
from leadctl.reports import Report, context, owner_terms, rate, where, window


def funnel(
    conn: sqlite3.Connection,
    period: Period,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
) -> Report:
    ctx = context(conn, period, now, tz, owner)
    steps = [s for s in ctx.stages if s["kind"] == "open"] + [
        s for s in ctx.stages if s["kind"] == "won"
    ]
    n = len(steps)
    # stage name -> its index on the main path (1-based); inactive counts as won.
    index = {s["name"]: i for i, s in enumerate(steps, start=1)}
    for s in ctx.stages:
        if s["kind"] == "inactive":
            index[s["name"]] = n
    params: list[Any] = []
    case = " ".join("WHEN ? THEN ?" for _ in index)
    for name, i in index.items():
        params += [name, i]
    reach_expr = f"CASE h.stage {case} ELSE 1 END" if index else "1"
    wp: list[Any] = []
    terms = window("l.created_at", period, wp) + owner_terms("l.owner", ctx, wp)
    if terms:
        sql = (
            f"SELECT reached, count(*) AS n FROM ("
            f" SELECT MAX({reach_expr}) AS reached"
            f" FROM leads l LEFT JOIN stage_history h ON h.lead_id = l.id{where(terms)}"
            " GROUP BY l.id) GROUP BY reached"
        )
        counts = {r["reached"]: r["n"] for r in conn.execute(sql, params + wp)}
    else:
        # Every lead: one pass over the history alone (no per-lead lookups); a
        # lead with no history row at all reached the first stage.
        sql = (
            f"SELECT reached, count(*) AS n FROM (SELECT MAX({reach_expr}) AS reached"
            " FROM stage_history h GROUP BY h.lead_id) GROUP BY reached"
        )
        counts = {r["reached"]: r["n"] for r in conn.execute(sql, params)}
        total = conn.execute("SELECT count(*) FROM leads").fetchone()[0]
        counts[1] = counts.get(1, 0) + total - sum(counts.values())
    leads = sum(counts.values())
    reached = []
    running = 0
    for i in range(n, 0, -1):
        running += counts.get(i, 0)
        reached.append(running)
    reached.reverse()
    rows: list[dict[str, Any]] = []
    for i, st in enumerate(steps):
        nxt = reached[i + 1] if i + 1 < n else None
        rows.append(
            {
                "stage": st["name"],
                "kind": st["kind"],
                "reached": reached[i],
                "share_of_leads": rate(reached[i], leads),
                "conversion_rate": rate(nxt, reached[i]) if nxt is not None else None,
            }
        )
    # Where the leads are now (same cohort), to see what left the funnel.
    kp: list[Any] = []
    kterms = window("l.created_at", period, kp) + owner_terms("l.owner", ctx, kp)
    now_kind = {
        r["kind"]: r["n"]
        for r in conn.execute(
            "SELECT s.kind AS kind, count(*) AS n FROM leads l CROSS JOIN stages s ON s.name = l.stage"
            f"{where(kterms)} GROUP BY s.kind",
            kp,
        )
    }
    won = sum(now_kind.get(k, 0) for k in ("won", "inactive"))
    totals = {
        "leads": leads,
        "open": now_kind.get("open", 0),
        "won": won,
        "lost": now_kind.get("lost", 0),
        "disqualified": now_kind.get("disqualified", 0),
        "conversion_rate": rate(won, leads),
    }
    return Report("funnel", period, ctx.currency, rows, totals, ctx.owner)
