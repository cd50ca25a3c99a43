"""sources: for leads created in the period, per source (or source + campaign):
leads, qualified, won, won value; with source costs entered
(`leadctl source cost ads 5000000 --month 2026-11`) also the cost of the
months the period overlaps, cost per lead = cost / leads, customer
acquisition cost (CAC) = cost / won and return on spend = won value / cost.
Sources are compared case-insensitively (`Ads` and `ads` are one source)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, tzinfo
from typing import Any

from leadctl.periods import Period
from leadctl.reports import (
    WON_KINDS,
    Report,
    check_by,
    context,
    in_list,
    iround,
    owner_terms,
    rate,
    where,
    window,
)

BY = ("source", "campaign")


def _cost_months(period: Period, tz: tzinfo) -> tuple[str | None, str | None]:
    first = period.start.astimezone(tz).strftime("%Y-%m") if period.start else None
    last = None
    if period.end:
        last = (period.end.astimezone(tz) - timedelta(seconds=1)).strftime("%Y-%m")
    return first, last


def sources(
    conn: sqlite3.Connection,
    period: Period,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
    by: str = "source",
) -> Report:
    ctx = context(conn, period, now, tz, owner)
    key = check_by(by, BY) or "source"
    sel: list[Any] = []
    won_in = in_list("stage", ctx.names(*WON_KINDS), sel)
    sel.append(ctx.currency)
    won_in2 = in_list("stage", ctx.names(*WON_KINDS), sel)
    wp: list[Any] = []
    terms = window("created_at", period, wp) + owner_terms("owner", ctx, wp)
    campaign = ", campaign" if key == "campaign" else ""
    sql = (
        f"SELECT source AS src{campaign}, count(*) AS leads, SUM(qualified != 0) AS qualified,"
        f" SUM({won_in}) AS won,"
        f" SUM(CASE WHEN currency = ? AND {won_in2} THEN value END) AS won_value"
        f" FROM leads{where(terms)} GROUP BY src{campaign}"
    )
    costs: dict[str | None, int] = {}
    cp: list[Any] = []
    first, last = _cost_months(period, tz)
    cterms = []
    if first:
        cterms.append("month >= ?")
        cp.append(first)
    if last:
        cterms.append("month <= ?")
        cp.append(last)
    for r in conn.execute(
        f"SELECT lower(source) AS src, SUM(amount) AS amount FROM source_costs{where(cterms)}"
        " GROUP BY src",
        cp,
    ):
        costs[r["src"]] = int(r["amount"])
    # Costs are per source: they apply to the whole team and to --by source only.
    with_costs = bool(costs) and key == "source" and ctx.owner is None
    # Exact groups from SQLite, case-folded here on the few grouped rows
    # (COLLATE NOCASE in the GROUP BY makes the sort ~2× slower on 1M rows).
    folded: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in conn.execute(sql, sel + wp):
        camp = r["campaign"] if key == "campaign" else None
        fk = tuple(v.casefold() if isinstance(v, str) else v for v in (r["src"], camp))
        row = folded.get(fk)
        if row is None:
            row = folded[fk] = {"source": r["src"]}
            if key == "campaign":
                row["campaign"] = camp
            row.update(leads=0, qualified=0, won=0, won_value=0)
        row["leads"] += r["leads"]
        row["qualified"] += int(r["qualified"] or 0)
        row["won"] += int(r["won"] or 0)
        row["won_value"] += int(r["won_value"] or 0)
    rows = []
    for row in folded.values():
        row["qualified_rate"] = rate(row["qualified"], row["leads"])
        row["close_rate"] = rate(row["won"], row["leads"])
        if with_costs:
            src = row["source"]
            _add_costs(row, costs.pop(src.lower() if src else None, None))
        rows.append(row)
    if with_costs:
        # Money spent on a source that brought no lead in the period still counts.
        for src, amount in costs.items():
            row = {"source": src, "leads": 0, "qualified": 0, "won": 0, "won_value": 0,
                   "qualified_rate": None, "close_rate": None}  # fmt: skip
            _add_costs(row, amount)
            rows.append(row)
    rows.sort(key=lambda r: (-r["leads"], r["source"] is None, str(r["source"]),
                             str(r.get("campaign"))))  # fmt: skip
    totals: dict[str, Any] = {
        k: sum(r[k] for r in rows) for k in ("leads", "qualified", "won", "won_value")
    }
    totals["qualified_rate"] = rate(totals["qualified"], totals["leads"])
    totals["close_rate"] = rate(totals["won"], totals["leads"])
    if with_costs:
        _add_costs(totals, sum(r["cost"] or 0 for r in rows))
    return Report("sources", period, ctx.currency, rows, totals, ctx.owner, key,
                  extra={"costs": with_costs})  # fmt: skip


def _add_costs(row: dict[str, Any], cost: int | None) -> None:
    row["cost"] = cost
    if cost is None:
        row.update(cost_per_lead=None, acquisition_cost=None, return_on_spend=None)
        return
    row["cost_per_lead"] = iround(rate(cost, row["leads"]))
    row["acquisition_cost"] = iround(rate(cost, row["won"]))
    row["return_on_spend"] = rate(row["won_value"], cost)
