"""Learned win probability: naive Bayes by hand, AUC/Brier on known sets, overrides."""

from __future__ import annotations

from typing import Any

import pytest

from leadctl import predict


def add(cli: Any, *args: str) -> int:
    return int(cli("add", *args).stdout.strip())


def close(cli: Any, lead_id: int, won: bool) -> None:
    if won:
        cli("advance", str(lead_id), "--to", "won")
    else:
        cli("advance", str(lead_id), "--to", "lost", "--reason", "no budget")


def make_history(cli: Any) -> dict[str, int]:
    """2 won from ads, 1 lost from ads, 1 lost from web; 2 open leads."""
    ids = {}
    for name, source, won in (("w1", "ads", True), ("w2", "ads", True), ("l1", "ads", False),
                              ("l2", "web", False)):  # fmt: skip
        ids[name] = add(cli, name, "--source", source)
        close(cli, ids[name], won)
    ids["open_ads"] = add(cli, "o1", "--source", "ads")
    ids["open_web"] = add(cli, "o2", "--source", "web")
    return ids


def test_auc_on_a_known_set() -> None:
    # Every won lead above every lost one: 1; reversed: 0.
    assert predict.auc([0.9, 0.8, 0.2], [True, True, False]) == 1.0
    assert predict.auc([0.1, 0.8, 0.9], [True, False, False]) == 0.0
    # By hand: pairs (won, lost) = (0.35,0.1) 1, (0.35,0.4) 0, (0.8,0.1) 1, (0.8,0.4) 1 -> 3/4
    assert predict.auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    # Ties count half: won {0.5, 0.9}, lost {0.5, 0.2}: 0.5 + 1 + 1 + 1 = 3.5 / 4
    assert predict.auc([0.5, 0.5, 0.2, 0.9], [True, False, False, True]) == 0.875
    # All tied: 0.5
    assert predict.auc([0.3] * 4, [True, False, True, False]) == 0.5


def test_brier_on_a_known_set() -> None:
    # ((0.8-1)^2 + (0.3-0)^2 + (0.5-1)^2) / 3 = (0.04 + 0.09 + 0.25) / 3
    assert predict.brier([0.8, 0.3, 0.5], [True, False, True]) == pytest.approx(0.38 / 3)


def test_naive_bayes_matches_the_formula_by_hand(cli: Any) -> None:
    ids = make_history(cli)
    out = cli.json("score", "--train", "--fields", "source")
    assert out["won"] == 2 and out["lost"] == 2 and out["predicted"] == 2
    # source=ads: won 2, lost 1; source=web: won 0, lost 1 (+0.1 each).
    # Totals per field: won 2.1 + 0.1 = 2.2, lost 1.1 + 1.1 = 2.2; prior 2/4 each.
    # ads: S_won = .5 × 2.1/2.2, S_lost = .5 × 1.1/2.2 -> p = 2.1 / 3.2
    # web: S_won = .5 × 0.1/2.2, S_lost = .5 × 1.1/2.2 -> p = 0.1 / 1.2
    ads = cli.json("show", str(ids["open_ads"]))
    web = cli.json("show", str(ids["open_web"]))
    assert ads["probability_auto"] == pytest.approx(100 * 2.1 / 3.2, abs=0.01)
    assert web["probability_auto"] == pytest.approx(100 * 0.1 / 1.2, abs=0.01)
    assert ads["probability"] == ads["probability_auto"]
    # closed leads keep their stage's probability
    assert cli.json("show", str(ids["w1"]))["probability"] == 100


def test_unseen_values_are_skipped(cli: Any) -> None:
    make_history(cli)
    lid = add(cli, "new", "--source", "tiktok")
    cli("score", "--train", "--fields", "source")
    # only the prior (2 won / 2 lost) is left
    assert cli.json("show", str(lid))["probability_auto"] == 50


def test_training_refuses_without_won_or_lost(cli: Any, conn: Any) -> None:
    r = cli("score", "--train", ok=False)
    assert r.exit_code == 2
    assert "at least 1 won and 1 lost" in r.stderr and "has 0 won and 0 lost" in r.stderr
    lid = add(cli, "a")
    close(cli, lid, True)
    r = cli("score", "--train", ok=False)
    assert "has 1 won and 0 lost" in r.stderr
    r = cli("score", "--evaluate", ok=False)
    assert r.exit_code == 2


def test_manual_override_survives_retraining(cli: Any) -> None:
    ids = make_history(cli)
    lid = ids["open_ads"]
    cli("score", "--train", "--fields", "source")
    learned = cli.json("show", str(lid))["probability_auto"]
    out = cli.json("score", str(lid), "--probability", "35%")
    assert out["probability_manual"] == 35 and out["probability"] == 35
    cli("score", "--train", "--fields", "source")
    x = add(cli, "w3", "--source", "web")
    close(cli, x, True)  # the closed set changed: --all retrains
    out = cli.json("score", "--all")
    assert out["trained"] is True
    lead = cli.json("show", str(lid))
    assert lead["probability_manual"] == 35 and lead["probability"] == 35
    assert lead["probability_auto"] != learned  # retrained underneath
    cli("score", str(lid), "--clear-probability")
    lead = cli.json("show", str(lid))
    assert lead["probability_manual"] is None
    assert lead["probability"] == lead["probability_auto"]
    r = cli("score", str(lid), "--probability", "120", ok=False)
    assert r.exit_code == 2


