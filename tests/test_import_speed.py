"""The big-import path (issue 3's speed): deferred indexes, a converting child
process and one transaction per many rows must store exactly what the
ordinary path stores, heal after a crash, and leave the schema as the
migrations define it.

The thresholds are lowered so that a few hundred rows take the big path.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadctl import db, import_source, import_values, importer, leads
from leadctl.db import SCHEMA_VERSION, open_db
from leadctl.errors import ValidationError
from leadctl.normalize import normalize_phone
from leadctl.spool import LineSpool

UTC = timezone.utc
NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)  # the suite's fixed clock
ROWS = 600


def _write_csv(path: Path, rows: int = ROWS, stages: bool = True) -> None:
    """Without `stages` every lead is in the first stage, its dates all created_at."""
    header = ["Nama", "E-mail Address", "No HP", "Perusahaan", "Nilai Deal", "Tanggal", "Tags",
              "Catatan", "Stage", "Kota"]  # fmt: skip
    lines = [header]
    for i in range(rows):
        email = f"lead{i % 550}@example.com" if i % 7 else ""  # ~50 repeats, some keyless
        phone = f"0812{i:08d}" if i % 5 else ""
        if i % 97 == 13:
            email = "not-an-email"  # rejected
        stage = "won" if i % 11 == 0 else ("" if i % 3 else "contacted")
        note = f"called {i}" if i % 4 == 0 else ""
        city = '"Jakarta, Selatan"' if i % 2 else "Bandung"
        lines.append([f"Lead {i}", email, phone, f"PT Maju {i % 9}", f"Rp {(i % 3 + 1) * 250}.000",
                      f"2026-0{1 + i % 9}-1{i % 10}", "hot;b2b", note, stage, city])  # fmt: skip
    if not stages:
        lines = [cells[:8] + cells[9:] for cells in lines]
    path.write_text("\n".join(",".join(cells) for cells in lines) + "\n", encoding="utf-8")


@pytest.fixture
def big(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BIG_ROWS", 100)
    monkeypatch.setattr(importer, "BIG_COMMIT_ROWS", 250)
    monkeypatch.setattr(importer, "PIECE_MIN_BYTES", 0)  # small files in several pieces


def _run(conn: sqlite3.Connection, path: Path, **kw: Any) -> importer.ImportResult:
    rejects = kw.pop("rejects_out", None)
    actor = kw.pop("actor", "tester")
    opts = importer.ImportOptions(batch_size=kw.pop("batch_size", 100), **kw)
    return importer.run_import(conn, path, opts, now=NOW, tz=UTC, actor=actor, rejects_out=rejects)


def _dump(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an import writes, without the ids of activities and history;
    lead ids as their rank (the bulk path's ids skip where duplicates stood)."""
    rank = {r[0]: i for i, r in enumerate(conn.execute("SELECT id FROM leads ORDER BY id"), 1)}
    q = {
        "leads": "SELECT * FROM leads ORDER BY id",
        "activities": "SELECT lead_id, kind, at, actor, note, data, created_at FROM activities"
        " ORDER BY lead_id, id",
        "history": "SELECT h.lead_id, h.stage, h.entered_at, h.left_at, h.seconds, a.kind"
        " FROM stage_history h LEFT JOIN activities a ON a.id = h.activity_id"
        " ORDER BY h.lead_id, h.id",
        "imports": "SELECT file_name, status, last_line, rows_read, inserted, updated,"
        " skipped, rejected FROM imports ORDER BY id",
        "scores": "SELECT lead_id, at, old_score, new_score FROM score_history ORDER BY lead_id, id",
    }
    out = {k: [tuple(r) for r in conn.execute(sql)] for k, sql in q.items()}
    for k in ("leads", "activities", "history", "scores"):
        out[k] = [(rank.get(r[0]), *r[1:]) for r in out[k]]
    return out


def _indexes(conn: sqlite3.Connection) -> dict[str, str]:
    return {
        r[0]: r[1]
        for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        if r[1]
    }


def _fresh_indexes(tmp_path: Path) -> dict[str, str]:
    c = open_db(tmp_path / "fresh.db")
    try:
        return _indexes(c)
    finally:
        c.close()


@pytest.mark.parametrize("mode", ["skip", "update", "merge", "skip-no-stage"])
def test_big_path_stores_what_the_ordinary_path_stores(tmp_path, big, monkeypatch, mode) -> None:
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path, stages=not mode.endswith("no-stage"))
    mode = mode.removesuffix("-no-stage")
    out = {}
    for name in ("plain", "big"):
        if name == "plain":
            monkeypatch.setattr(importer, "BIG_ROWS", 10**9)
        else:
            monkeypatch.setattr(importer, "BIG_ROWS", 100)
        conn = open_db(tmp_path / f"{name}.db")
        rejects = io.StringIO()
        result = _run(conn, csv_path, rejects_out=rejects, on_duplicate=mode)
        out[name] = (result.to_dict(), rejects.getvalue(), _dump(conn))
        conn.close()
    plain, bigger = out["plain"], out["big"]
    for key in ("read", "inserted", "updated", "skipped_duplicates", "rejected", "preview"):
        assert plain[0][key] == bigger[0][key], key
    assert plain[0]["inserted"] > 400 and plain[0]["rejected"]
    assert plain[0]["skipped_duplicates"] + plain[0]["updated"] > 0
    # merge fills nothing here, but logs the notes of the rows it matched
    assert (plain[0]["updated"] > 0) == (mode != "skip")
    assert plain[1] == bigger[1]  # the rejects file, raw cells included
    assert plain[2] == bigger[2]


@pytest.mark.parametrize("actor", ["o'brien", None, "nul\x00in the name"])
def test_import_activities_carry_the_actor_and_the_line(tmp_path, big, monkeypatch, actor) -> None:
    """The `import` activity SQL holds the time and import id as literals:
    the actor (a quote, no actor, a NUL through the API) is stored as it is,
    on both paths."""
    csv_path = tmp_path / "leads.csv"
    csv_path.write_text(
        "name,email\n" + "".join(f"Lead {i},l{i}@example.com\n" for i in range(300)),
        encoding="utf-8",
    )
    bulk = []
    write_bulk = importer._write_bulk
    monkeypatch.setattr(importer, "_write_bulk", lambda run, b: bulk.append(write_bulk(run, b)))
    for name, big_rows in (("plain", 10**9), ("big", 100)):
        monkeypatch.setattr(importer, "BIG_ROWS", big_rows)
        conn = open_db(tmp_path / f"{name}.db")
        result = _run(conn, csv_path, actor=actor)
        assert bool(bulk) == (name == "big")
        rows = conn.execute(
            "SELECT a.id, a.lead_id, a.actor, a.data, l.email FROM activities AS a"
            " JOIN leads AS l ON l.id = a.lead_id WHERE a.kind = 'import' ORDER BY a.id"
        ).fetchall()
        assert len(rows) == result.inserted == 300, name
        for k, (act_id, lead_id, who, data, email) in enumerate(rows):
            assert (act_id, lead_id, who) == (k + 1, k + 1, actor)
            assert json.loads(data) == {"import_id": result.import_id, "line": k + 2}
            assert email == f"l{k}@example.com"
        conn.close()


