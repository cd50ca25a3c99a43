"""target set / list / remove, and the values they store."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadctl import costs, targets
from leadctl.errors import ValidationError


def test_set_list_replace_remove(cli: Any) -> None:
    t = cli.json("target", "set", "--period", "month", "--metric", "won_value",
                 "--value", "500000000")  # fmt: skip
    assert {k: t[k] for k in ("period", "metric", "owner", "value")} == {
        "period": "month", "metric": "won_value", "owner": None, "value": 500_000_000
    }  # fmt: skip
    cli("target", "set", "--period", "month", "--metric", "won_value", "--value", "600jt")
    cli("target", "set", "-p", "weekly", "-m", "activities", "-v", "40", "--owner", "Ani")
    rows = cli.json("target", "list")
    assert [(r["period"], r["metric"], r["owner"], r["value"]) for r in rows] == [
        ("week", "activities", "ani", 40), ("month", "won_value", None, 600_000_000)
    ]  # fmt: skip
    assert [r["metric"] for r in cli.json("target", "list", "--owner", "ani")] == ["activities"]
    cli("target", "remove", "--period", "week", "--metric", "activities", "--owner", "ani")
    assert len(cli.json("target", "list")) == 1
    assert "won_value" in cli("target", "list").stdout
    # Only the team's target left: a member's listing says whose are missing.
    cli("team", "add", "ani")
    for argv in (["target", "list"], ["report", "targets"]):
        r = cli(*argv, "--owner", "Ani")
        assert "No targets for Ani." in r.stderr
    assert cli.json("target", "list", "--owner", "ani") == []
    assert cli.json("report", "targets", "--owner", "ani")["rows"] == []


def test_bad_values(cli: Any) -> None:
    r = cli("target", "set", "--period", "month", "--metric", "smiles", "--value", "1", ok=False)
    assert r.exit_code == 2 and "new_leads" in r.stderr
    r = cli("target", "set", "--period", "month", "--metric", "new_leads", "--value", "lots",
            ok=False)  # fmt: skip
    assert r.exit_code == 2
    r = cli("target", "set", "--period", "month", "--metric", "new_leads", "--value", "-3",
            ok=False)  # fmt: skip
    assert r.exit_code == 2


def test_source_costs(cli: Any) -> None:
    c = cli.json("source", "cost", "Ads", "5000000", "--month", "2026-11")
    assert c == {"source": "ads", "month": "2026-11", "amount": 5_000_000, "currency": "IDR"}
    cli("source", "cost", "ads", "6jt", "--month", "2026-11")
    cli("source", "cost", "ads", "1000000")  # this month (2026-11 in the tests) again
    cli("source", "cost", "ads", "2000000", "--month", "last-month")
    rows = cli.json("source", "costs")
    assert [(r["month"], r["amount"]) for r in rows] == [("2026-10", 2_000_000),
                                                         ("2026-11", 1_000_000)]  # fmt: skip
    assert len(cli.json("source", "costs", "--month", "2026-10")) == 1
    cli("source", "remove-cost", "ads", "--month", "2026-10")
    assert len(cli.json("source", "costs")) == 1
    assert cli("source", "remove-cost", "ads", "--month", "2026-10", ok=False).exit_code == 3


# ---- parsers ------------------------------------------------------------------

NOW = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)
UTC = ZoneInfo("UTC")


def test_parse_month_words() -> None:
    assert costs.parse_month(None, NOW, UTC) == "2026-01"
    assert costs.parse_month("last-month", NOW, UTC) == "2025-12"
    assert costs.parse_month("2026-3", NOW, UTC) == "2026-03"
    with pytest.raises(ValidationError):
        costs.parse_month("2026-00", NOW, UTC)


@given(st.text(max_size=20))
def test_parse_month_only_validation_errors_and_idempotent(text: str) -> None:
    try:
        month = costs.parse_month(text, NOW, UTC)
    except ValidationError:
        return
    assert costs.parse_month(month, NOW, UTC) == month


@given(st.text(max_size=20), st.sampled_from(targets.METRICS))
def test_target_value_only_validation_errors(text: str, metric: str) -> None:
    try:
        value = targets.parse_value(metric, text, "IDR")
    except ValidationError:
        return
    assert value >= 0
    assert targets.parse_value(metric, str(value), "IDR") == value


@given(st.text(max_size=20))
def test_metric_and_unit_names(text: str) -> None:
    for check in (targets.check_metric, targets.check_unit):
        try:
            name = check(text)
        except ValidationError:
            continue
        assert check(name) == name


def test_on_track_agrees_with_the_expected_value_shown(cli: Any, monkeypatch: Any) -> None:
    """Monday 01:00 UTC: 3 new leads a week pro rata is 0.02 by now, shown as 0;
    an actual of 0 is then on track, as the two numbers say."""
    monkeypatch.setenv("LEADCTL_NOW", "2026-11-23T01:00:00Z")
    cli("target", "set", "--period", "week", "--metric", "new_leads", "--value", "3")
    row = cli.json("report", "targets")["rows"][0]
    assert (row["actual"], row["expected_by_now"], row["on_track"]) == (0, 0, True)
    monkeypatch.setenv("LEADCTL_NOW", "2026-11-26T12:00:00Z")  # half the week: 1.5 -> 2
    row = cli.json("report", "targets")["rows"][0]
    assert (row["actual"], row["expected_by_now"], row["on_track"]) == (0, 2, False)


def test_money_targets_read_as_money_in_tables(cli: Any, conn: Any) -> None:
    """JSON keeps minor units (documented); people see USD 1,000,000.00, not 100000000."""
    cli("settings", "set", "currency", "USD")
    r = cli("target", "set", "-p", "month", "-m", "won_value", "-v", "1,000,000")
    assert "won_value per month = USD 1,000,000.00 for the team" in r.stderr
    cli("target", "set", "-p", "week", "-m", "activities", "-v", "1500")
    table = cli("target", "list").stdout
    assert "USD 1,000,000.00" in table and "100000000" not in table and "1,500" in table
    assert [t["value"] for t in cli.json("target", "list")] == [1500, 100_000_000]
