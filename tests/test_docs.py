"""The README's examples and the quick start run as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import Cli

ROOT = Path(__file__).resolve().parents[1]


def readme_commands(heading: str) -> list[list[str]]:
    """The `leadctl ...` commands of the first sh block under `## heading`."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {heading}\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, heading
    joined = block.group(1).replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        for part in line.split("&&"):
            words = shlex.split(part, comments=True)
            if words and words[0] == "leadctl":
                commands.append(words[1:])
    return commands


def test_readme_lead_examples_run(cli: Cli) -> None:
    commands = readme_commands("Leads, pipeline and history")
    assert len(commands) > 15
    for args in commands:
        cli(*args)
    shown = cli.json("show", "1")
    assert shown["stage"] == "new" and shown["fields"]["birthday"] == "1990-04-03"
    assert shown["campaign"] == "expo" and shown["email"] == "budi@example.co.id"  # merged 3
    assert cli("show", "3", ok=False).exit_code == 3
    assert "quotation" in [s["name"] for s in cli.json("stages")]


def test_quickstart_script_runs(tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("LEADCTL_DB", None)
    env["TMPDIR"] = str(tmp_path)
    r = subprocess.run(
        ["sh", str(ROOT / "examples" / "quickstart.sh")],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout.strip(), "the quick start printed nothing"
