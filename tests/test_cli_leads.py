"""The foundation through the CLI, on a real database file."""

from __future__ import annotations

import json
import os
from typing import Any

from tests.conftest import Cli

ISSUE_ADD = [
    "add", "Budi Santoso", "--email", "budi@example.co.id", "--phone", "0812-3456-7890",
    "--company", "PT Maju Jaya", "--source", "whatsapp", "--product", "Paket Premium",
    "--segment", "retail", "--city", "Jakarta", "--value", "15000000", "--tag", "hot",
    "--owner", "ani", "--captured-by", "ani", "--note", "asked for price list",
    "--field", "birthday=1990-04-02",
]  # fmt: skip


def test_add_prints_the_id_and_json(cli: Cli) -> None:
    r = cli(*ISSUE_ADD)
    assert r.stdout == "1\n"
    lead = cli.json("add", "Siti", "--phone", "+62 813 9876 5432", "--value", "1.5jt")
    assert lead["id"] == 2 and lead["phone"] == "+6281398765432" and lead["value"] == 1_500_000
    assert set(lead) >= {
        "id", "name", "email", "phone", "company", "source", "product", "segment", "city",
        "value", "currency", "stage", "owner", "captured_by", "tags", "score", "probability",
        "created_at", "updated_at",
    }  # fmt: skip


def test_show_has_fields_and_timeline_newest_first(cli: Cli) -> None:
    cli(*ISSUE_ADD)
    cli("log", "1", "--kind", "call", "--note", "demo booked", "--at", "2026-11-22 07:30")
    cli("advance", "1")
    shown = cli.json("show", "1")
    assert shown["fields"] == {"birthday": "1990-04-02"}
    assert shown["owner"] == "ani" and shown["tags"] == ["hot"]
    kinds = [a["kind"] for a in shown["activities"]]
    assert kinds == ["stage_change", "note", "created", "call"]  # by time, then newest
    call = shown["activities"][-1]
    assert call["at"] == "2026-11-22T07:30:00Z" and call["note"] == "demo booked"
    assert call["actor"] == "tester" and call["direction"] == "out"
    table = cli("show", "1").stdout
    assert "Budi Santoso" in table and "demo booked" in table


def test_list_filters_through_cli(cli: Cli) -> None:
    cli(*ISSUE_ADD)
    cli("add", "Ani", "--city", "Bandung", "--source", "ads")
    rows = cli.json("list", "--city", "jakarta")
    assert [r["id"] for r in rows] == [1]
    rows = cli.json("list", "--sort", "-id", "--limit", "1")
    assert [r["id"] for r in rows] == [2]
    jl = cli("list", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(x)["id"] for x in jl] == [1, 2]
    csv_out = cli("list", "--format", "csv").stdout.splitlines()
    assert csv_out[0].startswith("id,name,email,phone")
    # JSON: the documented lead keys (no table-only value_display); CSV:
    # export's (values in major units, custom fields as columns), so a saved
    # list imports back as the same leads.
    keys = list(rows[0])
    assert "value_display" not in keys and "stage_kind" in keys
    assert csv_out == cli("export", "-f", "csv").stdout.splitlines()
    assert csv_out[0].split(",")[: len(keys) - 1] == [k for k in keys if k != "fields"]
    header = [k for k in keys if k != "fields"]
    assert cli("list", "--stage", "won", "-f", "csv").stdout.splitlines() == [",".join(header)]
    assert len(cli("list", "-f", "csv", "--limit", "1").stdout.splitlines()) == 2
    empty = cli("list", "--stage", "won")
    assert empty.stdout == "" and "No leads match" in empty.stderr


def test_edit_through_cli(cli: Cli) -> None:
    cli(*ISSUE_ADD)
    lead = cli.json(
        "edit", "1", "--phone", "0813-1111-2222", "--field", "k=v", "--remove-tag", "hot"
    )
    assert lead["phone"] == "+6281311112222" and lead["tags"] == [] and lead["fields"]["k"] == "v"
    r = cli("edit", "1", "--name", "Budi Santoso")
    assert "nothing changed" in r.stderr


