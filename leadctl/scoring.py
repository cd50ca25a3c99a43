"""The rule score (0-100): fit and engagement rules, group caps, decay, explained.

A rule is (field, operator, value, points, group). Fit rules look at the lead
(contact data, qualification answers, deal size, source, custom fields);
engagement rules count activities, each worth `points × decay^(age/period)`
(`each` operator), so a call last week counts more than one last year.
Negative rules take points away. Each group's total is capped (to ±cap), the
sum is clamped to 0-100 and rounded: that integer is `leads.score`.

`explain_lead` returns every rule that fired with its points; its total is
computed by the same code that stores the score, so the two always agree.
"""

from __future__ import annotations

import json
import operator
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from leadctl.dates import to_store
from leadctl.db import get_setting, transaction
from leadctl.errors import (
    ConflictError,
    LeadctlError,
    NotFoundError,
    ValidationError,
    rebuilt_error,
    stored_json,
)
from leadctl.models import ACTIVITY_KINDS, SYSTEM_KINDS
from leadctl.normalize import FIELD_KEY_RE

# Lead columns a rule can test directly.
LEAD_FIELDS = (
    "name", "email", "phone", "external_id", "company", "source", "campaign", "product",
    "segment", "city", "value", "currency", "stage", "stage_kind", "owner", "captured_by",
    "tags", "do_not_contact", "qualified", "expected_close",
)  # fmt: skip
# Derived numbers: whole days since the last touch / stage entry / creation.
DAY_FIELDS = ("days_since_touch", "days_in_stage", "age_days")
HAS_FIELDS = ("email", "phone", "company", "contact", "owner", "value")
# `activities:<kind>`: kinds a person logs, leadctl's own kinds, plus `any`
# (every kind a person logs) and `inbound` (anything the lead sent us).
ACTIVITY_FIELD_KINDS = (*ACTIVITY_KINDS, *SYSTEM_KINDS, "any", "inbound")
OPERATORS = {
    "eq": "equals (case-insensitive; a list field matches if any item does)",
    "ne": "is present and does not equal",
    "in": "equals one of a comma-separated list",
    "contains": "text contains (a list field: has the item)",
    "gt": "number greater than",
    "gte": "number greater than or equal",
    "lt": "number less than",
    "lte": "number less than or equal",
    "between": "number in LOW..HIGH (LOW included, HIGH excluded)",
    "exists": "has a value",
    "missing": "has no value",
    "each": "activities:<kind> only: points per activity, decayed by its age",
}
NUMERIC_OPS = ("gt", "gte", "lt", "lte", "between")
NO_VALUE_OPS = ("exists", "missing", "each")
DEFAULT_DECAY = 0.75
DEFAULT_DECAY_DAYS = 30
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass
class Rule:
    id: int | None
    name: str
    field: str
    operator: str
    value: str | None
    points: float
    group: str
    active: bool = True

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Rule:
        return cls(
            row["id"], row["name"], row["field"], row["operator"], row["value"],
            float(row["points"]), row["grp"], bool(row["active"]),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fired:
    """One rule that contributed to a lead's score."""

    rule: str
    field: str
    operator: str
    value: str | None
    group: str
    points: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["points"] = round(self.points, 2)
        return d


@dataclass
class ScoreResult:
    lead_id: int
    score: int
    raw: float
    fired: list[Fired] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id, "score": self.score, "raw": round(self.raw, 2),
            "rules": [f.to_dict() for f in self.fired], "groups": self.groups,
        }  # fmt: skip


# ---- the facts a rule looks at ----------------------------------------------


@dataclass
class Facts:
    """What the rules need to know about one lead, loaded in bulk for --all."""

    lead: dict[str, Any]
    answers: dict[str, str]
    # activity kind (also "any" and "inbound") -> [(age in whole days, count)]
    activities: dict[str, list[tuple[int, int]]]


# Day counts are computed by SQLite (julianday), far cheaper than parsing
# three timestamps per lead in Python on a 100k-lead `score --all`.
# What the rules can read of a lead, by name: SQL over `leads l JOIN stages s`.
_FACT_SQL = {
    **{c: f"l.{c}" for c in ("id", "name", "email", "phone", "external_id", "company", "source",
                             "campaign", "product", "segment", "city", "value", "currency",
                             "stage")},
    "stage_kind": "s.kind",
    **{c: f"l.{c}" for c in ("owner", "captured_by", "tags", "fields", "do_not_contact",
                             "qualified", "expected_close", "score")},
    "days_since_touch": "CAST(julianday(:now) - julianday(substr(COALESCE(l.last_touch_at,"
    " l.created_at), 1, 19)) AS INTEGER)",
    "days_in_stage": "CAST(julianday(:now) - julianday(substr(l.stage_entered_at, 1, 19))"
    " AS INTEGER)",
    "age_days": "CAST(julianday(:now) - julianday(substr(l.created_at, 1, 19)) AS INTEGER)",
}  # fmt: skip


def _lead_select(names: Iterable[str]) -> str:
    """SELECT the lead facts `names` (and the id and the score, first)."""
    wanted = ["id", "score", *(n for n in _FACT_SQL if n in set(names) - {"id", "score"})]
    columns = ", ".join(f"{_FACT_SQL[n]} AS {n}" for n in wanted)
    return f"SELECT {columns} FROM leads l JOIN stages s ON s.name = l.stage"


_LEAD_SELECT = _lead_select(_FACT_SQL)
_ACTIVITY_SELECT = (
    "SELECT lead_id, kind, direction,"
    " CAST(julianday(:now) - julianday(substr(at, 1, 19)) AS INTEGER) AS age, count(*) AS n"
    " FROM activities{where} GROUP BY lead_id, kind, direction, age"
)
_PERSON_KINDS = frozenset(ACTIVITY_KINDS)


# Tag lists repeat from lead to lead: each JSON text is read once (rules only
# read a lead's facts, so leads may share one list).
_TAGS: dict[str, list[str]] = {}


def _tag_list(text: str | None) -> list[str]:
    if not text or text == "[]":
        return []
    found = _TAGS.get(text)
    if found is None:
        if len(_TAGS) >= 4096:
            _TAGS.clear()
        found = _TAGS[text] = stored_json(text, list, "a lead's tags", [], texts=True)
    return found


def _lead_dict(
    row: sqlite3.Row | tuple[Any, ...], names: list[str] | None = None
) -> dict[str, Any]:
    """A lead's facts row as a dict: a sqlite3.Row, or a plain tuple and its
    column names (~5 us a lead cheaper on `score --all`)."""
    d = dict(row) if names is None else dict(zip(names, row, strict=True))
    d["tags"] = _tag_list(d["tags"])
    fields = d["fields"]
    d["fields"] = stored_json(fields, dict, "a lead's custom fields", {}) if fields != "{}" else {}
    d["do_not_contact"] = bool(d["do_not_contact"])
    d["qualified"] = bool(d["qualified"])
    for key in DAY_FIELDS:
        d[key] = max(d[key] or 0, 0)
    return d


def _add_activity(
    acts: dict[str, list[tuple[int, int]]],
    kind: str,
    direction: str | None,
    age: int | None,
    n: int,
) -> None:
    item = (max(age or 0, 0), n)
    acts.setdefault(kind, []).append(item)
    if kind in _PERSON_KINDS:
        acts.setdefault("any", []).append(item)
    if direction == "in":
        acts.setdefault("inbound", []).append(item)


def load_facts(conn: sqlite3.Connection, lead_id: int, now: datetime) -> Facts:
    params = {"now": _julian_now(now), "id": lead_id}
    row = conn.execute(_LEAD_SELECT + " WHERE l.id = :id", params).fetchone()
    if row is None:
        raise NotFoundError(f"No lead with id {lead_id}", "List ids with `leadctl list`.")
    answers = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT criterion, value FROM qualification_answers WHERE lead_id = ?", (lead_id,)
        )
    }
    acts: dict[str, list[tuple[int, int]]] = {}
    for r in conn.execute(_ACTIVITY_SELECT.format(where=" WHERE lead_id = :id"), params):
        _add_activity(acts, r[1], r[2], r[3], r[4])
    return Facts(_lead_dict(row), answers, acts)


# Leads per chunk of `iter_fact_columns`: memory stays flat in the number of leads
# (a chunk's leads, answers and activity aggregates, then the next chunk).
FACTS_CHUNK = 5000


