"""The outbox written out, each record exactly once, each output stream in one place.

A record's place is the partner it is about (``outbox.place``). A partner whose configuration
names an outputs folder (``[outputs] folder``, shared by every daemon that serves it) gets its
records there, whichever daemon produced them; otherwise they go to the writing home's spool, as
for a single daemon. Each file goes to ``PLACE/KIND/`` (status, postings, balances, benefits).

A batch of pending records of one place is first assigned to a file name and to this daemon
(its owner) in the ledger. The file is written completely under the home's
``spool/archive/outputs/KIND/`` (temporary name, fsync), hard-linked (or copied, fsync) into the
place under a hidden temporary name, the archive copy renamed into place, then the output
renamed into place (each folder fsynced), and the batch marked emitted. After a crash the same
batch comes back to the same owner (only it: another daemon cannot know how far it got) with
the same name and records, and:

- no archive copy: nothing was published; write it all again;
- an archive copy and a hidden temporary output: publish it (rename);
- an archive copy and no temporary: it was published (the consumer may already have taken it);
  only mark it emitted.

So a record is neither lost nor written twice, whatever the consumer does with the files.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import structlog

from gateway.config import PartnerConfig
from gateway.files import private_dir
from gateway.ledger.ledger import Ledger, OutboxEntry
from gateway.ledger.schema import OutboxKind

log = structlog.get_logger("gateway.outputs")


def output_places(home: Path, partners: Sequence[PartnerConfig]) -> dict[str, Path]:
    """Partner name -> its configured outputs folder (relative ones from the home)."""
    return {p.name: home / p.outputs.folder for p in partners if p.outputs.folder}


def _line(entry: OutboxEntry) -> bytes:
    """One JSON line: the stored text as it is (the ledger keeps a record as one line of JSON,
    keys sorted: the very line this writes from the parsed record), else the record written."""
    text = entry.text
    if text is None:
        text = json.dumps(entry.payload, ensure_ascii=False, default=str)
    return (text + "\n").encode("utf-8")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_synced(source: Path, path: Path) -> None:
    """A copy of ``source`` (read a block at a time), on disk before it returns."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f, source.open("rb") as src:
        shutil.copyfileobj(src, f)
        f.flush()
        os.fsync(f.fileno())


def _publish(
    spool: Path, kind: str, name: str, entries: Iterable[OutboxEntry], place: Path | None = None
) -> int:
    """Write ``entries`` as ``PLACE/KIND/NAME`` (``place`` None: the spool), the steps above;
    how many records its file holds."""
    out_dir = private_dir((place or spool) / kind)
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
        except OSError:  # another file system (a shared outputs folder): a copy does as well
            _copy_synced(kept_tmp, staged)
        _fsync_dir(out_dir)
        os.replace(kept_tmp, kept)
        _fsync_dir(archive_dir)
    if staged.exists():
        os.replace(staged, final)
        _fsync_dir(out_dir)
    if count < 0:  # written before a crash: as many as its file holds
        with kept.open("rb") as f:
            count = sum(1 for _ in f)
    return count


def emit_outputs(
    spool: Path,
    ledger: Ledger,
    *,
    owner: str,
    batch_size: int = 10_000,
    places: Mapping[str, Path] | None = None,
    partners: Collection[str] | None = None,
) -> dict[str, int]:
    """Write the pending output records of this home's partners; returns records written per
    kind. ``owner`` names the home's worker: a batch it assigned and did not finish is finished
    by it alone. ``places``: the partners' outputs folders (``output_places``); ``partners``:
    the names of the partners this home serves (None: every record), the others' records are
    left to the daemons that serve them."""
    written: dict[str, int] = {}
    for kind in OutboxKind:
        while True:
            name = ledger.open_batch_name(
                kind,
                partial(_batch_name, kind.value),
                owner=owner,
                limit=batch_size,
                places=partners,
            )
            if name is None:
                break
            entries = ledger.batch_entries(name, raw=True)
            first = next(entries, None)  # one place per batch: the first record's
            place = first.place if first else None
            folder = (places or {}).get(place, spool) if place else spool
            records = itertools.chain([first] if first else [], entries)
            count = _publish(spool, kind.value, name, records, folder)
            ledger.mark_batch_emitted(name, owner=owner)
            written[kind.value] = written.get(kind.value, 0) + count
            log.info("outputs_written", kind=kind.value, file=name, records=count,
                     place=str(folder))  # fmt: skip
    return written


def _batch_name(kind: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{kind}-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"
