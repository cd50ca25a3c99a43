"""Qualification: criteria (default BANT), answers, and the `qualified` flag.

A lead is qualified when every required criterion is met: a yes/no criterion
needs "yes", any other type needs an answer. Answers are kept per lead in
`qualification_answers` (the latest) and each change is a `qualification`
activity (criterion, old, new), so the history is complete.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from leadctl import activities
from leadctl.dates import to_store
from leadctl.db import transaction
from leadctl.errors import ConflictError, NotFoundError, ValidationError, stored_json

CRITERION_TYPES = ("yesno", "choice", "number", "date", "text")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_ANSWER = 2000


@dataclass
class Criterion:
    key: str
    label: str
    type: str
    choices: list[str]
    required: bool
    position: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Criterion:
        return cls(
            row["key"], row["label"], row["type"], stored_json(row["choices"], list, f"criterion {row['key']}'s choices", [], texts=True),
            bool(row["required"]), row["position"],
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_criteria(conn: sqlite3.Connection) -> list[Criterion]:
    return [
        Criterion.from_row(r) for r in conn.execute("SELECT * FROM criteria ORDER BY position, key")
    ]


def get_criterion(conn: sqlite3.Connection, key: str) -> Criterion:
    row = conn.execute("SELECT * FROM criteria WHERE key = ?", (key.strip().lower(),)).fetchone()
    if row is None:
        keys = ", ".join(c.key for c in list_criteria(conn)) or "none"
        raise NotFoundError(
            f"Unknown criterion {key!r}",
            f"Criteria: {keys}; add one with `leadctl criteria add`.",
        )
    return Criterion.from_row(row)


def _check_type(type_: str, choices: list[str] | None) -> tuple[str, list[str]]:
    t = type_.strip().lower()
    if t not in CRITERION_TYPES:
        raise ValidationError(
            f"Unknown criterion type {type_!r}", f"Use one of: {', '.join(CRITERION_TYPES)}."
        )
    opts = [c.strip() for c in choices or [] if c.strip()]
    if t == "choice" and not opts:
        raise ValidationError(
            "A choice criterion needs its choices", "Example: --choices small,medium,large"
        )
    if t != "choice" and opts:
        raise ValidationError("Only a choice criterion takes --choices")
    return t, opts


def _check_choices(opts: list[str]) -> None:
    """Choices typed now (not those stored: an older database may hold a
    repeat, and editing a label must not fail on it)."""
    seen: set[str] = set()
    for opt in opts:
        if opt.casefold() in seen:
            raise ValidationError(
                f"The choice {opt!r} is given twice",
                "Give each choice once (choices match answers whatever their case).",
            )
        seen.add(opt.casefold())


def add_criterion(
    conn: sqlite3.Connection,
    key: str,
    *,
    label: str | None = None,
    type_: str = "text",
    choices: list[str] | None = None,
    required: bool = True,
) -> Criterion:
    k = key.strip().lower()
    if not _KEY_RE.match(k):
        raise ValidationError(
            f"{key!r} is not a valid criterion key",
            "Use lower-case letters, digits and _, starting with a letter, e.g. company_size.",
        )
    t, opts = _check_type(type_, choices)
    _check_choices(opts)
    with transaction(conn):
        if conn.execute("SELECT 1 FROM criteria WHERE key = ?", (k,)).fetchone():
            raise ConflictError(
                f"A criterion {k!r} already exists", f"Change it with `leadctl criteria edit {k}`."
            )
        pos = conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM criteria").fetchone()[0]
        conn.execute(
            "INSERT INTO criteria (key, label, type, choices, required, position)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (k, (label or k).strip(), t, json.dumps(opts) if opts else None, int(required), pos),
        )
        if required:
            _requalify_all(conn)
    return get_criterion(conn, k)


def edit_criterion(
    conn: sqlite3.Connection,
    key: str,
    *,
    label: str | None = None,
    type_: str | None = None,
    choices: list[str] | None = None,
    required: bool | None = None,
) -> Criterion:
    with transaction(conn):
        c = get_criterion(conn, key)
        new_type = type_ if type_ is not None else c.type
        new_choices = (
            choices if choices is not None else (c.choices if new_type == "choice" else [])
        )
        t, opts = _check_type(new_type, new_choices)
        if choices is not None:
            _check_choices(opts)
        if t != c.type:
            answered = conn.execute(
                "SELECT count(*) FROM qualification_answers WHERE criterion = ?", (c.key,)
            ).fetchone()[0]
            if answered:
                raise ConflictError(
                    f"Criterion {c.key!r} has {answered} answer(s); its type cannot change",
                    "Add a new criterion instead, or remove this one first.",
                )
        if t == "choice" and opts != c.choices:
            _keep_answers(conn, c.key, opts)
        conn.execute(
            "UPDATE criteria SET label = ?, type = ?, choices = ?, required = ? WHERE key = ?",
            (
                (label or c.label).strip(), t, json.dumps(opts) if opts else None,
                int(c.required if required is None else required), c.key,
            ),
        )  # fmt: skip
        _requalify_all(conn)
    return get_criterion(conn, c.key)


def _keep_answers(conn: sqlite3.Connection, key: str, choices: list[str]) -> None:
    """New choices for a choice criterion: each stored answer must still be
    one of them. One that differs only in case takes the new spelling; any
    other refuses the change (no answer is lost or left invalid)."""
    spelling = {opt.casefold(): opt for opt in choices}
    rows = conn.execute(
        "SELECT value, count(*) FROM qualification_answers"
        " WHERE criterion = ? AND value IS NOT NULL GROUP BY value ORDER BY value",
        (key,),
    ).fetchall()
    lost = [(value, n) for value, n in rows if str(value).casefold() not in spelling]
    if lost:
        total = sum(n for _, n in lost)
        shown = ", ".join(repr(v) for v, _ in lost[:3]) + (", ..." if len(lost) > 3 else "")
        raise ConflictError(
            f"{total} answer(s) to {key!r} are not among the new choices ({shown})",
            "Keep those choices in --choices, or change those answers first"
            f" (`leadctl qualify ID -a {key}=...`).",
        )
    for value, _ in rows:
        if spelling[str(value).casefold()] != value:
            conn.execute(
                "UPDATE qualification_answers SET value = ? WHERE criterion = ? AND value = ?",
                (spelling[str(value).casefold()], key, value),
            )


def remove_criterion(conn: sqlite3.Connection, key: str) -> int:
    """Remove a criterion and its current answers (their history stays); return how many."""
    with transaction(conn):
        c = get_criterion(conn, key)
        rules = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM score_rules WHERE field = ? ORDER BY name", (f"answer:{c.key}",)
            )
        ]
        if rules:
            # They could neither fire nor be edited, and a rules file with them
            # would not import back.
            raise ConflictError(
                f"Score rule(s) {', '.join(rules)} read criterion {c.key!r}",
                f"Remove them first (`leadctl score rules remove {rules[0]}`), then the criterion.",
            )
        n = conn.execute("DELETE FROM qualification_answers WHERE criterion = ?", (c.key,)).rowcount
        conn.execute("DELETE FROM criteria WHERE key = ?", (c.key,))
        _requalify_all(conn)
    return int(n)


# ---- answers ----------------------------------------------------------------


def parse_answer(c: Criterion, text: str, now: datetime, tz: tzinfo) -> str | None:
    """Validate an answer by the criterion's type; '' clears it (None)."""
    raw = str(text).strip()
    if not raw:
        return None
    if "\x00" in raw or len(raw) > MAX_ANSWER:
        raise ValidationError(f"The answer to {c.key!r} is not acceptable text")
    if c.type == "yesno":
        from leadctl.normalize import parse_bool

        try:
            return "yes" if parse_bool(raw) else "no"
        except ValidationError as exc:
            raise ValidationError(f"{c.key}: {exc.message}", exc.hint) from None
    if c.type == "number":
        try:
            d = Decimal(raw.replace(",", "").replace("_", ""))
        except InvalidOperation:
            d = Decimal("NaN")
        if not d.is_finite():
            raise ValidationError(f"{c.key}: {raw!r} is not a number", "Example: 25 or 2.5")
        if d and abs(d.adjusted()) > 18:
            # '1e99999999' is finite, but writing it out takes minutes and gigabytes.
            raise ValidationError(
                f"{c.key}: {raw!r} is out of range", "Use at most 18 digits, e.g. 25 or 2.5."
            )
        return format(d.normalize(), "f") if d != d.to_integral() else str(int(d))
    if c.type == "date":
        from leadctl.dates import parse_day

        try:
            return parse_day(raw, now, tz).isoformat()
        except ValidationError as exc:
            raise ValidationError(f"{c.key}: {exc.message}", exc.hint) from None
    if c.type == "choice":
        for opt in c.choices:
            if opt.casefold() == raw.casefold():
                return opt
        raise ValidationError(
            f"{c.key}: {raw!r} is not one of the choices", f"Choices: {', '.join(c.choices)}."
        )
    return raw