_NO_ANSWERS: dict[str, str] = {}  # shared by the leads without any (only read)
_NO_ACTIVITIES: dict[str, list[tuple[int, int]]] = {}


def iter_fact_columns(
    conn: sqlite3.Connection,
    now: datetime,
    *,
    after: int = 0,
    until: int | None = None,
    reads: tuple[frozenset[str], bool, bool] | None = None,
) -> Iterator[tuple[dict[str, list[Any]], list[dict[str, str]] | None, list[dict[str, Any]]]]:
    """Every lead's facts (ids after `after`, up to `until`) a chunk of leads
    at a time, as columns, with up to three queries a chunk (GROUP BY): the
    leads' columns (as `_lead_dict` reads them, but for the fields: their
    stored JSON text), each lead's answers and each lead's activities.
    `reads` (see `_ColumnScores.reads`) leaves out what no rule reads: the
    facts other than the id and the score, the answers (None then) and the
    activities (none then)."""
    names, with_answers, with_acts = reads or (frozenset(_FACT_SQL), True, True)
    params: dict[str, Any] = {"now": _julian_now(now), "after": after, "limit": FACTS_CHUNK,
                              "until": _MAX_ID if until is None else until}  # fmt: skip
    lead_sql = (
        _lead_select(names) + " WHERE l.id > :after AND l.id <= :until ORDER BY l.id LIMIT :limit"
    )
    act_sql = _ACTIVITY_SELECT.format(where=" WHERE lead_id BETWEEN :lo AND :hi")
    cur = conn.cursor()
    cur.row_factory = None
    while True:
        rows = cur.execute(lead_sql, params).fetchall()
        if not rows:
            return
        columns = [d[0] for d in cur.description]
        lead = dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True))
        span = {"now": params["now"], "lo": rows[0][0], "hi": rows[-1][0]}
        ids = lead["id"]
        answers: dict[int, dict[str, str]] = defaultdict(dict)
        if with_answers:
            for r in conn.execute(
                "SELECT lead_id, criterion, value FROM qualification_answers"
                " WHERE lead_id BETWEEN :lo AND :hi",
                span,
            ):
                answers[r[0]][r[1]] = r[2]
        acts: dict[int, dict[str, list[tuple[int, int]]]] = defaultdict(dict)
        if with_acts:
            for r in conn.execute(act_sql, span):
                _add_activity(acts[r[0]], r[1], r[2], r[3], r[4])
        if "tags" in lead:
            lead["tags"] = list(map(_tag_list, lead["tags"]))
        for flag in ("do_not_contact", "qualified"):
            if flag in lead:
                lead[flag] = list(map(bool, lead[flag]))
        for key in DAY_FIELDS:
            if key in lead:
                lead[key] = [max(d or 0, 0) for d in lead[key]]
        yield (
            lead,
            [answers.get(i, _NO_ANSWERS) for i in ids] if with_answers else None,
            [acts.get(i, _NO_ACTIVITIES) for i in ids],
        )
        if len(rows) < FACTS_CHUNK:
            return
        params["after"] = rows[-1][0]
        del rows, answers, acts, lead


def _julian_now(now: datetime) -> str:
    return to_store(now)[:19]


# ---- the facts of leads about to be stored (a bulk import) -------------------

# What `NewLeads` reads of a new lead: the columns `_LEAD_SELECT` reads.
NEW_LEAD_COLUMNS = (
    *(f for f in LEAD_FIELDS if f != "stage_kind"),
    "fields", "created_at", "stage_entered_at", "last_touch_at",
)  # fmt: skip
# The types SQLite hands back from a new lead's columns: a value of another
# type (an int in a TEXT column, a float in an INTEGER one) would come back
# changed, so a row holding one is left to be scored from the database.
_NONE = type(None)
_COLUMN_TYPES = {
    **{c: frozenset((str, _NONE)) for c in NEW_LEAD_COLUMNS},
    **{c: frozenset((int, _NONE)) for c in ("value", "do_not_contact", "qualified")},
    **{c: frozenset((str,)) for c in ("currency", "stage", "tags", "fields", "created_at",
                                      "stage_entered_at")},
}  # fmt: skip
_DAYS_SQL = (
    "SELECT CAST(julianday(?1) - julianday(substr(j.value, 1, 19)) AS INTEGER)"
    " FROM json_each(?2) AS j ORDER BY j.key"
)
_DAYS_MEMO = 65_536  # timestamps whose day count NewLeads keeps
_FIELDS_TEXT = 512  # the longest custom-fields JSON NewLeads keeps parsed


def _new_lead_reads(fld: str) -> bool:
    """Whether `NewLeads` knows what a rule on `fld` reads (every field
    `check_field` takes; a rule written into the table by hand may read more)."""
    prefix, sep, rest = fld.partition(":")
    if not sep:
        return fld in LEAD_FIELDS or fld in DAY_FIELDS
    if prefix == "has":
        return rest in HAS_FIELDS
    return prefix in ("field", "answer", "activities")


class NewLeads:
    """The scores `score_all` would store for leads about to be inserted,
    worked out from their column values: a bulk import scores its rows in
    the converting processes, as it stores them, not in a pass afterwards.

    Each row is read as `iter_fact_columns` would read it back:
    the day counts by SQLite's own julianday arithmetic (on an in-memory
    database, each distinct timestamp once), tags and fields as parsed JSON,
    the flags as booleans, its activities (the `import` one at `now`, and
    those the caller names) through `_add_activity` in the GROUP BY's order,
    and no qualification answers (a new lead has none). Then the columns
    are scored as `score --all` scores the leads it reads (`_ColumnScores`).

    A row that would not be read back as it is (a value of another type than
    its column hands back, an unknown stage), or any row when a rule reads
    what this cannot know, gets None: the caller scores it from the database.
    """

    def __init__(self, scorer: Scorer, stage_kinds: dict[str, str], now: datetime) -> None:
        self.columns_scorer = _ColumnScores(scorer, now)
        self.kinds = stage_kinds
        self.now = _julian_now(now)
        self.now_s = to_store(now)
        reads = [c.rule.field for c in scorer.compiled]
        self.usable = self.columns_scorer.memo is not None and all(map(_new_lead_reads, reads))
        # The columns the rules read (and stage, whose kind a lead must have).
        need = {"stage"}
        for fld in reads:
            prefix, sep, rest = fld.partition(":")
            if not sep:
                need.update(_DAY_COLUMNS.get(fld, (fld,)))
            elif prefix == "has":
                need.update(("email", "phone") if rest == "contact" else (rest,))
            elif prefix == "field":
                need.add("fields")
        need.discard("stage_kind")
        self.columns = tuple(c for c in NEW_LEAD_COLUMNS if c in need)
        self._days: dict[str, int | None] = {}
        self._clamped: dict[str, int] = {}
        self._db: sqlite3.Connection | None = None

    def scores(
        self, n: int, cols: dict[str, list[Any]], extra: dict[int, list[tuple[str, str]]]
    ) -> list[int | None]:
        """The score of each of n new leads, or None (see the class). `cols`
        holds (at least) the values of the `columns` the rules read, a list
        each; `extra` maps a lead's index to the (kind, at) of its activities
        besides the import (none has a direction)."""
        from itertools import chain, compress

        if not self.usable or not n:
            return [None] * n
        cols = {name: cols[name] for name in self.columns}
        odd: set[int] = set()
        for name, col in cols.items():
            allowed = _COLUMN_TYPES[name]
            if not set(map(type, col)) <= allowed:
                odd.update(k for k, v in enumerate(col) if type(v) not in allowed)
        kinds = self.kinds
        stages = cols["stage"]
        if not odd and not set(stages) <= kinds.keys():
            odd.update(k for k, stage in enumerate(stages) if stage not in kinds)
        elif odd:
            odd.update(k for k, stage in enumerate(stages) if k not in odd and stage not in kinds)
        kept: list[int] = []
        if odd:
            good = [k not in odd for k in range(n)]
            kept = list(compress(range(n), good))
            cols = {name: list(compress(col, good)) for name, col in cols.items()}
            extra = {j: extra[k] for j, k in enumerate(kept) if k in extra}
        m = n - len(odd)
        if not m:
            return [None] * n
        # The leads as `_lead_dict` reads them.
        lead = cols
        lead["stage_kind"] = list(map(kinds.__getitem__, cols["stage"]))
        if "tags" in cols:
            tags = {text: _tag_list(text) for text in set(cols["tags"])}  # one list per text
            lead["tags"] = list(map(tags.__getitem__, cols["tags"]))
        for flag in ("do_not_contact", "qualified"):
            if flag in cols:
                lead[flag] = list(map(bool, cols[flag]))
        more = [at for acts in extra.values() for _, at in acts]
        created, entered = cols.get("created_at"), cols.get("stage_entered_at")
        touched = cols.get("last_touch_at")
        if touched is not None and created is not None:  # COALESCE(last_touch_at, created_at)
            touched = [c if t is None else t for t, c in zip(touched, created, strict=True)]
        dated = [col for col in (created, entered, touched) if col is not None]
        days = self._day_counts({self.now_s, *chain(more, *dated)})
        clamped = self._clamped  # max(days or 0, 0), as _lead_dict reads them
        for name, texts in (("days_since_touch", touched), ("days_in_stage", entered),
                            ("age_days", created)):  # fmt: skip
            if texts is not None:
                lead[name] = list(map(clamped.__getitem__, texts))
        imported: dict[str, list[tuple[int, int]]] = {}
        _add_activity(imported, "import", None, days[self.now_s], 1)
        acts = [imported] * m
        for j, more_acts in extra.items():
            acts[j] = self._activities(more_acts, days)
        scores: list[int | None] = list(self.columns_scorer.scores(lead, None, acts))
        if not odd:
            return scores
        out: list[int | None] = [None] * n
        for k, value in zip(kept, scores, strict=True):
            out[k] = value
        return out

    def _activities(
        self, more: list[tuple[str, str]], days: dict[str, int | None]
    ) -> dict[str, list[tuple[int, int]]]:
        counts: dict[tuple[str, int | None], int] = {}
        for kind, at in [("import", self.now_s), *more]:
            key = (kind, days[at])
            counts[key] = counts.get(key, 0) + 1
        acts: dict[str, list[tuple[int, int]]] = {}
        # GROUP BY lead_id, kind, direction, age: by kind, then age (NULL first)
        for (kind, age), n in sorted(
            counts.items(), key=lambda item: (item[0][0], item[0][1] is not None, item[0][1] or 0)
        ):
            _add_activity(acts, kind, None, age, n)
        return acts

    def _day_counts(self, texts: set[str]) -> dict[str, int | None]:
        """CAST(julianday(now) - julianday(substr(t, 1, 19)) AS INTEGER) of each text."""
        memo = self._days
        new = [t for t in texts if t not in memo]
        if new:
            if len(memo) + len(new) > _DAYS_MEMO:
                memo.clear()
                self._clamped.clear()
                new = list(texts)
            if self._db is None:
                self._db = sqlite3.connect(":memory:")
            got = [r[0] for r in self._db.execute(_DAYS_SQL, (self.now, json.dumps(new)))]
            memo.update(zip(new, got, strict=True))
            self._clamped.update(zip(new, (max(d or 0, 0) for d in got), strict=True))
        return memo


