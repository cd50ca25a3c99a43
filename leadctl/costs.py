"""Source costs: what a lead source cost per month (ads spend, event fees...),
for cost per lead, customer acquisition cost and return on spend in the
sources report. Amounts are minor units of the database currency."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from typing import Any

from leadctl.db import get_setting, transaction
from leadctl.errors import NotFoundError, ValidationError

_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass
class SourceCost:
    source: str
    month: str
    amount: int
    currency: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_month(text: str | None, now: datetime, tz: tzinfo) -> str:
    """'2026-11' (or 'this-month', 'last-month', None = this month) -> 'YYYY-MM'."""
    if text is None or text.strip().lower() in ("", "this-month"):
        return now.astimezone(tz).strftime("%Y-%m")
    s = text.strip().lower()
    if s == "last-month":
        d = now.astimezone(tz).date().replace(day=1)
        return f"{d.year - (d.month == 1)}-{(d.month - 2) % 12 + 1:02d}"
    m = _MONTH_RE.match(s)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValidationError(f"{text!r} is not a month", "Use YYYY-MM, e.g. --month 2026-11.")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def _source(text: str) -> str:
    s = " ".join(text.split()).lower()
    if not s or "\x00" in s:
        raise ValidationError("A source name is empty", "Example: leadctl source cost ads 5000000")
    return s


def set_cost(conn: sqlite3.Connection, source: str, month: str, amount: str | int) -> SourceCost:
    from leadctl.normalize import parse_money

    currency = get_setting(conn, "currency", "IDR")
    minor = parse_money(amount, currency)
    src = _source(source)
    with transaction(conn):
        conn.execute(
            "INSERT INTO source_costs (source, month, amount) VALUES (?, ?, ?)"
            " ON CONFLICT (source, month) DO UPDATE SET amount = excluded.amount",
            (src, month, minor),
        )
    return SourceCost(src, month, minor, currency)


def remove_cost(conn: sqlite3.Connection, source: str, month: str) -> SourceCost:
    src = _source(source)
    currency = get_setting(conn, "currency", "IDR")
    with transaction(conn):
        row = conn.execute(
            "SELECT amount FROM source_costs WHERE source = ? AND month = ?", (src, month)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"No cost for {src} in {month}", "See `leadctl source costs`.")
        conn.execute("DELETE FROM source_costs WHERE source = ? AND month = ?", (src, month))
    return SourceCost(src, month, int(row[0]), currency)


def list_costs(
    conn: sqlite3.Connection, *, source: str | None = None, month: str | None = None
) -> list[SourceCost]:
    currency = get_setting(conn, "currency", "IDR")
    terms, params = [], []
    if source:
        terms.append("source = ?")
        params.append(_source(source))
    if month:
        terms.append("month = ?")
        params.append(month)
    where = (" WHERE " + " AND ".join(terms)) if terms else ""
    return [
        SourceCost(r["source"], r["month"], int(r["amount"]), currency)
        for r in conn.execute(
            f"SELECT source, month, amount FROM source_costs{where} ORDER BY month, source", params
        )
    ]
