"""db: where the database is, and its maintenance."""

import typer

from leadctl.cli.common import state

db_app = typer.Typer(help="The database file: path, backup, restore, check.", no_args_is_help=True)


@db_app.command("path")
def db_path(ctx: typer.Context) -> None:
    """Print the database path in use (--db, else $LEADCTL_DB, else the default)."""
    typer.echo(str(state(ctx).db_path()))


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
