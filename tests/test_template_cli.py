"""`leadctl template ...` through the CLI, as a user types it."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

HOSTILE_NAME = "[bold red]x[/] \x1b[31m"
HOSTILE_COMPANY = "PT A&B? Jaya"


def _add_lead(cli: Any, *extra: str) -> int:
    lead = cli.json(
        "add", "Budi Santoso", "--phone", "0812-3456-7890", "--email", "budi@example.co.id",
        "--company", "PT Maju Jaya", "--product", "Paket Premium", "--owner", "ani",
        "--field", "birthday=1990-04-02", *extra,
    )  # fmt: skip
    return int(lead["id"])


def test_defaults_listed(cli: Any, conn: Any) -> None:
    rows = cli.json("template", "list")
    names = {r["name"] for r in rows}
    assert {"product-intro", "meeting-request", "thank-you", "product-launch"} <= names
    intro = next(r for r in rows if r["name"] == "product-intro")
    assert intro["builtin"] is True and intro["subject"] and "{product}" in intro["body"]
    assert "product" in intro["placeholders"]


def test_add_show_edit_remove(cli: Any, tmp_path: Path) -> None:
    cli("template", "add", "promo", "--channel", "whatsapp", "--body", "Hi {first_name}: {{promo}}")
    shown = cli.json("template", "show", "promo")
    assert (shown["channel"], shown["body"], shown["builtin"]) == (
        "whatsapp",
        "Hi {first_name}: {{promo}}",
        False,
    )
    assert shown["placeholders"] == ["first_name"]
    body = tmp_path / "b.txt"
    body.write_text("Dear {name},\nsee you.\n", encoding="utf-8")
    out = cli.json(
        "template", "edit", "promo", "--channel", "email", "--subject", "Hello {first_name}",
        "--body-file", str(body),
    )  # fmt: skip
    assert (out["channel"], out["subject"], out["body"]) == (
        "email",
        "Hello {first_name}",
        "Dear {name},\nsee you.",
    )
    r = cli("template", "edit", "promo", "--subject", "Hello {first_name}", ok=False)
    assert r.exit_code == 0 and "nothing changed" in r.stderr
    cli("template", "remove", "promo")
    r = cli("template", "show", "promo", ok=False)
    assert (
        r.exit_code == 3 and "Unknown template 'promo'" in r.stderr and "product-intro" in r.stderr
    )


def test_add_body_from_stdin(cli: Any) -> None:
    cli("template", "add", "s", "--body-file", "-", input="Halo {first_name}!\n")
    assert cli.json("template", "show", "s")["body"] == "Halo {first_name}!"


def test_unknown_placeholder_at_save(cli: Any) -> None:
    r = cli("template", "add", "x", "--body", "Hi {nmae}", ok=False)
    assert r.exit_code == 2
    assert "Unknown placeholder {nmae}" in r.stderr and "{first_name}" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli("template", "edit", "thank-you", "--body", "Hi {name.__class__}", ok=False)
    assert r.exit_code == 2 and "{name.__class__}" in r.stderr


def test_add_usage_errors(cli: Any) -> None:
    assert cli("template", "add", "x", ok=False).exit_code == 2
    assert cli("template", "add", "x", "--body", "a", "--body-file", "-", ok=False).exit_code == 2
    r = cli("template", "add", "x", "--channel", "email", "--body", "a", ok=False)
    assert r.exit_code == 2 and "subject" in r.stderr
    r = cli("template", "add", "thank-you", "--body", "a", ok=False)
    assert r.exit_code == 1 and "already exists" in r.stderr
    assert cli("template", "edit", "thank-you").exit_code == 0  # nothing changed, as `edit`
    r = cli("template", "add", "x", "--body-file", "/nonexistent/file", ok=False)
    assert r.exit_code == 2 and "Cannot read" in r.stderr


def test_render_json_and_whatsapp_link(cli: Any) -> None:
    lead_id = _add_lead(cli)
    out = cli.json("template", "render", "product-intro", str(lead_id))
    assert set(out) == {"template", "lead_id", "channel", "subject", "body", "link"}
    assert out["channel"] == "whatsapp" and out["lead_id"] == lead_id
    assert out["body"].startswith("Hi Budi,\n\nThis is ani.")
    parts = urlsplit(out["link"])
    assert parts.netloc == "wa.me" and parts.path == "/6281234567890"
    assert parse_qs(parts.query)["text"] == [out["body"]]


def test_render_email_link(cli: Any) -> None:
    lead_id = _add_lead(cli)
    out = cli.json("template", "render", "thank-you", str(lead_id), "--channel", "email")
    parts = urlsplit(out["link"])
    assert parts.scheme == "mailto" and parts.path == "budi@example.co.id"
    q = parse_qs(parts.query)
    assert q["subject"] == ["Thank you, Budi!"]
    assert q["body"][0].replace("\r\n", "\n") == out["body"]


def test_render_missing_value_and_allow_empty(cli: Any) -> None:
    lead_id = _add_lead(cli)
    # The owner has no team entry, so there is no {owner_phone}.
    r = cli("template", "render", "meeting-request", str(lead_id), ok=False)
    assert r.exit_code == 2
    assert f"Lead {lead_id} has no value for {{owner_phone}}" in r.stderr
    assert "--allow-empty" in r.stderr
    out = cli.json("template", "render", "meeting-request", str(lead_id), "--allow-empty")
    assert "or call me at ." in out["body"]


def test_render_unknown_template_lead_and_placeholder(cli: Any, conn: Any) -> None:
    lead_id = _add_lead(cli)
    r = cli("template", "render", "nope", str(lead_id), ok=False)
    assert r.exit_code == 3 and "Unknown template 'nope'" in r.stderr
    r = cli("template", "render", "thank-you", "999", ok=False)
    assert r.exit_code == 3 and "No lead with id 999" in r.stderr
    conn.execute(
        "INSERT INTO templates (name, body, created_at, updated_at) VALUES ('bad', '{oops}', 'x', 'x')"
    )
    r = cli("template", "render", "bad", str(lead_id), ok=False)
    assert r.exit_code == 2 and "Unknown placeholder {oops}" in r.stderr


def test_render_needs_a_phone_for_whatsapp(cli: Any) -> None:
    lead = cli.json(
        "add", "Sari", "--email", "sari@example.com", "--product", "Kopi", "--owner", "ani"
    )
    r = cli("template", "render", "thank-you", str(lead["id"]), "--channel", "whatsapp", ok=False)
    assert r.exit_code == 2 and "no phone number" in r.stderr and "--phone" in r.stderr


def test_render_log_records_activity(cli: Any) -> None:
    lead_id = _add_lead(cli)
    r = cli("template", "render", "thank-you", str(lead_id), "--log")
    assert "Logged message_sent" in r.stderr
    acts = cli.json("show", str(lead_id))["activities"]
    sent = [a for a in acts if a["kind"] == "message_sent"]
    assert len(sent) == 1
    assert sent[0]["data"] == {"template": "thank-you", "channel": "whatsapp"}
    assert sent[0]["note"].startswith("Hi Budi,") and sent[0]["actor"] == "tester"
    # Without --log nothing is recorded.
    cli("template", "render", "thank-you", str(lead_id))
    acts = cli.json("show", str(lead_id))["activities"]
    assert sum(a["kind"] == "message_sent" for a in acts) == 1


def test_hostile_lead_text(cli: Any) -> None:
    lead = cli.json(
        "add", HOSTILE_NAME, "--phone", "0812-3456-7890", "--email", "x@example.com",
        "--company", HOSTILE_COMPANY, "--product", "Kopi", "--owner", "ani",
    )  # fmt: skip
    cli("template", "add", "h", "--subject", "{company} {name}", "--body", "Hi {name} at {company}")
    # Terminal output: the escape code is shown escaped, the markup stays literal text.
    r = cli("template", "render", "h", str(lead["id"]))
    assert "\x1b" not in r.stdout
    assert "Hi [bold red]x[/] \\x1b[31m at PT A&B? Jaya" in r.stdout
    link = r.stdout.strip().splitlines()[-1]
    assert parse_qs(urlsplit(link).query)["text"] == [f"Hi {HOSTILE_NAME} at {HOSTILE_COMPANY}"]
    r = cli("template", "render", "h", str(lead["id"]), "--channel", "email")
    assert "\x1b" not in r.stdout
    assert r.stdout.startswith("Subject: PT A&B? Jaya [bold red]x[/] \\x1b[31m\n")
    # JSON keeps the exact text (escaped the JSON way).
    out = cli.json("template", "render", "h", str(lead["id"]), "--channel", "email")
    assert out["body"] == f"Hi {HOSTILE_NAME} at {HOSTILE_COMPANY}"
    q = parse_qs(urlsplit(out["link"]).query)
    assert q == {"subject": [f"{HOSTILE_COMPANY} {HOSTILE_NAME}"], "body": [out["body"]]}


def test_table_output_is_plain_message(cli: Any) -> None:
    lead_id = _add_lead(cli)
    r = cli("template", "render", "product-intro", str(lead_id), "--channel", "email")
    lines = r.stdout.splitlines()
    assert lines[0] == "Subject: Introducing Paket Premium"
    assert lines[2] == "Hi Budi,"
    assert lines[-1].startswith(
        "mailto:budi@example.co.id?subject=Introducing%20Paket%20Premium&body="
    )


def test_do_not_contact_warns(cli: Any) -> None:
    lead_id = _add_lead(cli, "--do-not-contact")
    r = cli("template", "render", "thank-you", str(lead_id))
    assert "do-not-contact" in r.stderr


def test_remove_builtin_and_reset(cli: Any) -> None:
    r = cli("template", "remove", "thank-you")
    assert "template reset thank-you" in r.stderr
    assert "thank-you" not in {t["name"] for t in cli.json("template", "list")}
    cli("template", "edit", "product-intro", "--body", "short {name}")
    cli("template", "reset")
    rows = {t["name"]: t for t in cli.json("template", "list")}
    assert "thank-you" in rows and rows["product-intro"]["body"].startswith("Hi {first_name},")


@pytest.mark.parametrize("cmd", ["list", "show", "add", "edit", "remove", "reset", "render"])
def test_every_command_has_help(cli: Any, cmd: str) -> None:
    r = cli("template", cmd, "--help")
    assert "Usage" in r.stdout


def test_show_table_prints_the_text(cli: Any, conn: Any) -> None:
    r = cli("template", "show", "thank-you")
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["Name", "thank-you"]
    assert "Hi {first_name}," in lines and "{owner_name}" in lines


def test_readme_template_examples_run(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_docs import readme_commands

    commands = readme_commands("Message templates")
    assert len(commands) >= 10 and all(c[0] == "template" for c in commands)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "price-list.txt").write_text("Dear {name},\nour prices.\n", encoding="utf-8")
    _add_lead(cli)
    for args in commands:
        cli(*args)
    assert cli.json("template", "show", "price-list")["subject"] == "Price list for {company}"