class _ColumnScores:
    """Scores a chunk of leads a column at a time: what each rule reads, then
    `_Outcomes`, with the same result as `Scorer.total` lead by lead. The
    leads come as columns in `_lead_dict`'s form (tags as lists, flags as
    booleans, day counts clamped; fields as the stored JSON text), their
    answers and activities as a dict each (shared dicts are read once).
    Used by `score_all` (leads read from the database) and `NewLeads`."""

    def __init__(self, scorer: Scorer, now: datetime) -> None:
        self.scorer = scorer
        self.memo = _Outcomes.of(scorer)
        self.now = now
        self._fields: dict[str, dict[str, Any]] = {}

    def scores(
        self,
        lead: dict[str, list[Any]],
        answers: list[dict[str, Any]] | None,
        acts: list[dict[str, list[tuple[int, int]]]],
    ) -> list[int]:
        """Each lead's score; `answers` None: no lead has any."""
        memo = self.memo
        if memo is None:  # a rule reads more than its field: lead by lead
            return [self._one(j, lead, answers, acts) for j in range(len(acts))]
        memo.check()
        # Outcome ids: a column of them per input, or one for all the leads.
        # Grouping by object identity (here and in _Outcomes.column) is safe:
        # every object stays alive in these lists until the scores are out,
        # so no id is reused, and objects equal in value but apart only cost
        # one more `one` call each.
        act_ids = list(map(id, acts))  # many leads share one dict
        act_of = (act_ids, dict(zip(act_ids, acts, strict=True)))
        ids: list[list[int | None] | int | None] = [
            memo.column(i, *self._input(fld, lead, answers, act_of))
            for i, fld in enumerate(memo.fields)
        ]
        varying = [col for col in ids if isinstance(col, list)]
        keys: list[Any] = list(zip(*varying, strict=True)) if varying else [()] * len(acts)
        if None in ids or any(None in col for col in varying):
            # A value not kept: that lead is scored as `total` scores one.
            combos = [self._combo(ids, key) for key in keys]
            return [
                self._one(j, lead, answers, acts) if None in combo else memo.score(combo)
                for j, combo in enumerate(combos)
            ]
        # Each distinct combination of the varying inputs summed once.
        score_of = {key: memo.score(self._combo(ids, key)) for key in set(keys)}
        return list(map(score_of.__getitem__, keys))

    def reads(self) -> tuple[frozenset[str], bool, bool] | None:
        """What the rules read: (the lead facts by `_FACT_SQL` name, any
        answer, any activity); None for everything (scored lead by lead)."""
        if self.memo is None:
            return None
        names: set[str] = set()
        answers = acts = False
        for fld in self.memo.fields:
            prefix, sep, rest = fld.partition(":")
            if not sep:
                names.add(fld)
            elif prefix == "has":
                names.update(("email", "phone") if rest == "contact" else (rest,))
            elif prefix == "field":
                names.add("fields")
            elif prefix == "answer":
                answers = True
            else:
                acts = True
        return frozenset(names & _FACT_SQL.keys()), answers, acts

    @staticmethod
    def _combo(ids: list[Any], key: tuple[Any, ...]) -> tuple[Any, ...]:
        """The outcome ids of every input: the constant ones and `key`'s."""
        varying = iter(key)
        return tuple(next(varying) if isinstance(col, list) else col for col in ids)

    def _input(
        self,
        fld: str,
        lead: dict[str, list[Any]],
        answers: list[dict[str, Any]] | None,
        act_of: tuple[list[int], dict[int, dict[str, list[tuple[int, int]]]]],
    ) -> tuple[list[Any], bool | None]:
        """A column of what the rules on `fld` read of each lead (see `outcome`; one
        value when it is the same for all), and whether `_Outcomes.column`
        may group it by value (True), by object (False) or sees by its
        types (None). `act_of`: the id of each lead's activities dict, and
        the dicts by id."""
        prefix, sep, rest = fld.partition(":")
        if not sep:
            col = lead.get(fld)
            if col is None:
                return [None], True
            if fld == "fields":  # (a rule written by hand: it reads the whole dict)
                return list(map(self._field_dict, col)), False
            return col, None
        if prefix == "has":
            if rest == "contact":  # bool(email or phone)
                emails, phones = lead["email"], lead["phone"]
                return list(map(operator.or_, map(bool, emails), map(bool, phones))), True
            col = lead.get(rest)
            if col is None:
                return [False], True
            if rest == "fields":  # (a rule written by hand: the parsed dict, as _getter)
                col = list(map(self._field_dict, col))
            if set(map(type, col)) <= _EMPTY_IS_FALSY:  # not _empty(v) is bool(v)
                return list(map(bool, col)), True
            return [not _empty(v) for v in col], True
        if prefix == "field":
            return [f.get(rest) for f in map(self._field_dict, lead["fields"])], None
        if prefix == "answer":
            if answers is None:
                return [None], True
            return [a.get(rest) for a in answers], None
        ids, acts = act_of
        if prefix != "activities":  # (a rule written by hand: `_getter` reads the count)
            counts = {key: sum(n for _, n in a.get(rest, ())) for key, a in acts.items()}
            return list(map(counts.__getitem__, ids)), None
        pairs = {key: tuple(a.get(rest, ())) for key, a in acts.items()}
        if len(set(pairs.values())) == 1:
            return [next(iter(pairs.values()))], False
        return list(map(pairs.__getitem__, ids)), False

    def _one(
        self,
        j: int,
        lead: dict[str, list[Any]],
        answers: list[dict[str, Any]] | None,
        acts: list[dict[str, list[tuple[int, int]]]],
    ) -> int:
        facts = {name: col[j] for name, col in lead.items()}
        if "fields" in facts:
            facts["fields"] = self._field_dict(facts["fields"])
        given = {} if answers is None else answers[j]
        return self.scorer.total(Facts(facts, given, acts[j]), self.now)

    def _field_dict(self, text: str | dict[str, Any]) -> dict[str, Any]:
        """A fields JSON text, parsed as `_lead_dict` parses it (each distinct
        short text once; the dicts are only read), or a dict already."""
        if isinstance(text, dict):
            return text
        if not text or text == "{}":
            return {}
        found = self._fields.get(text)
        if found is None:
            found = stored_json(text, dict, "a lead's custom fields", {})
            if len(text) <= _FIELDS_TEXT:  # a long text seldom repeats: not kept
                if len(self._fields) >= _MEMO_LIMIT:
                    self._fields.clear()
                self._fields[text] = found
        return found


