"""The directory transport: a shared or local folder pair (contract section 4, ``directory``)."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import time
from pathlib import Path

from gateway.transports.base import (
    PROBE_STEPS,
    PROCESSED,
    ClosesOnExit,
    RemoteFile,
    TransportCheck,
    probe_failed,
    probe_name,
    safe_name,
)
from gateway.transports.errors import (
    PermanentTransportError,
    TransientTransportError,
    TransportError,
)


class DirectoryTransport(ClosesOnExit):
    """Upload into ``upload_dir``, download from ``download_dir``.

    ``settle_seconds``: a file whose size or mtime changed that recently is still being written
    and is not listed yet.
    """

    def __init__(self, upload_dir: Path, download_dir: Path, *, settle_seconds: float = 2.0):
        self.upload_dir = upload_dir
        self.download_dir = download_dir
        self.settle_seconds = settle_seconds

    # -- errors ---------------------------------------------------------------------------
    @staticmethod
    def _map(exc: OSError, what: str) -> TransportError:
        if isinstance(exc, (PermissionError, IsADirectoryError, NotADirectoryError)):
            return PermanentTransportError(f"{what}: {exc}")
        if isinstance(exc, FileNotFoundError):
            return PermanentTransportError(f"{what}: {exc}")
        return TransientTransportError(f"{what}: {exc}")

    # -- upload ---------------------------------------------------------------------------
    def put(self, local: Path, name: str) -> None:
        safe_name(name)
        tmp = self.upload_dir / f".{name}.part"
        target = self.upload_dir / name
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with local.open("rb") as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            if tmp.stat().st_size != local.stat().st_size:
                tmp.unlink(missing_ok=True)
                raise TransientTransportError(f"upload of {name}: size differs after writing")
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise self._map(exc, f"upload of {name} to {self.upload_dir}") from exc

    def exists(self, name: str) -> bool:
        return (self.upload_dir / safe_name(name)).exists()

    # -- download -------------------------------------------------------------------------
    def list(self, patterns: tuple[str, ...] = ("*",)) -> list[RemoteFile]:
        try:
            entries = list(os.scandir(self.download_dir))
        except OSError as exc:
            raise self._map(exc, f"listing {self.download_dir}") from exc
        now = time.time()
        out = []
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name.endswith((".tmp", ".part")) or not entry.is_file():
                continue
            if name == PROCESSED:  # a plain file where the processed/ folder belongs: not a reply
                continue
            if not any(fnmatch.fnmatch(name, p) for p in patterns):
                continue
            st = entry.stat()
            if now - st.st_mtime < self.settle_seconds:
                continue  # still growing (or just renamed in): next poll
            out.append(RemoteFile(name, st.st_size, st.st_mtime))
        return sorted(out, key=lambda f: (f.mtime, f.name))

    def get(self, name: str, folder: Path) -> Path:
        safe_name(name)
        source = self.download_dir / name
        tmp = folder / f".{name}.part"
        target = folder / name
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise self._map(exc, f"download of {name} from {self.download_dir}") from exc
        if target.resolve().parent != folder.resolve():  # belt and braces after safe_name
            target.unlink()
            raise PermanentTransportError(f"download of {name} left its folder")
        return target

    def done(self, name: str, how: str) -> None:
        source = self.download_dir / safe_name(name)
        try:
            if how == "delete":
                source.unlink()
            elif how == "move":
                processed = self.download_dir / PROCESSED
                processed.mkdir(mode=0o700, exist_ok=True)
                os.replace(source, processed / name)
            elif how != "leave":
                raise PermanentTransportError(f"unknown after-download action {how!r}")
        except OSError as exc:
            raise self._map(exc, f"{how} of {name}") from exc

    def check(self) -> TransportCheck:
        counts = []
        for folder in (self.upload_dir, self.download_dir):
            try:
                counts.append(sum(1 for e in os.scandir(folder) if e.is_file()))
            except OSError as exc:
                raise self._map(exc, f"listing {folder}") from exc
        self._probe()
        return TransportCheck(
            str(self.upload_dir), counts[0], str(self.download_dir), counts[1], PROBE_STEPS
        )

    def _probe(self) -> None:
        """What ``put`` does, with a probe file: write, rename, remove; the step that fails."""
        stem = probe_name()
        tmp, final = self.upload_dir / f"{stem}.part", self.upload_dir / stem
        step = "write"
        try:
            tmp.write_bytes(b"gateway partners check\n")
            step = "rename"
            os.replace(tmp, final)
            step = "remove"
            final.unlink()
        except OSError as exc:
            for left in (tmp, final):
                with contextlib.suppress(OSError):
                    left.unlink(missing_ok=True)
            raise probe_failed(str(self.upload_dir), step, exc) from exc
