"""Qualification: BANT answers, custom criteria, missing criteria, --advance, history."""

from __future__ import annotations

from datetime import timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadctl import qualify
from leadctl.errors import ValidationError
from tests.conftest import NOW


def add(cli: Any, *args: str) -> int:
    return int(cli("add", *args).stdout.strip())


def test_bant_answers_qualify_the_lead_and_update_it(cli: Any) -> None:
    lid = add(cli, "Budi", "--phone", "0812-3456-7890")
    out = cli.json(
        "qualify", str(lid), "--budget", "yes", "--authority", "Ya", "--need", "a POS system",
        "--timeline", "2026-12", "--segment", "retail", "--value", "20000000", "--tag", "b2b",
    )  # fmt: skip
    assert out["qualified"] is True and out["missing"] == []
    assert out["answers"] == {"budget": "yes", "authority": "yes", "need": "a POS system",
                              "timeline": "2026-12-31"}  # fmt: skip
    lead = cli.json("show", str(lid))
    assert lead["qualified"] is True
    assert lead["segment"] == "retail" and lead["value"] == 20000000 and "b2b" in lead["tags"]
    kinds = [a for a in lead["activities"] if a["kind"] == "qualification"]
    assert {a["data"]["criterion"] for a in kinds} == {"budget", "authority", "need", "timeline"}
    assert all(a["data"]["old"] is None for a in kinds)
    assert [x["id"] for x in cli.json("list", "--qualified")] == [lid]
    assert cli.json("list", "--unqualified") == []


def test_missing_criteria_are_named(cli: Any) -> None:
    lid = add(cli, "Ani")
    r = cli("qualify", str(lid), "--budget", "no", "--need", "x")
    assert "not qualified" in r.stderr
    assert "budget (answered 'no')" in r.stderr and "authority (not answered)" in r.stderr
    out = cli.json("qualify", str(lid))  # no answers: shows the status
    assert [m["criterion"] for m in out["missing"]] == ["budget", "authority", "timeline"]
    assert cli.json("show", str(lid))["qualified"] is False


def test_changed_answer_is_recorded_with_old_and_new(cli: Any) -> None:
    lid = add(cli, "Cici")
    cli("qualify", str(lid), "--budget", "no")
    cli("qualify", str(lid), "--budget", "yes")
    cli("qualify", str(lid), "--budget", "yes")  # unchanged: no new activity
    acts = [a for a in cli.json("show", str(lid))["activities"] if a["kind"] == "qualification"]
    assert [(a["data"]["old"], a["data"]["new"]) for a in acts] == [("no", "yes"), (None, "no")]
    cli("qualify", str(lid), "--budget", "")  # clears
    assert cli.json("qualify", str(lid))["answers"]["budget"] is None


def test_advance_moves_only_when_qualified(cli: Any) -> None:
    lid = add(cli, "Dodi")
    out = cli.json("qualify", str(lid), "--budget", "yes", "--advance")
    assert out["moved_to"] is None
    assert cli.json("show", str(lid))["stage"] == "new"
    # the answers were still saved
    assert out["answers"]["budget"] == "yes"
    out = cli.json(
        "qualify", str(lid), "--authority", "yes", "--need", "n", "--timeline", "+30d",
        "--advance",
    )  # fmt: skip
    assert out["moved_to"] == "qualified"
    lead = cli.json("show", str(lid))
    assert lead["stage"] == "qualified"
    assert any(a["kind"] == "stage_change" for a in lead["activities"])


def test_advance_never_moves_backwards(cli: Any) -> None:
    lid = add(cli, "Eko")
    cli("advance", str(lid), "--to", "negotiation")
    out = cli.json(
        "qualify", str(lid), "--budget", "y", "--authority", "y", "--need", "n",
        "--timeline", "2027-01-15", "--advance",
    )  # fmt: skip
    assert out["moved_to"] is None and out["stage"] == "negotiation"


