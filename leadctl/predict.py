"""Learned win probability: naive Bayes over (field, value) frequencies.

Odoo's predictive lead scoring, on closed leads (won vs lost):

    P(value | won) = (won leads with value + 0.1) / Σ over the field's values
    S_won  = P(won)  × Π P(value | won)     over the lead's known (field, value)s
    S_lost = P(lost) × Π P(value | lost)
    p      = S_won / (S_won + S_lost)

Values never seen in training are skipped, as Odoo does. Numbers (deal value,
numeric custom fields and answers) are binned at training-time quantiles.
Computed in log space so fifty fields do not underflow.

The result goes to `leads.probability_auto` (percent) of open leads only;
`probability_manual`, a person's override, is never touched.
"""

from __future__ import annotations

import json
import math
import sqlite3
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from leadctl.dates import to_store
from leadctl.db import get_setting, set_setting, transaction
from leadctl.errors import UsageError, ValidationError, bad_stored_json, stored_json

MODEL_NAME = "win_probability"
SMOOTHING = 0.1
MAX_BINS = 8
MIN_WON = 1
MIN_LOST = 1
# Field groups a person can list in `score --train --fields`.
DEFAULT_FIELDS = (
    "source", "campaign", "product", "segment", "city", "tags", "stage_reached", "value",
    "answers", "fields",
)  # fmt: skip
COLUMN_FIELDS = ("source", "campaign", "product", "segment", "city", "owner", "captured_by",
                 "currency", "company")  # fmt: skip
SPECIAL_FIELDS = ("tags", "stage_reached", "value", "answers", "fields")
WON_KINDS = ("won", "inactive")  # inactive = was a customer: it was won
LOST_KINDS = ("lost",)

Raw = list[tuple[str, Any]]


@dataclass
class Sample:
    lead_id: int
    won: bool | None  # None for open leads
    raw: Raw
    current: float | None = None  # the stored probability_auto


# ---- fields -----------------------------------------------------------------


def check_fields(names: Iterable[str]) -> list[str]:
    out = []
    for n in names:
        f = n.strip()
        if not f:
            continue
        prefix, sep, rest = f.partition(":")
        ok = (not sep and f in (*COLUMN_FIELDS, *SPECIAL_FIELDS)) or (
            sep and prefix in ("field", "answer") and rest
        )
        if not ok:
            raise ValidationError(
                f"Unknown prediction field {f!r}",
                f"Use: {', '.join((*COLUMN_FIELDS, *SPECIAL_FIELDS))}, field:<name>, "
                "answer:<criterion>.",
            )
        if f not in out:
            out.append(f)
    if not out:
        raise ValidationError("No prediction fields given", "Example: --fields source,tags,value")
    return out


def configured_fields(conn: sqlite3.Connection) -> list[str]:
    return list(get_setting(conn, "predict_fields", list(DEFAULT_FIELDS)))


def set_fields(conn: sqlite3.Connection, names: Iterable[str]) -> list[str]:
    fields = check_fields(names)
    with transaction(conn):
        set_setting(conn, "predict_fields", fields)
    return fields


def _number(v: Any) -> float | None:
    if isinstance(v, str):
        text = v.strip()
        # Most values are words: skip the (slow) failing float() for them.
        if not text or text[0] not in "0123456789-+.":
            return None
        try:
            x = float(text.replace(",", ""))
        except ValueError:
            return None
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        x = float(v)
    else:
        return None
    return x if math.isfinite(x) else None


