"""Per-database settings: currency, phone region, time zone, and whatever
other modules register in KNOWN (with a parser that validates the value)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leadctl.db import get_setting, set_setting, transaction
from leadctl.errors import ConflictError, NotFoundError, ValidationError


def _currency(text: str) -> str:
    from leadctl.normalize import normalize_currency

    return normalize_currency(text)


def _region(text: str) -> str:
    import phonenumbers

    code = text.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(
            f"{text!r} is not a phone region", "Use a country code such as ID, SG, US."
        )
    return code


def _timezone(text: str) -> str | None:
    from leadctl.dates import get_tz

    if text.strip().lower() in ("", "local", "none"):
        return None
    get_tz(text.strip())
    return text.strip()


def _decay(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise ValidationError(
            f"{text!r} is not a decay factor", "Use a number in (0, 1], e.g. 0.75."
        )
    return value


def _decay_days(text: str) -> int:
    if not (text.strip().isascii() and text.strip().isdigit()) or int(text) < 1:
        raise ValidationError(f"{text!r} is not a number of days", "Use a whole number, e.g. 30.")
    return int(text)


@dataclass
class Setting:
    key: str
    help: str
    parse: Callable[[str], Any]
    default: Any


KNOWN: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("currency", "Currency of deal values (ISO code)", _currency, "IDR"),
        Setting("region", "Default phone region for local numbers", _region, "ID"),
        Setting(
            "timezone",
            "Time zone for 'today' (IANA name; 'local' = the machine's)",
            _timezone,
            None,
        ),
        # Engagement points decay with the activity's age (leadctl.scoring).
        Setting("score_decay", "Engagement points × this per score_decay_days", _decay, 0.75),
        Setting("score_decay_days", "Days per engagement decay step", _decay_days, 30),
    )
}


def _yes_no(text: str) -> bool:
    from leadctl.normalize import parse_bool

    return parse_bool(text)


# Assignment (issue 4): `assign --auto` gives a lead to the member who captured it.
KNOWN["assign_prefer_captured_by"] = Setting(
    "assign_prefer_captured_by",
    "assign --auto gives a lead to the member who captured it, if they can take it",
    _yes_no,
    False,
)


def _urgency(text: str) -> dict[str, float] | None:
    """'stale=5, value_cap=500000000' (or the same as a JSON object) -> the
    coefficients that differ from the defaults; 'default' clears them."""
    import json
    import math

    from leadctl.urgency import COEFFICIENTS

    raw = text.strip()
    if raw.lower() in ("", "default", "none"):
        return None
    allowed = [*COEFFICIENTS, "value_cap"]
    hint = (
        f"Write name=number pairs, e.g. stale=5,value_cap=500000000; names: {', '.join(allowed)}."
    )
    pairs: list[tuple[str, Any]]
    if raw.startswith("{"):
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise ValidationError("The urgency setting is not valid JSON", hint) from exc
        if not isinstance(obj, dict):
            raise ValidationError("The urgency setting must be an object", hint)
        pairs = list(obj.items())
    else:
        pairs = []
        for item in raw.split(","):
            name, sep, value = item.partition("=")
            if not sep:
                raise ValidationError(f"{item.strip()!r} is not name=number", hint)
            pairs.append((name.strip().lower(), value.strip()))
    out: dict[str, float] = {}
    for name, value in pairs:
        if name not in allowed:
            raise ValidationError(f"{name!r} is not an urgency term", hint)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if (
            isinstance(value, bool)
            or not math.isfinite(number)
            or number < 0
            or (name == "value_cap" and number == 0)
        ):
            raise ValidationError(f"{value!r} is not a valid value for {name}", hint)
        out[name] = number
    return out


# Follow-up urgency (issue 5): coefficient overrides, see leadctl.urgency.
KNOWN["urgency"] = Setting(
    "urgency",
    "Urgency coefficients that differ from the defaults, e.g. stale=5 ('default' resets)",
    _urgency,
    None,
)


def _known(key: str) -> Setting:
    if key not in KNOWN:
        raise NotFoundError(f"Unknown setting {key!r}", f"Settings: {', '.join(sorted(KNOWN))}.")
    return KNOWN[key]


def list_settings(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"key": s.key, "value": get_setting(conn, s.key, s.default), "help": s.help}
        for s in KNOWN.values()
    ]


def update_setting(conn: sqlite3.Connection, key: str, text: str) -> Any:
    setting = _known(key)
    value = setting.parse(text)
    with transaction(conn):
        if key == "currency":
            # Stored values are minor units of the old currency; changing it under
            # existing amounts would silently rescale them.
            row = conn.execute(
                "SELECT count(*), group_concat(DISTINCT currency) FROM leads"
                " WHERE value IS NOT NULL AND currency != ?",
                (value,),
            ).fetchone()
            if row[0]:
                raise ConflictError(
                    f"{row[0]} lead(s) have values in {row[1]}, not {value}: reports would"
                    " stop summing them",
                    "Set the currency before adding or importing leads.",
                )
        set_setting(conn, key, value)
    return value
