"""Leads: capture, find, list, edit, with duplicate keys e-mail / phone / external id."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadctl import activities, pipeline
from leadctl.agenda import PENDING_STOP_IDS_SQL
from leadctl.dates import to_store
from leadctl.db import get_setting, keep_ids, next_id, transaction
from leadctl.errors import ConflictError, NotFoundError, UsageError, ValidationError
from leadctl.models import LEAD_COLUMNS, LEAD_FROM, Lead
from leadctl.normalize import (
    FIELD_KEY_MAX,
    check_text,
    normalize_currency,
    normalize_email,
    normalize_phone,
    parse_money,
    parse_tags,
    tag_text,
)

# Plain text columns a person can set with add/edit (value, tags and fields
# have their own parsing).
TEXT_FIELDS = (
    "name", "company", "source", "campaign", "product", "segment", "city",
    "owner", "captured_by", "external_id",
)  # fmt: skip
EDITABLE = (*TEXT_FIELDS, "email", "phone", "value", "currency", "expected_close",
            "do_not_contact")  # fmt: skip
SORT_KEYS = {
    "id": "l.id", "name": "l.name COLLATE NOCASE", "company": "l.company COLLATE NOCASE",
    "created": "l.created_at", "created_at": "l.created_at", "updated": "l.updated_at",
    "updated_at": "l.updated_at", "value": "l.value", "score": "l.score",
    "probability": "probability", "stage": "s.position", "owner": "l.owner",
    "touched": "l.last_touch_at", "last_touch_at": "l.last_touch_at",
    "expected_close": "l.expected_close",
}  # fmt: skip
MAX_TEXT = 10_000  # = normalize.MAX_TEXT
KEY_LABELS = {"email": "e-mail", "phone": "phone", "external_id": "external id"}


@dataclass
class Defaults:
    """Per-database settings the lead rules need."""

    currency: str
    region: str

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> Defaults:
        return cls(get_setting(conn, "currency", "IDR"), get_setting(conn, "region", "ID"))


def _clean_text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    text = check_text(name, str(value)).strip()
    return text or None


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Checked custom fields; '' is no value (an empty cell of an export
    imports as no field, so none is stored)."""
    out: dict[str, Any] = {}
    for k, v in fields.items():
        check_text("custom field name", str(k), FIELD_KEY_MAX)
        check_text(f"custom field {k!r}", str(v))
        out[k] = v
    return out


