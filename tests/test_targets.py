"""target set / list / remove, and the values they store."""

from __future__ import annotations

from typing import Any


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