def is_met(c: Criterion, value: str | None) -> bool:
    if value is None or value == "":
        return False
    if c.type == "yesno":
        return value == "yes"
    return True


@dataclass
class Qualification:
    lead_id: int
    qualified: bool
    answers: dict[str, str | None]
    missing: list[dict[str, str]]
    changed: list[dict[str, Any]] = field(default_factory=list)
    stage: str | None = None
    moved_to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def answers_for(conn: sqlite3.Connection, lead_id: int) -> dict[str, str]:
    return {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT criterion, value FROM qualification_answers WHERE lead_id = ?", (lead_id,)
        )
    }


def _evaluate(
    criteria: list[Criterion], answers: dict[str, str]
) -> tuple[bool, list[dict[str, str]]]:
    missing = []
    for c in criteria:
        if not c.required:
            continue
        value = answers.get(c.key)
        if not is_met(c, value):
            why = "not answered" if value is None else f"answered {value!r}"
            missing.append({"criterion": c.key, "label": c.label, "why": why})
    return not missing, missing


def status(conn: sqlite3.Connection, lead_id: int) -> Qualification:
    from leadctl.leads import get_lead

    lead = get_lead(conn, lead_id)
    criteria = list_criteria(conn)
    answers = answers_for(conn, lead_id)
    ok, missing = _evaluate(criteria, answers)
    shown: dict[str, str | None] = {c.key: answers.get(c.key) for c in criteria}
    return Qualification(lead_id, ok, shown, missing, stage=lead.stage)


