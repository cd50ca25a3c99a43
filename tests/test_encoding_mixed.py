"""A file that is UTF-8 except for a few bytes is refused, never read whole as
cp1252 (which would store every accented name as mojibake); a real cp1252
export is still read, with a warning; an explicit --encoding always wins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadctl import import_source
from leadctl.errors import ValidationError

UTF8_ROWS = "Name,Email\nJosé Ütf,u1@x.com\n"


def _import(cli: Any, path: Path, *args: str) -> Any:
    return cli("import", str(path), *args, "--format", "json", ok=False)


def _names(cli: Any) -> list[str]:
    return [lead["name"] for lead in cli.json("list")]


def test_utf8_file_with_one_cp1252_line_is_refused_with_its_line(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(UTF8_ROWS.encode() + "Renée Latin,u2@x.com\n".encode("cp1252"))
    r = _import(cli, path)
    assert r.exit_code == 2 and r.stdout == ""
    message = r.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert "mixed.csv holds UTF-8 text" in message
    assert "byte 0xE9 on line 3" in message
    assert "re-save the file as UTF-8" in message and "--encoding cp1252" in message
    assert cli.json("list") == []


def test_the_bad_byte_first_and_utf8_later_is_refused_too(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UTF-8 text comes after the first bad byte, chunks apart: the line
    named is the bad byte's, and nothing is stored."""
    monkeypatch.setattr(import_source, "CHUNK", 64)
    rows = ["Name,Email"] + [f"Ascii {i},a{i}@x.com" for i in range(20)]
    data = "\n".join(rows).encode() + b"\nRen\xe9e,r@x.com\n"
    data += b"".join(f"Nama Ädi {i},n{i}@x.com\n".encode() for i in range(20))
    path = tmp_path / "late.csv"
    path.write_bytes(data)
    r = _import(cli, path)
    assert r.exit_code == 2
    assert "byte 0xE9 on line 22 is not valid UTF-8" in r.stderr
    assert cli.json("list") == []


def test_many_utf8_rows_and_one_bad_byte_at_the_end(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_source, "CHUNK", 256)
    body = "".join(f"Nama Ädi {i},n{i}@x.com\r\n" for i in range(300))
    path = tmp_path / "lateinvalid.csv"
    path.write_bytes(b"Name,Email\r\n" + body.encode() + b"Bad \xff\xfe byte,zz@x.com\r\n")
    r = _import(cli, path)
    assert r.exit_code == 2
    assert "byte 0xFF on line 302" in r.stderr
    assert cli.json("list") == []


def test_bom_file_with_a_cp1252_byte_is_refused(cli: Any, tmp_path: Path) -> None:
    """Read as cp1252, the BOM became 'ï»¿Name': no lead had a name."""
    path = tmp_path / "bomcp.csv"
    path.write_bytes(b"\xef\xbb\xbfName,Email\nRen\xe9e,r@x.com\n")
    r = _import(cli, path)
    assert r.exit_code == 2
    assert "starts with a UTF-8 byte order mark" in r.stderr
    assert "byte 0xE9 on line 2" in r.stderr
    assert cli.json("list") == []


