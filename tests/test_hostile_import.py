"""The hostile corpus through `import` and `export`.

Imported from a CSV file: stored exactly (round trip through JSON).
Exported to CSV: every formula-like cell neutralised, every row intact (CR and
LF inside values quoted). Broken files (invalid UTF-8, NUL bytes): a clear
answer, nothing half-imported. Export files honour the umask.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import stat

import pytest
from hostile import ACCEPTED, formula_cells

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("leadctl.exporter") is None, reason="needs leadctl import/export"
)


def _corpus_csv(path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "company", "city", "source", "external_id", "email"])
        for n, (key, value) in enumerate(ACCEPTED.items()):
            w.writerow([value, value, value, value, f"{key}-{n}", f"h{n}@example.com"])


@pytest.fixture
def imported(cli, tmp_path) -> dict[str, dict]:
    src = tmp_path / "hostile.csv"
    _corpus_csv(src)
    cli("import", str(src))
    leads = cli.json("list", "--limit", "1000")
    by_ext = {lead["external_id"]: lead for lead in leads}
    return {key: by_ext[f"{key}-{n}"] for n, key in enumerate(ACCEPTED)}


def test_import_stores_exactly(imported) -> None:
    for key, value in ACCEPTED.items():
        lead = imported[key]
        for field in ("name", "company", "city", "source"):
            assert lead[field] == value.strip(), (key, field)


def test_export_csv_is_formula_safe_and_row_exact(cli, imported) -> None:
    text = cli("export", "--format", "csv").stdout
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(ACCEPTED) + 1  # no value split a row
    assert formula_cells(rows) == []
    header = rows[0]
    names = [r[header.index("name")] for r in rows[1:]]
    for value in ACCEPTED.values():
        v = value.strip().replace("\r\n", "\n")  # the test runner folds CRLF in stdout
        assert v in names or "'" + v in names


def test_export_json_round_trip(cli, imported) -> None:
    out = json.loads(cli("export", "--format", "json").stdout)
    by_ext = {lead["external_id"]: lead for lead in out}
    for n, (key, value) in enumerate(ACCEPTED.items()):
        assert by_ext[f"{key}-{n}"]["name"] == value.strip(), key


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_export_file_honours_the_umask(cli, tmp_path, umask) -> None:
    cli("add", "Budi", "--phone", "0812-3456-7890")
    target = tmp_path / f"out-{umask:o}.csv"
    old = os.umask(umask)
    try:
        cli("export", "--format", "csv", "--output", str(target))
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(
    ("payload", "code", "says", "imported"),
    [
        (b"name,email\nBudi \xff\xfe,budi@example.com\nAni,ani@example.com\n", 0,
         "not valid UTF-8", 2),
        (b"name,email\nBu\x00di,budi@example.com\nAni,ani@example.com\n", 0, "NUL byte", 1),
        (b"\x00\x01\x02\x03" * 100, 2, "binary", 0),
        (b"", 2, "empty", 0),
        (b"\xef\xbb\xbfname,email\r\nCitra,citra@example.com\r\n", 0, "", 1),
    ],
    ids=["invalid-utf8", "nul-in-row", "binary", "empty", "bom-crlf"],
)  # fmt: skip
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_broken_files_get_a_clear_answer(cli, tmp_path, payload, code, says, imported, via):
    src = tmp_path / "broken.csv"
    src.write_bytes(payload)
    if via == "file":
        r = cli("import", str(src), ok=False)
    else:
        r = cli("import", "-", input=payload, ok=False)
    assert r.exit_code == code, r.stderr
    assert "Traceback" not in r.stderr and says in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == (1 if code else 0), r.stderr
    leads = cli.json("list")
    assert len(leads) == imported
    for lead in leads:
        assert "\x00" not in json.dumps(lead)
    assert cli.json("db", "check")["ok"] is True


def test_jsonl_import_of_the_corpus(cli, tmp_path) -> None:
    from hostile import REJECTED

    src = tmp_path / "hostile.jsonl"
    rows = [
        {"name": v, "company": v, "external_id": f"ok-{n}"} for n, v in enumerate(ACCEPTED.values())
    ]
    rows += [{"name": v, "external_id": f"bad-{n}"} for n, v in enumerate(REJECTED.values())]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    r = cli("import", str(src), ok=False)
    assert r.exit_code == 0, r.stderr
    rejected = [line for line in r.stderr.splitlines() if line.startswith("Rejected")]
    assert len(rejected) == len(REJECTED)
    assert all(len(line) < 300 for line in rejected)  # the value is not echoed
    by_ext = {lead["external_id"]: lead for lead in cli.json("list", "--limit", "1000")}
    for n, value in enumerate(ACCEPTED.values()):
        assert by_ext[f"ok-{n}"]["name"] == value.strip()
        assert by_ext[f"ok-{n}"]["company"] == value.strip()
    assert not any(k.startswith("bad-") for k in by_ext)
