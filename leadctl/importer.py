"""Bulk import of leads from CSV / JSON lines: map, validate, deduplicate, batch, resume.

The flow per batch (default 10,000 rows): read and convert rows (values go
through `leads.normalize_input` and the exact fast paths of `import_values`),
look up the batch's duplicate keys in the database with a few IN queries,
resolve duplicates in file order (an in-memory index holds only the current
batch: earlier batches are already in the database), then write leads,
activities and stage history with executemany in ONE transaction that also
moves `imports.last_line`. A crash loses at most the open batch, and a rerun of
the same file (same SHA-256) continues after `last_line`.
"""

from __future__ import annotations

import contextlib
import gc
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from leadctl import import_values, leads
from leadctl.dates import from_store, to_store
from leadctl.db import (
    BULK_SWEEP,
    BUSY_TIMEOUT_MS,
    Checkpointer,
    defer_indexes,
    next_id,
    restore_indexes,
    set_setting,
    sweep_duplicates,
    transaction,
)
from leadctl.errors import (
    LeadctlError,
    UsageError,
    ValidationError,
    rebuilt_error,
    stored_json,
)
from leadctl.headers import (
    EXPORT_COMPUTED,
    FIELD_PREFIX,
    REJECT_COLUMNS,
    TARGETS,
    header_key,
    recognise,
)
from leadctl.import_source import (
    CHUNK,
    SourceInfo,
    inspect_file,
    open_reader,
    piece_encoding,
    read_piece,
    read_piece_whole,
    record_starts,
)
from leadctl.normalize import (
    currency_exponent,
    normalize_currency,
    parse_bool,
    parse_probability,
    parse_tags,
)
from leadctl.render import CsvWriter, csv_safe
from leadctl.spool import LineSpool

if TYPE_CHECKING:
    from leadctl.scoring import NewLeads

DUPLICATE_MODES = ("skip", "update", "merge")
# A big import (more than BIG_ROWS rows, and more than the database's leads)
# drops the secondary indexes the duplicate lookups do not use and rebuilds
# them at the end (crash-safe: see leadctl.db.defer_indexes), converts rows in
# a child process, commits every BIG_COMMIT_ROWS rows, uses a BIG_CACHE_KIB
# page cache (peak memory stays under 100 MB) and writes with a rollback
# journal (see _rollback_journal) or, when another connection has the file
# open, checkpoints the WAL every BIG_CHECKPOINT_PAGES pages (it then grows to
# ~400 MB during the import).
BIG_ROWS = 50_000
BIG_COMMIT_ROWS = 100_000
BIG_CACHE_KIB = 20_480
RESTORE_CACHE_KIB = 2_048
BIG_CHECKPOINT_PAGES = 100_000
_KEEP_INDEXES = ("idx_leads_email", "idx_leads_phone", "idx_leads_external_id")
_BULK_TABLES = ("leads", "activities", "stage_history")
# The bulk path keeps the indexes a load appends to (their keys grow with the
# new ids, or repeat a few values: each insert lands on a cached last page)
# while the child converts, and defers those it would insert into at random.
_BULK_KEEP = (
    "idx_activities_lead_at",
    "idx_activities_actor_at", "idx_activities_sales", "idx_activities_kind_at_actor",
    "idx_stage_history_lead_stage",
)  # fmt: skip
# The owner indexes while no column feeds `owner`: every row then has the
# same owner (none) and one of the few stages, so each insert lands on one of
# a few cached pages (1M rows: 1.3 s of rebuilds saved). A mapped owner column
# may hold any number of values: kept, those inserts went to random pages
# (1M rows with unique owners: +15 s), so they are rebuilt as the others.
_OWNERLESS_KEEP = ("idx_leads_stage_owner", "idx_leads_owner")
# Partial indexes (WHERE column IS NOT NULL) of columns an import may leave
# NULL in every row: see _never_set.
_NOT_NULL_INDEXES = {"idx_leads_external_id": "external_id", "idx_leads_closed": "closed_at"}
KEY_ORDER = ("external_id", "email", "phone")
# Columns `--on-duplicate update|merge` may change on an existing lead. Stage
# and history columns are not among them: moving an existing lead is `advance`.
UPDATABLE = (
    "name", "email", "phone", "external_id", "company", "source", "campaign", "product",
    "segment", "city", "value", "currency", "owner", "captured_by", "expected_close",
    "do_not_contact", "qualified", "probability_manual", "tags", "fields",
)  # fmt: skip
LEAD_INSERT = (
    "id", "name", "email", "phone", "external_id", "company", "source", "campaign",
    "product", "segment", "city", "value", "currency", "stage", "owner", "captured_by",
    "tags", "fields", "do_not_contact", "qualified", "probability_manual",
    "expected_close", "lost_reason", "created_at", "updated_at", "stage_entered_at",
    "closed_at", "last_touch_at", "import_id",
)  # fmt: skip
_LEAD_SQL = (
    f"INSERT INTO leads ({', '.join(LEAD_INSERT)}) VALUES ({', '.join('?' for _ in LEAD_INSERT)})"
)
_ACT_SQL = (
    "INSERT INTO activities (id, lead_id, kind, at, actor, note, data, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_HIST_SQL = (
    "INSERT INTO stage_history (lead_id, stage, entered_at, left_at, seconds, activity_id)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
# The one stage-history row of each new lead that starts in the first stage.
# `+stage` keeps the planner on the id range: with `stage = ?3` it took
# idx_leads_stage_owner and read every lead in the first stage, each batch.
_FIRST_HIST_SQL = (
    "INSERT INTO stage_history (lead_id, stage, entered_at, left_at, seconds, activity_id)"
    " SELECT id, stage, created_at, NULL, NULL, NULL FROM leads"
    " WHERE id BETWEEN ?1 AND ?2 AND +stage = ?3 ORDER BY id"
)
# The score history of new leads stored with their score (the bulk path).
_SCORE_HIST_SQL = (
    "INSERT INTO score_history (lead_id, at, old_score, new_score)"
    " SELECT id, score_updated_at, NULL, score FROM leads"
    " WHERE id BETWEEN ?1 AND ?2 AND score IS NOT NULL ORDER BY id"
)
_IN_CHUNK = 500
_SKIP_CHUNK = 2_000
# scoring.deferred_rescoring rescores lead by lead up to 200 leads and every
# lead at once beyond: 201 ids are enough to choose, so no more are kept.
RESCORE_SAMPLE = 201
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_DATE_FIELDS = ("created_at", "closed_at", "stage_entered_at", "last_touch_at")
_TEXT_FIELDS = leads.TEXT_FIELDS
_MAX_TEXT = leads.MAX_TEXT


def _too_long(col: str) -> ValidationError:
    return ValidationError(f"the column {col!r} is longer than {_MAX_TEXT} characters")


Progress = Callable[[int, int], None]


@dataclass
class ImportOptions:
    mapping: dict[str, str] = field(default_factory=dict)
    ignore_unmapped: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    input_format: str | None = None
    region: str | None = None
    currency: str | None = None
    dayfirst: bool = False
    stage_map: dict[str, str] = field(default_factory=dict)
    keys: tuple[str, ...] = KEY_ORDER
    on_duplicate: str = "skip"
    strict: bool = False
    lenient: bool = False
    dry_run: bool = False
    nulls: tuple[str, ...] = ()
    batch_size: int = 10_000
    preview: int = 5
    score: bool = True  # score the new/updated leads at the end (as add does)

    def stored(self) -> dict[str, Any]:
        """What decides how rows are stored: a resume must use the same."""
        d = asdict(self)
        for k in ("dry_run", "batch_size", "preview", "strict", "score"):
            d.pop(k)
        d["keys"] = list(d["keys"])
        d["nulls"] = list(d["nulls"])
        return d


@dataclass
class ImportResult:
    import_id: int | None
    file: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    skipped_duplicates: int = 0
    rejected: LineSpool = field(default_factory=lambda: LineSpool("reason"))
    warnings: LineSpool = field(default_factory=lambda: LineSpool("warning"))
    seconds: float = 0.0
    status: str = "done"
    resumed_after_line: int | None = None
    dry_run: bool = False
    encoding: str = ""
    delimiter: str | None = None
    format: str = "csv"
    mapping: list[dict[str, str | None]] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The result's fields (shared, not copied; `rejected` stays a
        LineSpool, which render.emit_object streams)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ---- option parsing (shared by the CLI) --------------------------------------


def parse_map(items: list[str] | None) -> dict[str, str]:
    """['external_id=opportunity_id', 'name=Full Name'] -> {field: column}."""
    out: dict[str, str] = {}
    for item in items or []:
        target, sep, column = item.partition("=")
        key = target.strip().lower().replace("-", "_")
        if not sep or not column.strip():
            raise UsageError(
                f"--map {item!r} is not FIELD=COLUMN", 'Example: --map name="Full Name"'
            )
        if key not in TARGETS:
            raise UsageError(
                f"--map: unknown lead field {target.strip()!r}", f"Fields: {', '.join(TARGETS)}."
            )
        out[key] = column.strip()
    return out


def parse_stage_map(text: str | None) -> dict[str, str]:
    """'Engaging=contacted,Prospecting=new' -> {'engaging': 'contacted', ...}."""
    out: dict[str, str] = {}
    if not text:
        return out
    for part in text.split(","):
        if not part.strip():
            continue
        src, sep, dst = part.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise UsageError(
                f"--stage-map part {part.strip()!r} is not FOREIGN=STAGE",
                'Example: --stage-map "Engaging=contacted,Prospecting=new,Won=won"',
            )
        out[src.strip().casefold()] = dst.strip().lower()
    return out


def parse_keys(items: list[str] | None) -> tuple[str, ...]:
    if not items:
        return KEY_ORDER
    wanted: set[str] = set()
    for item in items:
        for k in item.split(","):
            key = k.strip().lower().replace("-", "_")
            if key in ("none", ""):
                continue
            if key in ("id", "externalid", "ext"):
                key = "external_id"
            if key not in KEY_ORDER:
                raise UsageError(
                    f"--key {k.strip()!r} is not a duplicate key",
                    "Use email, phone, external_id (comma-separated), or none.",
                )
            wanted.add(key)
    return tuple(k for k in KEY_ORDER if k in wanted)


# ---- column mapping -------------------------------------------------------------


class Mapper:
    """Decides, per column name, which lead field (or custom field) it fills."""

    def __init__(self, opts: ImportOptions, leadctl_export: bool) -> None:
        self.opts = opts
        self.leadctl_export = leadctl_export
        self.quoted = leadctl_export  # cells prefixed with "'" by csv_safe (see _setup)
        self.explicit = {col: f for f, col in opts.mapping.items()}
        self.explicit_keys = {header_key(col): f for f, col in opts.mapping.items()}
        self.taken = set(opts.mapping)
        self.resolved: dict[str, tuple[str, str | None]] = {}
        self.exclusive = True

    def resolve(self, column: str) -> tuple[str, str | None]:
        """('field', name) | ('custom', key) | ('drop', None)."""
        hit = self.resolved.get(column)
        if hit is not None:
            return hit
        if column in self.explicit:
            hit = ("field", self.explicit[column])
        elif column in REJECT_COLUMNS or (self.leadctl_export and column in EXPORT_COMPUTED):
            hit = ("drop", None)
        elif header_key(column) in self.explicit_keys:
            hit = ("field", self.explicit_keys[header_key(column)])
        else:
            auto = recognise(column)
            # In a CSV header a field is filled by one column (the first that
            # names it); JSON records may spell keys differently line by line.
            if auto is not None and (auto not in self.taken or not self.exclusive):
                self.taken.add(auto)
                hit = ("field", auto)
            elif self.opts.ignore_unmapped:
                hit = ("drop", None)
            elif column.startswith(FIELD_PREFIX):
                hit = ("custom", column[len(FIELD_PREFIX) :])
            else:
                hit = ("custom", column)
        self.resolved[column] = hit
        return hit

    def check_header(self, header: list[str]) -> None:
        for f, col in self.opts.mapping.items():
            if col in header:
                continue
            matches = [h for h in header if header_key(h) == header_key(col)]
            if not matches:
                shown = ", ".join(header[:30])
                raise UsageError(
                    f"--map {f}={col}: the file has no column {col!r}", f"Columns: {shown}."
                )
            self.explicit[matches[0]] = f
        self.explicit_keys = {}
        for h in header:
            self.resolve(h)

    def describe(self, header: list[str]) -> list[dict[str, str | None]]:
        out: list[dict[str, str | None]] = []
        for h in header or list(self.resolved):
            kind, name = self.resolve(h)
            out.append(
                {
                    "column": h,
                    "field": name if kind == "field" else None,
                    "custom_field": name if kind == "custom" else None,
                }
            )
        return out


# ---- one row -> values ----------------------------------------------------------


@dataclass
class Prepared:
    line: int
    values: dict[str, Any]  # normalised lead columns that the row supplied
    custom: dict[str, Any]
    note: str | None
    raw: list[str] | None
    # The converting child's `_lead_row` of `values` (or its reject reason),
    # so that the writing process only adds the id; None: computed on insert.
    pre: tuple[Any, ...] | str | None = None
    # The notes of the file's later rows for the same new lead (_combine).
    more_notes: tuple[str, ...] = ()


def _team_names(conn: sqlite3.Connection) -> dict[str, str]:
    """Each team member's name (case-folded, spaces collapsed) -> handle; a
    name two members share names nobody."""
    names: dict[str, str] = {}
    shared: set[str] = set()
    for handle, name in conn.execute("SELECT handle, name FROM team_members"):
        key = " ".join(str(name or "").split()).casefold()
        if key:
            if key in names and names[key] != handle:
                shared.add(key)
            names[key] = handle
    return {k: v for k, v in names.items() if k not in shared}


