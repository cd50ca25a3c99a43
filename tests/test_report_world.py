"""Every report on one small hand-made history whose answers are worked out
by hand below (the comments give the arithmetic). The clock is the suite's
NOW: Sunday 2026-11-22 08:00 UTC; the time zone is UTC.

Leads (created → moves):
  1 A  ani   ads  1,000,000  11-02 → contacted 11-03 → qualified 11-05 (skips nurturing) → won 11-12
  2 B  ani   ads  2,000,000  11-04 → contacted 11-06 → lost 11-10
  3 C  budi  web  4,000,000  11-10 → won 11-14 (skips everything) → inactive 11-20
  4 D  budi  web  3,000,000  11-20 → contacted 11-21 (open)
  5 E  ani   ads  5,000,000  10-15 → qualified 10-20 → negotiation 11-01 (open, manual prob 40 %)
  6 F  -     -    no value   11-21 (open, new)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from leadctl import activities, leads, pipeline
from leadctl.db import transaction

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)
MONTH_ELAPSED = (21 * 24 + 8) / (30 * 24)  # 2026-11-01 00:00 → NOW, of 30 days
WEEK_ELAPSED = (6 * 24 + 8) / (7 * 24)  # Monday 11-16 00:00 → NOW


def t(day: str, hour: int = 8) -> datetime:
    m, d = day.split("-")
    return datetime(2026, int(m), int(d), hour, 0, 0, tzinfo=timezone.utc)


def _add(conn: Any, name: str, created: datetime, **data: Any) -> int:
    return leads.add_lead(conn, {"name": name, **data}, now=created, actor="tester").id


def _move(conn: Any, lead_id: int, to: str, at: datetime, **kw: Any) -> None:
    pipeline.move_stage(conn, lead_id, to, now=at, actor="tester", at=at, **kw)


def _act(conn: Any, lead_id: int, kind: str, at: datetime, actor: str, **kw: Any) -> None:
    with transaction(conn):
        activities.record(conn, lead_id, kind, at=at, now=at, actor=actor, **kw)


@pytest.fixture
def world(conn: Any) -> Any:
    a = _add(conn, "A", t("11-02"), owner="ani", source="ads", product="p1", value="1000000")
    _move(conn, a, "contacted", t("11-03"))
    _move(conn, a, "qualified", t("11-05"))
    _move(conn, a, "won", t("11-12"))
    b = _add(conn, "B", t("11-04"), owner="ani", source="ads", value="2000000")
    _move(conn, b, "contacted", t("11-06"))
    _move(conn, b, "lost", t("11-10"), reason="price")
    c = _add(conn, "C", t("11-10"), owner="budi", source="web", value="4000000")
    _move(conn, c, "won", t("11-14"))
    d = _add(conn, "D", t("11-20"), owner="budi", source="WEB", value="3000000")
    _move(conn, d, "contacted", t("11-21"))
    e = _add(conn, "E", t("10-15"), owner="ani", source="ads", value="5000000")
    _move(conn, e, "qualified", t("10-20"))
    _move(conn, e, "negotiation", t("11-01"))
    f = _add(conn, "F", t("11-21"))
    with transaction(conn):
        conn.execute("UPDATE leads SET probability_manual = 40, qualified = 1 WHERE id = ?", (e,))
        conn.execute("UPDATE leads SET expected_close = '2026-12-15' WHERE id = ?", (e,))
        conn.execute("UPDATE leads SET expected_close = '2026-12-01' WHERE id = ?", (d,))
        for lead_id, due, status in ((d, "2026-11-22T10:00:00Z", "open"),
                                     (d, "2026-11-19T10:00:00Z", "open"),
                                     (f, "2026-11-21T10:00:00Z", "done")):  # fmt: skip
            conn.execute(
                "INSERT INTO followups (lead_id, due_at, owner, status, created_at)"
                " VALUES (?, ?, 'budi', ?, ?)",
                (lead_id, due, status, "2026-11-01T00:00:00Z"),
            )
    # Work: first responses A 1 h (the inbound WhatsApp does not count), B 6 h
    # (a note is not a contact attempt), D 2 h; C never got a contact attempt.
    _act(conn, a, "call", t("11-02", 9), "ani", direction="out")
    _act(conn, a, "whatsapp", t("11-02", 10), "ani", direction="in")
    _act(conn, b, "note", t("11-04", 12), "ani", direction="out")
    _act(conn, b, "call", t("11-04", 14), "ani", direction="out")
    _act(conn, d, "email", t("11-20", 10), "budi", direction="out")
    # Sales: A buys p1 twice, the second dearer (repeat + upsell); C buys p2 then
    # p3 (repeat + cross-sell).
    _act(conn, a, "sale", t("11-12", 9), "ani", amount=1_000_000, product="p1")
    _act(conn, a, "sale", t("11-20", 9), "ani", amount=1_500_000, product="p1")
    _act(conn, c, "sale", t("11-14", 9), "budi", amount=4_000_000, product="p2")
    _act(conn, c, "sale", t("11-18", 9), "budi", amount=500_000, product="p3")
    # C churns: won → inactive.
    _move(conn, c, "inactive", t("11-20"))
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


def test_pipeline(world: Any, cli: Any) -> None:
    rep = cli.json("report", "pipeline")
    rows = by(rep["rows"], "stage")
    assert [r["stage"] for r in rep["rows"]] == [
        "new", "contacted", "nurturing", "qualified", "negotiation"
    ]  # fmt: skip
    assert rows["new"] | {} == rows["new"] and rows["new"]["count"] == 1
    assert rows["new"]["value"] == 0 and rows["new"]["weighted_value"] == 0
    assert rows["contacted"]["count"] == 1 and rows["contacted"]["value"] == 3_000_000
    assert rows["contacted"]["weighted_value"] == 600_000  # 20 % stage default
    assert rows["nurturing"]["count"] == 0
    assert rows["negotiation"]["weighted_value"] == 2_000_000  # manual 40 % beats 75 %
    assert rep["totals"] == {"count": 3, "value": 8_000_000, "weighted_value": 2_600_000}
    assert rep["currency"] == "IDR"


def test_pipeline_by_owner_and_filters(world: Any, cli: Any) -> None:
    rep = cli.json("report", "pipeline", "--by", "owner")
    got = {(r["stage"], r["owner"]): r["count"] for r in rep["rows"]}
    assert got == {("new", None): 1, ("contacted", "budi"): 1, ("negotiation", "ani"): 1}
    ani = cli.json("report", "pipeline", "--owner", "ANI")
    assert ani["totals"] == {"count": 1, "value": 5_000_000, "weighted_value": 2_000_000}
    month = cli.json("report", "pipeline", "--period", "this-month")  # E was created in October
    assert month["totals"]["count"] == 2
    closed = cli.json("report", "pipeline", "--closed")
    assert by(closed["rows"], "stage")["won"]["count"] == 1  # A; C is inactive now
    assert by(closed["rows"], "stage")["inactive"]["value"] == 4_000_000


def test_funnel_counts_skipped_stages_as_passed(world: Any, cli: Any) -> None:
    rep = cli.json("report", "funnel")
    reached = {r["stage"]: r["reached"] for r in rep["rows"]}
    # furthest: A won, B contacted, C won (via inactive too), D contacted, E negotiation, F new
    assert reached == {"new": 6, "contacted": 5, "nurturing": 3, "qualified": 3,
                       "negotiation": 3, "won": 2}  # fmt: skip
    conv = {r["stage"]: r["conversion_rate"] for r in rep["rows"]}
    assert conv["new"] == pytest.approx(5 / 6)
    assert conv["contacted"] == pytest.approx(3 / 5)
    assert conv["negotiation"] == pytest.approx(2 / 3)
    assert conv["won"] is None
    assert rep["totals"] == {"leads": 6, "open": 3, "won": 2, "lost": 1, "disqualified": 0,
                             "conversion_rate": pytest.approx(2 / 6)}  # fmt: skip
    month = cli.json("report", "funnel", "--period", "2026-11")
    assert [r["reached"] for r in month["rows"]] == [5, 4, 2, 2, 2, 2]
    ani = cli.json("report", "funnel", "--owner", "ani")
    assert [r["reached"] for r in ani["rows"]] == [3, 3, 2, 2, 2, 1]


def test_conversion_by_owner(world: Any, cli: Any) -> None:
    rep = cli.json("report", "conversion", "--by", "owner")
    rows = by(rep["rows"], "owner")
    assert rows["ani"] == {
        "owner": "ani", "leads": 3, "open": 1, "won": 1, "lost": 1, "disqualified": 0,
        "won_value": 1_000_000, "win_rate": 0.5, "close_rate": pytest.approx(1 / 3),
        "average_deal": 1_000_000,
    }  # fmt: skip
    # C is inactive (a churned customer): still a won deal.
    assert rows["budi"]["won"] == 1 and rows["budi"]["won_value"] == 4_000_000
    assert rows["budi"]["win_rate"] == 1.0 and rows["budi"]["close_rate"] == 0.5
    assert rows[None]["leads"] == 1 and rows[None]["win_rate"] is None
    tot = rep["totals"]
    assert (tot["leads"], tot["won"], tot["lost"], tot["won_value"]) == (6, 2, 1, 5_000_000)
    assert tot["win_rate"] == pytest.approx(2 / 3) and tot["average_deal"] == 2_500_000
    month = cli.json("report", "conversion", "--period", "this-month")
    assert by(month["rows"], "owner")["ani"]["leads"] == 2  # E is October's


def test_conversion_by_source_is_case_blind(world: Any, cli: Any) -> None:
    rep = cli.json("report", "conversion", "--by", "source")
    rows = by(rep["rows"], "source")
    assert rows["ads"]["leads"] == 3 and rows["ads"]["won"] == 1
    assert {k.lower(): r["leads"] for k, r in rows.items() if k} == {"ads": 3, "web": 2}


def test_velocity(world: Any, cli: Any) -> None:
    rep = cli.json("report", "velocity")
    tot = rep["totals"]
    assert tot["won"] == 2 and tot["lost"] == 1
    assert tot["average_cycle_days"] == pytest.approx(7.0)  # A 10 days, C 4 days
    assert tot["median_cycle_days"] == pytest.approx(7.0)
    assert tot["win_rate"] == pytest.approx(2 / 3)
    assert tot["average_deal"] == 2_500_000
    assert tot["open_now"] == 3
    # 3 open × 2,500,000 × 2/3 / 7 days
    assert tot["sales_velocity_per_day"] == round(3 * 2_500_000 * (2 / 3) / 7)
    rows = by(rep["rows"], "stage")
    # new: A 1 + B 2 + C 4 + D 1 + E 5 + F 1 (still there, until now) = 14 days / 6 visits
    assert rows["new"]["visits"] == 6 and rows["new"]["total_days"] == pytest.approx(14)
    assert rows["new"]["average_days"] == pytest.approx(14 / 6)
    assert rows["contacted"]["total_days"] == pytest.approx(2 + 4 + 1)
    assert rows["qualified"]["average_days"] == pytest.approx((7 + 12) / 2)
    assert rows["negotiation"]["average_days"] == pytest.approx(21)  # 11-01 → now
    assert rows["negotiation"]["in_stage_now"] == 1
    assert rows["nurturing"]["visits"] == 0 and rows["nurturing"]["average_days"] is None


def test_velocity_median_odd_and_period(world: Any, cli: Any) -> None:
    rep = cli.json("report", "velocity", "--since", "2026-11-13", "--until", "2026-11-30")
    assert rep["totals"]["won"] == 1 and rep["totals"]["median_cycle_days"] == pytest.approx(4)
    assert rep["totals"]["lost"] == 0 and rep["totals"]["win_rate"] == 1.0


def test_stale(world: Any, cli: Any) -> None:
    rep = cli.json("report", "stale")
    rows = by(rep["rows"], "owner")
    # E: untouched since 11-01 in negotiation (rot 10 days), no follow-up.
    assert rows["ani"] == {"owner": "ani", "open": 1, "stale": 1, "no_next_step": 1,
                           "stale_and_no_next_step": 1, "stale_rate": 1.0}  # fmt: skip
    # D has open follow-ups; F only a done one.
    assert rows["budi"]["stale"] == 0 and rows["budi"]["no_next_step"] == 0
    assert rows[None]["no_next_step"] == 1 and rows[None]["stale"] == 0
    assert rep["totals"]["open"] == 3 and rep["totals"]["stale"] == 1
    assert rep["totals"]["no_next_step"] == 2


def test_forecast(world: Any, cli: Any) -> None:
    rep = cli.json("report", "forecast")
    rows = by(rep["rows"], "month")
    assert rows["2026-11"]["won"] == 2 and rows["2026-11"]["won_value"] == 5_000_000
    assert rows["2026-12"]["open"] == 2 and rows["2026-12"]["open_value"] == 8_000_000
    assert rows["2026-12"]["weighted_value"] == 600_000 + 2_000_000
    assert rows["unscheduled"]["open"] == 1 and rows["unscheduled"]["forecast_value"] == 0
    assert rep["totals"]["forecast_value"] == 7_600_000  # lost B left out
    assert "2026-10" not in rows
    dec = cli.json("report", "forecast", "--period", "2026-12")
    assert [r["month"] for r in dec["rows"]] == ["2026-12"]


def test_activity(world: Any, cli: Any) -> None:
    cli("target", "set", "--period", "day", "--metric", "activities", "--value", "5",
        "--owner", "ani")  # fmt: skip
    rep = cli.json("report", "activity", "--period", "this-month")
    rows = by(rep["rows"], "owner")
    assert rows["ani"]["by_kind"] == {"call": 2, "whatsapp": 1, "note": 1, "sale": 2}
    assert rows["ani"]["total"] == 6 and rows["budi"]["total"] == 3
    assert None not in rows and "tester" not in rows  # stage changes are not work
    days = 22  # 1-22 November: today (08:00) counts as a whole day
    assert rep["totals"]["days"] == days
    assert rows["ani"]["per_day"] == pytest.approx(6 / days)
    assert rows["ani"]["daily_target"] == 5
    assert rows["ani"]["daily_target_pct"] == pytest.approx(6 / days / 5)
    week = cli.json("report", "activity")  # default: this week (from Monday 11-16)
    assert {r["owner"]: r["total"] for r in week["rows"]} == {"ani": 1, "budi": 2}
    assert week["totals"]["days"] == 7  # Monday to Sunday the 22nd
    last = cli.json("report", "activity", "--period", "last-month")
    assert last["totals"]["days"] == 31  # a past month: all of its days
    today = cli.json("report", "activity", "--period", "today")
    assert today["totals"]["days"] == 1 and today["totals"]["per_day"] == today["totals"]["total"]


def test_sources_with_costs(world: Any, cli: Any) -> None:
    cli("source", "cost", "ads", "600000", "--month", "2026-11")
    cli("source", "cost", "Web", "1000000", "--month", "2026-10")
    cli("source", "cost", "tv", "100000", "--month", "2026-11")
    costs = cli.json("source", "costs")
    assert [(c["source"], c["month"], c["amount"]) for c in costs] == [
        ("web", "2026-10", 1_000_000), ("ads", "2026-11", 600_000), ("tv", "2026-11", 100_000)
    ]  # fmt: skip
    assert cli("source", "costs", "-f", "csv").stdout.splitlines()[:2] == [
        "source,month,amount,currency", "web,2026-10,1000000,IDR"
    ]  # fmt: skip
    cli("target", "set", "--period", "month", "--metric", "won_value", "--value", "5000000")
    assert cli("target", "list", "-f", "csv").stdout.splitlines() == [
        "id,period,metric,owner,value,created_at", "1,month,won_value,,5000000,2026-11-22T08:00:00Z"
    ]  # fmt: skip
    rep = cli.json("report", "sources", "--period", "this-month")
    rows = by(rep["rows"], "source")
    ads = rows["ads"]
    assert (ads["leads"], ads["won"], ads["won_value"], ads["cost"]) == (2, 1, 1_000_000, 600_000)
    assert ads["cost_per_lead"] == 300_000 and ads["acquisition_cost"] == 600_000
    assert ads["return_on_spend"] == pytest.approx(1_000_000 / 600_000)
    # "web" and "WEB" are one source; October's cost is not November's.
    rows = {(k.lower() if k else k): r for k, r in rows.items()}
    assert rows["web"]["leads"] == 2 and rows["web"]["won"] == 1 and rows["web"]["cost"] is None
    assert rows["tv"]["leads"] == 0 and rows["tv"]["cost_per_lead"] is None
    assert rep["totals"]["cost"] == 700_000
    all_time = {(r["source"] or "").lower(): r for r in cli.json("report", "sources")["rows"]}
    assert all_time["ads"]["qualified"] == 1 and all_time["ads"]["leads"] == 3
    assert all_time["web"]["cost"] == 1_000_000


def test_customers(world: Any, cli: Any) -> None:
    rep = cli.json("report", "customers")
    tot = rep["totals"]
    assert tot["customers_with_sales"] == 2 and tot["sales"] == 4
    assert tot["lifetime_value"] == (2_500_000 + 4_500_000) // 2
    assert tot["repeat_rate"] == 1.0
    assert tot["upsell_rate"] == 0.5 and tot["cross_sell_rate"] == 0.5
    assert tot["churned"] == 1 and tot["customers_at_start"] == 2 and tot["churn_rate"] == 0.5
    assert [(r["product"], r["sales"], r["revenue"]) for r in rep["rows"]] == [
        ("p2", 1, 4_000_000), ("p1", 2, 2_500_000), ("p3", 1, 500_000)
    ]  # fmt: skip
    month = cli.json("report", "customers", "--since", "2026-11-15")
    # Up to now: same lifetime; in the window only A's second sale and C's p3.
    assert month["totals"]["revenue_in_period"] == 2_000_000
    assert month["totals"]["customers_at_start"] == 2 and month["totals"]["churned"] == 1
    early = cli.json("report", "customers", "--until", "2026-11-13")
    assert early["totals"]["customers_with_sales"] == 1  # only A's first sale by then
    assert early["totals"]["repeat_rate"] == 0.0


def test_team_leaderboard(world: Any, cli: Any) -> None:
    rep = cli.json("report", "team")  # this month
    rows = by(rep["rows"], "owner")
    assert [r["owner"] for r in rep["rows"]] == ["budi", "ani", None]
    assert rows["budi"]["rank"] == 1 and rows["budi"]["won_value"] == 4_000_000
    ani = rows["ani"]
    assert (ani["won"], ani["lost"], ani["win_rate"], ani["new_leads"]) == (1, 1, 0.5, 2)
    assert ani["activities"] == 6
    assert ani["first_response_hours"] == pytest.approx((1 + 6) / 2) and ani["responded"] == 2
    assert rows["budi"]["first_response_hours"] == pytest.approx(2)
    assert rows["budi"]["responded"] == 1 and rows["budi"]["new_leads"] == 2
    assert rows[None]["first_response_hours"] is None
    assert rep["totals"]["first_response_hours"] == pytest.approx(3)
    assert rep["totals"]["win_rate"] == pytest.approx(2 / 3)


def test_targets_report(world: Any, cli: Any) -> None:
    cli("target", "set", "--period", "month", "--metric", "won_value", "--value", "10000000")
    cli("target", "set", "--period", "month", "--metric", "won_count", "--value", "2")
    cli("target", "set", "--period", "month", "--metric", "new_leads", "--value", "4",
        "--owner", "ani")  # fmt: skip
    cli("target", "set", "--period", "week", "--metric", "activities", "--value", "10")
    rep = cli.json("report", "targets")
    rows = {(r["period"], r["metric"], r["owner"]): r for r in rep["rows"]}
    wv = rows[("month", "won_value", None)]
    assert wv["actual"] == 5_000_000 and wv["target"] == 10_000_000 and wv["percent"] == 50
    assert wv["expected_by_now"] == round(10_000_000 * MONTH_ELAPSED)
    assert wv["on_track"] is False and wv["window"]["since"] == "2026-11-01T00:00:00Z"
    assert rows[("month", "won_count", None)]["on_track"] is True  # 2 ≥ 1.42
    nl = rows[("month", "new_leads", "ani")]
    assert nl["actual"] == 2 and nl["on_track"] is False  # 2 < 2.84
    act = rows[("week", "activities", None)]
    assert act["actual"] == 3 and act["expected_by_now"] == round(10 * WEEK_ELAPSED)
    assert rep["totals"] == {"targets": 4, "on_track": 1, "reached": 1}
    last = cli.json("report", "targets", "--period", "last-month")
    assert {r["metric"] for r in last["rows"]} == {"won_value", "won_count", "new_leads"}
    assert by(last["rows"], "metric")["new_leads"]["actual"] == 1  # E, in October
    assert by(last["rows"], "metric")["won_value"]["expected_by_now"] == 10_000_000
    mine = cli.json("report", "targets", "--owner", "ani")
    assert [r["metric"] for r in mine["rows"]] == ["new_leads"]


def test_summary_is_the_default_report(world: Any, cli: Any) -> None:
    cli("target", "set", "--period", "month", "--metric", "won_value", "--value", "10000000")
    rep = cli.json("report")
    assert rep["report"] == "summary"
    assert rep["totals"] == {
        "followups_due_today": 2, "followups_overdue": 1, "open_leads": 3,
        "pipeline_value": 8_000_000, "weighted_value": 2_600_000, "new_leads": 5, "won": 2,
        "won_value": 5_000_000, "activities": 9, "stale": 1, "no_next_step": 2,
    }  # fmt: skip
    assert [(r["metric"], r["actual"]) for r in rep["rows"]] == [("won_value", 5_000_000)]
    assert cli.json("report", "summary") == rep
    # Another period: the targets of its unit, measured over it; a month
    # target is never compared with a year or a day of sales.
    cli("target", "set", "--period", "year", "--metric", "won_count", "--value", "20")
    year = cli.json("report", "--period", "2026")
    assert [(r["period"], r["metric"], r["actual"]) for r in year["rows"]] == [
        ("year", "won_count", 2)
    ]
    assert year["rows"][0]["window"]["since"] == "2026-01-01T00:00:00Z"
    assert cli.json("report", "--period", "today")["rows"] == []
    assert cli.json("report", "--since", "2026-11-01", "--until", "2026-11-10")["rows"] == []
    assert [r["period"] for r in cli.json("report", "--period", "last-month")["rows"]] == ["month"]
    r = cli("report", "targets", "--period", "2025-Q1")
    assert "No quarter targets set. Add one: leadctl target set --period quarter" in r.stderr


def test_table_and_csv_output(world: Any, cli: Any) -> None:
    for name in ("pipeline", "funnel", "conversion", "velocity", "stale", "forecast",
                 "activity", "sources", "customers", "team", "targets", "summary"):  # fmt: skip
        out = cli("report", name).stdout
        assert out.strip(), name
        cli("report", name, "--format", "csv")
        cli("report", name, "--format", "jsonl")
    table = cli("report", "pipeline").stdout
    assert "█" in table and "Rp 3.000.000" in table
    csv_out = cli("report", "conversion", "--format", "csv").stdout.splitlines()
    assert csv_out[0].startswith("owner,leads,open,won,lost")


def test_renamed_stages_still_report(world: Any, cli: Any) -> None:
    cli("stages", "rename", "won", "closed-won")
    cli("stages", "rename", "contacted", "reached")
    rep = cli.json("report", "conversion")
    assert rep["totals"]["won"] == 2
    assert [r["stage"] for r in cli.json("report", "funnel")["rows"]][-1] == "closed-won"
    assert cli.json("report", "funnel")["rows"][1]["reached"] == 5


def test_report_errors(cli: Any, conn: Any) -> None:
    r = cli("report", "pipeline", "--period", "someday", ok=False)
    assert r.exit_code == 2 and "Unknown period" in r.stderr
    r = cli("report", "conversion", "--by", "color", ok=False)
    assert r.exit_code == 2 and "Cannot group by" in r.stderr
    r = cli("report", "funnel", "--period", "this-month", "--since", "2026-01-01", ok=False)
    assert r.exit_code == 2
    r = cli("report", "targets", "--since", "2026-01-01", ok=False)
    assert r.exit_code == 2
    r = cli("target", "set", "--period", "fortnight", "--metric", "won_value", "--value", "1",
            ok=False)  # fmt: skip
    assert r.exit_code == 2
    r = cli("target", "remove", "--period", "month", "--metric", "won_value", ok=False)
    assert r.exit_code == 3
    for value in ("99999999999999999999", "1000000000001"):  # was an OverflowError past 2^63
        r = cli("target", "set", "--period", "quarter", "--metric", "qualified", "--value", value,
                ok=False)  # fmt: skip
        assert (
            r.exit_code == 2 and "too large" in r.stderr and "At most 1,000,000,000,000" in r.stderr
        )
    cli("target", "set", "--period", "quarter", "--metric", "qualified", "--value", "1000000000000")
    r = cli("source", "cost", "ads", "100", "--month", "2026-13", ok=False)
    assert r.exit_code == 2


def test_empty_database_reports(cli: Any, conn: Any) -> None:
    for name in ("pipeline", "funnel", "conversion", "velocity", "stale", "forecast",
                 "activity", "sources", "customers", "team", "targets", "summary"):  # fmt: skip
        rep = cli.json("report", name)
        assert rep["report"] == name
    assert cli.json("report", "funnel")["totals"]["leads"] == 0
    assert cli.json("report", "velocity")["totals"]["sales_velocity_per_day"] is None


REPORT_ARGS = [
    ("pipeline",), ("pipeline", "--by", "owner"), ("pipeline", "--by", "product"),
    ("funnel",), ("conversion",), ("conversion", "--by", "source"), ("velocity",), ("stale",),
    ("forecast",), ("activity",), ("sources",), ("sources", "--by", "campaign"), ("customers",),
    ("team",), ("targets",), ("summary",),
]  # fmt: skip


@pytest.mark.parametrize("args", REPORT_ARGS, ids=" ".join)
def test_csv_header_is_the_documented_keys_with_rows_or_without(
    world: Any, cli: Any, args: tuple[str, ...]
) -> None:
    """A script reads the CSV by its header: the same columns (the JSON row
    keys, in their order) whether the report has rows or not."""
    import csv
    import io

    cli("target", "set", "--period", "month", "--metric", "won_value", "--value", "5000000")
    cli("source", "cost", "ads", "600000", "--month", "2026-11")
    rows = cli.json("report", *args, "--period", "this-month")["rows"]
    assert rows, args
    header = next(csv.reader(io.StringIO(cli("report", *args, "--period", "this-month",
                                             "-f", "csv").stdout)))  # fmt: skip
    assert header == list(rows[0]), args  # every row carries the keys in that order
    assert all(list(r) == header for r in rows)
    if args[0] in ("targets", "summary"):  # rows are the targets: none for another owner
        cli("target", "remove", "--period", "month", "--metric", "won_value")
    empty = cli("report", *args, "--period", "2020-01", "--owner", "ani", "-f", "csv").stdout
    if args[0] in ("sources",):  # the month's costs name their sources even without leads
        cli("source", "remove-cost", "ads", "--month", "2026-11")
        empty = cli("report", *args, "--period", "2020-01", "-f", "csv").stdout
    lines = empty.splitlines()
    costs = [] if args[0] != "sources" else ["cost", "cost_per_lead", "acquisition_cost",
                                             "return_on_spend"]  # fmt: skip
    assert next(csv.reader(lines[:1])) == [k for k in header if k not in costs], (args, lines)
