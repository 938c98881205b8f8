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
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import structlog

from gateway.files import private_dir
from gateway.ledger.ledger import Ledger, OutboxEntry
from gateway.ledger.schema import OutboxKind

log = structlog.get_logger("gateway.outputs")


def _line(entry: OutboxEntry) -> bytes:
    """One JSON line: the stored text as it is (the ledger keeps a record as one line of JSON,
    keys sorted: the very line this writes from the parsed record), else the record written."""
    text = entry.text
    if text is None:
        text = json.dumps(entry.payload, ensure_ascii=False, default=str)
    return (text + "\n").encode("utf-8")


def _publish(spool: Path, kind: str, name: str, entries: list[OutboxEntry]) -> None:
    out_dir = private_dir(spool / kind)
    archive_dir = private_dir(spool / "archive" / "outputs" / kind)
    final, staged = out_dir / name, out_dir / f".{name}.tmp"
    kept, kept_tmp = archive_dir / name, archive_dir / f".{name}.tmp"
    if not kept.exists():
        staged.unlink(missing_ok=True)
        fd = os.open(kept_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            for entry in entries:
                f.write(_line(entry))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(kept_tmp, staged)
        except OSError:  # another file system: a copy does as well
            shutil.copy2(kept_tmp, staged)
        os.replace(kept_tmp, kept)
    if staged.exists():
        os.replace(staged, final)


def emit_outputs(
    spool: Path, ledger: Ledger, *, owner: str, batch_size: int = 10_000
) -> dict[str, int]:
    """Write every pending output record; returns records written per kind. ``owner`` names
    the home's worker: a batch it assigned and did not finish is finished by it alone."""
    written: dict[str, int] = {}
    for kind in OutboxKind:
        while True:
            batch = ledger.open_batch(
                kind, partial(_batch_name, kind.value), owner=owner, limit=batch_size, raw=True
            )
            if batch is None:
                break
            name, entries = batch
            _publish(spool, kind.value, name, entries)
            ledger.mark_batch_emitted(name)
            written[kind.value] = written.get(kind.value, 0) + len(entries)
            log.info("outputs_written", kind=kind.value, file=name, records=len(entries))
    return written


def _batch_name(kind: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{kind}-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"
