"""Nurturing sequences: definition, enrolment, progression, auto-stop."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

WELCOME = ("--step", "0d email", "--step", "3d call : ask about the demo", "--step", "10d whatsapp")


_contacts = iter(range(10**6))


def add_lead(cli: Any, name: str = "Budi", *args: str) -> int:
    """A lead that every step kind can reach: an e-mail and a phone of its own
    (unless args give them)."""
    n = next(_contacts)
    if "--email" not in args:
        args = (*args, "--email", f"lead{n}@example.com")
    if "--phone" not in args:
        args = (*args, "--phone", f"0812{n:08d}")
    return int(cli("add", name, *args).stdout.strip())


def open_followups(cli: Any, lead_id: int) -> list[dict[str, Any]]:
    return [r for r in cli.json("followups", "--all") if r["lead_id"] == lead_id and r["id"]]


def status(cli: Any, *args: str) -> list[dict[str, Any]]:
    return cli.json("sequence", "status", "--all", *args)


def test_add_list_show_remove(cli: Any) -> None:
    seq = cli.json("sequence", "add", "Welcome", *WELCOME)
    assert seq["name"] == "welcome" and seq["stop_on_reply"] is True
    assert [(s["position"], s["delay_days"], s["kind"], s["note"]) for s in seq["steps"]] == [
        (1, 0, "email", None), (2, 3, "call", "ask about the demo"), (3, 10, "whatsapp", None),
    ]  # fmt: skip
    assert [s["name"] for s in cli.json("sequence", "list")] == ["welcome"]
    assert cli.json("sequence", "show", "welcome")["steps"][1]["kind"] == "call"
    dup = cli("sequence", "add", "welcome", "--step", "1d call", ok=False)
    assert dup.exit_code == 1 and "already exists" in dup.stderr
    cli("sequence", "remove", "welcome")
    assert cli.json("sequence", "list") == []
    r = cli("sequence", "show", "welcome", ok=False)
    assert r.exit_code == 3


@pytest.mark.parametrize(
    ("step", "code"),
    [("call", 2), ("3x call", 2), ("3d fax", 2), ("3d call a b", 2), ("2w call nosuch", 3)],
)
def test_bad_steps(cli: Any, step: str, code: int) -> None:
    r = cli("sequence", "add", "s", "--step", step, ok=False)
    assert r.exit_code == code
    assert r.stderr.startswith("Error: ") and len(r.stderr.strip().splitlines()) == 1


def test_steps_with_a_known_template(cli: Any, conn: Any) -> None:
    conn.execute(
        "INSERT INTO templates (name, channel, body, created_at, updated_at)"
        " VALUES ('intro', 'email', 'Hi {name}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
    )
    seq = cli.json("sequence", "add", "w", "--step", "0d email intro", "--step", "2w call")
    assert seq["steps"][0]["template"] == "intro" and seq["steps"][1]["delay_days"] == 14
    lead = add_lead(cli)
    res = cli.json("sequence", "enroll", str(lead), "w")
    assert res["followup"]["template"] == "intro"


def test_progression_delays_are_relative_to_the_previous_step(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    lead = add_lead(cli, "Budi", "--owner", "ani")
    res = cli.json("sequence", "enroll", str(lead), "welcome")
    enrollment, first = res["enrollment"], res["followup"]
    assert enrollment["status"] == "active" and enrollment["current_step"] == 0
    assert first["step"] == 1 and first["kind"] == "email" and first["owner"] == "ani"
    assert first["enrollment_id"] == enrollment["id"]
    assert first["due_at"] == "2026-11-22T08:00:00Z"  # 0 days after enrolment
    listed = cli.json("followups")
    assert listed[0]["sequence"] == "welcome" and listed[0]["step"] == 1

    # Step 1 done a day late: step 2 is due 3 days after that completion.
    monkeypatch.setenv("LEADCTL_NOW", "2026-11-23T10:00:00Z")
    done = cli.json("followups", "done", str(first["id"]))
    second = done["sequence_next"]
    assert second["step"] == 2 and second["kind"] == "call"
    assert second["due_at"] == "2026-11-26T10:00:00Z"
    assert second["note"] == "ask about the demo"
    assert status(cli)[0]["current_step"] == 1 and status(cli)[0]["next_step"] == 2

    monkeypatch.setenv("LEADCTL_NOW", "2026-11-26T12:00:00Z")
    third = cli.json("followups", "done", str(second["id"]))["sequence_next"]
    assert third["step"] == 3 and third["due_at"] == "2026-12-06T12:00:00Z"

    monkeypatch.setenv("LEADCTL_NOW", "2026-12-06T13:00:00Z")
    last = cli.json("followups", "done", str(third["id"]))
    assert last["sequence_next"] is None and last["enrollment_status"] == "completed"
    row = status(cli)[0]
    assert row["status"] == "completed" and row["current_step"] == 3
    assert row["ended_at"] == "2026-12-06T13:00:00Z"
    assert cli.json("sequence", "status") == []  # only active ones by default
    # Each step logged an activity of its kind.
    kinds = [a["kind"] for a in cli.json("show", str(lead))["activities"]]
    assert kinds.count("email") == 1 and kinds.count("call") == 1 and kinds.count("whatsapp") == 1


def test_cancelling_a_step_skips_to_the_next(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    lead = add_lead(cli)
    first = cli.json("sequence", "enroll", str(lead), "welcome")["followup"]
    res = cli.json("followups", "cancel", str(first["id"]))
    assert res["sequence_next"]["step"] == 2


@pytest.mark.parametrize("stage", ["won", "lost", "disqualified"])
def test_stops_when_the_lead_closes(cli: Any, stage: str) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    lead = add_lead(cli)
    cli("sequence", "enroll", str(lead), "welcome")
    cli("advance", str(lead), "--to", stage, "--reason", "because")
    row = status(cli)[0]
    assert row["status"] == "stopped" and row["stop_reason"] == stage
    assert open_followups(cli, lead) == []


def test_stop_is_applied_when_followups_run(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    lead = add_lead(cli)
    first = cli.json("sequence", "enroll", str(lead), "welcome")["followup"]
    cli("advance", str(lead), "--to", "won")
    # The first command after the move (cron's `followups`) stops the sequence.
    assert all(r["id"] != first["id"] for r in cli.json("followups"))
    r = cli("followups", "done", str(first["id"]), ok=False)
    assert r.exit_code == 1 and "cancelled" in r.stderr


def _enrolments(conn: Any, lead: int) -> list[tuple[str, str | None]]:
    return [
        (r["status"], r["stop_reason"])
        for r in conn.execute(
            "SELECT * FROM sequence_enrollments WHERE lead_id = ? ORDER BY id", (lead,)
        )
    ]


def _open_steps(conn: Any, lead: int) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM followups WHERE lead_id = ? AND status = 'open'", (lead,)
        ).fetchone()[0]
    )


@pytest.mark.parametrize("stage", ["won", "lost"])
def test_advance_itself_stops_the_sequence(cli: Any, conn: Any, stage: str) -> None:
    """Checked in the database right after `advance`, with no listing run in
    between (which would also stop it): the move itself stops nurturing."""
    cli("sequence", "add", "welcome", *WELCOME)
    lead = add_lead(cli)
    cli("sequence", "enroll", str(lead), "welcome")
    assert _enrolments(conn, lead) == [("active", None)] and _open_steps(conn, lead) == 1
    cli("advance", str(lead), "--to", stage, "--reason", "because")
    assert _enrolments(conn, lead) == [("stopped", stage)]
    assert _open_steps(conn, lead) == 0


def test_do_not_contact_stops_and_blocks_nurturing(cli: Any, conn: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    lead = add_lead(cli)
    cli("sequence", "enroll", str(lead), "welcome")
    cli("edit", str(lead), "--do-not-contact")
    assert _enrolments(conn, lead) == [("stopped", "do_not_contact")]
    assert _open_steps(conn, lead) == 0
    r = cli("sequence", "enroll", str(lead), "welcome", ok=False)
    assert r.exit_code == 1 and "do-not-contact" in r.stderr and "--contact-ok" in r.stderr
    assert _enrolments(conn, lead) == [("stopped", "do_not_contact")]
    cli("edit", str(lead), "--contact-ok")
    cli("sequence", "enroll", str(lead), "welcome")
    assert _enrolments(conn, lead)[-1] == ("active", None)


def test_do_not_contact_from_an_import_stops_nurturing(cli: Any, conn: Any, tmp_path: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    a = add_lead(cli, "Ayu", "--phone", "0812-1111-2222")
    b = add_lead(cli, "Bayu", "--phone", "0812-3333-4444")
    step_a = cli.json("sequence", "enroll", str(a), "welcome")["followup"]
    step_b = cli.json("sequence", "enroll", str(b), "welcome")["followup"]
    opt_out = tmp_path / "dnc.csv"
    opt_out.write_text("name,phone,Do Not Contact\nAyu,081211112222,yes\nBayu,081233334444,yes\n")
    cli("import", str(opt_out), "--on-duplicate", "update")
    # Completing a step of a lead that opted out schedules no next one...
    done = cli.json("followups", "done", str(step_a["id"]))
    assert done["sequence_next"] is None and done["enrollment_status"] == "stopped"
    assert _enrolments(conn, a) == [("stopped", "do_not_contact")] and _open_steps(conn, a) == 0
    # ... and the morning listing stops the others (their step is not listed).
    assert all(r["lead_id"] != b for r in cli.json("followups", "--all") if r["id"])
    assert _enrolments(conn, b) == [("stopped", "do_not_contact")] and _open_steps(conn, b) == 0
    assert (
        conn.execute("SELECT status FROM followups WHERE id = ?", (step_b["id"],)).fetchone()[0]
        == "cancelled"
    )


def test_inbound_reply_stops_unless_configured(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    cli("sequence", "add", "drip", "--no-stop-on-reply", "--step", "1d email")
    lead = add_lead(cli)
    cli("sequence", "enroll", str(lead), "welcome")
    cli("sequence", "enroll", str(lead), "drip")
    cli("log", str(lead), "--kind", "call", "--note", "outbound does not stop")
    assert {r["status"] for r in status(cli)} == {"active"}
    r = cli("log", str(lead), "--kind", "whatsapp", "--inbound", "--note", "thanks!")
    assert "A reply stops sequences: 1 enrolment(s) stopped." in r.stderr
    rows = {r["sequence"]: r for r in status(cli)}
    assert rows["welcome"]["status"] == "stopped" and rows["welcome"]["stop_reason"] == "replied"
    assert rows["drip"]["status"] == "active"
    assert [f["sequence"] for f in open_followups(cli, lead)] == ["drip"]


def test_a_reply_before_enrolment_does_not_stop(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    lead = add_lead(cli)
    cli("log", str(lead), "--kind", "whatsapp", "--inbound", "--at", "yesterday 10:00")
    cli("sequence", "enroll", str(lead), "welcome")
    assert status(cli)[0]["status"] == "active"


def test_unenroll(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    cli("sequence", "add", "drip", "--step", "1d email")
    lead = add_lead(cli)
    cli("sequence", "enroll", str(lead), "welcome")
    cli("sequence", "enroll", str(lead), "drip")
    cli("sequence", "unenroll", str(lead), "welcome")
    rows = {r["sequence"]: r for r in status(cli, "--lead", str(lead))}
    assert rows["welcome"]["stop_reason"] == "unenrolled" and rows["drip"]["status"] == "active"
    cli("sequence", "unenroll", str(lead))
    assert {r["status"] for r in status(cli)} == {"stopped"}
    assert open_followups(cli, lead) == []
    r = cli("sequence", "unenroll", str(lead), ok=False)
    assert r.exit_code == 3 and "not enrolled" in r.stderr


def test_enrol_refusals(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    lead = add_lead(cli)
    cli("sequence", "enroll", str(lead), "welcome")
    r = cli("sequence", "enroll", str(lead), "welcome", ok=False)
    assert r.exit_code == 1 and "already enrolled" in r.stderr
    closed = add_lead(cli, "Gone")
    cli("advance", str(closed), "--to", "lost", "--reason", "price")
    r = cli("sequence", "enroll", str(closed), "welcome", ok=False)
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "closed" in r.stderr and "--reopen" in r.stderr
    assert cli("sequence", "enroll", "999", "welcome", ok=False).exit_code == 3
    assert cli("sequence", "enroll", str(lead), "nosuch", ok=False).exit_code == 3


def test_enrol_many_by_ids_is_all_or_none(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    a, b, c = (add_lead(cli, n) for n in ("A", "B", "C"))
    cli("sequence", "enroll", str(c), "welcome")
    r = cli("sequence", "enroll", str(a), str(b), str(c), "welcome", ok=False)
    assert r.exit_code == 1 and f"Lead {c} is already enrolled" in r.stderr
    assert [e["lead_id"] for e in status(cli)] == [c]  # nothing else changed
    out = cli.json("sequence", "enroll", str(a), str(b), str(a), "welcome")
    assert [e["enrollment"]["lead_id"] for e in out["enrolled"]] == [a, b]  # a once
    assert out["skipped"] == [] and out["sequence"] == "welcome"
    assert {e["lead_id"] for e in status(cli)} == {a, b, c}
    assert all(len(open_followups(cli, lead)) == 1 for lead in (a, b, c))
    for argv, code, text in (
        (["x1", "welcome"], 2, "'x1' is not a lead id"),
        (["welcome"], 2, "Say which leads to enrol"),
        ([str(a), "welcome", "--source", "ads"], 2, "not both"),
        ([str(a), "welcome", "--dry-run"], 2, "--dry-run goes with filters"),
        (["999", "welcome"], 3, "No lead with id 999"),
    ):
        r = cli("sequence", "enroll", *argv, ok=False)
        assert r.exit_code == code and text in r.stderr, (argv, r.stderr)


def test_enrol_by_filters_skips_and_names_the_unfit(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    web = [add_lead(cli, n, "--source", "webinar") for n in ("A", "B", "C", "D")]
    other = add_lead(cli, "E", "--source", "ads")
    cli("advance", str(web[1]), "--to", "lost", "--reason", "price")  # closed: not selected
    cli("edit", str(web[2]), "--do-not-contact")
    cli("sequence", "enroll", str(web[3]), "welcome")
    dry = cli.json("sequence", "enroll", "welcome", "--source", "webinar", "--dry-run")
    assert dry["enrolled"] == [web[0]]
    assert [s["lead_id"] for s in dry["skipped"]] == [web[2], web[3]]
    assert "do-not-contact" in dry["skipped"][0]["reason"]
    assert "already enrolled" in dry["skipped"][1]["reason"]
    assert [e["lead_id"] for e in status(cli)] == [web[3]]  # the dry run wrote nothing
    r = cli("sequence", "enroll", "welcome", "--source", "webinar")
    assert f"Skipped: Lead {web[2]} is marked do-not-contact" in r.stderr
    assert "Enrolled 1 lead(s) in 'welcome'" in r.stderr and "2 skipped" in r.stderr
    assert {e["lead_id"] for e in status(cli)} == {web[0], web[3]}
    assert other not in {e["lead_id"] for e in status(cli)}
    again = cli.json("sequence", "enroll", "welcome", "--source", "webinar")
    assert again["enrolled"] == [] and len(again["skipped"]) == 3  # re-running adds nothing
    none = cli.json("sequence", "enroll", "welcome", "--source", "nobody")
    assert none == {"sequence": "welcome", "enrolled": [], "skipped": []}


def test_a_lead_the_steps_cannot_reach_is_not_enrolled(cli: Any) -> None:
    """An e-mail step needs an e-mail address; a call, WhatsApp or SMS step a
    phone number. A meeting or a note needs neither."""
    cli("sequence", "add", "mail", "--step", "0d meeting", "--step", "2d email")
    cli("sequence", "add", "chat", "--step", "1d whatsapp")
    cli("sequence", "add", "visit", "--step", "0d meeting", "--step", "3d note")
    phone_only = int(cli("add", "Phone Only", "--phone", "0812-2000-0001").stdout)
    mail_only = int(cli("add", "Mail Only", "--email", "m@example.com").stdout)
    r = cli("sequence", "enroll", str(phone_only), "mail", ok=False)
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert f"Lead {phone_only} has no e-mail address, and step 2 of 'mail' is an email" in r.stderr
    assert f"leadctl edit {phone_only} --email" in r.stderr
    r = cli("sequence", "enroll", str(mail_only), "chat", ok=False)
    assert (
        r.exit_code == 1 and "has no phone number, and step 1 of 'chat' is a whatsapp" in r.stderr
    )
    assert status(cli) == []  # nothing enrolled, no follow-up planned
    assert open_followups(cli, phone_only) == open_followups(cli, mail_only) == []
    # Enrolling by filter skips them with the reason; the others go in.
    out = cli.json("sequence", "enroll", "mail", "--search", "Only")
    assert [e["enrollment"]["lead_id"] for e in out["enrolled"]] == [mail_only]
    assert [s["lead_id"] for s in out["skipped"]] == [phone_only]
    assert "has no e-mail address" in out["skipped"][0]["reason"]
    for lead in (phone_only, mail_only):
        cli("sequence", "enroll", str(lead), "visit")
    assert {(e["lead_id"], e["sequence"]) for e in status(cli)} == {
        (mail_only, "mail"), (phone_only, "visit"), (mail_only, "visit"),
    }  # fmt: skip


def test_remove_with_active_enrolments_needs_force(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    lead = add_lead(cli)
    first = cli.json("sequence", "enroll", str(lead), "welcome")["followup"]
    cli.json("followups", "done", str(first["id"]))
    r = cli("sequence", "remove", "welcome", ok=False)
    assert r.exit_code == 1 and "--force" in r.stderr
    cli("sequence", "remove", "welcome", "--force")
    assert open_followups(cli, lead) == []
    assert status(cli) == []
    # The done step stays in the history.
    assert any(a["kind"] == "email" for a in cli.json("show", str(lead))["activities"])


def test_status_filters(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    cli("sequence", "add", "drip", "--step", "1d email")
    a, b = add_lead(cli, "A"), add_lead(cli, "B")
    cli("sequence", "enroll", str(a), "welcome")
    cli("sequence", "enroll", str(b), "drip")
    assert [r["lead_id"] for r in cli.json("sequence", "status", "--sequence", "drip")] == [b]
    assert [r["sequence"] for r in cli.json("sequence", "status", "--lead", str(a))] == ["welcome"]
    table = cli("sequence", "status").stdout
    assert "welcome" in table and "0/3" in table


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_step_raises_only_validation_error(text: str) -> None:
    from leadctl.errors import ValidationError
    from leadctl.sequences import parse_step

    try:
        step = parse_step(text, 1)
    except ValidationError:
        return
    # Idempotent: the step's own description parses back to the same step.
    assert parse_step(step.describe(), 1) == step


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 500),
    st.sampled_from(["call", "email", "whatsapp", "sms", "meeting"]),
    st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)),
    st.one_of(
        st.none(), st.text(min_size=1, max_size=20).filter(lambda t: t.strip() and "\x00" not in t)
    ),
)
def test_step_round_trip(days: int, kind: str, template: str | None, note: str | None) -> None:
    from leadctl.sequences import Step, parse_step

    step = Step(1, days, kind, template, note.strip() if note else None)
    if step.note and ":" in step.note:
        return
    assert parse_step(step.describe(), 1) == step


def test_the_summary_counts_no_step_about_to_stop(cli: Any, conn: Any, tmp_path: Any) -> None:
    """After an import opts a lead out, nothing has synced yet: the summary
    already leaves its step out of today's follow-ups, as `followups` does."""
    cli("sequence", "add", "welcome", *WELCOME)
    a = add_lead(cli, "Ayu", "--phone", "0812-1111-2222")
    b = add_lead(cli, "Bayu", "--phone", "0812-3333-4444")
    for lead in (a, b):
        cli("sequence", "enroll", str(lead), "welcome")
    assert cli.json("report")["totals"]["followups_due_today"] == 2
    opt_out = tmp_path / "dnc.csv"
    opt_out.write_text("name,phone,Do Not Contact\nAyu,081211112222,yes\n")
    cli("import", str(opt_out), "--on-duplicate", "update")
    totals = cli.json("report")["totals"]
    assert (totals["followups_due_today"], totals["no_next_step"]) == (1, 1)
    assert [r["lead_id"] for r in cli.json("followups")] == [b]
    flagged = [r for r in cli.json("followups", "--all") if r["id"] is None]
    assert [(r["lead_id"], r["do_not_contact"]) for r in flagged] == [(a, True)]
    assert cli.json("report")["totals"]["no_next_step"] == 1  # the same after the sync


def test_status_of_an_unknown_lead_is_not_found(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    r = cli("sequence", "status", "--lead", "999", ok=False)
    assert r.exit_code == 3 and "No lead with id 999" in r.stderr  # as `followups --lead`


def test_enrol_by_unqualified_is_a_filter(cli: Any) -> None:
    cli("sequence", "add", "welcome", *WELCOME)
    q = add_lead(cli, "Q")
    cli("qualify", str(q), "--budget", "yes", "--authority", "yes", "--need", "x",
        "--timeline", "2026-12-15")  # fmt: skip
    u = add_lead(cli, "U")
    assert cli.json("sequence", "enroll", "welcome", "--unqualified", "--dry-run")["enrolled"] == [
        u
    ]
    r = cli("sequence", "enroll", str(q), "welcome", "--unqualified", ok=False)
    assert r.exit_code == 2 and "not both" in r.stderr
    assert cli.json("sequence", "enroll", "welcome", "--qualified", "--dry-run")["enrolled"] == [q]