def test_score_all_retrains_only_when_stale(cli: Any) -> None:
    make_history(cli)
    assert cli.json("score", "--all")["trained"] is True  # no model yet
    assert cli.json("score", "--all")["trained"] is False  # nothing closed since


def test_explain_shows_what_pushes_the_probability(cli: Any) -> None:
    ids = make_history(cli)
    cli("score", "--train", "--fields", "source,tags")
    out = cli.json("score", str(ids["open_web"]), "--explain")
    factors = out["prediction"]["factors"]
    assert factors[0]["field"] == "source" and factors[0]["value"] == "web"
    assert factors[0]["weight"] < 0  # web pushes down
    text = cli("score", str(ids["open_web"]), "--explain").stdout
    assert "Learned probability" in text and "down" in text


def test_new_open_lead_gets_a_probability_from_the_model(cli: Any) -> None:
    make_history(cli)
    cli("score", "--train", "--fields", "source")
    lid = add(cli, "later", "--source", "ads")
    assert cli.json("show", str(lid))["probability_auto"] == pytest.approx(65.62, abs=0.01)


def test_unknown_prediction_field(cli: Any) -> None:
    make_history(cli)
    r = cli("score", "--train", "--fields", "colour", ok=False)
    assert r.exit_code == 2 and "field:<name>" in r.stderr


def test_numeric_fields_are_binned(conn: Any) -> None:
    samples = [
        predict.Sample(i, i >= 10, [("field:visits", str(i)), ("source", "ads")]) for i in range(20)
    ]
    model = predict.fit(samples, ["fields", "source"])
    assert "field:visits" in model.bins and "source" not in model.bins
    assert len(model.freq["field:visits"]) <= predict.MAX_BINS
    high = model.probability([("field:visits", "19")])
    low = model.probability([("field:visits", "1")])
    assert high > 80 > 20 > low
    # JSON round trip keeps predictions identical
    again = predict.Model.from_json(model.to_json())
    assert again.probability([("field:visits", "19")]) == high


def test_evaluate_reports_auc_and_brier(cli: Any) -> None:
    # source decides the outcome perfectly: cross-validated AUC is 1
    for i in range(10):
        lid = add(cli, f"g{i}", "--source", "ads" if i % 2 else "web")
        close(cli, lid, won=bool(i % 2))
    out = cli.json("score", "--evaluate", "--folds", "5", "--fields", "source")
    assert out["leads"] == 10 and out["won"] == 5 and out["folds"] == 5
    assert out["auc"] == 1.0
    assert 0 <= out["brier"] < out["brier_baseline"] == 0.25
    assert "AUC" in cli("score", "--evaluate", "--fields", "source").stdout
    r = cli("score", "--evaluate", "--folds", "1", ok=False)
    assert r.exit_code == 2
    r = cli("score", "--evaluate", "--folds", "50", ok=False)
    assert r.exit_code == 2 and "needs at least 50" in r.stderr


def test_a_new_closed_set_with_the_same_id_sums_retrains(cli: Any) -> None:
    """Won {1, 4} -> {2, 3}: plain sums of ids are equal; the model must still
    notice (score --all retrains)."""
    a, b, c, d = (add(cli, n, "--source", s) for n, s in
                  (("A", "ads"), ("B", "web"), ("C", "web"), ("D", "ads")))  # fmt: skip
    e = add(cli, "E", "--source", "web")
    f = add(cli, "F", "--source", "ads")  # open: predicted
    cli("advance", str(a), str(d), "--to", "won")
    close(cli, e, False)
    cli("score", "--train")
    ads_wins = cli.json("show", str(f))["probability_auto"]
    cli("advance", str(a), str(d), "--to", "new", "--reopen")
    cli("advance", str(b), str(c), "--to", "won")
    out = cli.json("score", "--all")
    assert out["trained"] is True
    assert cli.json("show", str(f))["probability_auto"] < ads_wins  # web wins now


def test_a_model_that_can_no_longer_be_trained_is_dropped(cli: Any) -> None:
    """No won lead left: `score --all` falls back to the stage probability, as
    `score --train`'s refusal says, instead of predicting from a model of
    leads that are no longer closed."""
    a = add(cli, "A", "--source", "ads")
    close(cli, a, True)
    close(cli, add(cli, "B", "--source", "web"), False)
    c = add(cli, "C", "--source", "ads")
    cli("score", "--train")
    assert cli.json("show", str(c))["probability_auto"] is not None
    cli("advance", str(a), "--to", "new", "--reopen")
    assert cli.json("score", "--all")["trained"] is False
    for lead in (a, c):
        shown = cli.json("show", str(lead))
        assert shown["probability_auto"] is None and shown["probability"] == 10  # stage 'new'
    r = cli("score", "--train", ok=False)
    assert r.exit_code == 2 and "stage default probability" in r.stderr