def load_context(conn: sqlite3.Connection) -> dict[str, Any]:
    """What conversion needs from the database (picklable, for the worker)."""
    stages = conn.execute("SELECT name, kind, requires_reason FROM stages ORDER BY position")
    return {
        "defaults": leads.Defaults.load(conn),
        "stages": {r[0]: (r[1], bool(r[2])) for r in stages},
        "team": {r[0] for r in conn.execute("SELECT handle FROM team_members")},
        "team_names": _team_names(conn),
    }


def _past_only(parse: Callable[[str], str], now: datetime) -> Callable[[str], str]:
    """The dates a file gives (created, closed, in stage since, last touch)
    are of what has happened: one after the import's time (a typo'd year,
    `+3d`) is refused, as `log --at` and `advance --at` refuse one."""
    from leadctl.dates import to_store

    now_s = to_store(now)

    def past(text: str) -> str:
        stored = parse(text)
        if stored > now_s:
            raise ValidationError(
                f"{text.strip()!r} is in the future ({stored})",
                "Dates in the file are of what has happened.",
            )
        return stored

    return past


class Converter:
    def __init__(
        self,
        context: dict[str, Any],
        opts: ImportOptions,
        mapper: Mapper,
        *,
        now: datetime,
        tz: tzinfo,
        minor_values: bool,
    ) -> None:
        self.opts = opts
        self.mapper = mapper
        self.defaults = context["defaults"]
        self.region = (opts.region or self.defaults.region).upper()
        known = (self.defaults.currency,)  # the database's own, checked when it was set
        self.currency = normalize_currency(opts.currency) if opts.currency else known[0]
        self._known_currency = known
        self.phone = import_values.PhoneNormalizer(self.region)
        self.money = import_values.Memo(import_values.money)
        self.date = _past_only(import_values.make_date_parser(now, tz, opts.dayfirst), now)
        from leadctl.dates import parse_day

        self.day = import_values.Memo(
            lambda s: parse_day(s, now, tz, dayfirst=opts.dayfirst).isoformat()
        )
        self.minor_values = minor_values
        # A leadctl CSV export (or rejects file) prefixed formula-like cells
        # with "'": undo that.
        self.unquote = mapper.quoted and not minor_values
        self.nulls = {n.strip().casefold() for n in opts.nulls}
        self.stages: dict[str, tuple[str, bool]] = context["stages"]
        self.team: set[str] = context["team"]
        self.team_names: dict[str, str] = context.get("team_names", {})
        self.warnings: list[dict[str, Any]] = []
        self._currencies: dict[Any, str] = {}
        self.plan: list[tuple[str, str, str | None]] | None = None
        self._tags: dict[str, tuple[str, ...]] = {}
        # `_fast_cells`: the header's plan by kind, and memos of converted values.
        self.fast = False
        self._fields: list[tuple[int, str]] = []
        self._field_cols: dict[str, str] = {}
        self._customs: list[tuple[int, str, str]] = []
        self._text_keys: list[str] = []
        self._lower_keys: list[str] = []
        self._dates: list[str] = []
        self._date_memo: dict[str, str] = {}
        self._money_memo: dict[tuple[str, str], int] = {}

    def _text(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool):
            value = "true" if value else "false"  # as written (yes/no columns read it)
        elif isinstance(value, (list, dict)):
            value = json.dumps(value, ensure_ascii=False)
        s = str(value).strip()
        if not s or (self.nulls and s.casefold() in self.nulls):
            return None
        if self.unquote and s[0] == "'" and s.lstrip("'")[:1] in _FORMULA_START:
            return s[1:]  # what csv_safe added (''=x was '=x)
        return s

    def use_header(self, header: list[str]) -> None:
        """A CSV file: each column's handling, decided once for every row."""
        if not (self.nulls or self.unquote):
            self.plan = [(col, *self.mapper.resolve(col)) for col in header]
            fields = [
                (i, name, col) for i, (col, kind, name) in enumerate(self.plan) if kind == "field"
            ]
            names = [name for _, name, _ in fields]
            if len(set(names)) == len(names):
                # Each field from one column: `_fast_cells` may fill them in any order.
                self._fields = [(i, str(name)) for i, name, _ in fields]
                self._field_cols = {str(name): col for _, name, col in fields}
                self._customs = [
                    (i, str(name), col) for i, (col, kind, name) in enumerate(self.plan)
                    if kind == "custom"
                ]  # fmt: skip
                named = set(names) | (
                    {"name"} if {"first_name", "last_name"} & set(names) else set()
                )
                self._text_keys = [k for k in _TEXT_FIELDS if k in named]
                self._lower_keys = [k for k in ("owner", "captured_by") if k in named]
                self._dates = [k for k in _DATE_FIELDS if k in named]
                self.fast = True

    def convert(self, line: int, row: dict[str, Any] | None, raw: list[str] | None) -> Prepared:
        """Raise ValidationError (the reject reason) or return the row's values."""
        if self.plan is not None and raw is not None:
            if self.fast:
                return self._fast_cells(line, raw)
            return self._convert_cells(line, raw)
        assert row is not None
        resolved = self.mapper.resolved
        given: dict[str, Any] = {}
        columns: dict[str, str] = {}
        custom: dict[str, Any] = {}
        plain = not (self.nulls or self.unquote)
        for col, value in row.items():
            kind, name = resolved.get(col) or self.mapper.resolve(col)
            if kind == "drop":
                continue
            if plain and value.__class__ is str:
                # The hot path: a CSV cell.
                value = value.strip()
                if not value:
                    continue
                if kind == "field":
                    if name not in given:
                        given[name] = value  # type: ignore[index]
                        columns[name] = col  # type: ignore[index]
                    continue
                if len(value) > leads.MAX_TEXT:
                    raise _too_long(col)
                custom[name] = value  # type: ignore[index]
                continue
            if kind == "field":
                if name == "tags" and isinstance(value, list):
                    given["tags"] = value
                    continue
                if isinstance(value, (list, dict)) and name != "fields":
                    kind_of = "a list" if isinstance(value, list) else "an object"
                    raise ValidationError(
                        f"{col!r} holds {kind_of}, not one value; give a text or a number"
                    )
                text = self._text(value)
                if text is not None and name not in given:
                    given[name] = text  # type: ignore[index]
                    columns[name] = col  # type: ignore[index]
            elif col == "fields" and isinstance(value, dict):
                for k, v in value.items():
                    text = self._text(v)
                    if text is not None:
                        custom[str(k)] = text
            else:
                text = self._text(value)
                if text is not None:
                    if len(text) > leads.MAX_TEXT:
                        raise _too_long(col)
                    custom[name] = text  # type: ignore[index]
        return self._values(line, given, columns, custom, raw)

    def _convert_cells(self, line: int, raw: list[str]) -> Prepared:
        """`convert`'s CSV hot path: the cells by position, with the header's plan."""
        given: dict[str, Any] = {}
        columns: dict[str, str] = {}
        custom: dict[str, Any] = {}
        for (col, kind, name), value in zip(self.plan or (), raw, strict=False):
            if kind == "drop":
                continue
            value = value.strip()
            if not value:
                continue
            if kind == "field":
                if name not in given:
                    given[name] = value  # type: ignore[index]
                    columns[name] = col  # type: ignore[index]
                continue
            if len(value) > _MAX_TEXT:
                raise _too_long(col)
            custom[name] = value  # type: ignore[index]
        return self._values(line, given, columns, custom, raw)

    def _values(
        self,
        line: int,
        given: dict[str, Any],
        columns: dict[str, str],
        custom: dict[str, Any],
        raw: list[str] | None,
    ) -> Prepared:
        if "name" not in given and ("first_name" in given or "last_name" in given):
            given["name"] = " ".join(
                p for p in (given.get("first_name"), given.get("last_name")) if p
            )
        data: dict[str, Any] = {k: given[k] for k in leads.TEXT_FIELDS if k in given}
        if "currency" in given:
            data["currency"] = given["currency"]
        if "tags" in given:
            data["tags"] = given["tags"]
        if "do_not_contact" in given:
            data["do_not_contact"] = parse_bool(given["do_not_contact"])
        if custom:
            data["fields"] = custom
        values = self._normalize(data, custom)
        return self._finish(line, given, columns, custom, raw, values)

    def _fast_cells(self, line: int, raw: list[str]) -> Prepared:
        """`_convert_cells` then `_values`, for a header whose fields each come from
        one column: the same checks in the same order, with fewer lookups.
        Anything unusual (a NUL byte, an over-long text) goes the general way."""
        n = len(raw)
        given: dict[str, Any] = {}
        for i, name in self._fields:
            if i < n:
                value = raw[i].strip()
                if value:
                    given[name] = value
        custom: dict[str, Any] = {}
        for i, name, col in self._customs:
            if i < n:
                value = raw[i].strip()
                if value:
                    if len(value) > _MAX_TEXT:
                        raise _too_long(col)
                    custom[name] = value
        cols = self._field_cols
        columns = {k: cols[k] for k in given} if self.opts.lenient else {}
        if "name" not in given and ("first_name" in given or "last_name" in given):
            given["name"] = " ".join(
                p for p in (given.get("first_name"), given.get("last_name")) if p
            )
        dnc = parse_bool(given["do_not_contact"]) if "do_not_contact" in given else None
        values: dict[str, Any] = {}
        for key in self._text_keys:
            text = given.get(key)
            if text is not None:
                if "\x00" in text or len(text) > _MAX_TEXT:
                    return self._values(line, given, columns, custom, raw)
                values[key] = text
        for key in self._lower_keys:
            if values.get(key):
                values[key] = values[key].lower()
        if "currency" in given:
            values["currency"] = self._normalize({"currency": given["currency"]}, custom)[
                "currency"
            ]
        if "tags" in given:
            raw_tags = given["tags"]
            tags = self._tags.get(raw_tags)
            if tags is None:
                tags = tuple(parse_tags(raw_tags))
                if len(self._tags) >= 10_000:
                    self._tags.clear()
                self._tags[raw_tags] = tags
            values["tags"] = list(tags)
        if custom:
            for k, v in custom.items():
                if "\x00" in k or "\x00" in v:
                    raise ValidationError(f"Custom field {k!r} contains a NUL byte")
            values["fields"] = custom
        if dnc is not None:
            values["do_not_contact"] = bool(dnc)
        return self._finish(line, given, columns, custom, raw, values)

    def _finish(
        self,
        line: int,
        given: dict[str, Any],
        columns: dict[str, str],
        custom: dict[str, Any],
        raw: list[str] | None,
        values: dict[str, Any],
    ) -> Prepared:
        values.setdefault("currency", self.currency)
        values["fields"] = custom
        for key, fn in (("email", import_values.email), ("phone", self.phone)):
            if key in given:
                try:
                    values[key] = fn(given[key])
                except ValidationError as exc:
                    if not self.opts.lenient:
                        raise
                    values[key] = None
                    custom[columns.get(key, key)] = given[key]
                    self.warnings.append({"line": line, "warning": exc.message})
        if "value" in given:
            mkey = (given["value"], values["currency"])
            minor = self._money_memo.get(mkey)
            if minor is None:
                minor = self._money(*mkey)
                if len(self._money_memo) >= 10_000:
                    self._money_memo.clear()
                self._money_memo[mkey] = minor
            values["value"] = minor
        if "stage" in given:
            values["stage"] = self._stage(given["stage"])
        dates = self._date_memo
        for key in self._dates if self.fast else _DATE_FIELDS:
            if key in given:
                text = given[key]
                stored = dates.get(text)
                if stored is None:
                    try:
                        stored = self.date(text)
                    except ValidationError as exc:
                        raise ValidationError(f"{key.replace('_', ' ')}: {exc.message}") from None
                    if len(dates) >= 10_000:
                        dates.clear()
                    dates[text] = stored
                values[key] = stored
        if "expected_close" in given:
            values["expected_close"] = self.day(given["expected_close"])
        if "qualified" in given:
            values["qualified"] = parse_bool(given["qualified"])
        if "probability_manual" in given:
            values["probability_manual"] = parse_probability(given["probability_manual"])
        for key in ("lost_reason", "note"):
            text = given.get(key)
            if text is not None and "\x00" in text:
                raise ValidationError(f"The {key.replace('_', ' ')} contains a NUL byte")
            if text is not None and len(text) > leads.MAX_TEXT:
                raise ValidationError(
                    f"The {key.replace('_', ' ')} is longer than {leads.MAX_TEXT} characters"
                )
        if "lost_reason" in given:
            values["lost_reason"] = given["lost_reason"]
        if not (
            values.get("name")
            or values.get("email")
            or values.get("phone")
            or values.get("external_id")
        ):
            raise ValidationError("no name, e-mail, phone or external id")
        owner = values.get("owner")
        if owner and self.team and owner not in self.team:
            # Another CRM's export names people ("Moses Frase"): a member's name is theirs.
            handle = self.team_names.get(" ".join(owner.split()).casefold())
            if handle is None:
                raise ValidationError(
                    f"unknown team member {owner!r} (owner: a member's handle or name)"
                )
            values["owner"] = handle
        return Prepared(line, values, custom, given.get("note"), raw)

    def _normalize(self, data: dict[str, Any], custom: dict[str, Any]) -> dict[str, Any]:
        """leads.normalize_input for the keys `_values` passes, without its per-call costs.

        The same output (same keys, same order); anything unusual (a NUL byte,
        an over-long text, a non-string) goes to normalize_input, which decides
        and raises its own error.
        """
        out: dict[str, Any] = {}
        for key in _TEXT_FIELDS:
            if key in data:
                text = data[key]
                if text.__class__ is not str or "\x00" in text or len(text) > _MAX_TEXT:
                    return leads.normalize_input(data, self.defaults, region=self.region)
                out[key] = text.strip() or None
        for key in ("owner", "captured_by"):
            if out.get(key):
                out[key] = out[key].lower()
        if data.get("currency"):
            raw = data["currency"]
            code = self._currencies.get(raw)
            if code is None:
                code = normalize_currency(str(raw), self._known_currency)
                if len(self._currencies) < 1000:
                    self._currencies[raw] = code
            out["currency"] = code
        if "tags" in data:
            raw = data["tags"]
            if raw.__class__ is str:
                tags = self._tags.get(raw)
                if tags is None:
                    tags = tuple(parse_tags(raw))
                    if len(self._tags) >= 10_000:
                        self._tags.clear()
                    self._tags[raw] = tags
                out["tags"] = list(tags)
            else:
                out["tags"] = parse_tags(raw)
        if "fields" in data:
            for k, v in custom.items():
                if "\x00" in str(k) or "\x00" in str(v):
                    raise ValidationError(f"Custom field {k!r} contains a NUL byte")
            out["fields"] = custom
        if "do_not_contact" in data:
            out["do_not_contact"] = bool(data["do_not_contact"])
        return out

    def _money(self, text: str, currency: str) -> int:
        if self.minor_values:
            s = text.strip()
            if not (s.isascii() and s.isdigit()):
                raise ValidationError(f"{s!r} is not an amount in minor units")
            return int(s)
        result: int = self.money(text, currency)
        return result

    def _stage(self, text: str) -> str:
        mapped = self.opts.stage_map.get(text.casefold(), text).strip().lower()
        if mapped not in self.stages:
            raise ValidationError(
                f"unknown stage {text!r}"
                + (f" (mapped to {mapped!r})" if mapped != text.strip().lower() else ""),
                f'Stages: {", ".join(self.stages)}; map it with --stage-map "{text}=STAGE".',
            )
        return mapped


