"""Start-up cost of the commands a person types (issue 2).

Builds a 10,000-lead database with the core library, then times, as separate
processes with stdout piped (plain output): `leadctl --version`, `leadctl list`
(all 10k rows), `leadctl list --limit 20`, `leadctl show 1`, next to
`python -c "import typer"` and `python -c pass`. Median of N runs.

    python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path


def build_db(path: Path, n: int) -> None:
    from leadctl import leads
    from leadctl.db import open_db, transaction

    conn = open_db(path)
    rnd = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with transaction(conn):
        for i in range(n):
            leads.add_lead(
                conn,
                {
                    "name": f"Lead {i}",
                    "email": f"lead{i}@example.co.id",
                    "phone": f"+62812{i:08d}"[:14],
                    "city": rnd.choice(["Jakarta", "Bandung", "Surabaya", "Medan"]),
                    "source": rnd.choice(["ads", "whatsapp", "referral", "web"]),
                    "value": str(rnd.randrange(1, 500) * 100_000),
                    "tags": rnd.choice(["hot", "cold", "b2b", ""]),
                },
                now=start + timedelta(minutes=i),
                actor="bench",
                allow_duplicate=True,
            )
    conn.close()


def timed(cmd: list[str], env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--leads", type=int, default=10_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    db = tmp / "bench.db"
    t0 = time.perf_counter()
    build_db(db, args.leads)
    print(f"built {args.leads} leads in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    env = {**os.environ, "LEADCTL_DB": str(db), "NO_COLOR": "1"}
    leadctl = str(Path(sys.executable).with_name("leadctl"))
    py = sys.executable
    rows = [
        ("python -c pass", [py, "-c", "pass"]),
        ('python -c "import typer"', [py, "-c", "import typer"]),
        ("leadctl --version", [leadctl, "--version"]),
        ("leadctl list --limit 20", [leadctl, "list", "--limit", "20"]),
        (f"leadctl list ({args.leads} rows, plain)", [leadctl, "list"]),
        (f"leadctl list --format json ({args.leads})", [leadctl, "list", "--format", "json"]),
        ("leadctl show 1", [leadctl, "show", "1"]),
    ]
    print(f"| command | median ms ({args.runs} runs) |")
    print("|---|---|")
    for label, cmd in rows:
        print(f"| `{label}` | {timed(cmd, env, args.runs):.0f} |")


if __name__ == "__main__":
    main()
