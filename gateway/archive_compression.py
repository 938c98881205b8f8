"""``gateway archive compress``: old files of ``spool/archive/`` gzipped in place, none deleted.

The archive keeps every file taken in, sent or received, so it only grows (about 7 KB per claim
through its cycle). X12 and JSON Lines shrink to a fifth to a tenth with gzip. Each file older
than the cut-off becomes ``NAME.gz`` beside it: written under a hidden temporary name, read back
and compared (SHA-256) with the original, renamed into place with the original's mtime, and only
then is the original removed. A crash at any point leaves the original, or both (the next run
finishes the job), never neither.
Hidden files (a write in progress) and ``.gz`` files are left alone. An output batch's archive
copy is only needed until the daemon marks the batch emitted, which it does in the cycle that
wrote it, long before the copy is old enough to be compressed.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1 << 20


@dataclass
class CompressReport:
    compressed: list[Path] = field(default_factory=list)  # the .gz files made
    bytes_before: int = 0
    bytes_after: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # and why


def _sha256(path: Path, *, gzipped: bool = False) -> str:
    """Of the file's content (of what it decompresses to, when ``gzipped``)."""
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        f = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def compress_archive(archive: Path, *, older_than_seconds: float, now: float) -> CompressReport:
    """Gzip every file under ``archive`` last changed more than ``older_than_seconds`` before
    ``now`` (a UNIX time)."""
    report = CompressReport()
    if not archive.is_dir():
        return report
    cutoff = now - older_than_seconds
    for path in sorted(archive.rglob("*")):
        if path.name.startswith(".") or path.suffix == ".gz" or not path.is_file():
            continue
        if any(part.startswith(".") for part in path.relative_to(archive).parts[:-1]):
            continue  # inside a hidden (staging) folder
        stat = path.stat()
        if stat.st_mtime > cutoff:
            continue
        target = path.with_name(path.name + ".gz")
        original = _sha256(path)
        if target.exists():  # an earlier run stopped before removing the original
            if _sha256(target, gzipped=True) != original:
                report.skipped.append((path, f"{target.name} exists with other content"))
                continue
        else:
            _write_gzip(path, target, original, stat.st_mtime)
        report.bytes_before += stat.st_size
        report.bytes_after += target.stat().st_size
        path.unlink()
        report.compressed.append(target)
    return report


def _write_gzip(path: Path, target: Path, sha256: str, mtime: float) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            with (
                path.open("rb") as src,
                gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=int(mtime)) as gz,
            ):
                shutil.copyfileobj(src, gz, CHUNK)
            raw.flush()
            os.fsync(raw.fileno())
        if _sha256(tmp, gzipped=True) != sha256:
            raise OSError(f"{tmp}: the compressed copy does not read back as {path.name}")
        os.utime(tmp, (mtime, mtime))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