# ---- the import -------------------------------------------------------------------


class _Batch:
    def __init__(self) -> None:
        self.rows: list[Prepared] = []
        self.rejects: list[tuple[int, str, list[str] | None]] = []
        self.last_line = 0
        self.read = 0
        self.position = 0


@dataclass
class _Run:
    conn: sqlite3.Connection
    opts: ImportOptions
    now: datetime
    actor: str | None
    result: ImportResult
    conv: Converter
    import_id: int
    keyless_done_line: int
    reject_writer: Any
    first_stage: str
    now_s: str = ""
    touched: list[int] = field(default_factory=list)  # at most RESCORE_SAMPLE ids
    commit_rows: int = 0  # > 0: one transaction per this many rows (a big import)
    bulk_sql: str = ""  # the bulk path's INSERT (see BulkRows)
    bulk_sql_id: str = ""  # the same naming the id (see _bulk_start)
    bulk_first: int = 0  # the bulk path's first lead id (see db.sweep_duplicates)
    act_sql: str = ""  # see _import_activities
    # The bulk path's scoring in its children (see _bulk_rescore): the
    # signature they score with, the first id this run stored, and how many
    # rows they left unscored.
    score_signature: str = ""
    scored_from: int = 0
    unscored: int = 0
    seen_any: bool = False  # keys kept in import_keys (see _remember)


def _import_activities(run: _Run, act_id: int, first_id: int, lines: str, n: int) -> int:
    """Store the `import` activity of each of the n new leads first_id,
    first_id + 1, ... (lead first_id + i came from line lines[i]; `lines` is
    their JSON array), ids act_id + 1, ... in lead order (act_id: the largest activity
    id; the write lock is held). Returns the last id. The data text is what
    json.dumps({"import_id": ..., "line": ...}) gives.

    The time and the import id are SQL literals (the actor, a person's
    text, stays a parameter) and the ids are left to SQLite (max + 1,
    checked after): binding them all and naming each id cost 1.8 us a row
    against 1.25.
    """
    conn = run.conn
    if not run.act_sql:
        now = _literal(run.now_s)
        data = _literal(f'{{"import_id": {int(run.import_id)}, "line": ')
        run.act_sql = (
            "INSERT INTO activities (lead_id, kind, at, actor, note, data, created_at)"
            f" SELECT ?1 + j.key, 'import', {now}, ?3, NULL,"
            f" {data} || j.value || '}}', {now} FROM json_each(?2) AS j ORDER BY j.key"
        )
    conn.execute(run.act_sql, (first_id, lines, run.actor))
    last = act_id + n
    if conn.execute("SELECT MAX(id) FROM activities").fetchone()[0] != last:
        raise ValidationError("internal error: the new activity ids are not consecutive")
    return last


def run_import(
    conn: sqlite3.Connection,
    path: Path,
    opts: ImportOptions,
    *,
    now: datetime,
    tz: tzinfo,
    actor: str | None,
    display_name: str | None = None,
    progress: Progress | None = None,
    rejects_out: IO[str] | None = None,
) -> ImportResult:
    """Import `path` into the database; see the module docstring for the flow."""
    if opts.on_duplicate not in DUPLICATE_MODES:
        raise UsageError(
            f"--on-duplicate {opts.on_duplicate!r} is not a mode", "Use skip, update or merge."
        )
    if opts.batch_size < 1:
        raise UsageError("--batch-size must be 1 or more", "Example: --batch-size 10000")
    if not opts.dry_run:
        opts = replace(opts, preview=0)  # the preview is the dry run's
    name = display_name or path.name
    info = inspect_file(
        path, name=name, encoding=opts.encoding, delimiter=opts.delimiter,
        input_format=opts.input_format,
    )  # fmt: skip
    result = ImportResult(
        None, name, dry_run=opts.dry_run, encoding=info.encoding, format=info.format,
        delimiter=info.delimiter if info.format == "csv" else None,
    )  # fmt: skip
    result.warnings.extend({"line": None, "warning": w} for w in info.warnings)
    context = load_context(conn)
    with path.open("r", encoding=info.encoding, errors="strict", newline="") as fh:
        reader, mapper, rows = _setup(info, fh, opts)
        conv = Converter(
            context, opts, mapper, now=now, tz=tz,
            minor_values=mapper.leadctl_export and info.format != "csv",
        )  # fmt: skip
        if info.format == "csv":
            conv.use_header(reader.header)
            if conv.plan is not None:
                reader.dicts[0] = False  # converted by position
        reject_writer = None
        if rejects_out is not None:
            header = reader.header if info.format == "csv" else None
            reject_writer = _RejectsFile(rejects_out, header, mapper.quoted)
        outer = opts.dry_run or opts.strict
        rows_guess, have = _size(conn, path, info)
        big = rows_guess > BIG_ROWS and rows_guess > have
        bulk = (
            big and conv.fast and not outer and opts.on_duplicate == "skip"
            and rows_guess > BULK_SHARE * have
        )  # fmt: skip
        tuned = _tune(conn, big)
        journal = big and not outer and _rollback_journal(conn)
        copier = Checkpointer(conn) if big and not outer and not journal else None
        if outer:
            conn.execute("BEGIN IMMEDIATE")
        elif bulk:
            conn.execute("PRAGMA foreign_keys = OFF")  # see BulkRows
        try:
            run = _start(conn, info, opts, now, actor, result, conv, reject_writer)
            deferred: list[str] = []
            if big:
                with transaction(conn):
                    keep = (*_BULK_KEEP, *_never_set(conv)) if bulk else _KEEP_INDEXES
                    deferred = defer_indexes(conn, keep, _BULK_TABLES)
                    if bulk:
                        _bulk_start(run)
                if not outer:
                    run.commit_rows = max(opts.batch_size, BIG_COMMIT_ROWS)
            skip = result.resumed_after_line or 0
            batches: Iterable[Any]
            if bulk:
                batches = _worker_batches(
                    path, info, opts, context, now, tz, skip,
                    keep_raw=reject_writer is not None, lead_rows=None, warnings=result.warnings,
                    bulk=(run.first_stage, run.now_s, run.import_id, run.keyless_done_line,
                          _new_leads(run) if opts.score else None),
                )  # fmt: skip
            elif big and conv.fast:
                # Parse and convert in a second process while this one writes.
                # With --on-duplicate skip a new row is stored as converted, so
                # the child also builds its leads row (the writer adds the id).
                rows_for = (run.first_stage, run.now_s, run.import_id)
                batches = _worker_batches(
                    path, info, opts, context, now, tz, skip,
                    keep_raw=reject_writer is not None, warnings=result.warnings,
                    lead_rows=rows_for if opts.on_duplicate == "skip" else None,
                )  # fmt: skip
            else:
                batches = _batches(rows, conv, skip, opts.batch_size, reader.position)
            if copier is not None:
                copier.start()  # after the fork of the converting children
            _loop(run, batches, info, progress, deferred)
            result.mapping = mapper.describe(reader.header)
            result.warnings.extend(conv.warnings)
            kept = not outer or (opts.strict and not opts.dry_run and not result.rejected)
            if kept:
                if outer:
                    conn.execute("COMMIT")  # --strict and nothing rejected: keep it all
                if opts.score and result.resumed_after_line is not None:
                    _rescore_all(run)
                elif opts.score and bulk:
                    _bulk_rescore(run)
                elif opts.score:
                    _rescore(conn, now, run.touched)
                _done(run)
            else:
                conn.execute("ROLLBACK")
                if opts.strict and not opts.dry_run:
                    result.status = "rejected"
                    result.inserted = result.updated = result.skipped_duplicates = 0
                    result.import_id = _record_refused(conn, info, name, opts, now, result)
                if opts.dry_run:
                    result.import_id = None
                    result.status = "dry-run"
        except BaseException:
            if outer and conn.in_transaction:
                conn.execute("ROLLBACK")
            elif not outer and result.import_id is not None:
                _mark(conn, result.import_id, "interrupted")
            raise
        finally:
            if copier is not None:
                copier.stop()
            if journal:
                _wal_again(conn)
            _untune(conn, tuned)
            if bulk and not outer:
                conn.execute("PRAGMA foreign_keys = ON")
    return result


# During an import: a bigger page cache (the duplicate-key indexes take random
# inserts) and fewer WAL checkpoints (each batch still commits on its own, so
# durability and resume are unchanged; the WAL file grows to ~80 MB at most).
_IMPORT_PRAGMAS = (("cache_size", -12288), ("wal_autocheckpoint", 20_000))
_BIG_PRAGMAS = (("cache_size", -BIG_CACHE_KIB), ("wal_autocheckpoint", BIG_CHECKPOINT_PAGES))


def _size(conn: sqlite3.Connection, path: Path, info: SourceInfo) -> tuple[int, int]:
    """(about how many rows the file has, how many leads the database has).

    A big import (more than BIG_ROWS rows, and more than the database's leads)
    rebuilds the secondary indexes at the end, by sorting: much cheaper than
    updating them row by row. The file's rows are guessed from its first 64 KiB.
    """
    if info.size < BIG_ROWS * 20:  # no lead line is shorter than ~20 bytes
        return 0, 0
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return 0, 0
    rows = info.size * max(head.count(b"\n"), 1) // max(len(head), 1)
    if rows <= BIG_ROWS:
        return rows, 0
    return rows, int(conn.execute("SELECT count(*) FROM leads").fetchone()[0])


def _tune(conn: sqlite3.Connection, big: bool = False) -> list[tuple[str, Any]]:
    before = []
    for name, value in _BIG_PRAGMAS if big else _IMPORT_PRAGMAS:
        before.append((name, conn.execute(f"PRAGMA {name}").fetchone()[0]))
        conn.execute(f"PRAGMA {name} = {value}")
    return before


def _untune(conn: sqlite3.Connection, before: list[tuple[str, Any]]) -> None:
    for name, value in before:
        conn.execute(f"PRAGMA {name} = {int(value)}")


def _rollback_journal(conn: sqlite3.Connection) -> bool:
    """Give a big import a rollback journal instead of the WAL, when no other
    connection has the database open (leaving WAL needs the file to itself):
    whether it did.

    In WAL mode every new page is written twice, to the WAL and then, by a
    checkpoint, to the file; a rollback journal keeps only the old content of
    the pages a transaction changes, and pages appended past the file's end
    have none. On 1M rows: 2 s less CPU and ~1.5 s less time (measured). Each
    batch still commits on its own, so a crash or Ctrl-C rolls back only the
    open batch (the hot journal, at the next open). FULL sync: in rollback
    mode NORMAL may lose a commit to a power cut. Readers wait (busy timeout)
    while a batch writes, instead of reading beside it, and their open leaves
    the mode alone (db._set_pragmas); `_wal_again` at the end.
    """
    try:
        conn.execute("PRAGMA busy_timeout = 0")  # another connection: keep WAL, at once
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError:
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if str(mode).lower() != "delete":
        return False
    conn.execute("PRAGMA synchronous = FULL")
    return True


def _wal_again(conn: sqlite3.Connection) -> None:
    """Back to WAL after `_rollback_journal` (if a reader holds the file just
    then, the next open of the database switches it: db._set_pragmas)."""
    if not conn.in_transaction:
        with contextlib.suppress(sqlite3.OperationalError):
            conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")


def _rescore(conn: sqlite3.Connection, now: datetime, touched: list[int]) -> None:
    """Score the imported and updated leads as `add`/`edit` would."""
    if not touched:
        return
    from leadctl import scoring

    with scoring.deferred_rescoring(conn, now):
        for lead_id in touched:
            scoring.rescore_lead(conn, lead_id, now)


def _rescore_all(run: _Run) -> None:
    """A resumed import rescores every lead, as `score --all`, and their
    learned win probability: its interrupted run may have stopped between
    its last commit and its rescoring, and what that run stored or updated
    cannot be told apart from the rest."""
    from leadctl.predict import load_model, predict_open
    from leadctl.scoring import score_all

    score_all(run.conn, run.now)
    model = load_model(run.conn)
    if model is not None:
        with transaction(run.conn):
            predict_open(run.conn, model)


