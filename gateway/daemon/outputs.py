"""The outbox written to ``spool/status|postings|balances/``, each record exactly once.

A batch of pending records is first assigned to a file name in the ledger. The file is written
completely under ``spool/archive/outputs/KIND/`` (temporary name), hard-linked into the output
folder under a hidden temporary name, the archive copy renamed into place, then the output
renamed into place, and the batch marked emitted. After a crash the same batch comes back with
the same name and records, and:

- no archive copy: nothing was published; write it all again;
- an archive copy and a hidden temporary output: publish it (rename);
- an archive copy and no temporary: it was published (the consumer may already have taken it);
  only mark it emitted.

So a record is neither lost nor written twice, whatever the consumer does with the files.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import structlog

from gateway.files import private_dir
from gateway.ledger.ledger import Ledger, OutboxEntry
from gateway.ledger.schema import OutboxKind

log = structlog.get_logger("gateway.outputs")


def _line(entry: OutboxEntry) -> bytes:
    return (json.dumps(entry.payload, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _publish(spool: Path, kind: str, name: str, entries: Iterable[OutboxEntry]) -> int:
    """Write and publish the batch ``name``; how many records its file holds."""
    out_dir = private_dir(spool / kind)
    archive_dir = private_dir(spool / "archive" / "outputs" / kind)
    final, staged = out_dir / name, out_dir / f".{name}.tmp"
    kept, kept_tmp = archive_dir / name, archive_dir / f".{name}.tmp"
    count = -1
    if not kept.exists():
        count = 0
        staged.unlink(missing_ok=True)
        fd = os.open(kept_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            for entry in entries:
                f.write(_line(entry))
                count += 1
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(kept_tmp, staged)
        except OSError:  # another file system: a copy does as well
            shutil.copy2(kept_tmp, staged)
        os.replace(kept_tmp, kept)
    if staged.exists():
        os.replace(staged, final)
    if count < 0:  # written before a crash: as many as its file holds
        with kept.open("rb") as f:
            count = sum(1 for _ in f)
    return count


def emit_outputs(
    spool: Path, ledger: Ledger, *, owner: str, batch_size: int = 10_000
) -> dict[str, int]:
    """Write every pending output record; returns records written per kind. ``owner`` names
    the home's worker: a batch it assigned and did not finish is finished by it alone."""
    written: dict[str, int] = {}
    for kind in OutboxKind:
        while True:
            name = ledger.open_batch_name(
                kind, partial(_batch_name, kind.value), owner=owner, limit=batch_size
            )
            if name is None:
                break
            count = _publish(spool, kind.value, name, ledger.batch_entries(name))
            ledger.mark_batch_emitted(name)
            written[kind.value] = written.get(kind.value, 0) + count
            log.info("outputs_written", kind=kind.value, file=name, records=count)
    return written


def _batch_name(kind: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{kind}-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"
