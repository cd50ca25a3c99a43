"""`template render`: the subject is filled only where the channel has one
(e-mail), and a missing-value hint runs as printed."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

OFFER = ("template", "add", "offer", "--channel", "any", "--subject", "Offer for {company}",
         "--body", "Hi {first_name}, here is our offer.")  # fmt: skip
BODY = "Hi Rina, here is our offer."
NO_COMPANY = (
    "Error: Lead 1 has no value for {company}. "
    "Set it with `leadctl edit 1 --company ...`, or render with --allow-empty.\n"
)


def _lead(cli: Any, *extra: str) -> int:
    return int(cli.json("add", "Rina Wijaya", *extra)["id"])


@pytest.mark.parametrize(
    ("channel", "link"),
    [
        ("whatsapp", "https://wa.me/6281299990000?text=Hi%20Rina%2C%20here%20is%20our%20offer."),
        ("sms", "sms:+6281299990000?body=Hi%20Rina%2C%20here%20is%20our%20offer."),
    ],
)
def test_a_subject_only_value_does_not_stop_whatsapp_or_sms(
    cli: Any, channel: str, link: str
) -> None:
    _lead(cli, "--phone", "0812-9999-0000", "--email", "rina@example.com")  # no company
    cli(*OFFER)
    out = cli.json("template", "render", "offer", "1", "--channel", channel)
    assert out == {
        "template": "offer", "lead_id": 1, "channel": channel, "subject": None,
        "body": BODY, "link": link,
    }  # fmt: skip
    shown = cli("template", "render", "offer", "1", "--channel", channel).stdout
    assert shown == f"{BODY}\n\n{link}\n"  # no Subject: line


def test_an_any_template_picks_whatsapp_without_the_subject_value(cli: Any) -> None:
    _lead(cli, "--phone", "0812-9999-0000")
    cli(*OFFER)
    out = cli.json("template", "render", "offer", "1")
    assert (out["channel"], out["subject"], out["body"]) == ("whatsapp", None, BODY)


def test_email_still_needs_the_subject_value(cli: Any) -> None:
    _lead(cli, "--phone", "0812-9999-0000", "--email", "rina@example.com")
    cli(*OFFER)
    r = cli("template", "render", "offer", "1", "--channel", "email", ok=False)
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", NO_COMPANY)
    out = cli.json("template", "render", "offer", "1", "--channel", "email", "--allow-empty")
    assert (out["subject"], out["body"]) == ("Offer for ", BODY)
    cli("edit", "1", "--company", "PT Maju")
    out = cli.json("template", "render", "offer", "1", "--channel", "email")
    assert out["subject"] == "Offer for PT Maju"
    assert out["link"].startswith("mailto:rina@example.com?subject=Offer%20for%20PT%20Maju&body=")


def test_no_channel_at_all_still_shows_and_needs_the_subject(cli: Any) -> None:
    # Neither phone nor e-mail: no link, and the subject is shown with the text.
    _lead(cli)
    cli(*OFFER)
    r = cli("template", "render", "offer", "1", ok=False)
    assert (r.exit_code, r.stderr) == (2, NO_COMPANY)
    cli("edit", "1", "--company", "PT Maju")
    shown = cli("template", "render", "offer", "1").stdout
    assert shown == f"Subject: Offer for PT Maju\n\n{BODY}\n"


def test_logging_a_whatsapp_message_needs_no_subject_value(cli: Any) -> None:
    _lead(cli, "--phone", "0812-9999-0000")
    cli(*OFFER)
    r = cli("template", "render", "offer", "1", "--channel", "whatsapp", "--log")
    assert "Logged message_sent on lead 1" in r.stderr
    sent = [a for a in cli.json("show", "1")["activities"] if a["kind"] == "message_sent"]
    assert [(a["note"], a["data"]) for a in sent] == [
        (BODY, {"template": "offer", "channel": "whatsapp"})
    ]


@pytest.mark.parametrize(
    ("key", "arg"),
    [
        ("Lead Profile", "'Lead Profile=...'"),
        ("Kak's note", "'Kak'\"'\"'s note=...'"),
        ("birthday", "birthday=..."),  # a plain word is not quoted
    ],
)
def test_the_missing_field_hint_runs_as_printed(cli: Any, key: str, arg: str) -> None:
    _lead(cli, "--phone", "0812-9999-0000")
    cli("template", "add", "profile", "--channel", "whatsapp",
        "--body", f"Hi {{first_name}}, {{field:{key}}}")  # fmt: skip
    r = cli("template", "render", "profile", "1", ok=False)
    hint = f"leadctl edit 1 --field {arg}"
    assert (r.exit_code, r.stderr) == (
        2,
        f"Error: Lead 1 has no value for {{field:{key}}}. "
        f"Set it with `{hint}`, or render with --allow-empty.\n",
    )
    argv = shlex.split(r.stderr.split("`")[1])
    assert argv == ["leadctl", "edit", "1", "--field", f"{key}=..."]
    cli(*argv[1:])  # what a user pastes (then types the value over the ...)
    assert cli.json("show", "1")["fields"] == {key: "..."}
    assert cli.json("template", "render", "profile", "1")["body"] == "Hi Rina, ..."
