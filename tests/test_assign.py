"""leadctl assign: manual, and automatic by filters, capacity, score order and round robin."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadctl.assign import LeadRef, plan
from leadctl.team import Load, Member


def add_lead(cli: Any, name: str, *args: str) -> int:
    return int(cli("add", name, *args).stdout.strip())


def owners(cli: Any) -> dict[int, str | None]:
    return {lead["id"]: lead["owner"] for lead in cli.json("list")}


def auto(cli: Any, *args: str) -> list[tuple[int, str | None]]:
    return [(d["lead_id"], d["to"]) for d in cli.json("assign", *args, "--auto")]


def assignment_count(conn: Any) -> int:
    return int(
        conn.execute("SELECT count(*) FROM activities WHERE kind = 'assignment'").fetchone()[0]
    )


@pytest.fixture
def abc(cli: Any) -> None:
    for h in ("ani", "budi", "cici"):
        cli("team", "add", h)


# ---------------------------------------------------------------- order


def test_round_robin_continues_across_runs(cli: Any, abc: None) -> None:
    l1, l2 = add_lead(cli, "L1"), add_lead(cli, "L2")
    assert auto(cli) == [(l1, "ani"), (l2, "budi")]
    l3, l4, l5 = add_lead(cli, "L3"), add_lead(cli, "L4"), add_lead(cli, "L5")
    # The queue was saved: cici is next, then ani, budi.
    assert auto(cli) == [(l3, "cici"), (l4, "ani"), (l5, "budi")]
    assert [r["handle"] for r in cli.json("team", "list")] == ["cici", "ani", "budi"]


def test_member_moves_to_the_end_even_when_filters_skip_others(cli: Any) -> None:
    cli("team", "add", "ani", "--products", "A")
    cli("team", "add", "budi")
    cli("team", "add", "cici")
    b1 = add_lead(cli, "B1", "--product", "B")
    a1 = add_lead(cli, "A1", "--product", "a")  # filters are case-insensitive
    b2 = add_lead(cli, "B2", "--product", "B")
    # B1: ani does not accept it, budi is first candidate; A1: ani (head of queue).
    assert auto(cli) == [(b1, "budi"), (a1, "ani"), (b2, "cici")]


def test_highest_score_first_unscored_last_then_oldest(cli: Any, conn: Any) -> None:
    cli("team", "add", "ani")
    cli("team", "add", "budi")
    ids = [add_lead(cli, f"L{i}") for i in range(5)]
    scores = [None, 40, 90, None, 40]
    for lead_id, score in zip(ids, scores, strict=True):
        conn.execute("UPDATE leads SET score = ? WHERE id = ?", (score, lead_id))
    # Same score 40: the older one first; same for the unscored pair.
    conn.execute("UPDATE leads SET created_at = '2026-01-01T00:00:00Z' WHERE id = ?", (ids[4],))
    conn.execute("UPDATE leads SET created_at = '2026-01-02T00:00:00Z' WHERE id = ?", (ids[3],))
    got = auto(cli)
    assert [lead for lead, _ in got] == [ids[2], ids[4], ids[1], ids[3], ids[0]]
    assert [to for _, to in got] == ["ani", "budi", "ani", "budi", "ani"]


# ---------------------------------------------------------------- filters


def test_filters_match_case_insensitively_and_empty_accepts_anything(cli: Any) -> None:
    cli(
        "team", "add", "ani", "--products", "Paket Premium", "--segments", "retail",
        "--cities", "Jakarta,Bandung", "--sources", "whatsapp",
    )  # fmt: skip
    cli("team", "add", "budi", "--cities", "Surabaya")
    fits = add_lead(
        cli, "Fits", "--product", "paket premium", "--segment", "RETAIL", "--city", "bandung",
        "--source", "WhatsApp",
    )  # fmt: skip
    wrong_source = add_lead(
        cli, "Ads", "--product", "Paket Premium", "--segment", "retail", "--city", "Jakarta",
        "--source", "ads",
    )  # fmt: skip
    sby = add_lead(cli, "Sby", "--city", "Surabaya")
    out = {d["lead_id"]: d for d in cli.json("assign", "--auto")}
    assert out[fits]["to"] == "ani"
    assert out[fits]["rule"] == (
        "round-robin among [ani] (product=paket premium, segment=RETAIL, city=bandung,"
        " source=WhatsApp)"
    )
    assert out[wrong_source]["to"] is None
    assert out[wrong_source]["reason"] == (
        "no member accepts city=Jakarta (budi); source=ads (ani)"
    )
    assert out[sby]["to"] == "budi"
    cli("team", "add", "cici")  # no filters: takes anything
    assert auto(cli) == [(wrong_source, "cici")]


def test_no_member_accepts_reason_names_the_value(cli: Any) -> None:
    cli("team", "add", "ani", "--products", "Paket Premium")
    cli("team", "add", "budi", "--products", "Paket Basic")
    lead = add_lead(cli, "X", "--product", "Paket Gold")
    none = add_lead(cli, "Y")
    out = {d["lead_id"]: d for d in cli.json("assign", "--auto")}
    assert out[lead]["status"] == "unassigned"
    assert out[lead]["reason"] == "no member accepts product=Paket Gold"
    assert out[none]["reason"] == "no member accepts product=(none)"
    assert owners(cli) == {lead: None, none: None}
    assert "no member accepts product=Paket Gold" in cli("assign", "--auto").stdout


def test_no_active_member_reason(cli: Any) -> None:
    lead = add_lead(cli, "X")
    out = cli.json("assign", "--auto")
    assert out[0]["lead_id"] == lead and "no active team member" in out[0]["reason"]


# ---------------------------------------------------------------- capacity


def test_capacity_counts_open_leads_only(cli: Any) -> None:
    cli("team", "add", "ani", "--capacity", "2")
    ids = [add_lead(cli, f"L{i}") for i in range(3)]
    out = cli.json("assign", "--auto")
    assert [d["to"] for d in out] == ["ani", "ani", None]
    assert out[2]["reason"] == "all matching members are at capacity: ani 2/2"
    # Closing one of ani's leads frees a place.
    cli("advance", str(ids[0]), "--to", "lost", "--reason", "price")
    assert auto(cli) == [(ids[2], "ani")]
    m = cli.json("team", "show", "ani")
    assert m["open_leads"] == 2 and m["remaining"] == 0 and m["at_capacity"] is True


def test_capacity_zero_and_unlimited(cli: Any) -> None:
    cli("team", "add", "ani", "--capacity", "0")
    cli("team", "add", "budi")
    ids = [add_lead(cli, f"L{i}") for i in range(3)]
    assert auto(cli) == [(i, "budi") for i in ids]


def test_capacity_window_counts_recent_assignments(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("team", "add", "ani", "--capacity", "1", "--capacity-window", "30")
    cli("team", "add", "budi", "--cities", "Nowhere")
    old = add_lead(cli, "Old")
    monkeypatch.setenv("LEADCTL_NOW", "2026-10-01T08:00:00Z")  # 52 days before NOW
    assert auto(cli) == [(old, "ani")]
    monkeypatch.setenv("LEADCTL_NOW", "2026-11-22T08:00:00Z")
    # The old assignment is outside the window; ani still holds it (open) but
    # a windowed capacity counts assignments, not open leads.
    new1, new2 = add_lead(cli, "New1"), add_lead(cli, "New2")
    out = cli.json("assign", "--auto")
    assert [(d["lead_id"], d["to"]) for d in out] == [(new1, "ani"), (new2, None)]
    assert "ani 1/1 in 30 days" in out[1]["reason"]
    m = cli.json("team", "show", "ani")
    assert m["assigned_in_window"] == 1 and m["open_leads"] == 2 and m["remaining"] == 0


def test_capacity_window_counts_leads_added_with_an_owner(cli: Any) -> None:
    """`add --owner ani` gives ani a lead as surely as `assign` does: it uses
    her windowed capacity too."""
    cli("team", "add", "ani", "--capacity", "2", "--capacity-window", "7")
    cli("team", "add", "budi")
    add_lead(cli, "Mine1", "--owner", "ani")
    add_lead(cli, "Mine2", "--owner", "ani")
    m = cli.json("team", "show", "ani")
    assert m["assigned_in_window"] == 2 and m["remaining"] == 0 and m["at_capacity"] is True
    new = add_lead(cli, "New")
    assert auto(cli) == [(new, "budi")]


# ---------------------------------------------------------------- captured by


def test_prefer_captured_by(cli: Any, abc: None) -> None:
    l1 = add_lead(cli, "L1", "--captured-by", "cici")
    l2 = add_lead(cli, "L2", "--captured-by", "cici")
    out = cli.json("assign", "--auto", "--prefer-captured-by", "--dry-run")
    assert [(d["lead_id"], d["to"], d["rule"]) for d in out] == [
        (l1, "cici", "captured by cici"),
        (l2, "cici", "captured by cici"),
    ]
    # Without the preference: plain round robin.
    assert auto(cli, "--dry-run") == [(l1, "ani"), (l2, "budi")]


def test_prefer_captured_by_setting_and_fallback_when_full(cli: Any) -> None:
    cli("team", "add", "ani")
    cli("team", "add", "budi", "--capacity", "1")
    cli("settings", "set", "assign_prefer_captured_by", "yes")
    l1 = add_lead(cli, "L1", "--captured-by", "budi")
    l2 = add_lead(cli, "L2", "--captured-by", "budi")
    out = cli.json("assign", "--auto")
    assert [(d["lead_id"], d["to"]) for d in out] == [(l1, "budi"), (l2, "ani")]
    assert out[1]["rule"] == "round-robin among [ani]; captured by budi, who cannot take it"
    # The flag beats the setting.
    l3 = add_lead(cli, "L3", "--captured-by", "ani")
    cli("team", "edit", "budi", "--capacity", "none")
    assert auto(cli, "--no-prefer-captured-by") == [(l3, "budi")]


# ---------------------------------------------------------------- writes


def test_dry_run_writes_nothing(cli: Any, conn: Any, abc: None) -> None:
    ids = [add_lead(cli, f"L{i}") for i in range(4)]
    before = conn.execute("SELECT handle, rr_order FROM team_members ORDER BY handle").fetchall()
    activities = assignment_count(conn)
    first = auto(cli, "--dry-run")
    assert first == [(ids[0], "ani"), (ids[1], "budi"), (ids[2], "cici"), (ids[3], "ani")]
    assert auto(cli, "--dry-run") == first  # queue not saved either
    assert owners(cli) == dict.fromkeys(ids)
    assert assignment_count(conn) == activities
    after = conn.execute("SELECT handle, rr_order FROM team_members ORDER BY handle").fetchall()
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    r = cli("assign", "--auto", "--dry-run")
    assert "nothing was written" in r.stderr


def test_every_assignment_is_an_activity(cli: Any, abc: None) -> None:
    lead = add_lead(cli, "L1")
    cli("--as", "Boss", "assign", "--auto")
    cli("--as", "boss", "assign", str(lead), "--to", "cici")
    acts = [a for a in cli.json("show", str(lead))["activities"] if a["kind"] == "assignment"]
    assert [a["data"] for a in acts] == [
        {"from": "ani", "to": "cici", "rule": "manual"},
        {"from": None, "to": "ani", "rule": "round-robin among [ani, budi, cici]"},
    ]
    assert {a["actor"] for a in acts} == {"boss"}
    lead_json = cli.json("show", str(lead))
    assert lead_json["owner"] == "cici" and lead_json["updated_at"] == "2026-11-22T08:00:00Z"


def test_auto_for_specific_leads_skips_owned_and_closed(cli: Any, abc: None) -> None:
    free = add_lead(cli, "Free")
    owned = add_lead(cli, "Owned")
    closed = add_lead(cli, "Closed")
    other = add_lead(cli, "Other")
    cli("assign", str(owned), "--to", "budi")
    cli("advance", str(closed), "--to", "won")
    out = {
        d["lead_id"]: d for d in cli.json("assign", str(free), str(owned), str(closed), "--auto")
    }
    assert out[free]["to"] == "ani" and out[free]["status"] == "assigned"
    assert out[owned]["status"] == "skipped" and "already owned by budi" in out[owned]["reason"]
    assert out[closed]["status"] == "skipped" and "closed" in out[closed]["reason"]
    assert owners(cli)[other] is None
    r = cli("assign", str(free), "999", "--auto", ok=False)
    assert r.exit_code == 3 and "999" in r.stderr


def test_nothing_to_assign(cli: Any, abc: None) -> None:
    assert cli.json("assign", "--auto") == []
    assert "No unassigned open leads" in cli("assign", "--auto").stderr


# ---------------------------------------------------------------- manual


def test_manual_assignment_errors(cli: Any) -> None:
    cli("team", "add", "ani", "--capacity", "1")
    cli("team", "add", "budi")
    cli("team", "add", "cici")
    cli("team", "deactivate", "cici", "--keep")
    l1, l2 = add_lead(cli, "L1"), add_lead(cli, "L2")
    r = cli("assign", str(l1), "--to", "zed", ok=False)
    assert r.exit_code == 3
    assert "Unknown team member 'zed'" in r.stderr and "ani, budi" in r.stderr
    assert "cici (inactive)" in r.stderr  # every member, the inactive ones marked
    r = cli("assign", str(l1), "--to", "cici", ok=False)
    assert r.exit_code == 1 and "inactive" in r.stderr and "ani, budi" in r.stderr
    assert cli("assign", "999", "--to", "ani", ok=False).exit_code == 3
    # Over capacity: refused (whole batch), unless --force.
    r = cli("assign", str(l1), str(l2), "--to", "ani", ok=False)
    assert r.exit_code == 1 and "at capacity (1/1)" in r.stderr and "--force" in r.stderr
    assert owners(cli) == {l1: None, l2: None}
    r = cli("assign", str(l1), str(l2), "--to", "ani", "--force")
    assert "Warning" in r.stderr
    assert owners(cli) == {l1: "ani", l2: "ani"}
    rule = cli.json("show", str(l2))["activities"][0]["data"]["rule"]
    assert rule == "manual, over capacity 1/1 (forced)"
    again = cli.json("assign", str(l1), "--to", "ani")
    assert again[0]["status"] == "unchanged"


def test_usage_errors(cli: Any, abc: None) -> None:
    lead = add_lead(cli, "L1")
    assert cli("assign", str(lead), ok=False).exit_code == 2
    assert cli("assign", str(lead), "--to", "ani", "--auto", ok=False).exit_code == 2
    assert cli("assign", "--to", "ani", ok=False).exit_code == 2
    assert cli("assign", str(lead), "--to", "ani", "--dry-run", ok=False).exit_code == 2
    assert cli("assign", "--auto", "--force", ok=False).exit_code == 2


# ---------------------------------------------------------------- the planner


FILTER_VALUES = ["a", "b", None]


@settings(max_examples=60, deadline=None)
@given(
    members=st.lists(
        st.tuples(st.sampled_from(["a", "b", None]), st.one_of(st.none(), st.integers(0, 3))),
        min_size=0, max_size=4,
    ),
    leads=st.lists(st.sampled_from(FILTER_VALUES), max_size=12),
)  # fmt: skip
def test_plan_respects_filters_and_capacity(
    members: list[tuple[str | None, int | None]], leads: list[str | None]
) -> None:
    team = [
        Member(f"m{i}", None, None, None, cap, None, {"product": [p]} if p else {}, True, i, "", "")
        for i, (p, cap) in enumerate(members)
    ]
    refs = [
        LeadRef(i, None, None, None, None, p, None, None, None, "new", "open", "")
        for i, p in enumerate(leads)
    ]
    current = {m.handle: Load(capacity=m.capacity) for m in team}
    decisions, queue = plan(refs, team, current, prefer_captured_by=False)
    assert sorted(queue) == sorted(m.handle for m in team)
    given_to: dict[str, int] = {}
    by = {m.handle: m for m in team}
    for d, ref in zip(decisions, refs, strict=True):
        if d.to is None:
            # Nobody could take it: every accepting member was full.
            assert all(not m.accepts(ref) or current[m.handle].full for m in team)
            assert d.reason
        else:
            assert by[d.to].accepts(ref)
            given_to[d.to] = given_to.get(d.to, 0) + 1
    for h, n in given_to.items():
        cap = by[h].capacity
        assert cap is None or n <= cap


def test_add_and_edit_owner_follow_the_team_rules(cli: Any) -> None:
    """--owner on add/edit is refused for an inactive member, and over capacity
    without --force, as `assign --to` is."""
    cli("team", "add", "ani", "--name", "Ani", "--capacity", "1")
    cli("team", "add", "budi", "--name", "Budi")
    cli("team", "deactivate", "budi")
    cli("add", "A", "--owner", "ani")
    r = cli("add", "B", "--owner", "ani", ok=False)
    assert r.exit_code == 1 and "at capacity (1/1)" in r.stderr
    assert [x["name"] for x in cli.json("list", "-f", "json")] == ["A"]
    cli("add", "B", "--owner", "ani", "--force")
    r = cli("edit", "1", "--owner", "budi", ok=False)
    assert r.exit_code == 1 and "inactive" in r.stderr
    cli("add", "C")
    r = cli("edit", "3", "--owner", "ani", ok=False)
    assert r.exit_code == 1 and "at capacity" in r.stderr
    cli("advance", "3", "--to", "lost", "--reason", "price")
    cli("edit", "3", "--owner", "ani")  # a closed lead does not count against open leads
    assert [x["owner"] for x in cli.json("list", "-f", "json")] == ["ani", "ani", "ani"]
