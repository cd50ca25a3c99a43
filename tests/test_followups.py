"""Follow-ups through the CLI: what is due, urgency order, cron output, done/snooze/cancel.

The suite's clock is Sunday 2026-11-22 08:00 UTC (LEADCTL_NOW), time zone UTC.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadctl import urgency


def add_lead(cli: Any, name: str, *args: str) -> int:
    return int(cli("add", name, *args).stdout.strip())


def add_fu(cli: Any, lead_id: int, due: str, *args: str) -> dict[str, Any]:
    return cli.json("followups", "add", str(lead_id), "--due", due, *args)


def due_list(cli: Any, *args: str) -> list[dict[str, Any]]:
    return cli.json("followups", *args)


def test_add_defaults_owner_to_leads_owner_and_date_alone_means_9am(cli: Any) -> None:
    lead = add_lead(cli, "Budi", "--owner", "ani")
    fu = add_fu(cli, lead, "tomorrow", "--kind", "whatsapp", "--note", "send price list")
    assert fu["owner"] == "ani"
    assert fu["due_at"] == "2026-11-23T09:00:00Z"
    assert fu["kind"] == "whatsapp" and fu["status"] == "open" and fu["note"] == "send price list"
    other = add_fu(cli, lead, "tomorrow 10:00", "--owner", "Bob")
    assert other["owner"] == "bob" and other["due_at"] == "2026-11-23T10:00:00Z"


def test_lists_overdue_and_today_only(cli: Any) -> None:
    lead = add_lead(cli, "Budi")
    overdue = add_fu(cli, lead, "2026-11-20 10:00")
    today = add_fu(cli, lead, "today 23:30")
    later = add_fu(cli, lead, "+3d")
    ids = [r["id"] for r in due_list(cli)]
    assert sorted(ids) == sorted([overdue["id"], today["id"]])
    rows = {r["id"]: r for r in due_list(cli)}
    assert rows[overdue["id"]]["overdue"] is True
    assert rows[overdue["id"]]["overdue_days"] == 2
    assert rows[today["id"]]["overdue"] is False
    assert rows[today["id"]]["overdue_days"] == 0
    upcoming = [r["id"] for r in due_list(cli, "--upcoming", "7d")]
    assert later["id"] in upcoming
    assert later["id"] not in [r["id"] for r in due_list(cli, "--upcoming", "2d")]


def test_today_is_computed_in_the_time_zone(cli: Any) -> None:
    lead = add_lead(cli, "Budi")
    # 23:30 UTC on the 22nd is already the 23rd in Jakarta (UTC+7): not due today there.
    fu = add_fu(cli, lead, "2026-11-22T23:30:00Z")
    assert [r["id"] for r in due_list(cli)] == [fu["id"]]
    assert due_list(cli, "--tz", "Asia/Jakarta") == []
    assert cli.json("--tz", "Asia/Jakarta", "followups") == []
    # In Los Angeles it is still the 22nd at 23:30 UTC (15:30 local): due today.
    assert [r["id"] for r in due_list(cli, "--tz", "America/Los_Angeles")] == [fu["id"]]
    jkt = cli.json("followups", "--tz", "Asia/Jakarta", "--upcoming", "1d")
    assert jkt[0]["due_local"] == "2026-11-23 06:30"


def test_urgency_orders_by_overdue_value_and_stale(cli: Any, conn: Any) -> None:
    small = add_lead(cli, "Small", "--value", "1000000")
    big = add_lead(cli, "Big", "--value", "90000000")
    late = add_lead(cli, "Late", "--value", "1000000")
    f_small = add_fu(cli, small, "today 10:00")
    f_big = add_fu(cli, big, "today 10:00")
    f_late = add_fu(cli, late, "2026-11-12 10:00")  # 10 days overdue: full due term
    rows = due_list(cli)
    assert [r["id"] for r in rows] == [f_late["id"], f_big["id"], f_small["id"]]
    assert rows[0]["urgency"] > rows[1]["urgency"] > rows[2]["urgency"]
    # A stale lead (untouched past its stage's rot days) gains the stale points.
    conn.execute("UPDATE leads SET last_touch_at = '2026-11-01T00:00:00Z' WHERE id = ?", (small,))
    rows = {r["id"]: r for r in due_list(cli)}
    assert rows[f_small["id"]]["stale"] is True
    explained = cli.json("followups", "--explain", str(f_small["id"]))
    stale = next(t for t in explained["terms"] if t["term"] == "stale")
    assert stale["value"] == 1.0 and stale["points"] == urgency.COEFFICIENTS["stale"]


def test_explain_terms_add_up_to_the_listed_urgency(cli: Any, conn: Any) -> None:
    lead = add_lead(cli, "Budi", "--value", "5000000")
    conn.execute("UPDATE leads SET score = 80 WHERE id = ?", (lead,))
    fu = add_fu(cli, lead, "2026-11-21 08:00")  # exactly one day overdue
    data = cli.json("followups", "--explain", str(fu["id"]))
    terms = {t["term"]: t for t in data["terms"]}
    assert set(terms) == set(urgency.COEFFICIENTS)
    for t in data["terms"]:
        assert t["coefficient"] == urgency.COEFFICIENTS[t["term"]]
        assert t["points"] == pytest.approx(t["value"] * t["coefficient"], abs=1e-3)
    assert terms["score"]["value"] == 0.8
    assert terms["value"]["value"] == 0.05  # IDR 5 juta of the 100 juta "big deal"
    assert terms["probability"]["value"] == 0.1  # stage 'new' default 10 %
    expected_due = 0.2 + 0.8 * (1 + 14) / 21
    assert terms["due"]["value"] == pytest.approx(expected_due, abs=1e-3)
    assert data["urgency"] == pytest.approx(sum(t["points"] for t in data["terms"]), abs=0.01)
    assert due_list(cli)[0]["urgency"] == data["urgency"]
    table = cli("followups", "--explain", str(fu["id"])).stdout
    assert "coefficient" in table.lower() and "urgency" in table


def test_coefficients_can_be_overridden_per_database(cli: Any, conn: Any) -> None:
    lead = add_lead(cli, "Budi")
    fu = add_fu(cli, lead, "today 10:00")
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('urgency', ?)",
        (json.dumps({"due": 0, "stage": 0}),),
    )
    assert cli.json("followups", "--explain", str(fu["id"]))["urgency"] == pytest.approx(0.3)


def test_owner_and_kind_filters(cli: Any) -> None:
    a = add_lead(cli, "A", "--owner", "ani")
    b = add_lead(cli, "B")
    fa = add_fu(cli, a, "today 10:00", "--kind", "call")
    fb = add_fu(cli, b, "today 11:00", "--kind", "email")
    assert [r["id"] for r in due_list(cli, "--owner", "ANI")] == [fa["id"]]
    assert [r["id"] for r in due_list(cli, "--owner", "none")] == [fb["id"]]
    assert [r["id"] for r in due_list(cli, "--kind", "email")] == [fb["id"]]
    bad = cli("followups", "--kind", "fax", ok=False)
    assert bad.exit_code == 2 and "Unknown activity kind" in bad.stderr


def test_all_flags_leads_with_no_next_step_and_stale(cli: Any, conn: Any) -> None:
    with_fu = add_lead(cli, "Has plan")
    bare = add_lead(cli, "No plan")
    closed = add_lead(cli, "Closed")
    cli("advance", str(closed), "--to", "lost", "--reason", "price")
    add_fu(cli, with_fu, "+20d")
    conn.execute("UPDATE leads SET last_touch_at = '2026-10-01T00:00:00Z' WHERE id = ?", (bare,))
    rows = due_list(cli, "--all")
    by_lead = {r["lead_id"]: r for r in rows}
    assert set(by_lead) == {with_fu, bare}
    assert by_lead[bare]["id"] is None
    assert by_lead[bare]["no_next_step"] is True and by_lead[bare]["stale"] is True
    assert by_lead[with_fu]["no_next_step"] is False
    # Same leads as `list --no-next-step`.
    listed = [r["id"] for r in cli.json("list", "--no-next-step")]
    assert listed == [bare]
    plain = cli("followups", "--all").stdout
    assert "no next step (stale)" in plain


def test_cron_output_is_plain_one_line_each(cli: Any) -> None:
    lead = add_lead(cli, "Budi Santoso", "--phone", "0812-3456-7890", "--owner", "ani")
    add_fu(cli, lead, "2026-11-21 10:00", "--note", "send price list")
    add_fu(cli, lead, "today 15:00", "--kind", "whatsapp")
    r = cli("followups")  # CliRunner's stdout is not a terminal, like cron
    assert r.exit_code == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    first = lines[0]
    for part in ("2026-11-21 10:00", "1d overdue", "Budi Santoso", "+6281234567890",
                 "call: send price list", "[ani]", "#1"):  # fmt: skip
        assert part in first
    assert "\x1b" not in r.stdout and "│" not in r.stdout


def test_cron_output_when_nothing_is_due(cli: Any) -> None:
    add_lead(cli, "Budi")
    r = cli("followups", input="")
    assert r.exit_code == 0
    assert r.stdout == "Nothing due today.\n"


def test_lead_text_is_not_interpreted(cli: Any) -> None:
    lead = add_lead(cli, "Evil\x1b[31mRed[/bold]")
    add_fu(cli, lead, "today 10:00", "--note", "x\u202eevil")
    out = cli("followups").stdout
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b" in out and "\\u202e" in out and "[/bold]" in out


def test_csv_and_jsonl_formats(cli: Any) -> None:
    lead = add_lead(cli, "=HYPERLINK()")
    add_fu(cli, lead, "today 10:00")
    csv_out = cli("followups", "--format", "csv").stdout.splitlines()
    assert csv_out[0].startswith("id,lead_id,lead_name")
    assert "'=HYPERLINK()" in csv_out[1]
    jl = cli("followups", "--format", "jsonl").stdout.splitlines()
    assert json.loads(jl[0])["lead_name"] == "=HYPERLINK()"


def test_done_logs_activity_and_schedules_next(cli: Any) -> None:
    lead = add_lead(cli, "Budi", "--owner", "ani")
    fu = add_fu(cli, lead, "today 10:00", "--kind", "call", "--note", "price list")
    res = cli.json("followups", "done", str(fu["id"]), "--note", "sent it", "--next", "+3d")
    assert res["followup"]["status"] == "done"
    assert res["followup"]["closed_at"] == "2026-11-22T08:00:00Z"
    assert res["next_followup"]["due_at"] == "2026-11-25T08:00:00Z"
    assert res["next_followup"]["kind"] == "call" and res["next_followup"]["owner"] == "ani"
    acts = cli.json("show", str(lead))["activities"]
    act = next(a for a in acts if a["id"] == res["activity_id"])
    assert act["kind"] == "call" and act["note"] == "sent it"
    assert act["data"]["followup_done"] == fu["id"]
    # Done twice is refused; the follow-up is no longer listed.
    again = cli("followups", "done", str(fu["id"]), ok=False)
    assert again.exit_code == 1 and "already done" in again.stderr
    assert [r["id"] for r in due_list(cli, "--all")] == [res["next_followup"]["id"]]


def test_done_never_prompts_when_not_interactive(cli: Any) -> None:
    lead = add_lead(cli, "Budi")
    fu = add_fu(cli, lead, "today 10:00")
    r = cli("followups", "done", str(fu["id"]), input="+3d\n")
    assert r.exit_code == 0 and "Next step" not in r.stdout + r.stderr
    assert due_list(cli, "--upcoming", "30d") == []


def test_done_asks_for_next_step_on_a_terminal(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from leadctl.cli import followups as cli_followups

    monkeypatch.setattr(cli_followups, "_interactive", lambda: True)
    lead = add_lead(cli, "Budi")
    fu = add_fu(cli, lead, "today 10:00", "--kind", "email")
    r = cli("followups", "done", str(fu["id"]), input="soonish\ntomorrow 10:00\n")
    assert "Cannot read" in r.stderr  # the bad answer is explained, then asked again
    rows = due_list(cli, "--upcoming", "7d")
    assert [(r["due_at"], r["kind"]) for r in rows] == [("2026-11-23T10:00:00Z", "email")]


def test_done_on_a_terminal_closed_at_the_question_is_still_done(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-D at the next-step question: no next step, exit 0 (the follow-up
    is done and its activity logged before the question)."""
    from leadctl.cli import followups as cli_followups

    monkeypatch.setattr(cli_followups, "_interactive", lambda: True)
    lead = add_lead(cli, "Budi")
    fu = add_fu(cli, lead, "today 10:00")
    r = cli("followups", "done", str(fu["id"]), input="")  # end of input at once
    assert r.exit_code == 0 and "Aborted" not in r.stderr and "Done" in r.stderr, r.stderr
    assert due_list(cli, "--upcoming", "30d") == []
    assert cli.json("show", str(lead))["activities"][0]["kind"] == "call"


