"""db: where the database is, and its maintenance (backup, restore, check)."""

from typing import Annotated

import typer

from leadctl.cli.common import Format, FormatOpt, state

db_app = typer.Typer(help="The database file: path, backup, restore, check.", no_args_is_help=True)


@db_app.command("path", short_help="Print the database path in use.")
def db_path(ctx: typer.Context) -> None:
    """Print the database path in use (--db, else $LEADCTL_DB, else the default)."""
    typer.echo(str(state(ctx).db_path()))


@db_app.command("backup", short_help="Copy the database to a file, safely while in use.")
def db_backup(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="Backup file to write (created mode 0600).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Copy the database to FILE with SQLite's online backup (safe while others write)."""
    from pathlib import Path

    from leadctl import maintenance
    from leadctl.render import emit_object, message

    st = state(ctx)
    # existing_conn: a typo in a backup's cron line must not back up a new, empty database.
    result = maintenance.backup(
        st.existing_conn, st.db_path(), Path(file).expanduser(), force=force
    )
    if fmt is Format.table:
        message(
            f"Backed up {result.leads} lead(s) to {result.path} "
            f"({result.bytes:,} bytes, schema {result.schema_version})."
        )
    else:
        emit_object(result.to_dict(), fmt.value)


@db_app.command("restore", short_help="Replace the database with a backup.")
def db_restore(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A backup made by `leadctl db backup`.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Replace the database with a backup (the current one is kept as a safety copy)."""
    import sys
    from pathlib import Path

    from leadctl import maintenance
    from leadctl.db import identify
    from leadctl.errors import DatabaseError, NotFoundError, UsageError
    from leadctl.render import emit_object, message

    st = state(ctx)
    source = Path(file).expanduser()
    # Refuse a wrong file before asking anything.
    if not source.exists():
        raise NotFoundError(f"{source} does not exist", "Check the backup file path.")
    ident = identify(source)
    if ident.is_new or not ident.is_leadctl:
        raise DatabaseError(
            f"{source} is not a leadctl database; nothing was restored",
            "Give a file made by `leadctl db backup`.",
        )
    target = st.db_path()
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"Restoring over {target} needs confirmation", "Add --yes.")
        typer.confirm(
            f"Replace {target} with {source}? (the current one is kept as a safety copy)",
            abort=True,
        )
    st.close()
    result = maintenance.restore(target, source, now=st.now)
    if fmt is Format.table:
        kept = (
            f" The previous database is kept as {result.safety_copy}." if result.safety_copy else ""
        )
        message(f"Restored {result.leads} lead(s) from {result.source}.{kept}")
    else:
        emit_object(result.to_dict(), fmt.value)


@db_app.command("check", short_help="Check integrity, foreign keys and schema version.")
def db_check(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """Check integrity, foreign keys, identity and schema version; exit 1 on problems."""
    from leadctl import maintenance
    from leadctl.errors import DatabaseError
    from leadctl.render import emit_object, key_value, message

    st = state(ctx)
    result = maintenance.check(st.db_path())
    if fmt is Format.table:
        key_value(
            [
                ("Database", result.path),
                ("Application id", f"0x{result.application_id:08X}"),
                ("Schema", f"{result.schema_version} (this leadctl: {result.expected_schema_version})"),
                ("Migrations", ", ".join(result.migrations_applied) or "-"),
                ("Journal mode", result.journal_mode),
                ("Size", f"{result.pages} pages of {result.page_size} bytes"),
                ("Integrity", "ok" if result.integrity == ["ok"] else "; ".join(result.integrity[:5])),
                ("Foreign keys", "ok" if not result.foreign_key_violations else f"{len(result.foreign_key_violations)} broken"),
                ("JSON values", "ok" if not result.bad_json else f"{sum(b['rows'] for b in result.bad_json)} not valid"),
            ]
        )  # fmt: skip
        for note in result.notes:
            message(f"Note: {note}.")
    else:
        emit_object(result.to_dict(), fmt.value)
    if not result.ok:
        only_json = len(result.problems) == len(result.bad_json)
        raise DatabaseError(
            f"The database check found problems: {'; '.join(result.problems)}",
            "Those values were changed outside leadctl: set each back to the JSON leadctl"
            " writes there or restore a backup with `leadctl db restore FILE`."
            if only_json
            else "Restore a backup with `leadctl db restore FILE`.",
        )
    if fmt is Format.table:
        message("Database OK.")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
