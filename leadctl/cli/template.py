"""template: message templates (add, edit, list, show, remove, reset, render)."""

from enum import Enum
from typing import Annotated, Any

import typer

from leadctl.cli.common import Format, FormatOpt, state

template_app = typer.Typer(
    short_help="Message templates: list, add, edit, render.",
    help="Message templates: product intro, meeting request, thank-you, launch, your own.",
    no_args_is_help=True,
)


class Channel(str, Enum):
    any = "any"
    whatsapp = "whatsapp"
    email = "email"
    sms = "sms"


class LinkChannel(str, Enum):
    whatsapp = "whatsapp"
    email = "email"
    sms = "sms"


ChannelOpt = Annotated[
    Channel | None,
    typer.Option("--channel", "-c", help="Where it is sent: whatsapp, email, sms or any."),
]
SubjectOpt = Annotated[
    str | None,
    typer.Option("--subject", "-s", help="Subject line (e-mail templates need one)."),
]
BodyOpt = Annotated[
    str | None, typer.Option("--body", "-b", help="Message text with {placeholders}.")
]
BodyFileOpt = Annotated[
    str | None,
    typer.Option("--body-file", help="Read the message text from a file ('-' for stdin)."),
]
PLACEHOLDER_HELP = (
    "Placeholders: {name} {first_name} {company} {product} {city} {value} {stage} "
    "{email} {phone} {owner_name} {owner_phone} {owner_email} {today} {field:KEY}; "
    "{{ and }} are literal braces."
)


def _read_body(body: str | None, body_file: str | None) -> str | None:
    from leadctl.errors import UsageError, ValidationError

    if body is not None and body_file is not None:
        raise UsageError("Give either --body or --body-file, not both")
    if body_file is None:
        return body
    import sys
    from pathlib import Path

    try:
        if body_file == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        else:
            data = Path(body_file).read_bytes()
    except OSError as exc:
        raise ValidationError(
            f"Cannot read {body_file}: {exc.strerror or exc}", "Check the --body-file path."
        ) from exc
    if isinstance(data, str):
        return data
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{body_file} is not UTF-8 text", "Save it as UTF-8 and try again."
        ) from exc
    # A file usually ends with a newline that is not part of the message.
    return text.rstrip("\r\n")


def _template_columns() -> list[Any]:
    from leadctl.render import Column

    return [
        Column("name", "Name"),
        Column("channel", "Channel"),
        Column("builtin", "Built-in"),
        Column("subject", "Subject", max_width=40),
        Column("placeholders", "Placeholders", max_width=50),
    ]


def _emit_template(ctx: typer.Context, tpl: Any, fmt: Format) -> None:
    from leadctl.cli.common import fmt_time
    from leadctl.render import emit_object, key_value, safe_text

    if fmt is not Format.table:
        emit_object(tpl.to_dict(), fmt.value)
        return
    d = tpl.to_dict()
    key_value(
        [
            ("Name", d["name"]), ("Channel", d["channel"]), ("Built-in", d["builtin"]),
            ("Subject", d["subject"] or ""), ("Placeholders", d["placeholders"]),
            ("Updated", fmt_time(state(ctx))(d["updated_at"])),
        ]
    )  # fmt: skip
    typer.echo()
    typer.echo(safe_text(d["body"], multiline=True))