def test_a_row_the_column_converter_hands_over_keeps_one_note(tmp_path, big, monkeypatch) -> None:
    """A tags cell over the column converter's text limit (the general way
    takes it) sends the row the general way: its note is stored once, as the
    ordinary path stores it, and the rows around it keep theirs."""
    csv_path = tmp_path / "leads.csv"
    rows = [
        f"Lead {i},l{i}@example.com,{'a;' * 6000 if i % 50 == 7 else 'hot'},note {i}\n"
        for i in range(300)
    ]
    csv_path.write_text("name,email,tags,note\n" + "".join(rows), encoding="utf-8")
    got = {}
    for name, big_rows in (("plain", 10**9), ("big", 100)):
        monkeypatch.setattr(importer, "BIG_ROWS", big_rows)
        conn = open_db(tmp_path / f"{name}.db")
        _run(conn, csv_path)
        got[name] = [
            tuple(r)
            for r in conn.execute(
                "SELECT lead_id, note FROM activities WHERE kind = 'note' ORDER BY lead_id, id"
            )
        ]
        conn.close()
    assert got["big"] == got["plain"] == [(i + 1, f"note {i}") for i in range(300)]


def test_big_import_leaves_the_schema_of_the_migrations(tmp_path, big, conn, cli) -> None:
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    result = _run(conn, csv_path)
    assert result.inserted > 400
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert _indexes(conn) == _fresh_indexes(tmp_path)
    assert cli.json("db", "check")["ok"] is True
    # The same file again adds nothing (the database now has more leads than
    # the file has rows: the ordinary path).
    again = _run(conn, csv_path)
    assert again.inserted == 0 and again.updated == 0


