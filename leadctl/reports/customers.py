"""customers: won leads (customers) and their logged sales
(`leadctl log ID --kind sale --amount X --product P`).

- customers_with_sales: won (or since churned) leads with a sale up to the end
  of the period; lifetime_value = their sales total / their number;
- repeat_rate: share of them with 2+ sales; cross_sell_rate: 2+ distinct
  products; upsell_rate: a later sale of a product they already bought at a
  higher amount than their first sale of it;
- churn: customers who moved won → inactive in the period, over the customers
  there were at its start (all customers for an all-time period);
- rows: sales in the period per product (count, revenue, customers).
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


def customers(
    conn: sqlite3.Connection,
    period: Period,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
) -> Report:
    ctx = context(conn, period, now, tz, owner)
    won_names = ctx.names(*WON_KINDS)
    inactive_names = ctx.names("inactive")

    def customer_terms(p: list[Any]) -> list[str]:
        # Sales first (the partial index idx_activities_sales), then the lead by id.
        return [in_list("l.stage", won_names, p), *owner_terms("l.owner", ctx, p)]

    # Lifetime figures: every sale of a customer up to the end of the period.
    lp: list[Any] = [ctx.currency]
    lterms = ["a.kind = 'sale'", *customer_terms(lp)]
    if period.end is not None:
        lterms.append("a.at < ?")
        lp.append(period.end_s)
    life = conn.execute(
        "SELECT count(*) AS customers, SUM(amount) AS revenue, SUM(n >= 2) AS repeaters,"
        " SUM(products >= 2) AS cross_sold, SUM(upsold) AS upsold, SUM(n) AS sales FROM ("
        "  SELECT lead_id, count(*) AS n, SUM(amount) AS amount,"
        "   count(DISTINCT COALESCE(product, '')) AS products, MAX(amount > first) AS upsold"
        "  FROM (SELECT a.lead_id, COALESCE(a.product, '') AS product,"
        "         CASE WHEN l.currency = ? THEN a.amount END AS amount,"
        "         FIRST_VALUE(a.amount) OVER (PARTITION BY a.lead_id, COALESCE(a.product, '')"
        "           ORDER BY a.at, a.id) AS first"
        f"        FROM activities a INDEXED BY idx_activities_sales CROSS JOIN leads l ON l.id = a.lead_id{where(lterms)})"
        "  GROUP BY lead_id)",
        lp,
    ).fetchone()
    n_customers = life["customers"] or 0

    # Sales in the period, per product.
    sp: list[Any] = [ctx.currency]
    sterms = ["a.kind = 'sale'", *customer_terms(sp)]
    sterms += window("a.at", period, sp)
    rows = []
    for r in conn.execute(
        "SELECT a.product AS product, count(*) AS sales,"
        " SUM(CASE WHEN l.currency = ? THEN a.amount END) AS revenue,"
        " count(DISTINCT a.lead_id) AS customers"
        f" FROM activities a INDEXED BY idx_activities_sales CROSS JOIN leads l ON l.id = a.lead_id{where(sterms)}"
        " GROUP BY a.product ORDER BY revenue DESC, a.product",
        sp,
    ):
        rows.append(
            {"product": r["product"], "sales": r["sales"], "revenue": int(r["revenue"] or 0),
             "customers": r["customers"]}
        )  # fmt: skip

    # Churn: entries into an inactive stage in the period ...
    cp: list[Any] = []
    cterms = [in_list("h.stage", inactive_names, cp, indexed=True)]
    cterms += window("h.entered_at", period, cp)
    join = ""
    if ctx.owner is not None:
        join = " JOIN leads l ON l.id = h.lead_id"
        cterms += owner_terms("l.owner", ctx, cp)
    churned = conn.execute(
        f"SELECT count(DISTINCT h.lead_id) FROM stage_history h{join}{where(cterms)}", cp
    ).fetchone()[0]
    # ... over the customers at the start: won before it and not yet inactive.
    bp: list[Any] = []
    bterms = [in_list("stage", won_names, bp), *owner_terms("owner", ctx, bp)]
    if period.start is not None:
        bterms.append("closed_at IS NOT NULL AND closed_at < ?")
        bp.append(period.start_s)
        bterms.append(f"NOT ({in_list('stage', inactive_names, bp)} AND stage_entered_at < ?)")
        bp.append(period.start_s)
    base = conn.execute(f"SELECT count(*) FROM leads{where(bterms)}", bp).fetchone()[0]
    wp: list[Any] = []
    wterms = [in_list("stage", won_names, wp), *closed_terms(period, wp)]
    wterms += owner_terms("owner", ctx, wp)
    new_customers = conn.execute(f"SELECT count(*) FROM leads{where(wterms)}", wp).fetchone()[0]

    totals = {
        "customers_with_sales": n_customers,
        "sales": life["sales"] or 0,
        "lifetime_revenue": int(life["revenue"] or 0),
        "lifetime_value": iround(rate(life["revenue"] or 0, n_customers)),
        "repeat_rate": rate(life["repeaters"] or 0, n_customers),
        "cross_sell_rate": rate(life["cross_sold"] or 0, n_customers),
        "upsell_rate": rate(life["upsold"] or 0, n_customers),
        "revenue_in_period": sum(r["revenue"] for r in rows),
        "sales_in_period": sum(r["sales"] for r in rows),
        "new_customers": new_customers,
        "customers_at_start": base,
        "churned": churned,
        "churn_rate": rate(churned, base),
    }
    return Report("customers", period, ctx.currency, rows, totals, ctx.owner)
