"""Benchmark: `leadctl followups` (plain, piped, as cron runs it) on 100,000 leads
with ~1,000 follow-ups due today, next to Taskwarrior's `task next` on 10,000
tasks and a minimal Typer app that prints 20 plain rows, in the same run.

    python benchmarks/bench_followups.py [--runs 30] [--rebuild] [--also-python PY]

Needs `task` and preferably `hyperfine` (apt-get install -y taskwarrior
hyperfine). Two measurements: hyperfine (each command's runs in a row), then
an interleaved round-robin of the same commands (fairer on a loaded machine);
each gives median and fastest wall time and median CPU time. Data goes to
benchmarks/_work/ (reused; --rebuild makes it anew). Targets (issue 5):
leadctl within 1.5x of Taskwarrior and 1.1x of the minimal Typer app.

Byte-code: every command runs with PYTHONDONTWRITEBYTECODE unset after a
compileall, as in any normal install (the development shell here sets it,
which makes every import re-compile and triples start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
LEADS = 100_000
DUE_TODAY = 1_000
FUTURE = 20_000
DONE = 30_000
TASKS = 10_000
UTC = timezone.utc
MINIMAL_APP = """
import typer

app = typer.Typer()


@app.command()
def main(rows: int = 20) -> None:
    import sys

    sys.stdout.write("".join(
        f"2026-11-22 10:00  Lead number {i}  +6281234567{i:03d}  call: follow up  [ani]  #{i}\\n"
        for i in range(rows)
    ))


if __name__ == "__main__":
    app()
