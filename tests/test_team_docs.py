"""The README's team and assignment examples run as written."""

from tests.conftest import Cli
from tests.test_docs import readme_commands


def test_readme_team_examples_run(cli: Cli) -> None:
    for i in range(13):
        cli("add", f"Lead {i}", "--product", "Paket Premium", "--city", "Jakarta",
            "--segment", "retail", "--source", "whatsapp")  # fmt: skip
    commands = readme_commands("Team and assignment")
    assert len(commands) > 10
    for args in commands:
        cli(*args)
    ani = cli.json("team", "show", "ani")
    assert ani["active"] is True and ani["capacity"] == 50
    assert ani["filters"] == {
        "product": ["Paket Premium"],
        "segment": ["retail"],
        "city": ["Jakarta"],
    }
    assert all(lead["owner"] for lead in cli.json("list", "--open"))