_DAY_COLUMNS = {
    "days_since_touch": ("created_at", "last_touch_at"),
    "days_in_stage": ("stage_entered_at",),
    "age_days": ("created_at",),
}


# ---- rules: validation and evaluation ---------------------------------------


def valid_fields_hint() -> str:
    return (
        f"Fields: {', '.join(LEAD_FIELDS)}, {', '.join(DAY_FIELDS)}, "
        f"has:{{{','.join(HAS_FIELDS)}}}, field:<custom field>, answer:<criterion>, "
        f"activities:{{{','.join(ACTIVITY_FIELD_KINDS)}}}."
    )


def check_field(conn: sqlite3.Connection, name: str) -> str:
    f = name.strip()
    prefix, sep, rest = f.partition(":")
    ok = False
    if not sep:
        f = f.lower()
        ok = f in LEAD_FIELDS or f in DAY_FIELDS
    elif prefix == "has":
        ok = rest in HAS_FIELDS
    elif prefix == "field":
        ok = bool(FIELD_KEY_RE.match(rest))
    elif prefix == "answer":
        keys = [r[0] for r in conn.execute("SELECT key FROM criteria ORDER BY position")]
        if rest not in keys:
            raise NotFoundError(
                f"Unknown criterion {rest!r} in rule field {name!r}",
                f"Criteria: {', '.join(keys) or 'none'}; add one with `leadctl criteria add`.",
            )
        ok = True
    elif prefix == "activities":
        ok = rest in ACTIVITY_FIELD_KINDS
    if not ok:
        raise ValidationError(f"Unknown rule field {name!r}", valid_fields_hint())
    return f


def check_operator(op: str) -> str:
    o = op.strip().lower()
    if o not in OPERATORS:
        raise ValidationError(
            f"Unknown rule operator {op!r}", f"Operators: {', '.join(OPERATORS)}."
        )
    return o


def _number(text: str, rule: str) -> float:
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise ValidationError(
            f"Rule {rule!r}: {text!r} is not a number", "Example: --value 3 (or 5..10 for between)."
        ) from None
    if value != value:
        raise ValidationError(f"Rule {rule!r}: {text!r} is not a number")
    return value


def check_rule(conn: sqlite3.Connection, rule: Rule) -> Rule:
    """Validate and normalise a rule; raises ValidationError/NotFoundError."""
    if not _NAME_RE.match(rule.name or ""):
        raise ValidationError(
            f"{rule.name!r} is not a valid rule name", "Use letters, digits, _ . -, e.g. has_email."
        )
    rule.field = check_field(conn, rule.field)
    rule.operator = check_operator(rule.operator)
    is_activity = rule.field.startswith("activities:")
    if rule.operator == "each" and not is_activity:
        raise ValidationError(
            f"Rule {rule.name!r}: operator 'each' works only on activities:<kind> fields",
            "Example: --field activities:call --op each --points 4",
        )
    if rule.operator in NO_VALUE_OPS:
        rule.value = None
    elif rule.value is None or not str(rule.value).strip():
        raise ValidationError(
            f"Rule {rule.name!r}: operator {rule.operator!r} needs a value", "Add --value."
        )
    else:
        rule.value = str(rule.value).strip()
    if rule.operator in NUMERIC_OPS:
        assert rule.value is not None
        parts = rule.value.split("..") if rule.operator == "between" else [rule.value]
        if len(parts) != 2 and rule.operator == "between":
            raise ValidationError(
                f"Rule {rule.name!r}: between needs LOW..HIGH", "Example: --value 1000000..10000000"
            )
        for p in parts:
            _threshold(p, rule.field, "IDR", rule.name)
    elif rule.field == "value" and rule.operator in ("eq", "ne", "in"):
        assert rule.value is not None
        for p in rule.value.split(","):
            if p.strip():
                _threshold(p, "value", "IDR", rule.name)
    if not _NAME_RE.match(rule.group or ""):
        raise ValidationError(f"{rule.group!r} is not a valid group name", "Example: --group fit")
    try:
        rule.points = float(rule.points)
    except (TypeError, ValueError):
        raise ValidationError(
            f"Rule {rule.name!r}: points {rule.points!r} is not a number"
        ) from None
    if rule.points != rule.points or abs(rule.points) > 1000:
        raise ValidationError(f"Rule {rule.name!r}: points must be between -1000 and 1000")
    return rule


def _threshold(text: str, fld: str, currency: str, rule: str) -> float:
    """A rule's number; deal values are typed like money (10jt, 15.000.000)."""
    if fld == "value":
        from leadctl.normalize import parse_money

        try:
            return float(parse_money(text.strip(), currency))
        except ValidationError as exc:
            raise ValidationError(f"Rule {rule!r}: {exc.message}", exc.hint) from None
    return _number(text.strip(), rule)


@dataclass
class _Compiled:
    rule: Rule
    get: Callable[[Facts], Any]
    test: Callable[[Any], bool]


def _truthy(text: str) -> bool | None:
    from leadctl.normalize import parse_bool

    try:
        return parse_bool(text)
    except ValidationError:
        return None


def _as_float(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip().replace(",", ""))
    except ValueError:
        return None


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


# The types whose values `_empty` calls empty exactly when they are falsy.
_EMPTY_IS_FALSY = frozenset((str, list, dict, type(None)))


@dataclass(frozen=True)
class _Target:
    """A rule value read every way once, at compile time, not per lead."""

    fold: str
    boolean: bool | None
    number: float | None

    @classmethod
    def of(cls, text: str) -> _Target:
        return cls(text.strip().casefold(), _truthy(text), _as_float(text))


def _eq(actual: Any, t: _Target) -> bool:
    if isinstance(actual, list):
        return any(_eq(a, t) for a in actual)
    if isinstance(actual, bool):
        return t.boolean is not None and actual == t.boolean
    if isinstance(actual, (int, float)):
        return t.number is not None and float(actual) == t.number
    a = str(actual).strip().casefold()
    if a == t.fold:
        return True
    if a in ("yes", "no"):
        return t.boolean is not None and (a == "yes") == t.boolean
    if t.number is not None:
        n = _as_float(a)
        return n is not None and n == t.number
    return False


def _make_test(rule: Rule, currency: str) -> Callable[[Any], bool]:
    op, value = rule.operator, rule.value or ""
    if op == "exists":
        return lambda v: not _empty(v) and v is not False
    if op == "missing":
        return lambda v: _empty(v) or v is False

    def target_of(text: str) -> _Target:
        t = _Target.of(text)
        if rule.field == "value":  # deal values compare in minor units, typed like money
            t = _Target(t.fold, None, _threshold(text, "value", currency, rule.name))
        return t

    if op == "eq":
        target = target_of(value)
        return lambda v: not _empty(v) and _eq(v, target)
    if op == "ne":
        target = target_of(value)
        return lambda v: not _empty(v) and not _eq(v, target)
    if op == "in":
        options = [target_of(o) for o in (p.strip() for p in value.split(",")) if o]
        return lambda v: not _empty(v) and any(_eq(v, o) for o in options)
    if op == "contains":
        needle = value.casefold()

        def contains(v: Any) -> bool:
            if _empty(v):
                return False
            if isinstance(v, list):
                return any(str(x).casefold() == needle for x in v)
            return needle in str(v).casefold()

        return contains
    if op == "each":
        return lambda v: bool(v)
    if op == "between":
        low_s, high_s = value.split("..")
        low = _threshold(low_s, rule.field, currency, rule.name)
        high = _threshold(high_s, rule.field, currency, rule.name)
        return lambda v: (n := _as_float(v)) is not None and not _empty(v) and low <= n < high
    limit = _threshold(value, rule.field, currency, rule.name)
    cmp: dict[str, Callable[[float], bool]] = {
        "gt": lambda n: n > limit, "gte": lambda n: n >= limit,
        "lt": lambda n: n < limit, "lte": lambda n: n <= limit,
    }  # fmt: skip
    check = cmp[op]
    return lambda v: not _empty(v) and (n := _as_float(v)) is not None and check(n)


