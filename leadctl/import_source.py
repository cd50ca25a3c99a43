"""Reading import files: encoding, dialect, physical line numbers, never a traceback.

`inspect_file` looks at the bytes once (hash for resume, encoding check, binary
check, delimiter); `read_rows` then yields `(line, row, error)` where `line` is
the physical line in the file where the record starts (a quoted field with
newlines spans several lines; blank lines count) and `row` maps header -> value.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadctl.errors import ValidationError
from leadctl.headers import unique_headers

CHUNK = 1 << 20
# A field bigger than this is refused by the CSV reader (the row is rejected);
# Python's default, 128 KiB, is too small for a long note pasted in a cell.
FIELD_LIMIT = 16 << 20
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "\\t": "\t", "|": "|", "pipe": "|"}
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx or .ods spreadsheet?)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file (.xls)"),
    (b"%PDF", "a PDF file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip file"),
)

Row = dict[str, Any]


@dataclass
class SourceInfo:
    path: Path
    size: int
    sha256: str
    encoding: str
    format: str  # csv | jsonl
    delimiter: str
    warnings: list[str] = field(default_factory=list)
    name: str = ""  # what messages call the file ("stdin" for -)


def _refuse_binary(head: bytes, name: str) -> None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise ValidationError(
                f"{name} is {what}, not a CSV or JSON lines file",
                "Save it as CSV (UTF-8) from the spreadsheet and import that.",
            )
    sample = head[:8192]
    if sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
        if controls > len(sample) // 10:
            raise ValidationError(
                f"{name} looks like a binary file, not text",
                "Import a CSV or JSON lines file (save the spreadsheet as CSV).",
            )


def inspect_file(
    path: Path,
    *,
    name: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    input_format: str | None = None,
) -> SourceInfo:
    """Hash the file, settle its encoding and format; refuse what cannot be text."""
    digest = hashlib.sha256()
    size = 0
    warnings: list[str] = []
    with path.open("rb") as fh:
        head = fh.read(CHUNK)
        _refuse_binary(head, name)
        if encoding:
            try:
                codecs.lookup(encoding)
            except LookupError as exc:
                raise ValidationError(
                    f"Unknown encoding {encoding!r}", "Examples: utf-8, cp1252, latin-1, utf-16."
                ) from exc
            enc = encoding
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            enc = "utf-16"
        else:
            enc = "utf-8-sig"
        # Without --encoding, a file that is not UTF-16 is checked as UTF-8
        # while it is hashed; an explicit --encoding is taken as given, but an
        # explicit UTF-8 is checked too: a bad byte found half-way through the
        # import would stop it after its first batches, without a line number.
        said_utf8 = bool(encoding) and codecs.lookup(enc).name in ("utf-8", "utf-8-sig")
        check = _Utf8Check() if (not encoding and enc == "utf-8-sig") or said_utf8 else None
        chunk = head
        while chunk:
            digest.update(chunk)
            size += len(chunk)
            if check is not None:
                check.feed(chunk)
                if check.bad_at is not None and (check.multibyte or _has_bom(head) or said_utf8):
                    break  # refused below: the rest need not be read
            chunk = fh.read(CHUNK)
    if check is not None and check.bad_at is None:
        check.finish()
    if check is not None and check.bad_at is not None and said_utf8:
        raise ValidationError(
            f"{name} is not valid UTF-8: byte 0x{check.bad_byte:02X} on line "
            f"{_line_of(path, check.bad_at)}",
            "Fix that line, or give the file's real encoding (e.g. --encoding cp1252).",
        )
    if check is not None and check.bad_at is not None:
        enc = _fallback_encoding(path, name, head, check)
        warnings.append(
            f"{name} is not valid UTF-8; it was read as Windows-1252 (cp1252). "
            "If names look wrong, pass the right --encoding (e.g. latin-1)."
        )
    text_head = _decode_head(head, enc, name)
    fmt = input_format or _guess_format(path, text_head)
    if fmt == "json":
        fmt = "jsonl"
    if fmt not in ("csv", "jsonl"):
        raise ValidationError(f"Unknown input format {fmt!r}", "Use csv or jsonl.")
    if (
        fmt == "jsonl"
        and text_head.lstrip().startswith("[")
        and not _one_object_per_line(text_head)
    ):
        fmt = "json-array"
    if delimiter:
        if delimiter.lower() not in DELIMITERS and len(delimiter) != 1:
            raise ValidationError(
                f"{delimiter!r} is not a delimiter", "Use one character, e.g. ';', or 'tab'."
            )
        delim = DELIMITERS.get(delimiter.lower(), delimiter)
    else:
        delim = _sniff_delimiter(text_head)
    return SourceInfo(path, size, digest.hexdigest(), enc, fmt, delim, warnings, name)


def _has_bom(head: bytes) -> bool:
    return head.startswith(codecs.BOM_UTF8)


# The bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D), from the codec.
_CP1252_UNDEFINED = tuple(
    bytes([b]) for b in range(0x80, 0x100) if bytes([b]).decode("cp1252", "ignore") == ""
)


class _Utf8Check:
    """Fed a file's bytes in order, finds whether they are UTF-8; if not,
    where the first bad byte is, whether the file holds UTF-8 characters
    anyway (a valid sequence of 2-4 bytes: 'é' is C3 A9, which cp1252 reads
    as 'Ã©') and whether every byte is defined in cp1252.

    Valid UTF-8 is decoded strictly, an ASCII chunk skipped (a check ~3x
    cheaper than decoding it). After the first bad byte, a second decoder
    drops bad bytes: what it returns is non-ASCII only if a valid multi-byte
    sequence was there. Both run in C at ~1 GB/s on mostly-ASCII text, so a
    real cp1252 file costs one pass (the hash's), not a second one.
    """

    def __init__(self) -> None:
        self._strict = codecs.getincrementaldecoder("utf-8")()
        self._lenient: codecs.IncrementalDecoder | None = None
        self._offset = 0  # bytes fed so far
        self.bad_at: int | None = None  # offset of the first byte that is not UTF-8
        self.bad_byte = 0
        self.multibyte = False  # a valid UTF-8 sequence of 2-4 bytes seen
        self.cp1252 = True  # no byte undefined in cp1252 seen after bad_at

    def feed(self, chunk: bytes) -> None:
        if self.bad_at is not None:
            self._after_bad(chunk)
        elif not (chunk.isascii() and not self._strict.getstate()[0]):
            pending = len(self._strict.getstate()[0])  # bytes of a cut character
            try:
                text = self._strict.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.object is the pending bytes + chunk; all before start is UTF-8.
                self.bad_at = self._offset - pending + exc.start
                self.bad_byte = exc.object[exc.start]
                self.multibyte |= not exc.object[: exc.start].isascii()
                self._after_bad(exc.object[exc.start :])
            else:
                self.multibyte |= not text.isascii()
        self._offset += len(chunk)

    def finish(self) -> None:
        """The end of the file: a character cut short there is a bad byte."""
        pending = self._strict.getstate()[0]
        try:
            self._strict.decode(b"", final=True)
        except UnicodeDecodeError:
            self.bad_at = self._offset - len(pending)
            self.bad_byte = pending[0]
            self._after_bad(pending)

    def _after_bad(self, data: bytes) -> None:
        if self._lenient is None:
            self._lenient = codecs.getincrementaldecoder("utf-8")("ignore")
        if not self.multibyte:
            self.multibyte = not self._lenient.decode(data).isascii()
        if self.cp1252:
            self.cp1252 = not any(b in data for b in _CP1252_UNDEFINED)


def _fallback_encoding(path: Path, name: str, head: bytes, check: _Utf8Check) -> str:
    """The encoding of a file that is not valid UTF-8, or a refusal.

    cp1252 is what Excel on Windows writes, and it decodes nearly any bytes:
    so it is only taken for a file that shows no sign of UTF-8. A file with
    a UTF-8 BOM or UTF-8 characters, plus a stray byte (two exports pasted
    together, a line edited in another program), read as cp1252 would store
    every accented name as mojibake ('José' as 'JosÃ©'): refuse it and say
    where the bad byte is. Five byte values are undefined in cp1252, so a
    file that holds one is something else: refuse, never guess.
    """
    assert check.bad_at is not None
    if _has_bom(head) or check.multibyte:
        why = "starts with a UTF-8 byte order mark" if _has_bom(head) else "holds UTF-8 text"
        raise ValidationError(
            f"{name} {why}, but byte 0x{check.bad_byte:02X} on line "
            f"{_line_of(path, check.bad_at)} is not valid UTF-8",
            "Fix that line or re-save the file as UTF-8; if the whole file really "
            "is Windows-1252, pass --encoding cp1252.",
        )
    if not check.cp1252:
        raise ValidationError(
            f"{name} is not valid UTF-8 and not Windows-1252 text",
            "Tell leadctl its encoding, e.g. --encoding latin-1 (or utf-16, cp1250).",
        )
    return "cp1252"


def _line_of(path: Path, offset: int) -> int:
    """The physical line that holds byte `offset`, counting line ends as the
    CSV reader does (LF, CR LF, a lone CR)."""
    line, cr = 1, False
    with path.open("rb") as fh:
        left = offset
        while left > 0 and (buf := fh.read(min(CHUNK, left))):
            left -= len(buf)
            line += buf.count(b"\n") + buf.count(b"\r") - buf.count(b"\r\n")
            if cr and buf.startswith(b"\n"):
                line -= 1  # a CR LF cut between two reads: one line end
            cr = buf.endswith(b"\r")
    return line


def _decode_head(head: bytes, enc: str, name: str) -> str:
    try:
        return codecs.getincrementaldecoder(enc)(errors="strict").decode(head[:65536])
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{name} cannot be read as {enc}", "Pass the right --encoding, e.g. latin-1."
        ) from exc


def _guess_format(path: Path, head: str) -> str:
    """JSON lines for a .jsonl/.ndjson/.json name or a first line that starts
    with "{" (whatever the name: stdin is spooled to a .csv file, and a
    spreadsheet's header never starts so); else CSV."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "jsonl" if head.lstrip().startswith("{") else "csv"


def _one_object_per_line(head: str) -> bool:
    """A JSON array written one object per line (as `leadctl export -f json` does)."""
    lines = [ln.strip() for ln in head.splitlines() if ln.strip()]
    if len(lines) < 2 or lines[0] != "[":
        return False
    if lines[1] == "]":
        return True
    try:
        return isinstance(json.loads(lines[1].rstrip(",")), dict)
    except json.JSONDecodeError:
        return False


def _sniff_delimiter(head: str) -> str:
    """The candidate that splits the header line most often (outside quotes)."""
    first = ""
    for line in head.splitlines():
        if line.strip():
            first = line
            break
    counts = {d: 0 for d in (",", ";", "\t", "|")}
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class _Counter:
    """Wraps a text file: counts characters read, for the progress callback."""

    def __init__(self, fh: io.TextIOBase) -> None:
        self.fh = fh
        self.chars = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.fh:
            self.chars += len(line)
            yield line


@dataclass
class Reader:
    header: list[str]
    header_line: int
    rows: Iterator[tuple[int, int, Row | None, list[str] | None, str | None]]
    position: Callable[[], int]
    # CSV: whether rows come with a {column: value} dict too (a caller that
    # converts by position sets this False and gets None: ~1 us a row saved).
    dicts: list[bool] = field(default_factory=lambda: [True])


def open_reader(info: SourceInfo, fh: io.TextIOBase) -> Reader:
    """Rows as (first line, last line, row dict, raw values, error)."""
    counter = _Counter(fh)
    if info.format == "jsonl":
        return Reader([], 0, _jsonl_rows(counter), lambda: counter.chars)
    if info.format == "json-array":
        return Reader([], 0, _json_array_rows(fh), lambda: info.size)
    return _csv_reader(info, counter)


def _csv_reader(info: SourceInfo, counter: _Counter) -> Reader:
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(counter, delimiter=info.delimiter, strict=True)
    header: list[str] | None = None
    header_line = 0
    last = 0
    while header is None:
        try:
            values = next(reader)
        except StopIteration:
            raise ValidationError(
                f"{info.name or info.path.name} is empty (no header row)",
                "The first line must name the columns, e.g. Name,Email,Phone.",
            ) from None
        except csv.Error as exc:
            raise ValidationError(
                f"The header row of {info.name or info.path.name} is not valid CSV ({exc})",
                "Fix the first line of the file.",
            ) from exc
        last = reader.line_num
        if any(v.strip() for v in values):
            header = unique_headers([v.replace("\x00", "") for v in values])
            header_line = last

    dicts = [True]
    rows = _records(reader, header, header_line, 0, dicts)
    return Reader(header, header_line, rows, lambda: counter.chars, dicts)


Record = tuple[int, int, Row | None, list[str] | None, str | None]


def _records(
    reader: Any,
    header: list[str],
    prev: int,
    base: int,
    dicts: list[bool],
    blanks: bool = False,
) -> Iterator[Record]:
    """The records of a csv.reader as (first line, last line, row dict or None,
    values, error): physical line numbers, the reader's plus `base`; `prev` is
    the last line before the first record. A blank record is skipped, or with
    `blanks` yielded as (first line, last line, None, None, None)."""
    width = len(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start, prev = prev + 1, base + reader.line_num
            reason = str(exc)
            if "unexpected end of data" in reason:
                reason = "a quoted field is not closed before the end of the file"
            elif "field larger" in reason:
                reason = f"a field is larger than {FIELD_LIMIT >> 20} MiB"
            yield start, prev, None, None, f"malformed CSV: {reason}"
            continue
        start, prev = prev + 1, base + reader.line_num
        kept, wrong = _shaped(values, width)
        if kept is None:
            if blanks:
                yield start, prev, None, None, None
            continue  # a blank line: nothing to import, nothing lost
        if wrong is not None:
            yield start, prev, None, kept, wrong
        elif dicts[0]:
            yield start, prev, dict(zip(header, kept, strict=False)), kept, None
        else:
            yield start, prev, None, kept, None


def _shaped(values: list[str], width: int) -> tuple[list[str] | None, str | None]:
    """A record's values as stored -> (None, None) for a blank record (an
    empty line, one of spaces, or only delimiters: a spreadsheet's trailing
    rows), (values, reason) for one with more non-blank fields than the
    header, else (values cut to the header's width, None)."""
    if not any(values) or (len(values) == 1 and not values[0].strip()):
        return None, None
    if len(values) > width:
        if any(v.strip() for v in values[width:]):
            return values, f"the row has {len(values)} fields but the header has {width}"
        return values[:width], None
    return values, None


# ---- reading a CSV file in pieces (the bulk import's two converting children) ----
#
# `record_starts` cuts the file at line starts about `step` bytes apart where
# the count of quote characters before is even: in a CSV file that quotes as
# RFC 4180 says, a record starts there. A stray quote inside an unquoted field
# ('5" screen', which the csv module reads as text) breaks that guess: so each
# piece is read up to the next cut and a record that runs across it shows the
# guess was wrong (see importer._bulk_chunks). Only for encodings where '"',
# CR and LF are those single bytes and nothing else is.

_BYTE_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "iso8859-1", "ascii")
_BREAK = re.compile(rb"\r\n|\r|\n")


def piece_encoding(encoding: str) -> str | None:
    """The codec to read a piece from a byte offset with (the BOM is only at
    the start), or None when the file cannot be cut by bytes."""
    name = codecs.lookup(encoding).name
    if name not in _BYTE_ENCODINGS:
        return None
    return "utf-8" if name == "utf-8-sig" else name


_LONE_CR = re.compile(rb"\r[^\n]")


def _tally(buf: bytes, start: int, end: int, crs: bool, quotes: int, lines: int) -> tuple[int, int]:
    """(quotes, lines) plus those of buf[start:end]: its quote characters and
    the line ends in it (LF, CR LF, and lone CRs where `crs`)."""
    quotes += buf.count(b'"', start, end)
    lines += buf.count(b"\n", start, end)
    if crs:
        lines += buf.count(b"\r", start, end) - buf.count(b"\r\n", start, end)
    return quotes, lines


def record_starts(
    path: Path, after_line: int, step: int, ramp: tuple[int, ...] = ()
) -> list[tuple[int, int]]:
    """[(byte offset, physical line)] of where to cut a CSV file: the first is
    the start of line `after_line` + 1, the rest likely record starts about
    `step` bytes apart (see above), the first pieces `ramp` bytes instead.
    [] when the header is not in the first MiB (nothing is cut then)."""
    with path.open("rb") as fh:
        head = fh.read(CHUNK)
        start = 0
        for n, m in enumerate(_BREAK.finditer(head), start=1):
            if n == after_line:
                start = m.end()
                break
        else:
            return []
        if start >= len(head) - 1:
            return []  # the header may end with a CR whose LF is not read yet
        starts = [(start, after_line + 1)]
        fh.seek(start)
        at, line, quotes = start, after_line + 1, 0  # at buf[0]: its offset, line, quotes before
        steps = iter(ramp)
        target = start + next(steps, step)
        cr = False  # the last chunk ended with a CR (its LF may follow)
        while buf := fh.read(CHUNK):
            lead = 1 if cr and buf[:1] == b"\n" else 0  # that CR was counted as a line
            # Only a CR without its LF ends a line the LFs do not count: a
            # chunk without one (a CR LF file too) counts LFs and quotes, two
            # passes instead of four (one regular-expression search finds
            # the lone CRs: 0.06 s over 118 MB against 0.18 for two counts).
            crs = _LONE_CR.search(buf) is not None or buf.endswith(b"\r")
            pos, q, n = 0, quotes, line - lead  # counted up to buf[pos]
            while target < at + len(buf):
                cut = buf.find(b"\n", max(target - at, pos))
                if cut < 0:
                    break
                cut += 1
                q, n = _tally(buf, pos, cut, crs, q, n)
                pos = cut
                if q % 2 == 0:
                    starts.append((at + cut, n))
                    target = at + cut + next(steps, step)
                else:  # inside quotes: no cut before the next quote character
                    quote = buf.find(b'"', cut)
                    target = at + (quote + 1 if quote >= 0 else len(buf))
            quotes, line = _tally(buf, pos, len(buf), crs, q, n)
            cr = buf.endswith(b"\r")
            at += len(buf)
        if starts[-1][0] >= at:
            starts.pop()  # a cut at the very end holds no record
    return starts


def read_piece(
    info: SourceInfo, encoding: str, header: list[str], offset: int, line: int
) -> Iterator[Record]:
    """The records of a CSV file from byte `offset`, the start of physical
    line `line`, as the whole file's reader yields them (without row dicts),
    blank ones included (see `_records`): where a piece ends, each counts."""
    csv.field_size_limit(FIELD_LIMIT)
    with info.path.open("rb") as raw:
        raw.seek(offset)
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        reader = csv.reader(text, delimiter=info.delimiter, strict=True)
        yield from _records(reader, header, line - 1, line - 1, [False], blanks=True)


def read_piece_whole(
    info: SourceInfo, encoding: str, header: list[str], offset: int, end: int, line: int
) -> tuple[list[Record], bool, int] | None:
    """The records of the piece [offset, end) of a CSV file, physical line
    `line` at `offset`, when each of its records is one line of the piece:
    then they are what `read_piece` yields, without the blank ones, and come
    with whether the piece holds a NUL and the length of its longest line
    (no cell is longer, as no record spans lines): facts that let the column
    converter skip its own checks. Parsing costs about what `read_piece`'s
    does (2.2-3.2 us a record either way, measured). None for anything else
    (a quoted line break, malformed CSV, a record running past `end`, bytes
    not in the encoding): `read_piece` then reads the piece and says what is
    wrong where."""
    from itertools import repeat

    csv.field_size_limit(FIELD_LIMIT)
    with info.path.open("rb") as raw:
        raw.seek(offset)
        data = raw.read(end - offset)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    del data
    lines = io.StringIO(text, newline="").readlines()  # split as the file reader splits
    reader = csv.reader(lines, delimiter=info.delimiter, strict=True)
    try:
        rows = list(reader)
    except csv.Error:
        return None
    if reader.line_num != len(lines) or len(rows) != len(lines):
        return None  # a record of several lines
    width = len(header)
    sizes = set(map(len, rows))
    # A record of empty cells only starts with a delimiter or a quote ('"";'):
    # only then is every record looked at.
    empty_first = any(text.startswith(c) or f"\n{c}" in text for c in (info.delimiter, '"'))
    if (
        width > 1 and min(sizes, default=2) > 1 and max(sizes, default=0) <= width
        and (not empty_first or all(map(any, rows)))
    ):  # fmt: skip
        # No blank record (a blank line is [] or one empty cell, or only
        # delimiters) and none too wide.
        numbers = range(line, line + len(rows))
        records: list[Record] = list(zip(numbers, numbers, repeat(None), rows, repeat(None)))
    else:
        records = []
        for n, values in enumerate(rows, start=line):
            kept, wrong = _shaped(values, width)
            if kept is not None:
                records.append((n, n, None, kept, wrong))
    return records, "\x00" in text, max(map(len, lines), default=0)


def _jsonl_rows(
    counter: _Counter,
) -> Iterator[tuple[int, int, Row | None, list[str] | None, str | None]]:
    for n, line in enumerate(counter, start=1):
        text = line.strip()
        if not text or (n == 1 and text == "[") or text in ("]", ","):
            continue
        text = text.rstrip(",")
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            yield n, n, None, [line.rstrip("\r\n")], f"not valid JSON ({msg})"
            continue
        if not isinstance(obj, dict):
            yield n, n, None, [line.rstrip("\r\n")], "a JSON line must be an object {...}"
            continue
        yield n, n, obj, [line.rstrip("\r\n")], None


def _json_array_rows(
    fh: io.TextIOBase,
) -> Iterator[tuple[int, int, Row | None, list[str] | None, str | None]]:
    # A pretty-printed JSON array has no line per record: it is loaded whole
    # (use JSON lines for big files) and "line" is the record's number.
    try:
        data = json.load(fh)
    except (json.JSONDecodeError, RecursionError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
        yield line, line, None, None, "not valid JSON"
        return
    if not isinstance(data, list):
        yield 1, 1, None, None, "a JSON file must hold an array of objects"
        return
    for n, obj in enumerate(data, start=1):
        if isinstance(obj, dict):
            yield n, n, obj, [json.dumps(obj, ensure_ascii=False)], None
        else:
            yield n, n, None, [json.dumps(obj, ensure_ascii=False)], "a record must be an object"
