"""Plain data the core returns and the renderer prints.

`to_dict()` is the JSON contract for scripts: snake_case keys, ISO-8601 UTC
timestamps, money as integer minor units of `currency`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from leadctl.errors import stored_json

OPEN = "open"
ACTIVITY_KINDS = ("call", "email", "whatsapp", "sms", "meeting", "note", "document", "sale")
# Kinds written by leadctl itself, never typed by `log --kind`.
SYSTEM_KINDS = (
    "created", "stage_change", "field_change", "assignment", "import", "qualification",
    "message_sent", "followup_done",
)  # fmt: skip

# Columns of a lead row as the core selects them: `probability` is the
# effective one (manual beats learned beats the stage default; a closed lead
# takes its stage's probability, so won is 100 and lost 0).
LEAD_COLUMNS = """
    l.id, l.name, l.email, l.phone, l.external_id, l.company, l.source, l.campaign,
    l.product, l.segment, l.city, l.value, l.currency, l.stage, s.kind AS stage_kind,
    l.owner, l.captured_by, l.tags, l.fields, l.do_not_contact, l.qualified, l.score,
    CASE WHEN s.kind = 'open'
         THEN COALESCE(l.probability_manual, l.probability_auto, s.probability)
         ELSE s.probability END AS probability,
    l.probability_auto, l.probability_manual, l.expected_close, l.lost_reason,
    l.created_at, l.updated_at, l.stage_entered_at, l.closed_at, l.last_touch_at,
    l.import_id
"""
LEAD_FROM = "leads l JOIN stages s ON s.name = l.stage"


@dataclass
class Lead:
    id: int
    name: str | None
    email: str | None
    phone: str | None
    external_id: str | None
    company: str | None
    source: str | None
    campaign: str | None
    product: str | None
    segment: str | None
    city: str | None
    value: int | None
    currency: str
    stage: str
    stage_kind: str
    owner: str | None
    captured_by: str | None
    tags: list[str]
    fields: dict[str, Any]
    do_not_contact: bool
    qualified: bool
    score: int | None
    probability: float | None
    probability_auto: float | None
    probability_manual: float | None
    expected_close: str | None
    lost_reason: str | None
    created_at: str
    updated_at: str
    stage_entered_at: str
    closed_at: str | None
    last_touch_at: str | None
    import_id: int | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Lead:
        # Positional: LEAD_COLUMNS selects in field order (a test holds them
        # together); this is the hot loop of list/export.
        values = list(row)
        tags, fields_ = values[_TAGS], values[_FIELDS]
        if tags not in (None, "[]"):
            tags = stored_json(tags, list, f"lead {values[0]}'s tags", [], texts=True)
        values[_TAGS] = [] if tags in (None, "[]") else tags
        if fields_ not in (None, "{}"):
            fields_ = stored_json(fields_, dict, f"lead {values[0]}'s custom fields", {})
        values[_FIELDS] = {} if fields_ in (None, "{}") else fields_
        values[_DNC] = bool(values[_DNC])
        values[_QUALIFIED] = bool(values[_QUALIFIED])
        return cls(*values)

    @property
    def is_open(self) -> bool:
        return self.stage_kind == OPEN

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose: asdict() deep-copies and was 60% of `list` time.
        d = {name: getattr(self, name) for name in _LEAD_FIELDS}
        d["tags"] = list(self.tags)
        d["fields"] = dict(self.fields)
        return d


_LEAD_FIELDS = tuple(f.name for f in fields(Lead))
_TAGS = _LEAD_FIELDS.index("tags")
_FIELDS = _LEAD_FIELDS.index("fields")
_DNC = _LEAD_FIELDS.index("do_not_contact")
_QUALIFIED = _LEAD_FIELDS.index("qualified")


@dataclass
class Activity:
    id: int
    lead_id: int
    kind: str
    at: str
    actor: str | None
    note: str | None
    outcome: str | None
    direction: str | None
    attachment: str | None
    amount: int | None
    product: str | None
    data: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Activity:
        data = dict(row)
        data["data"] = stored_json(data["data"], dict, f"activity {data['id']}'s data", {})
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Stage:
    name: str
    position: int
    kind: str
    probability: int
    rot_days: int | None
    requires_reason: bool

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Stage:
        data = dict(row)
        data["requires_reason"] = bool(data["requires_reason"])
        return cls(**data)

    @property
    def is_open(self) -> bool:
        return self.kind == OPEN

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
