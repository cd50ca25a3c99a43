"""Message templates: store them, fill their placeholders from a lead, build links.

A template is plain text with `{placeholder}` fields and `{{` / `}}` for
literal braces. It is read by a small parser of our own, never by
`str.format`: format strings can reach attributes and indexes
(`{name.__class__}`), and a user's template must never do that. Lead values
are pasted in as-is and never parsed again, so a lead called `{company}` stays
`{company}`.

Links put the message in a URL: WhatsApp `https://wa.me/<digits>?text=...`,
`mailto:` per RFC 6068 (percent-encoding with `%20`, CRLF line breaks) and
`sms:` per RFC 5724. Everything that is not unreserved is percent-encoded,
control characters included, so lead text cannot break out of the link.
"""

from __future__ import annotations

import re
import shlex
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import quote

from leadctl.dates import to_store
from leadctl.db import transaction
from leadctl.errors import ConflictError, NotFoundError, UsageError, ValidationError
from leadctl.models import Lead
from leadctl.normalize import FIELD_KEY_RE

CHANNELS = ("any", "whatsapp", "email", "sms")
# What a link can be built for (`any` is resolved to one of these).
LINK_CHANNELS = ("whatsapp", "email", "sms")
# Where a rendered message has a subject: e-mail, and `any` when the lead
# has neither phone nor e-mail (no link; the subject is shown with the text).
SUBJECT_CHANNELS = ("email", "any")
PLACEHOLDERS = (
    "name", "first_name", "company", "product", "city", "value", "stage", "email", "phone",
    "owner_name", "owner_phone", "owner_email", "today",
)  # fmt: skip
FIELD_PREFIX = "field:"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Same rule as custom field names (`normalize.parse_field`).
# Control characters a template may not contain (tab and newline are fine).
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MAX_BODY = 20_000
MAX_SUBJECT = 500
_SHOWN_MAX = 40


def valid_placeholders() -> str:
    return ", ".join("{" + p + "}" for p in PLACEHOLDERS) + ", {field:KEY}"


# --- the placeholder parser -------------------------------------------------


@dataclass(frozen=True)
class Placeholder:
    """A `{key}` in a template; key is a PLACEHOLDERS name or 'field:KEY'."""

    key: str


Part = str | Placeholder


def _shown(text: str) -> str:
    """A piece of template text for an error message: short, one line."""
    text = text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"
    return text.replace("\n", " ")


def _check_key(key: str, where: str) -> None:
    if key in PLACEHOLDERS:
        return
    if key.startswith(FIELD_PREFIX) and FIELD_KEY_RE.match(key[len(FIELD_PREFIX) :]):
        return
    import difflib

    close = difflib.get_close_matches(key, PLACEHOLDERS, n=1)
    maybe = f"Did you mean {{{close[0]}}}? " if close else ""
    raise ValidationError(
        f"Unknown placeholder {{{_shown(key)}}} in the {where}",
        f"{maybe}Valid placeholders: {valid_placeholders()}. "
        "Write {{ and }} for literal braces.",
    )


def parse(text: str, *, where: str = "template") -> list[Part]:
    """Split template text into literal strings and Placeholders.

    Raises ValidationError (and nothing else) for an unknown placeholder or a
    brace that is neither a placeholder nor escaped.
    """
    parts: list[Part] = []
    buf: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            if text.startswith("{{", i):
                buf.append("{")
                i += 2
                continue
            end = text.find("}", i + 1)
            inner = text[i + 1 : end] if end != -1 else ""
            if end == -1 or "{" in inner:
                raise ValidationError(
                    f"An opening brace in the {where} is not closed: {_shown(text[i:])!r}",
                    "Close the placeholder, e.g. {name}, or write {{ for a literal brace.",
                )
            _check_key(inner, where)
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(Placeholder(inner))
            i = end + 1
        elif ch == "}":
            if text.startswith("}}", i):
                buf.append("}")
                i += 2
                continue
            raise ValidationError(
                f"A closing brace in the {where} has no opening one: {_shown(text[max(0, i - 20) : i + 1])!r}",
                "Write }} for a literal brace.",
            )
        else:
            # Copy the run up to the next brace in one go.
            nxt = min((p for p in (text.find("{", i), text.find("}", i)) if p != -1), default=n)
            buf.append(text[i:nxt])
            i = nxt
    if buf:
        parts.append("".join(buf))
    return parts


