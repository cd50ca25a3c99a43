"""Rule score: default rules, explain == stored score, decay, caps, rules CLI, --all."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadctl import activities, leads, scoring
from leadctl.errors import NotFoundError, ValidationError
from tests.conftest import NOW


def add(cli: Any, *args: str) -> int:
    return int(cli("add", *args).stdout.strip())


def explain(cli: Any, lead_id: int) -> dict[str, Any]:
    return cli.json("score", str(lead_id), "--explain")


def stored_score(cli: Any, lead_id: int) -> int:
    return cli.json("show", str(lead_id))["score"]


def test_new_lead_is_scored_and_explain_total_equals_stored_score(cli: Any) -> None:
    lid = add(cli, "Budi", "--phone", "0812-3456-7890", "--email", "b@x.co", "--value", "15jt")
    out = explain(cli, lid)
    fired = {r["rule"]: r["points"] for r in out["rules"]}
    # 5 e-mail + 5 phone + 8 large deal + 5 touched this week (created now)
    assert fired == {"has_email": 5, "has_phone": 5, "deal_large": 8, "touched_this_week": 5}
    assert out["score"] == 23 == stored_score(cli, lid)
    assert sum(g["counted"] for g in out["groups"]) == pytest.approx(out["raw"])


@pytest.mark.parametrize(
    "args",
    [
        ["Nobody"],
        ["Ani", "--email", "a@x.co", "--company", "PT A", "--source", "referral"],
        ["Cici", "--phone", "0813-1111-2222", "--do-not-contact", "--tag", "invalid-contact"],
        ["Dodi", "--email", "d@x.co", "--value", "5jt"],
    ],
)
def test_explain_total_equals_stored_score_for_many_leads(cli: Any, args: list[str]) -> None:
    lid = add(cli, *args)
    cli("log", str(lid), "--kind", "call", "--at", "2026-10-01")
    cli("log", str(lid), "--kind", "meeting", "--at", "2026-11-20")
    cli("log", str(lid), "--kind", "whatsapp", "--inbound")
    cli("qualify", str(lid), "--budget", "yes", "--need", "a till")
    out = explain(cli, lid)
    assert out["score"] == stored_score(cli, lid)
    raw = sum(g["counted"] for g in out["groups"])
    assert out["score"] == round(max(0, min(100, raw)))
    by_group: dict[str, float] = {}
    for r in out["rules"]:
        by_group[r["group"]] = by_group.get(r["group"], 0) + r["points"]
    for g in out["groups"]:
        assert g["points"] == pytest.approx(by_group[g["group"]], abs=0.01)


def test_negative_rules_and_clamp_at_zero(cli: Any) -> None:
    lid = add(cli, "Nobody", "--do-not-contact")
    out = explain(cli, lid)
    fired = {r["rule"] for r in out["rules"]}
    assert {"do_not_contact", "no_contact_data"} <= fired
    assert out["raw"] < 0
    assert out["score"] == 0 == stored_score(cli, lid)


def test_engagement_decays_with_age(cli: Any) -> None:
    lid = add(cli, "Eko", "--email", "e@x.co")
    # NOW is 2026-11-22T08:00Z: exactly 30 and 60 days before
    cli("log", str(lid), "--kind", "call", "--at", "2026-10-23T08:00:00Z")
    cli("log", str(lid), "--kind", "meeting", "--at", "2026-09-23T08:00:00Z")
    fired = {r["rule"]: r["points"] for r in explain(cli, lid)["rules"]}
    assert fired["calls"] == pytest.approx(4 * 0.75)
    assert fired["meetings"] == pytest.approx(8 * 0.75**2)


def test_decay_setting_changes_the_points(cli: Any) -> None:
    lid = add(cli, "Eko", "--email", "e@x.co")
    cli("log", str(lid), "--kind", "call", "--at", "2026-10-23T08:00:00Z")
    cli("settings", "set", "score_decay", "0.5")
    fired = {r["rule"]: r["points"] for r in explain(cli, lid)["rules"]}
    assert fired["calls"] == pytest.approx(2.0)


def test_group_cap_limits_a_group(cli: Any) -> None:
    lid = add(cli, "Fajar", "--email", "f@x.co")
    for _ in range(6):
        cli("log", str(lid), "--kind", "meeting")  # 6 × 8 = 48 > cap 40
    out = explain(cli, lid)
    eng = next(g for g in out["groups"] if g["group"] == "engagement")
    assert eng["points"] > 40
    assert eng["counted"] == 40
    cli("score", "rules", "cap", "engagement", "10")
    eng = next(g for g in explain(cli, lid)["groups"] if g["group"] == "engagement")
    assert eng["counted"] == 10
    r = cli("score", "rules", "cap", "engagment", "5", ok=False)  # a typo
    assert r.exit_code == 3 and "engagement" in r.stderr
    eng = next(g for g in explain(cli, lid)["groups"] if g["group"] == "engagement")
    assert eng["counted"] == 10


def test_total_clamped_to_100(cli: Any) -> None:
    lid = add(cli, "Gita", "--email", "g@x.co")
    cli("score", "rules", "add", "vip", "--field", "name", "--op", "eq", "--value", "gita",
        "--points", "500", "--group", "boost")  # fmt: skip
    out = explain(cli, lid)
    assert out["raw"] > 100
    assert out["score"] == 100 == stored_score(cli, lid)


def test_scores_follow_changes_automatically(cli: Any) -> None:
    lid = add(cli, "Hadi", "--phone", "0812-9999-0000")
    s0 = stored_score(cli, lid)
    cli("edit", str(lid), "--email", "h@x.co")
    s1 = stored_score(cli, lid)
    assert s1 == s0 + 5
    cli("log", str(lid), "--kind", "call")
    s2 = stored_score(cli, lid)
    assert s2 == s1 + 4
    cli("qualify", str(lid), "--budget", "yes")
    s3 = stored_score(cli, lid)
    assert s3 == s2 + 5
    cli("score", "rules", "add", "in_qualified", "--field", "stage", "--op", "eq",
        "--value", "contacted", "--points", "7")  # fmt: skip
    s4 = stored_score(cli, lid)
    cli("advance", str(lid))  # new -> contacted
    assert stored_score(cli, lid) == s4 + 7


def test_score_history_records_changes(cli: Any, conn: Any) -> None:
    lid = add(cli, "Ika")
    cli("log", str(lid), "--kind", "call")
    rows = conn.execute(
        "SELECT old_score, new_score FROM score_history WHERE lead_id = ? ORDER BY id", (lid,)
    ).fetchall()
    assert [tuple(r) for r in rows][-1] == (rows[-1][0], stored_score(cli, lid))
    assert rows[0][0] is None  # the first score
    assert all(r[0] != r[1] for r in rows)  # only changes are kept
    hist = explain(cli, lid)["history"]
    assert hist[0]["new_score"] == stored_score(cli, lid)


def test_unknown_field_and_operator_list_the_valid_ones(cli: Any) -> None:
    r = cli("score", "rules", "add", "x", "--field", "colour", "--op", "eq", "--value", "red",
            "--points", "1", ok=False)  # fmt: skip
    assert r.exit_code == 2
    assert "Unknown rule field 'colour'" in r.stderr and "has:" in r.stderr
    assert "activities:" in r.stderr
    r = cli("score", "rules", "add", "x", "--field", "source", "--op", "like", "--value", "a",
            "--points", "1", ok=False)  # fmt: skip
    assert r.exit_code == 2 and "Operators: eq, ne" in r.stderr
    r = cli("score", "rules", "add", "x", "--field", "answer:colour", "--op", "exists",
            "--points", "1", ok=False)  # fmt: skip
    assert r.exit_code == 3 and "Criteria: budget, authority" in r.stderr
    r = cli("score", "rules", "add", "x", "--field", "source", "--op", "each", "--points", "1",
            ok=False)  # fmt: skip
    assert r.exit_code == 2 and "activities:" in r.stderr
    r = cli("score", "rules", "edit", "nope", "--points", "1", ok=False)
    assert r.exit_code == 3 and "has_email" in r.stderr


def test_rules_add_edit_remove_rescore(cli: Any) -> None:
    lid = add(cli, "Joko", "--email", "j@x.co", "--source", "ads", "--field", "visits=12")
    before = stored_score(cli, lid)
    cli("score", "rules", "add", "many_visits", "--field", "field:visits", "--op", "gte",
        "--value", "10", "--points", "6", "--group", "fit")  # fmt: skip
    assert stored_score(cli, lid) == before + 6
    cli("score", "rules", "edit", "many_visits", "--points", "9")
    assert stored_score(cli, lid) == before + 9
    cli("score", "rules", "edit", "many_visits", "--inactive")
    assert stored_score(cli, lid) == before
    rules = {r["name"]: r for r in cli.json("score", "rules", "list")}
    assert rules["many_visits"]["active"] is False
    cli("score", "rules", "remove", "many_visits")
    assert "many_visits" not in {r["name"] for r in cli.json("score", "rules", "list")}


def test_operators(conn: Any) -> None:
    lead = leads.add_lead(
        conn, {"name": "Op", "source": "Ads", "tags": ["hot", "b2b"], "value": "5000000",
               "fields": {"size": "42", "note": "Big Shop"}},
        now=NOW, actor="t",
    )  # fmt: skip
    cases = [
        ("source", "eq", "ads", True), ("source", "ne", "ads", False),
        ("source", "in", "web, ads", True), ("tags", "contains", "b2b", True),
        ("tags", "eq", "hot", True), ("tags", "contains", "cold", False),
        ("field:size", "gt", "41", True), ("field:size", "lte", "41", False),
        ("field:size", "between", "40..42", False), ("field:size", "between", "40..43", True),
        ("field:note", "contains", "shop", True), ("field:missing", "missing", None, True),
        ("field:note", "exists", None, True), ("value", "gte", "5jt", True),
        ("value", "lt", "5.000.000", False), ("value", "eq", "5jt", True),
        ("value", "in", "1jt, 5jt", True), ("value", "ne", "5000000", False), ("has:company", "eq", "no", True),
        ("do_not_contact", "eq", "no", True), ("activities:created", "gte", "1", True),
        ("activities:call", "each", None, False), ("age_days", "lte", "0", True),
    ]  # fmt: skip
    for i, (fld, op, value, _) in enumerate(cases):
        scoring.add_rule(conn, scoring.Rule(None, f"r{i}", fld, op, value, 1, "t"))
    result = scoring.score_lead(conn, lead.id, NOW)
    fired = {f.rule for f in result.fired}
    for i, (fld, op, value, expect) in enumerate(cases):
        assert (f"r{i}" in fired) == expect, (fld, op, value)


def test_export_import_roundtrip(cli: Any, tmp_path: Any) -> None:
    path = tmp_path / "rules.toml"
    cli("score", "rules", "add", "quote\"d", "--field", "source", "--op", "eq", "--value",
        'say "hi" \\ there', "--points", "2.5", "--group", "fit", ok=False)  # fmt: skip
    cli("score", "rules", "add", "odd_value", "--field", "source", "--op", "eq", "--value",
        'say "hi" \\ there', "--points", "2.5", "--group", "fit")  # fmt: skip
    before = cli.json("score", "rules", "list")
    cli("score", "rules", "export", str(path))
    text = path.read_text()
    assert "[[rule]]" in text and "[groups]" in text
    cli("score", "rules", "remove", "odd_value")
    cli("score", "rules", "import", str(path))

    def without_ids(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "id"} for r in rules]

    assert without_ids(cli.json("score", "rules", "list")) == without_ids(before)
    groups = {g["group"]: g["cap"] for g in cli.json("score", "rules", "groups")}
    assert groups["engagement"] == 40


def test_import_syntax_error_names_the_line_and_keeps_rules(
    cli: Any, conn: Any, tmp_path: Any
) -> None:
    before = cli.json("score", "rules", "list")
    bad = tmp_path / "bad.toml"
    bad.write_text('[groups]\nfit = 10\n\n[[rule]]\nname = "x"\nfield = = "source"\n')
    r = cli("score", "rules", "import", str(bad), ok=False)
    assert r.exit_code == 2
    assert "line 6" in r.stderr and "kept" in r.stderr
    assert cli.json("score", "rules", "list") == before
    # a valid file with one invalid rule is refused as a whole too
    bad.write_text(
        '[[rule]]\nname = "a"\nfield = "source"\noperator = "eq"\nvalue = "x"\npoints = 1\n'
        'group = "fit"\n\n[[rule]]\nname = "b"\nfield = "colour"\noperator = "eq"\n'
        'value = "x"\npoints = 1\ngroup = "fit"\n'
    )
    r = cli("score", "rules", "import", str(bad), ok=False)
    assert r.exit_code == 2 and "rule #2" in r.stderr and "colour" in r.stderr
    assert cli.json("score", "rules", "list") == before


def test_import_refuses_values_of_the_wrong_type(cli: Any, conn: Any, tmp_path: Any) -> None:
    before = cli.json("score", "rules", "list")
    bad = tmp_path / "bad.toml"
    rule = '[[rule]]\nname = "a"\nfield = "source"\noperator = "eq"\nvalue = "x"\ngroup = "fit"\n'
    for extra, word in (('points = 1\nactive = "no"\n', "active"), ("points = true\n", "points"),
                        ('points = "5"\n', "points")):  # fmt: skip
        bad.write_text(rule + extra)
        r = cli("score", "rules", "import", str(bad), ok=False)
        assert r.exit_code == 2 and f"{word} must be" in r.stderr and "(a)" in r.stderr, extra
    assert cli.json("score", "rules", "list") == before
    bad.write_text(rule + "points = 2\nactive = false\n")
    cli("score", "rules", "import", str(bad))
    assert [(x["name"], x["active"]) for x in cli.json("score", "rules", "list")] == [("a", False)]


def test_import_replaces_rules(cli: Any, tmp_path: Any) -> None:
    lid = add(cli, "Kiki", "--source", "ads")
    f = tmp_path / "r.toml"
    f.write_text(
        '[groups]\nads = 3\n\n[[rule]]\nname = "from_ads"\nfield = "source"\n'
        'operator = "eq"\nvalue = "ads"\npoints = 10\ngroup = "ads"\n'
    )
    cli("score", "rules", "import", str(f))
    assert [r["name"] for r in cli.json("score", "rules", "list")] == ["from_ads"]
    assert stored_score(cli, lid) == 3


def test_import_refuses_a_file_without_rules_and_reset_restores_the_shipped(
    cli: Any, tmp_path: Any
) -> None:
    lid = add(cli, "Kiki", "--email", "kiki@example.com", "--company", "PT Kiki")
    shipped = cli.json("score", "rules", "list")
    groups = cli.json("score", "rules", "groups")
    score = stored_score(cli, lid)
    assert score > 0
    f = tmp_path / "r.toml"
    for text in ("", "[groups]\nfit = 10\n", "# nothing yet\n"):
        f.write_text(text)
        r = cli("score", "rules", "import", str(f), ok=False)
        assert r.exit_code == 2 and "holds no [[rule]] table" in r.stderr
        assert "score rules reset" in r.stderr
    assert cli.json("score", "rules", "list") == shipped  # kept, as the message says
    cli("score", "rules", "remove", "has_email")
    cli("score", "rules", "cap", "fit", "7")
    assert stored_score(cli, lid) == score - 5
    r = cli("score", "rules", "reset", ok=False)  # not a terminal: needs --yes
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert len(cli.json("score", "rules", "list")) == len(shipped) - 1
    cli("score", "rules", "reset", "--yes")

    def without_ids(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "id"} for r in rules]

    assert without_ids(cli.json("score", "rules", "list")) == without_ids(shipped)
    assert cli.json("score", "rules", "groups") == groups
    assert stored_score(cli, lid) == score  # every lead rescored


def test_score_all_recomputes_with_few_queries(conn: Any) -> None:
    ids = []
    for i in range(30):
        lead = leads.add_lead(conn, {"name": f"L{i}", "email": f"l{i}@x.co"}, now=NOW, actor="t")
        ids.append(lead.id)
        for _ in range(i % 3):
            activities.record(conn, lead.id, "call", at=NOW, now=NOW, actor="t")
    conn.execute("UPDATE leads SET score = NULL")
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    result = scoring.score_all(conn, NOW)
    conn.set_trace_callback(None)
    assert result.leads == 30 and result.changed == 30
    activity_queries = [s for s in statements if "FROM activities" in s]
    assert len(activity_queries) == 1 and "GROUP BY" in activity_queries[0]
    # a constant number of statements, not one per lead
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) < 10
    for lid in ids:
        one = scoring.score_lead(conn, lid, NOW).score
        assert conn.execute("SELECT score FROM leads WHERE id = ?", (lid,)).fetchone()[0] == one


# Values of one type or another that equal each other in Python (True == 1 ==
# 1.0, -0.0 == 0.0) yet a rule may tell apart, a dict (cannot be a dict key)
# and texts the operators read as yes/no or numbers.
_VALUES = st.sampled_from(
    [None, "", "yes", "No", "1", "1.0", " referral ", "Ads", "-0", "5000000", True, False,
     1, 0, 1.0, 0.0, -0.0, 5_000_000, 12.5, float("nan"), [], ["hot", "b2b"], ["1"], [1],
     [True], {"a": 1}, {}, (1,), (True,), (), [[]], "r" * 81, ["t"] * 9]
)  # fmt: skip
_RULE_FIELDS = ["source", "value", "tags", "qualified", "days_since_touch", "has:email",
                "has:contact", "field:size", "answer:budget", "activities:call",
                "activities:any"]  # fmt: skip
_RULE_VALUES = ["yes", "no", "1", "1.0", "-0", "referral", "ads, referral", "b2b", "5jt",
                "0..2", "1000000..10000000", "hot", "0.5"]  # fmt: skip
_OPERATORS = ["eq", "ne", "in", "contains", "gt", "gte", "lt", "lte", "between", "exists",
              "missing", "each"]  # fmt: skip


@st.composite
def _facts(draw: Any) -> scoring.Facts:
    lead = {"id": 1, "score": None, "email": draw(_VALUES), "phone": draw(_VALUES),
            "source": draw(_VALUES), "value": draw(_VALUES), "tags": draw(_VALUES),
            "qualified": draw(st.booleans()), "days_since_touch": draw(st.integers(0, 40)),
            "fields": {"size": draw(_VALUES)} if draw(st.booleans()) else {}}  # fmt: skip
    answers = (
        {"budget": draw(st.sampled_from(["yes", "no", "1", ""]))} if draw(st.booleans()) else {}
    )
    pairs = st.lists(st.tuples(st.integers(0, 400), st.integers(1, 3)), max_size=3)
    acts = {k: v for k in ("call", "any") if (v := draw(pairs))}
    return scoring.Facts(lead, answers, acts)


def _many(scorer: scoring.Scorer) -> Any:
    """What `score --all` scores leads with (a column at a time, what it
    remembers kept across calls): facts -> score, or a list -> scores."""
    columns = scoring._ColumnScores(scorer, NOW)

    def score(given: scoring.Facts | list[scoring.Facts]) -> Any:
        leads = given if isinstance(given, list) else [given]
        keys = set().union(*(f.lead for f in leads))
        lead = {k: [f.lead.get(k) for f in leads] for k in keys}
        got = columns.scores(lead, [f.answers for f in leads], [f.activities for f in leads])
        return got if isinstance(given, list) else got[0]

    return score


def _scorer_of(rules: list[tuple[str, str, str, float, str]]) -> scoring.Scorer:
    """A Scorer of these (field, operator, value, points, group) rules; caps
    fit 10, negative 5; decay 0.5 a 30 days."""
    scorer = scoring.Scorer.__new__(scoring.Scorer)
    scorer.rules = []
    scorer.caps = {"fit": 10.0, "engagement": None, "negative": 5.0}
    scorer.decay, scorer.decay_days = 0.5, 30.0
    scorer._factors = {}
    scorer.compiled = []
    for i, (fld, op, value, points, group) in enumerate(rules):
        if op == "each" and not fld.startswith("activities:"):
            continue  # refused when a rule is added
        rule = scoring.Rule(i, f"r{i}", fld, op, None if op in scoring.NO_VALUE_OPS else value,
                            points, group)  # fmt: skip
        with contextlib.suppress(ValidationError, ValueError):
            scorer.compiled.append(
                scoring._Compiled(rule, scoring._getter(fld), scoring._make_test(rule, "IDR"))
            )
    return scorer


@settings(max_examples=300, deadline=None)
@given(
    rules=st.lists(
        st.tuples(
            st.sampled_from(_RULE_FIELDS),
            st.sampled_from(_OPERATORS),
            st.sampled_from(_RULE_VALUES),
            st.sampled_from([-7.5, 0.1, 0.2, 3, 40]),
            st.sampled_from(["fit", "engagement", "negative"]),
        ),
        max_size=12,
    ),
    pool=st.lists(_facts(), min_size=1, max_size=6),
    picks=st.lists(st.integers(0, 5), max_size=30),
)
def test_score_all_remembered_scores_equal_total(
    rules: list[tuple[str, str, str, float, str]], pool: list[scoring.Facts], picks: list[int]
) -> None:
    """What score --all scores with (`_ColumnScores`) gives every lead what
    `total` gives, a lead at a time and all at once, leads repeating so that
    its remembered outcomes are reused."""
    scorer = _scorer_of(rules)
    many = _many(scorer)
    leads = [pool[k % len(pool)] for k in [*range(len(pool)), *picks]]
    assert many(leads) == [scorer.total(facts, NOW) for facts in leads]
    for facts in leads:
        assert many(facts) == scorer.total(facts, NOW)
    # Each value in turn in each field of one lead: True after 1, -0.0 after 0.0...
    base = pool[0]
    for key in ("email", "source", "value", "tags", "size"):
        for value in _VALUES.elements:  # type: ignore[attr-defined]
            lead = dict(base.lead)
            if key == "size":
                lead["fields"] = {"size": value}
            else:
                lead[key] = value
            facts = scoring.Facts(lead, base.answers, base.activities)
            assert many(facts) == scorer.total(facts, NOW), (key, value)
            assert many([facts, base]) == [scorer.total(facts, NOW), scorer.total(base, NOW)]


def test_remembered_scores_of_activities_follow_their_ages() -> None:
    """Two leads with as many calls, at other ages: `each` decays them apart."""
    scorer = _scorer_of([("activities:call", "each", "", 10, "engagement")])
    many = _many(scorer)
    for calls, score in (([(0, 2)], 20), ([(30, 2)], 10), ([(0, 1), (30, 1)], 15), ([], 0)):
        facts = scoring.Facts({}, {}, {"call": calls})
        assert many(facts) == scorer.total(facts, NOW) == score, calls


def test_an_each_rule_on_another_field_is_scored_by_total() -> None:
    """(Refused when a rule is added; a database edited by hand may hold one.)"""
    scorer = _scorer_of([("source", "eq", "ads", 5, "fit")])
    rule = scoring.Rule(9, "odd", "source", "each", None, 3, "fit")
    scorer.compiled.append(scoring._Compiled(rule, scoring._getter("source"), lambda v: bool(v)))
    facts = scoring.Facts({"source": "Ads"}, {}, {"": [(0, 1)]})
    assert _many(scorer)(facts) == scorer.total(facts, NOW) == 8


def test_remembered_scores_tell_equal_values_of_two_types_apart() -> None:
    scorer = _scorer_of(
        [("source", "contains", "-0", 10, "fit"), ("source", "eq", "yes", 20, "fit")]
    )
    many = _many(scorer)
    for value, score in ((0.0, 0), (-0.0, 10), (1, 0), (True, 10), ("yes", 10), (-0.0, 10)):
        facts = scoring.Facts({"source": value}, {}, {})
        assert many(facts) == scorer.total(facts, NOW) == score, value
    # The points are added in the rules' order, as `total` adds them:
    # (0.1 + 0.1) + 5.3 rounds to 6, (0.1 + 5.3) + 0.1 to 5.
    rules = [("source", "exists", "", 0.1, "engagement"), ("value", "exists", "", 0.1, "engagement"),
             ("source", "exists", "", 5.3, "engagement")]  # fmt: skip
    scorer = _scorer_of(rules)
    facts = scoring.Facts({"source": "Ads", "value": 5}, {}, {})
    assert _many(scorer)(facts) == scorer.total(facts, NOW) == 6


def test_score_all_cli_and_progress_callback(cli: Any, conn: Any) -> None:
    for i in range(3):
        add(cli, f"M{i}")
    out = cli.json("score", "--all")
    assert out["leads"] == 3 and out["changed"] == 0 and out["trained"] is False
    seen: list[tuple[int, int]] = []
    scoring.score_all(conn, NOW, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (3, 3)


def test_score_routing_and_usage(cli: Any) -> None:
    lid = add(cli, "Nina")
    assert cli.json("score", str(lid))["score"] == cli.json("score", "show", str(lid))["score"]
    assert "Rules that fired" in cli("score", str(lid), "--explain").stdout
    r = cli("score", ok=False)
    assert r.exit_code == 2 and "--all" in r.stderr
    r = cli("score", "999", ok=False)
    assert r.exit_code == 3
    assert "has_email" in cli("score", "rules").stdout


def test_check_rule_core_errors(conn: Any) -> None:
    with pytest.raises(ValidationError):
        scoring.add_rule(conn, scoring.Rule(None, "bad name!", "source", "eq", "x", 1, "fit"))
    with pytest.raises(ValidationError):
        scoring.add_rule(conn, scoring.Rule(None, "n", "source", "eq", None, 1, "fit"))
    with pytest.raises(ValidationError):
        scoring.add_rule(conn, scoring.Rule(None, "n", "field:size", "gt", "abc", 1, "fit"))
    with pytest.raises(ValidationError):
        scoring.add_rule(conn, scoring.Rule(None, "n", "value", "between", "1", 1, "fit"))
    with pytest.raises(NotFoundError):
        scoring.get_rule(conn, "nope")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_rules_parser_raises_only_validation_error(text: str) -> None:
    import sqlite3

    from leadctl.db import open_db

    conn = _PARSER_DB.get("conn")
    if conn is None:
        import tempfile

        conn = _PARSER_DB["conn"] = open_db(tempfile.mkdtemp() + "/p.db")
    assert isinstance(conn, sqlite3.Connection)
    with contextlib.suppress(ValidationError):
        scoring.parse_rules_toml(conn, text)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
            st.sampled_from(["source", "tags", "field:x", "value", "has:email"]),
            st.sampled_from(["eq", "ne", "contains", "exists", "gte"]),
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12),
            st.integers(-50, 50),
        ),
        max_size=5,
        unique_by=lambda t: t[0],
    )
)
def test_rules_export_import_is_idempotent(rules: list[tuple[str, str, str, str, int]]) -> None:
    import tempfile

    from leadctl.db import open_db

    conn = open_db(tempfile.mkdtemp() + "/r.db")
    try:
        conn.execute("DELETE FROM score_rules")
        conn.execute("DELETE FROM score_groups")
        for name, fld, op, value, points in rules:
            if op == "gte" or fld == "value":
                value = "5"
            try:
                scoring.add_rule(conn, scoring.Rule(None, name, fld, op, value, points, "g"))
            except ValidationError:
                continue
        first = scoring.export_rules(conn)
        if "[[rule]]" not in first:  # no rule: refused, nothing changes
            with pytest.raises(ValidationError, match="holds no"):
                scoring.import_rules(conn, first)
        else:
            scoring.import_rules(conn, first)
        assert scoring.export_rules(conn) == first
    finally:
        conn.close()


_PARSER_DB: dict[str, object] = {}


def test_migration_0003_on_fresh_and_upgraded_database(tmp_path: Any) -> None:
    from leadctl.db import SCHEMA_VERSION, open_db

    path = tmp_path / "up.db"
    conn = open_db(path)
    assert len(scoring.list_rules(conn)) == 21
    caps = {g["group"]: g["cap"] for g in scoring.list_groups(conn)}
    assert caps == {"engagement": 40, "fit": 60, "negative": 50}
    # Make it look like a schema-3 database (before this migration), with a lead.
    leads.add_lead(conn, {"name": "Old"}, now=NOW, actor="t")
    conn.execute("DELETE FROM score_rules")
    conn.execute("DELETE FROM score_groups")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0004_score_default_rules'")
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    conn = open_db(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert len(scoring.list_rules(conn)) == 21
    assert scoring.score_all(conn, NOW).leads == 1
    conn.close()


def test_deferred_rescoring_scores_once_at_the_end(conn: Any) -> None:
    with scoring.deferred_rescoring(conn, NOW):
        lead = leads.add_lead(conn, {"name": "Bulk", "email": "b@x.co"}, now=NOW, actor="t")
        activities.record(conn, lead.id, "call", at=NOW, now=NOW, actor="t")
        assert (
            conn.execute("SELECT score FROM leads WHERE id = ?", (lead.id,)).fetchone()[0] is None
        )
    stored = conn.execute("SELECT score FROM leads WHERE id = ?", (lead.id,)).fetchone()[0]
    assert stored == scoring.score_lead(conn, lead.id, NOW).score == 14


def _varied_leads(conn: Any, n: int) -> None:
    """n leads whose scores differ: contact data, deal sizes, sources, tags,
    activities of several kinds and ages, answers; then every score cleared
    except a few (so some scores change and some do not)."""
    from datetime import timedelta, timezone

    from leadctl import qualify

    UTC = timezone.utc

    for i in range(n):
        data: dict[str, Any] = {"name": f"L{i}"}
        if i % 2:
            data["email"] = f"l{i}@x.co"
        if i % 3:
            data["phone"] = f"0812{i:08d}"
        if i % 5 == 0:
            data["value"] = (i % 7) * 5_000_000_00
        data["source"] = ("ads", "referral", "walk-in")[i % 3]
        if i % 11 == 0:
            data["tags"] = ["invalid-contact"]
        lead = leads.add_lead(conn, data, now=NOW, actor="t")
        for k in range(i % 4):
            kind = ("call", "meeting", "whatsapp")[k % 3]
            at = NOW - timedelta(days=9 * k + i % 40)
            activities.record(conn, lead.id, kind, at=at, now=NOW, actor="t")
        if i % 6 == 0:
            qualify.qualify_lead(conn, lead.id, {"budget": "yes"}, now=NOW, tz=UTC, actor="t")
    conn.execute("UPDATE leads SET score = NULL WHERE id % 4 <> 0")


def test_score_all_in_worker_processes_stores_what_one_process_stores(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over PARALLEL_SCORE_LEADS leads, spawned processes score id ranges in
    turn while this one writes: the same scores and score history, in the
    same order, as scoring here."""
    import shutil

    from leadctl.db import open_db

    first = open_db(tmp_path / "one.db")
    _varied_leads(first, 240)
    first.close()
    shutil.copy(tmp_path / "one.db", tmp_path / "many.db")
    scored_here = scoring._scored_here
    out = {}
    for name, workers in (("one", False), ("many", True)):
        monkeypatch.setattr(scoring, "WORKERS", workers)
        monkeypatch.setattr(scoring, "PARALLEL_SCORE_LEADS", 1)
        monkeypatch.setattr(scoring, "SCORE_RANGE_IDS", 37)  # seven ranges, two processes
        if workers:  # the workers must do it all
            monkeypatch.setattr(scoring, "_scored_here", lambda *a: pytest.fail("scored here"))
        c = open_db(tmp_path / f"{name}.db")
        seen: list[tuple[int, int]] = []
        result = scoring.score_all(c, NOW, progress=lambda d, t, seen=seen: seen.append((d, t)))
        out[name] = (
            result,
            [tuple(r) for r in c.execute("SELECT id, score, score_updated_at FROM leads")],
            [tuple(r) for r in c.execute("SELECT * FROM score_history ORDER BY id")],
            seen[-1],
        )
        c.close()
    monkeypatch.setattr(scoring, "_scored_here", scored_here)
    assert out["one"] == out["many"]
    result, scores, _history, last = out["many"]  # the history: equal above
    assert result.leads == 240 and 100 < result.changed < 240 and last == (240, 240)
    assert len({s[1] for s in scores}) > 5  # the scores vary


