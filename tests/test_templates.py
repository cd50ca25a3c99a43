"""Core of message templates: the placeholder parser, stored templates, links."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadctl import leads, templates
from leadctl.errors import ConflictError, NotFoundError, ValidationError
from leadctl.migrations import TEMPLATES_DEFAULTS
from leadctl.templates import PLACEHOLDERS, Placeholder, fill, parse

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=timezone.utc)  # as in conftest

HOSTILE_NAME = "[bold red]x[/] \x1b[31m"
HOSTILE_COMPANY = "Toko A&B? #1 100% {company} +plus"


# --- parser -------------------------------------------------------------------


def test_parse_splits_literals_and_placeholders() -> None:
    assert parse("Hi {name}, {{literal}} {field:birthday}!") == [
        "Hi ",
        Placeholder("name"),
        ", {literal} ",
        Placeholder("field:birthday"),
        "!",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "{nmae}", "{name.__class__}", "{name[0]}", "{0}", "{}", "{name!r}", "{name:>10}",
        "{ name }", "{field:}", "{field: padded}", "{Name}",
    ],
)  # fmt: skip
def test_unknown_placeholders_are_named(text: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse(text, where="body")
    assert text in err.value.message
    assert "{first_name}" in str(err.value)  # the hint lists the valid ones


def test_unknown_placeholder_suggests_the_close_one() -> None:
    with pytest.raises(ValidationError, match=r"Did you mean \{company\}"):
        parse("{compnay}")


@pytest.mark.parametrize("text", ["{name", "a } b", "{{name}", "{a{name}"])
def test_stray_braces_are_errors(text: str) -> None:
    with pytest.raises(ValidationError, match="brace"):
        parse(text)


def test_fill_values_are_not_reparsed() -> None:
    assert fill("{name}", {"name": "{company} {{x}}"}) == "{company} {{x}}"


def test_fill_missing_value() -> None:
    with pytest.raises(ValidationError) as err:
        fill("Hi {company}", {"company": None}, lead_id=7)
    assert "{company}" in err.value.message and "Lead 7" in err.value.message
    assert "--allow-empty" in str(err.value)
    assert fill("Hi {company}", {"company": ""}, allow_empty=True) == "Hi "


# Template-like text: random text mixed with braces and placeholder fragments.
_template_text = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.sampled_from(
            [
                "{",
                "}",
                "{{",
                "}}",
                "{name}",
                "{field:a.b}",
                "{nmae}",
                "{field:}",
                "{0}",
                "{name.__class__}",
                ":",
                "field:",
                "\n",
                "\x1b",
            ]
        ),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(_template_text)
def test_parser_raises_only_validation_error(text: str) -> None:
    try:
        parts = parse(text)
    except ValidationError:
        return
    # Parsing is lossless: writing the parts back gives the same template.
    rebuilt = "".join(
        "{" + p.key + "}" if isinstance(p, Placeholder) else p.replace("{", "{{").replace("}", "}}")
        for p in parts
    )
    assert parse(rebuilt) == parts


_keys = st.sampled_from([*PLACEHOLDERS, "field:birthday", "field:x.y-z"])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.text(max_size=10), _keys.map(Placeholder)), max_size=8),
    st.dictionaries(_keys, st.text(min_size=1, max_size=10), max_size=4),
)
def test_render_with_all_values_is_exact(parts: list[Any], given_values: dict[str, str]) -> None:
    values = {
        k: given_values.get(k, f"<{k}>") for k in [*PLACEHOLDERS, "field:birthday", "field:x.y-z"]
    }
    text = "".join(
        "{" + p.key + "}" if isinstance(p, Placeholder) else p.replace("{", "{{").replace("}", "}}")
        for p in parts
    )
    expected = "".join(values[p.key] if isinstance(p, Placeholder) else p for p in parts)
    assert fill(text, values) == expected


# --- stored templates ---------------------------------------------------------


def test_defaults_exist_on_a_fresh_db(conn: Any) -> None:
    names = {t.name for t in templates.list_templates(conn)}
    assert {"product-intro", "meeting-request", "thank-you", "product-launch"} <= names
    assert names == {name for name, _, _ in TEMPLATES_DEFAULTS}
    for t in templates.list_templates(conn):
        assert t.builtin and t.subject and t.channel == "any"
        assert t.placeholders  # every default parses


def test_add_edit_remove(conn: Any) -> None:
    t = templates.add_template(
        conn, "Price-List", body="Hi {first_name},\r\nprices: {{see below}}", now=NOW,
        channel="wa",
    )  # fmt: skip
    assert (t.name, t.channel, t.body) == (
        "price-list",
        "whatsapp",
        "Hi {first_name},\nprices: {{see below}}",
    )
    with pytest.raises(ConflictError):
        templates.add_template(conn, "price-list", body="x", now=NOW)
    with pytest.raises(ValidationError, match="subject"):
        templates.edit_template(conn, "price-list", channel="email", now=NOW)
    t = templates.edit_template(
        conn, "price-list", channel="email", subject="Prices {product}", now=NOW
    )
    assert (t.channel, t.subject) == ("email", "Prices {product}")
    with pytest.raises(ValidationError, match=r"\{prodcut\}"):
        templates.edit_template(conn, "price-list", subject="{prodcut}", now=NOW)
    templates.remove_template(conn, "price-list")
    with pytest.raises(NotFoundError, match="Unknown template 'price-list'"):
        templates.get_template(conn, "price-list")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"body": "   "}, "empty"),
        ({"body": "hi \x1b[31m"}, "control character"),
        ({"body": "x" * 20_001}, "longer"),
        ({"body": "x", "subject": "a\nb"}, "one line"),
        ({"body": "x", "channel": "fax"}, "Unknown channel"),
    ],
)
def test_add_rejects_bad_templates(conn: Any, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        templates.add_template(conn, "t", now=NOW, **kwargs)


def test_bad_names(conn: Any) -> None:
    for name in ("", "has space", "-x", "x" * 65, "a/b"):
        with pytest.raises(ValidationError):
            templates.add_template(conn, name, body="x", now=NOW)


def test_remove_refused_while_a_sequence_uses_it(conn: Any) -> None:
    conn.execute("INSERT INTO sequences (name, created_at) VALUES ('welcome', 'x')")
    conn.execute(
        "INSERT INTO sequence_steps (sequence, position, delay_days, kind, template)"
        " VALUES ('welcome', 1, 0, 'whatsapp', 'thank-you')"
    )
    with pytest.raises(ConflictError, match="sequence 'welcome'"):
        templates.remove_template(conn, "thank-you")
    templates.remove_template(conn, "thank-you", force=True)
    # Forced: the step stays, a plain WhatsApp reminder naming no template.
    step = conn.execute("SELECT kind, template FROM sequence_steps").fetchone()
    assert tuple(step) == ("whatsapp", None)
    assert templates.template_users(conn, "thank-you") == []


def test_a_forced_remove_detaches_open_followups(cli: Any) -> None:
    cli("sequence", "add", "welcome", "--step", "0d whatsapp thank-you : say thanks")
    lead = cli("add", "Budi", "--phone", "0812-3456-7890").stdout.strip()
    fu = cli.json("sequence", "enroll", lead, "welcome")["followup"]
    assert fu["template"] == "thank-you"
    r = cli("template", "remove", "thank-you", ok=False)
    assert r.exit_code == 1 and "1 open follow-up" in r.stderr
    cli("template", "remove", "thank-you", "--force")
    listed = [r for r in cli.json("followups") if r["id"] == fu["id"]]
    assert [(r["template"], r["note"]) for r in listed] == [(None, "say thanks")]
    cli("followups", "done", str(fu["id"]))  # completes the sequence as ever
    assert cli.json("sequence", "status", "--all")[0]["status"] == "completed"


def test_reset_restores_builtins(conn: Any) -> None:
    templates.edit_template(conn, "product-intro", body="changed", now=NOW)
    templates.remove_template(conn, "thank-you")
    restored = templates.reset_templates(conn, ["product-intro", "thank-you"], now=NOW)
    shipped = {n: b for n, _, b in TEMPLATES_DEFAULTS}
    assert [t.body for t in restored] == [shipped["product-intro"], shipped["thank-you"]]
    with pytest.raises(NotFoundError):
        templates.reset_templates(conn, ["my-own"], now=NOW)


# --- rendering and links ------------------------------------------------------


def _lead(conn: Any, **data: Any) -> int:
    base = {
        "name": "Budi Santoso", "phone": "0812-3456-7890", "email": "budi@example.co.id",
        "company": "PT Maju Jaya", "product": "Paket Premium", "city": "Jakarta",
        "value": "15000000", "owner": "ani", "fields": {"birthday": "1990-04-02"},
    }  # fmt: skip
    base.update(data)
    return leads.add_lead(conn, base, now=NOW, actor="tester").id


def _team(conn: Any) -> None:
    conn.execute(
        "INSERT INTO team_members (handle, name, email, phone, created_at, updated_at)"
        " VALUES ('ani', 'Ani Wijaya', 'ani@toko.id', '+6281111111111', 'x', 'x')"
    )


def test_every_placeholder_kind(conn: Any) -> None:
    _team(conn)
    lead_id = _lead(conn)
    body = " | ".join("{" + p + "}" for p in PLACEHOLDERS) + " | {field:birthday}"
    templates.add_template(conn, "all", body=body, subject="{company}", now=NOW, channel="email")
    r = templates.render(conn, "all", lead_id, now=NOW, tz=timezone.utc)
    assert r.body.split(" | ") == [
        "Budi Santoso", "Budi", "PT Maju Jaya", "Paket Premium", "Jakarta", "Rp 15.000.000",
        "new", "budi@example.co.id", "+6281234567890", "Ani Wijaya", "+6281111111111",
        "ani@toko.id", "2026-11-22", "1990-04-02",
    ]  # fmt: skip
    assert (r.channel, r.subject) == ("email", "PT Maju Jaya")


def test_today_is_in_the_local_time_zone(conn: Any) -> None:
    from zoneinfo import ZoneInfo

    lead_id = _lead(conn)
    templates.add_template(conn, "d", body="{today}", now=NOW)
    late = NOW.replace(hour=20)  # 03:00 the next day in Jakarta
    r = templates.render(conn, "d", lead_id, now=late, tz=ZoneInfo("Asia/Jakarta"))
    assert r.body == "2026-11-23"


def test_owner_name_falls_back_to_handle(conn: Any) -> None:
    lead_id = _lead(conn)
    templates.add_template(conn, "o", body="{owner_name}", now=NOW)
    assert templates.render(conn, "o", lead_id, now=NOW, tz=timezone.utc).body == "ani"


def test_missing_value_with_and_without_allow_empty(conn: Any) -> None:
    lead_id = _lead(conn, company=None, fields={})
    templates.add_template(conn, "m", body="A{company}B{field:birthday}C", now=NOW)
    with pytest.raises(ValidationError) as err:
        templates.render(conn, "m", lead_id, now=NOW, tz=timezone.utc)
    assert "{company}" in err.value.message and f"Lead {lead_id}" in err.value.message
    r = templates.render(conn, "m", lead_id, now=NOW, tz=timezone.utc, allow_empty=True)
    assert r.body == "ABC"


def test_unknown_placeholder_at_render(conn: Any) -> None:
    # A template that bypassed validation (older version, edited by hand).
    conn.execute(
        "INSERT INTO templates (name, body, created_at, updated_at) VALUES ('bad', 'Hi {nmae}', 'x', 'x')"
    )
    lead_id = _lead(conn)
    with pytest.raises(ValidationError, match=r"Unknown placeholder \{nmae\}"):
        templates.render(conn, "bad", lead_id, now=NOW, tz=timezone.utc)


def test_whatsapp_link_round_trips_hostile_text(conn: Any) -> None:
    lead_id = _lead(conn, name=HOSTILE_NAME, company=HOSTILE_COMPANY)
    templates.add_template(
        conn, "h", body="Hi {name} from {company}\nline 2 ü 🙂 {{x}}\ttab", now=NOW
    )
    r = templates.render(conn, "h", lead_id, now=NOW, tz=timezone.utc)
    assert r.body == f"Hi {HOSTILE_NAME} from {HOSTILE_COMPANY}\nline 2 ü 🙂 {{x}}\ttab"
    assert r.channel == "whatsapp"
    parts = urlsplit(r.link or "")
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", "/6281234567890")
    assert parse_qs(parts.query, keep_blank_values=True, strict_parsing=True) == {"text": [r.body]}
    # Only unreserved characters and percent-escapes: nothing can break out.
    assert all(c.isascii() and (c.isalnum() or c in "-._~%=?/:") for c in r.link or "")
    assert "+" not in parts.query and "%20" in parts.query and "%1B" in parts.query


def test_mailto_link_round_trips(conn: Any) -> None:
    lead_id = _lead(conn, company=HOSTILE_COMPANY, email="budi+promo@example.co.id")
    templates.add_template(
        conn, "e", channel="email", subject="For {company} & you", body="Hi {first_name},\n\n{company}?",
        now=NOW,
    )  # fmt: skip
    r = templates.render(conn, "e", lead_id, now=NOW, tz=timezone.utc)
    parts = urlsplit(r.link or "")
    assert parts.scheme == "mailto"
    assert unquote(parts.path) == "budi+promo@example.co.id"
    q = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert q["subject"] == [f"For {HOSTILE_COMPANY} & you"] == [r.subject]
    # RFC 6068: line breaks travel as CRLF; the message is otherwise exact.
    assert q["body"][0] == r.body.replace("\n", "\r\n")
    assert "%0D%0A" in parts.query and "+" not in parts.query


def test_channel_choice_and_missing_contact(conn: Any) -> None:
    no_phone = _lead(conn, phone=None)
    templates.add_template(conn, "a", body="Hi", now=NOW)
    r = templates.render(conn, "a", no_phone, now=NOW, tz=timezone.utc)
    assert r.channel == "email" and (r.link or "").startswith("mailto:budi@example.co.id?body=Hi")
    with pytest.raises(ValidationError, match="no phone number"):
        templates.render(conn, "a", no_phone, now=NOW, tz=timezone.utc, channel="whatsapp")
    r = templates.render(conn, "a", no_phone, now=NOW, tz=timezone.utc, channel="email")
    assert r.subject is None
    no_email = _lead(conn, email=None, phone="0813-2222-3333")
    with pytest.raises(ValidationError, match="no e-mail"):
        templates.render(conn, "a", no_email, now=NOW, tz=timezone.utc, channel="email")
    r = templates.render(conn, "a", no_email, now=NOW, tz=timezone.utc, channel="sms")
    assert r.link == "sms:+6281322223333?body=Hi"
    nothing = _lead(conn, email=None, phone=None, name="Nobody")
    r = templates.render(conn, "a", nothing, now=NOW, tz=timezone.utc)
    assert (r.channel, r.link) == ("any", None)


def test_record_sent(conn: Any) -> None:
    from leadctl import activities

    lead_id = _lead(conn)
    r = templates.render(conn, "product-intro", lead_id, now=NOW, tz=timezone.utc)
    act = activities.get_activity(conn, templates.record_sent(conn, r, now=NOW, actor="ani"))
    assert (act.kind, act.note, act.direction, act.actor) == ("message_sent", r.body, "out", "ani")
    assert act.data == {"template": "product-intro", "channel": "whatsapp"}


def test_upgrade_from_schema_2_adds_defaults_and_keeps_own(db_path: Any) -> None:
    from leadctl.db import open_db

    c = open_db(db_path)
    # Make it look like a database made before the templates migration, with
    # an own template that happens to share a default's name.
    c.execute("DELETE FROM templates")
    c.execute("DELETE FROM _sqlite_migrations WHERE name = '0003_templates_defaults'")
    c.execute(
        "INSERT INTO templates (name, body, created_at, updated_at)"
        " VALUES ('thank-you', 'my own {name}', 'x', 'x')"
    )
    c.execute("PRAGMA user_version = 2")
    c.close()
    c = open_db(db_path)
    rows = {t.name: t for t in templates.list_templates(c)}
    c.close()
    assert set(rows) == {name for name, _, _ in TEMPLATES_DEFAULTS}
    assert rows["thank-you"].body == "my own {name}" and not rows["thank-you"].builtin
    assert rows["product-intro"].builtin


def test_an_edit_with_nothing_to_change_says_so(cli: Any) -> None:
    """As `edit` and `team edit`: exit 0, nothing written; an unknown name is 3."""
    r = cli("template", "edit", "thank-you")
    assert r.exit_code == 0 and "nothing changed" in r.stderr
    assert cli("template", "edit", "nope", ok=False).exit_code == 3