def placeholders_in(text: str, *, where: str = "template") -> list[str]:
    """The placeholder keys a text uses, unique, in order of first use."""
    seen: list[str] = []
    for part in parse(text, where=where):
        if isinstance(part, Placeholder) and part.key not in seen:
            seen.append(part.key)
    return seen


def fill(
    text: str,
    values: dict[str, str | None],
    *,
    where: str = "template",
    lead_id: int | None = None,
    allow_empty: bool = False,
) -> str:
    """Fill the placeholders of `text` from `values` (missing or empty: an error,
    or '' with allow_empty). Values are inserted verbatim, never re-parsed."""
    out: list[str] = []
    for part in parse(text, where=where):
        if isinstance(part, str):
            out.append(part)
            continue
        value = values.get(part.key)
        if value is None or value == "":
            if not allow_empty:
                raise _missing(part.key, lead_id)
            value = ""
        out.append(value)
    return "".join(out)


def _missing(key: str, lead_id: int | None) -> ValidationError:
    who = f"Lead {lead_id}" if lead_id is not None else "The lead"
    ref = lead_id if lead_id is not None else "ID"
    fix = {
        "name": "--name", "first_name": "--name", "company": "--company",
        "product": "--product", "city": "--city", "value": "--value",
        "email": "--email", "phone": "--phone",
    }  # fmt: skip
    if key in fix:
        how = f"Set it with `leadctl edit {ref} {fix[key]} ...`"
    elif key.startswith(FIELD_PREFIX):
        # Quoted when needed: an imported field name keeps its spaces
        # ("Lead Profile"), and the hint must run as printed.
        arg = shlex.quote(f"{key[len(FIELD_PREFIX) :]}=...")
        how = f"Set it with `leadctl edit {ref} --field {arg}`"
    elif key == "owner_name":
        how = f"Give the lead an owner with `leadctl edit {ref} --owner HANDLE`"
    else:
        how = "Add it to the owner's team entry (`leadctl team`), or give the lead another owner"
    return ValidationError(
        f"{who} has no value for {{{key}}}", f"{how}, or render with --allow-empty."
    )


# --- stored templates -------------------------------------------------------


@dataclass
class Template:
    name: str
    channel: str
    subject: str | None
    body: str
    builtin: bool
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Template:
        data = dict(row)
        data["builtin"] = bool(data["builtin"])
        return cls(**data)

    @property
    def placeholders(self) -> list[str]:
        keys = placeholders_in(self.subject or "", where="subject")
        return keys + [k for k in placeholders_in(self.body, where="body") if k not in keys]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        try:
            d["placeholders"] = self.placeholders
        except ValidationError:
            # A template stored by other means may not parse; show it anyway.
            d["placeholders"] = []
        return d


def normalize_name(name: str) -> str:
    key = name.strip().lower()
    if not _NAME_RE.match(key):
        raise ValidationError(
            f"{name!r} is not a valid template name",
            "Use lower-case letters, digits, - and _ (up to 64), e.g. price-list.",
        )
    return key


def normalize_channel(channel: str) -> str:
    key = channel.strip().lower().replace("-", "")
    key = {"wa": "whatsapp", "mail": "email", "e-mail": "email"}.get(key, key)
    if key not in CHANNELS:
        raise ValidationError(f"Unknown channel {channel!r}", f"Use one of: {', '.join(CHANNELS)}.")
    return key


