"""activity: work done per person per kind in the period (who logged it:
the activity's actor), activities per day, and the daily activities target
(`leadctl target set --period day --metric activities ...`) next to it."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, tzinfo
from typing import Any

from leadctl.periods import Period
from leadctl.reports import (
    Report,
    context,
    owner_terms,
    rate,
    where,
    work_terms,
)


def activity(
    conn: sqlite3.Connection,
    period: Period,
    now: datetime,
    tz: tzinfo,
    owner: str | None = None,
) -> Report:
    ctx = context(conn, period, now, tz, owner)
    p: list[Any] = []
    terms = work_terms(period, p)
    terms += owner_terms("actor", ctx, p)
    people: dict[Any, dict[str, Any]] = {}
    kinds_seen: set[str] = set()
    for r in conn.execute(
        f"SELECT actor, kind, count(*) AS n FROM activities{where(terms)} GROUP BY +actor, kind", p
    ):
        row = people.setdefault(r["actor"], {"owner": r["actor"], "total": 0, "by_kind": {}})
        row["by_kind"][r["kind"]] = r["n"]
        row["total"] += r["n"]
        kinds_seen.add(r["kind"])
    targets = {
        r["owner"]: r["value"]
        for r in conn.execute(
            "SELECT owner, value FROM targets WHERE period = 'day' AND metric = 'activities'"
        )
    }
    days = _days_begun(period, now, tz)
    rows = [people[k] for k in sorted(people, key=lambda k: (k is None, str(k)))]
    for row in rows:
        row["per_day"] = row["total"] / days if days else None
        row["daily_target"] = targets.get(row["owner"] or "")
        row["daily_target_pct"] = (
            rate(row["per_day"], row["daily_target"]) if row["per_day"] is not None else None
        )
    total = sum(r["total"] for r in rows)
    by_kind = {k: sum(r["by_kind"].get(k, 0) for r in rows) for k in sorted(kinds_seen)}
    team_target = targets.get(ctx.owner or "")
    per_day = total / days if days else None
    totals = {
        "total": total,
        "by_kind": by_kind,
        "days": days,
        "per_day": per_day,
        "daily_target": team_target,
        "daily_target_pct": rate(per_day, team_target) if per_day is not None else None,
    }
    return Report("activity", period, ctx.currency, rows, totals, ctx.owner,
                  extra={"kinds": sorted(kinds_seen)})  # fmt: skip


def _days_begun(period: Period, now: datetime, tz: tzinfo) -> int | None:
    """Calendar days (in `tz`) of the period up to now, today counted whole:
    2 calls by 01:35 are 2 a day, not 30 (None for all time)."""
    if period.start is None:
        return None
    last = now if period.end is None or now < period.end else period.end - timedelta(microseconds=1)
    first_day = period.start.astimezone(tz).date()
    return max((last.astimezone(tz).date() - first_day).days + 1, 1)