def _new_leads(run: _Run) -> NewLeads:
    """What scores the bulk path's rows in its converting children."""
    from leadctl.scoring import NewLeads, get_scorer, scoring_signature

    run.score_signature = scoring_signature(run.conn)
    kinds = {name: kind for name, (kind, _) in run.conv.stages.items()}
    return NewLeads(get_scorer(run.conn), kinds, run.now)


def _bulk_rescore(run: _Run) -> None:
    """What the ordinary path's rescoring does, after a bulk load whose
    children scored this run's new leads.

    Up to 200 new leads: each is rescored, as ever (to the same score). More:
    every lead is, as `score --all` would, except this run's new leads: the
    leads before them (the database's own, a resumed import's earlier run).
    Every lead after all when the children left rows unscored, or when the
    rules, settings or stages changed during the import (the children
    scored with those of its start). Then the learned win probability of the
    open leads."""
    from leadctl.predict import load_model, predict_open
    from leadctl.scoring import score_all, scoring_signature

    conn, now = run.conn, run.now
    if len(run.touched) < RESCORE_SAMPLE:
        _rescore(conn, now, run.touched)
        return
    until: int | None = run.scored_from - 1
    if run.unscored or scoring_signature(conn) != run.score_signature:
        until = None
    if until != 0:
        score_all(conn, now, until=until)
    model = load_model(conn)
    if model is not None:
        with transaction(conn):
            predict_open(conn, model)


def _touch(run: _Run, ids: Iterable[int]) -> None:
    for lead_id in ids:
        if len(run.touched) >= RESCORE_SAMPLE:
            return
        run.touched.append(lead_id)


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def _start(
    conn: sqlite3.Connection,
    info: SourceInfo,
    opts: ImportOptions,
    now: datetime,
    actor: str | None,
    result: ImportResult,
    conv: Converter,
    reject_writer: Any,
) -> _Run:
    stored = json.dumps(opts.stored(), sort_keys=True)
    prev = conn.execute(
        "SELECT id, status, options, last_line FROM imports WHERE file_hash = ?"
        " ORDER BY id DESC LIMIT 1",
        (info.sha256,),
    ).fetchone()
    keyless_done = 0
    now_s = to_store(now)
    with transaction(conn):
        if (
            prev is not None
            and prev["status"] in ("running", "interrupted")
            and (prev["options"] == stored)
        ):
            import_id = prev["id"]
            result.resumed_after_line = prev["last_line"]
            conn.execute("UPDATE imports SET status = 'running' WHERE id = ?", (import_id,))
        else:
            # The keys of imports that can no longer resume (done, refused,
            # or an older run of this file, which this one supersedes).
            conn.execute(
                "DELETE FROM import_keys WHERE import_id IN (SELECT id FROM imports"
                " WHERE status NOT IN ('running', 'interrupted') OR file_hash = ?)",
                (info.sha256,),
            )
            if prev is not None and prev["status"] == "done":
                keyless_done = prev["last_line"]
            cur = conn.execute(
                "INSERT INTO imports (file_name, file_hash, status, options, started_at)"
                " VALUES (?, ?, 'running', ?, ?)",
                (result.file, info.sha256, stored, now_s),
            )
            import_id = int(cur.lastrowid or 0)
    result.import_id = import_id
    first_stage = next(n for n, (k, _) in conv.stages.items() if k == "open")
    run = _Run(
        conn, opts, now, actor, result, conv, import_id, keyless_done, reject_writer,
        first_stage, now_s,
    )  # fmt: skip
    run.seen_any = result.resumed_after_line is not None and bool(
        conn.execute("SELECT 1 FROM import_keys WHERE import_id = ? LIMIT 1", (import_id,))
        .fetchone()
    )  # fmt: skip
    return run


def _mark(conn: sqlite3.Connection, import_id: int, status: str) -> None:
    try:
        with transaction(conn):
            conn.execute("UPDATE imports SET status = ? WHERE id = ?", (status, import_id))
    except sqlite3.Error:
        pass  # best effort: 'running' is resumable too


def _record_refused(
    conn: sqlite3.Connection,
    info: SourceInfo,
    name: str,
    opts: ImportOptions,
    now: datetime,
    result: ImportResult,
) -> int:
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO imports (file_name, file_hash, status, options, rows_read, rejected,"
            " started_at, finished_at) VALUES (?, ?, 'rejected', ?, ?, ?, ?, ?)",
            (
                name, info.sha256, json.dumps(opts.stored(), sort_keys=True), result.read,
                len(result.rejected), to_store(now), to_store(now),
            ),
        )  # fmt: skip
    return int(cur.lastrowid or 0)


def _reject(run: _Run, line: int, reason: str, raw: list[str] | None) -> None:
    run.result.rejected.append({"line": line, "reason": reason})
    if run.reject_writer is not None:
        run.reject_writer.write(line, reason, raw or [])


class _RejectsFile:
    """`--rejects FILE`: each rejected row as it was, with its line and reason.

    A spreadsheet opens this file to fix the rows, so no cell may run as a
    formula: cells get csv_safe's "'" (taken off again when the file is
    imported), with the spaces around them dropped (the import drops them
    too). Cells of a file that already carries that quoting (an export, a
    rejects file) are written as they are, and a rejects file's own
    reject_line and reject_reason columns are replaced, not repeated.
    """

    def __init__(self, out: IO[str], header: list[str] | None, quoted: bool) -> None:
        self.writer = CsvWriter(out)  # quotes a bare CR too (csv.writer leaves it bare)
        self.csv = header is not None
        self.quoted = quoted
        self.drop: set[int] = set()
        self.width = 0
        if header is None:  # JSON lines: the raw line after the reason
            self.writer.writerow([*REJECT_COLUMNS, "raw"])
        else:
            self.drop = {i for i, name in enumerate(header) if name in REJECT_COLUMNS}
            kept = [name for i, name in enumerate(header) if i not in self.drop]
            self.width = len(kept)
            self.writer.writerow([*kept, *REJECT_COLUMNS])

    def write(self, line: int, reason: str, raw: list[str]) -> None:
        if self.drop:
            raw = [cell for i, cell in enumerate(raw) if i not in self.drop]
        if not self.quoted:
            raw = [csv_safe(cell.strip()) for cell in raw]
        if self.csv:
            # A short row is padded and a long one cut (its extra cells are
            # named in the reason): its line and reason stay in their columns.
            if len(raw) > self.width:
                extra = "; ".join(repr(c) for c in raw[self.width :] if c)
                reason = f"{reason} (cells past the header: {_shorten(extra)})"
                raw = raw[: self.width]
            raw += [""] * (self.width - len(raw))
            self.writer.writerow([*raw, str(line), csv_safe(reason)])
        else:
            self.writer.writerow([str(line), csv_safe(reason), *raw])


def _shorten(text: str, most: int = 200) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _setup(info: SourceInfo, fh: Any, opts: ImportOptions) -> tuple[Any, Mapper, Iterator[Any]]:
    """The reader, the column mapper and the row iterator of an open file."""
    reader = open_reader(info, fh)
    first = None
    if info.format != "csv":
        first = next(reader.rows, None)
        keys = list(first[2]) if first and first[2] else []
        leadctl_export = "stage_kind" in keys
    else:
        leadctl_export = "stage_kind" in reader.header
    mapper = Mapper(opts, leadctl_export)
    # A `--rejects` file: its cells were written with csv_safe too.
    mapper.quoted = leadctl_export or (info.format == "csv" and REJECT_COLUMNS[1] in reader.header)
    if info.format == "csv":
        mapper.check_header(reader.header)
    else:
        mapper.exclusive = False
    rows = reader.rows if first is None else _chain(first, reader.rows)
    return reader, mapper, rows


def _batches(
    rows: Iterator[Any],
    conv: Converter,
    skip_through: int,
    size: int,
    position: Callable[[], int],
) -> Iterator[_Batch]:
    """Converted rows in batches of `size` read rows; rejects ride along."""
    batch = _Batch()
    convert = conv.convert
    for start, end, row, raw, error in rows:
        if end <= skip_through:
            continue
        batch.read += 1
        batch.last_line = end
        if error is not None:
            batch.rejects.append((start, error, raw))
        else:
            try:
                batch.rows.append(convert(start, row, raw))
            except LeadctlError as exc:
                batch.rejects.append((start, str(exc), raw))
        if batch.read >= size:
            batch.position = position()
            yield batch
            batch = _Batch()
    batch.position = position()
    yield batch