def _clean_text(text: str, where: str, limit: int, *, one_line: bool = False) -> str:
    text = text.replace("\r\n", "\n")
    if one_line and ("\n" in text or "\r" in text):
        raise ValidationError(f"The {where} must be one line", "Remove the line breaks.")
    m = _CONTROL_RE.search(text)
    if m:
        raise ValidationError(
            f"The {where} contains a control character ({ord(m.group(0)):#04x})",
            "Remove it; only line breaks and tabs are allowed.",
        )
    if len(text) > limit:
        raise ValidationError(f"The {where} is longer than {limit} characters", "Shorten it.")
    return text


def _validate(channel: str, subject: str | None, body: str) -> tuple[str | None, str]:
    subject = _clean_text(subject, "subject", MAX_SUBJECT, one_line=True) if subject else None
    subject = subject.strip() if subject else None
    body = _clean_text(body, "body", MAX_BODY)
    if not body.strip():
        raise ValidationError("The template body is empty", "Give the message text with --body.")
    if subject:
        placeholders_in(subject, where="subject")
    placeholders_in(body, where="body")
    if channel == "email" and not subject:
        raise ValidationError(
            "An e-mail template needs a subject", 'Add --subject "...", or use --channel any.'
        )
    return subject or None, body


def list_templates(conn: sqlite3.Connection) -> list[Template]:
    return [Template.from_row(r) for r in conn.execute("SELECT * FROM templates ORDER BY name")]


def get_template(conn: sqlite3.Connection, name: str) -> Template:
    row = conn.execute("SELECT * FROM templates WHERE name = ?", (name.strip().lower(),)).fetchone()
    if row is None:
        names = [r[0] for r in conn.execute("SELECT name FROM templates ORDER BY name")]
        have = f"Templates: {', '.join(names)}; add" if names else "There are none; add"
        raise NotFoundError(
            f"Unknown template {name.strip()!r}", f"{have} one with `leadctl template add`."
        )
    return Template.from_row(row)


def add_template(
    conn: sqlite3.Connection,
    name: str,
    *,
    body: str,
    now: datetime,
    channel: str = "any",
    subject: str | None = None,
) -> Template:
    key = normalize_name(name)
    chan = normalize_channel(channel)
    subj, text = _validate(chan, subject, body)
    with transaction(conn):
        if conn.execute("SELECT 1 FROM templates WHERE name = ?", (key,)).fetchone():
            raise ConflictError(
                f"Template {key!r} already exists",
                f"Change it with `leadctl template edit {key}`.",
            )
        now_s = to_store(now)
        conn.execute(
            "INSERT INTO templates (name, channel, subject, body, builtin, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 0, ?, ?)",
            (key, chan, subj, text, now_s, now_s),
        )
    return get_template(conn, key)


