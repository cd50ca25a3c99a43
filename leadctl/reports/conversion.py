"""conversion: for leads created in the period, grouped by owner/source/...:
leads, open, won, lost, disqualified, win rate = won / (won + lost),
close rate = won / leads, won value and average deal size (won value / won).

A cohort report: each lead counts once, by the kind of the stage it is in now
(inactive = a won customer who later churned, so it counts as won).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from leadctl.periods import Period
from leadctl.reports import Report, check_by, context, iround, owner_terms, rate, where, window

BY = ("owner", "source", "campaign", "product", "segment", "city")
KIND_KEYS = ("open", "won", "lost", "disqualified")


def _row(key: str, value: Any) -> dict[str, Any]:
    return {key: value, "leads": 0, "open": 0, "won": 0, "lost": 0, "disqualified": 0,
            "won_value": 0, "_won_cur": 0}  # fmt: skip


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    row["win_rate"] = rate(row["won"], row["won"] + row["lost"])
    row["close_rate"] = rate(row["won"], row["leads"])
    # Over the won deals the value sums (those in the report's currency), as
    # velocity's: a USD deal is in `won` but not in `won_value`.
    row["average_deal"] = iround(rate(row["won_value"], row.pop("_won_cur")))
    return row


def conversion(
    conn: sqlite3.Connection,
    period: Period,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
    by: str = "owner",
) -> Report:
    ctx = context(conn, period, now, tz, owner)
    key = check_by(by, BY) or "owner"
    wp: list[Any] = []
    terms = window("created_at", period, wp) + owner_terms("owner", ctx, wp)
    # Grouped by (key, stage) on the leads table alone; the few group rows are
    # folded into kinds and case-folded here (COLLATE NOCASE in the GROUP BY
    # costs the sort ~2× on 1M rows; a join to stages per lead costs more).
    sql = (
        f"SELECT {key} AS grp, stage, count(*) AS n,"
        " SUM(CASE WHEN currency = ? THEN value END) AS value,"
        " SUM(currency = ?) AS n_cur"
        f" FROM leads{where(terms)} GROUP BY +{key}, +stage"
    )
    rows: dict[Any, dict[str, Any]] = {}
    total = _row(key, None)
    for r in conn.execute(sql, [ctx.currency, ctx.currency, *wp]):
        # Text dimensions group case-insensitively ('Ads' and 'ads' are one source).
        fold = r["grp"].casefold() if isinstance(r["grp"], str) else r["grp"]
        row = rows.setdefault(fold, _row(key, r["grp"]))
        kind = ctx.kind_of(r["stage"])
        kind = "won" if kind in ("won", "inactive") else kind
        for target in (row, total):
            target["leads"] += r["n"]
            target[kind] += r["n"]
            if kind == "won":
                target["won_value"] += int(r["value"] or 0)
                target["_won_cur"] += int(r["n_cur"] or 0)
    out = [_finish(rows[k]) for k in sorted(rows, key=lambda k: (k is None, str(k)))]
    totals = _finish(total)
    totals.pop(key)
    return Report("conversion", period, ctx.currency, out, totals, ctx.owner, key)
