"""team: a leaderboard of salespeople for the period, ranked by won value.

Per owner: new leads (created in the period), won / lost / won value (closed
in the period), win rate = won / (won + lost), activities logged (as actor),
and average first-response time: hours from a lead's creation to the first
outbound call/e-mail/WhatsApp/SMS/meeting/message, over the owner's leads
created in the period that got one (`responded` counts them).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from leadctl.periods import Period
from leadctl.reports import (
    RESPONSE_KINDS,
    WON_KINDS,
    Report,
    closed_terms,
    context,
    in_list,
    owner_terms,
    rate,
    where,
    window,
    work_terms,
)


def team(
    conn: sqlite3.Connection,
    period: Period,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
) -> Report:
    ctx = context(conn, period, now, tz, owner)
    people: dict[Any, dict[str, Any]] = {}

    def row(who: Any) -> dict[str, Any]:
        return people.setdefault(
            who,
            {"owner": who, "new_leads": 0, "won": 0, "lost": 0, "won_value": 0,
             "activities": 0, "responded": 0, "first_response_hours": None},
        )  # fmt: skip

    won_names = ctx.names(*WON_KINDS)
    lost_names = ctx.names("lost")
    cp: list[Any] = []
    cterms = [in_list("stage", won_names + lost_names, cp), *closed_terms(period, cp)]
    cterms += owner_terms("owner", ctx, cp)
    for r in conn.execute(
        "SELECT owner, stage, count(*) AS n, SUM(CASE WHEN currency = ? THEN value END) AS v"
        f" FROM leads{where(cterms)} GROUP BY +owner, +stage",
        [ctx.currency, *cp],
    ):
        rec = row(r["owner"])
        if r["stage"] in won_names:
            rec["won"] += r["n"]
            rec["won_value"] += int(r["v"] or 0)
        else:
            rec["lost"] += r["n"]

    ap: list[Any] = []
    aterms = work_terms(period, ap)
    aterms += owner_terms("actor", ctx, ap)
    for r in conn.execute(
        f"SELECT actor, count(*) AS n FROM activities{where(aterms)} GROUP BY +actor", ap
    ):
        row(r["actor"])["activities"] = r["n"]

    # First response per lead: the earliest outbound touch at or after creation
    # (idx_activities_lead_at walks each lead's activities in time order).
    fp: list[Any] = []
    kinds = in_list("a.kind", RESPONSE_KINDS, fp)
    lterms = window("l.created_at", period, fp) + owner_terms("l.owner", ctx, fp)
    for r in conn.execute(
        "SELECT owner, count(*) AS leads, count(fr) AS responded, AVG(fr) AS avg_fr FROM ("
        " SELECT l.owner AS owner, unixepoch((SELECT a.at FROM activities a"
        "   WHERE a.lead_id = l.id AND a.at >= l.created_at"
        f"   AND {kinds} AND COALESCE(a.direction, 'out') = 'out'"
        "   ORDER BY a.at LIMIT 1)) - unixepoch(l.created_at) AS fr"
        f" FROM leads l{where(lterms)}) GROUP BY +owner",
        fp,
    ):
        rec = row(r["owner"])
        rec["new_leads"] = r["leads"]
        rec["responded"] = r["responded"]
        rec["first_response_hours"] = r["avg_fr"] / 3600 if r["avg_fr"] is not None else None

    rows = list(people.values())
    for rec in rows:
        rec["win_rate"] = rate(rec["won"], rec["won"] + rec["lost"])
    rows.sort(key=lambda r: (-r["won_value"], -r["won"], r["owner"] is None, str(r["owner"])))
    order = ("owner", "new_leads", "won", "lost", "won_value", "win_rate", "activities",
             "responded", "first_response_hours")  # fmt: skip
    # The documented key order: rank first.
    rows = [{"rank": rank, **{k: rec[k] for k in order}} for rank, rec in enumerate(rows, start=1)]
    won = sum(r["won"] for r in rows)
    lost = sum(r["lost"] for r in rows)
    responded = sum(r["responded"] for r in rows)
    fr_total = sum(
        r["first_response_hours"] * r["responded"]
        for r in rows
        if r["first_response_hours"] is not None
    )
    totals = {
        "new_leads": sum(r["new_leads"] for r in rows),
        "won": won,
        "lost": lost,
        "won_value": sum(r["won_value"] for r in rows),
        "win_rate": rate(won, won + lost),
        "activities": sum(r["activities"] for r in rows),
        "responded": responded,
        "first_response_hours": rate(fr_total, responded),
    }
    return Report("team", period, ctx.currency, rows, totals, ctx.owner)