def edit_template(
    conn: sqlite3.Connection,
    name: str,
    *,
    now: datetime,
    channel: str | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> Template:
    """Change a template; None leaves a part as it is, subject '' removes it."""
    with transaction(conn):
        old = get_template(conn, name)
        chan = normalize_channel(channel) if channel is not None else old.channel
        subj = old.subject if subject is None else subject
        subj, text = _validate(chan, subj, old.body if body is None else body)
        if (chan, subj, text) == (old.channel, old.subject, old.body):
            return old
        conn.execute(
            "UPDATE templates SET channel = ?, subject = ?, body = ?, updated_at = ?"
            " WHERE name = ?",
            (chan, subj, text, to_store(now), old.name),
        )
    return get_template(conn, old.name)


def template_users(conn: sqlite3.Connection, name: str) -> list[str]:
    """What still refers to a template: sequence steps and open follow-ups."""
    users = [
        f"sequence {r[0]!r}"
        for r in conn.execute(
            "SELECT DISTINCT sequence FROM sequence_steps WHERE template = ? ORDER BY sequence",
            (name,),
        )
    ]
    open_fu = conn.execute(
        "SELECT count(*) FROM followups WHERE template = ? AND status = 'open'", (name,)
    ).fetchone()[0]
    if open_fu:
        users.append(f"{open_fu} open follow-up{'s' if open_fu != 1 else ''}")
    return users


def remove_template(conn: sqlite3.Connection, name: str, *, force: bool = False) -> Template:
    """Delete a template (built-ins too: `reset_templates` brings them back).

    Refused while a sequence step or an open follow-up uses it, unless
    forced: then those steps and follow-ups keep their kind and note, without
    a template (nothing is left naming one that no longer exists).
    """
    with transaction(conn):
        tpl = get_template(conn, name)
        users = template_users(conn, tpl.name)
        if users and not force:
            raise ConflictError(
                f"Template {tpl.name!r} is used by {', '.join(users)}",
                "Change those first, or add --force to remove it anyway.",
            )
        conn.execute("UPDATE sequence_steps SET template = NULL WHERE template = ?", (tpl.name,))
        conn.execute(
            "UPDATE followups SET template = NULL WHERE template = ? AND status = 'open'",
            (tpl.name,),
        )
        conn.execute("DELETE FROM templates WHERE name = ?", (tpl.name,))
    return tpl


def reset_templates(
    conn: sqlite3.Connection, names: list[str] | None, *, now: datetime
) -> list[Template]:
    """Restore built-in templates to the text leadctl ships (all when names is None)."""
    # Imported here: leadctl.migrations imports sqlite_utils (~120 ms).
    from leadctl.migrations import TEMPLATES_DEFAULTS

    shipped = {name: (subject, body) for name, subject, body in TEMPLATES_DEFAULTS}
    wanted = list(shipped) if names is None else [n.strip().lower() for n in names]
    for n in wanted:
        if n not in shipped:
            raise NotFoundError(
                f"{n!r} is not a built-in template", f"Built-ins: {', '.join(shipped)}."
            )
    now_s = to_store(now)
    with transaction(conn):
        for n in wanted:
            subject, body = shipped[n]
            conn.execute(
                "INSERT INTO templates (name, channel, subject, body, builtin, created_at,"
                " updated_at) VALUES (?, 'any', ?, ?, 1, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET channel = 'any', subject = excluded.subject,"
                " body = excluded.body, builtin = 1, updated_at = excluded.updated_at",
                (n, subject, body, now_s, now_s),
            )
    return [get_template(conn, n) for n in wanted]


# --- rendering --------------------------------------------------------------


@dataclass
class Rendered:
    template: str
    lead_id: int
    channel: str
    subject: str | None
    body: str
    link: str | None
    # Not part of the JSON contract: lets the CLI warn before a message goes out.
    do_not_contact: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "template": self.template, "lead_id": self.lead_id, "channel": self.channel,
            "subject": self.subject, "body": self.body, "link": self.link,
        }  # fmt: skip


def lead_values(
    conn: sqlite3.Connection, lead: Lead, *, now: datetime, tz: tzinfo
) -> dict[str, str | None]:
    """Every placeholder value for a lead (None where the lead has none)."""
    from leadctl.normalize import format_money

    owner: dict[str, Any] = {}
    if lead.owner:
        row = conn.execute(
            "SELECT name, email, phone FROM team_members WHERE handle = ?", (lead.owner,)
        ).fetchone()
        owner = dict(row) if row else {}
    name = (lead.name or "").strip()
    values: dict[str, str | None] = {
        "name": name or None,
        "first_name": name.split()[0] if name else None,
        "company": lead.company,
        "product": lead.product,
        "city": lead.city,
        "value": format_money(lead.value, lead.currency) if lead.value is not None else None,
        "stage": lead.stage,
        "email": lead.email,
        "phone": lead.phone,
        # A team entry's display name, else the handle itself.
        "owner_name": owner.get("name") or lead.owner,
        "owner_phone": owner.get("phone"),
        "owner_email": owner.get("email"),
        "today": now.astimezone(tz).date().isoformat(),
    }
    for key, value in (lead.fields or {}).items():
        values[FIELD_PREFIX + str(key)] = None if value is None else str(value)
    return values


