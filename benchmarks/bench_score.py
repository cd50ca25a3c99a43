"""Score benchmarks (run by hand, not by pytest).

    python benchmarks/bench_score.py xed [--csv PATH]   # X Education: train + evaluate
    python benchmarks/bench_score.py all [--leads N]    # time `leadctl score --all`

`xed` loads the X Education leads (Converted 1 = won, 0 = lost) through the
core (`leads.add_lead`, `pipeline.move_stage`) into benchmarks/_work/xed.db,
with the behavioural columns as custom fields, then runs `leadctl score
--evaluate` and `--train`. `all` generates N leads (default 100,000) with
activities and answers by bulk SQL into benchmarks/_work/all.db and times
`leadctl score --all` as a user would run it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
XED_CSV = Path("/work/shared/datasets/x-education-leads/Leads.csv")
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
# Columns that are not behaviour: identifiers and the outcome itself.
SKIP = {"Prospect ID", "Lead Number", "Converted"}


def _leadctl(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEADCTL_DB": str(db), "LEADCTL_NOW": "2026-11-22T08:00:00Z",
           "LEADCTL_TZ": "UTC"}  # fmt: skip
    exe = Path(sys.executable).parent / "leadctl"
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, check=True)


def load_xed(csv_path: Path, db: Path) -> int:
    sys.path.insert(0, str(HERE.parent))
    from leadctl import leads, pipeline
    from leadctl.db import open_db, transaction

    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    conn = open_db(db)
    n = 0
    from leadctl.scoring import deferred_rescoring

    # One transaction, and the scores computed once at the end (as an import would).
    with (
        csv_path.open(encoding="utf-8") as fh,
        transaction(conn),
        deferred_rescoring(conn, NOW),
    ):
        for row in csv.DictReader(fh):
            fields = {}
            for k, v in row.items():
                v = (v or "").strip()
                # "Select" is the web form's unanswered drop-down: missing.
                if k in SKIP or not v or v == "Select":
                    continue
                fields[k.replace(" ", "_")] = v
            city = fields.pop("City", None)
            source = fields.pop("Lead_Source", None)
            lead = leads.add_lead(
                conn, {"external_id": row["Prospect ID"], "name": f"Lead {row['Lead Number']}",
                       "source": source, "city": city, "fields": fields},
                now=NOW, actor="bench", allow_duplicate=True,
            )  # fmt: skip
            won = row["Converted"].strip() == "1"
            pipeline.move_stage(
                conn, lead.id, "won" if won else "lost", now=NOW, actor="bench",
                reason=None if won else "not converted",
            )  # fmt: skip
            n += 1
    conn.close()
    return n


def bench_xed(csv_path: Path) -> None:
    WORK.mkdir(exist_ok=True)
    db = WORK / "xed.db"
    t0 = time.perf_counter()
    n = load_xed(csv_path, db)
    print(f"loaded {n} leads in {time.perf_counter() - t0:.1f}s")
    fields = "source,city,fields"
    t0 = time.perf_counter()
    ev = json.loads(_leadctl(db, "score", "--evaluate", "--fields", fields, "-f", "json").stdout)
    print(f"evaluate ({time.perf_counter() - t0:.1f}s): {json.dumps(ev)}")
    t0 = time.perf_counter()
    tr = json.loads(_leadctl(db, "score", "--train", "--fields", fields, "-f", "json").stdout)
    print(f"train ({time.perf_counter() - t0:.1f}s): won {tr['won']} lost {tr['lost']}")
    # The behavioural columns only: without what the sales team wrote after
    # talking to the lead (Tags, Lead Quality, Asymmetrique indexes/scores).
    with csv_path.open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    behavioural = [
        "field:" + c.replace(" ", "_") for c in header
        if c not in SKIP and c not in ("Lead Source", "City", "Tags", "Lead Quality")
        and not c.startswith("Asymmetrique")
    ]  # fmt: skip
    no_tags = ",".join(["source", "city", *behavioural])
    ev2 = json.loads(_leadctl(db, "score", "--evaluate", "--fields", no_tags, "-f", "json").stdout)
    print(f"evaluate without Tags/Lead Quality/Asymmetrique: auc {ev2['auc']} brier {ev2['brier']}")


def generate(db: Path, n: int, seed: int = 7) -> None:
    sys.path.insert(0, str(HERE.parent))
    from leadctl.db import open_db, transaction

    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    conn = open_db(db)
    rnd = random.Random(seed)
    sources = ["whatsapp", "ads", "referral", "website", "walk-in", "instagram"]
    stages = ["new", "contacted", "nurturing", "qualified", "negotiation", "won", "lost"]
    kinds = ["call", "email", "whatsapp", "meeting", "note"]

    def ts(days_ago: float) -> str:
        return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")

    with transaction(conn):
        lead_rows, act_rows, ans_rows = [], [], []
        for i in range(1, n + 1):
            created = rnd.uniform(0, 365)
            touch = rnd.uniform(0, created)
            stage = rnd.choice(stages)
            lead_rows.append((
                i, f"Lead {i}", f"lead{i}@example.com" if rnd.random() < 0.7 else None,
                f"+62812{i:08d}" if rnd.random() < 0.8 else None,
                f"PT {i % 5000}" if rnd.random() < 0.4 else None, rnd.choice(sources),
                rnd.choice([None, 5_000_000, 15_000_000, 50_000_000]), "IDR", stage,
                json.dumps(["hot"] if rnd.random() < 0.2 else []),
                int(rnd.random() < 0.02), ts(created), ts(created), ts(touch), ts(touch),
                ts(touch) if stage in ("won", "lost") else None,
            ))  # fmt: skip
            for _ in range(rnd.randint(0, 6)):
                age = rnd.uniform(0, created)
                act_rows.append((i, rnd.choice(kinds), ts(age),
                                 "in" if rnd.random() < 0.3 else "out", ts(age)))  # fmt: skip
            if rnd.random() < 0.3:
                ans_rows.append((i, "budget", rnd.choice(["yes", "no"]), ts(touch)))
        conn.executemany(
            "INSERT INTO leads (id, name, email, phone, company, source, value, currency, stage,"
            " tags, do_not_contact, created_at, updated_at, stage_entered_at, last_touch_at,"
            " closed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            lead_rows,
        )
        conn.executemany(
            "INSERT INTO activities (lead_id, kind, at, direction, created_at) VALUES (?,?,?,?,?)",
            act_rows,
        )
        conn.executemany(
            "INSERT INTO qualification_answers (lead_id, criterion, value, answered_at)"
            " VALUES (?,?,?,?)",
            ans_rows,
        )
    conn.close()
    print(f"generated {n} leads, {len(act_rows)} activities")


def bench_all(n: int) -> None:
    WORK.mkdir(exist_ok=True)
    db = WORK / "all.db"
    generate(db, n)
    import resource

    for label in ("first run (every score changes, model trained)",
                  "second run (nothing changes)"):  # fmt: skip
        t0 = time.perf_counter()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = json.loads(_leadctl(db, "score", "--all", "-f", "json").stdout)
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        print(f"score --all, {label}: wall {time.perf_counter() - t0:.2f}s, cpu {cpu:.2f}s, "
              f"{json.dumps(out)}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", choices=["xed", "all"])
    ap.add_argument("--csv", type=Path, default=XED_CSV)
    ap.add_argument("--leads", type=int, default=100_000)
    args = ap.parse_args()
    if args.what == "xed":
        bench_xed(args.csv)
    else:
        bench_all(args.leads)


if __name__ == "__main__":
    main()
