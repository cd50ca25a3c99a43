"""How an import matches rows to leads: rejected rows take no part, a
duplicate's keys are remembered for the whole file (re-running adds nothing,
whatever the batch size or path), update/merge never give a lead another's
key, a value keeps its currency, notes of matched rows are kept, and a file's
dates are of the past."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leadctl import importer


def imp(cli: Any, path: Path, *args: str) -> dict[str, Any]:
    return json.loads(cli("import", str(path), *args, "--format", "json").stdout)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rejected_row_takes_no_duplicates_with_it(cli: Any, tmp_path: Path) -> None:
    """Line 2 closes before it was created: rejected. Line 3 (its e-mail) is
    no duplicate of a row that never became a lead: it is imported."""
    f = write(tmp_path, "closed_dup.csv", "Name,Email,Stage,Created,Close Date\n"
              "A,a@x.com,won,2026-03-10,2025-01-01\nA again,a@x.com,new,2026-03-10,\n")  # fmt: skip
    s = imp(cli, f)
    assert (s["inserted"], s["skipped_duplicates"]) == (1, 0)
    assert [r["line"] for r in s["rejected"]] == [2]
    assert [x["name"] for x in cli.json("list")] == ["A again"]


CHAIN = "Name,Email,Phone\nA,a@x.com,\nA2,a@x.com,0812-1111-2222\nB,b@x.com,0812-1111-2222\n"


@pytest.mark.parametrize("batch", ["1", "2", "10000"])
def test_a_duplicate_row_keys_are_remembered_for_the_file(cli, tmp_path, batch) -> None:
    """A2 is A (same e-mail) and says A has phone P; B has phone P: B is A
    too, whatever the batch boundaries, and a re-run adds nothing."""
    f = write(tmp_path, "chain.csv", CHAIN)
    s = imp(cli, f, "--batch-size", batch)
    assert (s["inserted"], s["skipped_duplicates"]) == (1, 2)
    again = imp(cli, f, "--batch-size", batch)
    assert (again["inserted"], again["skipped_duplicates"]) == (0, 3)


def test_the_bulk_path_and_the_row_path_match_the_same_way(cli, tmp_path, monkeypatch) -> None:
    """The same chain among filler rows: the bulk path (empty database) and a
    re-run on the row path agree; nothing is added the second time."""
    rows = [f"F{i},f{i}@x.com,\n" for i in range(300)]
    f = write(tmp_path, "chain300.csv", "Name,Email,Phone\n" + "".join(rows[:100])
              + CHAIN.split("\n", 1)[1] + "".join(rows[100:]))  # fmt: skip
    monkeypatch.setattr(importer, "BIG_ROWS", 100)
    monkeypatch.setattr(importer, "BIG_COMMIT_ROWS", 250)
    monkeypatch.setattr(importer, "PIECE_MIN_BYTES", 0)
    s = imp(cli, f, "--batch-size", "50")
    assert (s["inserted"], s["skipped_duplicates"]) == (301, 2)
    again = imp(cli, f, "--batch-size", "50")  # the database is as big: the row path
    assert (again["inserted"], again["skipped_duplicates"]) == (0, 303)


@pytest.mark.parametrize("mode", ["update", "merge"])
def test_update_and_merge_never_give_a_lead_anothers_key(cli, tmp_path, mode) -> None:
    cli("add", "A", "--email", "a@x.com")
    cli("add", "B", "--phone", "0813-1111-2222")
    f = write(tmp_path, "u.csv", "Name,Email,Phone,City\nAB,a@x.com,0813-1111-2222,Medan\n")
    s = imp(cli, f, "--on-duplicate", mode)
    assert s["updated"] == 1  # the city still goes on
    assert any("is lead 2's: not copied to lead 1" in w["warning"] for w in s["warnings"])
    a, b = cli.json("show", "1"), cli.json("show", "2")
    assert (a["phone"], a["city"], b["phone"]) == (None, "Medan", "+6281311112222")


def test_merge_fills_a_value_with_its_currency(cli, tmp_path) -> None:
    cli("add", "A", "--email", "a@x.com")  # an IDR database, no value
    cli("add", "C", "--email", "c@x.com", "--value", "Rp 7.500.000")
    f = write(tmp_path, "cur.csv", "Name,Email,Value,Currency\n"
              "A,a@x.com,10.50,USD\nC,c@x.com,10.50,USD\n")  # fmt: skip
    imp(cli, f, "--on-duplicate", "merge")
    a, c = cli.json("show", "1"), cli.json("show", "2")
    assert (a["value"], a["currency"]) == (1050, "USD")  # USD 10.50, not Rp 1.050
    assert (c["value"], c["currency"]) == (7_500_000, "IDR")  # had one: kept whole


@pytest.mark.parametrize("mode", ["update", "merge"])
def test_the_notes_of_matched_rows_are_kept_once(cli, tmp_path, mode) -> None:
    cli("add", "A", "--email", "a@x.com")
    f = write(tmp_path, "n.csv", "Name,Email,Notes\n"
              "A,a@x.com,call back monday\nB,b@x.com,first\nB,b@x.com,second\n")  # fmt: skip
    imp(cli, f, "--on-duplicate", mode)
    imp(cli, f, "--on-duplicate", mode)  # a re-run logs nothing again

    def notes(lead: str) -> list[str]:
        return [a["note"] for a in cli.json("show", lead)["activities"] if a["kind"] == "note"]

    assert notes("1") == ["call back monday"]
    assert sorted(notes("2")) == ["first", "second"]  # two rows of one new lead: both notes


def test_a_files_dates_are_of_the_past(cli, tmp_path) -> None:
    """LEADCTL_NOW is 2026-11-22 08:00 UTC."""
    f = write(tmp_path, "fut.csv", "Name,Email,Stage,Created,Close Date\n"
              "A,a@x.com,won,2026-01-01,2030-06-01\nB,b@x.com,new,+3d,\n"
              "C,c@x.com,new,2026-11-22 07:00,\n")  # fmt: skip
    s = imp(cli, f)
    reasons = {r["line"]: r["reason"] for r in s["rejected"]}
    assert set(reasons) == {2, 3}
    assert "closed at: '2030-06-01' is in the future" in reasons[2]
    assert "created at: '+3d' is in the future" in reasons[3]
    assert [x["name"] for x in cli.json("list")] == ["C"]


def test_json_booleans_are_read_as_written(cli: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "b.jsonl", '{"name": "V", "email": "v@x.com", "value": true}\n'
              '{"name": "D", "email": "d@x.com", "do_not_contact": true, "vip": false}\n')  # fmt: skip
    s = imp(cli, f)
    assert s["rejected"][0]["line"] == 1
    assert "'true' is not an amount of money" in s["rejected"][0]["reason"]
    d = cli.json("list")[0]
    assert d["do_not_contact"] is True and d["fields"] == {"vip": "false"}


@pytest.mark.parametrize("mode", ["update", "merge"])
@pytest.mark.parametrize("batch", ["1", "1000"])
def test_rows_of_one_new_lead_combine_as_an_update_would(cli, tmp_path, mode, batch) -> None:
    """Whether the first row is already stored (batch 1) or not (one batch),
    the same lead: the currency travels with the value, a key another lead
    holds is not copied, the first row's stage and dates make the history,
    and every row's note is kept as its own note."""
    cli("add", "Z", "--email", "z@x.com", "--phone", "0812-1111-1111")
    f = write(tmp_path, "c.csv", "Name,Email,Phone,Value,Currency,Stage,Created,Notes\n"
              "A,a@x.com,,,,new,2026-05-01,first\n"
              "A2,a@x.com,0812-1111-1111,100,USD,won,,second\n")  # fmt: skip
    s = imp(cli, f, "--on-duplicate", mode, "--batch-size", batch)
    assert s["rejected"] == [] and s["inserted"] == 1
    assert any("+6281211111111" in w["warning"] for w in s["warnings"])
    a = cli.json("show", "2")
    assert (a["value"], a["currency"], a["phone"]) == (10_000, "USD", None)
    assert (a["stage"], a["created_at"]) == ("new", "2026-05-01T00:00:00Z")
    notes = [x["note"] for x in a["activities"] if x["kind"] == "note"]
    assert sorted(notes) == ["first", "second"]