def _requalify_all(conn: sqlite3.Connection) -> None:
    """After the criteria change: recompute `leads.qualified` for every lead."""
    criteria = list_criteria(conn)
    required = [c for c in criteria if c.required]
    if not required:
        conn.execute("UPDATE leads SET qualified = 1 WHERE qualified = 0")
        return
    answers: dict[int, dict[str, str]] = {}
    for r in conn.execute("SELECT lead_id, criterion, value FROM qualification_answers"):
        answers.setdefault(r[0], {})[r[1]] = r[2]
    flags = []
    for (lead_id,) in conn.execute("SELECT id FROM leads").fetchall():
        ok, _ = _evaluate(required, answers.get(lead_id, {}))
        flags.append((int(ok), lead_id, int(ok)))
    conn.executemany("UPDATE leads SET qualified = ? WHERE id = ? AND qualified != ?", flags)


def qualify_lead(
    conn: sqlite3.Connection,
    lead_id: int,
    answers: dict[str, str],
    *,
    now: datetime,
    tz: tzinfo,
    actor: str | None,
    lead_changes: dict[str, Any] | None = None,
    add_tags: list[str] | None = None,
    advance: bool = False,
    advance_to: str = "qualified",
) -> Qualification:
    """Record answers (and segment/value/tags), update `qualified`, optionally advance."""
    from leadctl import leads, pipeline
    from leadctl.scoring import rescore_lead

    with transaction(conn):
        lead = leads.get_lead(conn, lead_id)
        criteria = {c.key: c for c in list_criteria(conn)}
        parsed: dict[str, str | None] = {}
        for key, text in answers.items():
            k = key.strip().lower()
            if k not in criteria:
                raise NotFoundError(
                    f"Unknown criterion {key!r}",
                    f"Criteria: {', '.join(criteria) or 'none'}; add one with "
                    "`leadctl criteria add`.",
                )
            parsed[k] = parse_answer(criteria[k], text, now, tz)
        if lead_changes or add_tags:
            leads.edit_lead(
                conn, lead_id, lead_changes or {}, now=now, actor=actor, add_tags=add_tags
            )
        current = answers_for(conn, lead_id)
        changed = []
        now_s = to_store(now)
        for k, new in parsed.items():
            old = current.get(k)
            if old == new:
                continue
            if new is None:
                conn.execute(
                    "DELETE FROM qualification_answers WHERE lead_id = ? AND criterion = ?",
                    (lead_id, k),
                )
            else:
                conn.execute(
                    "INSERT INTO qualification_answers (lead_id, criterion, value, answered_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT(lead_id, criterion) DO UPDATE SET"
                    " value = excluded.value, answered_at = excluded.answered_at",
                    (lead_id, k, new, now_s),
                )
            changed.append({"criterion": k, "old": old, "new": new})
            current[k] = new  # type: ignore[assignment]
        ok, missing = _evaluate(list(criteria.values()), {k: v for k, v in current.items() if v})
        conn.execute("UPDATE leads SET qualified = ? WHERE id = ?", (int(ok), lead_id))
        for ch in changed:
            activities.record(conn, lead_id, "qualification", at=now, now=now, actor=actor, data=ch)
        moved_to = None
        stage = lead.stage
        if advance and ok:
            # Only forwards: a lead already past `advance_to` (or closed) stays put.
            target = pipeline.get_stage(conn, advance_to)
            current_stage = pipeline.get_stage(conn, lead.stage)
            if current_stage.is_open and current_stage.position < target.position:
                pipeline.move_stage(conn, lead_id, target.name, now=now, actor=actor)
                moved_to = stage = target.name
        rescore_lead(conn, lead_id, now)
    shown = {k: current.get(k) for k in criteria}
    return Qualification(lead_id, ok, shown, missing, changed, stage, moved_to)