def test_edit_cannot_clear_everything_that_names_a_lead(cli: Cli) -> None:
    cli("add", "Ani", "--phone", "081211112222")
    r = cli("edit", "1", "--name", "", "--email", "", "--phone", "", ok=False)
    assert r.exit_code == 2 and "needs at least a name" in r.stderr
    lead = cli.json("show", "1")
    assert (lead["name"], lead["phone"]) == ("Ani", "+6281211112222")
    cli("edit", "1", "--name", "")  # the phone still names it
    assert cli.json("show", "1")["name"] is None
    r = cli("edit", "1", "--phone", "", ok=False)
    assert r.exit_code == 2 and cli.json("show", "1")["phone"] == "+6281211112222"


def test_advance_and_reasons(cli: Cli) -> None:
    cli(*ISSUE_ADD)
    moved = cli.json("advance", "1", "--to", "negotiation")
    assert moved == [
        {"lead_id": 1, "from": "new", "to": "negotiation", "at": "2026-11-22T08:00:00Z",
         "reason": None, "activity_id": moved[0]["activity_id"]}
    ]  # fmt: skip
    r = cli("advance", "1", "--to", "lost", ok=False)
    assert r.exit_code == 2 and r.stderr.startswith("Error: Moving to 'lost' needs a reason")
    cli("advance", "1", "--to", "lost", "--reason", "too expensive")
    r = cli("advance", "1", ok=False)
    assert r.exit_code == 1 and "--reopen" in r.stderr
    r = cli("advance", "1", "--to", "bogus", ok=False)
    assert r.exit_code == 3 and "Stages: new, contacted" in r.stderr
    assert cli.json("advance", "1", "--to", "new", "--reopen")[0]["to"] == "new"


def test_log_kinds_and_sale(cli: Cli) -> None:
    cli(*ISSUE_ADD)
    act = cli.json(
        "log", "1", "--kind", "whatsapp", "--inbound", "--note", "hi", "--outcome", "interested",
        "--attach", "https://example.com/quote.pdf", "--at", "yesterday 15:00",
    )  # fmt: skip
    assert act["kind"] == "whatsapp" and act["direction"] == "in"
    assert act["at"] == "2026-11-21T15:00:00Z" and act["attachment"].endswith("quote.pdf")
    sale = cli.json("log", "1", "--kind", "sale", "--amount", "Rp 2.500.000", "--product", "X")
    assert sale["amount"] == 2_500_000 and sale["product"] == "X"
    r = cli("log", "1", "--kind", "fax", ok=False)
    assert r.exit_code == 2 and "Use one of: call, email, whatsapp" in r.stderr
    r = cli("log", "1", "--kind", "call", "--at", "someday", ok=False)
    assert r.exit_code == 2 and "Cannot read 'someday' as a date" in r.stderr


def test_a_future_time_is_shown_as_precisely_as_it_matters(cli: Cli, monkeypatch) -> None:
    cli(*ISSUE_ADD)
    r = cli("log", "1", "--kind", "call", "--at", "2026-11-22T08:00:00.5Z", ok=False)
    assert "is 2026-11-22 08:00:00.5, in the future" in r.stderr  # not "08:00", like now
    monkeypatch.setenv("LEADCTL_NOW", "2026-11-22T08:00:00.25Z")  # a real clock's fraction
    r = cli("log", "1", "--kind", "call", "--at", "+2h", ok=False)
    assert "is 2026-11-22 10:00:00, in the future" in r.stderr