@pytest.mark.parametrize("mode", ["skip", "update"])
def test_indexes_are_deferred_during_a_big_import(tmp_path, big, conn, monkeypatch, mode) -> None:
    """The bulk path (skip) stores with no secondary index at all and sweeps
    the duplicates at the end; update/merge look keys up, so keep their indexes."""
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    seen: list[tuple[int, set[str], Any]] = []
    writer = "_write_bulk" if mode == "skip" else "_write_batch"
    original = getattr(importer, writer)

    def spy(run: Any, *args: Any) -> None:
        names = set(_indexes(run.conn))
        sweep = db.get_setting(run.conn, db.BULK_SWEEP)
        seen.append((run.conn.execute("PRAGMA user_version").fetchone()[0], names, sweep))
        original(run, *args)

    monkeypatch.setattr(importer, writer, spy)
    result = _run(conn, csv_path, on_duplicate=mode)
    version, names, sweep = seen[0]
    assert version == db.DEFERRED_INDEXES + SCHEMA_VERSION
    keys = {"idx_leads_email", "idx_leads_phone", "idx_leads_external_id"}
    if mode == "skip":
        # No column feeds external_id: its partial index gets no entry and stays;
        # Stage feeds closed_at: that one is rebuilt after the load.
        assert not keys & names - {"idx_leads_external_id"} and "idx_leads_external_id" in names
        assert "idx_leads_closed" not in names
        assert sweep["import_id"] == result.import_id and sweep["first_id"] == 1
    else:
        assert keys <= names and sweep is None
    assert "idx_leads_created" not in names and "idx_stage_history_stage_time" not in names
    assert set(_indexes(conn)) == set(_fresh_indexes(tmp_path))
    assert db.get_setting(conn, db.BULK_SWEEP) is None
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def _indexes_per_batch(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The index names there are as each bulk batch is written (filled in as it goes)."""
    seen: list[set[str]] = []
    original = importer._write_bulk

    def spy(run: Any, *args: Any) -> None:
        seen.append(set(_indexes(run.conn)))
        original(run, *args)

    monkeypatch.setattr(importer, "_write_bulk", spy)
    return seen


def test_the_bulk_path_keeps_the_partial_indexes_no_column_feeds(tmp_path, big, conn, monkeypatch):
    csv_path = tmp_path / "leads.csv"
    rows = ["Lead ID,Name,Email"] + [f"X{i % 400},Lead {i},l{i}@example.com" for i in range(600)]
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    seen = _indexes_per_batch(monkeypatch)
    result = _run(conn, csv_path, keys=("external_id",))
    assert "idx_leads_closed" in seen[0]  # no Stage, no closed date: every row NULL
    assert "idx_leads_external_id" not in seen[0]  # rebuilt after the load
    # No owner column: one owner (none), a few stages: appended to, kept.
    assert {"idx_leads_owner", "idx_leads_stage_owner"} <= seen[0]
    assert result.inserted == 400 and result.skipped_duplicates == 200
    assert set(_indexes(conn)) == set(_fresh_indexes(tmp_path))
    assert conn.execute("SELECT count(*) FROM leads WHERE closed_at IS NOT NULL").fetchone()[0] == 0


def test_the_bulk_path_rebuilds_the_owner_indexes_of_an_owner_column(tmp_path, big, monkeypatch):
    """Owners may be any number of values: kept, their inserts go anywhere."""
    csv_path = tmp_path / "leads.csv"
    rows = ["Name,Email,Owner"] + [f"Lead {i},l{i}@example.com,rep{i}" for i in range(600)]
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    conn = open_db(tmp_path / "owners.db")
    seen = _indexes_per_batch(monkeypatch)
    assert _run(conn, csv_path).inserted == 600
    assert seen and not {"idx_leads_owner", "idx_leads_stage_owner"} & seen[0]
    assert set(_indexes(conn)) == set(_fresh_indexes(tmp_path))
    assert conn.execute("SELECT count(DISTINCT owner) FROM leads").fetchone()[0] == 600
    conn.close()


def test_small_import_keeps_the_ordinary_path(tmp_path, conn, monkeypatch) -> None:
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path, 200)

    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("a small import must not defer indexes")

    monkeypatch.setattr(importer, "defer_indexes", boom)
    monkeypatch.setattr(importer, "_worker_batches", boom)
    assert _run(conn, csv_path).inserted > 100


def _plain_and_big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, csv_path: Path) -> Any:
    out = {}
    for name in ("plain", "big"):
        monkeypatch.setattr(importer, "BIG_ROWS", 10**9 if name == "plain" else 100)
        conn = open_db(tmp_path / f"{name}.db")
        rejects = io.StringIO()
        result = _run(conn, csv_path, rejects_out=rejects)
        out[name] = (result.to_dict(), rejects.getvalue(), _dump(conn))
        conn.close()
    return out["plain"], out["big"]


def test_a_wrong_cut_is_caught_and_one_child_reads_on(tmp_path, monkeypatch) -> None:
    # A stray quote in an unquoted cell ('5" screen', text to the csv module)
    # makes the quote count odd at every later record start and even inside
    # each quoted note with a line break: the pieces are cut inside records.
    csv_path = tmp_path / "leads.csv"
    lines = ["Nama,E-mail Address,No HP,Catatan"]
    for i in range(1200):
        name = 'TV 5" screen' if i == 40 else f"Lead {i}"
        note = f'"called {i}\nagain"' if i > 40 else ""
        lines.append(f"{name},lead{i % 1100}@example.com,0812{i:08d},{note}")
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    info = import_source.inspect_file(csv_path, name="leads.csv")
    with csv_path.open("r", encoding="utf-8", newline="") as fh:
        starts_of_records = {r[0] for r in import_source.open_reader(info, fh).rows}
    monkeypatch.setattr(importer, "PIECE_MIN_BYTES", 0)  # small file, several pieces
    cuts = importer._cuts(info, importer.ImportOptions(batch_size=100), 0)
    assert any(line not in starts_of_records for _, line in cuts)  # a wrong cut
    monkeypatch.setattr(importer, "BIG_COMMIT_ROWS", 250)
    takeovers = []
    write = importer._write_bulk

    def spy(run: Any, b: Any) -> None:
        takeovers.append(b.takeover)
        write(run, b)

    monkeypatch.setattr(importer, "_write_bulk", spy)
    plain, bigger = _plain_and_big(tmp_path, monkeypatch, csv_path)
    assert any(takeovers)
    assert plain[0]["inserted"] == 1100 and plain[0]["skipped_duplicates"] == 100
    for key in ("read", "inserted", "skipped_duplicates", "rejected"):
        assert plain[0][key] == bigger[0][key], key
    assert plain[1] == bigger[1] and plain[2] == bigger[2]


def test_crash_between_drop_and_rebuild_heals_on_open(db_path, tmp_path) -> None:
    conn = open_db(db_path)
    with db.transaction(conn):
        dropped = db.defer_indexes(conn, ("idx_leads_email",), ("leads", "activities"))
    assert "idx_leads_created" in dropped and "idx_leads_email" not in dropped
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1000 + SCHEMA_VERSION
    conn.close()  # the import "crashed" here: indexes gone, database marked
    ident = db.identify(db_path)  # not refused as "made by a newer leadctl"
    assert ident.is_leadctl
    healed = open_db(db_path)
    try:
        assert healed.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert _indexes(healed) == _fresh_indexes(tmp_path)
        assert healed.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        healed.close()


def test_restore_is_a_no_op_when_another_process_healed(db_path) -> None:
    conn = open_db(db_path)
    with db.transaction(conn):
        db.defer_indexes(conn, (), ("leads",))
    other = open_db(db_path)  # e.g. `leadctl list` while the import runs
    other.close()
    with db.transaction(conn):
        assert db.restore_indexes(conn) == []
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_schema_indexes_follow_the_migrations() -> None:
    current = db.schema_indexes()
    assert "idx_stage_history_stage_time" in current
    # Before migration 0006 the schema had the index 0006 dropped.
    older = db.schema_indexes(5)
    assert "idx_stage_history_stage" in older and "idx_stage_history_stage_time" not in older


def test_strict_big_import_with_rejects_changes_nothing(tmp_path, big, conn) -> None:
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    before = _indexes(conn)
    result = _run(conn, csv_path, strict=True)
    assert result.status == "rejected" and result.inserted == 0
    assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 0
    assert _indexes(conn) == before
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_dry_run_big_import_changes_nothing(tmp_path, big, conn) -> None:
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    before = _indexes(conn)
    result = _run(conn, csv_path, dry_run=True)
    assert result.status == "dry-run" and result.inserted > 400
    assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 0
    assert _indexes(conn) == before
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_lenient_warnings_come_back_from_the_worker(tmp_path, big, conn) -> None:
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    result = _run(conn, csv_path, lenient=True)
    assert result.warnings and all(w["line"] for w in result.warnings)
    assert not any("e-mail" in r["reason"] for r in result.rejected)


def test_worker_error_is_reported_not_raised_as_a_traceback(tmp_path, big, conn) -> None:
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)

    def work(send: Any, part: int, parts: int) -> None:
        if part == 1:  # the second child fails; the first ends normally
            send.send_bytes(
                importer._pack(("error", "ValidationError", "Cannot read leads.csv", None))
            )
        else:
            send.send_bytes(importer._pack(("end", [])))
        send.close()

    for parts in (1, 2):
        batches = importer._WorkerBatches(work, LineSpool("warning"), parts)
        if parts == 1:
            assert list(batches) == []
        else:
            with pytest.raises(ValidationError, match="Cannot read"):
                list(batches)
        assert not any(p.is_alive() for p in batches.procs)


KILL_SCRIPT = """
import sys
from leadctl import importer
importer.BIG_ROWS = 1000
importer.BIG_COMMIT_ROWS = 3000
importer.PIECE_MIN_BYTES = 0
from leadctl.cli.main import run
sys.argv = ["leadctl", "import", sys.argv[1], "--batch-size", "1000", "--no-score"]
run()
"""


def _count(db_file: Path) -> int:
    try:
        c = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)
        try:
            return int(c.execute("SELECT count(*) FROM leads").fetchone()[0])
        finally:
            c.close()
    except sqlite3.OperationalError:
        return 0


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigkill_mid_big_import_then_rerun(tmp_path) -> None:
    rows = 15_000
    csv_path = tmp_path / "big.csv"
    csv_path.write_text(
        "name,email,phone,created_at\n"
        + "".join(
            f"Lead {i},lead{i}@example.com,0812{i:08d},2025-0{1 + i % 9}-01\n" for i in range(rows)
        ),
        encoding="utf-8",
    )
    db_file = tmp_path / "leads.db"
    env = {**os.environ, "LEADCTL_DB": str(db_file)}
    cmd = [sys.executable, "-c", KILL_SCRIPT, str(csv_path)]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _count(db_file) < 3000 and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert p.poll() is None, p.stderr.read() if p.stderr else ""
    children = _children(p.pid)
    assert children  # the converting child process
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=30)  # reaps it and closes its pipes
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(_alive(pid) for pid in children), "the child outlived its parent"
    c = sqlite3.connect(db_file)
    n = c.execute("SELECT count(*) FROM leads").fetchone()[0]
    last_line, inserted = c.execute("SELECT last_line, inserted FROM imports").fetchone()
    # Whole transactions only: every line up to the import's mark is a lead
    # (each line of this file is one), and nothing past it.
    assert 0 < n < rows and n == inserted == last_line - 1
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert c.execute("PRAGMA user_version").fetchone()[0] == 1000 + SCHEMA_VERSION
    c.close()
    # The rerun heals the indexes on open and finishes the job.
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err.decode()[-1000:]
    conn = open_db(db_file)
    try:
        assert tuple(
            conn.execute("SELECT count(DISTINCT email), count(*) FROM leads").fetchone()
        ) == (
            rows,
            rows,
        )
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert _indexes(conn) == _fresh_indexes(tmp_path)
        orphans = conn.execute(
            "SELECT count(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM activities a"
            " WHERE a.lead_id = l.id AND a.kind = 'import')"
            " OR NOT EXISTS (SELECT 1 FROM stage_history h WHERE h.lead_id = l.id)"
        ).fetchone()[0]
        assert orphans == 0
    finally:
        conn.close()


# ---- a big import writes with a rollback journal, and the file ends in WAL ----


def _journal_per_batch(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(journal mode, synchronous) of the importing connection at each bulk batch."""
    seen: list[tuple[str, int]] = []
    write = importer._write_bulk

    def spy(run: Any, b: Any) -> None:
        mode = run.conn.execute("PRAGMA journal_mode").fetchone()[0]
        seen.append((mode, run.conn.execute("PRAGMA synchronous").fetchone()[0]))
        write(run, b)

    monkeypatch.setattr(importer, "_write_bulk", spy)
    return seen


def test_a_big_import_writes_with_a_rollback_journal_then_returns_to_wal(
    db_path, tmp_path, big, monkeypatch
) -> None:
    seen = _journal_per_batch(monkeypatch)
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    conn = open_db(db_path)
    result = _run(conn, csv_path)
    assert result.inserted > 400
    # Every batch went through a rollback journal with FULL sync (2) ...
    assert seen and set(seen) == {("delete", 2)}
    # ... and the database is a WAL database again, with nothing left beside it.
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert not Path(str(db_path) + "-journal").exists()
    conn.close()
    assert _keys_unique(open_db(db_path))


def test_a_big_import_keeps_the_wal_while_another_connection_has_the_file_open(
    db_path, tmp_path, big, monkeypatch
) -> None:
    seen = _journal_per_batch(monkeypatch)
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    conn = open_db(db_path)
    other = open_db(db_path)  # e.g. a long report in another terminal
    assert other.execute("SELECT count(*) FROM leads").fetchone()[0] == 0
    result = _run(conn, csv_path)
    assert result.inserted > 400
    assert seen and set(seen) == {("wal", 1)}  # could not switch: WAL, as ever
    assert other.execute("SELECT count(*) FROM leads").fetchone()[0] == result.inserted
    other.close()
    conn.close()


def test_open_during_a_rollback_journal_import_reads_without_switching(db_path) -> None:
    """While a big import writes a batch with a rollback journal, another open
    does not wait for the file to switch it back to WAL: it reads at once
    (the batch has not spilled yet) and leaves the mode to the import."""
    importer_conn = open_db(db_path)
    assert importer._rollback_journal(importer_conn)
    importer_conn.execute("BEGIN IMMEDIATE")
    importer_conn.execute(
        "INSERT INTO leads (name, currency, stage, created_at, updated_at, stage_entered_at)"
        " VALUES ('Batch', 'IDR', 'new', ?1, ?1, ?1)",
        ("2026-01-01T00:00:00Z",),
    )
    try:
        started = time.monotonic()
        reader = open_db(db_path)
        assert time.monotonic() - started < 5  # not the 30 s busy timeout
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert reader.execute("SELECT count(*) FROM leads").fetchone()[0] == 0
        reader.close()
    finally:
        importer_conn.execute("COMMIT")
    importer._wal_again(importer_conn)
    assert importer_conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    importer_conn.close()
    reader = open_db(db_path)
    assert [tuple(r) for r in reader.execute("SELECT name FROM leads")] == [("Batch",)]
    reader.close()


# The import kills itself (SIGKILL: no handler, no rollback of its own) after
# its eighth batch's leads and activities are written, before that batch commits.
HOT_JOURNAL_SCRIPT = """
import os, signal, sys
from leadctl import importer
importer.BIG_ROWS = 1000
importer.BIG_COMMIT_ROWS = 1
importer.PIECE_MIN_BYTES = 0
calls = []
store = importer._import_activities
def dying(*args):
    last = store(*args)
    calls.append(1)
    if len(calls) == 8 and os.environ.get("DIE"):
        os.kill(os.getpid(), signal.SIGKILL)
    return last
importer._import_activities = dying
from leadctl.cli.main import run
sys.argv = ["leadctl", "import", sys.argv[1], "--batch-size", "1000", "--no-score"]
run()
"""


@pytest.mark.slow
def test_a_kill_inside_a_rollback_journal_batch_rolls_it_back_then_rerun(tmp_path) -> None:
    rows = 6_000
    csv_path = tmp_path / "big.csv"
    csv_path.write_text(
        "name,email,phone\n"
        + "".join(f"Lead {i},lead{i % 5000}@example.com,0812{i:08d}\n" for i in range(rows)),
        encoding="utf-8",
    )
    db_file = tmp_path / "leads.db"
    env = {**os.environ, "LEADCTL_DB": str(db_file)}
    cmd = [sys.executable, "-c", HOT_JOURNAL_SCRIPT, str(csv_path)]
    p = subprocess.run(cmd, env={**env, "DIE": "1"}, capture_output=True, timeout=180)
    assert p.returncode == -signal.SIGKILL, p.stderr.decode()[-1000:]
    # A batch was half written: its rollback journal is still there.
    assert Path(str(db_file) + "-journal").exists()
    c = sqlite3.connect(db_file)  # reading rolls the hot journal back
    n = c.execute("SELECT count(*) FROM leads").fetchone()[0]
    last_line, inserted = c.execute("SELECT last_line, inserted FROM imports").fetchone()
    assert 0 < n == inserted == last_line - 1 < rows  # whole batches only
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    c.close()
    p = subprocess.run(cmd, env=env, capture_output=True, timeout=180)
    assert p.returncode == 0, p.stderr.decode()[-1000:]
    conn = open_db(db_file)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert not Path(str(db_file) + "-journal").exists()
        assert tuple(
            conn.execute("SELECT count(*), count(DISTINCT email) FROM leads").fetchone()
        ) == (5_000, 5_000)
        imports = conn.execute("SELECT status, inserted, skipped FROM imports").fetchall()
        assert [tuple(r) for r in imports] == [("done", 5_000, 1_000)]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert _indexes(conn) == _fresh_indexes(tmp_path)
    finally:
        conn.close()


# ---- phones: the generator's '+1 ...' and '62...' forms skip phonenumbers.parse ----

_CODES = ["+1", "+7", "+44", "+47", "+61", "+62", "+65", "+262", "+590", "+39", "+55", "+86", "62", "0",
          "08", "+620", "+6208"]  # fmt: skip
_phones = st.builds(
    lambda cc, sep, a, b: f"{cc}{sep}{a}{sep}{b}",
    st.sampled_from(_CODES),
    st.sampled_from(["", " ", "-", "."]),
    st.text(alphabet="0123456789", min_size=2, max_size=5),
    st.text(alphabet="0123456789", min_size=3, max_size=9),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_phones, st.sampled_from(["ID", "US", "GB", "SG", "AU", "FR", "RU", "BR", "IT"]))
def test_fast_phone_paths_agree_with_normalize_phone(text: str, region: str) -> None:
    fast = import_values.PhoneNormalizer(region)

    def outcome(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ValidationError:
            return "invalid"

    assert outcome(fast, text) == outcome(normalize_phone, text, region)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_phones, st.sampled_from(["", "0812", "+", "+0 812 345 678"]), st.text()),
             max_size=12),
    st.sampled_from(["ID", "US", "GB", "SG", "AU", "FR", "RU", "BR", "IT"]),
)  # fmt: skip
def test_phone_column_agrees_with_one_value_at_a_time(texts: list[str], region: str) -> None:
    fast = import_values.PhoneNormalizer(region)
    texts = [t.strip() for t in texts]

    def one(text: str) -> str | None:
        if not text:
            return ""
        try:
            return fast(text)
        except ValidationError:
            return None

    assert fast.many(texts) == [one(t) for t in texts]


