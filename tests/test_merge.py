"""leadctl merge KEEP OTHER: one lead out of two duplicates, nothing of value lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.conftest import Cli


def add(cli: Cli, name: str, *args: str) -> int:
    return int(cli("add", name, *args).stdout.strip())


def tables(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    c = sqlite3.connect(db_path)
    try:
        return {
            t: c.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
            for t in ("leads", "activities", "stage_history", "followups", "sequence_enrollments",
                      "qualification_answers", "score_history", "settings")
        }  # fmt: skip
    finally:
        c.close()


def test_merge_fills_unites_moves_and_deletes_the_other(cli: Cli, db_path: Path) -> None:
    keep = add(cli, "Budi Santoso", "--email", "budi@example.com", "--tag", "hot",
               "--field", "size=10")  # fmt: skip
    other = add(cli, "Budi S", "--phone", "0812-1111-2222", "--company", "PT Maju", "--tag", "b2b",
                "--field", "size=99", "--field", "city_code=JKT", "--value", "Rp 5.000.000")  # fmt: skip
    cli("qualify", str(keep), "--budget", "yes")
    cli("qualify", str(other), "--budget", "no", "--authority", "yes")
    cli("advance", str(other), "--to", "contacted")
    cli("log", str(other), "--kind", "call", "--note", "rang him")
    cli("followups", "add", str(other), "--due", "2026-11-25")
    out = cli.json("merge", str(keep), str(other), "--yes")
    lead = out["lead"]
    assert lead["id"] == keep and lead["name"] == "Budi Santoso"  # its own name stays
    assert (lead["email"], lead["phone"], lead["company"]) == (
        "budi@example.com", "+6281211112222", "PT Maju",
    )  # fmt: skip
    assert lead["value"] == 5_000_000 and lead["tags"] == ["hot", "b2b"]
    assert lead["fields"] == {"size": "10", "city_code": "JKT"}  # the kept lead's value wins
    assert lead["stage"] == "new"  # the kept lead's stage and history stand
    assert out["filled"] == ["company", "fields", "phone", "tags", "value"]
    assert out["moved"] == {"activities": 3, "followups": 1, "enrollments": 0, "answers": 1}
    assert out["merged"]["id"] == other and out["merged"]["stage"] == "contacted"
    assert cli("show", str(other), ok=False).exit_code == 3
    kinds = [a["kind"] for a in cli.json("show", str(keep))["activities"]]
    # Its call and its two qualification answers came along; not its created/stage_change.
    assert kinds.count("call") == 1 and kinds.count("created") == 1
    assert "stage_change" not in kinds and kinds[0] == "field_change"
    assert [f["lead_id"] for f in cli.json("followups", "--all")] == [keep]
    answers = cli.json("qualify", str(keep))["answers"]
    assert (answers["budget"], answers["authority"]) == ("yes", "yes")  # kept's own answer wins
    c = sqlite3.connect(db_path)
    assert (
        c.execute("SELECT count(*) FROM stage_history WHERE lead_id = ?", (other,)).fetchone()[0]
        == 0
    )
    assert c.execute("PRAGMA foreign_key_check").fetchall() == []
    c.close()
    # The pipeline counts one lead; the id of the merged one is never given again.
    assert add(cli, "Later", "--email", "later@example.com") == other + 1
    # The kept lead now holds both keys: a re-import of either matches it.
    csv_path = db_path.parent / "again.csv"
    csv_path.write_text("name,phone\nBudi again,0812 1111 2222\n", encoding="utf-8")
    result = cli.json("import", str(csv_path))
    assert result["inserted"] == 0 and result["skipped_duplicates"] == 1


def test_merge_stops_a_sequence_both_are_in_and_moves_the_others(cli: Cli) -> None:
    keep = add(cli, "A", "--email", "a@example.com")
    other = add(cli, "A2", "--email", "a2@example.com")
    cli("sequence", "add", "welcome", "--step", "0d email", "--step", "3d email")
    cli("sequence", "add", "upsell", "--step", "7d email")
    for lead in (keep, other):
        cli("sequence", "enroll", str(lead), "welcome")
    cli("sequence", "enroll", str(other), "upsell")
    out = cli.json("merge", str(keep), str(other), "--yes")
    assert out["moved"]["enrollments"] == 2
    rows = {(e["sequence"], e["status"], e["stop_reason"]) for e in
            cli.json("sequence", "status", "--all") if e["lead_id"] == keep}  # fmt: skip
    assert rows == {("welcome", "active", None), ("welcome", "stopped", "merged"),
                    ("upsell", "active", None)}  # fmt: skip
    # One open step per active enrolment: the stopped one's follow-up was cancelled.
    open_ = [f for f in cli.json("followups", "--all") if f["lead_id"] == keep]
    assert len(open_) == 2


def test_a_do_not_contact_duplicate_makes_the_kept_lead_do_not_contact(cli: Cli) -> None:
    keep = add(cli, "A", "--email", "a@example.com")
    other = add(cli, "A2", "--phone", "0812-3000-0001")
    cli("edit", str(other), "--do-not-contact")
    cli("sequence", "add", "welcome", "--step", "0d email")
    cli("sequence", "enroll", str(keep), "welcome")
    lead = cli.json("merge", str(keep), str(other), "--yes")["lead"]
    assert lead["do_not_contact"] is True
    status = cli.json("sequence", "status", "--all")
    assert [(e["status"], e["stop_reason"]) for e in status] == [("stopped", "do_not_contact")]


def test_dry_run_and_refusals_change_nothing(cli: Cli, db_path: Path) -> None:
    keep = add(cli, "A", "--email", "a@example.com")
    other = add(cli, "B", "--phone", "0812-3000-0002", "--company", "PT B")
    cli("log", str(other), "--kind", "note", "--note", "met at expo")
    before = tables(db_path)
    dry = cli.json("merge", str(keep), str(other), "--dry-run")
    assert dry["dry_run"] is True and dry["filled"] == ["company", "phone"]
    assert dry["lead"]["phone"] == "+6281230000002"
    assert tables(db_path) == before
    text = cli("merge", str(keep), str(other), "--dry-run").stderr
    assert text.startswith(f"Would merge lead {other} into lead {keep}: filled company, phone")
    for args, code, says in (
        ([str(keep), str(keep), "--yes"], 2, "cannot be merged into itself"),
        ([str(keep), "99", "--yes"], 3, "No lead with id 99"),
        ([str(keep), str(other)], 2, "needs confirmation"),  # not a terminal: --yes needed
    ):
        r = cli("merge", *args, ok=False)
        assert r.exit_code == code and says in r.stderr, args
        assert len(r.stderr.strip().splitlines()) == 1
    assert tables(db_path) == before


def test_edit_onto_a_taken_key_names_the_merge(cli: Cli) -> None:
    a = add(cli, "A", "--email", "a@example.com")
    b = add(cli, "B", "--phone", "0812-3000-0003")
    r = cli("edit", str(b), "--email", "a@example.com", ok=False)
    assert r.exit_code == 1 and f"leadctl merge {a} {b}" in r.stderr
