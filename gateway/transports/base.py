"""The transport contract the daemon relies on, whatever carries the files.

Uploads are never seen half-written under their final name (written under a temporary name,
size checked, then renamed), and a name that is already there is not sent again: final names
carry the interchange control number, so after a crash the daemon asks ``exists`` first.
Downloads land in the caller's folder under a temporary name and are renamed when complete;
names from the partner's side never escape that folder.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from gateway.transports.errors import PermanentTransportError

PROCESSED = "processed"  # the folder replies are moved to (download.after = "move")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
PROBE_STEPS = "wrote, renamed and removed a probe file in the upload folder"
PROBE_STEPS_DIRECT = "wrote and removed a probe file in the upload folder"  # upload_mode direct


def probe_name() -> str:
    """A dot name (never taken for an 837) for ``check``'s probe of the upload folder."""
    return f".gateway-probe-{os.getpid()}-{secrets.token_hex(4)}"


def probe_failed(folder: str, step: str, exc: BaseException) -> PermanentTransportError:
    return PermanentTransportError(
        f"the upload folder {folder} refused to {step} a probe file ({exc}): uploads would "
        f"fail the same way; check that the account may {step} files there"
    )


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    mtime: float


@dataclass(frozen=True)
class TransportCheck:
    """What ``gateway partners check`` reports: both folders reached, and what they hold."""

    upload_dir: str
    upload_files: int
    download_dir: str
    download_files: int
    detail: str = ""  # e.g. the server's banner or the pinned host key's fingerprint


def safe_name(name: str) -> str:
    """A partner's file name, accepted only if it cannot leave the folder it lands in."""
    if not _SAFE_NAME.match(name) or ".." in name:
        raise PermanentTransportError(
            f"refused the remote file name {name!r}: only letters, digits, '.', '_' and '-' "
            "are accepted, not starting with '.', and never '..'"
        )
    return name


class Transport(Protocol):
    """Move files to and from one partner."""

    def put(self, local: Path, name: str) -> None:
        """Upload ``local`` as ``name`` (temporary name, size check, rename)."""

    def exists(self, name: str) -> bool:
        """Whether ``name`` is already in the upload folder (sent before a crash?)."""

    def list(self, patterns: tuple[str, ...] = ("*",)) -> list[RemoteFile]:
        """Complete files waiting in the download folder that match ``patterns``."""

    def get(self, name: str, folder: Path) -> Path:
        """Download ``name`` into ``folder`` (temporary name, then rename); returns the path."""

    def done(self, name: str, how: str) -> None:
        """After a download is safe: ``leave``, ``move`` (to ``processed/``) or ``delete``."""

    def check(self) -> TransportCheck:
        """Log in, list both folders, and do in the upload folder what an upload does (write,
        rename, remove a probe file); raises TransportError naming the step that failed."""

    def close(self) -> None: ...

    def __enter__(self) -> Transport: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ClosesOnExit:
    """``with transport:`` closes it, for every transport."""

    def close(self) -> None:
        """Nothing to close unless a transport says otherwise."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
