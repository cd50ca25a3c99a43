"""leadctl import through the CLI: one small fixture file per messy case."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from leadctl import importer

FIX = Path(__file__).parent / "fixtures" / "import"


def imp(cli: Any, name: str | Path, *args: str, ok: bool = True) -> dict[str, Any]:
    path = name if isinstance(name, Path) else FIX / name
    r = cli("import", str(path), *args, "--format", "json", ok=ok)
    return json.loads(r.stdout) if r.stdout.strip() else {"exit_code": r.exit_code}


def leads(cli: Any) -> list[dict[str, Any]]:
    return cli.json("list")


def test_bom_crlf_indonesian_headers(cli):
    s = imp(cli, "bom_crlf.csv")
    assert (s["read"], s["inserted"], s["rejected"]) == (2, 2, [])
    mapping = {m["column"]: m["field"] for m in s["mapping"]}
    assert mapping == {
        "Nama": "name", "No HP": "phone", "E-mail Address": "email", "Perusahaan": "company",
    }  # fmt: skip
    budi = leads(cli)[0]
    assert budi["name"] == "Budi Santoso"  # no BOM glued to the first header
    assert budi["email"] == "budi@example.co.id"
    assert budi["phone"] == "+6281234567890"
    assert budi["company"] == "PT Maju Jaya"
    assert budi["import_id"] == s["import_id"]


def test_summary_keys(cli):
    s = imp(cli, "bom_crlf.csv")
    for key in ("inserted", "updated", "skipped_duplicates", "rejected", "read", "import_id",
                "seconds"):  # fmt: skip
        assert key in s


def test_semicolon_delimiter_and_money(cli):
    s = imp(cli, "semicolon.csv")
    assert s["delimiter"] == ";" and s["inserted"] == 2
    rows = {r["name"]: r for r in leads(cli)}
    assert rows["Agus"]["value"] == 7_500_000  # never 7.5
    assert rows["Dewi"]["value"] == 1_500_000
    assert rows["Agus"]["city"] == "Surabaya"


def test_tab_delimiter_and_whatsapp_header(cli):
    s = imp(cli, "tab.tsv")
    assert s["delimiter"] == "\t" and s["inserted"] == 2
    assert {r["phone"] for r in leads(cli)} == {"+6285711223344", "+6281345678910"}


def test_delimiter_override(cli):
    s = imp(cli, "semicolon.csv", "--delimiter", ",")
    # One column then: "Full Name;Email;..." is not a known header, no name/e-mail.
    assert s["inserted"] == 0 and len(s["rejected"]) == 2


def test_cp1252_detected_with_warning(cli):
    s = imp(cli, "cp1252.csv")
    assert s["encoding"] == "cp1252"
    assert any("not valid UTF-8" in w["warning"] for w in s["warnings"])
    names = {r["name"] for r in leads(cli)}
    assert names == {"José García", "Renée"}  # not mojibake


def test_explicit_encoding(cli):
    s = imp(cli, "cp1252.csv", "--encoding", "latin-1")
    assert s["encoding"] == "latin-1" and s["warnings"] == []
    assert {r["city"] for r in leads(cli)} == {"Málaga", "Zürich"}


def test_undecodable_refused_with_hint(cli):
    r = cli("import", str(FIX / "undecodable.csv"), ok=False)
    assert r.exit_code == 2
    assert "--encoding latin-1" in r.stderr
    assert "Traceback" not in r.stderr
    assert leads(cli) == []


def test_binary_file_refused(cli):
    r = cli("import", str(FIX / "spreadsheet.xlsx"), ok=False)
    assert r.exit_code == 2
    assert "ZIP archive" in r.stderr and "Save it as CSV" in r.stderr


def test_multiline_quoted_fields_physical_line_numbers(cli):
    s = imp(cli, "multiline.csv")
    # Line 1 header, record 1 spans lines 2-4, line 5 bad e-mail, lines 6-7 Siti,
    # line 8 Andi with a domain that has no top-level domain.
    assert [r["line"] for r in s["rejected"]] == [5, 8]
    assert "not-an-email" in s["rejected"][0]["reason"]
    rows = {r["name"]: r for r in leads(cli)}
    assert rows["Budi Santoso"]["company"] == "PT Maju, Jaya"
    assert rows['Siti "the boss" Rahma']["email"] == "siti@example.com"
    show = cli.json("show", str(rows["Budi Santoso"]["id"]))
    notes = [a["note"] for a in show["activities"] if a["kind"] == "note"]
    assert notes == ["line one\nline two, with a comma\nline three"]


def test_ragged_rows(cli):
    s = imp(cli, "ragged.csv")
    # Longer row with data past the header: rejected; a short row is padded;
    # extra empty trailing cells are ignored.
    assert s["rejected"] == [{"line": 2, "reason": "the row has 6 fields but the header has 4"}]
    assert {r["name"] for r in leads(cli)} == {"Short Row", "Trailing Empties"}


def test_blank_lines_skipped(cli):
    s = imp(cli, "blank_lines.csv")
    assert (s["read"], s["inserted"], s["rejected"]) == (2, 2, [])


def test_nul_byte_rejected(cli):
    s = imp(cli, "nul.csv")
    assert s["inserted"] == 1
    assert s["rejected"][0]["line"] == 2 and "NUL" in s["rejected"][0]["reason"]


def test_unterminated_quote(cli):
    s = imp(cli, "unterminated.csv")
    assert s["inserted"] == 1
    assert s["rejected"][0]["line"] == 3
    assert "not closed" in s["rejected"][0]["reason"]


def test_field_larger_than_python_csv_limit(cli, tmp_path):
    big = "x" * 200_000  # Python's csv module refuses fields over 128 KiB by default
    path = tmp_path / "big.csv"
    path.write_text(f"Name,Notes\nBudi,{big}\nSiti,short\n", encoding="utf-8")
    s = imp(cli, path)
    assert s["inserted"] == 1
    assert s["rejected"][0]["line"] == 2 and "longer than" in s["rejected"][0]["reason"]


def test_money_forms(cli):
    s = imp(cli, "money.csv")
    values = {r["name"]: r["value"] for r in leads(cli)}
    assert values == {
        "plain": 15_000_000, "commas": 15_000_000, "dots rupiah": 7_500_000,
        "juta": 1_500_000, "ribu": 250_000, "decimal comma": 15_000_000,
    }  # fmt: skip
    assert {r["line"] for r in s["rejected"]} == {8, 9}


def test_money_currency_option(cli):
    imp(cli, "money.csv", "--currency", "USD")
    lead = next(r for r in leads(cli) if r["name"] == "plain")
    assert lead["currency"] == "USD" and lead["value"] == 1_500_000_000


def test_dates_and_dayfirst(cli):
    s = imp(cli, "dates.csv", "--map", "created_at=Created")
    got = {r["name"]: r["created_at"] for r in leads(cli)}
    assert got["iso"] == "2026-03-04T00:00:00Z"
    assert got["datetime"] == "2026-03-04T10:30:00Z"
    assert got["slashes"] == "2026-04-03T00:00:00Z"  # month first by default
    assert got["words"] == "2026-03-04T00:00:00Z"
    assert [r["line"] for r in s["rejected"]] == [6]


def test_dayfirst(cli, tmp_path):
    path = tmp_path / "dayfirst.csv"
    path.write_text("Name,Tanggal\nslashes,04/03/2026\n", encoding="utf-8")
    imp(cli, path, "--dayfirst")
    assert leads(cli)[0]["created_at"] == "2026-03-04T00:00:00Z"


def test_rerun_does_not_duplicate_rows_without_keys(cli):
    imp(cli, "dates.csv")
    again = imp(cli, "dates.csv")
    assert again["inserted"] == 0 and again["skipped_duplicates"] == 4
    assert len(leads(cli)) == 4


def test_duplicates_within_file_and_rerun(cli):
    s = imp(cli, "dupes.csv")
    assert s["inserted"] == 3  # Budi, Siti, Name only
    assert s["skipped_duplicates"] == 2
    again = imp(cli, "dupes.csv")
    assert again["inserted"] == 0 and again["skipped_duplicates"] == 5
    assert len(leads(cli)) == 3


def test_duplicates_against_database(cli):
    cli("add", "Existing", "--email", "siti@example.com")
    s = imp(cli, "dupes.csv")
    assert s["inserted"] == 2 and s["skipped_duplicates"] == 3


def test_on_duplicate_update(cli):
    cli("add", "Old Name", "--email", "siti@example.com", "--company", "Keep Co", "--tag", "old")
    path = FIX / "dupes.csv"
    s = imp(cli, path, "--on-duplicate", "update")
    assert s["updated"] == 1
    siti = next(r for r in leads(cli) if r["email"] == "siti@example.com")
    assert siti["name"] == "Siti"  # supplied column overwritten
    assert siti["company"] == "Keep Co"  # column not supplied: kept
    acts = cli.json("show", str(siti["id"]))["activities"]
    assert acts[0]["kind"] == "import" and acts[0]["data"]["changes"]["name"] == [
        "Old Name",
        "Siti",
    ]


def test_on_duplicate_merge(cli):
    cli("add", "Budi Lama", "--email", "budi@example.com", "--tag", "old")
    s = imp(cli, "dupes.csv", "--on-duplicate", "merge")
    assert s["updated"] == 1
    budi = next(r for r in leads(cli) if r["email"] == "budi@example.com")
    assert budi["name"] == "Budi Lama"  # existing value kept
    assert budi["phone"] == "+6281234567890"  # empty column filled
    assert budi["tags"] == ["old", "hot", "b2b", "vip"]  # tags unioned


def test_key_option(cli):
    s = imp(cli, "dupes.csv", "--key", "phone")
    # By phone only: "Budi again" (e-mail only) is a new lead.
    assert s["inserted"] == 4 and s["skipped_duplicates"] == 1


def test_invalid_contacts_rejected_or_lenient(cli):
    s = imp(cli, "invalid_contacts.csv")
    assert s["inserted"] == 1
    assert s["rejected"][0] == {
        "line": 3, "reason": "'budi@@example' is not a valid e-mail address. Example: budi@example.co.id",
    }  # fmt: skip
    assert (
        s["rejected"][1]["line"] == 4
        and "'12345' is not a valid phone" in s["rejected"][1]["reason"]
    )
    lenient = imp(cli, "invalid_contacts.csv", "--lenient")
    assert lenient["inserted"] == 2 and lenient["rejected"] == []
    assert [w["line"] for w in lenient["warnings"]] == [3, 4]
    bad = next(r for r in leads(cli) if r["name"] == "Bad mail")
    assert bad["email"] is None and bad["fields"] == {"Email": "budi@@example"}


def test_rejects_file_roundtrip(cli, tmp_path):
    rejects = tmp_path / "rejects.csv"
    imp(cli, "invalid_contacts.csv", "--rejects", str(rejects))
    rows = list(csv.DictReader(rejects.read_text(encoding="utf-8").splitlines()))
    assert [r["reject_line"] for r in rows] == ["3", "4"]
    assert rows[0]["Email"] == "budi@@example" and "e-mail" in rows[0]["reject_reason"]
    # Fix the rows and import the file again: the reject columns are ignored.
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        rows[0]["Email"] = "budi@example.com"
        rows[1]["Phone"] = "0812-9999-8888"
        w.writerows(rows)
    s = imp(cli, fixed)
    assert s["inserted"] == 2 and s["rejected"] == []
    assert all(r["fields"] == {} for r in leads(cli))


def test_rejects_file_neutralises_formulas_and_the_fixed_file_reads_them_back(cli, tmp_path):
    """The rejects file is opened in a spreadsheet to be fixed: no cell runs
    as a formula there, and importing the fixed file stores the texts as typed."""
    src = tmp_path / "in.csv"
    src.write_text(
        "Name,Email,Phone,Company,Hobby\n"
        '=HYPERLINK("http://x"),no email,+62 812-3456-7890,@evil,-5\n'
        "Budi,budi@@example,=1+1,+tab,'=kept\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    imp(cli, src, "--rejects", str(rejects))
    rows = list(csv.reader(rejects.read_text(encoding="utf-8").splitlines()))
    assert rows[1][:5] == [
        '\'=HYPERLINK("http://x")',
        "no email",
        "'+62 812-3456-7890",  # a spreadsheet reads "+62 812..." as a formula
        "'@evil",
        "-5",
    ]
    assert rows[2][:5] == ["Budi", "budi@@example", "'=1+1", "'+tab", "''=kept"]
    rows[1][1], rows[2][1], rows[2][2] = "x@example.com", "budi@example.com", "0812-9999-8888"
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    assert imp(cli, fixed)["inserted"] == 2
    got = {r["email"]: (r["name"], r["phone"], r["company"], r["fields"]) for r in leads(cli)}
    assert got == {
        "x@example.com": ('=HYPERLINK("http://x")', "+6281234567890", "@evil", {"Hobby": "-5"}),
        "budi@example.com": ("Budi", "+6281299998888", "+tab", {"Hobby": "'=kept"}),
    }


def test_strict_imports_nothing(cli):
    r = cli("import", str(FIX / "invalid_contacts.csv"), "--strict", "--format", "json", ok=False)
    assert r.exit_code == 1
    s = json.loads(r.stdout)
    assert s["inserted"] == 0 and len(s["rejected"]) == 2 and s["status"] == "rejected"
    assert "nothing was imported" in r.stderr
    assert leads(cli) == []


def test_strict_without_rejects_imports(cli):
    s = imp(cli, "bom_crlf.csv", "--strict")
    assert s["inserted"] == 2 and len(leads(cli)) == 2


def test_dry_run_writes_nothing(cli, conn):
    s = imp(cli, "bom_crlf.csv", "--dry-run")
    assert s["dry_run"] and s["inserted"] == 2 and s["import_id"] is None
    assert s["preview"][0]["email"] == "budi@example.co.id"
    assert s["preview"][0]["phone"] == "+6281234567890"
    assert leads(cli) == []
    assert conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_dry_run_table_shows_mapping(cli):
    r = cli("import", str(FIX / "bom_crlf.csv"), "--dry-run")
    assert "No HP -> phone" in r.stderr and "Dry run" in r.stderr


def test_map_and_ignore_unmapped(cli):
    s = imp(cli, FIX / "history.csv", "--map", "external_id=id", "--ignore-unmapped")
    assert {m["column"]: m["field"] for m in s["mapping"]}["id"] == "external_id"
    assert all(r["fields"] == {} for r in leads(cli))


def test_unmapped_columns_kept_as_custom_fields(cli):
    imp(cli, FIX / "history.csv", "--map", "external_id=id")
    first = leads(cli)[0]
    assert first["fields"]["account"] == "Cancity"
    assert first["fields"]["status"] == "Won"


def test_map_unknown_column_and_field(cli):
    r = cli("import", str(FIX / "bom_crlf.csv"), "--map", "name=Nope", ok=False)
    assert r.exit_code == 2 and "no column 'Nope'" in r.stderr
    r = cli("import", str(FIX / "bom_crlf.csv"), "--map", "colour=Nama", ok=False)
    assert r.exit_code == 2 and "unknown lead field" in r.stderr


HISTORY_ARGS = (
    "--map", "external_id=id", "--map", "owner=salesperson", "--map", "company=account",
    "--map", "stage=status", "--map", "created_at=created", "--map", "closed_at=closed",
    "--map", "value=amount", "--map", "lost_reason=why lost",
    "--stage-map", "Prospecting=new,Engaging=contacted,Won=won,Lost=lost", "--currency", "USD",
)  # fmt: skip


def test_history_import(cli, conn):
    s = imp(cli, "history.csv", *HISTORY_ARGS)
    reasons = {r["line"]: r["reason"] for r in s["rejected"]}
    assert "unknown stage 'Pending'" in reasons[6] and "new, contacted" in reasons[6]
    assert "before created_at" in reasons[7]
    rows = {r["external_id"]: r for r in leads(cli)}
    won = rows["A1"]
    assert won["stage"] == "won" and won["owner"] == "moses frase"
    assert won["value"] == 105400 and won["currency"] == "USD"
    assert won["created_at"] == "2016-10-20T00:00:00Z"
    assert won["closed_at"] == won["stage_entered_at"] == won["last_touch_at"]
    assert won["closed_at"] == "2017-03-01T00:00:00Z"
    lost = rows["A2"]
    assert lost["stage"] == "lost" and lost["lost_reason"] == "too expensive"
    assert rows["A3"]["stage"] == "contacted" and rows["A3"]["closed_at"] is None
    assert rows["A4"]["stage"] == "new" and rows["A4"]["created_at"] == "2026-11-22T08:00:00Z"
    hist = conn.execute(
        "SELECT stage, entered_at, left_at, seconds, activity_id FROM stage_history"
        " WHERE lead_id = ? ORDER BY id",
        (won["id"],),
    ).fetchall()
    assert [tuple(h)[:4] for h in hist] == [
        ("new", "2016-10-20T00:00:00Z", "2017-03-01T00:00:00Z", 132 * 86400),
        ("won", "2017-03-01T00:00:00Z", None, None),
    ]
    acts = cli.json("show", str(won["id"]))["activities"]
    change = next(a for a in acts if a["kind"] == "stage_change")
    assert change["id"] == hist[1]["activity_id"]
    assert change["at"] == "2017-03-01T00:00:00Z"
    assert change["data"]["from"] == "new" and change["data"]["to"] == "won"
    assert [a["kind"] for a in acts].count("import") == 1


def test_lost_without_reason_gets_imported(cli, tmp_path):
    path = tmp_path / "lost.csv"
    path.write_text("Name,Stage\nBudi,Lost\nSiti,Verloren\n", encoding="utf-8")
    s = imp(cli, path, "--stage-map", "verloren=lost")
    assert s["inserted"] == 2
    assert [r["lost_reason"] for r in leads(cli)] == ["imported", "imported"]
    assert [r["stage"] for r in leads(cli)] == ["lost", "lost"]


def test_owner_must_be_team_member_once_a_team_exists(cli, conn):
    conn.execute(
        "INSERT INTO team_members (handle, created_at, updated_at) VALUES ('ani', 'x', 'x')"
    )
    conn.commit()
    s = imp(cli, "history.csv", *HISTORY_ARGS)
    assert any("unknown team member 'moses frase'" in r["reason"] for r in s["rejected"])


def test_an_owner_column_may_name_members_by_their_name(cli, tmp_path, monkeypatch):
    """Another CRM's export names people: 'Moses Frase' is the member whose
    name that is (any case), on the ordinary and the bulk path alike."""
    cli("team", "add", "moses", "--name", "Moses Frase")
    cli("team", "add", "anna", "--name", "Anna Snelling")
    cli("team", "add", "ann2", "--name", "Ann Lee")
    cli("team", "add", "ann3", "--name", "ann lee")  # a shared name names nobody
    path = tmp_path / "owners.csv"
    rows = ["Name,Owner", "A,Moses  Frase", "B,ANNA\u00a0SNELLING", "C,moses", "D,Ann Lee", "E,Zed"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    s = imp(cli, path)
    assert [(r["line"], r["reason"]) for r in s["rejected"]] == [
        (5, "unknown team member 'ann lee' (owner: a member's handle or name)"),
        (6, "unknown team member 'zed' (owner: a member's handle or name)"),
    ]
    assert [(r["name"], r["owner"]) for r in leads(cli)] == [
        ("A", "moses"), ("B", "anna"), ("C", "moses")
    ]  # fmt: skip
    monkeypatch.setattr(importer, "BIG_ROWS", 100)  # the bulk path: children convert
    big = tmp_path / "big.csv"
    big.write_text(
        "Name,Email,Owner\n"
        + "".join(f"Lead {i},l{i}@example.com,Moses Frase\n" for i in range(300)),
        encoding="utf-8",
    )
    assert imp(cli, big)["inserted"] == 300
    assert {r["owner"] for r in leads(cli) if r["name"].startswith("Lead ")} == {"moses"}


def test_jsonl_import(cli):
    s = imp(cli, "leads.jsonl")
    assert s["format"] == "jsonl" and s["inserted"] == 2
    assert [r["line"] for r in s["rejected"]] == [3, 4]
    rows = {r["name"]: r for r in leads(cli)}
    assert rows["Budi"]["tags"] == ["hot", "b2b"]
    assert rows["Budi"]["fields"] == {"size": "big"}
    assert rows["Budi"]["value"] == 1_000_000
    assert rows["Siti"]["phone"] == "+6281398765432"
    assert rows["Siti"]["fields"] == {"extra": "5"}


def test_jsonl_list_or_object_in_a_lead_field_is_rejected(cli, tmp_path):
    """Tags take a list and custom fields keep theirs as JSON text; a lead
    field given a list or an object is refused, not stored as its JSON."""
    path = tmp_path / "odd.jsonl"
    path.write_text(
        '{"name": ["Budi"], "email": "b@example.com"}\n'
        '{"name": "Siti", "company": {"n": 1}, "email": "s@example.com"}\n'
        '{"name": "Ani", "email": "a@example.com", "tags": ["hot"], "Size": ["big", 2]}\n',
        encoding="utf-8",
    )
    s = imp(cli, path)
    assert s["inserted"] == 1
    assert s["rejected"] == [
        {"line": 1, "reason": "'name' holds a list, not one value; give a text or a number"},
        {"line": 2, "reason": "'company' holds an object, not one value; give a text or a number"},
    ]
    (ani,) = leads(cli)
    assert ani["tags"] == ["hot"] and ani["fields"] == {"Size": '["big", 2]'}


def test_stdin(cli):
    data = (FIX / "bom_crlf.csv").read_text(encoding="utf-8-sig")
    r = cli("import", "-", "--format", "json", input=data)
    s = json.loads(r.stdout)
    assert s["file"] == "stdin" and s["inserted"] == 2


def test_missing_file(cli):
    r = cli("import", "nope.csv", ok=False)
    assert r.exit_code == 2 and "No such file" in r.stderr


def test_empty_file(cli, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    r = cli("import", str(path), ok=False)
    assert r.exit_code == 2 and "empty" in r.stderr


def test_import_records_import_and_activity(cli, conn):
    s = imp(cli, "bom_crlf.csv")
    row = conn.execute("SELECT * FROM imports WHERE id = ?", (s["import_id"],)).fetchone()
    assert row["file_name"] == "bom_crlf.csv" and row["status"] == "done"
    assert (row["rows_read"], row["inserted"], row["rejected"]) == (2, 2, 0)
    assert len(row["file_hash"]) == 64
    lead = leads(cli)[0]
    acts = cli.json("show", str(lead["id"]))["activities"]
    assert acts[-1]["kind"] == "import" and acts[-1]["data"]["import_id"] == s["import_id"]
    assert acts[-1]["data"]["line"] == 2


def test_human_summary_on_stderr(cli):
    r = cli("import", str(FIX / "invalid_contacts.csv"))
    assert r.stdout == ""
    assert "read 3, inserted 1" in r.stderr and "Rejected line 3" in r.stderr


def test_example_leads_csv_imports_cleanly(cli):
    example = Path(__file__).resolve().parents[1] / "examples" / "leads.csv"
    s = imp(cli, example)
    assert (s["read"], s["inserted"], s["rejected"], s["warnings"]) == (30, 30, [], [])
    fields = {m["column"]: m["field"] for m in s["mapping"]}
    assert fields["Nama"] == "name" and fields["No HP"] == "phone"
    assert fields["E-mail Address"] == "email" and fields["Nilai"] == "value"
    values = {r["name"]: r["value"] for r in leads(cli)}
    assert values["Budi Santoso"] == 15_000_000 and values["Siti Rahma"] == 1_500_000


def test_utf16_with_bom(cli, tmp_path):
    path = tmp_path / "excel.txt"
    path.write_bytes("Name\tEmail\nJosé\tjose@example.com\n".encode("utf-16"))
    s = imp(cli, path)
    assert s["encoding"] == "utf-16" and s["inserted"] == 1
    assert leads(cli)[0]["name"] == "José"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "expected"),
    [("maven-import.sh", 8800), ("xeducation-import.sh", 9240)],
)
def test_example_scripts(tmp_path, script, expected):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    if not (root.parent / "shared" / "datasets").exists():
        pytest.skip("shared datasets not checked out next to the repo")
    db = tmp_path / "example.db"
    env = {**os.environ, "LEADCTL_DB": str(db),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    r = subprocess.run(
        ["sh", f"examples/{script}"], cwd=root, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert f"inserted {expected}," in r.stderr
    import sqlite3

    with sqlite3.connect(db) as conn:
        stages = dict(conn.execute("SELECT stage, count(*) FROM leads GROUP BY stage").fetchall())
        won_value = conn.execute("SELECT sum(value) FROM leads WHERE stage = 'won'").fetchone()[0]
    if script == "maven-import.sh":
        assert stages == {"won": 4238, "lost": 2473, "contacted": 1589, "new": 500}
        assert won_value == 10_005_534 * 100  # USD cents
        again = subprocess.run(
            ["sh", f"examples/{script}"], cwd=root, env=env, capture_output=True, text=True
        )
        assert "inserted 0," in again.stderr and "duplicates 8800" in again.stderr
    else:
        assert stages == {"won": 3561, "lost": 5679}


def test_progress_bar_only_on_a_terminal(monkeypatch):
    import sys

    from leadctl.cli import transfer

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    update, finish = transfer._progress_bar(50 << 20)
    assert update is None
    finish()


def test_help(cli):
    assert "--stage-map" in cli("import", "--help").stdout
    assert "--format" in cli("export", "--help").stdout


def test_pretty_json_array(cli, tmp_path):
    path = tmp_path / "leads.json"
    path.write_text(json.dumps([{"name": "Budi", "email": "budi@example.com"}, 5], indent=2))
    s = imp(cli, path)
    assert s["inserted"] == 1 and s["rejected"] == [
        {"line": 2, "reason": "a record must be an object"}
    ]


def test_null_placeholder(cli, tmp_path):
    path = tmp_path / "form.csv"
    path.write_text("Name,City,Specialization\nBudi,Select,Select\nSiti,Medan,Finance\n")
    imp(cli, path, "--null", "Select")
    rows = {r["name"]: r for r in leads(cli)}
    assert rows["Budi"]["city"] is None and rows["Budi"]["fields"] == {}
    assert rows["Siti"]["fields"] == {"Specialization": "Finance"}


def test_first_and_last_name_joined(cli, tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("First Name,Last Name,Email\nBudi,Santoso,budi@example.com\n")
    imp(cli, path)
    assert leads(cli)[0]["name"] == "Budi Santoso"


def test_readme_import_export_examples_run(cli, tmp_path, monkeypatch):
    import re
    import shlex

    root = Path(__file__).resolve().parents[1]
    text = (root / "README.md").read_text(encoding="utf-8")
    section = text.split("## Import and export\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block
    commands = []
    for line in block.group(1).splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "leadctl":
            commands.append([w.replace("/tmp/", f"{tmp_path}/") for w in words[1:]])
    assert len(commands) == 6
    monkeypatch.chdir(root)
    for args in commands:
        cli(*args)
    assert len(leads(cli)) == 30
    assert (tmp_path / "hot-leads.jsonl").read_text().count("\n") == 5  # hot in leads.csv


def test_imported_leads_are_scored_unless_no_score(cli, monkeypatch, tmp_path):
    imp(cli, "bom_crlf.csv")
    assert all(r["score"] is not None for r in leads(cli))
    monkeypatch.setenv("LEADCTL_DB", str(tmp_path / "other.db"))
    imp(cli, "bom_crlf.csv", "--no-score")
    assert all(r["score"] is None for r in leads(cli))


def test_zone_names_after_a_time(cli, tmp_path):
    """Indonesia's zone names are read as their offsets; another name is a
    reject with its line, never a Python warning on stderr nor a time read
    in the wrong zone."""
    path = tmp_path / "zones.csv"
    path.write_text(
        "Name,Tanggal\nwib,2 Jan 2026 10:00 WIB\nwita,2 Jan 2026 10:00 WITA\n"
        "wit,2 Jan 2026 10:00 WIT\nxyz,2 Jan 2026 10:00 XYZ\n",
        encoding="utf-8",
    )
    r = cli("import", str(path), "--format", "json")
    assert "Warning" not in r.stderr
    s = json.loads(r.stdout)
    got = {x["name"]: x["created_at"] for x in leads(cli)}
    assert got == {"wib": "2026-01-02T03:00:00Z", "wita": "2026-01-02T02:00:00Z",
                   "wit": "2026-01-02T01:00:00Z"}  # fmt: skip
    assert [(x["line"], "Unknown time zone" in x["reason"]) for x in s["rejected"]] == [(5, True)]


def test_dates_without_a_zone_are_the_databases_not_the_users_environment(
    cli, tmp_path, monkeypatch
):
    """Two people importing the same file store the same times: the database's
    zone (settings timezone) wins over LEADCTL_TZ; an explicit --tz wins over both;
    without a database zone, LEADCTL_TZ is it."""
    path = tmp_path / "d.csv"
    path.write_text("Name,Tanggal\nA,2026-03-01\nB,2026-03-01 09:30\n", encoding="utf-8")
    monkeypatch.setenv("LEADCTL_TZ", "America/New_York")
    cli("import", str(path))
    got = [x["created_at"] for x in leads(cli)]
    assert got == ["2026-03-01T05:00:00Z", "2026-03-01T14:30:00Z"]  # no database zone
    for db, args, want in (
        ("tokyo.db", (), ["2026-02-28T15:00:00Z", "2026-03-01T00:30:00Z"]),
        ("given.db", ("--tz", "UTC"), ["2026-03-01T00:00:00Z", "2026-03-01T09:30:00Z"]),
    ):
        monkeypatch.setenv("LEADCTL_DB", str(tmp_path / db))
        cli("settings", "set", "timezone", "Asia/Tokyo")
        cli(*args, "import", str(path))
        assert [x["created_at"] for x in leads(cli)] == want, db


def test_imported_custom_fields_with_spaces_work_in_edit_rules_and_templates(cli, tmp_path):
    """An import keeps a column's header as the field's name: it must be
    usable by name everywhere (it was refused by --field, rules, templates)."""
    path = tmp_path / "xe.csv"
    path.write_text(
        "Name,Email,Lead Profile,What is your current occupation\n"
        "Budi,b@x.co,Potential Lead,Student\n",
        encoding="utf-8",
    )
    cli("import", str(path))
    cli("edit", "1", "--field", "Lead Profile=Hot Lead")
    cli("score", "rules", "add", "students", "--field", "field:What is your current occupation",
        "--op", "eq", "--value", "student", "--points", "7", "--group", "fit")  # fmt: skip
    shown = cli.json("show", "1")
    assert shown["fields"] == {
        "Lead Profile": "Hot Lead",
        "What is your current occupation": "Student",
    }
    assert "students" in {f["rule"] for f in cli.json("score", "1", "--explain")["rules"]}
    cli("template", "add", "hi", "--body", "Hi {name}, {field:Lead Profile}")
    assert cli.json("template", "render", "hi", "1")["body"] == "Hi Budi, Hot Lead"
    cli("edit", "1", "--field", "a" * 200 + "=long")  # as long as the pattern allows
    assert cli.json("show", "1")["fields"]["a" * 200] == "long"
    for bad in ("{x}=1", "=1", "\x01x=1", "b" * 201 + "=1"):
        r = cli("edit", "1", "--field", bad, ok=False)
        assert r.exit_code == 2 and "not a field assignment" in r.stderr, bad


@pytest.mark.parametrize("strict", [(), ("--strict",)])
def test_a_rerun_scores_what_an_interrupted_import_stored_unscored(
    cli, tmp_path, monkeypatch, strict
):
    """Stopped between its last commit and its rescoring (an error, a kill): the
    rerun reads no row but still scores the leads the first run stored."""
    from leadctl import importer

    path = tmp_path / "n.csv"
    path.write_text("name,email\n" + "".join(f"N{i},n{i}@x.com\n" for i in range(300)))

    def boom(*args, **kw):
        raise RuntimeError("killed")

    real = importer._rescore
    monkeypatch.setattr(importer, "_rescore", boom)
    r = cli("import", str(path), *strict, ok=False)
    assert r.exit_code == 1
    assert {x["score"] for x in leads(cli)} == {None} and len(leads(cli)) == 300
    monkeypatch.setattr(importer, "_rescore", real)
    again = json.loads(cli("import", str(path), *strict, "--format", "json").stdout)
    assert again["inserted"] == 0 and again["resumed_after_line"] == 301
    assert None not in {x["score"] for x in leads(cli)}
    assert cli.json("score", "--all")["changed"] == 0  # the scores `score --all` gives


def test_rejects_of_an_export_or_of_a_rejects_file_keep_the_text(cli, tmp_path, monkeypatch):
    """A file that already carries csv_safe's quoting (an export, a rejects
    file) is not quoted twice in its rejects file, a rejects file's own
    reject columns are replaced, and cells come back as a direct import
    stores them (a tab-led cell too)."""
    cli("add", "=Formula Name", "--email", "f@x.com", "--company", "+plus co", "--field",
        "note=@hi")  # fmt: skip
    export = tmp_path / "ex.csv"
    cli("export", "-o", str(export))
    monkeypatch.setenv("LEADCTL_DB", str(tmp_path / "two.db"))
    bad = tmp_path / "bad.csv"
    bad.write_text(export.read_text().replace("f@x.com", "bad@"))
    r1 = tmp_path / "r1.csv"
    imp(cli, bad, "--rejects", str(r1))
    r2 = tmp_path / "r2.csv"  # the rejects file imported again, still broken
    imp(cli, r1, "--rejects", str(r2))
    header = next(csv.reader(r2.read_text().splitlines()))
    assert header.count("reject_line") == 1 and header.count("reject_reason") == 1
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(r2.read_text().replace("bad@", "f@x.com"))
    assert imp(cli, fixed)["inserted"] == 1
    (lead,) = leads(cli)
    assert (lead["name"], lead["company"], lead["fields"]) == (
        "=Formula Name", "+plus co", {"note": "@hi"}
    )  # fmt: skip
    # A plain file: a tab-led custom-field cell is stored stripped, as directly.
    monkeypatch.setenv("LEADCTL_DB", str(tmp_path / "three.db"))
    src = tmp_path / "tab.csv"
    src.write_text("Name,Email,Hobby\nBudi,bad@,\tTabbed\n")
    r3 = tmp_path / "r3.csv"
    imp(cli, src, "--rejects", str(r3))
    fixed.write_text(r3.read_text().replace("bad@", "b@x.com"))
    imp(cli, fixed)
    assert leads(cli)[0]["fields"] == {"Hobby": "Tabbed"}


def test_rejects_file_keeps_short_rows_and_bare_cr_in_place(cli, tmp_path, monkeypatch):
    """A short row is padded (its line and reason stay in their columns) and a
    cell holding a bare CR is quoted: the fixed file imports as the original."""
    src = tmp_path / "s.csv"
    src.write_bytes(
        b'name,email,company,value,Custom Y\nS1,bad@\nS2,bad@,Acme\nC1,bad@,"Ac\rme","1"\n'
    )
    rejects = tmp_path / "r.csv"
    imp(cli, src, "--rejects", str(rejects))
    fixed = tmp_path / "fixed.csv"
    text = rejects.read_bytes()
    for i in (1, 2, 3):
        text = text.replace(b"bad@,", f"x{i}@example.com,".encode(), 1)
    fixed.write_bytes(text)
    assert imp(cli, fixed)["rejected"] == []
    got = {r["name"]: (r["company"], r["value"], r["fields"]) for r in leads(cli)}
    assert got == {
        "S1": (None, None, {}),
        "S2": ("Acme", None, {}),
        "C1": ("Ac\rme", 1, {}),
    }


def test_a_rerun_rescores_the_leads_an_interrupted_update_import_changed(
    cli, tmp_path, monkeypatch
):
    from leadctl import importer

    cli("add", "A", "--email", "a@x.co")
    cli("add", "B", "--email", "b@x.co")
    before = {x["email"]: x["score"] for x in leads(cli)}
    upd = tmp_path / "u.csv"
    upd.write_text("email,source,value\na@x.co,referral,20000000\nb@x.co,partner,5000000\n")

    def boom(*args, **kw):
        raise RuntimeError("killed")

    real = importer._rescore
    monkeypatch.setattr(importer, "_rescore", boom)
    cli("import", str(upd), "--on-duplicate", "update", ok=False)
    assert {x["email"]: x["score"] for x in leads(cli)} == before  # updated, not rescored
    monkeypatch.setattr(importer, "_rescore", real)
    again = json.loads(cli("import", str(upd), "--on-duplicate", "update", "-f", "json").stdout)
    assert again["resumed_after_line"] == 3
    after = {x["email"]: x["score"] for x in leads(cli)}
    assert after["a@x.co"] == before["a@x.co"] + 13 and after["b@x.co"] == before["b@x.co"] + 9
    assert cli.json("score", "--all")["changed"] == 0


def test_json_lines_are_known_by_their_first_line_on_stdin_or_any_name(cli, tmp_path):
    data = '{"name": "J1", "phone": "0812-7777-0001"}\n{"name": "J2", "phone": "0812-7777-0002"}\n'
    s = cli("import", "-", "--format", "json", input=data).json()
    assert (s["format"], s["inserted"], s["rejected"]) == ("jsonl", 2, [])
    txt = tmp_path / "leads.txt"
    txt.write_text('{"name": "J3", "email": "j3@x.com"}\n', encoding="utf-8")
    s = cli("import", str(txt), "--format", "json").json()
    assert (s["format"], s["inserted"]) == ("jsonl", 1)
    r = cli("import", "-", input="\n", ok=False)  # messages name stdin, not the spooled file
    assert r.exit_code != 0 and "stdin" in r.stderr and "leadctl-import-" not in r.stderr


def test_rejects_file_cuts_a_long_row_and_delimiter_only_rows_are_blank(cli, tmp_path, monkeypatch):
    """A row longer than the header keeps its columns (the extra cells are
    named in the reason), so the fixed file imports; a row of delimiters
    only (a spreadsheet's trailing rows) is skipped as a blank line, on the
    row path and on the bulk path alike."""
    from leadctl import importer

    body = "".join(f"P{i};p{i}@x.com;Bali\n" for i in range(150))
    src = tmp_path / "s.csv"
    src.write_text("name;email;city\nFajar;bad@;Bali;extra\n;;\n" + body + ";;\n;;\n",
                   encoding="utf-8")  # fmt: skip
    rejects = tmp_path / "r.csv"
    s = imp(cli, src, "--rejects", str(rejects))
    assert [r["line"] for r in s["rejected"]] == [2] and (s["read"], s["inserted"]) == (151, 150)
    text = rejects.read_text(encoding="utf-8")
    assert text.splitlines()[1].startswith("Fajar,bad@,Bali,2,")
    assert "cells past the header: 'extra'" in text
    rejects.write_text(text.replace("bad@", "fajar@x.com"), encoding="utf-8")
    assert imp(cli, rejects)["inserted"] == 1
    monkeypatch.setattr(importer, "BIG_ROWS", 100)
    monkeypatch.setattr(importer, "PIECE_MIN_BYTES", 0)
    out = cli("--db", str(tmp_path / "bulk.db"), "import", str(src), "--batch-size", "40",
              "--format", "json").stdout  # fmt: skip
    bulk = json.loads(out)
    assert (bulk["read"], bulk["inserted"], [r["line"] for r in bulk["rejected"]]) == (
        151,
        150,
        [2],
    )


def test_rows_of_empty_quoted_cells_are_blank_on_both_paths(cli, tmp_path, monkeypatch):
    from leadctl import importer

    body = "".join(f"P{i},p{i}@x.com\n" for i in range(150))
    src = tmp_path / "q.csv"
    src.write_text('name,email\n"",""\n' + body + '"",\n,""\n', encoding="utf-8")
    s = imp(cli, src)
    assert (s["read"], s["inserted"], s["rejected"]) == (150, 150, [])
    monkeypatch.setattr(importer, "BIG_ROWS", 100)
    monkeypatch.setattr(importer, "PIECE_MIN_BYTES", 0)
    out = cli("--db", str(tmp_path / "bulk.db"), "import", str(src), "--batch-size", "40",
              "--format", "json").stdout  # fmt: skip
    bulk = json.loads(out)
    assert (bulk["read"], bulk["inserted"], bulk["rejected"]) == (150, 150, [])


def test_a_phone_with_an_extension_is_a_reject_on_both_paths(cli, tmp_path, monkeypatch):
    """Never stored without its extension: the row is rejected with its line
    and a reason that says what to do, on the row path and on the bulk path."""
    rows = [f"Lead {i},0812{i:08d}" for i in range(300)]
    rows[7] = "Extended,021 5290 1234 ext 5"
    path = tmp_path / "ext.csv"
    path.write_text("name,phone\n" + "\n".join(rows) + "\n", encoding="utf-8")
    small = imp(cli, path)
    assert small["inserted"] == 299
    assert [r["line"] for r in small["rejected"]] == [9]
    assert "has an extension (5)" in small["rejected"][0]["reason"]
    assert "phone_ext=5" in small["rejected"][0]["reason"]
    monkeypatch.setattr(importer, "BIG_ROWS", 100)
    monkeypatch.setattr(importer, "PIECE_MIN_BYTES", 0)
    bulk_batches = []
    write = importer._write_bulk
    monkeypatch.setattr(
        importer, "_write_bulk", lambda run, b: (bulk_batches.append(b), write(run, b))
    )
    r = cli("--db", str(tmp_path / "bulk.db"), "import", str(path), "--format", "json").json()
    assert bulk_batches  # the bulk path (its children convert the phones a column at a time)
    assert r["inserted"] == 299 and r["rejected"] == small["rejected"]