def test_custom_criteria_with_types(cli: Any) -> None:
    cli("criteria", "add", "size", "--type", "choice", "--choices", "small,Medium,large",
        "--label", "Company size")  # fmt: skip
    cli("criteria", "add", "seats", "--type", "number", "--optional")
    lid = add(cli, "Fajar")
    out = cli.json("qualify", str(lid), "--answer", "size=medium", "-a", "seats=1,200")
    assert out["answers"]["size"] == "Medium" and out["answers"]["seats"] == "1200"
    r = cli("qualify", str(lid), "--answer", "size=huge", ok=False)
    assert r.exit_code == 2 and "Choices: small, Medium, large" in r.stderr
    r = cli("qualify", str(lid), "--answer", "seats=many", ok=False)
    assert r.exit_code == 2
    r = cli("qualify", str(lid), "--answer", "colour=red", ok=False)
    assert (
        r.exit_code == 3 and "Criteria: budget, authority, need, timeline, size, seats" in r.stderr
    )
    r = cli("qualify", str(lid), "--answer", "novalue", ok=False)
    assert r.exit_code == 2
    r = cli("qualify", str(lid), "--timeline", "someday", ok=False)
    assert r.exit_code == 2 and "timeline" in r.stderr
    keys = [c["key"] for c in cli.json("criteria", "list")]
    assert keys == ["budget", "authority", "need", "timeline", "size", "seats"]


def test_criteria_edit_and_remove_requalify(cli: Any) -> None:
    lid = add(cli, "Gita")
    cli("qualify", str(lid), "--budget", "yes", "--authority", "yes", "--need", "x")
    assert cli.json("show", str(lid))["qualified"] is False  # timeline missing
    cli("criteria", "edit", "timeline", "--optional")
    assert cli.json("show", str(lid))["qualified"] is True
    cli("criteria", "add", "size", "--type", "text")  # required by default
    assert cli.json("show", str(lid))["qualified"] is False
    cli("criteria", "remove", "size")
    assert cli.json("show", str(lid))["qualified"] is True
    r = cli("criteria", "edit", "budget", "--type", "text", ok=False)
    assert r.exit_code == 1 and "answer" in r.stderr
    r = cli("criteria", "add", "Bad Key", ok=False)
    assert r.exit_code == 2
    r = cli("criteria", "add", "x", "--type", "colour", ok=False)
    assert r.exit_code == 2 and "yesno, choice" in r.stderr
    r = cli("criteria", "remove", "nope", ok=False)
    assert r.exit_code == 3


def test_new_choices_keep_every_answer_valid(cli: Any) -> None:
    r = cli("criteria", "add", "size", "--type", "choice", "--choices", "small,Small", ok=False)
    assert r.exit_code == 2 and "'Small' is given twice" in r.stderr
    cli("criteria", "add", "size", "--type", "choice", "--choices", "small,medium,large")
    a, b = add(cli, "Ayu"), add(cli, "Bayu")
    cli("qualify", str(a), "--answer", "size=small")
    cli("qualify", str(b), "--answer", "size=large")
    # Dropping a choice some lead holds is refused, and changes nothing.
    r = cli("criteria", "edit", "size", "--choices", "small,medium", ok=False)
    assert r.exit_code == 1 and "1 answer(s) to 'size' are not among the new choices" in r.stderr
    assert "'large'" in r.stderr and "leadctl qualify ID -a size=" in r.stderr
    assert [c["choices"] for c in cli.json("criteria", "list") if c["key"] == "size"] == [
        ["small", "medium", "large"]
    ]
    # A new spelling of the same choice carries the answers with it.
    cli("criteria", "edit", "size", "--choices", "Small,Medium,Large,Enterprise")
    answers = {lid: cli.json("qualify", str(lid))["answers"]["size"] for lid in (a, b)}
    assert answers == {a: "Small", b: "Large"}
    r = cli("criteria", "edit", "size", "--choices", "Small,Medium,Large,large", ok=False)
    assert r.exit_code == 2 and "given twice" in r.stderr


def test_qualify_unknown_lead(cli: Any) -> None:
    r = cli("qualify", "42", "--budget", "yes", ok=False)
    assert r.exit_code == 3


CRITERIA = [
    qualify.Criterion("b", "B", "yesno", [], True, 1),
    qualify.Criterion("n", "N", "number", [], True, 2),
    qualify.Criterion("d", "D", "date", [], True, 3),
    qualify.Criterion("c", "C", "choice", ["Red", "green"], True, 4),
    qualify.Criterion("t", "T", "text", [], True, 5),
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CRITERIA), st.text(max_size=30))
def test_parse_answer_is_idempotent_and_raises_only_validation_error(
    c: qualify.Criterion, text: str
) -> None:
    try:
        value = qualify.parse_answer(c, text, NOW, timezone.utc)
    except ValidationError:
        return
    if value is not None:
        assert qualify.parse_answer(c, value, NOW, timezone.utc) == value


