"""Property tests over the import/export option parsers (--map, --stage-map,
--key) and the per-value converters an import runs on every cell."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

importer = pytest.importorskip("leadctl.importer")
headers = pytest.importorskip("leadctl.headers")
import_values = pytest.importorskip("leadctl.import_values")

from test_props import JAKARTA, NOW, SETTINGS, date_text, money_text, nasty_text, only_ours  # noqa: E402

from leadctl.errors import ValidationError  # noqa: E402

field_names = st.sampled_from(
    [*headers.TARGETS, "Name", "E-Mail", "phone ", "nope", "", "field:x", "fields.x"]
)
map_items = st.lists(
    st.tuples(field_names | nasty_text, st.sampled_from(["=", "", "=="]), nasty_text).map("".join),
    max_size=4,
)


@SETTINGS
@given(map_items)
@example(["name=Full Name", "email=E-mail Address"])
@example(["name="])
def test_parse_map(items) -> None:
    result = only_ours(importer.parse_map, items)
    if result is not None:
        assert set(result) <= set(headers.TARGETS)
        again = importer.parse_map([f"{k}={v}" for k, v in result.items()])
        assert again == result


@SETTINGS
@given(nasty_text | st.lists(st.tuples(nasty_text, nasty_text).map("=".join)).map(",".join))
@example("Engaging=contacted,Prospecting=new,Won=won")
@example("=,=")
def test_parse_stage_map(text) -> None:
    result = only_ours(importer.parse_stage_map, text)
    if result is not None:
        again = importer.parse_stage_map(",".join(f"{k}={v}" for k, v in result.items()))
        assert again == result


@SETTINGS
@given(st.lists(nasty_text | st.sampled_from(["email", "phone,email", "ID", "none", "ext"])))
def test_parse_keys(items) -> None:
    result = only_ours(importer.parse_keys, items)
    if result is not None:
        assert importer.parse_keys(list(result) or ["none"]) == result


@SETTINGS
@given(nasty_text)
def test_header_recognition_never_raises(text) -> None:
    key = headers.header_key(text)
    assert headers.header_key(key) == key
    headers.recognise(text)


@SETTINGS
@given(money_text, st.sampled_from(["IDR", "USD"]))
def test_import_money(text, currency) -> None:
    result = only_ours(import_values.money, text, currency)
    if result is not None:
        assert isinstance(result, int) and result >= 0


@SETTINGS
@given(nasty_text | st.emails())
def test_import_email(text) -> None:
    result = only_ours(import_values.email, text)
    if result is not None:
        assert import_values.email(result) == result


@SETTINGS
@given(date_text, st.booleans())
def test_import_dates(text, dayfirst) -> None:
    parse = import_values.make_date_parser(NOW, JAKARTA, dayfirst)
    result = only_ours(parse, text)
    if result is not None:
        assert parse(result) == result


# ---- the bulk path's pieces: cutting a CSV file changes none of its records ----

cell_text = st.text(alphabet='ab "\r\n,;é\x00', max_size=8)
csv_line = st.lists(cell_text, min_size=1, max_size=4)
raw_line = st.text(alphabet='ab "\r\n,', max_size=12)  # stray quotes, bare CRs


def _csv_bytes(records: list[list[str] | str], newline: str) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(["name", "email", "note"])
    for rec in records:
        if isinstance(rec, str):
            out.write(rec + newline)
        else:
            writer.writerow(rec)
    return out.getvalue().encode("utf-8")


def _read_in_pieces(info, header, starts, parts):
    """What the parent receives from `parts` children reading their pieces
    (importer._WorkerBatches: in turn, one child alone after a takeover)."""
    kids = [importer._piece_chunks(info, header, starts, 3, p, parts) for p in range(parts)]
    turn, number, got, took = list(range(parts)), 0, [], False
    while True:
        part = turn[number % len(turn)]
        number += 1
        msg = next(kids[part], None)
        if msg is None:
            return got, took
        chunk, _position, takeover, clean = msg
        if clean:  # the converter then skips its own checks: they must hold
            assert all("\x00" not in v and len(v) <= 10_000 for r in chunk for v in r[3] or ())
        got += chunk
        if takeover:
            turn, number, took = [part], 0, True


@SETTINGS
@given(
    st.lists(csv_line | raw_line, max_size=25),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=2, max_value=3),
    st.booleans(),
    st.sampled_from([1 << 20, 64, 33, 24]),  # the header and a BOM fit in the first read
)
@example([['5" screen'], ["a\nb", "c"], ["d"]], "\n", 1, 2, False, 1 << 20)  # a cut in quotes
@example([["x"], '"open'], "\r\n", 1, 2, True, 1 << 20)  # a quote not closed at the end
@example(['"', [";,"], ["\n"]], "\n", 1, 2, False, 1 << 20)  # a blank record across a cut
# The header takes 17 bytes; reads of 24 from there end between this CR and its LF.
@example([["abcdefghijklmnopqrstuvw"], ["x"]], "\r\n", 1, 2, False, 24)
def test_pieces_read_what_one_reader_reads(
    tmp_path_factory, records, newline, step, parts, bom, chunk
):
    """`chunk`: record_starts' read size (small ones put line ends, CR LF
    pairs and quotes across two reads)."""
    from leadctl import import_source

    path = tmp_path_factory.mktemp("pieces") / "leads.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + _csv_bytes(records, newline))
    try:
        info = import_source.inspect_file(path, name="leads.csv")
    except ValidationError:  # mostly NULs: refused as a binary file
        assume(False)
    with path.open("r", encoding=info.encoding, newline="") as fh:
        reader = import_source.open_reader(info, fh)
        reader.dicts[0] = False
        whole = list(reader.rows)
        header, header_line = reader.header, reader.header_line
    read_size = import_source.CHUNK
    import_source.CHUNK = chunk
    try:
        starts = import_source.record_starts(path, header_line, step, ramp=(step // 3, 0, 1))
    finally:
        import_source.CHUNK = read_size
    if not starts:
        assert not whole
        return
    got, _took = _read_in_pieces(info, header, starts, parts)
    assert got == whole