def _shared_code_numbers() -> list[tuple[int, str]]:
    """(calling code, example national number) of every region of the codes
    several regions share (+1, +7, +44, ...)."""
    import phonenumbers

    out = []
    for cc, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions if len(regions) > 1 else ():
            md = phonenumbers.PhoneMetadata.metadata_for_region(region)
            for desc in (md.fixed_line, md.mobile, md.toll_free, md.premium_rate, md.voip, md.uan):
                if desc is not None and desc.example_number:
                    out.append((cc, desc.example_number))
    return out


_SHARED = _shared_code_numbers()


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(_SHARED), st.integers(0, 12), st.text(alphabet="0123456789", max_size=13))
def test_a_shared_calling_code_picks_the_region_as_phonenumbers_does(
    example: tuple[int, str], keep: int, tail: str
) -> None:
    """+1 numbers are valid by the rules of the first region (US, then AG, AI,
    ...) whose leading digits start them or, listing none, that knows them."""
    import phonenumbers

    cc, number = example
    national = number[:keep] + tail
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return
    want = phonenumbers.is_valid_number(
        phonenumbers.PhoneNumber(country_code=cc, national_number=int(national))
    )
    assert import_values.PhoneNormalizer("ID")._valid(cc, national) == want


def test_one_normalizer_keeps_its_region_patterns_apart() -> None:
    """One PhoneNormalizer (as a child uses it) over every example number of
    the shared calling codes and their neighbours: the patterns it builds per
    (region, length) on first use answer later numbers as phonenumbers does."""
    import phonenumbers

    fast = import_values.PhoneNormalizer("ID")
    checked = 0
    for cc, number in _SHARED:
        for national in (number, number[:-1], number + "0", "9" + number[1:], number[:3] + "1" * 7):
            if not 2 <= len(national) <= 17 or national[0] == "0":
                continue
            want = phonenumbers.is_valid_number(
                phonenumbers.PhoneNumber(country_code=cc, national_number=int(national))
            )
            assert fast._valid(cc, national) == want, (cc, national)
            checked += 1
    assert checked > 500