@pytest.mark.parametrize(
    ("ctype", "text", "expected"),
    [
        ("yesno", "Y", "yes"), ("yesno", "tidak", "no"), ("number", "2.50", "2.5"),
        ("number", "1_000", "1000"), ("date", "2026-12", "2026-12-31"),
        ("date", "tomorrow", "2026-11-23"), ("choice", "GREEN", "green"), ("text", "  a ", "a"),
    ],
)  # fmt: skip
def test_parse_answer_examples(ctype: str, text: str, expected: str | None) -> None:
    c = next(x for x in CRITERIA if x.type == ctype)
    got = qualify.parse_answer(c, text, NOW, timezone.utc)
    assert got == expected


def test_a_stored_repeated_choice_does_not_block_other_edits(cli: Any, conn: Any) -> None:
    """A database from before repeats were refused: its label still edits."""
    cli("criteria", "add", "size", "--type", "choice", "--choices", "small,medium")
    conn.execute(
        """UPDATE criteria SET choices = '["small","Small","medium"]' WHERE key = 'size'"""
    )
    conn.commit()
    cli("criteria", "edit", "size", "--label", "Size?", "--optional")
    row = next(c for c in cli.json("criteria", "list") if c["key"] == "size")
    assert (row["label"], row["choices"]) == ("Size?", ["small", "Small", "medium"])


def test_criteria_changes_rescore_every_lead(cli: Any) -> None:
    """A criteria change moves `qualified` and the answers, which the rules
    read: the stored score (what list --sort, assign --auto and the reports
    see) follows at once, as after a rule change."""
    lid = add(cli, "Gita")
    cli("qualify", str(lid), "--budget", "yes", "--authority", "yes", "--need", "POS")

    def stored() -> int:
        lead = cli.json("show", str(lid))
        # The stored score equals a fresh computation (score shows and stores it).
        return int(lead["score"])

    def fresh() -> int:
        return int(cli.json("score", str(lid))["score"])

    steps = [
        ("edit", "timeline", "--optional"),  # qualified now
        ("add", "size", "--type", "choice", "--choices", "s,m,l"),  # unqualified again
        ("remove", "size"),  # qualified again
    ]
    seen = [stored()]
    for step in steps:
        r = cli("criteria", *step)
        assert "Rescored 1 lead(s)" in r.stderr, step
        seen.append(stored())
        assert seen[-1] == fresh() != seen[-2], step  # stored, and changed
    r = cli("criteria", "edit", "need", "--label", "What do they need?")
    assert "Rescored" not in r.stderr  # a new question text changes no score


def test_a_criterion_scored_by_a_rule_is_not_removed_under_it(cli: Any) -> None:
    """The rule could neither fire nor be edited, and its rules file would not
    import back: the removal is refused, naming the rule; reset leaves out a
    shipped rule whose criterion is gone."""
    r = cli("criteria", "remove", "need", ok=False)
    assert r.exit_code == 1 and "need_known" in r.stderr
    assert "score rules remove need_known" in r.stderr
    assert "need" in [c["key"] for c in cli.json("criteria", "list")]
    cli("score", "rules", "remove", "need_known")
    cli("criteria", "remove", "need")
    r = cli("score", "rules", "reset", "--yes")
    assert "Left out need_known" in r.stderr
    names = [rule["name"] for rule in cli.json("score", "rules", "list")]
    assert "need_known" not in names and names
    exported = cli("score", "rules", "export").stdout
    cli("score", "rules", "import", "-", input=exported)  # round trip works
    assert [rule["name"] for rule in cli.json("score", "rules", "list")] == names


def test_advance_names_its_stage_problems_before_storing_anything(cli: Any) -> None:
    lid = add(cli, "Gita")
    answers = ["--budget", "yes", "--authority", "yes", "--need", "POS", "--timeline", "2026-12-15"]
    cli("stages", "rename", "qualified", "sql")
    r = cli("qualify", str(lid), *answers, "--advance", ok=False)
    assert r.exit_code == 2 and "'qualified', which this pipeline no longer has" in r.stderr
    assert "--stage" in r.stderr and "sql" in r.stderr
    assert set(cli.json("qualify", str(lid))["answers"].values()) == {None}  # nothing stored
    r = cli("qualify", str(lid), *answers, "--advance", "--stage", "lost", ok=False)
    assert r.exit_code == 2 and f"leadctl advance {lid} --to lost --reason" in r.stderr
    r = cli("qualify", str(lid), *answers, "--stage", "sql", ok=False)
    assert r.exit_code == 2 and "--stage goes with --advance" in r.stderr
    out = cli.json("qualify", str(lid), *answers, "--advance", "--stage", "sql")
    assert out["qualified"] is True and cli.json("show", str(lid))["stage"] == "sql"
