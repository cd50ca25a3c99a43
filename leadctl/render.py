"""The one place that prints records: table, JSON, JSON lines or CSV.

Lead data is untrusted text. On screen it never becomes Rich markup or
terminal control codes: cells are `rich.text.Text` (never parsed as markup)
and control/bidi characters are shown escaped. In CSV, cells a spreadsheet
would run as a formula are neutralised; CSV written to a terminal has its
control/bidi characters escaped too, CSV written to a file or pipe keeps them
(it is data, and `leadctl import` must get back what `export` wrote). JSON
stays exact (control characters are \\u-escaped, which round-trips).

Rich is imported only when a table goes to a terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any, NamedTuple

FORMATS = ("table", "json", "jsonl", "csv")

# C0/C1 controls, DEL, and the Unicode marks that reorder or hide text
# (bidi overrides and isolates, zero-width joiners, BOM): all shown escaped.
_UNSAFE_RE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)
_UNSAFE_JSON_RE = re.compile(
    "[\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER_RE = re.compile(r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")
_PHONE_RE = re.compile(r"^\+\d{6,15}$")


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(value: Any, *, multiline: bool = False) -> str:
    """Text that is safe to put on a terminal: no control or bidi characters."""
    text = "" if value is None else str(value)
    if text.isascii() and text.isprintable():
        return text  # the common case, and nothing to escape
    if multiline:
        text = text.replace("\r\n", "\n")
        return "\n".join(_UNSAFE_RE.sub(_escape_char, line) for line in text.split("\n"))
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    return _UNSAFE_RE.sub(_escape_char, text)


def json_dumps(obj: Any, *, indent: int | None = 2) -> str:
    """JSON with non-ASCII kept readable but every invisible/control code escaped."""
    text = json.dumps(obj, ensure_ascii=False, indent=indent, default=str)
    return _UNSAFE_JSON_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def csv_safe(value: Any) -> str:
    """A CSV cell a spreadsheet will show as text, never run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value):
            value = ";".join(value)  # tags
        else:  # records (show's activities): JSON, not Python's repr
            value = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    if text.startswith(_FORMULA_START) and not (
        _PLAIN_NUMBER_RE.match(text) or _PHONE_RE.match(text)
    ):
        return "'" + text
    if text[:1] == "'" and text.lstrip("'")[:1] in _FORMULA_START:
        return "'" + text  # it starts so itself ('=x): the import takes one ' off
    return text


class Column(NamedTuple):
    """A table column (a NamedTuple: `dataclasses` would cost cron's listing ~5 ms)."""

    key: str
    header: str
    fmt: Callable[[Any], str] | None = None
    justify: str = "left"
    max_width: int | None = None

    def cell(self, record: dict[str, Any]) -> str:
        value = record.get(self.key)
        if self.fmt is not None:
            return self.fmt(value) if value is not None else ""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return str(value)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def writes_to_terminal(out: IO[str]) -> bool:
    """Whether what goes to `out` is shown on a terminal: stdout at one, or a
    terminal opened by name (`export -o /dev/tty`)."""
    if out is sys.stdout:
        return stdout_is_terminal()  # where tests force "a terminal"
    try:
        return out.isatty()
    except ValueError:  # a closed stream shows nothing
        return False


def use_plain() -> bool:
    """Plain text (no box drawing, no colour) for pipes, cron mail and NO_COLOR."""
    return not stdout_is_terminal() or "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb"


def emit_records(
    records: Sequence[dict[str, Any]] | Iterable[dict[str, Any]],
    columns: Sequence[Column],
    fmt: str,
    *,
    title: str | None = None,
    empty: str | None = None,
    out: IO[str] | None = None,
    csv_keys: Sequence[str] | None = None,
) -> None:
    """Print records in `fmt`. JSON/JSONL/CSV carry every key; a table, `columns`."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(json_dumps(list(records)) + "\n")
    elif fmt == "jsonl":
        for rec in records:
            out.write(json_dumps(rec, indent=None) + "\n")
    elif fmt == "csv":
        write_csv(records, csv_keys or [c.key for c in columns], out)
    else:
        rows = list(records)
        if not rows and empty:
            message(empty)
            return
        table(rows, columns, title=title, out=out)


def _csv_field(text: str, *, terminal: bool = False) -> str:
    if terminal:
        # On screen a cell is shown like a table's: ESC, BEL, C1 and bidi
        # characters escaped, so a lead's name cannot clear the screen. Line
        # breaks and tabs stay: they are harmless there and keep the CSV as it is.
        text = safe_text(text, multiline=True)
    # csv.writer quotes a field only for characters of its line terminator, so
    # a bare CR would be written unquoted and split the row in Excel and most
    # readers. Quote whenever a delimiter, quote, CR or LF is inside.
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class CsvWriter:
    """csv.writer's interface (writerow/writerows) with CR-safe quoting; on a
    terminal, control and bidi characters are escaped (see `_csv_field`)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.terminal = writes_to_terminal(out)

    def writerow(self, row: Iterable[Any]) -> None:
        cells = ("" if v is None else str(v) for v in row)
        self.out.write(",".join(_csv_field(c, terminal=self.terminal) for c in cells) + "\n")

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def write_csv(records: Iterable[dict[str, Any]], keys: Sequence[str], out: IO[str]) -> None:
    writer = CsvWriter(out)
    writer.writerow(str(k) for k in keys)
    for rec in records:
        writer.writerow(csv_safe(rec.get(k)) for k in keys)