def test_log_and_advance_refuse_a_time_in_the_future(cli: Cli) -> None:
    """What has happened cannot happen later than now (LEADCTL_NOW 08:00 UTC):
    a future --at would leave the lead touched, moved or won in the future."""
    cli(*ISSUE_ADD)
    before = cli.json("show", "1")
    for args in (
        ("log", "1", "--kind", "call", "--at", "+1h"),
        ("log", "1", "--kind", "call", "--at", "08:06"),
        ("advance", "1", "--at", "tomorrow"),
        ("advance", "1", "--to", "won", "--at", "2026-12-01"),
    ):
        r = cli(*args, ok=False)
        assert r.exit_code == 2, args
        assert "in the future" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert cli.json("show", "1") == before  # nothing written
    r = cli("log", "1", "--kind", "call", "--at", "+1h", ok=False)
    assert "--at '+1h' is 2026-11-22 09:00, in the future" in r.stderr and "--next" in r.stderr
    r = cli("log", "1", "--kind", "call", "--at", "+1min", ok=False)  # not even a minute
    assert r.exit_code == 2 and "--at '+1min' is 2026-11-22 08:01, in the future" in r.stderr
    r = cli("advance", "1", "--at", "2026-11-22 08:00:01", ok=False)
    assert r.exit_code == 2 and "is 2026-11-22 08:00:01, in the future" in r.stderr
    assert cli.json("log", "1", "--kind", "call", "--at", "now")["at"] == "2026-11-22T08:00:00Z"
    assert cli.json("log", "1", "--kind", "call", "--at", "07:59")["at"] == "2026-11-22T07:59:00Z"
    assert cli.json("advance", "1", "--at", "08:00")[0]["to"] == "contacted"


def test_stages_command(cli: Cli, conn: Any) -> None:
    stages = cli.json("stages")
    assert [s["name"] for s in stages] == [
        "new", "contacted", "nurturing", "qualified", "negotiation", "won", "lost",
        "disqualified", "inactive",
    ]  # fmt: skip
    assert [s["probability"] for s in stages] == [10, 20, 20, 50, 75, 100, 0, 0, 0]
    cli("stages", "add", "proposal", "--probability", "60", "--after", "qualified")
    cli("stages", "set", "proposal", "--rot-days", "5")
    cli("stages", "rename", "proposal", "quotation")
    cli("stages", "move", "quotation", "--before", "qualified")
    names = [s["name"] for s in cli.json("stages", "list")]
    assert names[2:5] == ["nurturing", "quotation", "qualified"]
    r = cli("stages", "set", "won", "--probability", "101", ok=False)
    assert r.exit_code == 2


def test_errors_are_one_line_with_exit_codes(cli: Cli) -> None:
    for args, code in [
        (["show", "99"], 3),
        (["add", "--email", "nope"], 2),
        (["add", "X", "--phone", "123"], 2),
        (["add", "X", "--value", "lots"], 2),
        (["add", "--company", "only"], 2),
        (["edit", "99", "--name", "x"], 3),
        (["advance", "99"], 3),
        (["nope"], 2),
        (["show", "abc"], 2),
    ]:
        r = cli(*args, ok=False)
        assert r.exit_code == code, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_duplicate_through_cli(cli: Cli) -> None:
    cli(*ISSUE_ADD)
    r = cli("add", "Other", "--email", "BUDI@example.co.id", ok=False)
    assert r.exit_code == 1 and "Lead 1 already has this e-mail" in r.stderr
    assert "budi@" not in r.stderr  # no lead data beyond the id and the field
    assert cli("add", "Other", "--email", "budi@example.co.id", "--allow-duplicate").stdout == "2\n"


def test_delete_needs_confirmation_when_not_interactive(cli: Cli) -> None:
    cli(*ISSUE_ADD)
    r = cli("delete", "1", ok=False)
    assert r.exit_code == 2 and "--yes" in r.stderr
    cli("delete", "1", "--yes")
    assert cli("show", "1", ok=False).exit_code == 3


def test_settings_and_db_path(cli: Cli, db_path) -> None:  # type: ignore[no-untyped-def]
    assert cli("db", "path").stdout.strip() == str(db_path)
    assert cli("--db", "/tmp/other.db", "db", "path").stdout.strip() == "/tmp/other.db"
    cli("settings", "set", "currency", "usd")
    assert cli.json("add", "X", "--value", "$1,054.50")["value"] == 105450
    r = cli("settings", "set", "currency", "IDR", ok=False)
    assert r.exit_code == 1 and "1 lead(s) have values in USD, not IDR" in r.stderr
    r = cli("settings", "set", "colour", "red", ok=False)
    assert r.exit_code == 3


