"""``gateway simulate``: a clearinghouse and payer answering the gateway's uploads.

Serves one partner's exchange folder pair: takes the 837s from the upload folder and writes
TA1, 999, 277CA and 835 replies into the download folder. For a directory partner the pair is
its ``[directory]`` folders; for an SFTP partner, its remote folders as local paths under
``--sftp-root`` (the folder the SFTP account lands in, on the machine that serves it). Exit
codes: 0 stopped (SIGTERM, SIGINT, or after ``--once``), 2 usage or configuration error.
"""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import click

from gateway.config import ConfigError, find_partner
from gateway.simulator import Simulator, SimulatorConfig, StepReport, serve

STATE_NAME = ".simulator-state.json"  # a dot name: neither side takes it for an X12 file


def _folders(
    ctx: click.Context,
    partner: str | None,
    upload: Path | None,
    download: Path | None,
    sftp_root: Path | None,
) -> tuple[Path, Path]:
    """The folder pair: from the options, else from the partner's folders."""
    if partner is not None:
        from gateway.cli.main import home_dir

        home = home_dir(ctx)
        config = find_partner(home, partner)
        if config.directory is not None and config.transport == "directory":
            remote = (config.directory.upload_dir, config.directory.download_dir)
            upload = upload or home / remote[0]
            download = download or home / remote[1]
        elif config.sftp is not None:
            if sftp_root is None and not all(
                Path(d).is_absolute() for d in (config.sftp.upload_dir, config.sftp.download_dir)
            ):
                raise ConfigError(
                    f"partner {config.name} is an SFTP partner whose folders "
                    f"({config.sftp.upload_dir!r}, {config.sftp.download_dir!r}) are relative to "
                    "the SFTP account's folder on its server: give --sftp-root, that folder on "
                    "this machine"
                )
            root = sftp_root or Path("/")
            upload = upload or root / config.sftp.upload_dir.lstrip("/")
            download = download or root / config.sftp.download_dir.lstrip("/")
        else:
            raise ConfigError(f"partner {config.name}: no [directory] or [sftp] folders")
    if upload is None or download is None:
        raise click.UsageError("give --upload-dir and --download-dir, or --partner NAME")
    return upload, download


@click.command("simulate")
@click.option(
    "--upload-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="where the gateway puts its 837s (the partner's inbound folder)",
)
@click.option(
    "--download-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="where the replies go (the folder the gateway polls)",
)
@click.option(
    "--partner",
    help="take both folders from a partner (its name, or its file's name in partners/): "
    "[directory], or [sftp] under --sftp-root",
)
@click.option(
    "--sftp-root",
    type=click.Path(file_okay=False, path_type=Path),
    help="for an SFTP partner: the folder its account's upload_dir and download_dir are in",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="simulator settings (TOML; see gateway/templates/simulator.toml)",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"state file [default: UPLOAD_DIR/{STATE_NAME}]",
)
@click.option("--seed", type=int, help="random seed (overrides the config's)")
@click.option("--once", is_flag=True, help="one step, then exit")
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
    help="seconds between steps",
)  # fmt: skip
@click.option(
    "--now",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
    help="pretend it is this UTC time (with --once: reproducible replies)",
)
@click.pass_context
def simulate(
    ctx: click.Context,
    upload_dir: Path | None,
    download_dir: Path | None,
    partner: str | None,
    sftp_root: Path | None,
    config_file: Path | None,
    state_file: Path | None,
    seed: int | None,
    once: bool,
    interval: float,
    now: datetime | None,
) -> None:
    """Answer the gateway like a clearinghouse and payer: TA1, 999, 277CA, then 835s."""
    if now is not None and not once:
        raise click.UsageError("--now only goes with --once (time must move on in a loop)")
    try:
        upload, download = _folders(ctx, partner, upload_dir, download_dir, sftp_root)
        config = SimulatorConfig.from_file(config_file) if config_file else SimulatorConfig()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if seed is not None:
        config = config.model_copy(update={"seed": seed})
    upload.mkdir(parents=True, exist_ok=True)
    simulator = Simulator(upload, download, config, state_file or upload / STATE_NAME)

    def echo(report: StepReport) -> None:
        if report.files or report.written or report.duplicates:
            click.echo(json.dumps(report.as_dict(), sort_keys=True))

    if now is not None:
        echo(simulator.step(now.replace(tzinfo=UTC)))
        return
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        serve(simulator, interval=interval, once=once, stop=stop, on_step=echo)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
