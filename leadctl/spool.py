"""A list of per-line records (an import's rejects, its warnings) that keeps memory flat.

A very dirty file can reject millions of rows, and `--format json` lists
every one: held as Python dicts, 37k rejects took ~35 MB. Past `limit`
records a `LineSpool` moves them to a private temporary SQLite file (deleted
when closed) and reads them back, ordered by line, as they are iterated; the
JSON printer streams such a list (render.emit_object) instead of building it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, overload

SPILL_AFTER = 2_000  # records held in memory before the rest go to a temporary file
_CHUNK = 1_000


class LineSpool:
    """Records {"line": int or None, <key>: text} appended in any order and
    read back ordered by line, None (the whole file's) first, records of one
    line in the order they came: a sequence (len(), bool(), iteration,
    indexing and slicing)."""

    def __init__(self, key: str, limit: int | None = None) -> None:
        self.key = key
        self.limit = SPILL_AFTER if limit is None else limit
        self._mem: list[dict[str, Any]] = []
        self._pending: list[tuple[int | None, int, str]] = []
        self._db: sqlite3.Connection | None = None
        self._n = 0

    def append(self, record: dict[str, Any]) -> None:
        self._n += 1
        if self._db is None:
            self._mem.append(record)
            if len(self._mem) > self.limit:
                self._spill()
            return
        self._pending.append((_line(record), self._n, str(record[self.key])))
        if len(self._pending) >= _CHUNK:
            self._flush()

    def extend(self, records: Iterable[dict[str, Any]]) -> None:
        if self._db is None:
            for record in records:
                self.append(record)
            return
        key, start = self.key, self._n + 1
        more = [(_line(r), seq, str(r[key])) for seq, r in enumerate(records, start=start)]
        self._n += len(more)
        self._pending += more
        if len(self._pending) >= _CHUNK:
            self._flush()

    def _spill(self) -> None:
        # "" opens a temporary database in a file of its own, gone when closed.
        db = sqlite3.connect("", isolation_level=None)
        db.execute("PRAGMA cache_size = -1024")
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("CREATE TABLE r (line INTEGER, seq INTEGER NOT NULL, text TEXT)")
        self._db = db
        self._pending = [
            (_line(r), seq, str(r[self.key])) for seq, r in enumerate(self._mem, start=1)
        ]
        self._mem = []
        self._flush()

    def _flush(self) -> None:
        assert self._db is not None
        if self._pending:
            self._db.executemany("INSERT INTO r VALUES (?, ?, ?)", self._pending)
            self._pending = []

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n > 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._db is None:
            yield from sorted(self._mem, key=_order)
            return
        self._flush()
        key = self.key
        rows = self._db.execute("SELECT line, text FROM r ORDER BY line, seq")  # NULL first
        for line, text in rows:
            yield {"line": line, key: text}

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return list(islice(self, *index.indices(self._n)))
        k = index + self._n if index < 0 else index
        if not 0 <= k < self._n:
            raise IndexError(index)
        return next(islice(self, k, None))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (LineSpool, list)):
            return len(other) == self._n and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LineSpool({self.key!r}, {self._n} records)"


def _line(record: dict[str, Any]) -> int | None:
    line = record["line"]
    return None if line is None else int(line)


def _order(record: dict[str, Any]) -> tuple[bool, int]:
    line = _line(record)
    return (line is not None, line or 0)
