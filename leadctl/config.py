"""Where the database lives: --db beats LEADCTL_DB beats the platform data folder.

The CLI passes the environment in; the core never reads os.environ itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_DB = "LEADCTL_DB"


def default_db_path() -> Path:
    # platformdirs is imported here, not at start-up: --db and LEADCTL_DB skip it.
    import platformdirs

    return Path(platformdirs.user_data_path("leadctl")) / "leads.db"


def resolve_db_path(arg: str | None, env: Mapping[str, str]) -> tuple[Path, bool]:
    """(path, is_default). The default folder is created on first use; a folder
    named explicitly must exist (a typo should not create stray folders).
    An empty --db (a script's unset variable) is an error, not the default;
    an empty LEADCTL_DB is unset, as the shell treats it."""
    if arg is not None and not arg.strip():
        from leadctl.errors import UsageError

        raise UsageError(
            "--db is empty", "Give a database file, or leave --db out for the default."
        )
    if arg:
        return Path(arg).expanduser(), False
    if env.get(ENV_DB):
        return Path(env[ENV_DB]).expanduser(), False
    return default_db_path(), True


def ensure_default_folder(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