class _WorkerBatches:
    """The batches of a CSV file, read and converted by a forked child process.

    The child runs exactly what `_batches` runs in-process (same Converter,
    same plan) and sends each batch through a pipe (see `_pack`); the pipe's buffer
    keeps at most about one batch in flight, so memory stays flat. The child
    never touches the database (it exits with os._exit, as multiprocessing's
    fork start does, so no SQLite handle is closed or checkpointed by it) and
    dies with its parent: its next write to the pipe fails.
    """

    def __init__(
        self, start: Callable[[Any, int, int], Any], warnings: LineSpool, parts: int = 1
    ) -> None:
        import multiprocessing

        mp = multiprocessing.get_context("fork")
        self.recvs: list[Any] = []
        self.procs: list[Any] = []
        for part in range(parts):
            recv, send = mp.Pipe(duplex=False)
            self.recvs.append(recv)
            proc = mp.Process(target=self._child, args=(start, send, part, parts), daemon=True)
            proc.start()
            send.close()
            self.procs.append(proc)
        self.warnings = warnings  # where the children's warnings go (the result's)

    def _child(
        self, start: Callable[[Any, int, int], Any], send: Any, part: int, parts: int
    ) -> None:
        # The child holds only its writing end: when the parent dies (even by
        # SIGKILL) its next write fails and it exits instead of lingering.
        for recv in self.recvs:
            recv.close()
        start(send, part, parts)

    def _recv(self, part: int) -> Any:
        try:
            return _unpack(self.recvs[part].recv_bytes())
        except EOFError:
            raise ValidationError(
                "The import's reader process stopped unexpectedly",
                "Run the same import again: it continues where it stopped.",
            ) from None

    def __iter__(self) -> Iterator[_Batch | _BulkBatch]:
        turn = list(range(len(self.recvs)))  # the children, in the order they take batches
        number = 0
        try:
            while True:
                part = turn[number % len(turn)]
                msg = self._recv(part)
                number += 1
                if msg[0] == "bulk":
                    batch = _BulkBatch(*msg[1:])
                    del msg
                    self.warnings.extend(batch.warnings)
                    if batch.takeover:  # this child reads the rest alone
                        self._drop([p for p in turn if p != part])
                        turn, number = [part], 0
                    yield batch
                    del batch
                elif msg[0] == "batch":
                    _, read, last_line, position, rows, rejects, warnings = msg
                    self.warnings.extend(warnings)
                    plain = _Batch()
                    plain.read, plain.last_line, plain.position = read, last_line, position
                    plain.rows = [Prepared(*r) for r in rows]
                    plain.rejects = rejects
                    del msg, rows
                    yield plain
                elif msg[0] == "end":
                    # The file is done: every other child ends too (after its last batch).
                    self.warnings.extend(msg[1])
                    for other in range(number, number + len(turn) - 1):
                        msg = self._recv(turn[other % len(turn)])
                        if msg[0] != "end":
                            self._raise(msg)
                        self.warnings.extend(msg[1])
                    return
                else:
                    self._raise(msg)
        finally:
            self.close()

    def _drop(self, parts: list[int]) -> None:
        for part in parts:
            self.procs[part].terminate()
            self.procs[part].join()

    @staticmethod
    def _raise(msg: Any) -> None:
        _, cls_name, message, hint = msg  # always one of leadctl's errors
        raise rebuilt_error("leadctl.errors", cls_name, message, hint)

    def close(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join()
        for recv in self.recvs:
            recv.close()


def _cuts(info: SourceInfo, opts: ImportOptions, skip: int) -> list[tuple[int, int]]:
    """Where the bulk path's children cut a CSV file into pieces, each reading
    only its own (import_source.record_starts): about `batch_size` rows a
    piece. [] to have each child read the whole file instead: a resumed
    import, JSON, an encoding not cut by bytes, a file of one piece."""
    if skip or info.format != "csv" or piece_encoding(info.encoding) is None:
        return []
    with info.path.open("r", encoding=info.encoding, errors="strict", newline="") as fh:
        header_line = open_reader(info, fh).header_line
    with info.path.open("rb") as raw:
        head = raw.read(CHUNK)
    per_row = max(len(head) // max(head.count(b"\n"), 1), 1)
    step = max(per_row * opts.batch_size, PIECE_MIN_BYTES)
    # The first pieces grow to `step`: the writer gets its first rows after
    # an eighth of a piece's conversion instead of waiting for a whole one.
    ramp = tuple(max(step >> k, PIECE_MIN_BYTES >> 2) for k in (3, 3, 2, 2, 1, 1))
    starts = record_starts(info.path, header_line, step, ramp)
    return starts if len(starts) > 1 else []


def _pack(msg: tuple[Any, ...]) -> bytes:
    """A child's message as bytes: marshal for the bulk path's batches (tuples,
    lists, texts and numbers only: it dumps them ~3x faster than pickle),
    pickle for the rest."""
    import marshal
    import pickle

    if msg[0] == "bulk":
        return b"m" + marshal.dumps(msg)
    return b"p" + pickle.dumps(msg, pickle.HIGHEST_PROTOCOL)


def _unpack(data: bytes) -> Any:
    import marshal
    import pickle

    body = memoryview(data)[1:]
    return marshal.loads(body) if data[:1] == b"m" else pickle.loads(body)


def _worker_batches(
    path: Path,
    info: SourceInfo,
    opts: ImportOptions,
    context: dict[str, Any],
    now: datetime,
    tz: tzinfo,
    skip: int,
    *,
    keep_raw: bool,
    lead_rows: tuple[str, str, int] | None,
    warnings: LineSpool,
    bulk: tuple[str, str, int, int, NewLeads | None] | None = None,
) -> _WorkerBatches:
    def work(send: Any, part: int, parts: int) -> None:
        import gc
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
        # Rows are lists, tuples and texts without cycles: reference counting
        # frees them, and the collector's passes over every batch cost ~15% of
        # the child's time. A collection every few batches frees anything else,
        # over the child's own objects only (those inherited are frozen).
        gc.disable()
        gc.freeze()
        sent = 0

        def send_msg(msg: Any) -> None:
            nonlocal sent
            send.send_bytes(_pack(msg))
            sent += 1
            if sent % 16 == 0:
                gc.collect()

        try:
            with path.open("r", encoding=info.encoding, errors="strict", newline="") as fh:
                reader, mapper, rows = _setup(info, fh, opts)
                conv = Converter(context, opts, mapper, now=now, tz=tz, minor_values=False)
                conv.use_header(reader.header)
                reader.dicts[0] = False
                if bulk is not None:
                    chunks = (
                        _piece_chunks(info, reader.header, starts, opts.batch_size, part, parts)
                        if starts
                        else _bulk_chunks(rows, skip, opts.batch_size, reader.position, part, parts)
                    )
                    for m in _bulk_messages(chunks, conv, bulk, keep_raw):
                        send_msg(m)
                        del m
                batches = () if bulk else _batches(
                    rows, conv, skip, opts.batch_size, reader.position
                )  # fmt: skip
                for b in batches:
                    # Raw cells only go to the rejects file: left out without one.
                    out = [
                        (p.line, p.values, p.custom, p.note, p.raw if keep_raw else None,
                         _pre_row(p.values, conv, lead_rows) if lead_rows else None)
                        for p in b.rows
                    ]  # fmt: skip
                    rejects = b.rejects if keep_raw else [(ln, r, None) for ln, r, _ in b.rejects]
                    warnings, conv.warnings = conv.warnings, []
                    msg = ("batch", b.read, b.last_line, b.position, out, rejects, warnings)
                    send_msg(msg)
                    del b, out, rejects, msg
                send.send_bytes(_pack(("end", conv.warnings)))
        except BrokenPipeError:
            pass  # the parent is gone
        except Exception as exc:  # reported by the parent as an import error
            err = exc if isinstance(exc, LeadctlError) else ValidationError(
                f"Cannot read {info.name or info.path.name}: {exc}"
            )  # fmt: skip
            with contextlib.suppress(OSError):
                send.send_bytes(_pack(("error", type(err).__name__, err.message, err.hint)))
        finally:
            send.close()

    # The bulk path's writer needs about half of what conversion does: with
    # two children converting alternate pieces (or batches), all three keep busy.
    parts = BULK_CONVERTERS if bulk is not None else 1
    starts = _cuts(info, opts, skip) if parts > 1 else []
    return _WorkerBatches(work, warnings, parts)


def _pre_row(
    values: dict[str, Any], conv: Converter, lead_rows: tuple[str, str, int]
) -> tuple[Any, ...] | str:
    first_stage, now_s, import_id = lead_rows
    try:
        return _lead_row(values, conv, first_stage, now_s, import_id)
    except ValidationError as exc:
        return str(exc)


def _loop(
    run: _Run,
    batches: Iterable[_Batch | _BulkBatch],
    info: SourceInfo,
    progress: Progress | None,
    deferred: list[str],
) -> None:
    conn = run.conn
    if run.commit_rows and not conn.in_transaction:
        # A big import: one transaction per commit_rows rows (several batches),
        # each still moving imports.last_line with its rows.
        pending = 0
        # The bulk path's batches are tuples of texts, freed by reference
        # counting: the cycle collector would only walk them (on 1M rows:
        # 1,200 collections, 0.35 s of the parent's time, which paces the load).
        collecting = gc.isenabled() and bool(run.bulk_sql)
        if collecting:
            gc.disable()
        try:
            for batch in batches:
                if not conn.in_transaction:
                    conn.execute("BEGIN IMMEDIATE")
                _write(run, batch, info, progress)
                pending += batch.read
                del batch
                if pending >= run.commit_rows:
                    conn.execute("COMMIT")
                    pending = 0
            if conn.in_transaction:
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            if collecting:
                gc.enable()
    else:
        for batch in batches:
            _write(run, batch, info, progress)
            del batch  # one batch in memory at a time
    if deferred or run.bulk_sql:
        # CREATE INDEX sorts in memory up to the page cache's size on top of
        # the cache itself: a small cache here keeps the peak memory flat
        # (and measured faster than a bigger one).
        conn.execute(f"PRAGMA cache_size = -{RESTORE_CACHE_KIB}")
        skipped = _counts(run)[1]
        restore_indexes(conn)  # a transaction per index (see db.Checkpointer)
        with transaction(conn):
            sweep_duplicates(conn)  # a no-op if restore_indexes swept
        swept = _counts(run)[1] - skipped
        run.result.inserted -= swept
        run.result.skipped_duplicates += swept
        if swept and len(run.touched) < RESCORE_SAMPLE:
            # The whole list (a capped one rescores every lead): without the swept.
            marks = ", ".join("?" for _ in run.touched)
            run.touched = [
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM leads WHERE id IN ({marks}) ORDER BY id", run.touched
                )
            ]
    if progress is not None:
        progress(info.size, info.size)


def _done(run: _Run) -> None:
    """Mark the import done, after its rescoring: a crash or an error before
    this leaves it 'running' (or 'interrupted') with last_line at the end of
    the file, so the rerun reads nothing, rescores every lead (_rescore_all)
    and lands here."""
    with transaction(run.conn):
        run.conn.execute(
            "UPDATE imports SET status = 'done', finished_at = ? WHERE id = ?",
            (run.now_s, run.import_id),
        )
        run.conn.execute("DELETE FROM import_keys WHERE import_id = ?", (run.import_id,))


def _counts(run: _Run) -> tuple[int, int]:
    row = run.conn.execute(
        "SELECT inserted, skipped FROM imports WHERE id = ?", (run.import_id,)
    ).fetchone()
    return int(row[0]), int(row[1])


def _write(
    run: _Run, batch: _Batch | _BulkBatch, info: SourceInfo, progress: Progress | None
) -> None:
    if isinstance(batch, _BulkBatch):
        _write_bulk(run, batch)
        if progress is not None and batch.read:
            progress(batch.position, info.size)
        return
    r = run.result
    before = (r.inserted, r.updated, r.skipped_duplicates, len(r.rejected))
    for line, reason, raw in batch.rejects:
        _reject(run, line, reason, raw)
    _write_batch(run, batch, before)
    if run.conv.warnings:  # converted in this process: kept with the result's
        r.warnings.extend(run.conv.warnings)
        run.conv.warnings.clear()
    if progress is not None and batch.read:
        progress(batch.position, info.size)


def _lookup(
    conn: sqlite3.Connection, key: str, values: list[str], *, seen: int = 0
) -> dict[str, int]:
    """value -> lead id for the `values` of column `key`: the leads holding
    them (the smallest id), or with `seen` (the import's id) the keys it
    kept in import_keys (see _remember), of leads still there."""
    sql = (
        "SELECT k.value, k.lead_id FROM import_keys AS k JOIN leads AS l ON l.id = k.lead_id"
        " WHERE k.import_id = ? AND k.key = ? AND k.value IN ({})"
        if seen
        else f"SELECT {key}, id FROM leads WHERE {key} IN ({{}}) ORDER BY id"
    )
    first = [seen, key] if seen else []
    found: dict[str, int] = {}
    for i in range(0, len(values), _IN_CHUNK):
        chunk = values[i : i + _IN_CHUNK]
        marks = ", ".join("?" for _ in chunk)
        for value, lead_id in conn.execute(sql.format(marks), [*first, *chunk]):
            found.setdefault(value, lead_id)
    return found


def _new_row(run: _Run, p: Prepared) -> bool:
    """Check a row about to become a new lead (its dates, as _insert will):
    a row rejected then must not take the rows after it as its duplicates."""
    if p.pre is None:
        try:
            p.pre = _lead_row(p.values, run.conv, run.first_stage, run.now_s, run.import_id)
        except ValidationError as exc:
            p.pre = str(exc)
    if isinstance(p.pre, str):
        _reject(run, p.line, p.pre, p.raw)
        return False
    return True


def _write_batch(run: _Run, batch: _Batch, before: tuple[int, int, int, int]) -> None:
    conn = run.conn
    opts = run.opts
    result = run.result
    keys = opts.keys
    rows = batch.rows
    # With --on-duplicate skip a later row only ever counts as a duplicate,
    # whether its match is new in this batch or already in the database, so
    # the batch is looked up and written in chunks: the index pages a chunk's
    # lookups read are still cached when its inserts write them.
    skip_mode = opts.on_duplicate == "skip"
    size = _SKIP_CHUNK if skip_mode else max(len(rows), 1)
    with transaction(conn):
        seen: dict[tuple[str, str], tuple[str, int]] = {}
        changes: dict[int, list[Prepared]] = {}
        shown: list[Prepared] = []
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            in_db: dict[str, dict[str, int]] = {}
            for key in keys:
                wanted = list({p.values[key] for p in part if p.values.get(key)})
                in_db[key] = _lookup(conn, key, wanted) if wanted else {}
                if wanted and run.seen_any:
                    for value, lead_id in _lookup(conn, key, wanted, seen=run.import_id).items():
                        in_db[key].setdefault(value, lead_id)
            new: list[Prepared] = []
            matched: list[tuple[list[tuple[str, str]], tuple[str, int]]] = []
            for p in part:
                if skip_mode and not _new_row(run, p):
                    # An invalid row is rejected, duplicate or not, as on the bulk
                    # path; the other modes check the rows that become leads.
                    continue
                row_keys = [(k, p.values[k]) for k in keys if p.values.get(k)]
                target: tuple[str, int] | None = None
                for rk in row_keys:
                    target = seen.get(rk)
                    if target is None and rk[1] in in_db[rk[0]]:
                        target = ("old", in_db[rk[0]][rk[1]])
                    if target is not None:
                        break
                if target is None and not row_keys and p.line <= run.keyless_done_line:
                    # Same file, already imported in full: a row without keys is
                    # recognised by its line.
                    result.skipped_duplicates += 1
                    continue
                if target is None:
                    if not skip_mode and not _new_row(run, p):
                        continue
                    target = ("new", len(new))
                    new.append(p)
                else:
                    # A key of the row that another lead (or another new row)
                    # holds is not this lead's: it is neither copied to it nor
                    # remembered as its (the row's other key chose the lead).
                    foreign = []
                    for rk in row_keys:
                        held = seen.get(rk)
                        if held is None and rk[1] in in_db[rk[0]]:
                            held = ("old", in_db[rk[0]][rk[1]])
                        if held is not None and held != target:
                            foreign.append(rk)
                    row_keys = [rk for rk in row_keys if rk not in foreign]
                    if opts.on_duplicate == "skip":
                        result.skipped_duplicates += 1
                    elif target[0] == "new":
                        for key, value in foreign:
                            _not_copied(run, p.line, key, value)
                        p = _without(p, [key for key, _ in foreign])
                        new[target[1]] = _combine(new[target[1]], p, opts.on_duplicate)
                        result.skipped_duplicates += 1
                    else:
                        changes.setdefault(target[1], []).append(p)
                    matched.append((row_keys, target))
                for rk in row_keys:
                    seen.setdefault(rk, target)
            ids = _insert(run, new)
            _remember(run, matched, ids)
            for rk, target in list(seen.items()):  # the chunk's new rows are leads now
                if target[0] == "new":
                    stored = ids[target[1]]
                    if stored is None:
                        del seen[rk]
                    else:
                        seen[rk] = ("old", stored)
            if len(shown) < opts.preview:
                shown += new[: opts.preview]
        _update(run, changes)
        result.read += batch.read
        if len(result.preview) < opts.preview:
            for p in shown[: opts.preview - len(result.preview)]:
                result.preview.append({"line": p.line, **_preview(p)})
        after = (result.inserted, result.updated, result.skipped_duplicates, len(result.rejected))
        delta = [a - b for a, b in zip(after, before, strict=True)]
        # Counts add up over the runs of a resumed import.
        conn.execute(
            "UPDATE imports SET last_line = max(last_line, ?), rows_read = rows_read + ?,"
            " inserted = inserted + ?, updated = updated + ?, skipped = skipped + ?,"
            " rejected = rejected + ? WHERE id = ?",
            (batch.last_line, batch.read, *delta, run.import_id),
        )


def _remember(
    run: _Run,
    matched: list[tuple[list[tuple[str, str]], tuple[str, int]]],
    ids: list[int | None],
) -> None:
    """Keep the keys of the rows that matched a lead; `ids`: the lead id of
    each new row of the chunk (None: rejected on insert).

    The keys of the file's rows that matched a lead and were not stored as
    one (a duplicate skipped, a row merged or updated into a lead): a later
    row holding one of them is the same person. The batch's `seen` forgets
    them at its end and the leads table never had them, so they go to
    import_keys, committed with the batch, until the import is done: the
    result does not depend on the batch size, a re-run adds nothing, and a
    resumed import matches as the uninterrupted one would. A bulk load's
    sweep holds the same rule (it compares with every stored row,
    duplicates included)."""
    import_id = run.import_id
    remembered = []
    for row_keys, (where, n) in matched:
        lead_id = n if where == "old" else ids[n]
        if lead_id is not None:
            remembered += [(import_id, k, v, lead_id) for k, v in row_keys]
    if remembered:
        run.conn.executemany(
            "INSERT OR IGNORE INTO import_keys (import_id, key, value, lead_id)"
            " VALUES (?, ?, ?, ?)",
            remembered,
        )
        run.seen_any = True


def _preview(p: Prepared) -> dict[str, Any]:
    out = {k: v for k, v in p.values.items() if v not in (None, [], {})}
    if p.custom:
        out["fields"] = p.custom
    return out


def _combine(first: Prepared, later: Prepared, mode: str) -> Prepared:
    """Two rows of the same file for one new lead: the later row changes
    what it would change on a stored lead (_update): the UPDATABLE columns,
    the currency only with its value; the first row's stage and dates make
    the history. Each row's note is kept."""
    merged = dict(first.values)
    took_value = False
    for k in UPDATABLE:
        if k not in later.values:
            continue
        v = later.values[k]
        if k == "tags":
            merged["tags"] = (
                v if mode == "update" else first.values.get("tags", []) + [
                    t for t in v if t not in first.values.get("tags", [])
                ]
            )  # fmt: skip
        elif k == "fields":
            continue
        elif k == "currency":
            if took_value and v is not None:
                merged[k] = v
        elif v is not None and (mode == "update" or merged.get(k) in (None, "")):
            merged[k] = v
            took_value = took_value or k == "value"
    custom = (
        {**first.custom, **later.custom} if mode == "update" else {**later.custom, **first.custom}
    )
    merged["fields"] = custom
    notes = tuple(
        n
        for n in dict.fromkeys((first.note, *first.more_notes, later.note, *later.more_notes))
        if n
    )
    return Prepared(first.line, merged, custom, notes[0] if notes else None, first.raw,
                    more_notes=notes[1:])  # fmt: skip


def _without(p: Prepared, keys: list[str]) -> Prepared:
    """The row without the values of `keys`."""
    if not keys:
        return p
    values = {k: v for k, v in p.values.items() if k not in keys}
    return Prepared(p.line, values, p.custom, p.note, p.raw, more_notes=p.more_notes)


def _not_copied(run: _Run, line: int, key: str, value: str) -> None:
    run.result.warnings.append(
        {"line": line, "warning": f"{key} {value} belongs to another lead: not copied"}
    )


def _insert(run: _Run, new: list[Prepared]) -> list[int | None]:
    """Insert the batch's new leads, their activities and stage history;
    return each one's id (None: rejected).

    The leads go in with one executemany; each lead's `import` activity and
    the stage-history row of a lead that starts in the first stage are made by
    one INSERT ... SELECT each (no Python-bound row per lead). Leads imported
    in a later stage, and notes, are the rarer rows and are bound one by one.
    Per lead the activities keep their order: import, stage change, note.
    """
    if not new:
        return []
    conn = run.conn
    conv = run.conv
    now_s = run.now_s
    import_id = run.import_id
    first_stage = run.first_stage
    lead_id = next_id(conn, "leads") - 1
    first_id = lead_id + 1
    act_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM activities").fetchone()[0])
    lead_rows: list[tuple[Any, ...]] = []
    lines: list[int] = []
    moved: list[tuple[int, str, str, str, str | None]] = []  # leads not in the first stage
    notes: list[tuple[int, str, str]] = []
    ids: list[int | None] = []
    for p in new:
        pre = p.pre
        if pre is None:
            try:
                pre = _lead_row(p.values, conv, first_stage, now_s, import_id)
            except ValidationError as exc:
                pre = str(exc)
        if isinstance(pre, str):
            _reject(run, p.line, pre, p.raw)
            ids.append(None)
            continue
        rest, stage, created, entered, lost_reason = pre
        lead_id += 1
        ids.append(lead_id)
        lead_rows.append((lead_id, *rest))
        lines.append(p.line)
        if stage != first_stage:
            moved.append((lead_id, stage, created, entered, lost_reason))
        if p.note:
            notes.append((lead_id, created, p.note))
        notes += [(lead_id, created, n) for n in p.more_notes]
    if not lead_rows:
        return ids
    last_id = lead_id
    conn.executemany(_LEAD_SQL, lead_rows)
    act_id = _import_activities(run, act_id, first_id, json.dumps(lines), len(lines))
    conn.execute(_FIRST_HIST_SQL, (first_id, last_id, first_stage))
    _later_rows(run, act_id, moved, notes)
    run.result.inserted += len(lead_rows)
    _touch(run, range(first_id, last_id + 1))
    return ids


def _later_rows(
    run: _Run,
    act_id: int,
    moved: list[tuple[int, str, str, str, str | None]],
    notes: list[tuple[int, str, str]],
) -> None:
    """The history of new leads imported in a later stage, and their notes
    (activity ids from act_id + 1: stage changes first, then notes)."""
    conv = run.conv
    first_stage = run.first_stage
    now_s = run.now_s
    actor = run.actor
    import_id = run.import_id
    dumps = json.dumps
    act_rows: list[tuple[Any, ...]] = []
    hist_rows: list[tuple[Any, ...]] = []
    if moved:
        stage_json = {name: dumps(name, ensure_ascii=False) for name in conv.stages}
        for lid, stage, created, entered, lost_reason in moved:
            seconds = int((from_store(entered) - from_store(created)).total_seconds())
            hist_rows.append((lid, first_stage, created, entered, seconds, None))
            act_id += 1
            reason = lost_reason if conv.stages[stage][0] in ("lost", "disqualified") else None
            # json.dumps({"from": ..., "to": ..., "reason": ..., "import_id": ...}).
            data = (
                f'{{"from": {stage_json[first_stage]}, "to": {stage_json[stage]}, "reason": '
                f"{'null' if reason is None else dumps(reason, ensure_ascii=False)}, "
                f'"import_id": {import_id}}}'
            )
            act_rows.append(
                (act_id, lid, "stage_change", entered, actor, reason, data, now_s)
            )  # fmt: skip
            hist_rows.append((lid, stage, entered, None, None, act_id))
    made = f'{{"import_id": {int(import_id)}}}'  # an import's note: a re-run finds it
    for lid, created, note in notes:
        act_id += 1
        act_rows.append((act_id, lid, "note", created, actor, note, made, now_s))
    if act_rows:
        run.conn.executemany(_ACT_SQL, act_rows)
    if hist_rows:
        run.conn.executemany(_HIST_SQL, hist_rows)


def _lead_row(
    v: dict[str, Any], conv: Converter, first_stage: str, now_s: str, import_id: int
) -> tuple[tuple[Any, ...], str, str, str, str | None]:
    """The leads row of new values, without its id (LEAD_INSERT[1:]), and the
    (stage, created_at, stage_entered_at, lost_reason) its history needs."""
    stage, created, entered, closed, lost_reason = _history(v, conv, first_stage, now_s)
    get = v.get
    tags = get("tags")
    fields = get("fields")
    last_touch = get("last_touch_at") or max(x for x in (created, entered, closed) if x)
    rest = (
        get("name"), get("email"), get("phone"), get("external_id"),
        get("company"), get("source"), get("campaign"), get("product"),
        get("segment"), get("city"), get("value"), v["currency"], stage,
        get("owner"), get("captured_by"),
        _tags_json(tags) if tags else "[]",
        json.dumps(fields, ensure_ascii=False) if fields else "{}",
        int(get("do_not_contact") or 0), int(get("qualified") or 0),
        get("probability_manual"), get("expected_close"), lost_reason, created,
        now_s, entered, closed, last_touch, import_id,
    )  # fmt: skip
    return rest, stage, created, entered, lost_reason


def _tags_json(tags: list[str]) -> str:
    """json.dumps(tags, ensure_ascii=False), without the encoder for plain tags."""
    text = '", "'.join(tags)
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'["{text}"]'
    return json.dumps(tags, ensure_ascii=False)


def _history(
    v: dict[str, Any], conv: Converter, first_stage: str, now_s: str
) -> tuple[str, str, str, str | None, str | None]:
    """(stage, created_at, stage_entered_at, closed_at, lost_reason) of a new lead."""
    stage = v.get("stage") or first_stage
    kind, requires_reason = conv.stages[stage]
    created = v.get("created_at") or now_s
    closing = kind in ("won", "lost", "disqualified", "inactive")
    closed = v.get("closed_at") if closing else None
    entered = v.get("stage_entered_at") or closed or created
    if stage == first_stage:
        entered = v.get("stage_entered_at") or created
    if closing and closed is None:
        closed = entered
    if entered < created:
        raise ValidationError(f"the stage date {entered} is before created_at {created}")
    if closed is not None and closed < created:
        raise ValidationError(f"closed_at {closed} is before created_at {created}")
    # Kept whatever the stage: a lead reopened after a loss keeps its reason
    # (an export of it imports back the same).
    lost_reason = v.get("lost_reason")
    if kind in ("lost", "disqualified") and not lost_reason and requires_reason:
        lost_reason = "imported"
    return stage, created, entered, closed, lost_reason


_KEY_COLUMNS = ("email", "phone", "external_id")


def _update(run: _Run, changes: dict[int, list[Prepared]]) -> None:
    if not changes:
        return
    conn = run.conn
    mode = run.opts.on_duplicate
    ids = list(changes)
    current: dict[int, dict[str, Any]] = {}
    for i in range(0, len(ids), _IN_CHUNK):
        chunk = ids[i : i + _IN_CHUNK]
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(f"SELECT * FROM leads WHERE id IN ({marks})", chunk):
            d = dict(row)
            d["tags"] = stored_json(d["tags"], list, f"lead {d['id']}'s tags", [], texts=True)
            d["fields"] = stored_json(d["fields"], dict, f"lead {d['id']}'s custom fields", {})
            current[d["id"]] = d
    act_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM activities").fetchone()[0])
    act_rows: list[tuple[Any, ...]] = []
    for lead_id, rows in changes.items():
        lead = current[lead_id]
        diff: dict[str, list[Any]] = {}
        notes: list[str] = []
        for p in rows:
            took_value = False  # the currency goes with the value (one amount)
            for key in UPDATABLE:
                if key not in p.values:
                    continue
                new = p.values[key]
                old = lead[key]
                if key == "currency":
                    if not took_value or new is None:
                        continue
                elif key == "tags":
                    if not new:
                        continue
                    new = new if mode == "update" else old + [t for t in new if t not in old]
                elif key == "fields":
                    if not new:
                        continue
                    new = {**old, **new} if mode == "update" else {**new, **old}
                elif key in ("do_not_contact", "qualified"):
                    new = int(bool(new))
                    if mode == "merge":
                        new = max(int(old or 0), new)
                elif new is None or (mode == "merge" and old not in (None, "")):
                    continue
                if new != old and key in _KEY_COLUMNS:
                    other = conn.execute(
                        f"SELECT id FROM leads WHERE {key} = ? AND id <> ? LIMIT 1", (new, lead_id)
                    ).fetchone()
                    if other is not None:  # as `edit` refuses: no two leads share a key
                        run.result.warnings.append({
                            "line": p.line,
                            "warning": f"{key} {new} is lead {other[0]}'s: not copied to lead"
                            f" {lead_id}",
                        })  # fmt: skip
                        continue
                took_value = took_value or key == "value"
                if new != old:
                    diff.setdefault(key, [old, new])[1] = new
                    lead[key] = new
            for note in (p.note, *p.more_notes):
                if (
                    note
                    and note not in notes
                    and not conn.execute(
                        "SELECT 1 FROM activities WHERE lead_id = ? AND kind = 'note' AND note = ?"
                        " AND data LIKE '{\"import_id\": %'",
                        (lead_id, note),
                    ).fetchone()
                ):
                    notes.append(note)  # once: a re-run finds the note an import made
        if not diff:
            if notes:
                act_id = _note_rows(run, act_rows, act_id, lead_id, rows, notes)
                run.result.updated += 1
                run.result.skipped_duplicates += len(rows) - 1
                _touch(run, (lead_id,))
            else:
                run.result.skipped_duplicates += len(rows)
            continue
        sets = {k: lead[k] for k in diff}
        for k in ("tags", "fields"):
            if k in sets:
                sets[k] = json.dumps(sets[k], ensure_ascii=False)
        sets["updated_at"] = run.now_s
        conn.execute(
            f"UPDATE leads SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
            [*sets.values(), lead_id],
        )
        if "owner" in diff:
            from leadctl.followups import move_with_lead

            move_with_lead(conn, lead_id, *diff["owner"])
        act_id += 1
        data = {"import_id": run.import_id, "line": rows[-1].line, "changes": diff}
        act_rows.append(
            (act_id, lead_id, "import", run.now_s, run.actor, None,
             json.dumps(data, ensure_ascii=False), run.now_s)
        )  # fmt: skip
        act_id = _note_rows(run, act_rows, act_id, lead_id, rows, notes)
        run.result.updated += 1
        run.result.skipped_duplicates += len(rows) - 1
        _touch(run, (lead_id,))
    conn.executemany(_ACT_SQL, act_rows)


def _note_rows(
    run: _Run,
    act_rows: list[tuple[Any, ...]],
    act_id: int,
    lead_id: int,
    rows: list[Prepared],
    notes: list[str],
) -> int:
    """The note activities of an updated lead (its rows' new notes); the last id."""
    for note in notes:
        line = next(p.line for p in rows if note in (p.note, *p.more_notes))
        act_id += 1
        act_rows.append(
            (act_id, lead_id, "note", run.now_s, run.actor, note,
             json.dumps({"import_id": run.import_id, "line": line}), run.now_s)
        )  # fmt: skip
    return act_id


def value_major(minor: int | None, currency: str) -> str:
    """Minor units -> a plain decimal that parse_money reads back exactly."""
    if minor is None:
        return ""
    exp = currency_exponent(currency)
    if exp == 0:
        return str(minor)
    whole, frac = divmod(minor, 10**exp)
    text = f"{whole}.{frac:0{exp}d}"
    # One separator followed by exactly three digits reads as a thousands
    # group, so three-decimal currencies get a fourth, harmless zero.
    return text + "0" if exp == 3 else text


# ---- the bulk path: store in file order, sweep the duplicates at the end ----------
#
# A big import into a database that holds few leads yet (under a tenth of the
# file's rows), with --on-duplicate skip, a CSV header whose fields each come
# from one column, and no --strict/--dry-run: the child converts each row to
# the leads columns that can vary under this header and the parent stores
# them with one executemany per batch, no lookups and no secondary index at
# all (foreign keys off: the stages and the import are checked by the child
# and by `_start`). At the end `db.sweep_duplicates` deletes each stored lead
# that shares a key with a lead of smaller id (the database's, or an earlier
# row's of the file) and the indexes are rebuilt by sorting. A crash in
# between is healed by the next open (db._rebuild). Lead ids may skip where a
# duplicate row stood.

BULK_SHARE = 10  # the bulk path needs rows > BULK_SHARE x the database's leads
BULK_CONVERTERS = 2  # converting child processes on the bulk path
# A piece is at least this big whatever --batch-size says: each piece opens
# the file again, and the parent keeps a list of them.
PIECE_MIN_BYTES = 256 << 10
_LEAD_COLS = LEAD_INSERT[1:]
# The mapped fields each leads column depends on: a column none of whose
# fields the header maps holds one value for every row of the file.
_DEPENDS: dict[str, frozenset[str]] = {
    **{c: frozenset((c,)) for c in _LEAD_COLS},
    "name": frozenset(("name", "first_name", "last_name")),
    "lost_reason": frozenset(("stage", "lost_reason")),
    "closed_at": frozenset(("stage", "closed_at")),
    "stage_entered_at": frozenset(("stage", "stage_entered_at", "closed_at", "created_at")),
    "last_touch_at": frozenset(
        ("stage", "stage_entered_at", "closed_at", "created_at", "last_touch_at")
    ),
    "fields": frozenset(),  # custom columns (see BulkRows)
    "updated_at": frozenset(),
    "import_id": frozenset(),
}
_NOT_NULL = frozenset(
    ("currency", "stage", "tags", "fields", "do_not_contact", "qualified", "created_at",
     "updated_at", "stage_entered_at")
)  # fmt: skip
# Mostly equal to created_at: sent as "" then, and filled in by SQL.
_LIKE_CREATED = ("stage_entered_at", "last_touch_at")


def _literal(value: Any) -> str:
    """An SQL literal of one of our own constants (None, a number or a text)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


class BulkRows:
    """The leads columns that vary under one header, and the INSERT that stores them.

    Binding a NULL costs sqlite3 far more than binding a text (it goes through
    the adapter lookup), so a NULL travels as "" and NULLIF restores it (an
    import never stores an empty text: blank cells are NULL), and columns that
    hold one value for the whole file are SQL literals, not parameters.
    """

    def __init__(
        self, conv: Converter, first_stage: str, now_s: str, import_id: int, scored: bool = False
    ) -> None:
        mapped = {name for _, name in conv._fields}
        custom = bool(conv._customs) or conv.opts.lenient
        # A stage date that only created_at feeds is created_at itself: the SQL
        # repeats that parameter (one bound value less a row).
        self.follow = [c for c in _LIKE_CREATED if _DEPENDS[c] & mapped == {"created_at"}]
        self.var = [
            c for c in _LEAD_COLS
            if c not in self.follow and (_DEPENDS[c] & mapped or (c == "fields" and custom))
        ]  # fmt: skip
        base = _lead_row({"currency": conv.currency, "fields": {}}, conv, first_stage, now_s,
                         import_id)[0]  # fmt: skip
        const = [i for i, c in enumerate(_LEAD_COLS) if c not in self.var and c not in self.follow]
        self.consts = tuple(base[i] for i in const)
        self._const = _getter(const)
        self._var = _getter([_LEAD_COLS.index(c) for c in self.var])
        self._follow = _getter([_LEAD_COLS.index(c) for c in self.follow])
        self._created_at = _LEAD_COLS.index("created_at")
        created = (
            f"?{self.var.index('created_at') + 1}"
            if "created_at" in self.var
            else _literal(base[_LEAD_COLS.index("created_at")])
        )
        self._like_created = [
            (self.var.index(c), self.var.index("created_at") if "created_at" in self.var else None)
            for c in _LIKE_CREATED if c in self.var
        ]  # fmt: skip
        exprs = []
        for i, c in enumerate(_LEAD_COLS):
            if c in self.follow:
                exprs.append(created)
                continue
            if c not in self.var:
                exprs.append(_literal(base[i]))
                continue
            k = self.var.index(c) + 1
            if c in _LIKE_CREATED:
                exprs.append(f"COALESCE(NULLIF(?{k}, ''), {created})")
            elif c in _NOT_NULL:
                exprs.append(f"?{k}")
            else:
                exprs.append(f"NULLIF(?{k}, '')")
        names = list(_LEAD_COLS)
        if scored:  # the score each row ends with ("" for none: see NewLeads)
            k = len(self.var) + 1
            names += ["score", "score_updated_at"]
            exprs += [
                f"NULLIF(?{k}, '')",
                f"CASE WHEN ?{k} = '' THEN NULL ELSE {_literal(now_s)} END",
            ]
        self.sql = f"INSERT INTO leads ({', '.join(names)}) VALUES ({', '.join(exprs)})"
        self._created_const = base[_LEAD_COLS.index("created_at")]
        self._base = base

    def project(self, rest: tuple[Any, ...]) -> tuple[Any, ...]:
        """A `_lead_row` (without id) -> the parameters of `sql`."""
        if self._const(rest) != self.consts:
            raise ValidationError("internal error: a column the header does not map varies")
        if self.follow and set(self._follow(rest)) != {rest[self._created_at]}:
            raise ValidationError("internal error: a stage date differs from created_at")
        out = ["" if v is None else v for v in self._var(rest)]
        for i, c in self._like_created:
            if out[i] == (self._created_const if c is None else out[c]):
                out[i] = ""
        return tuple(out)

    def stored(self, rows: list[tuple[Any, ...]], names: tuple[str, ...]) -> dict[str, list[Any]]:
        """The values `sql` stores in the columns `names` from rows of
        parameters, a list per column (what reading them back gives, before
        type affinity)."""
        from operator import itemgetter

        n = len(rows)
        var = {c: i for i, c in enumerate(self.var)}
        created = (
            list(map(itemgetter(var["created_at"]), rows))
            if "created_at" in var
            else [self._created_const] * n
        )
        cols: dict[str, list[Any]] = {}
        for c in names:
            if c in self.follow:
                cols[c] = created
            elif c not in var:
                cols[c] = [self._base[_LEAD_COLS.index(c)]] * n
            else:
                col = list(map(itemgetter(var[c]), rows))
                if c in _LIKE_CREATED:  # COALESCE(NULLIF(?, ''), created_at)
                    col = [v if v != "" else at for v, at in zip(col, created, strict=True)]
                elif c not in _NOT_NULL and "" in col:  # NULLIF(?, '')
                    col = [v if v != "" else None for v in col]
                cols[c] = col
        return cols


def _getter(idx: list[int]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    if not idx:
        return lambda row: ()
    if len(idx) == 1:
        i = idx[0]
        return lambda row: (row[i],)
    from operator import itemgetter

    return itemgetter(*idx)


def _bulk_chunks(
    rows: Iterator[Any],
    skip_through: int,
    size: int,
    position: Callable[[], int],
    part: int,
    parts: int,
) -> Iterator[tuple[list[Any], int, bool, bool]]:
    """(records, position, False, False) for every `parts`-th `size` records of the
    file from chunk `part` on: each child reads the whole file."""
    from itertools import islice

    for first in rows:  # a resumed import: past the lines the last run stored
        if first[1] > skip_through:
            rows = _chain(first, rows)
            break
    else:
        rows = iter(())
    number = 0
    while chunk := list(islice(rows, size)):
        own = number % parts == part
        number += 1
        if own:
            yield chunk, position(), False, False
    if number == 0 and part == 0:
        yield [], position(), False, False


def _piece_chunks(
    info: SourceInfo,
    header: list[str],
    starts: list[tuple[int, int]],
    size: int,
    part: int,
    parts: int,
) -> Iterator[tuple[list[Any], int, bool, bool]]:
    """(records, position, takeover, clean) for the pieces `part`, `part` + `parts`,
    ... of the file cut at `starts` (import_source.record_starts): each child
    reads only its own pieces. A piece is read up to the next cut; a record
    running across it shows the cut was not a record start: then this child
    says so (takeover) and goes on alone, to the end of the file, as one
    reader would, and the parent drops the other children."""
    from itertools import islice

    encoding = piece_encoding(info.encoding)
    assert encoding is not None
    for k in range(part, len(starts), parts):
        offset, line = starts[k]
        position, end = starts[k + 1] if k + 1 < len(starts) else (info.size, 0)
        whole = read_piece_whole(info, encoding, header, offset, position, line)
        if whole is not None:
            records_, nul, longest = whole
            yield records_, position, False, not nul and longest <= _MAX_TEXT
            continue
        records = read_piece(info, encoding, header, offset, line)
        chunk = []
        takeover = False
        for record in records:
            if end and record[0] >= end:
                break
            if record[3] is not None or record[4] is not None:  # not blank
                chunk.append(record)
            if end and record[1] >= end:
                takeover = True
                break
        yield chunk, position, takeover, False
        if takeover:
            rest = (r for r in records if r[3] is not None or r[4] is not None)
            while more := list(islice(rest, size)):
                yield more, info.size, False, False
            return


def _bulk_messages(
    chunks: Iterator[tuple[list[Any], int, bool, bool]],
    conv: Converter,
    bulk: tuple[str, str, int, int, NewLeads | None],
    keep_raw: bool,
) -> Iterator[tuple[Any, ...]]:
    """A converting child's side of the bulk path: per chunk of records, the
    rows to store (BulkRows parameters), their lines (JSON), the leads not in
    the first stage and the notes (by index in the batch), the rejects, how
    many rows it skips (keyless rows a finished import of the same file
    already took, and `_repeats`), the warnings and whether this child now
    reads the rest alone.

    Only the rows the column converter hands over, and the notes, are
    handled one by one; the stored rows and their lines are taken with
    compress and map.
    """
    from itertools import accumulate, compress
    from operator import itemgetter

    first_stage, now_s, import_id, keyless_done, scorer = bulk
    shape = BulkRows(conv, first_stage, now_s, import_id, scored=scorer is not None)
    fast = fast_batch(conv, shape, now_s)
    created_at = shape.var.index("created_at") if "created_at" in shape.var else None
    keys = conv.opts.keys
    key_cols = [shape.var.index(key) for key in keys if key in shape.var]
    convert = conv.convert
    project = shape.project
    for chunk, position, takeover, clean in chunks:
        todo = [k for k, r in enumerate(chunk) if r[4] is None and r[0] > keyless_done]
        hits: list[tuple[Any, ...] | None] = [None] * len(chunk)
        notes: list[str | None] = [None] * len(chunk)
        if fast is not None and todo:
            got, got_notes = fast([chunk[k][3] for k in todo], clean)
            if len(todo) == len(chunk):
                hits, notes = got, got_notes
            else:
                for k, hit, note in zip(todo, got, got_notes, strict=True):
                    hits[k], notes[k] = hit, note
        later: list[tuple[int, str, str, str, str | None, str | None]] = []  # k: chunk index
        rejects: list[tuple[int, str, list[str] | None]] = []
        skipped = 0  # keyless rows a finished import took, repeats (below)
        # The notes of the rows the column converter took (it gives a note for
        # every row; a row it hands over gets the general way's note).
        noted = [k for k, note in enumerate(notes) if note and hits[k] is not None]
        # The rows the column converter handed over (or never saw), in turn;
        # each becomes its parameters, or None (a reject or a keyless row).
        for k in [k for k, hit in enumerate(hits) if hit is None]:
            start, _end, _row, raw, error = chunk[k]
            if error is None:
                try:
                    p = convert(start, None, raw)
                    v = p.values
                    if start <= keyless_done and not any(v.get(key) for key in keys):
                        skipped += 1  # recognised by its line, as `_write_batch` does
                    else:
                        rest, stage, created, entered, lost_reason = _lead_row(
                            v, conv, first_stage, now_s, import_id
                        )
                        hits[k] = project(rest)
                        if stage != first_stage or p.note:
                            later.append((k, stage, created, entered, lost_reason, p.note))
                except LeadctlError as exc:
                    error = str(exc)
            if error is not None:
                rejects.append((start, error, raw if keep_raw else None))
        for k in noted:
            hit = hits[k]
            assert hit is not None
            created = now_s if created_at is None else hit[created_at]
            later.append((k, first_stage, created, created, None, notes[k]))
        starts = map(itemgetter(0), chunk)
        if None in hits:
            keep = [hit is not None for hit in hits]
            out = list(compress(hits, keep))
            lines = list(compress(starts, keep))
            if later:  # chunk index -> index among the stored rows
                at = list(accumulate(keep))
                later = [(at[e[0]] - 1, *e[1:]) for e in later]
        else:
            out, lines = hits, list(starts)
        repeats = _repeats(out, key_cols)
        if repeats:
            keep = [True] * len(out)
            for k in repeats:
                keep[k] = False
            out = list(compress(out, keep))
            lines = list(compress(lines, keep))
            if later:
                at = list(accumulate(keep))
                later = [(at[e[0]] - 1, *e[1:]) for e in later if keep[e[0]]]
            skipped += len(repeats)
        later.sort()  # by index: the order the rows take their activity ids in
        unscored: list[int] = []
        if scorer is not None and out:
            out, unscored = _scored_rows(shape, scorer, first_stage, out, later)
        warnings, conv.warnings = conv.warnings, []
        yield ("bulk", len(chunk), chunk[-1][1] if chunk else 0, position, out,
               json.dumps(lines), later, rejects, skipped, warnings, takeover,
               unscored)  # fmt: skip
        del chunk, out, hits, notes


def _scored_rows(
    shape: BulkRows,
    scorer: NewLeads,
    first_stage: str,
    rows: list[Any],
    later: list[tuple[int, str, str, str, str | None, str | None]],
) -> tuple[list[Any], list[int]]:
    """The rows with their score as a last parameter ("" where `scorer`
    gives none), and the indices of those: the parent scores them from the
    database. A row's activities besides the import are those `_write_bulk`
    stores from `later`: a stage change at stage_entered_at, a note at
    created_at."""
    extra: dict[int, list[tuple[str, str]]] = {}
    for k, stage, created, entered, _lost, note in later:
        acts = extra.setdefault(k, [])
        if stage != first_stage:
            acts.append(("stage_change", entered))
        if note:
            acts.append(("note", created))
    try:
        scores = scorer.scores(len(rows), shape.stored(rows, scorer.columns), extra)
    except Exception:  # never expected: the parent scores the rows itself, as ever
        scores = [None] * len(rows)
    unscored = [k for k, score in enumerate(scores) if score is None]
    scored = [
        (*row, "" if score is None else score) for row, score in zip(rows, scores, strict=True)
    ]
    return scored, unscored


def _repeats(rows: list[Any], key_cols: list[int]) -> list[int]:
    """The rows (indices) whose every key (the columns key_cols; "" for none)
    some earlier row of the batch has: some of the duplicates the sweep
    deletes, found in the child so the parent never stores them.

    The sweep (db.sweep_duplicates) would delete the same rows and leaves the
    same leads: the first row holding a key is never among them, so each key
    they hold stays on a stored lead of smaller id for the sweep to see (a
    row with one new key is stored, and left to the sweep). Works a column at
    a time: a row is a repeat when it holds a key and is the first holder of
    none (the first holders: a dict from the values read backwards).
    """
    from itertools import compress
    from operator import itemgetter, truth

    n = len(rows)
    index = range(n)
    firsts: set[int] = set()
    holders: set[int] = set()
    for j in key_cols:
        col = list(map(itemgetter(j), rows))
        first = dict(zip(reversed(col), reversed(index), strict=True))
        first.pop("", None)
        firsts.update(first.values())
        if len(first) + col.count("") < n:  # a value repeats
            holders.update(compress(index, map(truth, col)))
    return sorted(holders - firsts)


class _BulkBatch:
    """One `_bulk_messages` batch, as the parent receives it."""

    def __init__(
        self,
        read: int,
        last_line: int,
        position: int,
        rows: list[tuple[Any, ...]],
        lines: str,
        later: list[tuple[int, str, str, str, str | None, str | None]],
        rejects: list[tuple[int, str, list[str] | None]],
        skipped: int,
        warnings: list[dict[str, Any]],
        takeover: bool,
        unscored: list[int],
    ) -> None:
        self.read, self.last_line, self.position = read, last_line, position
        self.rows, self.lines, self.later = rows, lines, later
        self.rejects, self.skipped = rejects, skipped
        self.warnings, self.takeover = warnings, takeover
        self.unscored = unscored  # rows without a score (see _scored_rows)


def _bulk_start(run: _Run) -> None:
    """Name the import for the sweep (inside the transaction that defers the
    indexes). A resumed import keeps its first id; another import's pending
    sweep (it crashed and nobody healed since) is done first."""
    conn = run.conn
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (BULK_SWEEP,)).fetchone()
    pending = json.loads(row[0]) if row else None
    if pending and pending.get("import_id") == run.import_id:
        run.bulk_first = int(pending["first_id"])
    else:
        if pending:
            sweep_duplicates(conn, remember=True)  # that import may resume on the row path
        run.bulk_first = next_id(conn, "leads")
    _mark_sweep(run)
    shape = BulkRows(run.conv, run.first_stage, run.now_s, run.import_id, scored=run.opts.score)
    run.bulk_sql = shape.sql
    # The same with the id as a last parameter: a batch's first lead when a
    # deleted lead held the largest id (see db.next_id).
    k = len(shape.var) + run.opts.score
    run.bulk_sql_id = shape.sql.replace("INSERT INTO leads (", "INSERT INTO leads (id, ", 1)
    run.bulk_sql_id = run.bulk_sql_id.replace(") VALUES (", f") VALUES (?{k + 1}, ", 1)


def _never_set(conv: Converter) -> tuple[str, ...]:
    """The partial indexes that get no entry from this import: their column is
    NULL in every row it stores (no mapped column feeds it). The bulk path keeps
    them: rebuilding one after the load would scan the whole table for nothing.
    And the owner indexes when no column feeds the owner (_OWNERLESS_KEEP)."""
    mapped = {name for _, name in conv._fields}
    return tuple(
        name for name, column in _NOT_NULL_INDEXES.items() if not _DEPENDS[column] & mapped
    ) + (() if _DEPENDS["owner"] & mapped else _OWNERLESS_KEEP)


def _mark_sweep(run: _Run) -> None:
    set_setting(
        run.conn, BULK_SWEEP,
        {"import_id": run.import_id, "first_id": run.bulk_first, "keys": list(run.opts.keys)},
    )  # fmt: skip


def _write_bulk(run: _Run, b: _BulkBatch) -> None:
    """Store one bulk batch: its leads, their `import` activities and history."""
    conn = run.conn
    result = run.result
    with transaction(conn):
        for line, reason, raw in b.rejects:
            _reject(run, line, reason, raw)
        n = len(b.rows)
        if n:
            first_id = next_id(conn, "leads")
            last_id = first_id + n - 1
            act_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM activities").fetchone()[0])
            rows = b.rows
            top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM leads").fetchone()[0]
            if top + 1 != first_id:  # past a deleted largest id: the first names its id
                conn.execute(run.bulk_sql_id, (*rows[0], first_id))
                rows = rows[1:]
            conn.executemany(run.bulk_sql, rows)
            # New rowids are max + 1 in order (the write lock is held): check it.
            if conn.execute("SELECT MAX(id) FROM leads").fetchone()[0] != last_id:
                raise ValidationError("internal error: the new lead ids are not consecutive")
            _import_activities(run, act_id, first_id, b.lines, n)
            conn.execute(_FIRST_HIST_SQL, (first_id, last_id, run.first_stage))
            first_stage = run.first_stage
            moved = [
                (first_id + i, stage, created, entered, lost)
                for i, stage, created, entered, lost, _ in b.later if stage != first_stage
            ]  # fmt: skip
            notes = [(first_id + i, created, note) for i, _, created, _, _, note in b.later if note]
            _later_rows(run, act_id + n, moved, notes)
            result.inserted += n
            _touch(run, range(first_id, last_id + 1))
            if run.opts.score:  # scored by the child but for b.unscored
                conn.execute(_SCORE_HIST_SQL, (first_id, last_id))
                run.scored_from = run.scored_from or first_id
                run.unscored += len(b.unscored)
            _mark_sweep(run)  # again: an open that healed meanwhile cleared it
        result.read += b.read
        result.skipped_duplicates += b.skipped
        conn.execute(
            "UPDATE imports SET last_line = max(last_line, ?), rows_read = rows_read + ?,"
            " inserted = inserted + ?, skipped = skipped + ?, rejected = rejected + ?"
            " WHERE id = ?",
            (b.last_line, b.read, n, b.skipped, len(b.rejects), run.import_id),
        )


# The fields `fast_batch` converts itself; a header mapping any other field
# converts every row the general way (Converter.convert, then _lead_row).
_FAST_FIELDS = frozenset(
    ("name", "email", "phone", "external_id", "company", "source", "campaign", "product",
     "segment", "city", "value", "tags", "note", "created_at")
)  # fmt: skip
_FAST_TEXT = ("name", "external_id", "company", "source", "campaign", "product", "segment", "city")
_REPEATED_TEXT = ("company", "source", "campaign", "product", "segment", "city")
_MEMO_SIZE = 10_000

FastBatch = Callable[[list[list[str]], bool], tuple[list[tuple[Any, ...] | None], list[str | None]]]


def fast_batch(conv: Converter, shape: BulkRows, now_s: str) -> FastBatch | None:
    """A function of a batch of CSV rows -> (for each row the BulkRows
    parameters or None, for each row its note or None); `clean` says the
    reader found no NUL and no line over _MAX_TEXT in them. None sends the row
    the general way, which converts it (or rejects it) with its own checks and
    messages. It works a column at a time: each cell converted as `Converter`
    and `_lead_row` convert it (a Hypothesis test holds the two to the same
    output), with C-level passes over the column where Python allows (strip,
    the e-mail pattern, phone shapes) and each repeated value (amounts, dates,
    tags) converted once. None when the header maps a field outside _FAST_FIELDS.
    """
    from itertools import repeat
    from operator import itemgetter

    fields = {name: i for i, name in conv._fields}
    if not set(fields) <= _FAST_FIELDS or conv.opts.lenient or conv.minor_values or conv.unquote:
        return None
    customs = [(i, name) for i, name, _col in conv._customs]
    produced = {*_FAST_TEXT, "email", "phone", "value", "tags", "created_at",
                "stage_entered_at", "last_touch_at", *(("fields",) if customs else ())}  # fmt: skip
    if not set(shape.var) <= produced:
        return None
    need = 1 + max([*fields.values(), *(i for i, _ in customs)], default=-1)
    email, phones, date, money = import_values.email, conv.phone.many, conv.date, conv._money
    currency = conv.currency
    memos: dict[str, dict[str, Any]] = {"value": {}, "created_at": {}, "tags": {}}

    def tags_json(text: str) -> str:
        found = parse_tags(text)
        return _tags_json(found) if found else "[]"

    convert_once: dict[str, Callable[[str], Any]] = {
        "value": lambda v: money(v, currency) if v else "",
        "created_at": lambda v: date(v) if v else now_s,
        "tags": tags_json,
    }

    def run(
        raws: list[list[str]], clean: bool = False
    ) -> tuple[list[tuple[Any, ...] | None], list[str | None]]:
        n = len(raws)
        bad: set[int] = set()
        if n and min(map(len, raws)) < need:
            pad = [""] * need
            bad.update(k for k, r in enumerate(raws) if len(r) < need)
            raws = [r if len(r) >= need else pad for r in raws]

        def cells(i: int) -> list[str]:
            col = list(map(str.strip, map(itemgetter(i), raws)))
            if clean:
                return col  # the reader found no NUL and no line over _MAX_TEXT
            if "\x00" in "".join(col) or max(map(len, col), default=0) > _MAX_TEXT:
                bad.update(k for k, v in enumerate(col) if "\x00" in v or len(v) > _MAX_TEXT)
            return col

        def once(name: str, col: list[str]) -> list[Any]:
            memo = memos[name]
            if len(memo) > _MEMO_SIZE:
                memo.clear()
            fn = convert_once[name]
            for v in set(col).difference(memo):
                try:
                    memo[v] = fn(v)
                except ValidationError:
                    memo[v] = None
            out = list(map(memo.__getitem__, col))
            if None in out:
                bad.update(k for k, v in enumerate(out) if v is None)
            return out

        col: dict[str, Any] = {name: cells(i) for name, i in fields.items()}
        for name in _REPEATED_TEXT:
            if name in col:
                # Equal texts as one object: marshal then sends a reference, and
                # the parent (which loads every batch in turn) builds one string
                # instead of thousands (loads 0.83 -> 0.47 us a row).
                first: dict[str, str] = {}
                col[name] = list(map(first.setdefault, col[name], col[name]))
        if "email" in col:
            texts = col["email"]
            low = "\n".join(texts).lower()
            emails = low.split("\n")
            if len(emails) != n:  # a cell holds a line break
                emails = list(map(str.lower, texts))
            for k in import_values.EMAIL_FAST.misfits(emails, low):
                try:
                    emails[k] = email(texts[k])
                except ValidationError:
                    bad.add(k)
            col["email"] = emails
        if "phone" in col:
            col["phone"] = phones(col["phone"])
            if None in col["phone"]:
                bad.update(k for k, v in enumerate(col["phone"]) if v is None)
        for name in ("value", "created_at", "tags"):
            if name in col:
                col[name] = once(name, col[name])
        keyed = [col[k] for k in ("name", "email", "phone", "external_id") if k in col]
        if not keyed:
            bad.update(range(n))
        else:
            bad.update(
                k for k, any_key in enumerate(map(any, zip(*keyed, strict=True))) if not any_key
            )
        if customs:
            ccols = [cells(i) for i, _ in customs]
            names = [name for _, name in customs]
            col["fields"] = [
                json.dumps({k: v for k, v in zip(names, row, strict=True) if v}, ensure_ascii=False)
                if any(row) else "{}"
                for row in zip(*ccols, strict=True)
            ]  # fmt: skip
        filler = {"tags": "[]", "created_at": now_s}
        rows: list[tuple[Any, ...] | None] = list(
            zip(
                *[col[c] if c in col else repeat(filler.get(c, ""), n) for c in shape.var],
                strict=True,
            )
        )
        for k in bad:
            rows[k] = None
        notes: list[str | None] = [v or None for v in col["note"]] if "note" in col else [None] * n
        return rows, notes

    return run
