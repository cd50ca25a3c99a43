"""Time every report through the installed `leadctl` next to the best
hand-written SQL for the same aggregate, run in the `sqlite3` shell, in the
same run, on the database built by gen_big.py.

    python benchmarks/gen_big.py benchmarks/_work/big.db
    python benchmarks/bench_reports.py benchmarks/_work/big.db [--repeat 3] [--plans]

Each figure is the best of --repeat wall-clock runs of a whole process
(leadctl: Python start-up, opening the database, the queries, JSON output;
floor: sqlite3 start-up and the queries). "floor" SQL is what a person who
knows the schema and its indexes would type to get the same numbers; where a
report needs several aggregates, the floor runs the same several queries.
`--plans` prints EXPLAIN QUERY PLAN of every query each report runs.

The clock is fixed inside the generated data's range (2026-09-15 08:00 UTC),
so "this week" / "this month" hold real rows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOW = "2026-09-15T08:00:00Z"
NOW_EPOCH = 1789459200  # unixepoch('2026-09-15T08:00:00Z')
WEEK = ("2026-09-14T00:00:00Z", "2026-09-21T00:00:00Z")
MONTH = ("2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z")
TODAY = ("2026-09-15T00:00:00Z", "2026-09-16T00:00:00Z")
OPEN = "('new','contacted','nurturing','qualified','negotiation')"
WON = "('won','inactive')"
WORK = "('call','email','whatsapp','sms','meeting','note','document','sale','message_sent')"
RESPONSE = "('call','email','whatsapp','sms','meeting','message_sent')"
PROB = (
    "CASE WHEN s.kind = 'open' THEN COALESCE(l.probability_manual, l.probability_auto,"
    " s.probability) ELSE s.probability END"
)
STALE = (
    "(s.kind = 'open' AND s.rot_days IS NOT NULL AND COALESCE(l.last_touch_at,"
    f" l.stage_entered_at) < strftime('%Y-%m-%dT%H:%M:%SZ', '{NOW}', '-' || s.rot_days || ' days'))"
)
NO_NEXT = "(NOT EXISTS (SELECT 1 FROM followups f WHERE f.lead_id = l.id AND f.status = 'open'))"

PIPELINE = f"""
SELECT l.stage, count(*), sum(l.value), sum(l.value * ({PROB})) / 100.0
FROM leads l NOT INDEXED CROSS JOIN stages s ON s.name = l.stage
WHERE s.kind = 'open' GROUP BY l.stage;"""

FUNNEL = """
SELECT reached, count(*) FROM (SELECT max(CASE stage WHEN 'new' THEN 1 WHEN 'contacted' THEN 2
  WHEN 'nurturing' THEN 3 WHEN 'qualified' THEN 4 WHEN 'negotiation' THEN 5 WHEN 'won' THEN 6
  WHEN 'inactive' THEN 6 ELSE 1 END) AS reached FROM stage_history GROUP BY lead_id)
GROUP BY reached;
SELECT count(*) FROM leads;
SELECT stage, count(*) FROM leads GROUP BY stage;"""

CONVERSION = """
SELECT owner, stage, count(*), sum(value) FROM leads NOT INDEXED GROUP BY owner, stage;"""

VELOCITY = f"""
SELECT stage, count(*), sum(value), sum(unixepoch(closed_at) - unixepoch(created_at))
FROM leads NOT INDEXED WHERE stage IN ('won','inactive','lost') GROUP BY stage;
SELECT unixepoch(closed_at) - unixepoch(created_at) AS d FROM leads NOT INDEXED
WHERE stage IN {WON} ORDER BY d
LIMIT 2 OFFSET (SELECT (count(*) - 1) / 2 FROM leads WHERE stage IN {WON});
SELECT count(*) FROM leads WHERE stage IN {OPEN};
SELECT stage, count(*), sum(COALESCE(seconds, {NOW_EPOCH} - unixepoch(entered_at))),
  sum(left_at IS NULL)
FROM stage_history WHERE stage IN {OPEN} GROUP BY stage;"""

STALE_SQL = f"""
SELECT l.owner, count(*), sum({STALE}), sum({NO_NEXT}), sum({STALE} AND {NO_NEXT})
FROM leads l NOT INDEXED CROSS JOIN stages s ON s.name = l.stage
WHERE s.kind = 'open' GROUP BY l.owner;"""

FORECAST = f"""
SELECT substr(l.expected_close, 1, 7) AS m, count(*), sum(l.value), sum(l.value * ({PROB})) / 100.0
FROM leads l NOT INDEXED CROSS JOIN stages s ON s.name = l.stage
WHERE s.kind = 'open' GROUP BY m;
SELECT substr(closed_at, 1, 7) AS m, count(*), sum(value) FROM leads NOT INDEXED
WHERE stage IN {WON} GROUP BY m;"""

ACTIVITY = f"""
SELECT actor, kind, count(*) FROM activities
WHERE kind IN {WORK} AND at >= '{WEEK[0]}' AND at < '{WEEK[1]}' GROUP BY actor, kind;"""

SOURCES = f"""
SELECT source, count(*), sum(qualified), sum(stage IN {WON}),
  sum(CASE WHEN stage IN {WON} THEN value END)
