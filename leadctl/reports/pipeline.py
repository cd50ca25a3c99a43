"""pipeline: per stage, count, total value and weighted value (value × probability)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from leadctl.periods import Period
from leadctl.reports import (
    Report,
    check_by,
    context,
    in_list,
    owner_terms,
    rows_weighted,
    where,
    window,
)

BY = ("owner", "product", "segment", "source", "campaign", "city")


def pipeline(
    conn: sqlite3.Connection,
    period: Period,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
    by: str | None = None,
    closed: bool = False,
) -> Report:
    """Leads now in each stage (open stages; with `closed`, every stage).

    The period, when bounded, keeps leads created in it. weighted_value =
    Σ value × effective probability / 100, rounded once per row.
    """
    ctx = context(conn, period, now, tz, owner)
    by = check_by(by, BY)
    kinds = ("open", "won", "lost", "disqualified", "inactive") if closed else ("open",)
    stages = [s for s in ctx.stages if s["kind"] in kinds]
    sel: list[Any] = [ctx.currency, ctx.currency]
    wp: list[Any] = []
    terms = [in_list("l.stage", [s["name"] for s in stages], wp)]
    terms += window("l.created_at", period, wp)
    terms += owner_terms("l.owner", ctx, wp)
    group = f", +l.{by}" if by else ""
    sql = (
        f"SELECT l.stage AS stage{', l.' + by + ' AS grp' if by else ''}, count(*) AS n,"
        " SUM(CASE WHEN l.currency = ? THEN l.value END) AS value,"
        " {weighted} AS weighted"
        f" FROM leads l CROSS JOIN stages s ON s.name = l.stage{where(terms)}"
        # +l.stage: group by sorting a scan, not by walking the (stage, owner)
        # index and fetching every row at random (3× slower on 1M leads).
        f" GROUP BY +l.stage{group}"
    )
    # Text groups are case-folded here, on the few grouped rows.
    found: dict[tuple[str, Any], dict[str, Any]] = {}
    for r in rows_weighted(conn, sql, sel + wp):
        grp = r["grp"] if by else None
        k = (r["stage"], grp.casefold() if isinstance(grp, str) else grp)
        acc = found.setdefault(k, {"grp": grp, "n": 0, "value": 0, "weighted": 0.0})
        acc["n"] += r["n"]
        acc["value"] += r["value"] or 0
        acc["weighted"] += r["weighted"] or 0
    rows: list[dict[str, Any]] = []
    for st in stages:
        keys = sorted((k for k in found if k[0] == st["name"]), key=lambda k: (k[1] is None, k[1]))
        if not keys and not by:
            keys = [(st["name"], None)]
        for key in keys:
            r = found.get(key)
            row: dict[str, Any] = {"stage": st["name"], "kind": st["kind"]}
            if by:
                row[by] = r["grp"] if r else None
            row.update(
                count=r["n"] if r else 0,
                value=int(r["value"] or 0) if r else 0,
                weighted_value=round(r["weighted"] or 0) if r else 0,
                probability=st["probability"],
            )
            rows.append(row)
    totals = {
        "count": sum(r["count"] for r in rows),
        "value": sum(r["value"] for r in rows),
        "weighted_value": sum(r["weighted_value"] for r in rows),
    }
    return Report("pipeline", period, ctx.currency, rows, totals, ctx.owner, by)