def _parallel(monkeypatch: Any) -> None:
    monkeypatch.setattr(scoring, "WORKERS", True)
    monkeypatch.setattr(scoring, "PARALLEL_SCORE_LEADS", 1)


def test_score_all_workers_are_not_used_without_wal(tmp_path: Any, monkeypatch: Any) -> None:
    from leadctl.db import open_db

    c = open_db(tmp_path / "x.db")
    _varied_leads(c, 5)
    _parallel(monkeypatch)
    c.execute("PRAGMA journal_mode = DELETE")
    monkeypatch.setattr(scoring._WorkerScores, "__iter__", lambda self: pytest.fail("workers"))
    assert scoring.score_all(c, NOW).leads == 5
    c.close()


def test_score_all_inside_a_transaction_scores_here(tmp_path: Any, monkeypatch: Any) -> None:
    """A caller's uncommitted change is invisible to other processes: inside a
    transaction every lead is scored in this one."""
    from leadctl.db import open_db, transaction

    c = open_db(tmp_path / "x.db")
    _varied_leads(c, 5)
    _parallel(monkeypatch)
    monkeypatch.setattr(
        scoring, "_scored_in_workers", lambda *a: pytest.fail("workers inside a transaction")
    )
    with transaction(c):
        c.execute("UPDATE leads SET email = NULL, phone = NULL WHERE id = 2")
        scoring.score_all(c, NOW)
    assert c.execute("SELECT score FROM leads WHERE id = 2").fetchone()[0] == (
        scoring.score_lead(c, 2, NOW).score
    )
    c.close()