def test_snooze_and_cancel(cli: Any) -> None:
    lead = add_lead(cli, "Budi")
    fu = add_fu(cli, lead, "today 10:00")
    moved = cli.json("followups", "snooze", str(fu["id"]), "--to", "mon")
    assert moved["due_at"] == "2026-11-23T09:00:00Z" and moved["snoozed"] == 1
    assert due_list(cli) == []
    for past in ("2026-11-01", "today 07:00"):  # now is 08:00: no snooze into the past
        r = cli("followups", "snooze", str(fu["id"]), "--to", past, ok=False)
        assert r.exit_code == 2 and "not later than now" in r.stderr
    assert cli.json("followups", "--all", "--lead", str(lead))[0]["snoozed"] == 1
    cancelled = cli.json("followups", "cancel", str(fu["id"]))
    assert cancelled["followup"]["status"] == "cancelled"
    assert due_list(cli, "--upcoming", "7d") == []
    r = cli("followups", "snooze", str(fu["id"]), "--to", "tue", ok=False)
    assert r.exit_code == 1 and "already cancelled" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("followups", "done", "999"),
        ("followups", "snooze", "999", "--to", "mon"),
        ("followups", "cancel", "999"),
        ("followups", "--explain", "999"),
        ("followups", "add", "999", "--due", "tomorrow"),
    ],
)
def test_unknown_ids_exit_3(cli: Any, args: tuple[str, ...]) -> None:
    r = cli(*args, ok=False)
    assert r.exit_code == 3
    assert r.stderr.startswith("Error: No ") and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("bad", ["soonish", "tomorrow 25:00", "+3x", ""])
