"""The bulk import scores its new leads in the converting children
(scoring.NewLeads), not in a pass over the database afterwards: what it
stores must be exactly what that pass would store (scores, score_updated_at,
score history), for every rule a user can write.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadctl import importer, scoring
from leadctl.dates import to_store
from leadctl.db import open_db

UTC = timezone.utc
NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)  # the suite's fixed clock
NOW_S = to_store(NOW)

# Every kind of field a rule reads, each operator at least once.
RULES = [
    ("nm", "name", "contains", "a", 3, "fit"),
    ("em", "has:email", "eq", "yes", 5, "fit"),
    ("ph", "has:phone", "exists", None, 1.25, "fit"),
    ("co", "company", "eq", "PT Maju 1", 4, "fit"),
    ("src", "source", "in", "referral,ads", 2, "fit"),
    ("val", "value", "between", "1000000..10000000", 7, "fit"),
    ("valbig", "value", "gte", "500000", 1.5, "fit"),
    ("stg", "stage", "eq", "contacted", 3, "engagement"),
    ("kind", "stage_kind", "eq", "won", 10, "fit"),
    ("own", "owner", "exists", None, 2, "fit"),
    ("hasown", "has:owner", "eq", "no", -1, "negative"),
    ("tag", "tags", "contains", "hot", 3, "fit"),
    ("tagne", "tags", "ne", "b2b", 1, "fit"),
    ("dnc", "do_not_contact", "eq", "yes", -30, "negative"),
    ("q", "qualified", "eq", "yes", 15, "fit"),
    ("ec", "expected_close", "exists", None, 2, "fit"),
    ("city", "city", "eq", "jakarta, selatan", 1, "fit"),
    ("fld", "field:industry", "eq", "retail", 4, "fit"),
    ("fldn", "field:size", "gt", "50", 2, "fit"),
    ("ans", "answer:budget", "eq", "yes", 5, "fit"),
    ("touch", "days_since_touch", "lte", "7", 5, "engagement"),
    ("silent", "days_since_touch", "gt", "30", -10, "negative"),
    ("instage", "days_in_stage", "between", "1..90", 2, "engagement"),
    ("age", "age_days", "gte", "3", 1, "fit"),
    ("imp", "activities:import", "each", None, 0.7, "engagement"),
    ("note", "activities:note", "each", None, 3.3, "engagement"),
    ("any", "activities:any", "gte", "1", 2, "engagement"),
    ("moved", "activities:stage_change", "each", None, 1.1, "engagement"),
    ("inb", "activities:inbound", "each", None, 5, "engagement"),
    ("call", "activities:call", "each", None, 4, "engagement"),
    ("contact", "has:contact", "eq", "no", -10, "negative"),
    ("dom", "email", "contains", "example", 1, "fit"),
    ("phne", "phone", "ne", "+6281200000001", 0.1, "fit"),
    ("ext", "external_id", "exists", None, 1, "fit"),
    ("camp", "campaign", "missing", None, 1, "fit"),
    ("prod", "product", "in", "crm,erp", 1, "fit"),
    ("seg", "segment", "eq", "smb", 1, "fit"),
    ("cur", "currency", "eq", "IDR", 0.5, "fit"),
    ("capt", "captured_by", "missing", None, 0.2, "fit"),
]


def _use_rules(conn: sqlite3.Connection, rules: list[tuple[Any, ...]]) -> None:
    conn.execute("DELETE FROM score_rules")
    for name, fld, op, value, points, group in rules:
        scoring.add_rule(conn, scoring.Rule(None, name, fld, op, value, points, group))


@pytest.fixture
def big(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BIG_ROWS", 100)
    monkeypatch.setattr(importer, "BIG_COMMIT_ROWS", 250)
    monkeypatch.setattr(importer, "PIECE_MIN_BYTES", 0)  # small files in several pieces


# Dates around the clock's time of day: a whole number of days back, a
# second either side of it, and a blank (the import's own time).
DATES = ["2026-11-19 08:00:00", "2026-11-19 07:59:59", "2026-11-19 08:00:01", "2026-11-15",
         "2026-10-01", "2026-08-24 08:00", "2025-02-28", ""]  # fmt: skip


def _csv(path: Path, rows: int, history: bool) -> None:
    """Fast-path columns (and custom fields); with `history` also the columns
    the general way converts (stage, owner, dates, flags)."""
    header = ["Name", "Email", "Phone", "External ID", "Company", "Source", "Campaign",
              "Product", "Segment", "City", "Value", "Tags", "Notes", "Created", "Industry",
              "Size"]  # fmt: skip
    if history:
        header += ["Stage", "Owner", "Closed At", "Do Not Contact", "Qualified",
                   "Expected Close", "Last Contacted"]  # fmt: skip
    lines = [",".join(header)]
    for i in range(rows):
        cells = [
            f"Lead {i}" if i % 6 else "Budi",
            f"lead{i % 450}@example.com" if i % 7 else (f"x{i}@other.org" if i % 2 else ""),
            f"0812{i % 500:08d}" if i % 5 else "",
            f"EXT-{i}" if i % 9 == 0 else "",
            f"PT Maju {i % 4}" if i % 3 else "",
            ["referral", "ads", "web", ""][i % 4],
            "spring" if i % 8 == 0 else "",
            ["crm", "erp", "hr", ""][i % 4],
            "smb" if i % 2 else "",
            '"Jakarta, Selatan"' if i % 2 else "Bandung",
            ["Rp 7.500.000", "500000", '"15,000,000"', "", "1.5jt"][i % 5],
            ["hot;b2b", "b2b", "", "hot"][i % 4],
            f"called {i}" if i % 4 == 0 else "",
            DATES[i % len(DATES)],
            ["retail", "", "energy"][i % 3],
            ["10", "75", ""][i % 3],
        ]
        if history:
            stage = ["", "contacted", "won", "lost", "qualified"][i % 5]
            dated = DATES[i % len(DATES)] != ""  # else created now: closing before it
            closed = "2026-11-20" if stage in ("won", "lost") and i % 2 and dated else ""
            cells += [
                stage,
                "sari" if i % 3 else "",
                closed,
                "yes" if i % 13 == 0 else "",
                "yes" if i % 4 == 1 else "no",
                "2027-01-15" if i % 6 == 0 else "",
                "2026-11-21" if i % 10 == 3 else "",
            ]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _scores(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """The leads' scores and score history, lead ids as their rank."""
    rank = {r[0]: i for i, r in enumerate(conn.execute("SELECT id FROM leads ORDER BY id"), 1)}
    leads = conn.execute("SELECT id, name, score, score_updated_at FROM leads ORDER BY id")
    hist = conn.execute(
        "SELECT lead_id, at, old_score, new_score FROM score_history ORDER BY lead_id, id"
    )
    return {
        "leads": [(rank[r[0]], *r[1:]) for r in leads],
        "history": [(rank.get(r[0]), *r[1:]) for r in hist],
    }


