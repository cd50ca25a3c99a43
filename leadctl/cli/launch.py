"""The `leadctl` program: answers the morning command at once, Typer does the rest.

`leadctl followups` is what cron runs every morning and what people type
most. Importing Typer (and its bundled click) costs ~85 ms, more than the
whole listing, so the forms of that command with nothing to parse but a few
values go straight to `leadctl.cli.today.show`, the function the Typer
command itself calls:

    leadctl [--db P] [--tz Z] [--as U] followups [--owner O] [--tz Z] [--format F]

(each option at most once, `--opt value` or `--opt=value`; F one of table,
json, jsonl, csv, ics; `-f` for `--format`). Any other command line, help,
shell completion, or anything this grammar does not know, goes to the Typer
app, which parses it and reports errors as always. Errors on the fast path
are the same lines and exit codes (`leadctl.cli.failures`);
tests/test_launch.py checks that both paths print the same on many command
lines.
"""

import os
import sys

_ROOT_OPTIONS = {"--db": "db", "--tz": "root_tz", "--as": "actor"}
_FOLLOWUPS_OPTIONS = {"--owner": "owner", "--tz": "tz", "--format": "fmt", "-f": "fmt"}
_FORMATS = ("table", "json", "jsonl", "csv", "ics")


def _take_options(
    argv: list[str], i: int, names: dict[str, str], out: dict[str, str]
) -> int | None:
    """Read `--opt value` / `--opt=value` pairs from argv[i:] into out; the
    index of the first other word, or None for anything not understood."""
    while i < len(argv) and argv[i].startswith("-"):
        arg = argv[i]
        if "=" in arg and arg.startswith("--"):
            name, value = arg.split("=", 1)
            step = 1
        else:
            if i + 1 >= len(argv):
                return None
            name, value, step = arg, argv[i + 1], 2
        key = names.get(name)
        if key is None or key in out or value.startswith("-"):
            return None
        out[key] = value
        i += step
    return i


def followups_args(argv: list[str]) -> dict[str, str] | None:
    """The options of a `followups` listing the fast path can run, else None."""
    found: dict[str, str] = {}
    i = _take_options(argv, 0, _ROOT_OPTIONS, found)
    if i is None or i >= len(argv) or argv[i] != "followups":
        return None
    sub: dict[str, str] = {}
    end = _take_options(argv, i + 1, _FOLLOWUPS_OPTIONS, sub)
    if end is None or end != len(argv) or sub.get("fmt", "table") not in _FORMATS:
        return None
    return found | sub


def run_followups(options: dict[str, str]) -> int:
    """`leadctl followups` without Typer: the listing, or one error line."""
    from leadctl.cli.failures import describe, unexpected
    from leadctl.cli.state import State
    from leadctl.cli.today import show

    root_tz = options.get("root_tz")
    st = State(db_arg=options.get("db"), tz_name=root_tz, actor_arg=options.get("actor"))
    try:
        if root_tz:
            _ = st.tz  # a typo in --tz fails even before the database opens
        if options.get("tz"):
            st.tz_name = options["tz"]
            st._tz = None
        show(st, owner=options.get("owner"), fmt=options.get("fmt", "table"))
        sys.stdout.flush()
        return 0
    except (Exception, KeyboardInterrupt) as exc:
        described = describe(exc)
        if described is None:
            if isinstance(exc, BrokenPipeError):
                # The reader went away (`| head`): stop quietly, as click does.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 1
            if os.environ.get("LEADCTL_DEBUG"):
                raise
            described = unexpected(exc), 1
        from leadctl.render import error

        error(described[0])
        return described[1]
    finally:
        st.close()


def run() -> None:
    try:
        argv = sys.argv[1:]
        completing = any(k.startswith("_LEADCTL_COMPLETE") for k in os.environ)
        options = None if completing else followups_args(argv)
        if options is not None:
            sys.exit(run_followups(options))
        from leadctl.cli.main import run as run_typer

        run_typer()
    except KeyboardInterrupt:
        # Ctrl-C before a command ran (Python starting, the app being built):
        # nothing was written; one line, as for Ctrl-C inside a command.
        from leadctl.cli.failures import INTERRUPTED
        from leadctl.render import error

        error(INTERRUPTED)
        sys.exit(130)