def test_bad_date_words_are_one_line_errors(cli: Any, bad: str) -> None:
    lead = add_lead(cli, "Budi")
    r = cli("followups", "add", str(lead), "--due", bad, ok=False)
    assert r.exit_code == 2
    assert r.stderr.startswith("Error: ") and len(r.stderr.strip().splitlines()) == 1
    r = cli("followups", "--upcoming", "soon", ok=False)
    assert r.exit_code == 2 and "7d" in r.stderr


def test_log_next_schedules_a_followup(cli: Any) -> None:
    lead = add_lead(cli, "Budi", "--owner", "ani")
    out = cli.json("log", str(lead), "--kind", "whatsapp", "--note", "hi", "--next", "+2d")
    nxt = out["next_followup"]
    assert nxt["kind"] == "whatsapp" and nxt["due_at"] == "2026-11-24T08:00:00Z"
    assert nxt["owner"] == "ani"
    out = cli.json(
        "log", str(lead), "--kind", "note", "--note", "x", "--next", "tue", "--next-kind", "email"
    )
    assert out["next_followup"]["kind"] == "email"
    assert out["next_followup"]["due_at"] == "2026-11-24T09:00:00Z"
    assert len(due_list(cli, "--upcoming", "7d")) == 2


def test_readme_section_commands_exist(cli: Any) -> None:
    """Every `leadctl ...` example of the follow-ups/sequences section parses."""
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    start = readme.index("<!-- section: follow-ups/templates/sequences")
    section = readme[start : readme.index("<!-- section:", start + 10)]
    lines = [ln.split("#")[0].rstrip(" \\") for ln in section.splitlines()]
    examples = [ln for ln in lines if re.match(r"^leadctl (followups|sequence|log|--tz)", ln)]
    assert len(examples) >= 15
    for line in examples:
        words = shlex.split(line.replace(">", " "))[1:]
        if words[0] == "--tz":
            words = words[2:]
        subs = {"add", "done", "snooze", "cancel", "list", "show", "remove", "enroll",
                "unenroll", "status"}  # fmt: skip
        path = words[:2] if len(words) > 1 and words[1] in subs else words[:1]
        r = cli(*path, "--help")
        for opt in (w for w in words if w.startswith("--") and w != "--tz"):
            assert opt.split("=")[0] in r.stdout, f"{opt} not in `leadctl {' '.join(path)} --help`"


