"""The README's report examples run as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Reports\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block
    return [shlex.split(line, comments=True)[1:] for line in block.group(1).splitlines()
            if line.startswith("leadctl ")]  # fmt: skip


def test_readme_report_examples_run(cli: Any) -> None:
    commands = _commands()
    assert len(commands) >= 18
    cli("add", "Budi", "--owner", "ani", "--value", "15000000", "--source", "ads")
    for args in commands:
        cli(*args)
    assert cli.json("source", "costs") == []
    assert [t["metric"] for t in cli.json("target", "list")] == ["won_value"]
