"""Targets: a number to reach per period (day/week/month/quarter/year), per
metric, for the team (owner '') or one salesperson, and how the actual compares.

Metrics (DESIGN.md §3):
  new_leads   leads created in the period (owned by the person)
  qualified   of those, the ones marked qualified
  won_count   leads won in the period (closed_at in it; a since-churned customer counts)
  won_value   their value, minor units of the database currency
  activities  work logged in the period (calls, e-mails, messages, meetings,
              notes, documents, sales), by the person as actor
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from typing import Any

from leadctl.dates import to_store
from leadctl.db import get_setting, transaction
from leadctl.errors import NotFoundError, ValidationError
from leadctl.periods import UNITS, Period, unit_period

METRICS = ("new_leads", "qualified", "won_count", "won_value", "activities")


@dataclass
class Target:
    id: int
    period: str
    metric: str
    owner: str
    value: int
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["owner"] = self.owner or None
        return d


def check_metric(metric: str) -> str:
    key = metric.strip().lower().replace("-", "_")
    aliases = {"new": "new_leads", "leads": "new_leads", "won": "won_count",
               "revenue": "won_value", "activity": "activities"}  # fmt: skip
    key = aliases.get(key, key)
    if key not in METRICS:
        raise ValidationError(f"Unknown metric {metric!r}", f"Use one of: {', '.join(METRICS)}.")
    return key


def check_unit(unit: str) -> str:
    key = unit.strip().lower()
    key = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter",
           "yearly": "year", "annual": "year"}.get(key, key)  # fmt: skip
    if key not in UNITS:
        raise ValidationError(f"Unknown target period {unit!r}", f"Use one of: {', '.join(UNITS)}.")
    return key


# A count target's ceiling: far beyond any team's work, and small enough that
# expected-by-now (a float product) stays an exact whole number.
MAX_COUNT = 10**12


def parse_value(metric: str, text: str | int, currency: str) -> int:
    """A target value: money for won_value (e.g. 500jt), else a whole number."""
    if metric == "won_value":
        from leadctl.normalize import parse_money

        return parse_money(text, currency)
    try:
        value = int(str(text).strip().replace("_", ""))
    except ValueError as exc:
        raise ValidationError(f"{text!r} is not a whole number", "Example: --value 40") from exc
    if value < 0:
        raise ValidationError(f"{value} is negative", "A target is 0 or more.")
    if value > MAX_COUNT:
        raise ValidationError(f"{value} is too large for a target", f"At most {MAX_COUNT:,}.")
    return value


def set_target(
    conn: sqlite3.Connection,
    unit: str,
    metric: str,
    value: str | int,
    *,
    owner: str | None,
    now: datetime,
) -> Target:
    unit = check_unit(unit)
    metric = check_metric(metric)
    amount = parse_value(metric, value, get_setting(conn, "currency", "IDR"))
    who = owner.strip().lower() if owner else ""
    if who:
        from leadctl.team import require_member

        require_member(conn, who)  # the rule of a lead's owner
    with transaction(conn):
        conn.execute(
            "INSERT INTO targets (period, metric, owner, value, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (period, metric, owner) DO UPDATE SET value = excluded.value,"
            " created_at = excluded.created_at",
            (unit, metric, who, amount, to_store(now)),
        )
    row = conn.execute(
        "SELECT * FROM targets WHERE period = ? AND metric = ? AND owner = ?", (unit, metric, who)
    ).fetchone()
    return Target(**dict(row))


def list_targets(conn: sqlite3.Connection, owner: str | None = None) -> list[Target]:
    order = (
        "CASE period WHEN 'day' THEN 1 WHEN 'week' THEN 2 WHEN 'month' THEN 3"
        " WHEN 'quarter' THEN 4 ELSE 5 END, metric, owner"
    )
    if owner is None:
        rows = conn.execute(f"SELECT * FROM targets ORDER BY {order}")
    else:
        rows = conn.execute(
            f"SELECT * FROM targets WHERE owner = ? ORDER BY {order}", (owner.strip().lower(),)
        )
    return [Target(**dict(r)) for r in rows]


def remove_target(conn: sqlite3.Connection, unit: str, metric: str, *, owner: str | None) -> Target:
    unit = check_unit(unit)
    metric = check_metric(metric)
    who = owner.strip().lower() if owner else ""
    with transaction(conn):
        row = conn.execute(
            "SELECT * FROM targets WHERE period = ? AND metric = ? AND owner = ?",
            (unit, metric, who),
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"No {unit} {metric} target for {who or 'the team'}",
                "See `leadctl target list`.",
            )
        conn.execute("DELETE FROM targets WHERE id = ?", (row["id"],))
    return Target(**dict(row))


def actual(conn: sqlite3.Connection, metric: str, period: Period, owner: str | None) -> int:
    """The metric's value over the period, for `owner` (None or '' = the team,
    'none' = the unassigned leads)."""
    from leadctl.reports import (
        WON_KINDS,
        closed_terms,
        in_list,
        where,
        window,
        work_terms,
    )

    p: list[Any] = []
    if metric in ("new_leads", "qualified"):
        terms = window("created_at", period, p)
        if metric == "qualified":
            terms.append("qualified != 0")
        terms += _owner_terms("owner", owner, p)
        return int(conn.execute(f"SELECT count(*) FROM leads{where(terms)}", p).fetchone()[0])
    if metric in ("won_count", "won_value"):
        currency = get_setting(conn, "currency", "IDR")
        won = [r[0] for r in conn.execute(
            f"SELECT name FROM stages WHERE kind IN ('{WON_KINDS[0]}', '{WON_KINDS[1]}')"
        )]  # fmt: skip
        sel = "count(*)" if metric == "won_count" else "SUM(CASE WHEN currency = ? THEN value END)"
        if metric == "won_value":
            p.append(currency)
        terms = [in_list("stage", won, p), *closed_terms(period, p)]
        terms += _owner_terms("owner", owner, p)
        return int(conn.execute(f"SELECT {sel} FROM leads{where(terms)}", p).fetchone()[0] or 0)
    terms = work_terms(period, p) + _owner_terms("actor", owner, p)
    return int(conn.execute(f"SELECT count(*) FROM activities{where(terms)}", p).fetchone()[0])


def _owner_terms(column: str, owner: str | None, params: list[Any]) -> list[str]:
    """None or '' = the whole team; 'none' or '-' = nobody's (unassigned leads,
    activities without an actor), as the reports' --owner none."""
    if not owner:
        return []
    if owner in ("none", "-"):
        return [f"{column} IS NULL"]
    params.append(owner)
    return [f"{column} = ?"]


def evaluate(
    conn: sqlite3.Connection,
    target: Target,
    now: datetime,
    tz: tzinfo,
    period: Period | None = None,
) -> dict[str, Any]:
    """Actual vs target over the target's current period (or `period`).

    expected_by_now = target × the elapsed share of the period (pro rata);
    on_track = actual ≥ expected_by_now (whole units, as shown; for a
    finished period: ≥ target).
    """
    window_ = period or unit_period(target.period, now.astimezone(tz).date(), tz)
    value = actual(conn, target.metric, window_, target.owner or None)
    elapsed = window_.elapsed_fraction(now)
    # Whole units, as shown; on_track compares with what is shown.
    expected = round(target.value * elapsed)
    return {
        "period": target.period,
        "window": window_.to_dict(),
        "metric": target.metric,
        "owner": target.owner or None,
        "target": target.value,
        "actual": value,
        "percent": value / target.value * 100 if target.value else None,
        "elapsed_percent": elapsed * 100,
        "expected_by_now": expected,
        "on_track": value >= expected,
        "remaining": max(target.value - value, 0),
    }