@pytest.mark.parametrize("what", ["process", "pipe"])
def test_score_all_scores_here_when_no_process_can_start(
    tmp_path: Any, monkeypatch: Any, what: str
) -> None:
    import multiprocessing

    from leadctl.db import open_db

    c = open_db(tmp_path / "x.db")
    _varied_leads(c, 12)
    _parallel(monkeypatch)

    def refuse(*args: Any, **kw: Any) -> None:
        raise OSError("Resource temporarily unavailable")

    ctx = multiprocessing.get_context("spawn")
    if what == "process":
        monkeypatch.setattr(ctx.Process, "start", refuse)
    else:
        monkeypatch.setattr(type(ctx), "Pipe", refuse)
    result = scoring.score_all(c, NOW)
    assert result.leads == 12 and result.changed > 0
    for lid in range(1, 13):
        stored = c.execute("SELECT score FROM leads WHERE id = ?", (lid,)).fetchone()[0]
        assert stored == scoring.score_lead(c, lid, NOW).score
    c.close()


def test_a_worker_error_is_raised_as_its_own_class(tmp_path: Any, monkeypatch: Any) -> None:
    """A worker's exception keeps its class and message (so the CLI's exit
    code and sentence); nothing is changed."""
    from leadctl.db import open_db

    c = open_db(tmp_path / "x.db")
    _varied_leads(c, 12)
    c.execute("DROP TABLE qualification_answers")  # every scorer's read fails
    raised = {}
    for workers in (False, True):
        monkeypatch.setattr(scoring, "WORKERS", workers)
        monkeypatch.setattr(scoring, "PARALLEL_SCORE_LEADS", 1)
        with pytest.raises(Exception) as info:
            scoring.score_all(c, NOW)
        raised[workers] = (type(info.value), str(info.value))
    assert raised[True] == raised[False]
    assert raised[True][0] is sqlite3.OperationalError
    c.close()


