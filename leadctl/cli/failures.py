"""What a failed command says: one line and an exit code for every error.

Shared by the Typer root group (`leadctl.cli.main.LeadctlGroup`) and the
fast path in `leadctl.cli.launch`, so both say exactly the same thing. No
typer here: the fast path must not import it.
"""

import errno
import sqlite3
import sys

from leadctl.errors import EXIT_FAILED, EXIT_USAGE, LeadctlError

INTERRUPTED = "Interrupted; nothing half-written was kept."


BAD_JSON = (
    "The database holds a value that is not the JSON leadctl wrote (changed outside"
    " leadctl?); the failed step changed nothing. Run `leadctl db check` to find it."
)


def sqlite_message(exc: sqlite3.Error) -> str:
    text = str(exc)
    if text == "malformed JSON":  # SQLite's JSON functions, not a damaged file
        return BAD_JSON
    if "locked" in text or "busy" in text:
        return "The database is busy (another leadctl is writing); try again in a moment."
    if "readonly" in text or "read-only" in text:
        return "The database is read-only; check the file's and its folder's permissions."
    if "disk is full" in text or "database or disk is full" in text:
        return "The disk is full; nothing was changed. Free some space and try again."
    if "malformed" in text or "not a database" in text:
        return (
            "The database file is damaged; nothing was changed. Run `leadctl db check`, "
            "then restore a backup with `leadctl db restore FILE`."
        )
    if "unable to open" in text:
        return "Cannot open the database file; check that its folder exists and is writable."
    return f"Database error: {text}."


def describe(exc: BaseException) -> tuple[str, int] | None:
    """(message, exit code) for an error a command raised; None for those the
    caller must let through (exits, a closed pipe, unexpected bugs)."""
    if isinstance(exc, LeadctlError):
        return str(exc), exc.exit_code
    if isinstance(exc, sqlite3.Error):
        return sqlite_message(exc), EXIT_FAILED
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, 130
    json = sys.modules.get("json")  # not imported: nothing raised its error (start-up stays light)
    if json is not None and isinstance(exc, json.JSONDecodeError):
        return BAD_JSON, EXIT_FAILED  # a JSON column read back: leadctl writes valid JSON
    if isinstance(exc, OverflowError):
        # A typed number SQLite cannot hold (an id, a count, a --limit).
        return (
            "A number given is too large (at most 9223372036854775807); nothing was changed.",
            EXIT_USAGE,
        )
    if isinstance(exc, UnicodeError):
        # Arguments that are not valid UTF-8 reach Python as lone surrogates,
        # which SQLite cannot store.
        return (
            "The input contains bytes that are not valid UTF-8 text; nothing was changed. "
            "Re-type it or convert the file to UTF-8.",
            EXIT_USAGE,
        )
    if isinstance(exc, OSError):
        if exc.errno == errno.EPIPE:
            return None
        if exc.errno == errno.ENOSPC:
            return "The disk is full; nothing was changed. Free some space and try again.", 1
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}.", EXIT_FAILED
    return None


def unexpected(exc: BaseException) -> str:
    return (
        f"Unexpected internal error ({type(exc).__name__}); nothing was changed by "
        "the failed step. Rerun with LEADCTL_DEBUG=1 and report it."
    )
