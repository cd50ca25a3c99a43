"""An import's rejects keep memory flat: past a limit they go to a temporary
file, and `--format json` streams them, in line order, exactly as it prints
a list held in memory."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from leadctl import spool
from leadctl.render import emit_object, json_dumps
from leadctl.spool import LineSpool


@given(st.lists(st.tuples(st.integers(1, 50), st.text(max_size=8)), max_size=60),
       st.integers(0, 10))  # fmt: skip
def test_reads_back_ordered_by_line_then_arrival(items: list[tuple[int, str]], limit: int) -> None:
    sp = LineSpool("reason", limit=limit)
    for line, text in items:
        sp.append({"line": line, "reason": text})
    want = [{"line": ln, "reason": t} for ln, t in sorted(items, key=lambda x: x[0])]
    assert list(sp) == want
    assert len(sp) == len(want) and bool(sp) == bool(want)
    assert sp[:3] == want[:3] and sp == want
    if want:
        assert sp[0] == want[0] and sp[-1] == want[-1]


def test_past_the_limit_nothing_stays_in_memory() -> None:
    sp = LineSpool("reason", limit=10)
    for i in range(5000, 0, -1):
        sp.append({"line": i, "reason": "x" * 100})
    assert sp._mem == [] and len(sp._pending) < 1000  # in the temporary database
    assert [r["line"] for r in sp[:3]] == [1, 2, 3] and len(sp) == 5000


@given(st.lists(st.tuples(st.integers(1, 9), st.text(max_size=5)), max_size=8),
       st.sampled_from(["json", "jsonl"]))  # fmt: skip
def test_streamed_json_is_the_json_of_the_list(items: list[tuple[int, str]], fmt: str) -> None:
    sp = LineSpool("reason", limit=2)
    for line, text in items:
        sp.append({"line": line, "reason": text})
    obj = {"inserted": 1, "rejected": sp, "warnings": [{"line": None, "warning": "w"}]}
    out = io.StringIO()
    emit_object(obj, fmt, out=out)
    plain = {**obj, "rejected": list(sp)}
    assert out.getvalue() == json_dumps(plain, indent=2 if fmt == "json" else None) + "\n"
    assert json.loads(out.getvalue()) == plain


def test_an_import_with_many_rejects_lists_each_in_order(
    cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    rows = ["Name,Email,Created"]
    for i in range(60):
        rows.append(f"P{i},p{i}@x.com,2026-01-01" if i % 3 else f"P{i},not-an-email-{i},2026-01-01")
    path = tmp_path / "dirty.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    def run(db: str) -> dict[str, Any]:
        r = cli("--db", str(tmp_path / db), "import", str(path), "--format", "json")
        return json.loads(r.stdout)

    held = run("a.db")
    monkeypatch.setattr(spool, "SPILL_AFTER", 3)
    spilled = run("b.db")
    assert [r["line"] for r in spilled["rejected"]] == [2 + i for i in range(0, 60, 3)]
    assert all("e-mail" in r["reason"] for r in spilled["rejected"])
    for key in ("seconds", "import_id"):
        held.pop(key), spilled.pop(key)
    assert spilled == held and spilled["inserted"] == 40


def _lenient_file(tmp_path: Path) -> Path:
    rows = ["Name,Email,Phone"]
    for i in range(400):
        rows.append(f"P{i},p{i}@x.com,0812{i:08d}" if i % 4 else f"P{i},bad-{i},0812{i:08d}")
    path = tmp_path / "lenient.csv"
    path.write_bytes(("\n".join(rows) + "\nCaf\xe9,cafe@x.com,\n").encode("cp1252"))
    return path


def test_warnings_are_kept_in_line_order_on_every_path(
    cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """--lenient warns once per bad e-mail: the warnings (the file's own,
    line None, first) come out the same held or spilled, in-process or
    from the converting child (big file: warnings sent with each batch)."""
    from leadctl import importer

    path = _lenient_file(tmp_path)

    def run(db: str, *args: str) -> dict[str, Any]:
        r = cli("--db", str(tmp_path / db), "import", str(path), "--lenient", "--format", "json",
                *args)  # fmt: skip
        out = json.loads(r.stdout)
        for key in ("seconds", "import_id"):
            out.pop(key)
        return out

    held = run("a.db")
    assert held["warnings"][0]["line"] is None  # read as cp1252
    lines = [w["line"] for w in held["warnings"][1:]]
    assert lines == [2 + i for i in range(0, 400, 4)]
    monkeypatch.setattr(spool, "SPILL_AFTER", 3)
    assert run("b.db") == held
    monkeypatch.setattr(importer, "BIG_ROWS", 100)
    monkeypatch.setattr(importer, "BIG_COMMIT_ROWS", 250)
    monkeypatch.setattr(importer, "PIECE_MIN_BYTES", 0)
    started: list[int] = []
    init = importer._WorkerBatches.__init__

    def spy(self: Any, start: Any, warnings: LineSpool, parts: int = 1) -> None:
        started.append(parts)
        init(self, start, warnings, parts)

    monkeypatch.setattr(importer._WorkerBatches, "__init__", spy)
    big = run("c.db", "--on-duplicate", "update", "--batch-size", "50")
    assert started == [1]  # one converting child, batches with their warnings
    assert big["warnings"] == held["warnings"] and big["inserted"] == held["inserted"] == 401