def test_generator_phone_forms_take_the_fast_path(monkeypatch) -> None:
    fast = import_values.PhoneNormalizer("ID")
    expected = {
        t: normalize_phone(t, "ID")
        for t in ("+1 415 555 4987", "6289596513709", "628117661771", "0812-3456-7890")
    }

    def slow(*a: Any) -> str:
        raise AssertionError(f"slow path for {a}")

    monkeypatch.setattr(import_values.normalize, "normalize_phone", slow)
    assert {t: fast(t) for t in expected} == expected
    assert fast.many(list(expected)) == list(expected.values())


def test_region_numbers_are_checked_in_one_pass_over_the_column(monkeypatch) -> None:
    fast = import_values.PhoneNormalizer("ID")
    texts = ["0812-3456-7890", "+62 812 3456 7890", "", "0812 3456 78", "+62 21 5795 1234",
             "6281234567890", "62 21 5795 1234"]  # fmt: skip
    expected = [normalize_phone(t, "ID") if t else "" for t in texts]

    def one_at_a_time(*a: Any) -> bool:
        raise AssertionError(f"checked one at a time: {a}")

    monkeypatch.setattr(fast, "_valid", one_at_a_time)
    assert fast.many(texts) == expected
    monkeypatch.undo()  # the rest is for the one-at-a-time path, which decides
    assert fast.many(["0812", "0800 1234 5678 9012 3456"]) == [None, None]
    assert fast.many(["+62 0812 3456 7890"]) == [normalize_phone("+62 0812 3456 7890", "ID")]


_column_texts = st.lists(
    st.one_of(
        st.sampled_from(["", "budi@example.com", "a" * 64 + "@example.com",
                         "a" * 65 + "@example.com", "b@" + "x." * 130 + "com", "0812-3456-7890",
                         "+62 812 3456 7890", "(021) 555-1234", "x@y.com\n", "\n0812 3456"]),
        st.text(alphabet="ab@.+-0123456789 ()\n\r", max_size=20),
        st.text(max_size=8),
    ),
    max_size=10,
)  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(_column_texts)
def test_a_column_pattern_finds_what_one_fullmatch_a_text_finds(texts: list[str]) -> None:
    for pattern in (import_values.EMAIL_FAST, import_values._PHONE_FAST):
        want = [k for k, t in enumerate(texts) if t and pattern.one.fullmatch(t) is None]
        assert pattern.misfits(texts) == want
        assert pattern.misfits(texts, "\n".join(texts)) == want


def test_the_email_fast_path_keeps_the_length_limits() -> None:
    assert import_values.email("A" * 64 + "@Example.com") == "a" * 64 + "@example.com"
    for text in ("a" * 65 + "@example.com", "b@" + "x." * 130 + "com"):
        assert not import_values.EMAIL_FAST.fullmatch(text)
        with pytest.raises(ValidationError):
            import_values.email(text)


def test_db_check_on_a_marked_database_is_a_note_not_a_problem(conn, cli) -> None:
    with db.transaction(conn):
        db.defer_indexes(conn, (), ("leads",))
    out = cli.json("db", "check")  # check opens nothing: it reports the file as it is
    assert out["ok"] is True
    assert any("deferred some indexes" in n for n in out["notes"])
    conn.close()
    healed = open_db(conn_path := Path(os.environ["LEADCTL_DB"]))
    healed.close()
    out = cli.json("db", "check")
    assert out["ok"] is True and not any("deferred" in n for n in out["notes"])
    assert conn_path.exists()


def test_a_crash_between_two_index_rebuilds_heals_on_open(db_path, tmp_path, monkeypatch) -> None:
    conn = open_db(db_path)
    with db.transaction(conn):
        db.defer_indexes(conn, (), ("leads", "activities"))
    built: list[str] = []
    create = db._create_indexes

    def crash_after_two(c: sqlite3.Connection, indexes: dict[str, Any]) -> list[str]:
        if len(built) >= 2:
            raise KeyboardInterrupt  # Ctrl-C between two steps
        made = create(c, indexes)
        built.extend(made)
        return made

    monkeypatch.setattr(db, "_create_indexes", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        db.restore_indexes(conn)  # each index commits on its own
    monkeypatch.undo()
    assert set(built) <= set(_indexes(conn)) and len(built) >= 2
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1000 + SCHEMA_VERSION
    conn.close()
    healed = open_db(db_path)
    try:
        assert healed.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert _indexes(healed) == _fresh_indexes(tmp_path)
    finally:
        healed.close()


def test_the_checkpointer_copies_committed_pages_into_the_file(db_path) -> None:
    conn = open_db(db_path)
    conn.execute("PRAGMA wal_autocheckpoint = 0")  # the writer never copies itself
    size = db_path.stat().st_size
    copier = db.Checkpointer(conn, every=0.01)
    copier.start()
    try:
        with db.transaction(conn):
            conn.execute("CREATE TABLE filler (x TEXT)")
            conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 2000)
        deadline = time.monotonic() + 30
        while db_path.stat().st_size <= size + 500_000 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        copier.stop()
    assert copier.copies > 0 and db_path.stat().st_size > size + 500_000
    assert not copier._thread.is_alive()
    memory = sqlite3.connect(":memory:")
    idle = db.Checkpointer(memory)
    idle.start()  # no file to copy into: nothing starts
    idle.stop()
    assert idle.copies == 0
    conn.close()