@template_app.command("list")
def template_list(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
    """List the templates (JSON carries the body too)."""
    from leadctl import templates
    from leadctl.render import emit_records

    rows = [t.to_dict() for t in templates.list_templates(state(ctx).existing_conn)]
    emit_records(
        rows, _template_columns(), fmt.value, empty="No templates.",
        csv_keys=["name", "channel", "builtin", "subject", "body", "placeholders",
                  "created_at", "updated_at"],
    )  # fmt: skip


@template_app.command("show")
def template_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Show a template: channel, subject, placeholders and the text."""
    from leadctl import templates

    _emit_template(ctx, templates.get_template(state(ctx).existing_conn, name), fmt)


@template_app.command("add", epilog=PLACEHOLDER_HELP)
def template_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="New template name, e.g. price-list.")],
    channel: ChannelOpt = None,
    subject: SubjectOpt = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Add a template. Placeholders are checked when it is saved."""
    from leadctl import templates
    from leadctl.errors import UsageError
    from leadctl.render import message, safe_text

    text = _read_body(body, body_file)
    if text is None:
        raise UsageError(
            "A template needs a text",
            'Give --body "Hi {first_name}, ..." or --body-file PATH (- for stdin).',
        )
    st = state(ctx)
    tpl = templates.add_template(
        st.conn, name, body=text, now=st.now,
        channel=channel.value if channel else "any", subject=subject,
    )  # fmt: skip
    if fmt is Format.table:
        message(f"Template {safe_text(tpl.name)} added.")
    else:
        _emit_template(ctx, tpl, fmt)


@template_app.command("edit", epilog=PLACEHOLDER_HELP)
def template_edit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name.")],
    channel: ChannelOpt = None,
    subject: Annotated[
        str | None, typer.Option("--subject", "-s", help="New subject ('' removes it).")
    ] = None,
    body: BodyOpt = None,
    body_file: BodyFileOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Change a template's channel, subject or text (built-ins too)."""
    from leadctl import templates
    from leadctl.render import message

    text = _read_body(body, body_file)
    st = state(ctx)  # no option: "nothing changed", as `edit` and `team edit` say
    before = templates.get_template(st.conn, name)
    tpl = templates.edit_template(
        st.conn, name, now=st.now, channel=channel.value if channel else None,
        subject=subject, body=text,
    )  # fmt: skip
    if fmt is not Format.table:
        _emit_template(ctx, tpl, fmt)
    elif tpl == before:
        message(f"Template {tpl.name}: nothing changed.")
    else:
        message(f"Template {tpl.name} updated.")


@template_app.command("remove", short_help="Remove a template.")
def template_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name.")],
    force: Annotated[
        bool, typer.Option("--force", help="Remove even if a sequence or follow-up uses it.")
    ] = False,
) -> None:
    """Remove a template (a built-in comes back with `template reset NAME`)."""
    from leadctl import templates
    from leadctl.render import message

    tpl = templates.remove_template(state(ctx).conn, name, force=force)
    extra = f" Bring it back with `leadctl template reset {tpl.name}`." if tpl.builtin else ""
    message(f"Template {tpl.name} removed.{extra}")


@template_app.command("reset", short_help="Restore the built-in templates' text.")
def template_reset(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None, typer.Argument(help="Built-in template names (default: all).")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Restore built-in templates to the text leadctl ships (re-adds removed ones)."""
    from leadctl import templates
    from leadctl.render import emit_records, message

    st = state(ctx)
    restored = templates.reset_templates(st.conn, names or None, now=st.now)
    if fmt is Format.table:
        message(f"Restored: {', '.join(t.name for t in restored)}.")
    else:
        emit_records([t.to_dict() for t in restored], _template_columns(), fmt.value)


@template_app.command("render", short_help="Fill a template for a lead, with its wa.me link.")
def template_render(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name.")],
    lead_id: Annotated[int, typer.Argument(help="Lead id.", metavar="ID")],
    channel: Annotated[
        LinkChannel | None,
        typer.Option(
            "--channel",
            "-c",
            help="Link for this channel (default: the template's; for 'any', WhatsApp if "
            "the lead has a phone, else e-mail).",
        ),
    ] = None,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Fill missing values with nothing.")
    ] = False,
    log: Annotated[
        bool, typer.Option("--log", help="Record a 'message sent' activity on the lead.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fill a template for a lead and print the message and its wa.me / mailto link."""
    from leadctl import templates
    from leadctl.render import emit_object, message, safe_text

    st = state(ctx)
    _ = st.existing_conn  # the database's time zone setting applies to {today}
    r = templates.render(
        st.conn, name, lead_id, now=st.now, tz=st.tz,
        channel=channel.value if channel else None, allow_empty=allow_empty,
    )  # fmt: skip
    if r.do_not_contact:
        message(f"Warning: lead {lead_id} is marked do-not-contact.")
    if fmt is not Format.table:
        emit_object(r.to_dict(), fmt.value)
    else:
        if r.subject and r.channel in ("email", "any"):
            typer.echo("Subject: " + safe_text(r.subject))
            typer.echo()
        typer.echo(safe_text(r.body, multiline=True))
        if r.link:
            typer.echo()
            typer.echo(safe_text(r.link))
    if log:
        activity_id = templates.record_sent(st.conn, r, now=st.now, actor=st.actor)
        message(f"Logged message_sent on lead {lead_id} (activity {activity_id}).")


def register(app: typer.Typer) -> None:
    app.add_typer(template_app, name="template")
