"""The sales team: who can own leads, which leads they take, and how many.

A member's filters (product, segment, city, source) say which leads they
accept: each is a list of values matched case-insensitively, and an empty
list accepts anything. Capacity is the most OPEN leads a member may hold; with
a window of N days it is instead the most leads assigned to them in the last
N days (counted from assignment activities). No capacity means unlimited.
`rr_order` is the member's place in the round-robin queue of `leadctl.assign`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from leadctl.dates import to_store
from leadctl.db import get_setting, transaction
from leadctl.errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
    bad_stored_json,
    stored_json,
)
from leadctl.normalize import normalize_email, normalize_phone

# Lead columns a member can filter on; the CLI option is the plural.
FILTER_KEYS = ("product", "segment", "city", "source")
FILTER_OPTIONS = {
    "product": "products",
    "segment": "segments",
    "city": "cities",
    "source": "sources",
}
_HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
# `list --owner none` means unassigned, so these can never be handles.
_RESERVED = {"none", "null", "nobody", "all"}
MAX_TEXT = 1_000


@dataclass
class Member:
    handle: str
    name: str | None
    email: str | None
    phone: str | None
    capacity: int | None
    capacity_window_days: int | None
    filters: dict[str, list[str]]
    active: bool
    rr_order: int
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Member:
        data = dict(row)
        data["filters"] = _load_filters(data["filters"])
        data["active"] = bool(data["active"])
        return cls(**data)

    def __post_init__(self) -> None:
        # Folded once: auto-assignment checks every member against every lead.
        self._wanted = {k: {_fold(v) for v in vs} for k, vs in self.filters.items() if vs}

    def accepts(self, lead: Any) -> bool:
        return self.rejects(lead) is None

    def rejects(self, lead: Any) -> str | None:
        """The first filter key whose values do not include the lead's, else None."""
        for key, wanted in self._wanted.items():
            value = getattr(lead, key, None)
            if value is None or _fold(value) not in wanted:
                return key
        return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Load:
    """How much of a member's capacity is used, as the assignment rules count it."""

    open_leads: int = 0
    assigned_in_window: int | None = None
    capacity: int | None = None
    window_days: int | None = None

    @property
    def used(self) -> int:
        if self.window_days:
            return self.assigned_in_window or 0
        return self.open_leads

    @property
    def remaining(self) -> int | None:
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.used)

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.used >= self.capacity

    def describe(self) -> str:
        """'40/40', '12/12 in 30 days', or '5/unlimited'."""
        cap = "unlimited" if self.capacity is None else str(self.capacity)
        text = f"{self.used}/{cap}"
        if self.window_days:
            text += f" in {self.window_days} days"
        return text

    def take(self, *, is_open: bool) -> None:
        """Count one more lead assigned now."""
        if is_open:
            self.open_leads += 1
        if self.assigned_in_window is not None:
            self.assigned_in_window += 1