def _getter(fld: str) -> Callable[[Facts], Any]:
    """What a rule on `fld` tests of a lead (the day counts are in the facts,
    worked out for the time of scoring)."""
    prefix, sep, rest = fld.partition(":")
    if not sep:
        return lambda f: f.lead.get(fld)
    if prefix == "has":
        if rest == "contact":
            return lambda f: bool(f.lead["email"] or f.lead["phone"])
        return lambda f: not _empty(f.lead.get(rest))
    if prefix == "field":
        return lambda f: f.lead["fields"].get(rest)
    if prefix == "answer":
        return lambda f: f.answers.get(rest)
    # activities:<kind>: the number of matching activities
    return lambda f: sum(n for _, n in f.activities.get(rest, ()))


# Distinct values `_Outcomes` remembers per input, and combinations of fired
# rules (cleared when full); a text longer than _MEMO_TEXT or a list or
# activity history longer than _MEMO_ITEMS is never remembered. A bound on its
# memory whatever the leads hold.
_MEMO_LIMIT = 8192
_MEMO_TEXT = 80
_MEMO_ITEMS = 8


def _exact(value: Any) -> Any:
    """`value` as a dict key that equals another only for the same type and
    value (True == 1 == 1.0 in Python; the rules tell them apart); None
    for a value too big to remember. A short text is its own key."""
    kind = type(value)
    if kind is list or kind is tuple:
        if not value:
            return (kind, ())
        if len(value) > _MEMO_ITEMS:
            return None
        items = tuple(map(_exact, value))
        return None if None in items else (kind, items)
    if kind is float:
        return (float, repr(value))  # -0.0 == 0.0, yet str() differs
    if kind is str:
        return value if len(value) <= _MEMO_TEXT else None
    return (kind, value)  # None itself: (NoneType, None)