def test_a_worker_that_dies_fails_the_command_and_changes_nothing(
    tmp_path: Any, monkeypatch: Any
) -> None:
    from multiprocessing.connection import Connection

    from leadctl.db import open_db
    from leadctl.errors import LeadctlError

    c = open_db(tmp_path / "x.db")
    _varied_leads(c, 12)
    before = [tuple(r) for r in c.execute("SELECT id, score FROM leads")]
    _parallel(monkeypatch)

    def gone(self: Any) -> Any:
        raise EOFError

    monkeypatch.setattr(Connection, "recv", gone)
    with pytest.raises(LeadctlError, match="stopped unexpectedly") as info:
        scoring.score_all(c, NOW)
    assert info.value.exit_code == 1
    assert [tuple(r) for r in c.execute("SELECT id, score FROM leads")] == before
    c.close()


@pytest.mark.slow
def test_ctrl_c_while_workers_start_prints_one_line(tmp_path: Any) -> None:
    """Ctrl-C reaches the whole process group: the parent says it was
    interrupted; the spawned workers, which ignore SIGINT, print nothing
    (they printed a KeyboardInterrupt traceback each while starting) and do
    not outlive it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from leadctl.db import open_db

    db = tmp_path / "x.db"
    c = open_db(db)
    _varied_leads(c, 300)
    c.close()
    # "ready" once this harness has imported what it patches (a SIGINT before
    # that would interrupt the harness, not leadctl), then leadctl runs.
    code = (
        "from leadctl import scoring; scoring.PARALLEL_SCORE_LEADS = 1;"
        " scoring.SCORE_RANGE_IDS = 5; from leadctl.cli.launch import run;"
        " import sys; sys.stderr.write('ready\\n'); sys.stderr.flush(); run()"
    )
    env = {**os.environ, "LEADCTL_DB": str(db)}
    p = subprocess.Popen(
        [sys.executable, "-c", code, "score", "--all"], env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert p.stderr is not None
    assert p.stderr.readline() == b"ready\n"
    time.sleep(0.25)  # the parent has started the workers; they are importing
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGINT)
    _out, err = p.communicate(timeout=60)
    assert b"Traceback" not in err, err.decode()
    # 0: done before the signal; 130: interrupted; -SIGINT: the command was
    # done and the signal came while Python was exiting (it restores the
    # default handler then), so nothing is printed.
    assert p.returncode in (0, 130, -signal.SIGINT)
    if p.returncode == 130:
        assert err.decode().strip() == "Error: Interrupted; nothing half-written was kept."
    time.sleep(0.5)
    # The session's processes, but zombies: they wait for PID 1 to reap them.
    ps = subprocess.run(
        ["ps", "-o", "stat=,cmd=", "-g", str(p.pid)], capture_output=True, text=True
    )
    left = [line for line in ps.stdout.splitlines() if not line.startswith("Z")]
    assert left == [], left


def test_a_worker_error_is_rebuilt_with_its_class() -> None:
    from leadctl.errors import NotFoundError, rebuilt_error

    err = rebuilt_error("leadctl.errors", "NotFoundError", "No lead with id 7", "List ids.")
    assert isinstance(err, NotFoundError) and (err.message, err.hint) == (
        "No lead with id 7",
        "List ids.",
    )
    err = rebuilt_error("sqlite3", "OperationalError", "disk I/O error", None)
    assert type(err) is sqlite3.OperationalError and str(err) == "disk I/O error"
    assert type(rebuilt_error("builtins", "ValueError", "bad", None)) is ValueError
    # Invalid JSON in a lead (edited by hand): the parent says so, as in-process.
    import json

    from leadctl.cli.failures import BAD_JSON, describe

    err = rebuilt_error("json.decoder", "JSONDecodeError", "Expecting value", None)
    assert isinstance(err, json.JSONDecodeError) and describe(err) == (BAD_JSON, 1)
    for module, name in (("builtins", "Error"), ("builtins", "print"), ("mymod", "Boom")):
        err = rebuilt_error(module, name, "x", None)
        assert type(err) is RuntimeError and str(err) == f"{name}: x"


@pytest.mark.parametrize(
    ("field", "op", "value"),
    [("has:fields", "eq", "yes"), ("x:call", "gte", "1"), ("Activities:call", "gte", "1"),
     ("fields", "exists", None), ("id", "gt", "1")],
)  # fmt: skip
def test_score_all_reads_a_hand_written_rule_as_score_id_does(conn: Any, field, op, value) -> None:
    """Rules `score rules add` refuses, written into the table by hand: `score
    --all` (a column at a time, reading only what the rules read) stores what
    `score ID` explains."""
    with conn:
        conn.execute("DELETE FROM score_rules")
        conn.execute(
            "INSERT INTO score_rules (name, field, operator, value, points, grp, active)"
            " VALUES ('hand', ?, ?, ?, 10, 'fit', 1)",
            (field, op, value),
        )
        for k, fields in enumerate(["{}", '{"a": 1}', '{"b": []}'], 1):
            conn.execute(
                "INSERT INTO leads (id, name, currency, stage, fields, created_at, updated_at,"
                " stage_entered_at) VALUES (?, 'L', 'IDR', 'new', ?, ?, ?, ?)",
                (k, fields, *("2026-11-01T00:00:00Z",) * 3),
            )
            for _ in range(k - 1):
                conn.execute(
                    "INSERT INTO activities (lead_id, kind, at, created_at) VALUES (?, 'call', ?, ?)",
                    (k, "2026-11-20T00:00:00Z", "2026-11-20T00:00:00Z"),
                )
    scoring.score_all(conn, NOW)
    stored = [r[0] for r in conn.execute("SELECT score FROM leads ORDER BY id")]
    assert stored == [scoring.score_lead(conn, k, NOW).score for k in (1, 2, 3)]
    assert scoring.score_all(conn, NOW).changed == 0


def test_unknown_rule_field_error_lists_every_field(cli: Any) -> None:
    """The hint names every field (it was cut in the middle at 500 characters)."""
    r = cli("score", "rules", "add", "x", "--field", "nosuch", "--op", "eq", "--value", "1",
            "--points", "1", "--group", "fit", ok=False)  # fmt: skip
    assert r.exit_code == 2 and "…" not in r.stderr
    assert "activities:{call,email,whatsapp," in r.stderr and r.stderr.rstrip().endswith(
        "inbound}."
    )
    long = cli("score", "rules", "add", "x", "--field", "n" * 5000, "--op", "eq", "--value", "1",
               "--points", "1", "--group", "fit", ok=False)  # fmt: skip
    assert "…" in long.stderr and len(long.stderr) < 1100  # a huge value is still cut
