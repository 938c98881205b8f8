"""Operations: ``gateway backup FILE`` (the ledger) and ``gateway archive compress``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from gateway.config import ConfigError, database_url, load_settings


def _home(ctx: click.Context) -> Path:
    from gateway.cli.main import home_dir

    return home_dir(ctx)


@click.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.pass_context
def backup(ctx: click.Context, target: str) -> None:
    """Copy the ledger to TARGET while the daemon runs (SQLite's online backup, or pg_dump).

    The copy is checked before it is kept; TARGET must not exist. Restore a SQLite copy by
    putting it in place of state/gateway.db with the daemon stopped; a PostgreSQL dump with
    pg_restore into an empty database.
    """
    from gateway.ledger.backup import BackupFailed, backup_ledger

    home = _home(ctx)
    try:
        url = database_url(home, load_settings(home))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        made = backup_ledger(url, Path(target))
    except BackupFailed as exc:
        click.echo(f"backup failed: {exc}", err=True)
        raise SystemExit(1) from exc
    click.echo(f"{made.path}: {made.size:,} bytes ({made.how})")


@click.group()
def archive() -> None:
    """The spool's archive (every file taken in, sent or received)."""


@archive.command("compress")
@click.option("--older-than", "days", type=click.FloatRange(min=1), default=30, show_default=True,
              help="compress files last changed more than this many days ago")  # fmt: skip
@click.pass_context
def archive_compress(ctx: click.Context, days: float) -> None:
    """Gzip old files of spool/archive/ in place (NAME -> NAME.gz, checked); deletes nothing."""
    from gateway.archive_compression import compress_archive

    home = _home(ctx)
    try:
        spool = home / load_settings(home).spool.root
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    report = compress_archive(spool / "archive", older_than_seconds=days * 86400, now=time.time())
    for path, why in report.skipped:
        click.echo(f"{path}: left as it is: {why}", err=True)
    saved = report.bytes_before - report.bytes_after
    click.echo(
        f"compressed {len(report.compressed)} file(s) older than {days:g} days: "
        f"{report.bytes_before:,} -> {report.bytes_after:,} bytes ({saved:,} saved)"
    )
