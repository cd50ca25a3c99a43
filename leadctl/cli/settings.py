"""settings: per-database currency, phone region, time zone."""

from typing import Annotated

import typer

from leadctl.cli.common import Format, FormatOpt, state

settings_app = typer.Typer(
    help="Per-database settings (currency, phone region, time zone).",
    invoke_without_command=True,
)


@settings_app.callback()
def settings_main(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """Show the settings."""
    if ctx.invoked_subcommand is None:
        from leadctl.render import Column, emit_records
        from leadctl.settings import list_settings

        emit_records(
            list_settings(state(ctx).existing_conn),
            [Column("key", "Setting"), Column("value", "Value"), Column("help", "Meaning")],
            fmt.value,
        )


@settings_app.command("set")
def settings_set(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Setting name (see `leadctl settings`).")],
    value: Annotated[str, typer.Argument(help="New value.")],
) -> None:
    """Change a setting, e.g. `leadctl settings set currency USD`."""
    from leadctl.render import message
    from leadctl.settings import update_setting

    new = update_setting(state(ctx).conn, key, value)
    if new is None:
        shown = "local" if key.strip().lower() == "timezone" else "default"
    elif isinstance(new, dict):
        shown = ", ".join(f"{k}={v:g}" for k, v in new.items())
    else:
        shown = str(new)
    message(f"{key} = {shown}")


def register(app: typer.Typer) -> None:
    app.add_typer(settings_app, name="settings")
