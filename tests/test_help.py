"""Every command and group has help, and the README lists every top-level command."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from leadctl.cli.main import app
from tests.conftest import Cli


def _walk(cmd, path):  # type: ignore[no-untyped-def]
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _walk(sub, [*path, name])


def test_every_command_has_help(cli: Cli) -> None:
    root = get_command(app)
    seen = 0
    for path, cmd in _walk(root, []):
        assert (cmd.help or "").strip(), f"no help text for {' '.join(path)}"
        r = cli(*path, "--help")
        assert "Usage:" in r.stdout
        seen += 1
    assert seen > 10


def test_readme_mentions_every_command() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in get_command(app).commands:  # type: ignore[attr-defined]
        assert f"leadctl {name}" in readme, f"README does not show `leadctl {name}`"