def _import(
    conn: sqlite3.Connection, path: Path, monkeypatch: pytest.MonkeyPatch, bulk: bool
) -> tuple[importer.ImportResult, list[tuple[int, list[int]]]]:
    """Import by the bulk path or the ordinary one; each bulk batch's unscored
    rows, and how many rows it has, as (rows, unscored)."""
    unscored: list[tuple[int, list[int]]] = []
    write_bulk = importer._write_bulk

    def spy(run: Any, b: Any) -> None:
        unscored.append((len(b.rows), list(b.unscored)))
        write_bulk(run, b)

    monkeypatch.setattr(importer, "_write_bulk", spy)
    monkeypatch.setattr(importer, "BIG_ROWS", 100 if bulk else 10**9)
    opts = importer.ImportOptions(batch_size=100)
    result = importer.run_import(conn, path, opts, now=NOW, tz=UTC, actor="tester")
    monkeypatch.setattr(importer, "_write_bulk", write_bulk)
    return result, unscored


@pytest.mark.parametrize("history", [False, True], ids=["fast-columns", "history-columns"])
def test_bulk_scores_are_what_scoring_afterwards_stores(tmp_path, big, monkeypatch, history):
    csv_path = tmp_path / "leads.csv"
    _csv(csv_path, 700, history)
    got = {}
    for name in ("plain", "bulk"):
        conn = open_db(tmp_path / f"{name}.db")
        _use_rules(conn, RULES)
        result, unscored = _import(conn, csv_path, monkeypatch, bulk=name == "bulk")
        assert result.inserted > 400 and not result.rejected
        if name == "bulk":
            assert len(unscored) > 3  # several batches, every row scored in a child
            assert all(rows and not none for rows, none in unscored)
        else:
            assert unscored == []  # the ordinary path: scored afterwards
        got[name] = _scores(conn)
        # Scoring again changes nothing: no score, no history row.
        assert scoring.score_all(conn, NOW).changed == 0
        assert _scores(conn) == got[name]
        conn.close()
    assert got["bulk"] == got["plain"]
    scores = {s for _, _, s, _ in got["bulk"]["leads"]}
    assert len(scores) > 10  # the rules tell the leads apart
    assert all(at == NOW_S for _, _, _, at in got["bulk"]["leads"])


