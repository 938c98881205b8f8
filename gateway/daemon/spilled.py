"""What one 835 file's posting keeps on disk instead of in memory.

An 835 transaction set may pay a million claims, and all of them must reach the ledger in one
transaction, only once its end says whether its money adds up. Held in lists they grew with the
file (3.3 GB for a million claims); here each claim payment is a JSON line in an anonymous
temporary file in the spool (0600 in a 0700 folder, gone when closed or when the process dies),
read back a chunk at a time as the ledger records them, so memory stays flat whatever the size
of the payment (a payment of at most one ledger chunk, 500 claims, stays in a list: no JSON).
The held claim payments the review file lists wait the same way.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

T = TypeVar("T")


class Spilled(Generic[T]):
    """An append-only sequence of ``T`` in a temporary file, read back in order (as often as
    wanted, though not while appending).

    ``memory``: up to that many items are kept as they are, in a list, and the file is made
    only when one more comes (then every item goes to it): a payment the ledger takes in one
    chunk costs no JSON, a larger one stays flat."""

    def __init__(
        self,
        folder: Path,
        dump: Callable[[T], Any],
        load: Callable[[Any], T],
        *,
        memory: int = 0,
    ) -> None:
        self._folder = folder
        self._dump, self._load = dump, load
        self._memory = memory
        self._items: list[T] | None = [] if memory > 0 else None
        self._file: IO[str] | None = None if memory > 0 else self._open()
        self.count = 0

    def _open(self) -> IO[str]:
        # closed by close(): it lives as long as its payment is read
        return tempfile.TemporaryFile("w+", encoding="utf-8", dir=self._folder)

    def append(self, item: T) -> None:
        self.count += 1
        items = self._items
        if items is not None:
            if len(items) < self._memory:
                items.append(item)
                return
            self._file = self._open()
            self._items = None
            for kept in items:
                self._write(kept)
        self._write(item)

    def _write(self, item: T) -> None:
        assert self._file is not None
        self._file.write(json.dumps(self._dump(item), default=str) + "\n")

    def __iter__(self) -> Iterator[T]:
        if self._items is not None:
            yield from list(self._items)
            return
        assert self._file is not None
        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            yield self._load(json.loads(line))
        self._file.seek(0, 2)  # appending goes on at the end

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._items = None


class HeldClaims:
    """The held claim payments of one file (``claim_id``, ``paid``, ``reasons`` in words), in
    the order decided; each payment's review entry names its run of them (``start``, ``end``),
    and the review file reads the runs back in order."""

    def __init__(self, folder: Path) -> None:
        self._spilled: Spilled[dict[str, Any]] = Spilled(folder, dict, dict)
        self._reading: Iterator[dict[str, Any]] | None = None
        self._at = 0

    @property
    def count(self) -> int:
        return self._spilled.count

    def add(self, held: dict[str, Any]) -> None:
        self._reading = None
        self._spilled.append(held)

    def run(self, start: int, end: int) -> Iterator[dict[str, Any]]:
        """Items ``start`` to ``end`` (excluded): read on from the last run when it is behind."""
        if self._reading is None or self._at > start:
            self._reading, self._at = iter(self._spilled), 0
        while self._at < end:
            item = next(self._reading, None)
            if item is None:
                return
            self._at += 1
            if self._at > start:
                yield item

    def close(self) -> None:
        self._spilled.close()
