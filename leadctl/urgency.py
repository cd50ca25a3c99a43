"""Follow-up urgency: a Taskwarrior-style sum of coefficient × term.

    urgency = Σ coefficient[t] × term[t]

Each term is a number in 0..1 (a flag is 0 or 1), so a coefficient says how
many points that aspect is worth at most; `followups --explain FID` prints
every term, its coefficient and their product, like `task ID info`.

Terms (defaults in COEFFICIENTS; a database may override any of them with the
JSON setting `urgency`, e.g. {"due": 15, "stale": 0}):

    due          how due it is. 1.0 when 7+ days overdue, falling linearly to
                 0.2 at 14 days before the due time (Taskwarrior's due curve);
                 0.2 further ahead.
    score        the lead's rule score / 100 (0 when unscored).
    probability  the lead's effective win probability / 100 (manual, else
                 learned, else the stage default).
    value        the deal value / the "big deal" size of its currency, capped at
                 1 (0 when no value). Big deal: IDR 100,000,000; VND 1e9;
                 JPY, KRW 10,000,000 / 100,000,000; any other currency
                 100,000 (major units). Override with {"value_cap": N}
                 (major units) in the `urgency` setting. A fixed yardstick
                 rather than "the largest open deal", which would cost a scan
                 of every open follow-up on each run.
    stage        the stage's default probability / 100: later stages first.
    stale        1 when the lead is untouched past its stage's rot days.
    no_next_step 1 for a lead row in `followups --all` that has no open
                 follow-up at all (it stands in for "due now").
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

COEFFICIENTS: dict[str, float] = {
    "due": 12.0,
    "score": 4.0,
    "probability": 3.0,
    "value": 3.0,
    "stage": 1.0,
    "stale": 2.0,
    "no_next_step": 8.0,
}
# The due curve (Taskwarrior's): full weight from this many days overdue ...
DUE_FULL_DAYS = 7.0
# ... down to DUE_FLOOR at this many days before the due time.
DUE_HORIZON_DAYS = 14.0
DUE_FLOOR = 0.2
SETTING_KEY = "urgency"
# What counts as a big deal (value term 1.0), in major units of the currency.
VALUE_CAPS = {"IDR": 100_000_000, "VND": 1_000_000_000, "JPY": 10_000_000, "KRW": 100_000_000}
DEFAULT_VALUE_CAP = 100_000


def value_cap(currency: str, override: float | None = None) -> int:
    """The big-deal size of `currency` in its minor units."""
    from leadctl.normalize import currency_exponent

    major = override if override else VALUE_CAPS.get(currency.upper(), DEFAULT_VALUE_CAP)
    return max(1, int(major * 10 ** currency_exponent(currency)))


def load_coefficients(conn: sqlite3.Connection) -> dict[str, float]:
    """The defaults, overridden by the database's `urgency` setting if any."""
    from leadctl.db import get_setting

    coeffs = dict(COEFFICIENTS)
    override = get_setting(conn, SETTING_KEY, None)
    if isinstance(override, dict):
        for key, value in override.items():
            if (key in coeffs or key == "value_cap") and isinstance(value, (int, float)):
                coeffs[key] = float(value)
    return coeffs


def due_term(overdue_days: float | None) -> float:
    """0.2..1.0 by how overdue (negative = days still to go); 0 with no due time."""
    if overdue_days is None:
        return 0.0
    if overdue_days >= DUE_FULL_DAYS:
        return 1.0
    if overdue_days <= -DUE_HORIZON_DAYS:
        return DUE_FLOOR
    span = DUE_FULL_DAYS + DUE_HORIZON_DAYS
    return DUE_FLOOR + (1.0 - DUE_FLOOR) * (overdue_days + DUE_HORIZON_DAYS) / span


class Term(NamedTuple):
    name: str
    value: float
    coefficient: float

    @property
    def points(self) -> float:
        return self.value * self.coefficient

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.name,
            "value": round(self.value, 4),
            "coefficient": self.coefficient,
            "points": round(self.points, 4),
        }


ORDER = ("due", "score", "probability", "value", "stage", "stale", "no_next_step")


def _clamp01(expr: str) -> str:
    return f"MIN(1.0, MAX(0.0, {expr}))"


def _cap_sql(currency: str, override: float | None, first: str | None = None) -> str:
    """CASE expression: the big-deal size (minor units) of the row's currency;
    `first` (the database currency) is tested first, as nearly every row has it."""
    from leadctl.normalize import CURRENCY_EXPONENTS

    names = sorted(set(CURRENCY_EXPONENTS) | set(VALUE_CAPS))
    if first and first.upper() in names:
        names.remove(first.upper())
        names.insert(0, first.upper())
    whens = " ".join(f"WHEN '{c}' THEN {value_cap(c, override)}" for c in names)
    return f"(CASE {currency} {whens} ELSE {value_cap('XXX', override)} END)"


def term_sql(
    *,
    due: str,
    score: str,
    probability: str,
    value: str,
    currency: str,
    stage_probability: str,
    stale: str,
    no_next_step: str,
    value_cap: float | None = None,
    currency_first: str | None = None,
) -> str:
    """SELECT columns t_<term> (each 0..1) for the given column expressions.
    `due` is a stored UTC due time (or NULL); the named parameter :now is the
    current time. The listing computes urgency in SQLite so that 1,000 rows
    cost no Python arithmetic; due_term() above is the same curve in Python."""
    overdue = f"(julianday(:now) - julianday({due}))"
    span = DUE_FULL_DAYS + DUE_HORIZON_DAYS
    # The linear part clamped to [DUE_FLOOR, 1]: the same curve as due_term(),
    # with one julianday difference per row; NULL (no due time) gives 0.
    due_expr = (
        f"COALESCE(MIN(1.0, MAX({DUE_FLOOR}, {DUE_FLOOR} + {1.0 - DUE_FLOOR}"
        f" * ({overdue} + {DUE_HORIZON_DAYS}) / {span})), 0.0)"
    )
    cols = {
        "due": due_expr,
        "score": _clamp01(f"COALESCE({score}, 0) / 100.0"),
        "probability": _clamp01(f"COALESCE({probability}, 0) / 100.0"),
        "value": f"CASE WHEN {value} > 0 THEN"
        f" MIN(1.0, {value} * 1.0 / {_cap_sql(currency, value_cap, currency_first)})"
        " ELSE 0.0 END",
        "stage": _clamp01(f"COALESCE({stage_probability}, 0) / 100.0"),
        "stale": f"CASE WHEN {stale} THEN 1.0 ELSE 0.0 END",
        "no_next_step": f"{no_next_step} * 1.0",
    }
    return ",\n".join(f"{cols[name]} AS t_{name}" for name in ORDER)


def urgency_sql(coeffs: dict[str, float]) -> str:
    """Σ coefficient × t_<term> over the columns of term_sql (coefficients are
    floats from this module or the settings, formatted with repr)."""
    return " + ".join(f"{float(coeffs[n])!r} * t_{n}" for n in ORDER)


def _fraction(percent: float | int | None) -> float:
    if percent is None:
        return 0.0
    return min(1.0, max(0.0, float(percent) / 100.0))
