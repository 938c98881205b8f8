"""Configuration files of a gateway home: gateway.toml (section 1), partners (section 4)."""

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
    port: int = Field(22, ge=1, le=65535)
    username: str
    private_key: str  # relative to the home
    known_hosts: str  # relative to the home; the partner's host key is pinned, never learned
    passphrase_env: str | None = None  # environment variable holding the key's passphrase
    upload_dir: str = "inbound"
    download_dir: str = "outbound"
    upload_mode: Literal["rename", "direct"] = "rename"  # "direct": servers that forbid rename
    connect_timeout: float = Field(15.0, gt=0)  # TCP connect, SSH handshake and auth, seconds
    timeout: float = Field(60.0, gt=0)  # every SFTP operation, seconds
    keepalive_seconds: int = Field(30, ge=0)  # 0: no keepalive


class DirectoryConfig(_Config):
    upload_dir: str  # relative to the home, or absolute
    download_dir: str
    settle_seconds: float = Field(2.0, ge=0)  # a reply changed this recently is still growing


class ScheduleConfig(_Config):
    poll_seconds: int = Field(300, ge=1)


class BatchConfig(_Config):
    """How queued claims become interchanges: at most ``max_claims`` per file, and a claim
    waits at most ``max_wait_seconds`` for others to join it (``run --once`` never waits)."""

    max_claims: int = Field(5000, ge=1, le=5000)  # one transaction set per file
    max_wait_seconds: int = Field(60, ge=0)


class EligibilityConfig(_Config):
    """270 inquiries: at most ``max_requests`` per file, a request waits at most
    ``max_wait_seconds`` for others, and an answer is due ``answer_minutes`` after the upload
    (a request still unanswered then is logged at warning level)."""

    max_requests: int = Field(99, ge=1, le=5000)
    max_wait_seconds: int = Field(0, ge=0)
    answer_minutes: int = Field(60, ge=1)


class FollowupConfig(_Config):
    """When a claim counts as silent or late (the worklist, 276 inquiries): no 999
    ``ack_999_hours`` after the upload, no 277CA ``ack_277ca_days`` after it, no 835
    ``payment_days`` after the 277CA acceptance; ``timely_filing_days`` from the date of
    service per payer id (``"*"``: any other payer); a silent claim is asked about (276) once
    per ``reask_days`` window when ``status_inquiry`` is on."""

    ack_999_hours: int = Field(24, ge=1)
    ack_277ca_days: int = Field(2, ge=1)
    payment_days: int = Field(30, ge=1)
    timely_filing_days: dict[str, int] = {"*": 90}
    status_inquiry: bool = True
    reask_days: int = Field(14, ge=1)
    max_inquiries: int = Field(99, ge=1, le=5000)


class DownloadConfig(_Config):
    patterns: list[str] = ["*"]  # file-name patterns fetched from the download folder
    after: Literal["leave", "move", "delete"] = "move"  # the remote file, once safe here


class RetryConfig(_Config):
    """Retries of one transport operation (exponential backoff with jitter, capped)."""

    attempts: int = Field(4, ge=1, le=20)
    initial_seconds: float = Field(1.0, gt=0)
    max_seconds: float = Field(60.0, gt=0)


class OutputsConfig(_Config):
    """Where the partner's output stream goes (status, postings, balances, benefits)."""

    # A folder every daemon that serves the partner reaches (absolute, or relative to the home):
    # its records land there whichever daemon produced them. Empty: the home's spool.
    folder: str = ""


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
    batch: BatchConfig = BatchConfig()
    eligibility: EligibilityConfig = EligibilityConfig()
    followup: FollowupConfig = FollowupConfig()
    download: DownloadConfig = DownloadConfig()
    retry: RetryConfig = RetryConfig()
    outputs: OutputsConfig = OutputsConfig()


def _read_toml(path: Path, missing: str) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: {missing}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_partner(path: Path) -> PartnerConfig:
    """Read ``partners/NAME.toml``; every mistake comes back as one ConfigError sentence."""
    data = _read_toml(path, "no such partner file")
    try:
        return PartnerConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_validation_message(path, exc)) from None