FROM leads NOT INDEXED GROUP BY source;
SELECT source, sum(amount) FROM source_costs GROUP BY source;"""

CUSTOMERS = f"""
SELECT count(*), sum(amt), sum(n >= 2), sum(np >= 2), sum(up) FROM (
  SELECT lead_id, count(*) AS n, sum(amount) AS amt, count(DISTINCT product) AS np,
    max(amount > first) AS up
  FROM (SELECT a.lead_id, a.product, a.amount, first_value(a.amount) OVER
          (PARTITION BY a.lead_id, a.product ORDER BY a.at, a.id) AS first
        FROM activities a INDEXED BY idx_activities_sales
        CROSS JOIN leads l ON l.id = a.lead_id
        WHERE a.kind = 'sale' AND l.stage IN {WON})
  GROUP BY lead_id);
SELECT a.product, count(*), sum(a.amount), count(DISTINCT a.lead_id)
FROM activities a INDEXED BY idx_activities_sales CROSS JOIN leads l ON l.id = a.lead_id
WHERE a.kind = 'sale' AND l.stage IN {WON} GROUP BY a.product;
SELECT count(DISTINCT lead_id) FROM stage_history WHERE stage = 'inactive';
SELECT count(*) FROM leads WHERE stage IN {WON};"""

TEAM = f"""
SELECT owner, stage, count(*), sum(value) FROM leads
WHERE closed_at IS NOT NULL AND closed_at >= '{MONTH[0]}' AND closed_at < '{MONTH[1]}'
  AND stage IN ('won','inactive','lost') GROUP BY owner, stage;
SELECT actor, count(*) FROM activities
WHERE kind IN {WORK} AND at >= '{MONTH[0]}' AND at < '{MONTH[1]}' GROUP BY actor;
SELECT owner, count(*), count(fr), avg(fr) FROM (
  SELECT l.owner, unixepoch((SELECT a.at FROM activities a WHERE a.lead_id = l.id
    AND a.at >= l.created_at AND a.kind IN {RESPONSE} AND COALESCE(a.direction, 'out') = 'out'
    ORDER BY a.at LIMIT 1)) - unixepoch(l.created_at) AS fr
  FROM leads l WHERE l.created_at >= '{MONTH[0]}' AND l.created_at < '{MONTH[1]}')
GROUP BY owner;"""

TARGETS = f"""
SELECT sum(value) FROM leads WHERE closed_at IS NOT NULL AND closed_at >= '{MONTH[0]}'
  AND closed_at < '{MONTH[1]}' AND stage IN {WON};
SELECT count(*) FROM leads WHERE created_at >= '{MONTH[0]}' AND created_at < '{MONTH[1]}';
SELECT count(*) FROM activities WHERE kind IN {WORK} AND at >= '{WEEK[0]}' AND at < '{WEEK[1]}';
SELECT count(*) FROM leads WHERE closed_at IS NOT NULL AND closed_at >= '{MONTH[0]}'
  AND closed_at < '{MONTH[1]}' AND stage IN {WON} AND owner = 'rep01';"""

SUMMARY = f"""
SELECT sum(due_at < '{TODAY[0]}'), count(*) FROM followups
WHERE status = 'open' AND due_at < '{TODAY[1]}';
SELECT count(*), sum(l.value), sum(l.value * ({PROB})) / 100.0
FROM leads l NOT INDEXED CROSS JOIN stages s ON s.name = l.stage WHERE s.kind = 'open';
SELECT sum({STALE}), sum({NO_NEXT})
FROM leads l NOT INDEXED CROSS JOIN stages s ON s.name = l.stage WHERE s.kind = 'open';
SELECT count(*) FROM leads WHERE created_at >= '{MONTH[0]}' AND created_at < '{MONTH[1]}';
SELECT count(*), sum(value) FROM leads WHERE closed_at IS NOT NULL
  AND closed_at >= '{MONTH[0]}' AND closed_at < '{MONTH[1]}' AND stage IN {WON};
SELECT count(*) FROM activities WHERE kind IN {WORK} AND at >= '{MONTH[0]}' AND at < '{MONTH[1]}';
"""

CONVERSION_MONTH = f"""
SELECT owner, stage, count(*), sum(value) FROM leads
WHERE created_at >= '{MONTH[0]}' AND created_at < '{MONTH[1]}' GROUP BY owner, stage;"""

FUNNEL_MONTH = f"""
SELECT reached, count(*) FROM (SELECT max(CASE h.stage WHEN 'new' THEN 1 WHEN 'contacted' THEN 2
  WHEN 'nurturing' THEN 3 WHEN 'qualified' THEN 4 WHEN 'negotiation' THEN 5 WHEN 'won' THEN 6
  WHEN 'inactive' THEN 6 ELSE 1 END) AS reached
  FROM leads l LEFT JOIN stage_history h ON h.lead_id = l.id
  WHERE l.created_at >= '{MONTH[0]}' AND l.created_at < '{MONTH[1]}' GROUP BY l.id)