def test_rows_a_child_cannot_score_are_scored_from_the_database(tmp_path, big, monkeypatch):
    """A rule the children cannot read (written into the table by hand, not
    through `score rules`) leaves every row to the writer, which scores them
    from the database as the ordinary path does."""
    csv_path = tmp_path / "leads.csv"
    _csv(csv_path, 400, history=False)
    got = {}
    for name in ("plain", "bulk"):
        conn = open_db(tmp_path / f"{name}.db")
        _use_rules(conn, RULES[:5])
        conn.execute(
            "INSERT INTO score_rules (name, field, operator, value, points, grp, active)"
            " VALUES ('by_id', 'id', 'gt', '100', 9, 'fit', 1)"
        )
        _, unscored = _import(conn, csv_path, monkeypatch, bulk=name == "bulk")
        if name == "bulk":
            assert len(unscored) > 3
            assert all(none == list(range(rows)) for rows, none in unscored)
        got[name] = _scores(conn)
        conn.close()
    assert got["bulk"] == got["plain"]


def test_no_score_stores_no_score(tmp_path, big) -> None:
    csv_path = tmp_path / "leads.csv"
    _csv(csv_path, 300, history=True)
    conn = open_db(tmp_path / "n.db")
    opts = importer.ImportOptions(batch_size=100, score=False)
    result = importer.run_import(conn, csv_path, opts, now=NOW, tz=UTC, actor=None)
    assert result.inserted > 200
    assert conn.execute("SELECT count(*) FROM leads WHERE score IS NOT NULL").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM score_history").fetchone()[0] == 0
    conn.close()


def test_a_swept_lead_leaves_no_score_history(tmp_path, big, monkeypatch) -> None:
    """Duplicates of leads already in the database are stored, then swept:
    with their score history."""
    conn = open_db(tmp_path / "s.db")
    conn.execute(
        "INSERT INTO leads (name, email, currency, stage, created_at, updated_at,"
        " stage_entered_at) VALUES ('Old', 'lead5@example.com', 'IDR', 'new', ?, ?, ?)",
        ("2025-01-01T00:00:00Z",) * 3,
    )
    conn.commit()
    csv_path = tmp_path / "leads.csv"
    _csv(csv_path, 600, history=False)
    result, unscored = _import(conn, csv_path, monkeypatch, bulk=True)
    assert result.skipped_duplicates > 100 and not any(none for _, none in unscored)
    orphans = conn.execute(
        "SELECT count(*) FROM score_history WHERE lead_id NOT IN (SELECT id FROM leads)"
    ).fetchone()[0]
    assert orphans == 0
    new = conn.execute("SELECT count(*) FROM score_history WHERE lead_id > 1").fetchone()[0]
    assert new == result.inserted  # (and lead 1, already there, rescored)
    conn.close()


