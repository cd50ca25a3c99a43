"""Export leads as CSV, JSON or JSON lines, streamed (a million leads never sit in memory).

CSV: one column per lead field (the JSON contract keys), custom fields as
`field:KEY` columns, tags joined with ';', `value` in major units (1500.00)
so a spreadsheet shows the amount; every cell formula-neutralised. JSON/JSONL:
the lead JSON contract exactly (`value` in minor units). `leadctl import`
reads all three back into the same leads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import fields as dc_fields
from datetime import datetime
from typing import IO

from leadctl import leads
from leadctl.errors import UsageError
from leadctl.headers import FIELD_PREFIX
from leadctl.importer import value_major
from leadctl.models import LEAD_FROM, Lead
from leadctl.render import CsvWriter, csv_safe, json_dumps

EXPORT_FORMATS = ("csv", "json", "jsonl")
LEAD_KEYS = [f.name for f in dc_fields(Lead)]


def field_keys(conn: sqlite3.Connection, f: leads.LeadFilter, now: datetime) -> list[str]:
    """Every custom field key used by the selected leads, sorted."""
    where, params = leads._where(conn, f, now)
    sql = f"SELECT DISTINCT j.key FROM {LEAD_FROM}, json_each(l.fields) j{where}"
    return sorted(str(r[0]) for r in conn.execute(sql, params))


def export_leads(
    conn: sqlite3.Connection,
    f: leads.LeadFilter,
    fmt: str,
    out: IO[str],
    *,
    now: datetime,
    sort: str | None = None,
    limit: int | None = None,
) -> int:
    """Write the selected leads (at most `limit`) to `out`; return how many."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"Cannot export as {fmt!r}", f"Use one of: {', '.join(EXPORT_FORMATS)}.")
    count = 0
    stream = leads.iter_leads(conn, f, now=now, sort=sort, limit=limit)
    if fmt == "csv":
        keys = field_keys(conn, f, now)
        base = [k for k in LEAD_KEYS if k != "fields"]
        # Not csv.writer: it leaves a bare CR unquoted, which splits the row.
        writer = CsvWriter(out)
        writer.writerow(base + [FIELD_PREFIX + k for k in keys])
        for lead in stream:
            rec = lead.to_dict()
            rec["value"] = value_major(lead.value, lead.currency)
            row = [csv_safe(rec[k]) for k in base]
            row += [csv_safe(lead.fields.get(k)) for k in keys]
            writer.writerow(row)
            count += 1
    elif fmt == "jsonl":
        for lead in stream:
            out.write(json_dumps(lead.to_dict(), indent=None) + "\n")
            count += 1
    else:
        # A JSON array with one object per line: valid JSON, and streamable
        # both ways (leadctl import reads it line by line).
        out.write("[")
        for lead in stream:
            out.write(("\n" if count == 0 else ",\n") + json_dumps(lead.to_dict(), indent=None))
            count += 1
        out.write("\n]\n")
    return count
