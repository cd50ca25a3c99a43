"""One error family. The CLI turns each into `Error: <sentence>` and its exit code.

Exit codes (documented in the README, a contract for scripts):
    0 ok, 1 failed, 2 usage error / invalid input, 3 not found.
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3


class LeadctlError(Exception):
    """Base of every error a user may see. `str(err)` is one full sentence."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message.rstrip('.')}. {self.hint}"
        return self.message


class ValidationError(LeadctlError):
    """A value the user typed (or a row field) is not acceptable."""

    exit_code = EXIT_USAGE


class UsageError(LeadctlError):
    """Options that do not go together, or a missing required choice."""

    exit_code = EXIT_USAGE


class NotFoundError(LeadctlError):
    """An id, stage, member, template ... that does not exist."""

    exit_code = EXIT_NOT_FOUND


class ConflictError(LeadctlError):
    """The change would break a rule: a duplicate lead, a forbidden stage move."""

    exit_code = EXIT_FAILED


class DatabaseError(LeadctlError):
    """The database file cannot be used: not ours, too new, read-only, full."""

    exit_code = EXIT_FAILED


def stored_json(text: str | None, kind: type, what: str, empty: object, texts: bool = False) -> Any:
    """A JSON column read back: `empty` for NULL or '', else the parsed value,
    which must be a `kind` (list or dict; with `texts`, a list of texts). A value
    changed outside leadctl that is not raises a DatabaseError naming `what`
    (e.g. "lead 7's tags")."""
    if not text:
        return empty
    import json

    try:
        value: Any = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    if texts and isinstance(value, list) and not all(isinstance(t, str) for t in value):
        raise bad_stored_json(what)
    if not isinstance(value, kind):
        raise bad_stored_json(what)
    return value


def bad_stored_json(what: str) -> DatabaseError:
    """The error for a JSON column value leadctl did not write (see stored_json)."""
    return DatabaseError(
        f"The database holds a value that is not the JSON leadctl wrote ({what};"
        " changed outside leadctl?); the failed step changed nothing",
        "Run `leadctl db check` to find every such value.",
    )


def rebuilt_error(module: str, name: str, message: str, hint: str | None) -> Exception:
    """An exception a worker process reported as (module, class name, message,
    hint), as its parent raises it: leadctl's errors, SQLite's and Python's
    built-in ones keep their class (so their exit code and sentence),
    anything else becomes a RuntimeError naming it."""
    import builtins
    import sqlite3
    import sys

    space = {"sqlite3": sqlite3, "builtins": builtins, __name__: sys.modules[__name__]}.get(module)
    cls = getattr(space, name, None) if space is not None else None
    if isinstance(cls, type) and issubclass(cls, LeadctlError):
        return cls(message, hint)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(message)
    if (module, name) == ("json.decoder", "JSONDecodeError"):  # a JSON column read back
        import json

        return json.JSONDecodeError(message, "", 0)
    return RuntimeError(f"{name}: {message}")