def whatsapp_link(phone: str, text: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"https://wa.me/{digits}?text={quote(text, safe='')}"


def mailto_link(email: str, subject: str | None, body: str) -> str:
    # RFC 6068: the address keeps its @ and the sub-delims it allows; every
    # header value is UTF-8 percent-encoded (space is %20, never +) and line
    # breaks in the body are written CRLF.
    to = quote(email, safe="@!$'()*+,;:")
    fields = []
    if subject:
        fields.append("subject=" + quote(subject, safe=""))
    fields.append("body=" + quote(body.replace("\r\n", "\n").replace("\n", "\r\n"), safe=""))
    return f"mailto:{to}?{'&'.join(fields)}"


def sms_link(phone: str, text: str) -> str:
    # RFC 5724: sms:<global number>?body=<percent-encoded text>
    number = "+" + "".join(ch for ch in phone if ch.isdigit())
    return f"sms:{number}?body={quote(text, safe='')}"


def _resolve_channel(requested: str | None, tpl: Template, lead: Lead) -> str:
    if requested:
        chan = normalize_channel(requested)
        if chan == "any":
            raise UsageError("--channel any has no link", "Use whatsapp, email or sms.")
        return chan
    if tpl.channel != "any":
        return tpl.channel
    # An 'any' template goes where the lead can be reached: WhatsApp first
    # (how small businesses in Indonesia talk to customers), then e-mail.
    if lead.phone:
        return "whatsapp"
    if lead.email:
        return "email"
    return "any"


def render(
    conn: sqlite3.Connection,
    name: str,
    lead_id: int,
    *,
    now: datetime,
    tz: tzinfo,
    channel: str | None = None,
    allow_empty: bool = False,
) -> Rendered:
    """Fill template `name` for lead `lead_id` and build its channel link."""
    from leadctl.leads import get_lead

    tpl = get_template(conn, name)
    lead = get_lead(conn, lead_id)
    values = lead_values(conn, lead, now=now, tz=tz)
    chan = _resolve_channel(channel, tpl, lead)
    subject = None
    # The subject belongs to an e-mail (and is shown when no channel could be
    # chosen); a WhatsApp or SMS message and its link have none, so a value
    # only the subject uses must not stop one.
    if tpl.subject and chan in SUBJECT_CHANNELS:
        subject = fill(
            tpl.subject, values, where="subject", lead_id=lead_id, allow_empty=allow_empty
        )
    body = fill(tpl.body, values, where="body", lead_id=lead_id, allow_empty=allow_empty)
    link: str | None = None
    if chan in ("whatsapp", "sms"):
        if not lead.phone:
            label = "WhatsApp" if chan == "whatsapp" else "SMS"
            raise ValidationError(
                f"Lead {lead_id} has no phone number for a {label} link",
                f"Add one with `leadctl edit {lead_id} --phone ...`, or use --channel email.",
            )
        link = whatsapp_link(lead.phone, body) if chan == "whatsapp" else sms_link(lead.phone, body)
    elif chan == "email":
        if not lead.email:
            raise ValidationError(
                f"Lead {lead_id} has no e-mail address for a mailto link",
                f"Add one with `leadctl edit {lead_id} --email ...`, or use --channel whatsapp.",
            )
        link = mailto_link(lead.email, subject, body)
    return Rendered(
        template=tpl.name, lead_id=lead_id, channel=chan, subject=subject, body=body,
        link=link, do_not_contact=lead.do_not_contact,
    )  # fmt: skip


def record_sent(
    conn: sqlite3.Connection, rendered: Rendered, *, now: datetime, actor: str | None
) -> int:
    """Log a 'message_sent' activity for a rendered message; return its id."""
    from leadctl import activities

    data: dict[str, Any] = {"template": rendered.template, "channel": rendered.channel}
    if rendered.subject and rendered.channel == "email":
        data["subject"] = rendered.subject
    with transaction(conn):
        return activities.record(
            conn, rendered.lead_id, "message_sent", at=now, now=now, actor=actor,
            note=rendered.body, direction="out", data=data,
        )  # fmt: skip
