"""leadctl export: formats, filters, formula neutralisation, export -> import round trip."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from leadctl.db import open_db

# Columns that differ by design after a round trip into another database.
VOLATILE = {"id", "import_id", "updated_at"}


def seed(cli: Any) -> None:
    cli("add", "Budi Santoso", "--email", "budi@example.co.id", "--phone", "0812-3456-7890",
        "--company", "PT Maju, Jaya", "--source", "whatsapp", "--value", "Rp 15.000.000",
        "--tag", "hot", "--tag", "b2b", "--owner", "ani", "--field", "birthday=1990-04-02",
        "--field", "size=big", "--expected-close", "2026-12", "--note", "price list")  # fmt: skip
    cli("add", "=HYPERLINK(\"http://evil\")", "--email", "evil@example.com",
        "--company", "-2+3", "--field", "formula=@SUM(A1)")  # fmt: skip
    cli("add", "Siti", "--phone", "+62 813 9876 5432", "--value", "1.5jt", "--do-not-contact")
    cli("advance", "3", "--to", "lost", "--reason", "too expensive")
    cli("add", "Usd Deal", "--external-id", "X-1", "--currency", "USD", "--value", "1,054.50")
    cli("advance", "4", "--to", "won")


def records(cli: Any) -> list[dict[str, Any]]:
    out = []
    for r in cli.json("list"):
        out.append({k: v for k, v in r.items() if k not in VOLATILE})
    return out


def test_csv_columns_fields_and_formulas(cli):
    seed(cli)
    text = cli("export").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4
    header = list(rows[0])
    assert header[:3] == ["id", "name", "email"]
    assert header[-3:] == ["field:birthday", "field:formula", "field:size"]
    budi, evil, siti, usd = rows
    assert budi["tags"] == "hot;b2b" and budi["field:birthday"] == "1990-04-02"
    assert budi["phone"] == "+6281234567890"  # a phone is not a formula
    assert budi["value"] == "15000000"
    assert usd["value"] == "1054.50" and usd["currency"] == "USD"
    assert evil["name"].startswith("'=") and evil["company"] == "'-2+3"
    assert evil["field:formula"] == "'@SUM(A1)"
    assert siti["lost_reason"] == "too expensive"


def test_json_and_jsonl_are_raw(cli):
    seed(cli)
    arr = json.loads(cli("export", "--format", "json").stdout)
    lines = [json.loads(x) for x in cli("export", "-f", "jsonl").stdout.splitlines()]
    assert arr == lines
    assert arr[1]["name"] == '=HYPERLINK("http://evil")'  # JSON is not neutralised
    assert arr[3]["value"] == 105450  # the JSON contract: minor units
    assert arr[0]["fields"] == {"birthday": "1990-04-02", "size": "big"}
    assert arr[0]["tags"] == ["hot", "b2b"]


def test_filters_and_output_file(cli, tmp_path):
    seed(cli)
    out = tmp_path / "won.jsonl"
    r = cli("export", "-f", "jsonl", "--stage", "won", "-o", str(out))
    assert "Exported 1 lead" in r.stderr and r.stdout == ""
    assert [json.loads(x)["name"] for x in out.read_text().splitlines()] == ["Usd Deal"]
    assert len(cli("export", "--tag", "hot").stdout.splitlines()) == 2  # header + Budi
    assert cli("export", "-f", "json", "--search", "nobody").stdout == "[\n]\n"


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_export_import_round_trip(cli, tmp_path, monkeypatch, fmt):
    seed(cli)
    # A lead reopened after a loss keeps its lost reason: so does the import.
    cli("add", "Reopened", "--email", "re@example.com")
    cli("advance", "5", "--to", "lost", "--reason", "no budget")
    cli("advance", "5", "--to", "contacted", "--reopen")
    before = records(cli)
    assert before[4]["lost_reason"] == "no budget" and before[4]["stage"] == "contacted"
    path = tmp_path / f"leads.{fmt}"
    cli("export", "--format", fmt, "-o", str(path))
    monkeypatch.setenv("LEADCTL_DB", str(tmp_path / "empty.db"))
    s = json.loads(cli("import", str(path), "--format", "json").stdout)
    assert s["inserted"] == 5 and s["rejected"] == [] and s["warnings"] == []
    after = records(cli)
    diffs = [
        (i, k, b.get(k), a.get(k))
        for i, (b, a) in enumerate(zip(before, after, strict=True))
        for k in set(b) | set(a)
        if b.get(k) != a.get(k)
    ]
    assert diffs == []


def test_round_trip_keeps_history_readable(cli, tmp_path, monkeypatch, conn):
    seed(cli)
    path = tmp_path / "leads.csv"
    cli("export", "-o", str(path))
    monkeypatch.setenv("LEADCTL_DB", str(tmp_path / "empty.db"))
    cli("import", str(path))
    lost = cli.json("list", "--stage", "lost")[0]
    assert lost["closed_at"] == "2026-11-22T08:00:00Z"
    acts = cli.json("show", str(lost["id"]))["activities"]
    assert sorted(a["kind"] for a in acts) == ["import", "stage_change"]
    change = next(a for a in acts if a["kind"] == "stage_change")
    assert change["note"] == "too expensive" and change["data"]["to"] == "lost"


def test_export_streams(cli, monkeypatch):
    # export must not build the whole list: iter_leads is what it uses.
    from leadctl import leads

    seed(cli)
    monkeypatch.setattr(leads, "list_leads", None)
    assert len(cli("export", "-f", "jsonl").stdout.splitlines()) == 4


def test_empty_export(cli, conn):
    assert cli("export").stdout.startswith("id,name,email,")
    assert cli("export", "-f", "jsonl").stdout == ""


@pytest.mark.parametrize("suffix", ["", "-wal"])
def test_no_output_file_can_be_the_database(cli: Any, tmp_path: Any, suffix: str) -> None:
    """-o, `score rules export` and --rejects refuse the live database (and
    its WAL): writing it would destroy every lead."""
    cli("add", "Keep Me", "--phone", "081211112222")
    db = tmp_path / "test.db"
    held = open_db(db)  # another user of the database: its WAL file exists
    held.execute("SELECT count(*) FROM leads").fetchone()
    target = f"{db}{suffix}"
    assert Path(target).exists()
    src = tmp_path / "in.csv"
    src.write_text("name,email\nB,b@x.co\n", encoding="utf-8")
    for args in (("export", "-f", "csv", "-o", target), ("score", "rules", "export", target),
                 ("import", str(src), "--rejects", target)):  # fmt: skip
        r = cli(*args, ok=False)
        assert r.exit_code == 2, args
        assert "is the database" in r.stderr and "\n" not in r.stderr.strip()
    assert [x["name"] for x in cli.json("list", "-f", "json")] == ["Keep Me"]
    held.close()


def test_rejects_file_cannot_be_the_input(cli: Any, tmp_path: Any) -> None:
    src = tmp_path / "in.csv"
    src.write_text("name,email\nB,b@x.co\n", encoding="utf-8")
    r = cli("import", str(src), "--rejects", str(src), ok=False)
    assert r.exit_code == 2 and "is an input file" in r.stderr
    assert src.read_text(encoding="utf-8") == "name,email\nB,b@x.co\n"
    assert cli.json("list", "-f", "json") == []


def test_round_trip_of_tags_with_separators_and_a_leading_quote(
    cli: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """--tag 'a;b' is two tags (the CSV joins tags with ';'), and a text that
    itself starts with ' and a formula sign comes back as it was."""
    lead = cli.json("add", "Ani", "--tag", "a;b", "--tag", "x,y", "--company", "'=x", "-f", "json")
    assert lead["tags"] == ["a", "b", "x", "y"]
    out = tmp_path / "out.csv"
    cli("export", "-f", "csv", "-o", str(out))
    monkeypatch.setenv("LEADCTL_DB", str(tmp_path / "other.db"))
    cli("import", str(out))
    back = cli.json("show", "1")
    assert back["tags"] == ["a", "b", "x", "y"] and back["company"] == "'=x"