def test_open_during_an_import_does_not_wait_for_it(db_path, tmp_path) -> None:
    importer_conn = open_db(db_path)
    with db.transaction(importer_conn):
        db.defer_indexes(importer_conn, (), ("leads", "activities"))
    importer_conn.execute("BEGIN IMMEDIATE")  # the import is writing a batch
    try:
        started = time.monotonic()
        reader = open_db(db_path)  # e.g. `leadctl list` from cron, meanwhile
        assert time.monotonic() - started < 5  # not the 30 s busy timeout
        assert reader.execute("SELECT count(*) FROM leads").fetchone()[0] == 0
        assert reader.execute("PRAGMA user_version").fetchone()[0] == 1000 + SCHEMA_VERSION
        assert reader.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS
        reader.close()
    finally:
        importer_conn.execute("COMMIT")
    with db.transaction(importer_conn):
        db.restore_indexes(importer_conn)  # the import's end
    assert _indexes(importer_conn) == _fresh_indexes(tmp_path)
    importer_conn.close()


def test_an_index_added_by_hand_survives_a_big_import(tmp_path, big, conn) -> None:
    conn.execute("CREATE INDEX my_city ON leads(city)")
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    assert _run(conn, csv_path).inserted > 400
    assert "my_city" in _indexes(conn)
    assert set(_indexes(conn)) == set(_fresh_indexes(tmp_path)) | {"my_city"}


# ---- the bulk path: store first, sweep duplicates at the end ----------------------


def _keys_unique(conn: sqlite3.Connection) -> bool:
    return all(
        conn.execute(
            f"SELECT count(*) FROM (SELECT {k} FROM leads WHERE {k} IS NOT NULL"
            f" GROUP BY {k} HAVING count(*) > 1)"
        ).fetchone()[0]
        == 0
        for k in ("email", "phone", "external_id")
    )


def test_bulk_sweeps_duplicates_of_leads_already_in_the_database(tmp_path, big, conn) -> None:
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO leads (name, email, currency, stage, created_at, updated_at,"
        " stage_entered_at) VALUES ('Old', 'lead5@example.com', 'IDR', 'new', ?, ?, ?)",
        ("2025-01-01T00:00:00Z",) * 3,
    )
    conn.execute("COMMIT")
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    result = _run(conn, csv_path)
    assert conn.execute("SELECT name FROM leads WHERE id = 1").fetchone()[0] == "Old"
    assert (
        conn.execute("SELECT count(*) FROM leads WHERE email = 'lead5@example.com'").fetchone()[0]
        == 1
    )
    assert _keys_unique(conn)
    n = conn.execute("SELECT count(*) FROM leads").fetchone()[0]
    assert n == 1 + result.inserted
    row = conn.execute("SELECT inserted, skipped FROM imports").fetchone()
    assert tuple(row) == (result.inserted, result.skipped_duplicates)
    # No activity, history or score-history row is left without its lead.
    for table in ("activities", "stage_history", "score_history"):
        assert (
            conn.execute(
                f"SELECT count(*) FROM {table} WHERE lead_id NOT IN (SELECT id FROM leads)"
            ).fetchone()[0]
            == 0
        )
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_bulk_crash_then_open_sweeps_and_rerun_matches_a_clean_import(
    tmp_path, big, monkeypatch
) -> None:
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    clean = open_db(tmp_path / "clean.db")
    expected = _run(clean, csv_path).to_dict()
    want = _dump(clean)
    clean.close()

    db_file = tmp_path / "crash.db"
    conn = open_db(db_file)
    original = importer._write_bulk
    calls = []

    def crash_on_tenth(run: Any, batch: Any) -> None:
        # The first pieces are small (see importer._cuts): the tenth batch
        # comes after a commit (BIG_COMMIT_ROWS) and before the end.
        calls.append(1)
        if len(calls) == 10:
            raise KeyboardInterrupt
        original(run, batch)

    monkeypatch.setattr(importer, "_write_bulk", crash_on_tenth)
    with pytest.raises(KeyboardInterrupt):
        _run(conn, csv_path)
    conn.close()
    raw = sqlite3.connect(db_file)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == db.DEFERRED_INDEXES + SCHEMA_VERSION
    assert raw.execute("SELECT value FROM settings WHERE key = 'bulk_sweep'").fetchone()
    raw.close()
    conn = open_db(db_file)  # heals: sweeps what was stored, rebuilds the indexes
    assert db.get_setting(conn, db.BULK_SWEEP) is None and _keys_unique(conn)
    assert _indexes(conn) == _fresh_indexes(tmp_path)
    monkeypatch.setattr(importer, "_write_bulk", original)
    again = _run(conn, csv_path).to_dict()
    assert again["resumed_after_line"] and _keys_unique(conn)
    got = _dump(conn)
    assert got["leads"] == want["leads"] and got["history"] == want["history"]
    assert got["activities"] == want["activities"] and got["scores"] == want["scores"]
    assert got["imports"][0][4:] == want["imports"][0][4:]  # inserted ... rejected add up
    assert expected["inserted"] == got["imports"][0][4]
    conn.close()