"""


def ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_leadctl_db(path: Path, now: datetime) -> None:
    sys.path.insert(0, str(ROOT))
    from leadctl.db import open_db

    if path.exists():
        path.unlink()
    conn = open_db(path)
    rng = random.Random(5)
    stages = ["new", "contacted", "nurturing", "qualified", "negotiation", "won", "lost"]
    owners = ["ani", "budi", "citra", "dewi", None]
    conn.execute("BEGIN")
    leads = []
    for i in range(1, LEADS + 1):
        created = now - timedelta(days=rng.randint(0, 720), seconds=rng.randint(0, 86399))
        touched = created + timedelta(days=rng.randint(0, 30))
        leads.append((
            i, f"Lead {i}", f"lead{i}@example.com", f"+62812{i:07d}", f"PT Contoh {i % 997}",
            rng.choice(["web", "whatsapp", "ads", "referral"]), rng.randint(1, 500) * 100_000,
            "IDR", rng.choice(stages), rng.choice(owners), rng.choice([None, rng.randint(0, 100)]),
            ts(created), ts(created), ts(created), ts(min(touched, now)),
        ))  # fmt: skip
    conn.executemany(
        "INSERT INTO leads (id, name, email, phone, company, source, value, currency, stage,"
        " owner, score, created_at, updated_at, stage_entered_at, last_touch_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        leads,
    )
    fus = []
    today0 = now.replace(hour=0, minute=0, second=0)
    for _ in range(DUE_TODAY):
        # Half overdue (up to 10 days), half later today.
        due = (
            today0 - timedelta(minutes=rng.randint(0, 14400))
            if rng.random() < 0.5
            else (today0 + timedelta(minutes=rng.randint(0, 1439)))
        )
        fus.append((rng.randint(1, LEADS), ts(due), "open"))
    for _ in range(FUTURE):
        fus.append((rng.randint(1, LEADS), ts(today0 + timedelta(days=rng.randint(1, 90))), "open"))
    for _ in range(DONE):
        fus.append((rng.randint(1, LEADS), ts(now - timedelta(days=rng.randint(1, 365))), "done"))
    conn.executemany(
        "INSERT INTO followups (lead_id, due_at, kind, note, owner, status, created_at)"
        " SELECT ?, ?, 'call', 'follow up', owner, ?, created_at FROM leads WHERE id = ?",
        [(lead, due, status, lead) for lead, due, status in fus],
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def build_taskwarrior(folder: Path, now: datetime) -> dict[str, str]:
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "data").mkdir(parents=True)
    rc = folder / "taskrc"
    rc.write_text(f"data.location={folder / 'data'}\nconfirmation=off\nverbose=nothing\n")
    rng = random.Random(5)
    tasks = []
    for i in range(TASKS):
        due = now + timedelta(days=rng.randint(-10, 90), minutes=rng.randint(0, 1439))
        tasks.append({
            "description": f"call Lead {i} about the offer", "status": "pending",
            "project": rng.choice(["sales", "support", "ops"]), "tags": ["lead"],
            "due": due.strftime("%Y%m%dT%H%M%SZ"),
        })  # fmt: skip
    (folder / "tasks.json").write_text(json.dumps(tasks))
    env = {**os.environ, "TASKRC": str(rc), "TASKDATA": str(folder / "data")}
    subprocess.run(
        ["task", "import", str(folder / "tasks.json")], env=env, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return {"TASKRC": str(rc), "TASKDATA": str(folder / "data")}


def interleaved(commands: dict[str, list[str]], env: dict[str, str], runs: int) -> dict:
    """Round-robin runs (A B C A B C ...), so a change in machine load hits
    every command alike; wall time and child CPU time (user + system) per run."""
    import resource

    wall: dict[str, list[float]] = {n: [] for n in commands}
    cpu: dict[str, list[float]] = {n: [] for n in commands}
    for i in range(runs + 3):
        for name, argv in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            elapsed = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if i >= 3:  # the first rounds warm the caches
                wall[name].append(elapsed)
                cpu[name].append(
                    after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                )
    return {
        n: (statistics.median(wall[n]), min(wall[n]), statistics.median(cpu[n])) for n in commands
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument(
        "--also-python",
        metavar="PYTHON",
        help="Another interpreter (e.g. a venv with another typer) to time side by side;"
        " it runs leadctl from this checkout via PYTHONPATH.",
    )
    args = ap.parse_args()

    now = datetime.now(UTC).replace(microsecond=0)
    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / "followups-100k.db"
    if args.rebuild or not db.exists():
        t = time.perf_counter()
        build_leadctl_db(db, now)
        print(f"built {db.name} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    tw_env = build_taskwarrior(WORK / "taskwarrior", now)
    mini = WORK / "minimal_typer.py"
    mini.write_text(MINIMAL_APP)

    python = sys.executable
    leadctl = str(Path(python).parent / "leadctl")
    subprocess.run([python, "-m", "compileall", "-q", str(ROOT / "leadctl")], check=True)
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "LEADCTL_NOW")
    }
    env.update(LEADCTL_DB=str(db), LEADCTL_TZ="UTC", **tw_env)
    due = subprocess.run([leadctl, "followups"], env=env, capture_output=True, text=True)
    rows = len(due.stdout.splitlines())
    print(f"leadctl followups prints {rows} rows (exit {due.returncode})", file=sys.stderr)

    commands = {
        "leadctl followups": [leadctl, "followups"],
        # Through Typer (an option the fast path leaves to it), for comparison.
        "leadctl followups --kind": [leadctl, "followups", "--kind", "call"],
        "task next": ["task", "next"],
        "minimal typer app": [python, str(mini)],
        "python -c pass": [python, "-c", "pass"],
    }
    if args.also_python:
        other = args.also_python
        version = subprocess.run(
            [other, "-c", "import importlib.metadata as m; print(m.version('typer'))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        subprocess.run([other, "-m", "compileall", "-q", str(ROOT / "leadctl")], check=True)
        commands[f"leadctl (typer {version})"] = [other, "-m", "leadctl", "followups"]
        commands[f"minimal (typer {version})"] = [other, str(mini)]
        env["PYTHONPATH"] = str(ROOT)
    # 1. hyperfine, one command after the other (the method).
    if shutil.which("hyperfine"):
        out = WORK / "hyperfine.json"
        cmd = ["hyperfine", "-N", "--warmup", "3", "--runs", str(args.runs),
               "--export-json", str(out)]  # fmt: skip
        for name, argv in commands.items():
            cmd += ["-n", name, " ".join(argv)]
        subprocess.run(cmd, env=env, check=True, stdout=sys.stderr)
        hf = {
            r["command"]: (r["median"], r["min"], r["user"] + r["system"])
            for r in json.loads(out.read_text())["results"]
        }
        report("hyperfine", hf)
    else:
        print("hyperfine not installed (apt-get install -y hyperfine)", file=sys.stderr)
    # 2. Interleaved: fairer when other processes load the machine.
    report("interleaved (round-robin)", interleaved(commands, env, args.runs))


def report(title: str, res: dict[str, tuple[float, float, float]]) -> None:
    """Median wall, fastest wall, median CPU per command, and the two ratios."""
    print(f"\n{title}: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"  {'command':<26} {'median':>9} {'min':>9} {'cpu':>9}")
    for name, (med, low, cpu) in res.items():
        print(f"  {name:<26} {med * 1000:7.1f}ms {low * 1000:7.1f}ms {cpu * 1000:7.1f}ms")
    lc = res["leadctl followups"]
    for other, target in (("task next", 1.5), ("minimal typer app", 1.1)):
        o = res[other]
        print(
            f"  leadctl / {other:<18} = {lc[0] / o[0]:.2f}x median, {lc[1] / o[1]:.2f}x min,"
            f" {lc[2] / o[2]:.2f}x cpu  (target <= {target}x)"
        )


if __name__ == "__main__":
    main()