# ---- NewLeads against the database, value by value ---------------------------

_STAGES = {"new": "open", "contacted": "open", "qualified": "open", "won": "won", "lost": "lost"}
_TIMES = [NOW - timedelta(days=d, seconds=s) for d in (0, 1, 3, 7, 8, 30, 31, 90, 400)
          for s in (-1, 0, 1)]  # fmt: skip
_text = st.one_of(st.none(), st.sampled_from(["a", "Budi", "PT Maju 1", "referral", "ads",
                                               "crm", "smb", "IDR", "sari", "x@example.com",
                                               "+6281200000001", "jakarta, selatan"]))  # fmt: skip
_when = st.sampled_from(_TIMES).map(to_store)


@st.composite
def _lead(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    created = draw(st.sampled_from(_TIMES))
    entered = draw(st.sampled_from([t for t in _TIMES if t >= created]))
    stage = draw(st.sampled_from(sorted(_STAGES)))
    touch = draw(st.one_of(st.none(), _when))
    row = {c: draw(_text) for c in scoring.NEW_LEAD_COLUMNS}
    row.update(
        value=draw(st.one_of(st.none(), st.integers(-(10**9), 10**10))),
        currency="IDR", stage=stage,
        tags=draw(st.sampled_from(["[]", '["hot"]', '["b2b", "hot"]', '["b2b"]'])),
        fields=draw(st.sampled_from(["{}", '{"industry": "retail"}', '{"size": "75"}',
                                     '{"size": 80, "industry": "Retail"}'])),
        do_not_contact=draw(st.integers(0, 1)), qualified=draw(st.integers(0, 1)),
        created_at=to_store(created), stage_entered_at=to_store(entered), last_touch_at=touch,
    )  # fmt: skip
    extra = []
    if stage != "new":
        extra.append(("stage_change", to_store(entered)))
    if draw(st.booleans()):
        extra.append(("note", draw(_when)))
    return row, extra


_DB: dict[str, sqlite3.Connection] = {}


def _db(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    if "conn" not in _DB:
        _DB["conn"] = open_db(tmp_path_factory.mktemp("newleads") / "n.db")
    return _DB["conn"]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rules=st.lists(st.sampled_from(RULES), min_size=1, max_size=12, unique_by=lambda r: r[0]),
    leads=st.lists(_lead(), min_size=1, max_size=12),
)
def test_new_leads_scores_what_the_database_reads_back(tmp_path_factory, rules, leads) -> None:
    conn = _db(tmp_path_factory)
    with conn:
        conn.execute("DELETE FROM activities")
        conn.execute("DELETE FROM leads")
        _use_rules(conn, rules)
    scorer = scoring.get_scorer(conn)
    rows = [tuple(r[c] for c in scoring.NEW_LEAD_COLUMNS) for r, _ in leads]
    extra = {k: acts for k, (_, acts) in enumerate(leads) if acts}
    cols = {c: [r[c] for r, _ in leads] for c in scoring.NEW_LEAD_COLUMNS}
    got = scoring.NewLeads(scorer, _STAGES, NOW).scores(len(rows), cols, extra)
    names = ", ".join(scoring.NEW_LEAD_COLUMNS)
    marks = ", ".join("?" for _ in scoring.NEW_LEAD_COLUMNS)
    with conn:
        for k, row in enumerate(rows, 1):
            conn.execute(
                f"INSERT INTO leads (id, {names}, updated_at) VALUES (?, {marks}, ?)",
                (k, *row, NOW_S),
            )
            for kind, at in [("import", NOW_S), *leads[k - 1][1]]:
                conn.execute(
                    "INSERT INTO activities (lead_id, kind, at, created_at) VALUES (?, ?, ?, ?)",
                    (k, kind, at, NOW_S),
                )
    want = [scorer.total(scoring.load_facts(conn, k, NOW), NOW) for k in range(1, len(rows) + 1)]
    assert got == want


def test_a_value_the_database_would_hand_back_changed_is_left_unscored(tmp_path) -> None:
    """An int in a TEXT column comes back as a text, a bool in an INTEGER one
    as an int: NewLeads does not guess, the writer scores the row from the
    database."""
    conn = open_db(tmp_path / "odd.db")
    _use_rules(conn, [r for r in RULES if r[1] in ("name", "value", "tags", "stage_kind")])
    scorer = scoring.get_scorer(conn)
    conn.close()
    base = {c: None for c in scoring.NEW_LEAD_COLUMNS}
    base.update(currency="IDR", stage="won", tags='["hot"]', fields="{}", do_not_contact=0,
                qualified=0, created_at=NOW_S, stage_entered_at=NOW_S, name="Ana",
                value=600_000)  # fmt: skip
    odd = [dict(base, name=5), dict(base, value=True), dict(base, value=2.5),
           dict(base, stage="nowhere"), dict(base, tags=["hot"])]  # fmt: skip
    leads = [base, *odd, base]
    cols = {c: [r[c] for r in leads] for c in scoring.NEW_LEAD_COLUMNS}
    got = scoring.NewLeads(scorer, _STAGES, NOW).scores(len(leads), cols, {})
    # name contains a (3), value >= 500000 (1.5), tag hot (3), not b2b (1), won
    # (10): 18.5, rounded half to even
    assert got == [18, None, None, None, None, None, 18]


# ---- what the rescoring after a bulk load still does -------------------------


def _bulk(conn: sqlite3.Connection, path: Path, **kw: Any) -> importer.ImportResult:
    opts = importer.ImportOptions(batch_size=100, **kw)
    return importer.run_import(conn, path, opts, now=NOW, tz=UTC, actor=None)


def test_leads_already_in_the_database_are_rescored_as_before(tmp_path, big) -> None:
    """More than 200 new leads rescore every lead (as `score --all`): the
    children scored the new ones, the writer rescores those before them."""
    conn = open_db(tmp_path / "e.db")
    _use_rules(conn, [r for r in RULES if r[1] in ("age_days", "days_since_touch", "name")])
    with conn:
        for k in range(30):
            conn.execute(
                "INSERT INTO leads (name, currency, stage, created_at, updated_at,"
                " stage_entered_at, score) VALUES (?, 'IDR', 'new', ?, ?, ?, 0)",
                (f"Old {k}", *(to_store(NOW - timedelta(days=k * 3)),) * 3),
            )
    csv_path = tmp_path / "leads.csv"
    _csv(csv_path, 600, history=False)
    assert _bulk(conn, csv_path).inserted > 400
    assert scoring.score_all(conn, NOW).changed == 0
    moved = conn.execute("SELECT count(*) FROM score_history WHERE lead_id <= 30").fetchone()[0]
    nonzero = conn.execute("SELECT count(*) FROM leads WHERE id <= 30 AND score > 0").fetchone()[0]
    assert moved == nonzero > 5  # the stale scores (0) of the existing leads moved
    conn.close()


def test_a_rule_added_during_the_import_is_applied(tmp_path, big, monkeypatch) -> None:
    """The children score with the rules of the import's start; a rule added
    meanwhile (another terminal's `score rules add`) rescores every lead."""
    db_file = tmp_path / "r.db"
    conn = open_db(db_file)
    _use_rules(conn, RULES[:3])
    loop = importer._loop
    added: list[int] = []

    def add_rule_between_commits(run: Any, batches: Any, *args: Any) -> None:
        def between() -> Any:
            for b in batches:
                if not added and run.result.inserted >= 200 and not run.conn.in_transaction:
                    other = open_db(db_file)
                    rule = scoring.Rule(None, "late", "name", "contains", "1", 9, "fit")
                    scoring.add_rule(other, rule)
                    other.close()
                    added.append(run.result.inserted)
                yield b

        loop(run, between(), *args)

    monkeypatch.setattr(importer, "_loop", add_rule_between_commits)
    csv_path = tmp_path / "leads.csv"
    _csv(csv_path, 600, history=False)
    assert _bulk(conn, csv_path).inserted > 400 and added
    assert scoring.score_all(conn, NOW).changed == 0
    assert conn.execute("SELECT count(*) FROM leads WHERE score >= 9").fetchone()[0] > 50
    conn.close()


def test_a_resumed_import_scores_the_leads_of_the_run_before(tmp_path, big, monkeypatch):
    """Interrupted with --no-score, run again with scoring (the same options
    as far as resuming goes): the first run's leads are scored too."""
    conn = open_db(tmp_path / "resume.db")
    write_bulk = importer._write_bulk

    def crash_after_a_commit(run: Any, b: Any) -> None:
        if run.result.read > 250:  # a commit came after 250 rows
            raise KeyboardInterrupt
        write_bulk(run, b)

    monkeypatch.setattr(importer, "_write_bulk", crash_after_a_commit)
    csv_path = tmp_path / "leads.csv"
    _csv(csv_path, 4000, history=True)
    with pytest.raises(KeyboardInterrupt):
        _bulk(conn, csv_path, score=False)
    first = conn.execute("SELECT count(*) FROM leads").fetchone()[0]
    assert 0 < first < 400  # so the rerun takes the bulk path too
    assert conn.execute("SELECT count(score) FROM leads").fetchone()[0] == 0
    monkeypatch.setattr(importer, "_write_bulk", write_bulk)
    rescores: list[int] = []  # a resumed import rescores every lead (see _rescore_all)
    rescore_all = importer._rescore_all
    monkeypatch.setattr(importer, "_rescore_all", lambda run: rescores.append(1) or
                        rescore_all(run))  # fmt: skip
    again = _bulk(conn, csv_path)
    assert again.resumed_after_line and again.inserted > 200 and rescores
    assert conn.execute("SELECT count(*) FROM leads WHERE score IS NULL").fetchone()[0] == 0
    assert scoring.score_all(conn, NOW).changed == 0
    conn.close()


@pytest.mark.parametrize("how", ["some rows", "an error"])
def test_rows_left_unscored_by_a_child_are_scored_by_the_writer(tmp_path, big, monkeypatch, how):
    """Rows the children leave unscored (every third here), or every row of a
    batch whose scoring failed, come out as the ordinary path scores them."""
    csv_path = tmp_path / "leads.csv"
    _csv(csv_path, 700, history=True)
    scores = scoring.NewLeads.scores

    def some_left(self: Any, n: int, cols: Any, extra: Any) -> list[int | None]:
        if how == "an error":
            raise RuntimeError("a bug")
        return [None if k % 3 == 0 else s for k, s in enumerate(scores(self, n, cols, extra))]

    got = {}
    for name in ("plain", "bulk"):
        conn = open_db(tmp_path / f"{name}.db")
        _use_rules(conn, RULES)
        if name == "bulk":
            monkeypatch.setattr(scoring.NewLeads, "scores", some_left)
        _, unscored = _import(conn, csv_path, monkeypatch, bulk=name == "bulk")
        if name == "bulk":
            assert all(none for _, none in unscored)
        got[name] = _scores(conn)
        conn.close()
    leads = [r[:3] for r in got["plain"]["leads"]]
    assert [r[:3] for r in got["bulk"]["leads"]] == leads  # the same scores
    assert scoring.score_all(open_db(tmp_path / "bulk.db"), NOW).changed == 0
