"""Reports: the numbers a small business steers by (DESIGN.md §3).

Each report is a function `(conn, period, now, tz, owner=None, ...) -> Report`
in its own module. Aggregation is done by SQLite (GROUP BY over indexed
columns); Python only combines the few grouped rows (per stage, per owner...),
never loops over all leads or activities.

Shared conventions:
- Stages are recognised by KIND (open/won/lost/disqualified/inactive), never by
  name, so a renamed pipeline still reports right. An `inactive` lead was won
  (a customer who later churned), so it counts as won.
- Money is integer minor units of the database currency (`currency` key);
  leads in another currency are counted but left out of money sums.
- Rates are fractions 0..1 (None when the denominator is 0).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from leadctl.db import get_setting
from leadctl.errors import ValidationError
from leadctl.models import LEAD_COLUMNS
from leadctl.owners import check_known_owner
from leadctl.periods import Period

# The effective probability (percent) of models.LEAD_COLUMNS, reused verbatim:
# manual beats learned beats the stage default; a closed lead takes its stage's.
_m = re.search(r"CASE WHEN s\.kind = 'open'.*?END", LEAD_COLUMNS, re.S)
assert _m is not None
PROBABILITY_SQL = _m.group(0)


def weighted_sum(real: bool = False) -> str:
    """SQL: Σ value × effective probability / 100 over the leads in the
    currency (the CASE's one parameter). The integer sum divided once is
    exact (below 2^53); many deals near the largest value overflow SQLite's
    64-bit integers, and then `real` sums each lead's share as a float."""
    if real:
        return f"SUM(CASE WHEN l.currency = ? THEN l.value * ({PROBABILITY_SQL}) / 100.0 END)"
    return f"SUM(CASE WHEN l.currency = ? THEN l.value * ({PROBABILITY_SQL}) END) / 100.0"


def rows_weighted(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[Any]:
    """The rows of `sql` (holding {weighted} for `weighted_sum`), summed as
    integers, or as reals if those overflow."""
    try:
        return conn.execute(sql.format(weighted=weighted_sum()), params).fetchall()
    except sqlite3.OperationalError as exc:
        if "integer overflow" not in str(exc):
            raise
        return conn.execute(sql.format(weighted=weighted_sum(real=True)), params).fetchall()


WON_KINDS = ("won", "inactive")
# Activities a person does (the `activities` metric and the activity report);
# system rows (created, stage_change, field_change, ...) are not work done.
WORK_KINDS = (
    "call", "email", "whatsapp", "sms", "meeting", "note", "document", "sale", "message_sent",
)  # fmt: skip
# The indexes on activities by kind and by person leave out the `import`
# activity each imported lead carries (migration 0007): a query over work
# done adds this term, verbatim, so SQLite may use them.
NOT_IMPORT = "kind <> 'import'"
# A first response is the first outbound contact attempt after the lead arrived.
RESPONSE_KINDS = ("call", "email", "whatsapp", "sms", "meeting", "message_sent")
GROUP_FIELDS = ("owner", "source", "campaign", "product", "segment", "city")


@dataclass
class Report:
    """What every report returns; `to_dict()` is the JSON contract."""

    report: str
    period: Period
    currency: str
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    owner: str | None = None
    by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "report": self.report,
            "period": self.period.to_dict(),
            "owner": self.owner,
            "by": self.by,
            "currency": self.currency,
            "rows": self.rows,
            "totals": self.totals,
        }
        out.update(self.extra)
        return out


@dataclass
class Context:
    """Everything a report query needs, resolved once."""

    conn: sqlite3.Connection
    period: Period
    now: datetime
    tz: tzinfo
    owner: str | None
    currency: str
    stages: list[sqlite3.Row]

    def names(self, *kinds: str) -> list[str]:
        return [s["name"] for s in self.stages if s["kind"] in kinds]

    def kind_of(self, stage: str) -> str:
        for s in self.stages:
            if s["name"] == stage:
                return str(s["kind"])
        return "open"


def context(
    conn: sqlite3.Connection, period: Period, now: datetime, tz: tzinfo, owner: str | None
) -> Context:
    stages = list(conn.execute("SELECT * FROM stages ORDER BY position"))
    # "" (an empty $OWNER in a script) is the unassigned leads, as in `list`.
    owner_key = (owner.strip().lower() or "none") if owner is not None else None
    if owner_key is not None and owner_key not in ("none", "-"):
        check_known_owner(conn, owner_key)
    return Context(conn, period, now, tz, owner_key, get_setting(conn, "currency", "IDR"), stages)


def in_list(
    col: str, values: list[str] | tuple[str, ...], params: list[Any], *, indexed: bool = False
) -> str:
    """`col IN (?, ?)` with the values appended to params ('0' if empty: matches nothing).

    Unless `indexed`, the column gets a unary plus so SQLite does not drive the
    query from an index on it: a stage or kind list matches a large share of
    the table, and walking an index then fetching each row at random costs
    several times a plain scan (measured: 7.7 s vs 1.5 s over 1M leads).
    """
    if not values:
        return "0"
    params.extend(values)
    return f"{'' if indexed else '+'}{col} IN ({', '.join('?' for _ in values)})"


def closed_terms(period: Period, params: list[Any], col: str = "closed_at") -> list[str]:
    """Leads closed in the period. Bounded: by the partial index on closed_at
    (the IS NOT NULL term lets SQLite use it); unbounded: a scan."""
    terms = window(col, period, params)
    return [f"{col} IS NOT NULL", *terms] if terms else []


def window(col: str, period: Period, params: list[Any]) -> list[str]:
    """WHERE terms for `col` inside the period; none for an unbounded side, so
    an all-time report scans the table instead of walking an index end to end."""
    terms = []
    if period.start is not None:
        terms.append(f"{col} >= ?")
        params.append(period.start_s)
    if period.end is not None:
        terms.append(f"{col} < ?")
        params.append(period.end_s)
    return terms


def owner_terms(col: str, ctx: Context, params: list[Any]) -> list[str]:
    if ctx.owner is None:
        return []
    if ctx.owner in ("none", "-"):
        return [f"{col} IS NULL"]
    params.append(ctx.owner)
    return [f"{col} = ?"]


def work_terms(period: Period, params: list[Any]) -> list[str]:
    """WHERE terms for the work done in the period (activities of WORK_KINDS),
    with NOT_IMPORT so SQLite may use the per-kind and per-person indexes."""
    kinds = in_list("kind", WORK_KINDS, params, indexed=period.start is not None)
    return [kinds, NOT_IMPORT, *window("at", period, params)]


def where(terms: list[str]) -> str:
    return (" WHERE " + " AND ".join(terms)) if terms else ""


def money_sql(ctx: Context, params: list[Any], col: str = "value", cur: str = "currency") -> str:
    """The value when it is in the report currency, else NULL (left out of sums)."""
    params.append(ctx.currency)
    return f"CASE WHEN {cur} = ? THEN {col} END"


def check_by(by: str | None, allowed: tuple[str, ...]) -> str | None:
    if by is None:
        return None
    key = by.strip().lower()
    if key not in allowed:
        raise ValidationError(f"Cannot group by {by!r}", f"Use one of: {', '.join(allowed)}.")
    return key


def rate(num: float | None, den: float | None) -> float | None:
    return num / den if den and num is not None else None


def iround(x: float | None) -> int | None:
    return None if x is None else round(x)