def emit_object(obj: dict[str, Any], fmt: str, *, out: IO[str] | None = None) -> None:
    """One record: JSON object (json/jsonl) or key/value lines (table/csv)."""
    out = out or sys.stdout
    if fmt in ("json", "jsonl"):
        _write_json(obj, 2 if fmt == "json" else None, out)
    elif fmt == "csv":
        write_csv([obj], list(obj), out)
    else:
        pairs = [(k, obj[k]) for k in obj]
        key_value(pairs, out=out)


def _write_json(obj: dict[str, Any], indent: int | None, out: IO[str]) -> None:
    """json_dumps(obj) + a line break, with each LineSpool value (a list that
    may not fit in memory) written a record at a time in its place."""
    from leadctl.spool import LineSpool

    streamed = {k: v for k, v in obj.items() if isinstance(v, LineSpool)}
    if not streamed:
        out.write(json_dumps(obj, indent=indent) + "\n")
        return
    import secrets

    marks = {k: f"@stream-{secrets.token_hex(8)}@" for k in streamed}
    text = json_dumps({k: marks.get(k, v) for k, v in obj.items()}, indent=indent)
    for k, records in streamed.items():
        before, after = text.split(json.dumps(marks[k]), 1)
        out.write(before)
        line = before.rsplit("\n", 1)[-1]  # '  "key": '
        _write_list(records, indent, len(line) - len(line.lstrip(" ")), out)
        text = after
    out.write(text + "\n")


def _write_list(records: Any, indent: int | None, level: int, out: IO[str]) -> None:
    """A JSON array of `records` as json_dumps would write it at `level`,
    dumped a thousand records at a time."""
    from itertools import islice

    it = iter(records)
    shift = "\n" + " " * level
    first = True
    while chunk := list(islice(it, 1000)):
        text = json_dumps(chunk, indent=indent)
        if indent is None:
            out.write(("[" if first else ", ") + text[1:-1])
        else:  # "[\n" + the records, indented one step, + "\n]"
            inner = text[2:-2].replace("\n", shift)
            out.write(("[" if first else ",") + shift + inner)
        first = False
    if first:
        out.write("[]")
    else:
        out.write("]" if indent is None else shift + "]")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def key_value(pairs: Sequence[tuple[str, Any]], *, out: IO[str] | None = None) -> None:
    """Aligned 'key  value' lines (like `task ID info`). Keys are escaped as
    values are: a custom field's name is lead data too."""
    out = out or sys.stdout
    pairs = [(safe_text(k), v) for k, v in pairs]
    width = max((len(k) for k, _ in pairs), default=0)
    if use_plain():
        for k, v in pairs:
            out.write(f"{k.ljust(width)}  {safe_text(_cell(v))}\n")
        return
    from rich.table import Table
    from rich.text import Text

    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    for k, v in pairs:
        t.add_row(Text(k), Text(safe_text(_cell(v))))
    _console(out).print(t)


def _console(out: IO[str]):  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(file=out, highlight=False, markup=False, emoji=False, soft_wrap=False)


def table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    *,
    title: str | None = None,
    out: IO[str] | None = None,
) -> None:
    out = out or sys.stdout
    cells = [[safe_text(c.cell(r)) for c in columns] for r in rows]
    if use_plain():
        _plain_table(cells, columns, title, out)
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(title) if title else None, box=box.SIMPLE_HEAD, header_style="bold")
    for c in columns:
        t.add_column(c.header, justify=c.justify, overflow="fold", max_width=c.max_width)  # type: ignore[arg-type]
    for row in cells:
        t.add_row(*(Text(v) for v in row))
    _console(out).print(t)


def _plain_table(
    cells: list[list[str]], columns: Sequence[Column], title: str | None, out: IO[str]
) -> None:
    # A long cell is cut (it would push every column after it), but in the
    # last column, which runs on: a reason or a note is read whole in a pipe.
    limit = 60
    cells = [
        [v if len(v) <= limit or i == len(row) - 1 else v[: limit - 1] + "…"
         for i, v in enumerate(row)]
        for row in cells
    ]  # fmt: skip
    # Each cell's display width, computed once (wide East Asian characters take 2).
    sizes = [[_display_width(v) for v in row] for row in cells]
    widths = [len(c.header) for c in columns]
    for row_sizes in sizes:
        for i, w in enumerate(row_sizes):
            if w > widths[i]:
                widths[i] = w
    right = [c.justify == "right" for c in columns]
    last = len(columns) - 1

    def line(values: Sequence[str], lens: Sequence[int]) -> str:
        parts = []
        for i, v in enumerate(values):
            pad = widths[i] - lens[i]
            if right[i]:
                parts.append(" " * pad + v)
            else:
                parts.append(v if i == last else v + " " * pad)
        return "  ".join(parts).rstrip()

    lines = [safe_text(title)] if title else []
    headers = [c.header for c in columns]
    lines.append(line(headers, [len(h) for h in headers]))
    lines.extend(line(row, row_sizes) for row, row_sizes in zip(cells, sizes, strict=True))
    out.write("\n".join(lines) + "\n")


def _display_width(text: str) -> int:
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def bar(value: float, maximum: float, width: int = 20) -> str:
    """A small text bar chart cell: '█████▌'."""
    if maximum <= 0 or value <= 0:
        return ""
    eighths = round(value / maximum * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])


def message(text: str) -> None:
    """A message for people: stderr, so stdout stays data."""
    sys.stderr.write(safe_text(text, multiline=True) + "\n")


_ERROR_MAX = 1000  # the longest hint (every rule field) is ~530


def error(text: str) -> None:
    line = safe_text(text)
    if len(line) > _ERROR_MAX:
        # A 100,000-character value quoted back would bury the sentence.
        line = line[: _ERROR_MAX - 121] + " … " + line[-118:]
    sys.stderr.write("Error: " + line + "\n")
