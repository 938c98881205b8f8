"""A payment's effects kept on disk until its end says whether it posts.

An 835 transaction set may pay a million claims, and its postings, balances, status records and
claim changes must reach the ledger in one transaction, only once the whole set is known to
balance. Held in lists they grew with the file (3.3 GB for a million claims); here each is a
JSON line in an anonymous temporary file in the spool (0600, gone when closed), read back as
the ledger writes them in chunks, so memory stays flat whatever the size of the payment.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from gateway.ledger.ledger import ClaimChange, OutboxItem
from gateway.ledger.schema import ClaimState, OutboxKind

T = TypeVar("T")


class Spilled(Generic[T]):
    """An append-only sequence of ``T`` in a temporary file, read back in order."""

    def __init__(self, folder: Path, dump: Callable[[T], Any], load: Callable[[Any], T]) -> None:
        # closed by close(): it lives as long as its payment is read
        self._file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder)  # noqa: SIM115
        self._dump, self._load = dump, load

    def append(self, item: T) -> None:
        self._file.write(json.dumps(self._dump(item), default=str) + "\n")

    def __iter__(self) -> Iterator[T]:
        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            yield self._load(json.loads(line))
        self._file.seek(0, 2)  # appending goes on at the end

    def close(self) -> None:
        self._file.close()


def spilled_records(folder: Path) -> Spilled[OutboxItem]:
    return Spilled(folder, lambda item: [OutboxKind(item[0]).value, item[1]],
                   lambda value: (OutboxKind(value[0]), value[1]))  # fmt: skip


def spilled_changes(folder: Path) -> Spilled[ClaimChange]:
    return Spilled(folder, _dump_change, _load_change)


def _dump_change(change: ClaimChange) -> dict[str, Any]:
    return {
        "claim_id": change.claim_id, "state": change.state.value, "source": change.source,
        "detail": dict(change.detail),
        "records": [[OutboxKind(k).value, r] for k, r in change.outbox_records],
        "only_from": None if change.only_from is None else sorted(change.only_from),
        "version": change.version,
    }  # fmt: skip


def _load_change(value: dict[str, Any]) -> ClaimChange:
    only_from = value["only_from"]
    return ClaimChange(
        value["claim_id"], ClaimState(value["state"]), value["source"], value["detail"],
        [(OutboxKind(k), r) for k, r in value["records"]],
        None if only_from is None else frozenset(ClaimState(s) for s in only_from),
        value["version"],
    )  # fmt: skip