def test_a_key_of_another_lead_does_not_steer_later_rows(cli, tmp_path) -> None:
    """X again (X's e-mail, Y's phone) updates X; Z (Y's phone) is Y's row,
    in one batch as in many."""
    for batch in ("1", "1000"):
        db = tmp_path / f"b{batch}.db"
        cli("--db", str(db), "add", "X", "--email", "x@x.com")
        cli("--db", str(db), "add", "Y", "--email", "y@x.com", "--phone", "0812-7777-0001")
        f = write(tmp_path, "f.csv", "Name,Email,Phone,City\n"
                  "X again,x@x.com,0812-7777-0001,Bandung\nZ,z@x.com,0812-7777-0001,Medan\n")  # fmt: skip
        cli("--db", str(db), "import", str(f), "--on-duplicate", "update", "--batch-size", batch)
        got = [(x["name"], x["email"], x["city"]) for x in cli.json("--db", str(db), "list")]
        assert got == [("X again", "x@x.com", "Bandung"), ("Z", "z@x.com", "Medan")], batch


def test_a_matched_rows_note_is_not_lost_to_a_longer_note(cli, tmp_path) -> None:
    cli("add", "A", "--email", "a@x.com", "--note", "price is too high, call back in March")
    f = write(tmp_path, "n.csv", "Name,Email,Notes\nA,a@x.com,call back\nA,a@x.com,high\n")
    imp(cli, f, "--on-duplicate", "merge")
    imp(cli, f, "--on-duplicate", "merge")  # the re-run finds the import's notes
    notes = [a["note"] for a in cli.json("show", "1")["activities"] if a["kind"] == "note"]
    assert sorted(notes) == ["call back", "high", "price is too high, call back in March"]