def test_tags_stored_whole_with_a_separator_are_still_found_and_removed(
    cli: Any, conn: Any
) -> None:
    """A tag holding ';' (stored before --tag items were split) is found by
    `list --tag` and taken off by `--remove-tag`, given whole."""
    cli("add", "Ann", "--tag", "x")
    cli("add", "Bo", "--tag", "vip", "--tag", "gold")
    conn.execute("""UPDATE leads SET tags = '["vip;gold", "x"]' WHERE id = 1""")
    conn.commit()
    names = [x["name"] for x in cli.json("list", "--tag", "vip;gold", "-f", "json")]
    assert names == ["Ann", "Bo"]  # the whole tag, or both tags
    assert [x["name"] for x in cli.json("list", "--tag", "vip", "-f", "json")] == ["Bo"]
    cli("edit", "1", "--remove-tag", "vip;gold")
    assert cli.json("show", "1")["tags"] == ["x"]


def test_a_database_currency_outside_iso_still_imports(cli: Any, conn: Any, tmp_path: Any) -> None:
    """HRK (withdrawn in 2023) was a valid setting before codes were checked."""
    conn.execute("""UPDATE settings SET value = '"HRK"' WHERE key = 'currency'""")
    conn.commit()
    src = tmp_path / "in.csv"
    src.write_text("name,value,currency\nBo,10,HRK\nCy,5,USD\n", encoding="utf-8")
    cli("import", str(src))
    assert [(x["name"], x["currency"]) for x in cli.json("list", "-f", "json")] == [
        ("Bo", "HRK"), ("Cy", "USD")
    ]  # fmt: skip
    r = cli("import", str(src), "--currency", "XYZ", ok=False)
    assert r.exit_code == 2 and "not a currency code" in r.stderr