def test_new_database_is_private(cli: Cli, db_path) -> None:  # type: ignore[no-untyped-def]
    cli("add", "X")
    assert os.stat(db_path).st_mode & 0o777 == 0o600


def test_version(cli: Cli) -> None:
    from leadctl import __version__

    assert cli("--version").stdout.strip() == f"leadctl {__version__}"


def test_closed_stages_keep_their_fixed_probability(cli: Cli) -> None:
    """DESIGN: won counts at 100, the closed others at 0; list, pipeline and
    forecast must agree, so a closed stage's probability is not settable."""
    for stage, bad in (("won", "50"), ("lost", "10"), ("inactive", "5")):
        r = cli("stages", "set", stage, "--probability", bad, ok=False)
        assert r.exit_code == 2 and "its probability is always" in r.stderr
    cli("stages", "set", "won", "--probability", "100")  # the fixed value is fine
    cli("stages", "add", "churned", "--kind", "lost")  # no --probability needed: 0
    cli("stages", "add", "signed", "--kind", "won", "--probability", "100")
    probs = {s["name"]: s["probability"] for s in cli.json("stages")}
    assert (probs["won"], probs["churned"], probs["signed"]) == (100, 0, 100)
    r = cli("stages", "add", "demo", ok=False)  # an open stage needs one
    assert r.exit_code == 2 and "--probability" in r.stderr


def test_small_consistencies(cli: Cli) -> None:
    lead = cli("add", "Budi", "--owner", "none").stdout.strip()
    assert cli.json("show", lead)["owner"] is None  # 'none' is unassigned, as in list
    assert [x["id"] for x in cli.json("list", "--owner", "none")] == [int(lead)]
    cli("edit", lead, "--owner", "ani")
    cli("edit", lead, "--owner", "-")
    assert cli.json("show", lead)["owner"] is None
    moved = cli.json("advance", lead, lead)  # a repeated id moves once
    assert [m["to"] for m in moved] == ["contacted"]
    usd = cli("add", "Joe", "--currency", "USD").stdout.strip()
    cli("log", usd, "--kind", "sale", "--amount", "15.00")
    assert "amount USD 15.00" in cli("show", usd).stdout