class Scorer:
    """Rules, caps and decay loaded once; scores any number of leads."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        currency = get_setting(conn, "currency", "IDR")
        self.rules = [r for r in list_rules(conn) if r.active]
        self.caps: dict[str, float | None] = dict(
            conn.execute("SELECT name, cap FROM score_groups").fetchall()
        )
        self.decay = float(get_setting(conn, "score_decay", DEFAULT_DECAY))
        self.decay_days = float(get_setting(conn, "score_decay_days", DEFAULT_DECAY_DAYS))
        self._factors: dict[int, float] = {}
        self.compiled = []
        for r in self.rules:
            try:
                test = _make_test(r, currency)
            except ValidationError:
                # A rule that no longer reads (e.g. after a currency change) is
                # skipped rather than failing every write that rescores.
                continue
            self.compiled.append(_Compiled(r, _getter(r.field), test))

    def _factor(self, age: int) -> float:
        f = self._factors.get(age)
        if f is None:
            f = self._factors[age] = self.decay ** (age / self.decay_days)
        return f

    def _decayed(self, rule: Rule, facts: Facts) -> tuple[float, str]:
        pairs = facts.activities.get(rule.field.partition(":")[2], ())
        count = sum(n for _, n in pairs)
        return self._decay_sum(pairs) * rule.points, f"{count} × {rule.points:g}, decayed by age"

    def _decay_sum(self, pairs: Iterable[tuple[int, int]]) -> float:
        total = 0.0
        for age, n in pairs:
            total += n * self._factor(age)
        return total

    def _fire(self, facts: Facts, now: datetime) -> list[tuple[Rule, Any, float]]:
        """(rule, the lead's value, points) for every rule that fires."""
        out = []
        for c in self.compiled:
            actual = c.get(facts)
            if c.test(actual):
                r = c.rule
                points = self._decayed(r, facts)[0] if r.operator == "each" else r.points
                out.append((r, actual, points))
        return out

    def inputs(self) -> dict[str, list[tuple[int, _Compiled]]] | None:
        """The rules (with their place in rule order) by the field they read,
        the input that alone decides whether they fire and with what points;
        None when a rule reads more than its field (`each` on a field that
        is not an activity kind: `check_rule` refuses it, a hand-written
        rule may not)."""
        inputs: dict[str, list[tuple[int, _Compiled]]] = {}
        for order, c in enumerate(self.compiled):
            if c.rule.operator == "each" and not c.rule.field.startswith("activities:"):
                return None
            inputs.setdefault(c.rule.field, []).append((order, c))
        return inputs

    def outcome(
        self, fld: str, rules: list[tuple[int, _Compiled]]
    ) -> Callable[[Any], tuple[tuple[int, float], ...]]:
        """The (rule order, points) of the rules on `fld` that fire for an
        input value, as `_fire` tests and adds them: the value `_getter(fld)`
        reads, but for an activity kind its (age, count) pairs, which `each`
        decays (the rules test their count)."""
        if not fld.startswith("activities:"):
            return lambda value: tuple(
                (order, c.rule.points) for order, c in rules if c.test(value)
            )

        def fired(pairs: tuple[tuple[int, int], ...]) -> tuple[tuple[int, float], ...]:
            count = sum(n for _, n in pairs)  # what _getter reads: the number
            out = []
            for order, c in rules:
                if c.test(count):
                    r = c.rule
                    each = r.operator == "each"
                    out.append((order, self._decay_sum(pairs) * r.points if each else r.points))
            return tuple(out)

        return fired

    def _combine(self, sums: dict[str, float]) -> tuple[float, int]:
        raw = 0.0
        for name, total in sums.items():
            cap = self.caps.get(name)
            raw += total if cap is None else max(-cap, min(cap, total))
        return raw, round(max(0.0, min(100.0, raw)))

    def total(self, facts: Facts, now: datetime) -> int:
        """Just the score (for --all); `score` explains the same sum."""
        sums: dict[str, float] = {}
        for r, _, points in self._fire(facts, now):
            sums[r.group] = sums.get(r.group, 0.0) + points
        return self._combine(sums)[1]

    def score(self, facts: Facts, now: datetime) -> ScoreResult:
        fired: list[Fired] = []
        sums: dict[str, float] = {}
        for r, actual, points in self._fire(facts, now):
            detail = self._decayed(r, facts)[1] if r.operator == "each" else _describe(actual)
            fired.append(Fired(r.name, r.field, r.operator, r.value, r.group, points, detail))
            sums[r.group] = sums.get(r.group, 0.0) + points
        raw, score = self._combine(sums)
        groups = []
        for name, total in sums.items():
            cap = self.caps.get(name)
            capped = total if cap is None else max(-cap, min(cap, total))
            groups.append(
                {"group": name, "points": round(total, 2), "cap": cap, "counted": round(capped, 2)}
            )
        return ScoreResult(facts.lead["id"], score, raw, fired, groups)


# Types whose values, one type with None at most, `_Outcomes.column` may
# group by value (1 == True == 1.0 across types; 0.0 == -0.0 within floats).
_ONE_TYPE_ONLY = frozenset((str, int, bool, type(None)))
# Distinct outcomes `_Outcomes` keeps before it forgets everything it knows.
_OUTCOME_LIMIT = 65_536


def _key(value: Any) -> Any:
    """A value's memo key (see _exact): a short text is its own."""
    return value if type(value) is str and len(value) <= _MEMO_TEXT else _exact(value)


class _Outcomes:
    """What `_ColumnScores` remembers: per input (a field the
    rules read), each distinct value's outcome (the rules that fire and
    their points) as a small int, and each combination of outcomes' score.
    Lead by lead (`one`) or a column of leads at a time (`column`), with the
    same outcomes and the same sums."""

    def __init__(self, scorer: Scorer, inputs: dict[str, list[tuple[int, _Compiled]]]) -> None:
        self.fields = list(inputs)
        self.fired = [scorer.outcome(fld, rules) for fld, rules in inputs.items()]
        self.groups = [c.rule.group for c in scorer.compiled]
        self.combine = scorer._combine
        self.seen: list[dict[Any, int]] = [{} for _ in inputs]  # key -> outcome id
        self.outcomes: list[tuple[tuple[int, float], ...]] = []
        self.ids: dict[tuple[tuple[int, float], ...], int] = {}
        self.sums: dict[tuple[int, ...], int] = {}

    @classmethod
    def of(cls, scorer: Scorer) -> _Outcomes | None:
        inputs = scorer.inputs()
        return None if inputs is None else cls(scorer, inputs)

    def check(self) -> None:
        """Forget everything once there are too many outcomes (between leads
        or columns only: an id handed out stays valid until then)."""
        if len(self.outcomes) > _OUTCOME_LIMIT:
            for seen in self.seen:
                seen.clear()
            self.outcomes.clear()
            self.ids.clear()
            self.sums.clear()

    def _id(self, outcome: tuple[tuple[int, float], ...]) -> int:
        oid = self.ids.get(outcome)
        if oid is None:
            oid = self.ids[outcome] = len(self.outcomes)
            self.outcomes.append(outcome)
        return oid

    def one(self, i: int, value: Any) -> int | None:
        """Input i's outcome id for `value`; None for a value not kept (too
        big, or not a dict key): the caller scores that lead with `total`."""
        key = _key(value)
        if key is None:
            return None
        seen = self.seen[i]
        try:
            oid = seen.get(key)
        except TypeError:  # unhashable: a dict
            return None
        if oid is None:
            if len(seen) >= _MEMO_LIMIT:
                seen.clear()
            oid = seen[key] = self._id(self.fired[i](value))
        return oid

    def column(
        self, i: int, values: list[Any], by_value: bool | None = False
    ) -> list[int | None] | int | None:
        """`one` for each value, once per distinct value: `by_value` when
        equal values are always of one type (see NewLeads._input), else per
        distinct object (shared lists and tuples). Just one id when every
        value is the same."""
        one = self.one
        if by_value is None:  # by value when equal values are of one type
            types = set(map(type, values))
            by_value = not (types - _ONE_TYPE_ONLY) and len(types - {_NONE}) <= 1
        if by_value:
            distinct = set(values)
            if len(distinct) == 1:
                return one(i, values[0])
            oid_of = {v: one(i, v) for v in distinct}
            return list(map(oid_of.__getitem__, values))
        ids = list(map(id, values))
        objects = dict(zip(ids, values, strict=True))
        if len(objects) == 1:
            return one(i, values[0])
        oid_by = {key: one(i, v) for key, v in objects.items()}
        return list(map(oid_by.__getitem__, ids))

    def _sum(self, combo: tuple[int, ...]) -> int:
        sums: dict[str, float] = {}
        groups = self.groups
        for order, points in sorted(p for oid in combo for p in self.outcomes[oid]):
            sums[groups[order]] = sums.get(groups[order], 0.0) + points
        return self.combine(sums)[1]

    def score(self, combo: tuple[int, ...]) -> int:
        """The score of one combination of outcome ids (one per input)."""
        score = self.sums.get(combo)
        if score is None:
            if len(self.sums) >= _MEMO_LIMIT:
                self.sums.clear()
            score = self.sums[combo] = self._sum(combo)
        return score


def _describe(actual: Any) -> str:
    if isinstance(actual, bool):
        return "yes" if actual else "no"
    if isinstance(actual, list):
        return ", ".join(str(a) for a in actual)
    return "" if actual is None else str(actual)


# ---- storing scores ---------------------------------------------------------


def _store(
    conn: sqlite3.Connection, changes: list[tuple[int, int | None, int]], now: datetime
) -> None:
    now_s = to_store(now)
    conn.executemany(
        "UPDATE leads SET score = ?, score_updated_at = ? WHERE id = ?",
        [(new, now_s, lead_id) for lead_id, _, new in changes],
    )
    conn.executemany(
        "INSERT INTO score_history (lead_id, at, old_score, new_score) VALUES (?, ?, ?, ?)",
        [(lead_id, now_s, old, new) for lead_id, old, new in changes],
    )


# Everything a Scorer is built from, as one string: rescoring runs after every
# write, so the compiled rules are reused until this changes.
_SIGNATURE_SQL = (
    "SELECT (SELECT json_group_array(json_array(id, name, field, operator, value, points, grp,"
    " active)) FROM score_rules) || (SELECT json_group_array(json_array(name, cap))"
    " FROM score_groups) || COALESCE((SELECT group_concat(key || '=' || value) FROM settings"
    " WHERE key IN ('currency', 'score_decay', 'score_decay_days')), '')"
)
_SCORERS: dict[str, Scorer] = {}


def scoring_signature(conn: sqlite3.Connection) -> str:
    """Everything a lead's score is worked out from besides the lead: the
    rules, groups and settings, and each stage's kind."""
    stages = conn.execute(
        "SELECT group_concat(name || '=' || kind, ',') FROM (SELECT name, kind FROM stages"
        " ORDER BY name)"
    ).fetchone()[0]
    return f"{conn.execute(_SIGNATURE_SQL).fetchone()[0]}|{stages}"


def get_scorer(conn: sqlite3.Connection) -> Scorer:
    signature = conn.execute(_SIGNATURE_SQL).fetchone()[0]
    scorer = _SCORERS.get(signature)
    if scorer is None:
        if len(_SCORERS) > 8:
            _SCORERS.clear()
        scorer = _SCORERS[signature] = Scorer(conn)
    return scorer


# Connections inside `deferred_rescoring`: id(conn) -> lead ids to rescore at the end.
_DEFERRED: dict[int, set[int]] = {}


@contextmanager
def deferred_rescoring(conn: sqlite3.Connection, now: datetime) -> Iterator[None]:
    """Collect rescoring during a bulk write (an import) and do it once at the end.

    Inside the block, `rescore_lead` only notes the lead; on a clean exit the
    noted leads are rescored (all of them with `score_all` when there are many).
    """
    if id(conn) in _DEFERRED:  # nested: the outer block rescores
        yield
        return
    pending: set[int] = set()
    _DEFERRED[id(conn)] = pending
    try:
        yield
    finally:
        del _DEFERRED[id(conn)]
    if len(pending) > 200:
        score_all(conn, now)
        from leadctl.predict import load_model, predict_open

        model = load_model(conn)
        if model is not None:
            with transaction(conn):
                predict_open(conn, model)
    else:
        for lead_id in sorted(pending):
            rescore_lead(conn, lead_id, now)


def rescore_lead(conn: sqlite3.Connection, lead_id: int, now: datetime) -> int | None:
    """Recompute one lead's score (inside the caller's transaction); return it.

    Called at the end of every write that can change a score: add, edit,
    qualify, a new activity, a stage move. A change is kept in score_history.
    Inside `deferred_rescoring` it only notes the lead and returns None.
    """
    pending = _DEFERRED.get(id(conn))
    if pending is not None:
        pending.add(lead_id)
        return None
    with transaction(conn):
        facts = load_facts(conn, lead_id, now)
        new = get_scorer(conn).total(facts, now)
        old = facts.lead["score"]
        if old != new:
            _store(conn, [(lead_id, old, new)], now)
        from leadctl.predict import update_lead

        update_lead(conn, lead_id)
    return new


def score_lead(conn: sqlite3.Connection, lead_id: int, now: datetime) -> ScoreResult:
    """The explanation of a lead's score, as it would be stored now."""
    return get_scorer(conn).score(load_facts(conn, lead_id, now), now)


@dataclass
class ScoreAllResult:
    leads: int
    changed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# `score_all` over at least this many leads scores them in SCORE_WORKERS
# processes of their own (each reading the database on its own connection)
# while this one writes the changes: scoring is ~85% of the work.
PARALLEL_SCORE_LEADS = 50_000
SCORE_WORKERS = 2
SCORE_RANGE_IDS = 20_000  # lead ids per message of a scoring process
# Off unless a program turns it on (the CLI does): a spawned process imports
# the program's main module again, which a script without an
# `if __name__ == "__main__"` guard would run a second time.
WORKERS = False


def use_worker_processes(on: bool = True) -> None:
    global WORKERS
    WORKERS = on


def score_all(
    conn: sqlite3.Connection,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
    until: int | None = None,
) -> ScoreAllResult:
    """Recompute every lead's score (up to id `until`) in one transaction;
    only changes are written."""
    # Inside a caller's transaction the workers would not see its changes.
    alone = WORKERS and not conn.in_transaction
    with transaction(conn):
        total = conn.execute(
            "SELECT count(*) FROM leads WHERE id <= ?", (_MAX_ID if until is None else until,)
        ).fetchone()[0]
        parts: Iterable[tuple[int, _Changes]] | None = None
        if alone and total >= PARALLEL_SCORE_LEADS:
            parts = _scored_in_workers(conn, now, until)
        if parts is None:
            parts = _scored_here(conn, now, until)
        changed = done = 0
        shown = 0
        for count, changes in parts:
            _store(conn, changes, now)  # written as they come: memory stays flat
            changed += len(changes)
            done += count
            if progress is not None and (done - shown >= 1000 or done == total):
                progress(done, total)
                shown = done
    if progress is not None and total == 0:
        progress(0, 0)
    return ScoreAllResult(total, changed)


_Changes = list[tuple[int, int | None, int]]  # (lead id, old score, new score)


def _scored(
    columns: _ColumnScores,
    chunk: tuple[dict[str, list[Any]], list[dict[str, str]] | None, list[dict[str, Any]]],
) -> tuple[int, _Changes]:
    """(how many leads a chunk of `iter_fact_columns` holds, those whose score
    changes); `columns` is shared by the chunks of one `score_all`."""
    lead, answers, acts = chunk
    news = columns.scores(lead, answers, acts)
    changes = [
        (lead_id, old, new)
        for lead_id, old, new in zip(lead["id"], lead["score"], news, strict=True)
        if old != new
    ]
    return len(news), changes


_MAX_ID = 2**63 - 1


def _scored_here(
    conn: sqlite3.Connection, now: datetime, until: int | None = None
) -> Iterator[tuple[int, _Changes]]:
    """`_scored` chunk by chunk, in id order (up to id `until`)."""
    columns = _ColumnScores(get_scorer(conn), now)
    count = 0
    for chunk in iter_fact_columns(conn, now, until=until, reads=columns.reads()):
        count, changes = _scored(columns, chunk)
        yield count, changes
    if count == 0:
        yield 0, []


def _scored_in_workers(
    conn: sqlite3.Connection, now: datetime, until: int | None = None
) -> Iterable[tuple[int, _Changes]] | None:
    """`_scored_here`'s chunks, scored by SCORE_WORKERS spawned processes (id
    ranges in turn, so the changes come in id order); None where that cannot
    be: an in-memory database, or one not in WAL mode (a reader there would
    wait for this transaction)."""
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if not path or mode != "wal":
        return None
    low, high = conn.execute(
        "SELECT max(min(id), 1), max(id) FROM leads WHERE id <= ?",
        (_MAX_ID if until is None else until,),
    ).fetchone()
    ranges = [(lo - 1, min(lo + SCORE_RANGE_IDS - 1, high))
              for lo in range(low, high + 1, SCORE_RANGE_IDS)]  # fmt: skip
    return _WorkerScores(conn, path, now, ranges)


class _WorkerScores:
    """Iterates the (count, changes) of each id range, as the spawned
    processes send them. A spawned process (not a fork) opens the database
    afresh: SQLite must not be used across fork()."""

    def __init__(
        self, conn: sqlite3.Connection, path: str, now: datetime, ranges: list[tuple[int, int]]
    ) -> None:
        self.conn, self.path, self.now, self.ranges = conn, path, now, ranges

    def __iter__(self) -> Iterator[tuple[int, _Changes]]:
        import multiprocessing

        mp = multiprocessing.get_context("spawn")
        workers = min(SCORE_WORKERS, len(self.ranges))
        recvs: list[Any] = []
        procs: list[Any] = []
        send: Any = None
        try:
            try:
                with _children_ignore_sigint():
                    for part in range(workers):
                        recv, send = mp.Pipe(duplex=False)
                        recvs.append(recv)
                        mine = self.ranges[part::workers]
                        proc = mp.Process(
                            target=_score_worker, args=(self.path, self.now, mine, send),
                            daemon=True,
                        )  # fmt: skip
                        proc.start()
                        send.close()
                        procs.append(proc)
            except OSError:  # no process or pipe to be had (a limit): score here
                if send is not None:
                    send.close()
                for recv in recvs:
                    recv.close()
                recvs = []
                yield from _scored_here(self.conn, self.now, self.ranges[-1][1])
                return
            for k in range(len(self.ranges)):
                try:
                    msg = recvs[k % workers].recv()
                except EOFError:
                    raise LeadctlError(
                        "A scoring process stopped unexpectedly; no score was changed",
                        "Run `leadctl score --all` again.",
                    ) from None
                if msg[0] == "error":
                    raise rebuilt_error(*msg[1:])
                yield msg[1], msg[2]
        finally:
            for recv in recvs:
                recv.close()  # a worker still sending gets EPIPE and exits
            for proc in procs:
                proc.join(timeout=5)
                if proc.is_alive():
                    proc.terminate()
                    proc.join()


@contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Processes started inside ignore Ctrl-C (an ignored signal stays ignored
    across exec, and Python leaves it so): the parent's KeyboardInterrupt
    stops them through their pipes, with no traceback of theirs on stderr."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _score_worker(path: str, now: datetime, ranges: list[tuple[int, int]], send: Any) -> None:
    """A scoring process: per id range, ("ok", leads scored, changed scores)."""
    try:
        from pathlib import Path

        from leadctl.db import connect

        conn = connect(Path(path))
        conn.execute("PRAGMA query_only = ON")
        columns = _ColumnScores(Scorer(conn), now)
        for after, until in ranges:
            count, changes = 0, []
            for chunk in iter_fact_columns(
                conn, now, after=after, until=until, reads=columns.reads()
            ):
                done, more = _scored(columns, chunk)
                count += done
                changes += more
            send.send(("ok", count, changes))
        conn.close()
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the parent stopped reading: nothing to report to
    except Exception as exc:  # raised again by the parent, never a traceback here
        cls = type(exc)
        text, hint = (exc.message, exc.hint) if isinstance(exc, LeadctlError) else (str(exc), None)
        with suppress(OSError):
            send.send(("error", cls.__module__, cls.__qualname__, text, hint))
    finally:
        send.close()


def score_movement(
    conn: sqlite3.Connection, lead_id: int, *, limit: int = 20
) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT at, old_score, new_score FROM score_history WHERE lead_id = ?"
        " ORDER BY at DESC, id DESC LIMIT ?",
        (lead_id, limit),
    )
    return [dict(r) for r in rows]


