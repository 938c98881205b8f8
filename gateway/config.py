"""Configuration files of a gateway home: partners (contract section 4)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ConfigError(Exception):
    """A configuration file is missing or wrong (exit code 2)."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InterchangeConfig(_Config):
    sender_qualifier: str = Field("ZZ", min_length=2, max_length=2)
    sender_id: str = Field(min_length=1, max_length=15)
    receiver_qualifier: str = Field("ZZ", min_length=2, max_length=2)
    receiver_id: str = Field(min_length=1, max_length=15)
    ack_requested: bool = True
    line_breaks: bool = False


class SubmitterConfig(_Config):
    name: str
    contact: str = "BILLING OFFICE"
    phone: str = Field("0000000000", pattern=r"^[0-9]{10,15}$")
    receiver_name: str


class SftpConfig(_Config):
    host: str
    port: int = 22
    username: str
    private_key: str
    known_hosts: str
    upload_dir: str = "inbound"
    download_dir: str = "outbound"


class DirectoryConfig(_Config):
    upload_dir: str
    download_dir: str


class ScheduleConfig(_Config):
    poll_seconds: int = Field(300, ge=1)


class PartnerConfig(_Config):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    transport: Literal["sftp", "directory"] = "directory"
    payers: list[str] = []
    usage: Literal["T", "P"] = "T"
    interchange: InterchangeConfig
    submitter: SubmitterConfig
    sftp: SftpConfig | None = None
    directory: DirectoryConfig | None = None
    schedule: ScheduleConfig = ScheduleConfig()


def load_partner(path: Path) -> PartnerConfig:
    """Read ``partners/NAME.toml``; every mistake comes back as one ConfigError sentence."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such partner file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return PartnerConfig.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {details}") from None