@pytest.mark.parametrize("days_ago", [30, 7, 3.5, 1, 0.25, 0, -2, -13.9, -14, -40])
def test_sql_due_curve_matches_the_python_one(cli: Any, days_ago: float) -> None:
    from datetime import datetime, timedelta, timezone

    from leadctl.dates import to_store

    now = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)  # conftest's NOW
    lead = add_lead(cli, "Budi")
    fu = add_fu(cli, lead, to_store(now - timedelta(days=days_ago)))
    terms = cli.json("followups", "--explain", str(fu["id"]))["terms"]
    due = next(t for t in terms if t["term"] == "due")
    assert due["value"] == pytest.approx(urgency.due_term(days_ago), abs=1e-4)


def test_lead_filter(cli: Any) -> None:
    a, b = add_lead(cli, "A"), add_lead(cli, "B")
    fa = add_fu(cli, a, "+3d")
    add_fu(cli, b, "+3d")
    assert [r["id"] for r in due_list(cli, "--all", "--lead", str(a))] == [fa["id"]]
    cli("followups", "done", str(fa["id"]))
    rows = due_list(cli, "--all", "--lead", str(a))
    assert [(r["id"], r["no_next_step"]) for r in rows] == [(None, True)]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_parse_span_raises_only_validation_error(text: str) -> None:
    from leadctl.agenda import parse_span
    from leadctl.errors import ValidationError

    try:
        days = parse_span(text)
    except ValidationError:
        return
    assert 0 <= days <= 3660
    assert parse_span(f"{days}d") == days