# ---- managing rules ---------------------------------------------------------


def list_rules(conn: sqlite3.Connection) -> list[Rule]:
    return [Rule.from_row(r) for r in conn.execute("SELECT * FROM score_rules ORDER BY id")]


def list_groups(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    used = dict(conn.execute("SELECT grp, count(*) FROM score_rules GROUP BY grp").fetchall())
    names = {r[0]: r[1] for r in conn.execute("SELECT name, cap FROM score_groups")}
    for g in used:
        names.setdefault(g, None)
    return [{"group": g, "cap": names[g], "rules": used.get(g, 0)} for g in sorted(names)]


def get_rule(conn: sqlite3.Connection, name: str) -> Rule:
    row = conn.execute("SELECT * FROM score_rules WHERE name = ?", (name,)).fetchone()
    if row is None:
        names = [r.name for r in list_rules(conn)]
        raise NotFoundError(
            f"Unknown rule {name!r}",
            f"Rules: {', '.join(names) or 'none'}; see `leadctl score rules list`.",
        )
    return Rule.from_row(row)


def _insert_rule(conn: sqlite3.Connection, rule: Rule) -> None:
    conn.execute(
        "INSERT INTO score_rules (name, field, operator, value, points, grp, active)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (rule.name, rule.field, rule.operator, rule.value, rule.points, rule.group,
         int(rule.active)),
    )  # fmt: skip
    conn.execute("INSERT OR IGNORE INTO score_groups (name, cap) VALUES (?, NULL)", (rule.group,))


def add_rule(conn: sqlite3.Connection, rule: Rule) -> Rule:
    check_rule(conn, rule)
    with transaction(conn):
        if conn.execute("SELECT 1 FROM score_rules WHERE name = ?", (rule.name,)).fetchone():
            raise ConflictError(
                f"A rule named {rule.name!r} already exists",
                f"Change it with `leadctl score rules edit {rule.name}`.",
            )
        _insert_rule(conn, rule)
    return get_rule(conn, rule.name)


