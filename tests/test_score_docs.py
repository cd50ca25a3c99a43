"""The README's qualify, score and win-probability examples run as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.test_docs import readme_commands


def test_readme_qualify_and_score_examples_run(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # `score rules export rules.toml` writes here
    cli("add", "Budi", "--phone", "0812-3456-7890", "--field", "visits=12")
    qualify = readme_commands("Qualify")
    assert len(qualify) >= 8
    for args in qualify:
        cli(*args)
    assert cli.json("show", "1")["qualified"] is True
    score = readme_commands("Score (rules, explained)")
    assert len(score) >= 10
    for args in score:
        cli(*args)
    assert (tmp_path / "rules.toml").exists()
    for i in range(12):
        lid = cli("add", f"Closed {i}", "--source", "ads" if i % 2 else "web").stdout.strip()
        if i % 2:
            cli("advance", lid, "--to", "won")
        else:
            cli("advance", lid, "--to", "lost", "--reason", "price")
    learned = readme_commands("Win probability (learned)")
    assert len(learned) >= 5
    for args in learned:
        cli(*args)
    lead = cli.json("show", "1")
    assert lead["probability_manual"] is None and lead["probability_auto"] is not None