def test_sale_is_not_a_followup_kind(cli: Any) -> None:
    lead = add_lead(cli, "Budi")
    r = cli("followups", "add", str(lead), "--due", "tomorrow", "--kind", "sale", ok=False)
    assert r.exit_code == 2 and "--kind sale --amount" in r.stderr
    # Logging a sale with --next schedules a call.
    out = cli.json("log", str(lead), "--kind", "sale", "--amount", "1000000", "--next", "+7d")
    assert out["next_followup"]["kind"] == "call"


def test_stale_sql_is_the_leads_one() -> None:
    from leadctl import agenda, leads

    assert leads.STALE_SQL.replace("?", ":now") == agenda.STALE_SQL


def test_filters_naming_nobody_are_not_found(cli: Any) -> None:
    """A typo in --owner or --lead is exit 3 with a hint, not an empty agenda."""
    lead = add_lead(cli, "Budi")
    add_fu(cli, lead, "today 10:00", "--owner", "sari")
    assert [r["owner"] for r in due_list(cli, "--owner", "sari")] == ["sari"]
    r = cli("followups", "--owner", "sary", ok=False)
    assert r.exit_code == 3 and "'sary'" in r.stderr and "--owner none" in r.stderr
    r = cli("followups", "--lead", "999", ok=False)
    assert r.exit_code == 3 and "No lead with id 999" in r.stderr
    assert due_list(cli, "--owner", "none") == []