def normalize_input(
    data: dict[str, Any],
    defaults: Defaults,
    *,
    region: str | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """Validate and normalise user-supplied lead fields (strings) into column values.

    Keys not present are left out, so the result can serve both add and edit.
    A value is read in the currency given with it, else `currency` (an
    edited lead's own), else the database's.
    """
    out: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        if key in data:
            out[key] = _clean_text(key.replace("_", " "), data[key])
    if out.get("owner"):
        out["owner"] = out["owner"].lower()
        if out["owner"] in ("none", "-"):  # as in `list --owner none`: unassigned
            out["owner"] = None
    if out.get("captured_by"):
        out["captured_by"] = out["captured_by"].lower()
    if "email" in data:
        email = _clean_text("e-mail", data["email"])
        out["email"] = normalize_email(email) if email else None
    if "phone" in data:
        phone = _clean_text("phone", data["phone"])
        out["phone"] = normalize_phone(phone, region or defaults.region) if phone else None
    if data.get("currency"):
        out["currency"] = normalize_currency(str(data["currency"]))
    if "value" in data:
        raw = data["value"]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            out["value"] = None
        else:
            out["value"] = parse_money(raw, out.get("currency") or currency or defaults.currency)
    if "tags" in data:
        out["tags"] = [check_text("tag", t, 200) for t in parse_tags(data["tags"])]
    if "fields" in data:
        out["fields"] = {k: v for k, v in clean_fields(data["fields"] or {}).items() if v}
    if "do_not_contact" in data:
        out["do_not_contact"] = bool(data["do_not_contact"])
    if "expected_close" in data:
        out["expected_close"] = data["expected_close"]
    return out


def find_duplicates(
    conn: sqlite3.Connection,
    *,
    email: str | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    exclude_id: int | None = None,
) -> list[tuple[int, str]]:
    """Leads sharing a duplicate key: [(lead id, key name)], by key order."""
    found: list[tuple[int, str]] = []
    for key, value in (("external_id", external_id), ("email", email), ("phone", phone)):
        if not value:
            continue
        for row in conn.execute(
            f"SELECT id FROM leads WHERE {key} = ? ORDER BY id LIMIT 5", (value,)
        ):
            if row[0] != exclude_id:
                found.append((row[0], key))
    return found


def _check_owner(
    conn: sqlite3.Connection,
    handle: str | None,
    *,
    now: datetime,
    is_open: bool = True,
    force: bool = False,
) -> None:
    """Once a team exists, owners must be team members (typos would hide leads),
    active ones, with capacity left (as `assign --to` checks; --force overrides
    the capacity only)."""
    if not handle:
        return
    from leadctl import team

    team.require_member(conn, handle)
    if conn.execute("SELECT 1 FROM team_members LIMIT 1").fetchone() is None:
        return
    load = team.loads(conn, [team.get_member(conn, handle)], now=now)[handle]
    if (is_open or load.window_days is not None) and load.full and not force:
        raise ConflictError(
            f"{handle} is at capacity ({load.describe()})",
            f"Add --force to give the lead anyway, or raise it with"
            f" `leadctl team edit {handle} --capacity N`.",
        )


def _require_identity(values: dict[str, Any], hint: str) -> None:
    if not any(values.get(k) for k in _IDENTITY):
        raise UsageError("A lead needs at least a name, an e-mail, a phone or an external id", hint)


_IDENTITY = ("name", "email", "phone", "external_id")


def add_lead(
    conn: sqlite3.Connection,
    data: dict[str, Any],
    *,
    now: datetime,
    actor: str | None,
    allow_duplicate: bool = False,
    note: str | None = None,
    region: str | None = None,
    force: bool = False,
) -> Lead:
    """Create a lead in the first open stage; refuse duplicates unless allowed,
    and an owner over capacity unless `force`."""
    defaults = Defaults.load(conn)
    values = normalize_input(data, defaults, region=region)
    _require_identity(values, 'Example: leadctl add "Budi Santoso" --phone 0812-3456-7890')
    with transaction(conn):
        if not allow_duplicate:
            dupes = find_duplicates(
                conn, email=values.get("email"), phone=values.get("phone"),
                external_id=values.get("external_id"),
            )  # fmt: skip
            if dupes:
                dup_id, key = dupes[0]
                raise ConflictError(
                    f"Lead {dup_id} already has this {KEY_LABELS[key]}",
                    f"See `leadctl show {dup_id}`, or add --allow-duplicate.",
                )
        _check_owner(conn, values.get("owner"), now=now, force=force)
        stage = pipeline.first_open_stage(conn)
        now_s = to_store(now)
        row = {
            "id": next_id(conn, "leads"),
            **{k: values.get(k) for k in TEXT_FIELDS},
            "email": values.get("email"),
            "phone": values.get("phone"),
            "value": values.get("value"),
            "currency": values.get("currency") or defaults.currency,
            "tags": json.dumps(values.get("tags", []), ensure_ascii=False),
            "fields": json.dumps(values.get("fields", {}), ensure_ascii=False),
            "do_not_contact": int(values.get("do_not_contact", False)),
            "expected_close": values.get("expected_close"),
            "stage": stage.name,
            "created_at": now_s,
            "updated_at": now_s,
            "stage_entered_at": now_s,
            "last_touch_at": now_s,
        }
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cur = conn.execute(f"INSERT INTO leads ({cols}) VALUES ({marks})", list(row.values()))
        lead_id = cur.lastrowid
        assert lead_id is not None
        activities.record(
            conn, lead_id, "created", at=now, now=now, actor=actor,
            data={"stage": stage.name, "owner": row["owner"]},
        )  # fmt: skip
        pipeline.start_history(conn, lead_id, stage.name, now_s)
        if note:
            activities.record(conn, lead_id, "note", at=now, now=now, actor=actor, note=note)
        # Read back inside the transaction: another process (a delete, a
        # restore) must not be able to slip in between the write and the read.
        return get_lead(conn, lead_id)


def get_lead(conn: sqlite3.Connection, lead_id: int) -> Lead:
    row = conn.execute(
        f"SELECT {LEAD_COLUMNS} FROM {LEAD_FROM} WHERE l.id = ?", (lead_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"No lead with id {lead_id}", "List ids with `leadctl list`.")
    return Lead.from_row(row)


@dataclass
class LeadFilter:
    """What `list` and `export` select. Empty means everything."""

    stages: list[str] = field(default_factory=list)
    owner: str | None = None
    tags: list[str] = field(default_factory=list)
    source: str | None = None
    product: str | None = None
    segment: str | None = None
    city: str | None = None
    search: str | None = None
    open_only: bool = False
    qualified: bool | None = None
    stale: bool = False
    no_next_step: bool = False
    ids: list[int] = field(default_factory=list)


def _where(conn: sqlite3.Connection, f: LeadFilter, now: datetime) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.stages:
        names = [pipeline.get_stage(conn, s).name for s in f.stages]
        clauses.append(f"l.stage IN ({', '.join('?' for _ in names)})")
        params += names
    if f.owner is not None:
        if f.owner.lower() in ("none", "-", ""):
            clauses.append("l.owner IS NULL")
        else:
            from leadctl.owners import check_known_owner

            check_known_owner(conn, f.owner.lower())  # a typo is no empty list
            clauses.append("l.owner = ?")
            params.append(f.owner.lower())
    has = "EXISTS (SELECT 1 FROM json_each(l.tags) WHERE json_each.value = ?)"
    for item in f.tags or []:
        parts = parse_tags(item)
        whole = tag_text(item)
        if not whole:
            continue
        if parts == [whole]:
            clauses.append(has)
        else:  # 'a;b': tags a and b, or one tag stored whole before items were split
            clauses.append(f"(({' AND '.join([has] * len(parts)) or '0'}) OR {has})")
            params += parts
        params.append(whole)
    for col in ("source", "product", "segment", "city"):
        value = getattr(f, col)
        if value is not None:
            clauses.append(f"l.{col} = ? COLLATE NOCASE")
            params.append(value)
    if f.search:
        like = "%" + f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        cols = ("l.name", "l.email", "l.phone", "l.company", "l.city", "l.external_id")
        terms = [f"{c} LIKE ? ESCAPE '\\'" for c in cols]
        params += [like] * len(cols)
        # A phone as people type it ('0812-2000-0004', '(0812) 2000 0004')
        # finds the stored '+6281220000004': its digits without the trunk 0.
        digits = "".join(ch for ch in f.search if ch.isdigit()).lstrip("0")
        if len(digits) >= 4 and not f.search.strip(" +-.()0123456789"):
            terms.append("l.phone LIKE ?")
            params.append(f"%{digits}%")
        clauses.append("(" + " OR ".join(terms) + ")")
    if f.open_only:
        clauses.append("s.kind = 'open'")
    if f.qualified is not None:
        clauses.append("l.qualified = ?")
        params.append(int(f.qualified))
    if f.stale:
        clauses.append(STALE_SQL)
        params.append(to_store(now))
    if f.no_next_step:
        clauses.append(NO_NEXT_STEP_SQL)
    if f.ids:
        clauses.append(f"l.id IN ({', '.join('?' for _ in f.ids)})")
        params += f.ids
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


# An open lead untouched for longer than its stage's rot threshold.
STALE_SQL = (
    "(s.kind = 'open' AND s.rot_days IS NOT NULL AND"
    " COALESCE(l.last_touch_at, l.stage_entered_at) <"
    " strftime('%Y-%m-%dT%H:%M:%SZ', ?, '-' || s.rot_days || ' days'))"
)
# An open lead with no open follow-up scheduled.
# An open lead with no open follow-up; a step of a sequence about to stop
# (the lead opted out or replied, not yet synced) is no next step either.
NO_NEXT_STEP_SQL = (
    "(s.kind = 'open' AND NOT EXISTS (SELECT 1 FROM followups f"
    " WHERE f.lead_id = l.id AND f.status = 'open' AND (f.enrollment_id IS NULL"
    f" OR f.enrollment_id NOT IN ({PENDING_STOP_IDS_SQL}))))"
)


def _order(sort: str | None) -> str:
    if not sort:
        return "l.id"
    parts = []
    for item in sort.split(","):
        key = item.strip()
        desc = key.startswith("-")
        key = key.lstrip("-+").lower()
        if key not in SORT_KEYS:
            raise ValidationError(
                f"Cannot sort by {key!r}",
                f"Use one of: {', '.join(sorted(SORT_KEYS))} (prefix - for descending).",
            )
        col = SORT_KEYS[key]
        # NULLs last either way: an unscored lead is not the best nor the worst.
        parts.append(f"{col} IS NULL, {col} {'DESC' if desc else 'ASC'}")
    return ", ".join(parts) + ", l.id"


def list_leads(
    conn: sqlite3.Connection,
    f: LeadFilter,
    *,
    now: datetime,
    sort: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Lead]:
    where, params = _where(conn, f, now)
    sql = f"SELECT {LEAD_COLUMNS} FROM {LEAD_FROM}{where} ORDER BY {_order(sort)}"
    if limit is not None:
        if limit < 0:
            raise ValidationError(f"--limit {limit} is negative", "Example: --limit 20")
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return [Lead.from_row(r) for r in conn.execute(sql, params)]


def iter_leads(  # type: ignore[no-untyped-def]
    conn: sqlite3.Connection,
    f: LeadFilter,
    *,
    now: datetime,
    sort: str | None = None,
    limit: int | None = None,
):
    """Stream leads (for export of large databases) without building a list."""
    where, params = _where(conn, f, now)
    sql = f"SELECT {LEAD_COLUMNS} FROM {LEAD_FROM}{where} ORDER BY {_order(sort)}"
    if limit is not None:
        if limit < 0:
            raise ValidationError(f"--limit {limit} is negative", "Example: --limit 20")
        sql += " LIMIT ?"
        params.append(limit)
    for row in conn.execute(sql, params):
        yield Lead.from_row(row)


def lead_ids(conn: sqlite3.Connection, f: LeadFilter, *, now: datetime) -> list[int]:
    """The ids of the leads `f` selects, in id order."""
    where, params = _where(conn, f, now)
    return [
        r[0] for r in conn.execute(f"SELECT l.id FROM {LEAD_FROM}{where} ORDER BY l.id", params)
    ]


def count_leads(conn: sqlite3.Connection, f: LeadFilter, *, now: datetime) -> int:
    where, params = _where(conn, f, now)
    return int(conn.execute(f"SELECT count(*) FROM {LEAD_FROM}{where}", params).fetchone()[0])


def edit_lead(
    conn: sqlite3.Connection,
    lead_id: int,
    changes: dict[str, Any],
    *,
    now: datetime,
    actor: str | None,
    add_tags: list[str] | None = None,
    remove_tags: list[str] | None = None,
    set_fields: dict[str, str] | None = None,
    unset_fields: list[str] | None = None,
    allow_duplicate: bool = False,
    region: str | None = None,
    force: bool = False,
) -> Lead:
    """Change fields of a lead; each change is recorded as a field_change activity.
    A new owner over capacity is refused unless `force`."""
    defaults = Defaults.load(conn)
    row = conn.execute("SELECT currency FROM leads WHERE id = ?", (lead_id,)).fetchone()
    values = normalize_input(
        changes, defaults, region=region, currency=row[0] if row is not None else None
    )
    with transaction(conn):
        lead = get_lead(conn, lead_id)
        if not allow_duplicate:
            dupes = find_duplicates(
                conn, email=values.get("email"), phone=values.get("phone"),
                external_id=values.get("external_id"), exclude_id=lead_id,
            )  # fmt: skip
            if dupes:
                other, key = dupes[0]
                raise ConflictError(
                    f"Lead {other} already has this {KEY_LABELS[key]}",
                    f"Merge them with `leadctl merge {other} {lead_id}`, or add --allow-duplicate.",
                )
        tags = list(lead.tags)
        for t in parse_tags(add_tags or []):
            check_text("tag", t, 200)
            if t not in tags:
                tags.append(t)
        removing = set(parse_tags(remove_tags or [])) | {tag_text(t) for t in remove_tags or []}
        tags = [t for t in tags if t not in removing]
        fields = dict(lead.fields)
        for k, v in clean_fields(set_fields or {}).items():
            if v in ("", None):
                fields.pop(k, None)  # `--field k=`: no value, as an empty cell
            else:
                fields[k] = v
        for key in unset_fields or []:
            fields.pop(key, None)
        if "tags" in values:
            tags = values.pop("tags")
        if "fields" in values:
            fields = values.pop("fields")
        if "value" in values and "currency" not in values and values["value"] is not None:
            # The amount was parsed in the database currency; re-read it in the lead's.
            values["value"] = parse_money(str(changes["value"]), lead.currency)
        new_values = {**values, "tags": tags, "fields": fields}
        if any(k in values for k in _IDENTITY):  # an edit may not leave it unnamed
            _require_identity(
                {k: values.get(k, getattr(lead, k)) for k in _IDENTITY},
                "Keep one of them: clear the others only.",
            )
        diff: dict[str, list[Any]] = {}
        for key, new in new_values.items():
            old = getattr(lead, key)
            if key == "do_not_contact":
                new = bool(new)
            if old != new:
                diff[key] = [old, new]
        if not diff:
            return lead
        if "owner" in diff:
            kind = conn.execute("SELECT kind FROM stages WHERE name = ?", (lead.stage,)).fetchone()
            is_open = kind is not None and kind[0] == "open"
            _check_owner(conn, diff["owner"][1], now=now, is_open=is_open, force=force)
        sets = {k: v[1] for k, v in diff.items()}
        for k in ("tags", "fields"):
            if k in sets:
                sets[k] = json.dumps(sets[k], ensure_ascii=False)
        if "do_not_contact" in sets:
            sets["do_not_contact"] = int(sets["do_not_contact"])
        sets["updated_at"] = to_store(now)
        assignments = ", ".join(f"{k} = ?" for k in sets)
        conn.execute(f"UPDATE leads SET {assignments} WHERE id = ?", [*sets.values(), lead_id])
        owner_change = diff.pop("owner", None)
        if sets.get("do_not_contact"):
            from leadctl.sequences import stop_for_lead

            stop_for_lead(conn, lead_id, "do_not_contact", now=now)
        if diff:
            activities.record(
                conn, lead_id, "field_change", at=now, now=now, actor=actor, data={"changes": diff}
            )
        if owner_change:
            from leadctl.followups import move_with_lead

            move_with_lead(conn, lead_id, owner_change[0], owner_change[1])
            activities.record(
                conn, lead_id, "assignment", at=now, now=now, actor=actor,
                data={"from": owner_change[0], "to": owner_change[1], "rule": "manual"},
            )  # fmt: skip
        return get_lead(conn, lead_id)


def delete_lead(conn: sqlite3.Connection, lead_id: int) -> Lead:
    """Remove a lead and its history (e.g. a person asks to be forgotten).
    Its id, and its follow-ups' (their calendar UIDs), are never given
    again (see db.next_id)."""
    with transaction(conn):
        lead = get_lead(conn, lead_id)
        keep_ids(conn)
        conn.execute("DELETE FROM leads WHERE id = ?", (lead_id,))
    return lead