def test_a_mistyped_owner_filter_is_refused_not_an_empty_list(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """As in followups and reports: a typo in --owner exits 3 naming the team,
    for list, export and sequence enroll alike."""
    cli("team", "add", "ani")
    cli("add", "A", "--owner", "ani")
    assert [x["name"] for x in cli.json("list", "--owner", "ANI")] == ["A"]
    for args in (["list", "--owner", "annie"],
                 ["export", "--owner", "annie", "-o", str(tmp_path / "x.csv")],
                 ["sequence", "enroll", "welcome", "--owner", "annie"]):  # fmt: skip
        r = cli(*args, ok=False)
        assert r.exit_code == 3 and "Nobody called 'annie'" in r.stderr and "Team: ani" in r.stderr
    assert not (tmp_path / "x.csv").exists()
    assert cli.json("list", "--owner", "none") == []


def test_search_finds_a_phone_typed_the_usual_way(cli) -> None:  # type: ignore[no-untyped-def]
    cli("add", "A", "--phone", "0812-2000-0004")
    cli("add", "B", "--phone", "+1 415 555 0100")
    for typed in ("0812-2000-0004", "081220000004", "(0812) 2000 0004", "+62 812 2000 0004",
                  "2000-0004"):  # fmt: skip
        assert [x["name"] for x in cli.json("list", "--search", typed)] == ["A"], typed
    assert [x["name"] for x in cli.json("list", "--search", "415-555")] == ["B"]
    assert cli.json("list", "--search", "0-999") == []  # '999' after the trunk 0: too short


def test_a_deleted_leads_id_is_never_given_again(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Lead 2 (the largest id) is deleted: add, an import (row path) and a
    bulk import all go on from 3, as scripts and exports naming 2 expect."""
    from leadctl import importer

    cli("add", "A", "--email", "a@x.com")
    cli("add", "B", "--email", "b@x.com")
    cli("delete", "2", "--yes")
    assert cli.json("add", "C", "--email", "c@x.com")["id"] == 3
    cli("delete", "3", "--yes")
    small = tmp_path / "s.csv"
    small.write_text("name,email\nD,d@x.com\n", encoding="utf-8")
    cli("import", str(small))
    assert [x["id"] for x in cli.json("list", "--sort", "id")] == [1, 4]
    cli("delete", "4", "--yes")
    monkeypatch.setattr(importer, "BIG_ROWS", 100)
    monkeypatch.setattr(importer, "PIECE_MIN_BYTES", 0)
    big = tmp_path / "b.csv"
    big.write_text("name,email\n" + "".join(f"P{i},p{i}@x.com\n" for i in range(300)),
                   encoding="utf-8")  # fmt: skip
    bulk_batches: list[int] = []
    write_bulk = importer._write_bulk

    def spy(run, b):  # type: ignore[no-untyped-def]
        bulk_batches.append(len(b.rows))
        write_bulk(run, b)

    monkeypatch.setattr(importer, "_write_bulk", spy)
    s = cli("import", str(big), "--batch-size", "50", "--format", "json").json()
    assert s["inserted"] == 300 and sum(bulk_batches) == 300  # the bulk path
    ids = [x["id"] for x in cli.json("list", "--sort", "id")]
    assert ids == [1, *range(5, 305)]


def test_a_deleted_leads_follow_ups_keep_their_ids_and_calendar_uids(cli) -> None:  # type: ignore[no-untyped-def]
    cli("add", "A", "--email", "a@x.com")
    cli("add", "B", "--email", "b@x.com")
    cli("followups", "add", "1", "--due", "tomorrow")
    assert cli.json("followups", "add", "2", "--due", "tomorrow")["id"] == 2
    cli("delete", "2", "--yes")  # its follow-up 2 goes with it
    assert cli.json("followups", "add", "1", "--due", "tomorrow")["id"] == 3
    assert cli.json("add", "C", "--email", "c@x.com")["id"] == 3


def test_a_saved_list_csv_imports_back_with_the_same_amounts(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli("settings", "set", "currency", "USD")
    cli("add", "A", "--email", "a@x.com", "--value", "10.50")
    cli("add", "B", "--email", "b@x.com", "--value", "$1,234.56", "--field", "size=big")
    saved = tmp_path / "list.csv"
    saved.write_text(cli("list", "-f", "csv").stdout, encoding="utf-8")
    other = str(tmp_path / "other.db")
    cli("--db", other, "settings", "set", "currency", "USD")
    cli("--db", other, "import", str(saved))
    got = {x["name"]: (x["value"], x["currency"], x["fields"])
           for x in cli.json("--db", other, "list")}  # fmt: skip
    assert got == {"A": (1050, "USD", {}), "B": (123456, "USD", {"size": "big"})}


def test_an_attached_file_is_kept_by_its_absolute_path(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cli("add", "A", "--email", "a@x.com")
    (tmp_path / "quote.pdf").write_bytes(b"%PDF")
    monkeypatch.chdir(tmp_path)
    act = cli.json("log", "1", "--kind", "document", "--attach", "./quote.pdf")
    assert act["attachment"] == str(tmp_path / "quote.pdf")
    r = cli("log", "1", "--kind", "document", "--attach", "missing.pdf")
    assert "Warning: no file at missing.pdf; kept as typed." in r.stderr
    url = cli.json("log", "1", "--kind", "note", "--attach", "https://x.co/q.pdf")
    assert url["attachment"] == "https://x.co/q.pdf"