def _clean_dump(tmp_path: Path, csv_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    clean = open_db(tmp_path / "clean.db")
    try:
        _run(clean, csv_path)
        return _dump(clean)
    finally:
        clean.close()


def _same_import(got: dict[str, Any], want: dict[str, Any]) -> None:
    for key in ("leads", "history", "activities", "scores"):
        assert got[key] == want[key], key
    assert got["imports"][0][1:] == want["imports"][0][1:]  # status, lines, counts


def test_a_crash_inside_the_staged_sweep_heals_on_open(tmp_path, big, monkeypatch) -> None:
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    want = _clean_dump(tmp_path, csv_path)
    db_file = tmp_path / "crash.db"
    conn = open_db(db_file)
    delete = db._delete_swept
    deleted: list[str] = []

    def crash_before_the_leads(c: sqlite3.Connection, table: str) -> int:
        if table == "leads":
            raise KeyboardInterrupt  # the history tables' deletes are committed
        deleted.append(table)
        return delete(c, table)

    monkeypatch.setattr(db, "_delete_swept", crash_before_the_leads)
    with pytest.raises(KeyboardInterrupt):
        _run(conn, csv_path)
    conn.close()
    monkeypatch.setattr(db, "_delete_swept", delete)
    assert deleted == ["stage_history", "activities", "score_history", "stage_history",
                       "activities", "score_history"]  # fmt: skip
    raw = sqlite3.connect(db_file)
    assert raw.execute("SELECT value FROM settings WHERE key = 'bulk_sweep'").fetchone()
    assert not _keys_unique(raw)  # the duplicate leads are still there
    raw.close()
    healed = open_db(db_file)  # sweeps the leads that lost their history
    try:
        assert db.get_setting(healed, db.BULK_SWEEP) is None and _keys_unique(healed)
        assert _indexes(healed) == _fresh_indexes(tmp_path)
        got = _dump(healed)
        for key in ("leads", "history", "activities", "scores"):
            assert got[key] == want[key], key
        # The import itself was interrupted in its last step; its counts add up.
        assert got["imports"][0][0] == want["imports"][0][0]
        assert got["imports"][0][2:] == want["imports"][0][2:]
    finally:
        healed.close()


def test_a_sweep_another_process_finishes_midway_counts_once(tmp_path, big, monkeypatch) -> None:
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    want = _clean_dump(tmp_path, csv_path)
    db_file = tmp_path / "race.db"
    conn = open_db(db_file)
    real = db.transaction
    find = db._find_swept
    state = {"found": 0, "healed": False}

    def counting_find(c: sqlite3.Connection) -> Any:
        found = find(c)
        state["found"] += found is not None
        return found

    @contextmanager
    def transaction(c: sqlite3.Connection) -> Any:
        if state["found"] and not state["healed"] and not c.in_transaction:
            state["healed"] = True
            open_db(db_file).close()  # another process opens between two steps: it heals
        with real(c) as inner:
            yield inner

    monkeypatch.setattr(db, "_find_swept", counting_find)
    monkeypatch.setattr(db, "transaction", transaction)
    result = _run(conn, csv_path)
    assert state["healed"] and state["found"] == 2  # the import's sweep, then the healer's
    got = _dump(conn)
    _same_import(got, want)
    assert got["imports"][0][4:] == (result.inserted, 0, result.skipped_duplicates,
                                     len(result.rejected))  # fmt: skip
    assert _indexes(conn) == _fresh_indexes(tmp_path) and _keys_unique(conn)
    conn.close()


def _tail_repeat_csv(path: Path, rows: int = 600) -> None:
    """Unique leads but the last row, which repeats the first one's e-mail: the
    highest lead id is a duplicate the sweep deletes (its id is then free)."""
    lines = ["Nama,E-mail Address,No HP"]
    for i in range(rows):
        email = "lead0@example.com" if i == rows - 1 else f"lead{i}@example.com"
        lines.append(f"Lead {i},{email},0812{i:08d}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _between_sweep_steps(monkeypatch: Any, action: Any, before_step: int) -> dict[str, Any]:
    """Run `action` (another connection) before the staged sweep's transaction
    number `before_step` after its find (0: the first history table's)."""
    real = db.transaction
    state: dict[str, Any] = {"found": False, "steps": 0, "done": False}
    find = db._find_swept

    def spy_find(c: sqlite3.Connection) -> Any:
        found = find(c)
        state["found"] = state["found"] or found is not None
        return found

    @contextmanager
    def transaction(c: sqlite3.Connection) -> Any:
        if state["found"] and not state["done"] and not c.in_transaction:
            if state["steps"] == before_step:
                state["done"] = True
                action()
            state["steps"] += 1
        with real(c) as inner:
            yield inner

    monkeypatch.setattr(db, "_find_swept", spy_find)
    monkeypatch.setattr(db, "transaction", transaction)
    return state


def _history_of(conn: sqlite3.Connection, email: str) -> tuple[int, int]:
    lead = conn.execute("SELECT id FROM leads WHERE email = ?", (email,)).fetchone()
    assert lead is not None, f"{email} was deleted"
    return tuple(  # type: ignore[return-value]
        conn.execute(f"SELECT count(*) FROM {t} WHERE lead_id = ?", (lead[0],)).fetchone()[0]
        for t in ("activities", "stage_history")
    )


def test_a_lead_taking_a_swept_id_between_sweep_steps_keeps_its_history(
    tmp_path, big, monkeypatch
) -> None:
    """Another command between two steps heals (sweeps) on open, then adds a
    lead, which takes the swept highest id: the import's later steps must not
    delete its history."""
    csv_path = tmp_path / "leads.csv"
    _tail_repeat_csv(csv_path)
    db_file = tmp_path / "race.db"
    conn = open_db(db_file)
    added: list[int] = []

    def another_command() -> None:
        other = open_db(db_file)  # heals: the sweep is done here
        added.append(leads.add_lead(other, {"name": "Zed", "email": "zed@example.org"},
                                    now=NOW, actor="someone").id)  # fmt: skip
        other.close()

    state = _between_sweep_steps(monkeypatch, another_command, before_step=1)
    result = _run(conn, csv_path)
    assert state["done"] and added == [600]  # the swept duplicate's id
    assert _history_of(conn, "zed@example.org") == (1, 1)
    assert (result.inserted, result.skipped_duplicates) == (599, 1) and _keys_unique(conn)
    conn.close()


def test_a_lead_added_in_a_deleted_duplicates_place_survives_the_sweep(
    tmp_path, big, monkeypatch
) -> None:
    """A connection opened before the import (no heal) deletes the duplicate a
    user noticed and adds a lead, which takes its id, before the last step."""
    csv_path = tmp_path / "leads.csv"
    _tail_repeat_csv(csv_path)
    db_file = tmp_path / "race.db"
    conn = open_db(db_file)
    other = open_db(db_file)
    done: dict[str, int] = {}

    def delete_then_add() -> None:
        done["deleted"] = other.execute("SELECT max(id) FROM leads").fetchone()[0]
        leads.delete_lead(other, done["deleted"])
        done["added"] = leads.add_lead(other, {"name": "Zed", "email": "zed@example.org"},
                                       now=NOW, actor="someone").id  # fmt: skip

    state = _between_sweep_steps(monkeypatch, delete_then_add, before_step=3)
    _run(conn, csv_path)
    # (It once took the deleted lead's id; ids are no longer given twice.)
    assert state["done"] and (done["deleted"], done["added"]) == (600, 601)
    assert _history_of(conn, "zed@example.org") == (1, 1) and _keys_unique(conn)
    other.close()
    conn.close()


_cells = st.one_of(
    st.sampled_from(["", " ", "x\x00y", "budi@example.com", "BUDI@Example.COM", "not-mail",
                     "0812-3456-7890", "+62 812 3456 7890", "12345", "Rp 7.500.000", "1.5jt",
                     "15,000,000", "2026-01-02", "02/03/2026", "31/31/2026", "hot;b2b", "a, b",
                     "'=SUM(A1)", "x" * 10_001, "a" * 65 + "@example.com", "x@y.com\n"]),
    st.text(max_size=12),
)  # fmt: skip


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_cells, min_size=8, max_size=11), min_size=1, max_size=8))
def test_fast_batch_converts_as_the_general_way(rows: list[list[str]]) -> None:
    """The column-wise converter of the bulk path gives what Converter.convert
    and _lead_row give, or hands the row to them (None); it never rejects."""
    header = ["Nama", "Email", "No HP", "Nilai Deal", "Tanggal", "Tags", "Catatan", "Kota",
              "Warna", "Perusahaan", "Sumber"]  # fmt: skip
    conn = sqlite3.connect(":memory:")
    from sqlite_utils import Database

    from leadctl import migrations

    migrations.migrations.apply(Database(conn))
    opts = importer.ImportOptions()
    mapper = importer.Mapper(opts, False)
    conv = importer.Converter(
        importer.load_context(conn), opts, mapper, now=NOW, tz=UTC, minor_values=False
    )
    conv.use_header(header)
    assert conv.fast
    now_s = "2026-11-22T08:00:00Z"
    shape = importer.BulkRows(conv, "new", now_s, 7)
    fast = importer.fast_batch(conv, shape, now_s)
    assert fast is not None
    # `clean` as the piece reader would say it (no NUL, no cell over the limit)
    clean = not any("\x00" in c or len(c) > 10_000 for r in rows for c in r)
    hits, notes = fast([list(raw) for raw in rows], clean)
    assert len(hits) == len(notes) == len(rows)
    for raw, params, note in zip(rows, hits, notes, strict=True):
        hit = None if params is None else (params, note)
        try:
            p = conv.convert(2, None, list(raw))
            rest = importer._lead_row(p.values, conv, "new", now_s, 7)[0]
            general: Any = (shape.project(rest), p.note or None)
        except Exception as exc:  # a reject: the fast path must have handed it over
            assert hit is None, (raw, exc)
            continue
        if hit is not None:
            assert hit == general, raw