def test_a_cut_character_at_the_end_of_a_utf8_file_is_refused(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_bytes(UTF8_ROWS.encode() + b"Ren\xc3")
    r = _import(cli, path)
    assert r.exit_code == 2 and "byte 0xC3 on line 3" in r.stderr


def test_jsonl_with_utf8_and_a_cp1252_line_is_refused(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    first = json.dumps({"name": "José", "email": "j@x.com"}, ensure_ascii=False) + "\n"
    second = json.dumps({"name": "Renée", "email": "r@x.com"}, ensure_ascii=False) + "\n"
    path.write_bytes(first.encode() + second.encode("cp1252"))
    r = _import(cli, path)
    assert r.exit_code == 2 and "line 2" in r.stderr
    assert cli.json("list") == []


def test_a_pure_cp1252_file_is_still_read_with_a_warning(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    text = "Name,Email,City\nJosé García,j@x.com,Málaga\nRenée,r@x.com,Zürich\nÖmer,o@x.com,Köln\n"
    path.write_bytes(text.encode("cp1252"))
    r = _import(cli, path)
    assert r.exit_code == 0, r.stderr
    summary = r.json()
    assert summary["encoding"] == "cp1252" and summary["inserted"] == 3
    assert [w["warning"] for w in summary["warnings"]] == [
        "excel.csv is not valid UTF-8; it was read as Windows-1252 (cp1252). "
        "If names look wrong, pass the right --encoding (e.g. latin-1)."
    ]
    assert sorted(_names(cli)) == ["José García", "Renée", "Ömer"]
    assert {lead["city"] for lead in cli.json("list")} == {"Málaga", "Zürich", "Köln"}


def test_bytes_undefined_in_cp1252_are_still_refused(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "undef.csv"
    path.write_bytes(b"Name,Email\nA\x81b,a@x.com\n")
    r = _import(cli, path)
    assert r.exit_code == 2 and "not valid UTF-8 and not Windows-1252" in r.stderr


def test_explicit_cp1252_reads_the_mixed_file_as_asked(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(UTF8_ROWS.encode() + "Renée Latin,u2@x.com\n".encode("cp1252"))
    r = _import(cli, path, "--encoding", "cp1252")
    assert r.exit_code == 0, r.stderr
    assert r.json()["encoding"] == "cp1252" and r.json()["warnings"] == []
    # The user said cp1252: the UTF-8 line is read as cp1252, as told.
    assert sorted(_names(cli)) == ["JosÃ© Ãœtf", "Renée Latin"]


def test_explicit_utf8_is_never_switched_to_cp1252(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("Name,Email\nRenée,r@x.com\n".encode("cp1252"))
    r = _import(cli, path, "--encoding", "utf-8-sig")
    assert r.exit_code == 2 and "excel.csv is not valid UTF-8: byte 0xE9 on line 2" in r.stderr
    assert cli.json("list") == []


def test_explicit_utf8_is_checked_before_anything_is_stored(cli: Any, tmp_path: Path) -> None:
    """A bad byte far into the file: refused up front with its line, not
    after the first batches were imported with a byte position."""
    path = tmp_path / "late.csv"
    rows = "".join(f"Nama {i},n{i}@x.com\n" for i in range(30_000))
    path.write_bytes(f"Name,Email\n{rows}".encode() + b"Bad \xff,bad@x.com\n")
    for enc in ("utf-8", "UTF8", "utf-8-sig"):
        r = _import(cli, path, "--encoding", enc)
        assert r.exit_code == 2 and "byte 0xFF on line 30002" in r.stderr, enc
        assert "--encoding cp1252" in r.stderr
    assert cli.json("list") == []


def test_valid_utf8_with_and_without_bom_is_untouched(tmp_path: Path) -> None:
    for name, data in (
        ("plain.csv", UTF8_ROWS.encode()),
        ("bom.csv", b"\xef\xbb\xbf" + UTF8_ROWS.encode()),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        info = import_source.inspect_file(path, name=name)
        assert (info.encoding, info.warnings, info.size) == ("utf-8-sig", [], len(data))


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"a\nb\nc\xe9\n", 3),
        (b"a\r\nb\r\nc\xe9\r\n", 3),
        (b"a\rb\rc\xe9\r", 3),  # lone CRs end lines, as the CSV reader counts them
        (b"a\r\n\r\n\n\rc\xe9", 5),
        (b"\xe9", 1),
    ],
)
def test_the_bad_byte_line_counts_line_ends_like_the_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, line: int
) -> None:
    for chunk in (1, 2, 3, 1 << 20):  # a CR LF cut between two reads is one line end
        monkeypatch.setattr(import_source, "CHUNK", chunk)
        path = tmp_path / "lines.csv"
        path.write_bytes("é,".encode() + data)
        with pytest.raises(ValidationError, match=rf"byte 0xE9 on line {line} "):
            import_source.inspect_file(path, name="lines.csv")


# ---- property: any mix of ASCII, UTF-8 and cp1252 lines, any chunk size ----

# cp1252 letters whose bytes are all UTF-8 lead bytes (0xC0 and up): next to
# each other or to ASCII they never form a valid UTF-8 sequence, so a line of
# them is unambiguously not UTF-8.
_CP1252_ONLY = "éèüñöäàçÄÖÜÉ"
_line = st.tuples(
    st.sampled_from(["ascii", "utf8", "cp1252"]),
    st.text(alphabet="abc xyz", max_size=6),
    st.text(alphabet=_CP1252_ONLY, min_size=1, max_size=3),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(_line, min_size=1, max_size=12),
    chunk=st.sampled_from([1, 2, 5, 16, 1 << 20]),
    bom=st.booleans(),
)
def test_mixed_files_property(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[tuple[str, str, str]],
    chunk: int,
    bom: bool,
) -> None:
    """UTF-8 throughout: read as UTF-8. cp1252 lines only (no BOM): read as
    cp1252, every name right. Any sign of UTF-8 (a BOM, a UTF-8 letter)
    plus a cp1252 line: refused, naming the first cp1252 line."""
    data = b"\xef\xbb\xbf" if bom else b""
    text = ""  # what the file says
    first_bad = None
    for n, (kind, ascii_part, accents) in enumerate(lines, start=1):
        line = ascii_part + ("" if kind == "ascii" else accents) + "\n"
        text += line
        data += line.encode("cp1252" if kind == "cp1252" else "utf-8")
        if kind == "cp1252":
            first_bad = first_bad or n
    path = tmp_path_factory.mktemp("mix") / "mix.csv"
    path.write_bytes(data)
    looks_utf8 = bom or any(kind == "utf8" for kind, _, _ in lines)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(import_source, "CHUNK", chunk)
        if first_bad is None:
            assert import_source.inspect_file(path, name="mix.csv").encoding == "utf-8-sig"
            assert path.read_text(encoding="utf-8-sig") == text
        elif looks_utf8:
            with pytest.raises(ValidationError, match=rf"on line {first_bad} is not valid UTF-8"):
                import_source.inspect_file(path, name="mix.csv")
        else:
            info = import_source.inspect_file(path, name="mix.csv")
            assert info.encoding == "cp1252" and info.warnings
            assert path.read_text(encoding=info.encoding) == text