def _fold(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _load_filters(text: str | None) -> dict[str, list[str]]:
    raw = stored_json(text, dict, "a team member's filters", {})
    for k in FILTER_KEYS:  # each a list of texts, or null (as db check reads them)
        value = raw.get(k)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise bad_stored_json("a team member's filters")
    return {k: list(raw[k]) for k in FILTER_KEYS if raw.get(k)}


def normalize_handle(text: str) -> str:
    handle = str(text).strip().lower()
    if not _HANDLE_RE.match(handle) or handle in _RESERVED:
        raise ValidationError(
            f"{text!r} is not a usable handle",
            "Use a short lower-case name (letters, digits, . _ -), e.g. ani or budi.s.",
        )
    return handle


def parse_filter(values: str | list[str] | None) -> list[str]:
    """'Jakarta, bandung,jakarta' -> ['Jakarta', 'bandung']: split on commas,
    trimmed, de-duplicated case-insensitively, first spelling kept. A value
    holding a comma (or a quote) is quoted as in a CSV line:
    '"Paket A, 12 bulan",B'; filter_text writes them back that way."""
    if values is None:
        return []
    import csv

    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        text = " ".join(str(item).split())  # one line: the CSV reader sees no line end
        if "\x00" in text:
            raise ValidationError("A filter value contains a NUL byte", "Remove it.")
        parts = next(csv.reader([text], skipinitialspace=True), []) if '"' in text else None
        for part in parts if parts is not None else text.split(","):
            value = " ".join(part.split())
            if len(value) > MAX_TEXT:
                raise ValidationError(f"Filter value {value[:40]!r} is not acceptable")
            if value and _fold(value) not in seen:
                seen.add(_fold(value))
                out.append(value)
    return out


def filter_text(values: list[str]) -> str:
    """A filter's values as typed back (parse_filter reads them the same):
    one holding a comma or a quote is quoted, its quotes doubled."""
    return ", ".join(
        '"' + v.replace('"', '""') + '"' if "," in v or '"' in v else v for v in values
    )


def parse_capacity(value: str | int | None) -> int | None:
    """'40' -> 40; 'none', 'unlimited' or '' -> None (no limit)."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("", "none", "unlimited", "-"):
        return None
    try:
        number = int(text)
    except ValueError as exc:
        raise ValidationError(
            f"Capacity {value!r} is not a whole number",
            "Use the most open leads a member may hold, e.g. --capacity 40, or 'none'.",
        ) from exc
    if number < 0:
        raise ValidationError(f"Capacity {number} is negative", "Use 0 or more, or 'none'.")
    if number > 1_000_000:
        # Also keeps the value inside an SQLite INTEGER.
        raise ValidationError(f"Capacity {value!r} is too large", "Use 'none' for no limit.")
    return number


def parse_window(value: str | int | None) -> int | None:
    """Capacity window in days; 0, 'none' or '' -> None (count open leads instead)."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("", "none", "-", "0"):
        return None
    try:
        number = int(text)
    except ValueError as exc:
        raise ValidationError(
            f"Capacity window {value!r} is not a number of days", "Example: --capacity-window 30"
        ) from exc
    if number < 0:
        raise ValidationError(f"Capacity window {number} is negative", "Example: 30")
    if number == 0:
        return None  # '00' means the same as '0'
    if number > 36_500:
        raise ValidationError(f"Capacity window {value!r} is over 100 years", "Example: 30")
    return number


def _clean(name: str, value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if "\x00" in text or len(text) > MAX_TEXT:
        raise ValidationError(f"The {name} is not acceptable (NUL byte or too long)")
    return text or None


def _normalize(conn: sqlite3.Connection, data: dict[str, Any]) -> dict[str, Any]:
    """User-typed attributes -> column values; keys absent from `data` stay absent."""
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = _clean("name", data["name"])
    if "email" in data:
        email = _clean("e-mail", data["email"])
        out["email"] = normalize_email(email) if email else None
    if "phone" in data:
        phone = _clean("phone", data["phone"])
        region = data.get("region") or get_setting(conn, "region", "ID")
        out["phone"] = normalize_phone(phone, region) if phone else None
    if "capacity" in data:
        out["capacity"] = parse_capacity(data["capacity"])
    if "capacity_window_days" in data:
        out["capacity_window_days"] = parse_window(data["capacity_window_days"])
    for key in FILTER_KEYS:
        if key in data:
            out[key] = parse_filter(data[key])
    return out


def list_members(conn: sqlite3.Connection, *, active_only: bool = False) -> list[Member]:
    """Members in round-robin queue order (active first)."""
    sql = "SELECT * FROM team_members"
    if active_only:
        sql += " WHERE active = 1"
    sql += " ORDER BY active DESC, rr_order, handle"
    return [Member.from_row(r) for r in conn.execute(sql)]


def member_hint(conn: sqlite3.Connection) -> str:
    active = [m.handle for m in list_members(conn, active_only=True)]
    if active:
        return f"Active members: {', '.join(sorted(active))}; add one with `leadctl team add`."
    inactive = [m.handle for m in list_members(conn)]
    if inactive:
        return (
            f"No member is active (inactive: {', '.join(sorted(inactive))}); "
            "use `leadctl team activate HANDLE`."
        )
    return "There is no team yet; add a member with `leadctl team add HANDLE`."


def require_member(conn: sqlite3.Connection, handle: str) -> None:
    """Once a team exists, who owns a lead, a follow-up or a target must be
    one of its members (a typo would hide the work), an active one (work
    given to someone who left is never done)."""
    members = {r[0]: bool(r[1]) for r in conn.execute("SELECT handle, active FROM team_members")}
    if not members:
        return
    if handle not in members:
        raise NotFoundError(
            f"Unknown team member {handle!r}",
            f"Members: {', '.join(sorted(members))}; add one with `leadctl team add`.",
        )
    if not members[handle]:
        raise ConflictError(
            f"Team member {handle!r} is inactive",
            f"{member_hint(conn)} Or `leadctl team activate {handle}`.",
        )


def get_member(conn: sqlite3.Connection, handle: str) -> Member:
    key = str(handle).strip().lower()
    row = conn.execute("SELECT * FROM team_members WHERE handle = ?", (key,)).fetchone()
    if row is None:
        # Every member, the inactive ones marked: `team activate` looks one up.
        members = list_members(conn)
        hint = (
            "Members: "
            + ", ".join(m.handle + ("" if m.active else " (inactive)") for m in members)
            + "."
            if members
            else member_hint(conn)
        )
        raise NotFoundError(f"Unknown team member {handle!r}", hint)
    return Member.from_row(row)


def _next_rr(conn: sqlite3.Connection) -> int:
    return int(
        conn.execute("SELECT COALESCE(MAX(rr_order), 0) + 1 FROM team_members").fetchone()[0]
    )


def add_member(
    conn: sqlite3.Connection, handle: str, data: dict[str, Any], *, now: datetime
) -> Member:
    """Add a member at the end of the round-robin queue."""
    key = normalize_handle(handle)
    values = _normalize(conn, data)
    filters = {k: values[k] for k in FILTER_KEYS if values.get(k)}
    with transaction(conn):
        if conn.execute("SELECT 1 FROM team_members WHERE handle = ?", (key,)).fetchone():
            raise ConflictError(
                f"Team member {key!r} already exists",
                f"Change it with `leadctl team edit {key}`.",
            )
        now_s = to_store(now)
        conn.execute(
            "INSERT INTO team_members (handle, name, email, phone, capacity,"
            " capacity_window_days, filters, active, rr_order, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (
                key, values.get("name"), values.get("email"), values.get("phone"),
                values.get("capacity"), values.get("capacity_window_days"),
                json.dumps(filters, ensure_ascii=False), _next_rr(conn), now_s, now_s,
            ),
        )  # fmt: skip
    return get_member(conn, key)


def edit_member(
    conn: sqlite3.Connection, handle: str, data: dict[str, Any], *, now: datetime
) -> Member:
    """Change attributes; a filter given as [] (or '') is cleared (accepts anything)."""
    values = _normalize(conn, data)
    with transaction(conn):
        member = get_member(conn, handle)
        sets: dict[str, Any] = {}
        for col in ("name", "email", "phone", "capacity", "capacity_window_days"):
            if col in values and values[col] != getattr(member, col):
                sets[col] = values[col]
        filters = dict(member.filters)
        for key in FILTER_KEYS:
            if key in values:
                if values[key]:
                    filters[key] = values[key]
                else:
                    filters.pop(key, None)
        if filters != member.filters:
            sets["filters"] = json.dumps(filters, ensure_ascii=False)
        if not sets:
            return member
        sets["updated_at"] = to_store(now)
        cols = ", ".join(f"{k} = ?" for k in sets)
        conn.execute(
            f"UPDATE team_members SET {cols} WHERE handle = ?", [*sets.values(), member.handle]
        )
    return get_member(conn, member.handle)


def set_active(conn: sqlite3.Connection, handle: str, active: bool, *, now: datetime) -> Member:
    """(De)activate a member. An activated member joins the end of the queue."""
    with transaction(conn):
        member = get_member(conn, handle)
        if member.active != active:
            rr = _next_rr(conn) if active else member.rr_order
            conn.execute(
                "UPDATE team_members SET active = ?, rr_order = ?, updated_at = ? WHERE handle = ?",
                (int(active), rr, to_store(now), member.handle),
            )
    return get_member(conn, member.handle)


def open_lead_counts(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute(
        "SELECT l.owner, count(*) FROM leads l JOIN stages s ON s.name = l.stage"
        " WHERE s.kind = 'open' AND l.owner IS NOT NULL GROUP BY l.owner"
    )
    return {r[0]: int(r[1]) for r in rows}


def assigned_since(conn: sqlite3.Connection, handle: str, since: datetime) -> int:
    """Distinct leads given to `handle` at or after `since`: assignments to
    them, and leads created with them as owner (`add --owner`)."""
    row = conn.execute(
        "SELECT count(DISTINCT lead_id) FROM activities"
        " WHERE kind IN ('assignment', 'created') AND kind <> 'import' AND at >= ?"
        " AND json_extract(data, CASE kind WHEN 'created' THEN '$.owner' ELSE '$.to' END) = ?",
        (to_store(since), handle),
    ).fetchone()
    return int(row[0])


def loads(conn: sqlite3.Connection, members: list[Member], *, now: datetime) -> dict[str, Load]:
    """Current capacity use of each member."""
    counts = open_lead_counts(conn)
    out: dict[str, Load] = {}
    for m in members:
        window = m.capacity_window_days
        out[m.handle] = Load(
            open_leads=counts.get(m.handle, 0),
            assigned_in_window=(
                assigned_since(conn, m.handle, now - timedelta(days=window)) if window else None
            ),
            capacity=m.capacity,
            window_days=window,
        )
    return out


def member_record(m: Member, load: Load, queue_position: int | None) -> dict[str, Any]:
    """A member as `team list/show --format json` prints it."""
    d = m.to_dict()
    d.pop("rr_order")
    d["open_leads"] = load.open_leads
    d["assigned_in_window"] = load.assigned_in_window
    d["load"] = load.used
    d["remaining"] = load.remaining
    d["at_capacity"] = load.full
    d["queue_position"] = queue_position
    return d


def member_records(conn: sqlite3.Connection, *, now: datetime) -> list[dict[str, Any]]:
    members = list_members(conn)
    current = loads(conn, members, now=now)
    out = []
    position = 0
    for m in members:
        if m.active:
            position += 1
        out.append(member_record(m, current[m.handle], position if m.active else None))
    return out