GROUP BY reached;
SELECT stage, count(*) FROM leads
WHERE created_at >= '{MONTH[0]}' AND created_at < '{MONTH[1]}' GROUP BY stage;"""

CASES: list[tuple[str, list[str], str]] = [
    ("pipeline", ["pipeline"], PIPELINE),
    ("funnel (all time)", ["funnel"], FUNNEL),
    ("funnel --period this-month", ["funnel", "--period", "this-month"], FUNNEL_MONTH),
    ("conversion --by owner (all time)", ["conversion", "--by", "owner"], CONVERSION),
    ("conversion --period this-month", ["conversion", "--period", "this-month"], CONVERSION_MONTH),
    ("velocity (all time)", ["velocity"], VELOCITY),
    ("stale", ["stale"], STALE_SQL),
    ("forecast", ["forecast"], FORECAST),
    ("activity (this week)", ["activity"], ACTIVITY),
    ("sources (all time)", ["sources"], SOURCES),
    ("customers (all time)", ["customers"], CUSTOMERS),
    ("team (this month)", ["team"], TEAM),
    ("targets", ["targets"], TARGETS),
    ("summary", [], SUMMARY),
]


def best_of(cmd: list[str], repeat: int, env: dict[str, str], stdin: str | None = None) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            cmd, input=stdin, text=True, env=env, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        best = min(best, time.perf_counter() - start)
    return best


def show_plans(db: Path) -> None:
    """Every query each report runs, with SQLite's plan for it."""
    import importlib
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from leadctl.db import open_db
    from leadctl.periods import resolve

    conn = open_db(db)
    now = datetime.fromisoformat(NOW.replace("Z", "+00:00")).astimezone(timezone.utc)
    tz = ZoneInfo("UTC")
    defaults = {"activity": "this-week", "team": "this-month"}
    for name in ("pipeline", "funnel", "conversion", "velocity", "stale", "forecast", "activity",
                 "sources", "customers", "team"):  # fmt: skip
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        fn = getattr(importlib.import_module(f"leadctl.reports.{name}"), name)
        fn(conn, resolve(None, None, None, now=now, tz=tz, default=defaults.get(name, "all")),
           now, tz)  # fmt: skip
        conn.set_trace_callback(None)
        print(f"\n## {name}")
        for sql in statements:
            if not sql.lstrip().upper().startswith("SELECT") or "FROM stages" in sql:
                continue
            print("  " + " ".join(sql.split())[:160])
            for row in conn.execute("EXPLAIN QUERY PLAN " + sql):
                print("      " + row[3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path, nargs="?", default=Path("benchmarks/_work/big.db"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--plans", action="store_true", help="print every report query's plan")
    args = ap.parse_args()
    leadctl = shutil.which("leadctl") or str(Path(sys.executable).with_name("leadctl"))
    sqlite3 = shutil.which("sqlite3")
    if not sqlite3:
        sys.exit("sqlite3 shell not found: apt-get install -y sqlite3")
    env = {**os.environ, "LEADCTL_DB": str(args.db), "LEADCTL_NOW": NOW, "LEADCTL_TZ": "UTC",
           "NO_COLOR": "1"}  # fmt: skip
    # Open once so any pending migration runs before timing, and warm the cache.
    subprocess.run([leadctl, "report", "targets"], env=env, check=True, capture_output=True)
    with open(args.db, "rb") as fh:
        while fh.read(1 << 24):
            pass
    counts = subprocess.run(
        [sqlite3, str(args.db), "SELECT (SELECT count(*) FROM leads), (SELECT count(*) FROM"
         " activities), (SELECT count(*) FROM stage_history)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # The fixed cost of any leadctl command (Python, Typer, opening a database):
    # the same report on an empty database.
    with tempfile.TemporaryDirectory() as tmp:
        empty = {**env, "LEADCTL_DB": str(Path(tmp) / "empty.db")}
        subprocess.run([leadctl, "report", "targets"], env=empty, check=True, capture_output=True)
        startup = best_of([leadctl, "report", "pipeline", "--format", "json"], 5, empty)
    print(f"database: {args.db} (leads|activities|stage_history = {counts}); best of {args.repeat}")
    print(f"leadctl start-up (same command, empty database): {startup:.2f} s")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(
        "| report | leadctl s | leadctl − start-up s | floor s (sqlite3) | ratio | ratio w/o start-up |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, argv, sql in CASES:
        ours = best_of([leadctl, "report", *argv, "--format", "json"], args.repeat, env)
        floor = best_of([sqlite3, str(args.db)], args.repeat, env, stdin=sql)
        net = max(ours - startup, 0.0)
        print(f"| {label} | {ours:.2f} | {net:.2f} | {floor:.2f} | {ours / floor:.2f} |"
              f" {net / floor:.2f} |", flush=True)  # fmt: skip
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    if args.plans:
        show_plans(args.db)


if __name__ == "__main__":
    main()