def test_urgency_coefficients_are_a_setting(cli: Any) -> None:
    lead = add_lead(cli, "Budi")
    fu = add_fu(cli, lead, "today 10:00")

    def coefficients() -> dict[str, float]:
        terms = cli.json("followups", "--explain", str(fu["id"]))["terms"]
        return {t["term"]: t["coefficient"] for t in terms}

    assert coefficients()["stale"] == 2.0
    r = cli("settings", "set", "urgency", "stale=5, no_next_step=0")
    assert "stale=5, no_next_step=0" in r.stderr
    c = coefficients()
    assert (c["stale"], c["no_next_step"]) == (5.0, 0.0)
    assert c["due"] == 12.0  # untouched terms keep their defaults
    cli("settings", "set", "urgency", '{"due": 20}')
    assert coefficients()["due"] == 20.0 and coefficients()["stale"] == 2.0
    for bad in ("stale", "speed=3", "stale=-1", "stale=nan", "value_cap=0", "[1]", "{bad"):
        r = cli("settings", "set", "urgency", bad, ok=False)
        assert r.exit_code == 2 and r.stderr.startswith("Error: ") and "names: due" in r.stderr, bad
    assert coefficients()["due"] == 20.0  # refused values change nothing
    cli("settings", "set", "urgency", "default")
    assert coefficients()["due"] == 12.0


def test_open_followups_move_with_the_lead(cli: Any, tmp_path: Any) -> None:
    """A lead changing hands (assign, edit --owner, deactivate --redistribute,
    an import update) takes its owner's open follow-ups along; one given to
    someone else stays theirs, a done one keeps who did it."""
    for handle in ("budi", "cici", "dedi"):
        cli("team", "add", handle)
    lead = add_lead(cli, "Ayu", "--phone", "0812-1111-2222")
    step = add_fu(cli, lead, "today 23:00", "--note", "nobody's yet")
    cli("assign", str(lead), "--to", "budi")
    add_fu(cli, lead, "today 22:00", "--note", "budi's")
    add_fu(cli, lead, "today 21:00", "--owner", "dedi", "--note", "dedi's")
    done = add_fu(cli, lead, "today 07:00", "--note", "done by budi")
    cli("followups", "done", str(done["id"]))

    def owners() -> dict[str, str | None]:
        rows = cli.json("followups", "--lead", str(lead))
        return {r["note"]: r["owner"] for r in rows if r["id"]}

    assert owners() == {"nobody's yet": "budi", "budi's": "budi", "dedi's": "dedi"}
    cli("assign", str(lead), "--to", "cici")
    assert owners() == {"nobody's yet": "cici", "budi's": "cici", "dedi's": "dedi"}
    assert len(cli.json("followups", "--owner", "cici")) == 2
    cli("edit", str(lead), "--owner", "budi")
    assert set(owners().values()) == {"budi", "dedi"}
    cli("team", "deactivate", "budi", "--redistribute", "--yes")
    assert "budi" not in owners().values()
    update = tmp_path / "owner.csv"
    update.write_text("name,phone,owner\nAyu,081211112222,cici\n")
    cli("import", str(update), "--on-duplicate", "update")
    assert owners() == {"nobody's yet": "cici", "budi's": "cici", "dedi's": "dedi"}
    history = cli.json("followups", "--lead", str(lead), "--all")
    assert step["id"] in {r["id"] for r in history}


