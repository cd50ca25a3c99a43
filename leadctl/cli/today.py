"""What `leadctl followups` shows: today's follow-ups in every format.

No typer here: `leadctl.cli.launch` answers a bare `leadctl followups` (what
cron runs every morning) through `show` without building the Typer app, and
the Typer command calls the same `show` for every other form, so both print
exactly the same thing.
"""

import sys
from typing import Any

from leadctl.cli.state import State

CSV_KEYS = (
    "id", "lead_id", "lead_name", "company", "phone", "email", "due_at", "due_local", "kind",
    "note", "owner", "status", "urgency", "overdue", "overdue_days", "stale", "no_next_step",
    "do_not_contact", "stage", "stage_kind", "probability", "score", "value", "currency",
    "sequence", "enrollment_id", "step", "template", "snoozed",
)  # fmt: skip


def _what(rec: dict[str, Any]) -> str:
    if rec["id"] is None:
        return "no next step" + (" (stale)" if rec["stale"] else "") + _warnings(rec)
    what = str(rec["kind"])
    if rec.get("note"):
        what += f": {rec['note']}"
    return what + _warnings(rec)


def _warnings(rec: dict[str, Any]) -> str:
    """What to know before the touch: the lead opted out, or has closed."""
    text = " (DO NOT CONTACT)" if rec["do_not_contact"] else ""
    if rec["stage_kind"] != "open":
        text += f" (lead {rec['stage']})"
    return text


def _when_text(rec: dict[str, Any]) -> str:
    if rec["id"] is None:
        return "-"
    text = str(rec["due_local"])
    if rec["overdue_days"]:
        text += f" ({rec['overdue_days']}d overdue)"
    elif rec["overdue"]:
        text += " (overdue)"
    return text


def _lead_text(rec: dict[str, Any]) -> str:
    name = rec["lead_name"] or f"lead {rec['lead_id']}"
    return f"{name}, {rec['company']}" if rec.get("company") else str(name)


def _flags(rec: dict[str, Any]) -> str:
    flags = []
    if rec["no_next_step"]:
        flags.append("no next step")
    if rec["stale"]:
        flags.append("stale")
    if rec.get("sequence"):
        flags.append(f"{rec['sequence']} #{rec['step']}")
    return ", ".join(flags)


def _empty_text(upcoming: int | None, include_all: bool) -> str:
    if include_all:
        return "No open follow-ups and no lead without a next step."
    if upcoming:
        return f"Nothing due in the next {upcoming} days."
    return "Nothing due today."


def _print_plain(records: list[dict[str, Any]]) -> None:
    """The cron / pipe format: one self-contained line per follow-up, no header,
    so it reads well in a mail or a chat message and greps cleanly."""
    from leadctl.render import safe_text

    out = []
    for rec in records:
        ref = f"#{rec['id']}" if rec["id"] is not None else f"lead #{rec['lead_id']}"
        line = (
            f"{_when_text(rec)}  {_lead_text(rec)}  {rec['phone'] or '-'}  {_what(rec)}"
            f"  [{rec['owner'] or 'unassigned'}]  {ref}"
        )
        out.append(safe_text(line))
    sys.stdout.write("\n".join(out) + "\n")


def _print_table(st: State, records: list[dict[str, Any]]) -> None:
    from leadctl.render import Column, table

    for rec in records:
        rec["_what"] = _what(rec)
        rec["_when"] = _when_text(rec)
        rec["_lead"] = _lead_text(rec)
        rec["_flags"] = _flags(rec)
    table(
        records,
        [
            Column("id", "ID", justify="right"), Column("_when", "Due"),
            Column("urgency", "Urg", justify="right"), Column("lead_id", "Lead", justify="right"),
            Column("_lead", "Name"), Column("phone", "Phone"),
            Column("_what", "What", max_width=40), Column("owner", "Owner"),
            Column("_flags", "Flags"),
        ],
    )  # fmt: skip


def _explain(st: State, followup_id: int, fmt: str) -> None:
    from leadctl import agenda
    from leadctl.dates import format_local
    from leadctl.render import Column, emit_object, key_value, table

    data = agenda.explain(st.existing_conn, followup_id, now=st.now, tz=st.tz)
    if fmt in ("json", "jsonl"):
        emit_object(data, fmt)
        return
    if fmt == "csv":
        from leadctl.render import write_csv

        write_csv(data["terms"], ["term", "value", "coefficient", "points"], sys.stdout)
        return
    key_value(
        [("follow-up", data["id"]), ("lead", f"{data['lead_id']} {data['lead_name'] or ''}"),
         ("due", format_local(data["due_at"], st.tz)), ("status", data["status"])]
    )  # fmt: skip
    rows = [*data["terms"], {"term": "urgency", "points": data["urgency"]}]
    table(
        rows,
        [
            Column("term", "Term"), Column("value", "Value", justify="right"),
            Column("coefficient", "Coefficient", justify="right"),
            Column("points", "Points", justify="right"),
        ],
    )  # fmt: skip


def show(
    st: State,
    *,
    owner: str | None = None,
    upcoming: str | None = None,
    include_all: bool = False,
    kind: str | None = None,
    lead: int | None = None,
    explain: int | None = None,
    fmt: str = "table",
) -> None:
    """List (or explain) follow-ups on stdout; fmt is table|json|jsonl|csv|ics."""
    from leadctl import agenda

    conn = st.existing_conn
    unsynced: dict[int, str] = {}  # enrolments that should stop, on a read-only file
    if agenda.pending_sequence_stops(conn):
        from leadctl import sequences

        # Never list a step that should have stopped, even on a read-only file.
        unsynced = sequences.sync_if_writable(conn, now=st.now)
    if explain is not None:
        _explain(st, explain, fmt)
        return
    days = agenda.parse_span(upcoming) if upcoming else None
    records = agenda.list_followups(
        conn, now=st.now, tz=st.tz, owner=owner, kind=kind, upcoming_days=days,
        include_all=include_all, lead_id=lead,
    )  # fmt: skip
    if unsynced:
        records = [r for r in records if r["enrollment_id"] not in unsynced]
    if fmt == "ics":
        from leadctl.calendar_ics import build_calendar, db_identity

        data = build_calendar(records, identity=db_identity(conn), now=st.now)
        sys.stdout.write(data.decode("utf-8"))
        return
    if fmt != "table":
        from leadctl.render import emit_records

        emit_records(records, [], fmt, csv_keys=CSV_KEYS)
        return
    if not records:
        # Data, not a message: cron mails and chat hooks show stdout.
        sys.stdout.write(_empty_text(days, include_all) + "\n")
        return
    if sys.stdout.isatty():
        _print_table(st, records)
    else:
        _print_plain(records)
