"""Time `leadctl import` against sqlite-utils and the sqlite3 shell on one CSV.

    python benchmarks/bench_import.py --rows 1000000

Generates benchmarks/_work/leads-<rows>.csv with gen_leads.py (deterministic)
if it is missing, then runs, each into a fresh database:

  leadctl import FILE --no-score                   (validates, deduplicates, history)
  leadctl import FILE                              (the same, scoring every new lead)
  sqlite-utils insert DB leads FILE --csv --no-detect-types
  sqlite3 DB ".import --csv FILE leads"

and prints wall time, CPU time (user + sys) and peak memory (max RSS) of each
child, measured with /usr/bin/time -v when present, else resource.getrusage.
A big leadctl import converts rows in a second process: CPU time is that of
both processes, peak RSS the larger of the two (as GNU time reports it).
CPU time is printed because a shared machine inflates wall time unevenly.
Goal (issue 3): leadctl wall time <= 0.5x sqlite-utils, peak memory < 100 MB
and flat in the file size.

--rounds N runs the whole set N times in turn (a machine whose speed drifts
between runs then shows it) and ends with each round's leadctl/sqlite-utils
ratio and their median.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"


# The generated dates run to 2026-12-28 (gen_leads.py): leadctl refuses a
# created date after the import's time, so the clock is pinned after them and
# every run imports the same rows whatever the real date.
BENCH_NOW = "2027-01-01T00:00:00Z"


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run cmd; return wall seconds, cpu seconds and peak RSS (MB) of the child."""
    timer = shutil.which("time") or "/usr/bin/time"
    if os.path.exists("/usr/bin/time"):
        report = WORK / "time.txt"
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-v", "-o", str(report), *cmd],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
        stats = {}
        for line in report.read_text().splitlines():
            key, _, value = line.strip().rpartition(": ")
            stats[key] = value
        cpu = float(stats["User time (seconds)"]) + float(stats["System time (seconds)"])
        rss = int(stats["Maximum resident set size (kbytes)"]) / 1024
    else:  # pragma: no cover - no GNU time
        del timer
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rss = after.ru_maxrss / 1024
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-2000:])
        raise SystemExit(f"{cmd[0]} failed with exit code {proc.returncode}")
    return {"wall": wall, "cpu": cpu, "rss": rss, "stderr": proc.stderr}  # type: ignore[dict-item]


def fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip", action="append", default=[], help="leadctl, sqlite-utils, sqlite3")
    ap.add_argument("--rounds", type=int, default=1, help="run the whole set this many times")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    csv_path = WORK / f"leads-{args.rows}.csv"
    if not csv_path.exists():
        with csv_path.open("w", encoding="utf-8", newline="") as out:
            subprocess.run(
                [sys.executable, str(HERE / "gen_leads.py"), str(args.rows)], stdout=out, check=True
            )
    size_mb = csv_path.stat().st_size / 1e6
    print(f"file: {csv_path.name}, {args.rows:,} rows, {size_mb:.0f} MB", flush=True)
    print(f"load average at the start: {os.getloadavg()}, {os.cpu_count()} CPUs", flush=True)
    bindir = Path(sys.executable).parent
    runs: list[tuple[str, list[str], dict[str, str] | None]] = [
        (
            "leadctl import --no-score",
            [str(bindir / "leadctl"), "--db", str(WORK / "bench-leadctl.db"), "import",
             str(csv_path), "--format", "json", "--no-score"],
            {**os.environ, "LEADCTL_TZ": "UTC", "LEADCTL_NOW": BENCH_NOW},
        ),
        (
            "leadctl import (scores every new lead)",
            [str(bindir / "leadctl"), "--db", str(WORK / "bench-leadctl2.db"), "import",
             str(csv_path), "--format", "json"],
            {**os.environ, "LEADCTL_TZ": "UTC", "LEADCTL_NOW": BENCH_NOW},
        ),
        (
            "sqlite-utils insert --csv --no-detect-types",
            [str(bindir / "sqlite-utils"), "insert", str(WORK / "bench-su.db"), "leads",
             str(csv_path), "--csv", "--no-detect-types"],
            None,
        ),
        (
            "sqlite3 .import --csv",
            ["sqlite3", str(WORK / "bench-sqlite3.db"), f".import --csv {csv_path} leads"],
            None,
        ),
    ]  # fmt: skip
    ratios: dict[str, list[float]] = {}
    for round_ in range(1, args.rounds + 1):
        if args.rounds > 1:
            print(f"\nround {round_} of {args.rounds}", flush=True)
        for name, ratio in run_round(runs, args.skip).items():
            ratios.setdefault(name, []).append(ratio)
    for name, values in ratios.items():
        if len(values) > 1:
            shown = ", ".join(f"{r:.2f}x" for r in values)
            print(f"\n{name} / sqlite-utils by round: {shown};"
                  f" median {statistics.median(values):.2f}x")  # fmt: skip


def run_round(
    runs: list[tuple[str, list[str], dict[str, str] | None]], skip: list[str]
) -> dict[str, float]:
    """Run each tool once; print the table; each leadctl run's ratio to sqlite-utils."""
    results = []
    for name, cmd, env in runs:
        if any(name.startswith(s) for s in skip):
            continue
        for arg in cmd:  # each run into a fresh database
            if arg.endswith(".db"):
                fresh(Path(arg))
        r = measure(cmd, env)
        results.append((name, r))
        print(
            f"  {name}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, {r['rss']:.0f} MB"
            f" (load {os.getloadavg()[0]:.2f})",
            flush=True,
        )
    base = next((r["wall"] for n, r in results if n.startswith("sqlite-utils")), None)
    print()
    print("| tool | wall s | CPU s | peak RSS MB | wall vs sqlite-utils |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results:
        ratio = f"{r['wall'] / base:.2f}x" if base else "-"
        print(f"| {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss']:.0f} | {ratio} |")
    print(f"\nload average at the end: {os.getloadavg()}")
    if not base:
        return {}
    return {n: r["wall"] / base for n, r in results if n.startswith("leadctl")}


if __name__ == "__main__":
    main()