def load_samples(
    conn: sqlite3.Connection, fields: list[str], *, closed: bool | None = None,
    lead_id: int | None = None,
) -> list[Sample]:  # fmt: skip
    """Leads with their raw (field, value) pairs: closed=True only won/lost, False only open."""
    where: list[str] = []
    params: list[Any] = []
    if closed is True:
        kinds = (*WON_KINDS, *LOST_KINDS)
        where.append(f"s.kind IN ({', '.join('?' * len(kinds))})")
        params += list(kinds)
    elif closed is False:
        where.append("s.kind = 'open'")
    if lead_id is not None:
        where.append("l.id = ?")
        params.append(lead_id)
    columns = [f for f in fields if f in COLUMN_FIELDS]
    sql = (
        "SELECT l.id, s.kind, l.tags, l.fields, l.value, l.probability_auto"
        + "".join(f", l.{c}" for c in columns)
        + " FROM leads l JOIN stages s ON s.name = l.stage"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY l.id"
    )
    want_answers = "answers" in fields or any(f.startswith("answer:") for f in fields)
    answers: dict[int, dict[str, str]] = defaultdict(dict)
    types: dict[str, str] = {}
    if want_answers:
        types = dict(conn.execute("SELECT key, type FROM criteria").fetchall())
        q = "SELECT lead_id, criterion, value FROM qualification_answers"
        args: tuple[Any, ...] = ()
        if lead_id is not None:
            q += " WHERE lead_id = ?"
            args = (lead_id,)
        for r in conn.execute(q, args):
            answers[r[0]][r[1]] = r[2]
    reached: dict[int, str] = {}
    if "stage_reached" in fields:
        # The furthest open stage a lead was ever in (Odoo's "stage reached"):
        # a lost lead that got to negotiation says more than one lost at new.
        q = (
            # SQLite takes the bare column s.name from the row holding MAX().
            "SELECT h.lead_id, s.name, MAX(s.position) FROM stage_history h"
            " JOIN stages s ON s.name = h.stage WHERE s.kind = 'open'"
            + (" AND h.lead_id = ?" if lead_id is not None else "") + " GROUP BY h.lead_id"
        )  # fmt: skip
        for r in conn.execute(q, (lead_id,) if lead_id is not None else ()):
            reached[r[0]] = r[1]
    want_custom = "fields" in fields or any(f.startswith("field:") for f in fields)
    want_tags = "tags" in fields
    out = []
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: ~3× cheaper than sqlite3.Row on 100k leads
    for row in cur.execute(sql, params):
        lid, kind, tags_json, fields_json, value, current = row[:6]
        col_values = dict(zip(columns, row[6:], strict=True))
        won = True if kind in WON_KINDS else False if kind in LOST_KINDS else None
        custom: dict[str, Any] = (
            stored_json(fields_json, dict, f"lead {lid}'s custom fields", {})
            if want_custom and fields_json != "{}"
            else {}
        )
        lead_answers = answers.get(lid, {})
        raw: Raw = []
        for f in fields:
            if f in COLUMN_FIELDS:
                v = col_values[f]
                if v not in (None, ""):
                    raw.append((f, str(v).strip().casefold()))
            elif f == "tags":
                if want_tags and tags_json and tags_json != "[]":
                    raw += [
                        ("tags", t)
                        for t in stored_json(tags_json, list, f"lead {lid}'s tags", [], texts=True)
                    ]
            elif f == "stage_reached":
                if lid in reached:
                    raw.append((f, reached[lid]))
            elif f == "value":
                if value is not None:
                    raw.append(("value", float(value)))
            elif f == "fields":
                raw += [(f"field:{k}", v) for k, v in custom.items() if v not in (None, "")]
            elif f == "answers":
                raw += [
                    (f"answer:{k}", _answer_value(types.get(k), v))
                    for k, v in lead_answers.items() if v not in (None, "")
                ]  # fmt: skip
            elif f.startswith("field:"):
                v = custom.get(f[6:])
                if v not in (None, ""):
                    raw.append((f, v))
            elif f.startswith("answer:"):
                v = lead_answers.get(f[7:])
                if v not in (None, ""):
                    raw.append((f, _answer_value(types.get(f[7:]), v)))
        out.append(Sample(lid, won, raw, current))
    return out


def _answer_value(type_: str | None, value: str) -> Any:
    # Free text and dates are too varied to count; whether they were given is the signal.
    if type_ in ("text", "date"):
        return "given"
    if type_ == "number":
        return _number(value)
    return value


# ---- the model --------------------------------------------------------------