class Stop(Exception):
    pass


@pytest.mark.parametrize("mode", ["skip", "update", "merge"])
def test_a_resumed_import_still_knows_the_keys_matched_before_the_stop(
    conn: Any, tmp_path: Path, mode: str
) -> None:
    """The chain A / A2 / B with a stop after A2's batch: the resumed run
    knows A2 said A has phone P, so B is A, as without the stop. The kept
    keys go when the import is done."""
    from datetime import datetime, timezone

    f = write(tmp_path, "chain.csv", CHAIN)
    opts = importer.ImportOptions(batch_size=1, on_duplicate=mode)
    now = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)
    calls: list[int] = []

    def stop(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise Stop  # A and A2 committed, B not read yet

    with pytest.raises(Stop):
        importer.run_import(conn, f, opts, now=now, tz=timezone.utc, actor=None, progress=stop)
    assert conn.execute("SELECT key, value, lead_id FROM import_keys").fetchall() != []
    again = importer.run_import(conn, f, opts, now=now, tz=timezone.utc, actor=None)
    assert again.resumed_after_line == 3
    assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 1
    assert (again.inserted, again.updated + again.skipped_duplicates) == (0, 1)
    if mode == "update":
        assert again.updated == 1  # B's name and e-mail went onto A
    assert conn.execute("SELECT count(*) FROM import_keys").fetchone()[0] == 0


def test_the_kept_keys_of_an_import_that_cannot_resume_are_dropped(
    conn: Any, tmp_path: Path
) -> None:
    """Interrupted, then the same file with other options: a new import, which
    supersedes the old one (it can no longer resume), so its keys go; and
    keys of a lead deleted meanwhile steer nothing."""
    from datetime import datetime, timezone

    f = write(tmp_path, "chain.csv", CHAIN)
    now = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)

    def stop(done: int, total: int) -> None:
        if done:
            raise Stop

    with pytest.raises(Stop):
        importer.run_import(conn, f, importer.ImportOptions(batch_size=2), now=now,
                            tz=timezone.utc, actor=None, progress=stop)  # fmt: skip
    assert {r[0] for r in conn.execute("SELECT import_id FROM import_keys")} == {1}
    conn.execute("DELETE FROM leads")  # A, whose key A2 vouched for
    again = importer.run_import(conn, f, importer.ImportOptions(batch_size=2, dayfirst=True),
                                now=now, tz=timezone.utc, actor=None)  # fmt: skip
    assert again.import_id == 2 and again.resumed_after_line is None
    assert conn.execute("SELECT count(*) FROM import_keys").fetchone()[0] == 0
    assert again.inserted == 1  # A again; A2 and B are A


def test_a_bulk_load_cut_short_then_resumed_on_the_row_path_keeps_the_chain(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Stopped after A and A2 were stored (the bulk path stores duplicates and
    sweeps them at the end), healed by the next open (its sweep deletes A2
    and keeps A2's keys for the import), resumed on the row path (the
    database now holds over a tenth of the file): B, with A2's phone, is A."""
    from datetime import datetime, timezone

    from leadctl.db import open_db

    rows = [f"F{i},f{i}@x.com,\n" for i in range(300)]
    a, a2, b = CHAIN.split("\n")[1:4]
    head = "Name,Email,Phone\n" + "".join(rows[:98]) + f"{a}\n{a2}\n" + "".join(rows[98:198])
    f = write(tmp_path, "chain_bulk.csv", head + f"{b}\n" + "".join(rows[198:]))
    monkeypatch.setattr(importer, "BIG_ROWS", 100)
    monkeypatch.setattr(importer, "BIG_COMMIT_ROWS", 50)
    monkeypatch.setattr(importer, "PIECE_MIN_BYTES", 0)
    now = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)
    opts = importer.ImportOptions(batch_size=50, score=False)

    def stop(done: int, total: int) -> None:
        if done > len(head.encode()):
            raise Stop  # B's batch is being written: it never commits

    db_file = tmp_path / "bulk.db"
    conn = open_db(db_file)
    with pytest.raises(Stop):
        importer.run_import(conn, f, opts, now=now, tz=timezone.utc, actor=None, progress=stop)
    names = {r[0] for r in conn.execute("SELECT name FROM leads")}
    assert {"A", "A2"} <= names and "B" not in names
    conn.close()
    conn = open_db(db_file)  # heals: indexes, sweep (A2 goes, its keys stay)
    assert [r[0] for r in conn.execute("SELECT name FROM leads WHERE name LIKE 'A%'")] == ["A"]
    again = importer.run_import(conn, f, opts, now=now, tz=timezone.utc, actor=None)
    assert again.resumed_after_line is not None and again.resumed_after_line < 200
    names = {r[0] for r in conn.execute("SELECT name FROM leads")}
    assert "B" not in names and len(names) == 301
    assert conn.execute("SELECT count(*) FROM import_keys").fetchone()[0] == 0
    conn.close()
