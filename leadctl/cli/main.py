"""The root command: global options, command registration, error translation.

Every LeadctlError ends here as one line, `Error: <sentence>`, on stderr with
its exit code (0 ok, 1 failed, 2 usage, 3 not found). Anything unexpected is
reported the same way, without a traceback (LEADCTL_DEBUG=1 shows it).
"""

import os
import sqlite3
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from leadctl import __version__
from leadctl.cli.failures import INTERRUPTED, describe, unexpected
from leadctl.cli.state import State
from leadctl.errors import EXIT_FAILED, EXIT_USAGE, LeadctlError


class LeadctlGroup(TyperGroup):
    """Root group: translates every error into one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (
            LeadctlError,
            sqlite3.Error,
            KeyboardInterrupt,
            ValueError,
            OSError,
            OverflowError,
        ) as exc:
            described = describe(exc)
            if described is None:
                raise
            _fail(*described)
        finally:
            obj = ctx.obj
            if isinstance(obj, State):
                obj.close()

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from typer._click import exceptions as click_exc

        try:
            rv = super().main(
                args=args, prog_name=prog_name, complete_var=complete_var,
                standalone_mode=False, **extra,
            )  # fmt: skip
        except click_exc.UsageError as exc:
            # One line instead of click's usage block; --help shows the rest.
            cmd = exc.ctx.command_path if exc.ctx is not None else "leadctl"
            msg = exc.format_message().rstrip(".")
            _print_error(f"{msg}. See '{cmd} --help'.")
            return _exit(EXIT_USAGE, standalone_mode)
        except typer.Abort:
            _print_error("Aborted.")
            return _exit(EXIT_FAILED, standalone_mode)
        except click_exc.ClickException as exc:
            _print_error(exc.format_message())
            return _exit(exc.exit_code, standalone_mode)
        except (KeyboardInterrupt, EOFError):
            _print_error(INTERRUPTED)
            return _exit(130, standalone_mode)
        except SystemExit:
            raise
        except Exception as exc:
            if os.environ.get("LEADCTL_DEBUG"):
                raise
            _print_error(unexpected(exc))
            return _exit(EXIT_FAILED, standalone_mode)
        code = rv if isinstance(rv, int) else 0
        return _exit(code, standalone_mode)


def _print_error(text: str) -> None:
    from leadctl.render import error

    error(text)


def _fail(text: str, code: int) -> None:
    _print_error(text)
    raise typer.Exit(code)


def _exit(code: int, standalone: bool) -> Any:
    if standalone:
        sys.exit(code)
    return code


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"leadctl {__version__}\n")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Database file (default: $LEADCTL_DB, else the user data folder)."
        ),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="Time zone for 'today' and shown times, e.g. Asia/Jakarta."),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option("--as", help="Who is acting (default: $LEADCTL_USER, else your login)."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """leadctl: capture, qualify, score, assign and follow up leads; read the reports."""
    ctx.obj = State(db_arg=db, tz_name=tz, actor_arg=actor)
    if tz:
        # A typo in --tz must fail even for commands that show no time.
        _ = ctx.obj.tz


# Which module registers each top-level command. `run()` builds only the
# module a command line needs: Typer inspects every parameter of every
# registered command when it builds the app, which would cost every
# invocation ~1 ms per command. tests/test_help.py keeps this map complete.
COMMAND_MODULES: dict[str, str] = {
    "add": "leads",
    "list": "leads",
    "show": "leads",
    "edit": "leads",
    "delete": "leads",
    "merge": "leads",
    "advance": "pipeline",
    "stages": "pipeline",
    "log": "activity",
    "settings": "settings",
    "db": "db",
    "template": "template",
    "team": "team",
    "assign": "assign",
    "qualify": "qualify",
    "criteria": "qualify",
    "score": "score",
    "followups": "followups",
    "sequence": "sequence",
    "import": "transfer",
    "export": "transfer",
    "report": "report",
    "target": "target",
    "source": "source",
}
MODULE_ORDER = list(dict.fromkeys(COMMAND_MODULES.values()))
# Root options that take a value, so `run()` can find the command word.
_VALUE_OPTIONS = {"--db", "--tz", "--as"}


def make_app(modules: list[str] | None = None) -> typer.Typer:
    """The CLI with the given command modules (all of them by default)."""
    import importlib

    new = typer.Typer(
        cls=LeadctlGroup,
        name="leadctl",
        help="Lead management for small businesses, in one SQLite file.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        rich_markup_mode=None,
    )
    new.callback()(root)
    for name in modules if modules is not None else MODULE_ORDER:
        importlib.import_module(f"leadctl.cli.{name}").register(new)
    return new


def command_word(argv: list[str]) -> str | None:
    """The top-level command in argv, skipping root options; None for root help."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _VALUE_OPTIONS:
            i += 2
            continue
        if arg.startswith("-"):
            if (
                arg in ("-h", "--help")
                or arg.startswith("--install-completion")
                or arg.startswith("--show-completion")
            ):
                return None
            i += 1
            continue
        return arg
    return None


def __getattr__(name: str) -> typer.Typer:
    # `from leadctl.cli.main import app` (tests, docs) gets the full app, built once.
    if name == "app":
        full = make_app()
        globals()["app"] = full
        return full
    raise AttributeError(name)


def run() -> None:
    argv = sys.argv[1:]
    word = command_word(argv)
    module = COMMAND_MODULES.get(word) if word else None
    # Shell completion asks through environment variables: give it everything.
    completing = any(k.startswith("_LEADCTL_COMPLETE") for k in os.environ)
    if completing:
        modules = None
    elif module:
        modules = [module]
    elif word is None and "--version" in argv and not {"-h", "--help"} & set(argv):
        modules = []  # --version answers before any command is needed
    else:
        modules = None
    make_app(modules)()