def test_renaming_a_stage_changes_no_score_nor_probability(cli: Any) -> None:
    """README: stages are recognised by their kind, so a rename changes
    nothing: the rules on `stage` and the model's `stage_reached` follow."""
    ids = [add(cli, n, "--source", "ads") for n in "ABCDE"]
    cli("score", "rules", "add", "in_nego", "--field", "stage", "--op", "eq",
        "--value", "negotiation", "--points", "10", "--group", "fit")  # fmt: skip
    cli("score", "rules", "add", "late", "--field", "stage", "--op", "in",
        "--value", "qualified, negotiation", "--points", "5", "--group", "fit")  # fmt: skip
    cli("advance", str(ids[0]), str(ids[1]), str(ids[4]), "--to", "negotiation")
    cli("advance", str(ids[2]), "--to", "won")
    close(cli, ids[3], False)
    cli("advance", str(ids[1]), "--to", "won")
    cli("score", "--train", "--fields", "source,stage_reached")
    before = [cli.json("score", str(i)) for i in (ids[0], ids[4])]
    cli("stages", "rename", "negotiation", "proposal")
    rules = {r["name"]: r["value"] for r in cli.json("score", "rules", "list")}
    assert rules["in_nego"] == "proposal" and rules["late"] == "qualified,proposal"
    after = [cli.json("score", str(i)) for i in (ids[0], ids[4])]
    for b, a in zip(before, after, strict=True):
        assert (a["score"], a["probability"]) == (b["score"], b["probability"])
    assert cli.json("score", "--all")["changed"] == 0


def test_evaluate_folds_keep_won_and_lost_to_learn_from(cli: Any) -> None:
    """Won, lost, won, lost by id: a plain i mod 2 split left fold 1 with no
    won lead to learn from; the stratified split keeps both in every fold."""
    for i, won in enumerate((True, False, True, False)):
        close(cli, add(cli, f"L{i}", "--source", "ads" if won else "web"), won)
    for folds in ("2", "3", "4"):
        ev = cli.json("score", "--evaluate", "--folds", folds)
        assert (ev["won"], ev["lost"], ev["folds"]) == (2, 2, int(folds))
        assert ev["auc"] == 1.0  # source tells them apart in every fold


def test_dropping_the_model_counts_the_leads_it_changes(cli: Any) -> None:
    a = add(cli, "A", "--source", "ads")
    close(cli, a, True)
    close(cli, add(cli, "B", "--source", "web"), False)
    add(cli, "C", "--source", "ads")
    add(cli, "D", "--source", "web")
    cli("score", "--train")
    cli("advance", str(a), "--to", "new", "--reopen")
    out = cli.json("score", "--all")
    assert out["trained"] is False and out["predicted"] == 3  # A, C, D: back to the stage's
    assert cli.json("score", "--all")["predicted"] == 0


def test_evaluate_hints_fit_the_cause(cli: Any) -> None:
    close(cli, add(cli, "A"), True)
    close(cli, add(cli, "B"), False)
    r = cli("score", "--evaluate", "--folds", "2", ok=False)
    assert r.exit_code == 2 and "Close more leads." in r.stderr and "fewer" not in r.stderr


def test_explain_shows_a_deal_value_bin_as_money(cli: Any, conn: Any) -> None:
    """The learned bins of the deal value are keys like '>=1.2e+07'; --explain
    gives each factor's range as numbers (JSON) and as money (table)."""
    for i in range(1, 21):  # Rp 1.000.000 ... Rp 20.000.000; the big ones won
        lid = add(cli, f"v{i}", "--value", f"Rp {i}.000.000")
        close(cli, lid, won=i > 10)
    lid = add(cli, "open", "--value", "Rp 13.500.000")
    cli("score", "--train", "--fields", "value")
    edges = predict.load_model(conn).bins["value"]  # type: ignore[union-attr]
    low = max(e for e in edges if e <= 13_500_000)
    below = min((e for e in edges if e > 13_500_000), default=None)
    factors = cli.json("score", str(lid), "--explain")["prediction"]["factors"]
    value = next(f for f in factors if f["field"] == "value")
    assert (value["from"], value["below"]) == (low, below)
    assert value["value"] == predict._bin_label(edges, 13_500_000)  # the model's key, as trained

    def rp(x: float) -> str:
        return "Rp " + f"{int(x):,}".replace(",", ".")

    shown = f"{rp(low)} or more" if below is None else f"{rp(low)} to under {rp(below)}"
    text = cli("--tz", "UTC", "score", str(lid), "--explain").stdout
    assert shown in text and "e+" not in text
