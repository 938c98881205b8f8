"""Files of a gateway home: private folders, atomic writes, archiving that never overwrites.

The lowest layer (it imports nothing of the gateway): patient data lives in these files, so
folders are 0700 and files 0600, and a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO


def private_dir(path: Path) -> Path:
    """``path`` and every folder made on the way to it, 0700 (``mkdir -p`` would make the
    parents with the default mode, 0755)."""
    missing = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def open_private(path: Path) -> IO[str]:
    """Open text for writing, created 0600 (files written in a stream, renamed by the caller)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8")


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write under a hidden temporary name, fsync, rename: a reader never sees half a file."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def set_aside_unfinished(folder: Path, into: Path) -> list[Path]:
    """Move the temporary files ``write_atomic`` left in ``folder`` (a process killed while it
    wrote) to ``into``: never complete, never to be used, kept all the same. Only call this
    while no writer can be at work in ``folder`` (the daemon's start, under the home's lock)."""
    if not folder.is_dir():
        return []
    unfinished = [p for p in folder.glob(".*.tmp") if p.is_file()]
    return [archive(p, into) for p in sorted(unfinished)]


def archive(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` under its own name (a time stamp is added on a clash)."""
    private_dir(folder)
    target = folder / path.name
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / f"{stamp}-{path.name}"
    os.replace(path, target)
    os.chmod(target, 0o600)  # a file dropped in with another mode is private once archived
    return target
