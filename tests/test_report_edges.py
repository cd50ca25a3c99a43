"""Report edge cases: local-time periods, other currencies, unassigned owners."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from leadctl import activities, leads, pipeline
from leadctl.db import transaction


def test_today_is_local(conn: Any, cli: Any) -> None:
    lead = leads.add_lead(conn, {"name": "A"}, now=datetime(2026, 11, 20, tzinfo=timezone.utc),
                          actor="ani").id  # fmt: skip
    with transaction(conn):
        # 18:00 UTC on the 21st is 01:00 on the 22nd in Jakarta (UTC+7).
        at = datetime(2026, 11, 21, 18, 0, tzinfo=timezone.utc)
        activities.record(conn, lead, "call", at=at, now=at, actor="ani", direction="out")
    utc = cli.json("report", "activity", "--period", "today")
    assert utc["totals"]["total"] == 0
    jkt = cli.json("--tz", "Asia/Jakarta", "report", "activity", "--period", "today")
    assert jkt["totals"]["total"] == 1
    assert jkt["period"]["since"] == "2026-11-21T17:00:00Z"


def test_other_currency_is_counted_not_summed(conn: Any, cli: Any) -> None:
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    a = leads.add_lead(conn, {"name": "A", "value": "1000000", "owner": "ani"}, now=now,
                       actor="t").id  # fmt: skip
    b = leads.add_lead(conn, {"name": "B", "value": "100", "currency": "USD", "owner": "ani"},
                       now=now, actor="t").id  # fmt: skip
    for lead_id in (a, b):
        pipeline.move_stage(conn, lead_id, "won", now=now, actor="t")
    rep = cli.json("report", "conversion")
    assert rep["currency"] == "IDR"
    assert rep["rows"][0]["won"] == 2 and rep["rows"][0]["won_value"] == 1_000_000


def test_owner_none_selects_unassigned(conn: Any, cli: Any) -> None:
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    leads.add_lead(conn, {"name": "A", "owner": "ani"}, now=now, actor="t")
    leads.add_lead(conn, {"name": "B"}, now=now, actor="t")
    rep = cli.json("report", "pipeline", "--owner", "none")
    assert rep["totals"]["count"] == 1
    assert cli.json("report", "conversion", "--owner", "ani")["totals"]["leads"] == 1


def test_group_options_before_the_report_name_are_refused(cli: Any, conn: Any) -> None:
    r = cli("report", "--owner", "ani", "pipeline", ok=False)
    assert r.exit_code == 2 and "after the report name" in r.stderr
    assert cli.json("report", "--period", "this-month")["report"] == "summary"


def test_an_owner_nobody_has_is_not_found(conn: Any, cli: Any) -> None:
    """`report --owner` with a typo is exit 3 naming the team, not an empty
    report that looks real; a known owner with nothing in the period is fine."""
    leads.add_lead(conn, {"name": "A", "owner": "ani"}, now=datetime(2026, 11, 1,
                   tzinfo=timezone.utc), actor="budi")  # fmt: skip
    cli("team", "add", "citra")
    for report in ("pipeline", "funnel", "conversion", "activity", "summary"):
        r = cli("report", report, "--owner", "anni", ok=False)
        assert r.exit_code == 3 and "'anni'" in r.stderr and "citra" in r.stderr, report
    assert cli.json("report", "pipeline", "--owner", "ani")["owner"] == "ani"
    # Known by other roads: a team member, an activity's actor.
    for who in ("citra", "budi"):
        assert cli("report", "activity", "--owner", who).exit_code == 0


def test_forecast_won_month_follows_dst(conn: Any, cli: Any) -> None:
    """Won at 00:30 on 1 November in New York (still EDT, UTC-4): November,
    although on the report's day (EST, UTC-5) the same UTC time would be
    31 October."""
    t0 = datetime(2026, 10, 1, tzinfo=timezone.utc)
    lead = leads.add_lead(conn, {"name": "A", "value": "1000000"}, now=t0, actor="t").id
    won_at = datetime(2026, 11, 1, 4, 30, tzinfo=timezone.utc)
    pipeline.move_stage(conn, lead, "won", now=won_at, actor="t", at=won_at)
    for args in ([], ["--period", "2026-11"]):
        rep = cli.json("--tz", "America/New_York", "report", "forecast", *args)
        won = {r["month"]: r["won"] for r in rep["rows"] if r["won"]}
        assert won == {"2026-11": 1}, args
    oct_ = cli.json("--tz", "America/New_York", "report", "forecast", "--period", "2026-10")
    assert all(r["won"] == 0 for r in oct_["rows"])
    # In UTC+7 the same moment is 1 November 11:30.
    assert {r["month"] for r in cli.json("--tz", "Asia/Jakarta", "report", "forecast")["rows"]
            if r["won"]} == {"2026-11"}  # fmt: skip


def test_reports_sum_the_largest_amounts(cli: Any) -> None:
    """Two leads at the largest value a lead takes: every money report sums them."""
    for name in ("A", "B"):
        cli("add", name, "--value", "999.999.999.999.999")
    # Weighted values (value x probability) of many such leads: no int64 overflow.
    for n in range(130):
        cli("add", f"N{n}", "--value", "999.999.999.999.999")
        cli("advance", str(n + 3), "--to", "negotiation")
    r = cli("add", "C", "--value", "9223372036854775807", ok=False)
    assert r.exit_code == 2 and "too large" in r.stderr
    for report in ("pipeline", "forecast", "conversion", "summary"):
        assert cli("report", report, "-f", "json").exit_code == 0, report
    stages = cli.json("report", "pipeline", "-f", "json")["rows"]
    assert sum(s["value"] for s in stages) == 132 * 999_999_999_999_999
    weighted = cli.json("report", "pipeline", "-f", "json")["totals"]["weighted_value"]
    probability = {s["stage"]: s["probability"] for s in stages}
    exact = (2 * probability["new"] + 130 * probability["negotiation"]) * 999_999_999_999_999 / 100
    assert abs(weighted - exact) / exact < 1e-12


def test_summary_overdue_is_what_followups_calls_overdue(cli: Any) -> None:
    """The suite's clock is 08:00 UTC: a follow-up due at 07:00 today is overdue
    in `followups` and in the summary alike; one due at 10:00 is not."""
    lead = cli("add", "A").stdout.strip()
    cli("followups", "add", lead, "--due", "today 07:00", "--note", "early")
    cli("followups", "add", lead, "--due", "today 10:00", "--note", "later")
    listed = {r["note"]: r["overdue"] for r in cli.json("followups")}
    assert listed == {"early": True, "later": False}
    totals = cli.json("report", "summary")["totals"]
    assert totals["followups_due_today"] == 2 and totals["followups_overdue"] == 1


def test_empty_option_values_mean_what_list_says_or_are_refused(conn: Any, cli: Any) -> None:
    """A script's empty $OWNER or $PERIOD: --owner "" is the unassigned leads
    (as in `list` and `followups`); an empty period or date is an error."""
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    leads.add_lead(conn, {"name": "A", "owner": "ani"}, now=now, actor="t")
    leads.add_lead(conn, {"name": "B"}, now=now, actor="t")
    assert len(cli.json("list", "--owner", "")) == 1
    for report in ("pipeline", "summary", "stale", "funnel"):
        empty = cli.json("report", report, "--owner", "")
        assert empty == cli.json("report", report, "--owner", "none"), report
    assert cli.json("report", "pipeline", "--owner", "")["totals"]["count"] == 1
    for option in ("--period", "--since", "--until"):
        r = cli("report", "pipeline", option, "", ok=False)
        assert r.exit_code == 2 and "empty" in r.stderr, option
    r = cli("report", "--owner", "", "pipeline", ok=False)
    assert r.exit_code == 2 and "after the report name" in r.stderr


def test_weighted_values_sum_exactly(cli: Any) -> None:
    """Cents whose weighted total ends in exactly half a cent: the integer sum
    divided once rounds as pipeline and forecast both should (summing each
    lead's share as a float gave 1257063 in one and 1257064 in the other)."""
    cli("settings", "set", "currency", "USD")
    deals = [("26283.45", "new"), ("36297.96", "contacted"), ("18401.84", "new"),
             ("4212.57", "contacted")]  # fmt: skip
    for n, (value, stage) in enumerate(deals, 1):
        cli("add", f"U{n}", "--value", value, "--expected-close", "2026-12")
        if stage != "new":
            cli("advance", str(n), "--to", stage)
    pipeline = cli.json("report", "pipeline")["totals"]["weighted_value"]
    forecast = cli.json("report", "forecast")["totals"]["weighted_value"]
    assert pipeline == forecast == 1257064


def test_summary_of_the_unassigned_counts_their_month(cli: Any) -> None:
    cli("add", "A")
    cli("add", "B", "--owner", "ani")
    for owner in ("", "none"):
        totals = cli.json("report", "--owner", owner)["totals"]
        assert (totals["open_leads"], totals["new_leads"]) == (1, 1), owner
    assert cli.json("report")["totals"]["new_leads"] == 2
    r = cli("report", "targets", "--period", "", ok=False)
    assert r.exit_code == 2 and "empty" in r.stderr


def test_average_deal_counts_the_deals_its_value_sums(cli: Any) -> None:
    """One won IDR deal of Rp 10,000,000 and one won USD deal: the IDR
    average is Rp 10,000,000 in conversion and velocity alike."""
    a = cli("add", "A", "--value", "Rp 10.000.000").stdout.strip()
    b = cli("add", "B", "--currency", "USD", "--value", "1000").stdout.strip()
    cli("advance", a, b, "--to", "won")
    conv = cli.json("report", "conversion", "--period", "all")["totals"]
    vel = cli.json("report", "velocity", "--period", "all")["totals"]
    assert (conv["won"], conv["won_value"]) == (2, 10_000_000)
    assert conv["average_deal"] == vel["average_deal"] == 10_000_000


def test_same_day_sales_count_a_day_of_cycle_in_the_velocity(cli: Any) -> None:
    """Walk-ins won the day they came: cycle ~0 days; the velocity per day
    counts it as one day, not the pipeline tens of thousands of times over."""
    cli("add", "Walk-in 1", "--phone", "0812-6000-0001", "--value", "2jt")
    cli("advance", "1", "--to", "won")
    cli("add", "Walk-in 2", "--phone", "0812-6000-0002", "--value", "2jt")
    cli("advance", "2", "--to", "lost", "--reason", "price")
    cli("add", "Open 3", "--phone", "0812-6000-0003", "--value", "2jt")
    t = cli.json("report", "velocity")["totals"]
    assert t["average_cycle_days"] < 1 and (t["open_now"], t["win_rate"]) == (1, 0.5)
    assert t["sales_velocity_per_day"] == t["average_deal"] // 2  # 1 open x deal x 0.5 / 1 day


def test_forecast_says_it_counts_the_whole_months_of_a_shorter_period(cli: Any) -> None:
    cli("add", "A", "--phone", "0812-6000-0001", "--value", "2jt")
    cli("advance", "1", "--to", "won")  # 2026-11-22
    rep = cli.json("report", "forecast", "--since", "2026-11-10", "--until", "2026-11-20")
    assert (rep["period"]["since"], rep["period"]["until"]) == (
        "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")  # fmt: skip
    assert rep["totals"]["won"] == 1  # won on the 22nd: in November, as the period now says
    whole = cli.json("report", "forecast", "-p", "2026-11")
    assert whole["period"] == {**rep["period"], "name": whole["period"]["name"]}
