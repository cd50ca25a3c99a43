"""Follow-ups as an RFC 5545 calendar (`followups --format ics`).

Each follow-up is one VEVENT whose UID is `followup-<id>@<db identity>.leadctl`
(the identity is a random id stored in the database by migration
0005_followups_db_identity), so a calendar app that re-imports or subscribes
to the file updates the event instead of adding a duplicate. SEQUENCE is the
number of times it was snoozed, so a moved follow-up replaces the old time.

The icalendar library (~40 ms to import) is imported only here, and this
module only when ics output is asked for.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from leadctl.dates import from_store
from leadctl.db import get_setting

EVENT_MINUTES = 30
PRODID = "-//leadctl//follow-ups//EN"
# RFC 5545 text may not contain control characters other than tab.
_CONTROL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def db_identity(conn: sqlite3.Connection) -> str:
    return str(get_setting(conn, "db_identity", "local"))


def uid(followup_id: int, identity: str) -> str:
    return f"followup-{followup_id}@{identity}.leadctl"


def _clean(text: Any) -> str:
    return _CONTROL_RE.sub(" ", "" if text is None else str(text)).strip()


def _summary(rec: dict[str, Any]) -> str:
    who = _clean(rec.get("lead_name")) or f"lead {rec['lead_id']}"
    if rec.get("company"):
        who += f" ({_clean(rec['company'])})"
    flags = " (DO NOT CONTACT)" if rec.get("do_not_contact") else ""
    if rec.get("stage_kind", "open") != "open":
        flags += f" (lead {_clean(rec['stage'])})"
    return f"{rec['kind']}: {who}{flags}"


def _description(rec: dict[str, Any]) -> str:
    lines = []
    if rec.get("note"):
        lines.append(_clean(rec["note"]))
    for key, label in (("phone", "Phone"), ("email", "E-mail"), ("owner", "Owner")):
        if rec.get(key):
            lines.append(f"{label}: {_clean(rec[key])}")
    if rec.get("sequence"):
        lines.append(f"Sequence: {_clean(rec['sequence'])} step {rec.get('step')}")
    if rec.get("template"):
        lines.append(f"Template: {_clean(rec['template'])}")
    lines.append(f"Lead {rec['lead_id']}; done: leadctl followups done {rec['id']}")
    return "\n".join(lines)


def build_calendar(records: Iterable[dict[str, Any]], *, identity: str, now: datetime) -> bytes:
    """An iCalendar file (bytes, CRLF lines) with one event per follow-up record;
    records without a follow-up id (flagged leads) are skipped."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "leadctl follow-ups")
    for rec in records:
        if rec.get("id") is None or not rec.get("due_at"):
            continue
        start = from_store(rec["due_at"])
        ev = Event()
        ev.add("uid", uid(rec["id"], identity))
        ev.add("dtstamp", now)
        ev.add("dtstart", start)
        ev.add("dtend", start + timedelta(minutes=EVENT_MINUTES))
        ev.add("summary", _summary(rec))
        ev.add("description", _description(rec))
        ev.add("categories", [_clean(rec["kind"])])
        ev.add("sequence", int(rec.get("snoozed") or 0))
        ev.add("status", "CONFIRMED")
        cal.add_component(ev)
    return bytes(cal.to_ical())