@dataclass
class Model:
    fields: list[str]
    bins: dict[str, list[float]]
    freq: dict[str, dict[str, list[float]]]
    won: int
    lost: int
    signature: str = ""
    trained_at: str = ""
    totals: dict[str, list[float]] = field(default_factory=dict)
    # (field, raw value) -> bin label, memoised: the same values repeat a lot.
    labels: dict[tuple[str, Any], str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.totals:
            for f, values in self.freq.items():
                self.totals[f] = [
                    sum(c[0] for c in values.values()) + SMOOTHING * len(values),
                    sum(c[1] for c in values.values()) + SMOOTHING * len(values),
                ]

    def to_json(self) -> str:
        d = asdict(self)
        del d["totals"], d["labels"]
        return json.dumps(d, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Model:
        data = stored_json(text, dict, "the learned model", None)
        try:
            return cls(**data)
        except TypeError:  # other keys than a Model's
            raise bad_stored_json("the learned model") from None

    def features(self, raw: Raw) -> list[tuple[str, str]]:
        """The lead's (field, value-or-bin) pairs, each once."""
        return _featurize(self.bins, self.labels, raw)

    def contributions(self, raw: Raw) -> tuple[float, list[dict[str, Any]]]:
        """Prior log-odds and each known (field, value)'s log-odds push."""
        prior = math.log(self.won / self.lost)
        parts = []
        for f, label in self.features(raw):
            counts = self.freq.get(f, {}).get(label)
            if counts is None:
                continue
            parts.append({"field": f, "value": label, "weight": self._weight(f, counts),
                          "won": counts[0], "lost": counts[1]})  # fmt: skip
        return prior, parts

    def _weight(self, f: str, counts: list[float]) -> float:
        tw, tl = self.totals[f]
        return math.log((counts[0] + SMOOTHING) / tw) - math.log((counts[1] + SMOOTHING) / tl)

    def probability_of(self, features: list[tuple[str, str]]) -> float:
        """Win probability in percent from already computed features."""
        logit = math.log(self.won / self.lost)
        for f, label in features:
            counts = self.freq.get(f, {}).get(label)
            if counts is not None:
                logit += self._weight(f, counts)
        if logit >= 0:
            p = 1.0 / (1.0 + math.exp(-logit))
        else:
            e = math.exp(logit)
            p = e / (1.0 + e)
        return p * 100.0

    def probability(self, raw: Raw) -> float:
        """Win probability in percent."""
        return self.probability_of(self.features(raw))


def _bin_label(edges: list[float], x: float) -> str:
    i = bisect_right(edges, x)
    lo = "" if i == 0 else f"{edges[i - 1]:g}"
    hi = "" if i == len(edges) else f"{edges[i]:g}"
    if not lo:
        return f"<{hi}"
    if not hi:
        return f">={lo}"
    return f"{lo}-{hi}"


def _quantile_edges(values: list[float]) -> list[float]:
    xs = sorted(values)
    n = len(xs)
    edges: list[float] = []
    for q in range(1, MAX_BINS):
        e = xs[min(n - 1, (q * n) // MAX_BINS)]
        if (not edges or e > edges[-1]) and e > xs[0]:
            edges.append(e)
    return edges


def choose_bins(samples: list[Sample]) -> dict[str, list[float]]:
    """Which features are numbers, and their quantile bin edges.

    The deal value always; any other field whose values (nearly) all read as
    numbers, with more distinct values than bins. Outcomes are not looked at.
    """
    by_feature: dict[str, list[Any]] = defaultdict(list)
    for s in samples:
        for f, v in s.raw:
            by_feature[f].append(v)
    bins: dict[str, list[float]] = {}
    for f, values in by_feature.items():
        if f in ("tags", "stage_reached"):
            continue
        allowed_misses = len(values) // 20
        nums: list[float] = []
        for v in values:
            x = _number(v)
            if x is not None:
                nums.append(x)
            elif (allowed_misses := allowed_misses - 1) < 0:
                break
        else:
            if f == "value" or len(set(nums)) > MAX_BINS:
                bins[f] = _quantile_edges(nums) if nums else []
    return bins


def _count(
    features: Iterable[list[tuple[str, str]]], outcomes: Iterable[bool]
) -> dict[str, dict[str, list[float]]]:
    freq: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for feats, won in zip(features, outcomes, strict=True):
        i = 0 if won else 1
        for f, label in feats:
            counts = freq[f].get(label)
            if counts is None:
                counts = freq[f][label] = [0, 0]
            counts[i] += 1
    return dict(freq)


def fit(
    samples: list[Sample], fields: list[str], bins: dict[str, list[float]] | None = None
) -> Model:
    """Train on the closed samples (won True/False) among `samples`."""
    closed = [s for s in samples if s.won is not None]
    n_won = sum(1 for s in closed if s.won)
    bins = choose_bins(closed) if bins is None else bins
    labels: dict[tuple[str, Any], str] = {}
    freq = _count((_featurize(bins, labels, s.raw) for s in closed), (bool(s.won) for s in closed))
    return Model(fields, bins, freq, n_won, len(closed) - n_won)


def _featurize(
    bins: dict[str, list[float]], labels: dict[tuple[str, Any], str], raw: Raw
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for f, v in raw:
        edges = bins.get(f)
        if edges is None:
            label = v if isinstance(v, str) else str(v)
        else:
            key = (f, v)
            cached = labels.get(key)
            if cached is None:
                x = _number(v)
                if x is None:
                    continue
                cached = labels[key] = _bin_label(edges, x)
            label = cached
        if (f, label) not in seen:
            seen.add((f, label))
            out.append((f, label))
    return out


# ---- training, storing, predicting ------------------------------------------


def closed_counts(conn: sqlite3.Connection) -> tuple[int, int, str]:
    """(won, lost, signature): the signature changes whenever the closed set
    does, i.e. which leads are won and which lost (a digest of their ids:
    sums of ids would not tell won {1, 4} from won {2, 3})."""
    import hashlib
    from array import array

    ids = array("q")
    for lead_id, won in conn.execute(
        "SELECT l.id, s.kind <> 'lost' FROM leads l JOIN stages s ON s.name = l.stage"
        " WHERE s.kind IN ('won', 'inactive', 'lost') ORDER BY l.id"
    ):
        ids.append(lead_id if won else -lead_id)
    lost = sum(1 for i in ids if i < 0)
    won = len(ids) - lost
    digest = hashlib.blake2b(ids.tobytes(), digest_size=16).hexdigest()
    return won, lost, f"{won}:{lost}:{digest}"


def _refuse_if_too_few(won: int, lost: int) -> None:
    if won < MIN_WON or lost < MIN_LOST:
        raise UsageError(
            f"Training needs at least {MIN_WON} won and {MIN_LOST} lost lead(s); this database "
            f"has {won} won and {lost} lost",
            "Close some leads first (leadctl advance ID --to won / --to lost --reason ...); "
            "until then the stage default probability is used (`leadctl score --all` drops "
            "a model trained before).",
        )


def load_model(conn: sqlite3.Connection) -> Model | None:
    row = conn.execute("SELECT data FROM models WHERE name = ?", (MODEL_NAME,)).fetchone()
    if row is None:
        return None
    cached = _CACHE.get("model")
    if cached is not None and cached[0] == row[0]:
        return cached[1]
    model = Model.from_json(row[0])
    _CACHE["model"] = (row[0], model)
    return model


# Parsing the model once per distinct JSON text: rescoring after every write
# would otherwise re-read it for each activity of a bulk import.
_CACHE: dict[str, tuple[str, Model]] = {}


@dataclass
class TrainResult:
    won: int
    lost: int
    fields: list[str]
    features: int
    predicted: int
    trained_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def train(
    conn: sqlite3.Connection, now: datetime, *, fields: list[str] | None = None
) -> TrainResult:
    """Fit on every won/lost lead, store the model, and predict every open lead."""
    with transaction(conn):
        won, lost, signature = closed_counts(conn)
        _refuse_if_too_few(won, lost)
        use = fields or configured_fields(conn)
        model = fit(load_samples(conn, use, closed=True), use)
        model.signature = signature
        model.trained_at = to_store(now)
        conn.execute(
            "INSERT INTO models (name, trained_at, data) VALUES (?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET trained_at = excluded.trained_at,"
            " data = excluded.data",
            (MODEL_NAME, model.trained_at, model.to_json()),
        )
        n = predict_open(conn, model)
    n_features = sum(len(v) for v in model.freq.values())
    return TrainResult(won, lost, use, n_features, n, model.trained_at)


def is_stale(conn: sqlite3.Connection) -> bool:
    model = load_model(conn)
    if model is None:
        return True
    return model.signature != closed_counts(conn)[2]


def ensure_trained(conn: sqlite3.Connection, now: datetime) -> TrainResult | None:
    """Retrain when the closed leads changed since training (and training is
    possible: see drop_untrainable)."""
    if not is_stale(conn):
        return None
    won, lost, _ = closed_counts(conn)
    if won < MIN_WON or lost < MIN_LOST:
        return None
    return train(conn, now)


def drop_untrainable(conn: sqlite3.Connection) -> int:
    """When training is no longer possible (no won or no lost lead left),
    drop the model: the open leads go back to their stage's probability, as
    `score --train`'s refusal says (a model of leads that are no longer
    closed would go on predicting from them). Returns how many leads'
    learned probability was cleared."""
    won, lost, _ = closed_counts(conn)
    if won >= MIN_WON and lost >= MIN_LOST:
        return 0
    with transaction(conn):
        if not conn.execute("DELETE FROM models WHERE name = ?", (MODEL_NAME,)).rowcount:
            return 0
        return int(
            conn.execute(
                "UPDATE leads SET probability_auto = NULL WHERE probability_auto IS NOT NULL"
            ).rowcount
        )


def rename_stage_reached(conn: sqlite3.Connection, old: str, new: str) -> None:
    """A renamed stage keeps what the model learned of it (`stage_reached`)."""
    row = conn.execute("SELECT data FROM models WHERE name = ?", (MODEL_NAME,)).fetchone()
    if row is None:
        return
    model = Model.from_json(row[0])
    counts = model.freq.get("stage_reached")
    if not counts or old not in counts:
        return
    model.freq["stage_reached"] = {(new if k == old else k): v for k, v in counts.items()}
    conn.execute("UPDATE models SET data = ? WHERE name = ?", (model.to_json(), MODEL_NAME))


def predict_open(conn: sqlite3.Connection, model: Model) -> int:
    """Write the model's probability to every open lead; return how many changed."""
    rows = []
    for s in load_samples(conn, model.fields, closed=False):
        p = round(model.probability(s.raw), 2)
        if p != s.current:
            rows.append((p, s.lead_id))
    conn.executemany("UPDATE leads SET probability_auto = ? WHERE id = ?", rows)
    return len(rows)


def update_lead(conn: sqlite3.Connection, lead_id: int) -> None:
    """Refresh one open lead's learned probability with the stored model."""
    model = load_model(conn)
    if model is None:
        return
    samples = load_samples(conn, model.fields, closed=False, lead_id=lead_id)
    if samples:
        conn.execute(
            "UPDATE leads SET probability_auto = ? WHERE id = ?",
            (round(model.probability(samples[0].raw), 2), lead_id),
        )


def explain(conn: sqlite3.Connection, lead_id: int) -> dict[str, Any] | None:
    """The fields that push a lead's learned probability up or down."""
    model = load_model(conn)
    if model is None:
        return None
    samples = load_samples(conn, model.fields, lead_id=lead_id)
    if not samples:
        return None
    prior, parts = model.contributions(samples[0].raw)
    parts.sort(key=lambda p: -abs(p["weight"]))
    for p in parts:
        p["weight"] = round(p["weight"], 3)
    _add_ranges(model, samples[0].raw, parts)
    return {
        "probability": round(model.probability(samples[0].raw), 2),
        "prior_log_odds": round(prior, 3),
        "trained_at": model.trained_at,
        "trained_on": {"won": model.won, "lost": model.lost},
        "factors": parts,
    }


def _add_ranges(model: Model, raw: Raw, parts: list[dict[str, Any]]) -> None:
    """A binned number's factor gets its bin as numbers, `from` (inclusive)
    and `below` (exclusive; None for an open end): the label (`>=2e+06`) is
    the model's key, kept as trained, and too rough to show a deal value."""
    values = {f: x for f, v in raw if f in model.bins and (x := _number(v)) is not None}
    for p in parts:
        edges = model.bins.get(p["field"])
        x = values.get(p["field"])
        if edges is None or x is None:
            continue
        i = bisect_right(edges, x)
        p["from"] = edges[i - 1] if i > 0 else None
        p["below"] = edges[i] if i < len(edges) else None


def set_manual(
    conn: sqlite3.Connection, lead_id: int, probability: float | None, *, now: datetime,
    actor: str | None,
) -> None:  # fmt: skip
    """Set (or clear, with None) a person's probability override; it is never retrained."""
    from leadctl import activities
    from leadctl.leads import get_lead

    with transaction(conn):
        lead = get_lead(conn, lead_id)
        if lead.probability_manual == probability:
            return
        conn.execute(
            "UPDATE leads SET probability_manual = ?, updated_at = ? WHERE id = ?",
            (probability, to_store(now), lead_id),
        )
        activities.record(
            conn, lead_id, "field_change", at=now, now=now, actor=actor,
            data={"changes": {"probability_manual": [lead.probability_manual, probability]}},
        )  # fmt: skip


# ---- evaluation -------------------------------------------------------------


def auc(scores: list[float], labels: list[bool]) -> float:
    """Area under the ROC curve by ranks (Mann-Whitney U); tied scores share ranks."""
    n_pos = sum(1 for y in labels if y)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValidationError("AUC needs at least one won and one lost lead")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1  # ranks are 1-based
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def brier(probs: list[float], labels: list[bool]) -> float:
    """Mean squared error of probabilities (0-1) against outcomes: 0 is perfect."""
    return sum((p - (1.0 if y else 0.0)) ** 2 for p, y in zip(probs, labels, strict=True)) / len(
        probs
    )


@dataclass
class Evaluation:
    folds: int
    leads: int
    won: int
    lost: int
    auc: float
    brier: float
    brier_baseline: float
    fields: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(
    conn: sqlite3.Connection, *, folds: int = 5, fields: list[str] | None = None
) -> Evaluation:
    """k-fold cross-validated AUC and Brier score on closed leads.

    The split is deterministic and stratified: the won leads ordered by id,
    the i-th in fold i mod k, and the lost ones the same way, so every fold
    keeps some of each to learn from (with 2 won and 2 lost or more).
    """
    if folds < 2:
        raise ValidationError(f"--folds {folds} is too few", "Use 2 or more, e.g. --folds 5.")
    won, lost, _ = closed_counts(conn)
    _refuse_if_too_few(won, lost)
    if won + lost < folds or won < 2 or lost < 2:
        raise UsageError(
            f"Cross-validation with {folds} folds needs at least {folds} closed leads, 2 won "
            f"and 2 lost; this database has {won} won and {lost} lost",
            "Close more leads" + (", or use fewer --folds." if won >= 2 and lost >= 2 else "."),
        )
    use = fields or configured_fields(conn)
    samples = load_samples(conn, use, closed=True)
    # Bins come from feature values only (never outcomes), so computing them
    # once on every closed lead leaks nothing, and each lead is featurised once.
    bins = choose_bins(samples)
    memo: dict[tuple[str, Any], str] = {}
    feats = [_featurize(bins, memo, s.raw) for s in samples]
    outcomes = [bool(s.won) for s in samples]
    seen = {True: 0, False: 0}
    fold_of = []
    for won_ in outcomes:
        fold_of.append(seen[won_] % folds)
        seen[won_] += 1
    probs: list[float] = [0.0] * len(samples)
    for k in range(folds):
        train_idx = [i for i in range(len(samples)) if fold_of[i] != k]
        n_won = sum(1 for i in train_idx if outcomes[i])
        freq = _count((feats[i] for i in train_idx), (outcomes[i] for i in train_idx))
        model = Model(use, bins, freq, n_won, len(train_idx) - n_won)
        for i in range(len(samples)):
            if fold_of[i] == k:
                probs[i] = model.probability_of(feats[i]) / 100.0
    labels = [bool(s.won) for s in samples]
    base = sum(labels) / len(labels)
    return Evaluation(
        folds, len(samples), sum(labels), len(labels) - sum(labels),
        round(auc(probs, labels), 4), round(brier(probs, labels), 4),
        round(brier([base] * len(labels), labels), 4), use,
    )  # fmt: skip
