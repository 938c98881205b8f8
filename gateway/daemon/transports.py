"""The transport of a partner, as its ``partners/NAME.toml`` describes it."""

from __future__ import annotations

from pathlib import Path

from gateway.config import ConfigError, PartnerConfig
from gateway.transports.base import Transport
from gateway.transports.directory import DirectoryTransport


def open_transport(home: Path, partner: PartnerConfig) -> Transport:
    """A transport for ``partner`` (not yet connected: SFTP logs in on first use)."""
    if partner.transport == "directory":
        if partner.directory is None:
            raise ConfigError(f"partner {partner.name}: [directory] section missing")
        d = partner.directory
        return DirectoryTransport(
            home / d.upload_dir, home / d.download_dir, settle_seconds=d.settle_seconds
        )
    if partner.sftp is None:
        raise ConfigError(f"partner {partner.name}: [sftp] section missing")
    from gateway.transports.sftp import SftpTransport  # paramiko loads only when needed

    return SftpTransport(partner.sftp, home)
