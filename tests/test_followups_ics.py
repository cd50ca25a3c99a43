"""`followups --format ics`: a valid RFC 5545 calendar, parsed back with icalendar."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from icalendar import Calendar


def _events(cli: Any, *args: str) -> list[Any]:
    r = cli("followups", "--format", "ics", *args)
    assert r.stdout.startswith("BEGIN:VCALENDAR")
    cal = Calendar.from_ical(r.stdout)
    assert str(cal["version"]) == "2.0" and "leadctl" in str(cal["prodid"])
    return list(cal.walk("VEVENT"))


def test_ics_round_trip_and_stable_uids(cli: Any, conn: Any) -> None:
    lead = int(
        cli("add", 'Budi, "Santoso"; PT', "--phone", "0812-3456-7890", "--owner", "ani").stdout
    )
    a = cli.json(
        "followups", "add", str(lead), "--due", "today 10:00", "--note", "price, list\nline 2"
    )
    b = cli.json("followups", "add", str(lead), "--due", "+3d", "--kind", "whatsapp")
    events = _events(cli, "--upcoming", "7d")
    assert len(events) == 2
    by_uid = {str(e["uid"]): e for e in events}
    identity = conn.execute("SELECT value FROM settings WHERE key = 'db_identity'").fetchone()[0]
    identity = identity.strip('"')
    assert len(identity) == 32
    uid_a = f"followup-{a['id']}@{identity}.leadctl"
    assert set(by_uid) == {uid_a, f"followup-{b['id']}@{identity}.leadctl"}
    ev = by_uid[uid_a]
    start = ev.decoded("dtstart")
    assert start == datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
    assert ev.decoded("dtend") - start == timedelta(minutes=30)
    assert str(ev["summary"]) == 'call: Budi, "Santoso"; PT'
    desc = str(ev["description"])
    assert "price, list" in desc and "+6281234567890" in desc and "Owner: ani" in desc
    assert int(ev["sequence"]) == 0

    # Snoozing keeps the UID and bumps SEQUENCE, so calendars update the event.
    cli("followups", "snooze", str(a["id"]), "--to", "tomorrow 11:00")
    again = {str(e["uid"]): e for e in _events(cli, "--upcoming", "7d")}
    assert set(again) == set(by_uid)
    assert again[uid_a].decoded("dtstart") == datetime(2026, 11, 23, 11, 0, tzinfo=timezone.utc)
    assert int(again[uid_a]["sequence"]) == 1


def test_ics_skips_flagged_leads_and_empty_is_valid(cli: Any) -> None:
    cli("add", "No plan")
    assert _events(cli, "--all") == []
    assert _events(cli) == []