def edit_rule(conn: sqlite3.Connection, name: str, changes: dict[str, Any]) -> Rule:
    with transaction(conn):
        rule = get_rule(conn, name)
        for key, value in changes.items():
            if value is not None:
                setattr(rule, key, value)
        check_rule(conn, rule)
        if (
            rule.name != name
            and conn.execute("SELECT 1 FROM score_rules WHERE name = ?", (rule.name,)).fetchone()
        ):
            raise ConflictError(
                f"A rule named {rule.name!r} already exists",
                "Pick another name (see `leadctl score rules list`).",
            )
        conn.execute(
            "UPDATE score_rules SET name = ?, field = ?, operator = ?, value = ?, points = ?,"
            " grp = ?, active = ? WHERE id = ?",
            (rule.name, rule.field, rule.operator, rule.value, rule.points, rule.group,
             int(rule.active), rule.id),
        )  # fmt: skip
        conn.execute(
            "INSERT OR IGNORE INTO score_groups (name, cap) VALUES (?, NULL)", (rule.group,)
        )
    return get_rule(conn, rule.name)


def remove_rule(conn: sqlite3.Connection, name: str) -> Rule:
    with transaction(conn):
        rule = get_rule(conn, name)
        conn.execute("DELETE FROM score_rules WHERE id = ?", (rule.id,))
    return rule


def set_group_cap(conn: sqlite3.Connection, group: str, cap: float | None) -> None:
    if cap is not None and (cap != cap or cap < 0):
        raise ValidationError(f"Cap {cap} must be 0 or more", "Example: 40 (or 'none').")
    if not _NAME_RE.match(group):
        raise ValidationError(f"{group!r} is not a valid group name")
    with transaction(conn):
        known = [g["group"] for g in list_groups(conn)]
        if group not in known:
            # A typo would cap a group no rule is in, and change nothing.
            raise NotFoundError(
                f"No rule group {group!r}",
                f"Groups: {', '.join(known) or 'none'}; a group exists once a rule uses it"
                " (`leadctl score rules add ... --group NAME`).",
            )
        conn.execute(
            "INSERT INTO score_groups (name, cap) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET cap = excluded.cap",
            (group, cap),
        )


# ---- TOML export / import ---------------------------------------------------


def _toml_str(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def export_rules(conn: sqlite3.Connection) -> str:
    """The rules and group caps as a TOML document (stable order, for git)."""
    lines = [
        "# leadctl score rules: edit, then `leadctl score rules import FILE`.",
        "# Fields, operators and defaults: `leadctl score rules --help`.",
        "",
        "[groups]",
        "# Group caps: a group's points count at most ±cap (omit a group for no cap).",
    ]
    for g in list_groups(conn):
        if g["cap"] is not None:
            lines.append(f"{_toml_str(g['group'])} = {_toml_num(g['cap'])}")
    for r in list_rules(conn):
        lines += ["", "[[rule]]", f"name = {_toml_str(r.name)}", f"field = {_toml_str(r.field)}"]
        lines.append(f"operator = {_toml_str(r.operator)}")
        if r.value is not None:
            lines.append(f"value = {_toml_str(r.value)}")
        lines.append(f"points = {_toml_num(r.points)}")
        lines.append(f"group = {_toml_str(r.group)}")
        if not r.active:
            lines.append("active = false")
    return "\n".join(lines) + "\n"


RULE_KEYS = ("name", "field", "operator", "value", "points", "group", "active")


def parse_rules_toml(
    conn: sqlite3.Connection, text: str, source: str = "rules file"
) -> tuple[list[Rule], dict[str, float | None]]:
    """Parse and validate a rules document; raises with the line number on syntax errors."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(
            f"{source} is not valid TOML: {exc}", "Fix that line; the current rules were kept."
        ) from None
    unknown_top = set(doc) - {"groups", "rule"}
    if unknown_top:
        raise ValidationError(
            f"{source}: unknown section(s) {', '.join(sorted(unknown_top))}",
            "Use [groups] and [[rule]] tables; the current rules were kept.",
        )
    groups_raw = doc.get("groups", {})
    if not isinstance(groups_raw, dict):
        raise ValidationError(f"{source}: [groups] must be a table of name = cap")
    groups: dict[str, float | None] = {}
    for name, cap in groups_raw.items():
        if not _NAME_RE.match(name):
            raise ValidationError(f"{source}: {name!r} is not a valid group name")
        if not isinstance(cap, (int, float)) or isinstance(cap, bool) or not 0 <= cap < 1e9:
            raise ValidationError(f"{source}: group {name!r} cap must be a number ≥ 0")
        groups[name] = float(cap)
    rules: list[Rule] = []
    seen: set[str] = set()
    items = doc.get("rule", [])
    if not isinstance(items, list):
        raise ValidationError(f"{source}: rules must be [[rule]] tables")
    for i, item in enumerate(items, start=1):
        where = f"{source}: rule #{i}"
        if not isinstance(item, dict):
            raise ValidationError(f"{where} is not a [[rule]] table")
        extra = set(item) - set(RULE_KEYS)
        if extra:
            raise ValidationError(
                f"{where} has unknown key(s) {', '.join(sorted(extra))}",
                f"Keys: {', '.join(RULE_KEYS)}.",
            )
        missing = [k for k in ("name", "field", "operator", "points", "group") if k not in item]
        if missing:
            raise ValidationError(f"{where} lacks {', '.join(missing)}")
        value = item.get("value")
        active = item.get("active", True)
        if not isinstance(active, bool):
            raise ValidationError(
                f"{where} ({item['name']}): active must be true or false, not {active!r}"
            )
        if isinstance(item["points"], bool) or not isinstance(item["points"], (int, float)):
            raise ValidationError(
                f"{where} ({item['name']}): points must be a number, not {item['points']!r}"
            )
        rule = Rule(
            None, str(item["name"]), str(item["field"]), str(item["operator"]),
            None if value is None else str(value), item["points"], str(item["group"]), active,
        )  # fmt: skip
        try:
            check_rule(conn, rule)
        except (ValidationError, NotFoundError) as exc:
            # A bad file is invalid input (exit 2), whatever the rule's problem.
            raise ValidationError(f"{where} ({item['name']}): {exc.message}", exc.hint) from None
        if rule.name in seen:
            raise ValidationError(f"{where}: the name {rule.name!r} is used twice")
        seen.add(rule.name)
        rules.append(rule)
    return rules, groups


def import_rules(conn: sqlite3.Connection, text: str, source: str = "rules file") -> int:
    """Replace every rule and group cap with the file's, all or nothing. A
    file without rules is refused: it would leave every lead scored 0."""
    rules, groups = parse_rules_toml(conn, text, source)
    if not rules:
        raise ValidationError(
            f"{source} holds no [[rule]] table: importing it would remove every rule",
            "The current rules were kept. `leadctl score rules reset` brings back the"
            " rules leadctl ships.",
        )
    with transaction(conn):
        conn.execute("DELETE FROM score_rules")
        conn.execute("DELETE FROM score_groups")
        for name, cap in groups.items():
            conn.execute("INSERT INTO score_groups (name, cap) VALUES (?, ?)", (name, cap))
        for rule in rules:
            _insert_rule(conn, rule)
    return len(rules)


def reset_rules(conn: sqlite3.Connection) -> tuple[int, list[str]]:
    """Replace every rule and group cap with those leadctl ships (what a new
    database gets: its migrations, applied in memory, are the one source).
    A shipped rule on a criterion this database has removed is left out (it
    could neither fire nor be edited). Returns (rules restored, names left out)."""
    from sqlite_utils import Database

    from leadctl.migrations import migrations

    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrations.apply(Database(mem))
        groups = mem.execute("SELECT name, cap FROM score_groups ORDER BY name").fetchall()
        rules = mem.execute(
            "SELECT name, field, operator, value, points, grp, active FROM score_rules ORDER BY id"
        ).fetchall()
    finally:
        mem.close()
    with transaction(conn):
        keys = {r[0] for r in conn.execute("SELECT key FROM criteria")}
        left_out = [
            r[0] for r in rules if r[1].startswith("answer:") and r[1].partition(":")[2] not in keys
        ]
        rules = [r for r in rules if r[0] not in left_out]
        conn.execute("DELETE FROM score_rules")
        conn.execute("DELETE FROM score_groups")
        conn.executemany("INSERT INTO score_groups (name, cap) VALUES (?, ?)", groups)
        conn.executemany(
            "INSERT INTO score_rules (name, field, operator, value, points, grp, active)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rules,
        )
    return len(rules), left_out