def test_followups_of_opted_out_and_closed_leads_are_flagged(cli: Any) -> None:
    """Not cancelled (a lost lead may be worth a call in three months), but
    nobody calls them by mistake: flagged in every format, warned when added."""
    lead = add_lead(cli, "Ayu", "--phone", "0812-1111-2222")
    other = add_lead(cli, "Bayu")
    add_fu(cli, lead, "today 10:00", "--note", "call her")
    add_fu(cli, other, "today 11:00", "--note", "call him")
    cli("edit", str(lead), "--do-not-contact")
    cli("advance", str(lead), "--to", "lost", "--reason", "price")
    rows = {r["lead_id"]: r for r in due_list(cli)}
    assert (rows[lead]["do_not_contact"], rows[lead]["stage_kind"]) == (True, "lost")
    assert (rows[other]["do_not_contact"], rows[other]["stage_kind"]) == (False, "open")
    plain = cli("followups").stdout.splitlines()
    assert [("DO NOT CONTACT" in line, "(lead lost)" in line) for line in plain] == [
        (True, True) if "call her" in line else (False, False) for line in plain
    ]
    assert "do_not_contact" in cli("followups", "-f", "csv").stdout.splitlines()[0]
    r = cli("followups", "add", str(lead), "--due", "+90d", "--note", "try again")
    assert "do-not-contact" in r.stderr and "lost (closed)" in r.stderr
    r = cli("followups", "add", str(other), "--due", "+1d")
    assert "Warning" not in r.stderr


def test_every_way_to_a_touch_flags_an_opted_out_lead(cli: Any) -> None:
    """The `--all` row of a lead with no next step, the calendar, and the
    next step scheduled by `log --next` or `done --next`."""
    lead = add_lead(cli, "Dedi", "--do-not-contact")
    row = cli("followups", "--all").stdout.strip()
    assert "no next step" in row and "(DO NOT CONTACT)" in row
    r = cli("log", str(lead), "--kind", "note", "--note", "asked to stop", "--next", "+30d")
    assert "Warning: lead 1 is marked do-not-contact." in r.stderr
    fu = cli.json("followups", "--all")[0]
    r = cli("followups", "done", str(fu["id"]), "--next", "+30d")
    assert "do-not-contact" in r.stderr
    ics = cli("followups", "--all", "--format", "ics").stdout
    assert "SUMMARY:call: Dedi (DO NOT CONTACT)" in ics.replace("\r\n ", "")


def test_work_is_not_given_to_an_inactive_or_unknown_member(cli: Any) -> None:
    """A follow-up or a target for someone who left would never be done: the
    rule of a lead's owner (unknown: not found, 3; inactive: refused, 1)."""
    cli("team", "add", "ani")
    cli("team", "add", "budi")
    cli("team", "deactivate", "budi")
    lead = add_lead(cli, "A", "--owner", "ani")
    target = ["target", "set", "--period", "month", "--metric", "won_count", "--value", "3"]
    for argv in (["followups", "add", str(lead), "--due", "tomorrow"], target):
        r = cli(*argv, "--owner", "budi", ok=False)
        assert r.exit_code == 1 and "'budi' is inactive" in r.stderr
        assert "team activate budi" in r.stderr
        r = cli(*argv, "--owner", "bdi", ok=False)
        assert r.exit_code == 3 and "Unknown team member 'bdi'" in r.stderr
        cli(*argv, "--owner", "ani")
    assert [f["owner"] for f in cli.json("followups", "--all")] == ["ani"]
    assert [t["owner"] for t in cli.json("target", "list")] == ["ani"]


def test_a_snooze_into_the_past_names_the_local_time(cli: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("LEADCTL_TZ", "Asia/Jakarta")  # now: 15:00 there
    lead = add_lead(cli, "Budi")
    fu = add_fu(cli, lead, "tomorrow 10:00")
    r = cli("followups", "snooze", str(fu["id"]), "--to", "today 14:00", ok=False)
    assert r.exit_code == 2 and "--to 'today 14:00' is 2026-11-22 14:00, not later" in r.stderr
