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


def test_command_lists_never_cut_a_summary() -> None:
    """A group's list of commands shows each one's summary whole. Click cuts a
    first sentence longer than the line allows with "...": on an 80-column
    terminal the help is 78 wide, and a summary gets what the longest
    command name and the indents leave (Group.format_commands)."""
    root = get_command(app)
    groups = 0
    for path, cmd in _walk(root, []):
        subs = getattr(cmd, "commands", None)
        if not subs:
            continue
        groups += 1
        limit = 78 - 6 - max(map(len, subs))
        cut = [n for n, sub in subs.items() if sub.get_short_help_str(limit).endswith("...")]
        assert not cut, f"leadctl {' '.join(path)} --help cuts the summary of {cut}"
    assert groups > 10


def test_readme_mentions_every_command() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in get_command(app).commands:  # type: ignore[attr-defined]
        assert f"leadctl {name}" in readme, f"README does not show `leadctl {name}`"


def test_command_map_matches_what_modules_register() -> None:
    from leadctl.cli.main import COMMAND_MODULES, MODULE_ORDER, make_app

    for module in MODULE_ORDER:
        registered = set(get_command(make_app([module])).commands)  # type: ignore[attr-defined]
        mapped = {cmd for cmd, mod in COMMAND_MODULES.items() if mod == module}
        assert registered == mapped, module
    every = set(get_command(make_app()).commands)  # type: ignore[attr-defined]
    assert every == set(COMMAND_MODULES)


def test_command_word_skips_root_options() -> None:
    from leadctl.cli.main import command_word

    assert command_word(["--db", "x.db", "--tz", "UTC", "list", "--limit", "2"]) == "list"
    assert command_word(["--as", "ani", "log", "1"]) == "log"
    assert command_word(["--help"]) is None
    assert command_word([]) is None
    assert command_word(["--version"]) is None


def test_cli_modules_keep_annotations_evaluated() -> None:
    # `from __future__ import annotations` makes Typer eval() every annotation
    # string at start-up (~100 ms): CLI modules must not use it.
    cli_dir = Path(__file__).resolve().parents[1] / "leadctl" / "cli"
    for path in cli_dir.glob("*.py"):
        assert "from __future__ import annotations" not in path.read_text(), path.name
