"""Shared fixtures. No test can reach a real user database: LEADCTL_DB always
points into a temp dir, the clock is fixed and output is plain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import typer.testing
from hypothesis import settings
from typer.testing import CliRunner

from leadctl.cli.main import app
from leadctl.db import open_db

# Typer's CliRunner rebuilds the whole command tree on every invoke (~0.2 s
# with every group registered); the tree is immutable, so build it once.
_built: dict[int, Any] = {}
_build = typer.testing._get_command


def _get_command_once(typer_app: Any) -> Any:
    key = id(typer_app)
    if key not in _built:
        _built[key] = _build(typer_app)
    return _built[key]


typer.testing._get_command = _get_command_once  # type: ignore[assignment]

# No per-example deadline: a loaded CI machine makes timings flaky, and
# speed is measured by the benchmarks, never by tests.
settings.register_profile("leadctl", deadline=None)
settings.load_profile("leadctl")

# The fixed "now" of the whole test suite: Sunday 2026-11-22 08:00 UTC.
NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)
NOW_ISO = "2026-11-22T08:00:00Z"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LEADCTL_DB", str(tmp_path / "test.db"))
    monkeypatch.setenv("LEADCTL_NOW", NOW_ISO)
    monkeypatch.setenv("LEADCTL_TZ", "UTC")
    monkeypatch.setenv("LEADCTL_USER", "tester")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    # If anything still asked platformdirs, it would land here, not in $HOME.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("LEADCTL_DEBUG", raising=False)
    # The CLI turns on scoring in worker processes; a test turns it on itself.
    from leadctl import scoring

    monkeypatch.setattr(scoring, "WORKERS", False)
    yield


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.db"


@pytest.fixture
def conn(db_path: Path) -> Any:
    c = open_db(db_path)
    yield c
    c.close()


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli:
    """Runs leadctl in-process, like a user at a shell."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, ok: bool = True) -> Result:
        r = self.runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
        result = Result(r.exit_code, r.stdout, r.stderr)
        if ok and r.exit_code != 0:
            raise AssertionError(
                f"leadctl {' '.join(map(str, args))} exited {r.exit_code}\n"
                f"stdout: {r.stdout}\nstderr: {r.stderr}"
            )
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return self(*args, "--format", "json", input=input).json()


@pytest.fixture
def cli() -> Cli:
    return Cli()