def test_a_whole_piece_says_when_the_converter_may_skip_its_checks(tmp_path) -> None:
    from leadctl import import_source

    def piece(body: str) -> Any:
        path = tmp_path / "p.csv"
        path.write_text("name,note\n" + body, encoding="utf-8")
        info = import_source.inspect_file(path, name="p.csv")
        size = path.stat().st_size
        return import_source.read_piece_whole(info, "utf-8", ["name", "note"], 10, size, 2)

    records, nul, longest = piece("Ani,hi\n\nBudi,yo\n")
    assert [r[0] for r in records] == [2, 4] and not nul and longest == 8
    assert piece("Ani," + "x" * 10_001 + "\n")[2] > 10_000  # a cell over the limit
    assert piece('Ani,"two\nlines"\nBudi,yo\n') is None  # a record of two lines
    assert piece('Ani,"open\n') is None  # not closed: the record reader says why
    assert piece("Ani,a,b,c\n")[0][0][4].startswith("the row has 4 fields")
    assert piece("Ani,a\x00b\n" + "Budi,yo\n" * 50)[1]  # a NUL


def test_child_messages_round_trip() -> None:
    bulk = ("bulk", 2, 3, 99, [("Ani", "", 150)], "[2]", [(0, "won", "a", "b", None, "n")],
            [(3, "bad e-mail", ["x", "y"])], 1)  # fmt: skip
    other = ("batch", 1, 2, 3, [(2, {"when": datetime(2026, 1, 2, tzinfo=timezone.utc)})], [])
    for msg in (bulk, other, ("end", [{"line": 2, "warning": "w"}])):
        assert importer._unpack(importer._pack(msg)) == msg


def _skip_rule(rows: list[tuple[str, ...]]) -> list[int]:
    """The rows `--on-duplicate skip` stores, one row at a time: a row holding
    a key some earlier row held (stored or skipped) is a duplicate."""
    seen: set[tuple[int, str]] = set()
    kept = []
    for k, row in enumerate(rows):
        keys = {(j, v) for j, v in enumerate(row) if v}
        if not keys & seen:
            kept.append(k)
        seen |= keys
    return kept


def _sweep_rule(rows: list[tuple[str, ...]], stored: list[int]) -> list[int]:
    """What db.sweep_duplicates leaves of the stored rows: a lead is deleted
    when a lead of smaller id holds one of its keys."""
    first: dict[tuple[int, str], int] = {}
    for k in stored:
        for j, v in enumerate(rows[k]):
            if v:
                first.setdefault((j, v), k)
    return [k for k in stored if all(first[(j, v)] == k for j, v in enumerate(rows[k]) if v)]


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(st.tuples(*[st.sampled_from(["", "a", "b", "c", "d"])] * 3), max_size=30),
    st.integers(1, 30),
)
def test_repeats_dropped_in_the_child_leave_what_the_sweep_leaves(rows, size) -> None:
    """The child drops the repeats of each batch; the sweep then deletes the
    rest of the duplicates. Together they store what the skip rule stores."""
    kept_by_child = []
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        dropped = set(importer._repeats(batch, [0, 1, 2]))
        kept_by_child += [start + k for k in range(len(batch)) if k not in dropped]
    assert _sweep_rule(rows, kept_by_child) == _skip_rule(rows)
    assert _sweep_rule(rows, list(range(len(rows)))) == _skip_rule(rows)


def test_repeats_within_a_batch_are_not_stored(tmp_path, big, monkeypatch) -> None:
    """A file whose batches repeat their own keys in chains (a row repeating a
    row that repeats another): the big path stores the same with or without
    the child's dropping of repeats, and with it writes fewer rows that the
    sweep then deletes."""
    import random

    rnd = random.Random(7)
    lines = ["Name,Email,Phone,Notes"]
    for i in range(600):
        email = f"e{rnd.randrange(60)}@example.com" if rnd.random() < 0.7 else ""
        phone = f"0812{rnd.randrange(60):08d}" if rnd.random() < 0.7 else ""
        lines.append(f"Lead {i},{email},{phone},{'note ' + str(i) if i % 3 == 0 else ''}")
    csv_path = tmp_path / "tangled.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    original_write, original_repeats = importer._write_bulk, importer._repeats
    out = {}
    for name in ("sweep only", "child drops"):
        if name == "sweep only":
            monkeypatch.setattr(importer, "_repeats", lambda rows, cols: [])
        else:
            monkeypatch.setattr(importer, "_repeats", original_repeats)
        written: list[int] = []

        def write(run: Any, b: Any, written: list[int] = written) -> None:
            written.append(len(b.rows))
            original_write(run, b)

        monkeypatch.setattr(importer, "_write_bulk", write)
        conn = open_db(tmp_path / f"{name}.db")
        result = _run(conn, csv_path)
        out[name] = (result.to_dict(), _dump(conn), sum(written))
        assert _keys_unique(conn)
        conn.close()
    swept, dropped = out["sweep only"], out["child drops"]
    for key in ("read", "inserted", "skipped_duplicates", "rejected"):
        assert swept[0][key] == dropped[0][key], key
    assert swept[1] == dropped[1]
    assert swept[0]["inserted"] < 150 < swept[0]["skipped_duplicates"]
    assert swept[2] == 600  # every row written, the duplicates swept after
    assert dropped[2] < swept[2] - 100  # 127 repeats never written (seeded)


def test_a_bulk_import_of_few_distinct_keys_scores_only_the_leads_kept(tmp_path, big) -> None:
    """Few rows survive the children's drops and the sweep: the leads left
    are rescored one by one, and a swept lead is not among them (it raised
    NotFoundError after the import had been committed)."""
    lines = ["Name,Email,Phone,Stage,Notes"]
    for i in range(600):
        email = "same@example.com" if i % 50 else f"bad{i}@"  # every 50th rejected
        stage = "contacted" if i % 7 == 0 else ""
        lines.append(f"Lead {i},{email},0812{i % 3:08d},{stage},note {i}")
    csv_path = tmp_path / "few.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    conn = open_db(tmp_path / "few.db")
    result = _run(conn, csv_path, score=True)
    assert (result.inserted, result.rejected and len(result.rejected)) == (1, 12)
    assert result.skipped_duplicates == 600 - 12 - 1
    row = conn.execute("SELECT id, name, stage, score FROM leads").fetchall()
    assert [tuple(r)[1:3] for r in row] == [("Lead 1", "new")] and row[0][3] is not None
    notes = conn.execute("SELECT lead_id, note FROM activities WHERE kind = 'note'").fetchall()
    assert [tuple(n) for n in notes] == [(row[0][0], "note 1")]
    assert _keys_unique(conn)
    conn.close()