class DatabaseSettings(_Config):
    url: str = "sqlite:///state/gateway.db"  # a relative SQLite path is relative to the home


class SpoolSettings(_Config):
    root: str = "spool"


class IntakeSettings(_Config):
    settle_seconds: float = Field(5.0, ge=0)
    mappings: list[str] = []  # mapping names to use; empty: every mappings/*.toml


class LoggingSettings(_Config):
    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class MetricsSettings(_Config):
    port: int = Field(0, ge=0, le=65535)  # 0: off
    max_cycle_age_seconds: float = Field(300.0, gt=0)  # /readyz fails when the last cycle is older


class DaemonSettings(_Config):
    tick_seconds: float = Field(2.0, gt=0)  # how often the loop looks at the spool
    lease_seconds: int = Field(900, ge=30)  # how long a worker holds claims it is sending
    output_batch: int = Field(10_000, ge=1)  # records per output file at most
    exchange_seconds: float = Field(600.0, gt=0)  # a partner's exchange is cut after this long


class FollowupSettings(_Config):
    # a claim the earlier payer forwarded (crossover): days to wait for the next payer's 835
    # before the gateway sends its own claim
    crossover_days: int = Field(30, ge=0)


class GatewaySettings(_Config):
    """``gateway.toml`` of a home (contract section 1); every section has defaults."""

    database: DatabaseSettings = DatabaseSettings()
    spool: SpoolSettings = SpoolSettings()
    intake: IntakeSettings = IntakeSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    daemon: DaemonSettings = DaemonSettings()
    followup: FollowupSettings = FollowupSettings()


def _validation_message(path: Path, exc: ValidationError) -> str:
    details = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )
    return f"{path}: {details}"


def load_settings(home: Path) -> GatewaySettings:
    """The home's ``gateway.toml`` (defaults when the file has no such section)."""
    path = home / "gateway.toml"
    data = _read_toml(
        path,
        "not a gateway home (no gateway.toml); create one with `gateway init DIR` or point "
        "--home / GATEWAY_HOME at it",
    )
    try:
        return GatewaySettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_validation_message(path, exc)) from None


def load_partners(home: Path) -> list[PartnerConfig]:
    """Every ``partners/*.toml``; two files naming the same partner are a ConfigError."""
    partners = [load_partner(p) for p in sorted((home / "partners").glob("*.toml"))]
    seen: set[str] = set()
    for partner in partners:
        if partner.name in seen:
            raise ConfigError(f"{home / 'partners'}: two partner files are named {partner.name!r}")
        seen.add(partner.name)
        if partner.transport == "sftp" and partner.sftp is None:
            raise ConfigError(f"partner {partner.name}: transport sftp needs an [sftp] section")
        if partner.transport == "directory" and partner.directory is None:
            raise ConfigError(
                f"partner {partner.name}: transport directory needs a [directory] section"
            )
    return partners


def find_partner(home: Path, name: str) -> PartnerConfig:
    """The partner a command names, one rule for every command: a path to a ``.toml`` file,
    else the partner whose ``name`` is NAME, else ``partners/NAME.toml``."""
    path = Path(name)
    if path.suffix == ".toml":
        return load_partner(path if path.is_absolute() or path.exists() else home / path)
    folder = home / "partners"
    for candidate in sorted(folder.glob("*.toml")):
        try:
            partner = load_partner(candidate)
        except ConfigError:
            continue  # a broken file of another partner; said when that one is asked for
        if partner.name == name:
            return partner
    if (folder / f"{name}.toml").exists():
        return load_partner(folder / f"{name}.toml")
    known = ", ".join(sorted(p.stem for p in folder.glob("*.toml"))) or "none"
    raise ConfigError(f"no partner named {name!r} in {folder} (partner files: {known})")


def database_url(home: Path, settings: GatewaySettings) -> str:
    """The ledger URL, a relative SQLite path made absolute under the home."""
    url = settings.database.url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((home / url[len(prefix) :]).resolve())
    return url
