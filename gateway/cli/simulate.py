"""``gateway simulate``: a clearinghouse and payer answering the gateway's uploads.

Serves one partner's exchange folder pair: takes the 837s from the upload folder and writes
TA1, 999, 277CA and 835 replies into the download folder. Exit codes: 0 stopped (SIGTERM,
SIGINT, or after ``--once``), 2 usage or configuration error.
"""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import click

from gateway.config import ConfigError, load_partner
from gateway.simulator import Simulator, SimulatorConfig, StepReport, serve

STATE_NAME = ".simulator-state.json"  # a dot name: neither side takes it for an X12 file


def _folders(
    ctx: click.Context, partner: str | None, upload: Path | None, download: Path | None
) -> tuple[Path, Path]:
    """The folder pair: from the options, else from the partner's ``[directory]``."""
    if partner is not None:
        from gateway.cli.main import home_dir

        home = home_dir(ctx)
        path = Path(partner) if Path(partner).suffix else home / "partners" / f"{partner}.toml"
        config = load_partner(path)
        if config.directory is None:
            raise ConfigError(f"partner {config.name}: simulate needs a [directory] section")
        upload = upload or home / config.directory.upload_dir
        download = download or home / config.directory.download_dir
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
@click.option("--partner", help="take both folders from partners/NAME.toml [directory]")
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
        upload, download = _folders(ctx, partner, upload_dir, download_dir)
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
