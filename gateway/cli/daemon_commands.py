"""``gateway run``, ``gateway claims``, ``gateway claim ID``, ``gateway partners check``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from gateway.cli.output import dumps
from gateway.config import ConfigError, database_url, load_partners, load_settings
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import ClaimState


def _home(ctx: click.Context) -> Path:
    from gateway.cli.main import home_dir

    return home_dir(ctx)


def _configure_logs(home: Path) -> None:
    from gateway.logs import configure

    settings = load_settings(home)
    fmt = settings.logging.format
    configure(
        json=None if fmt == "auto" else fmt == "json",
        level=getattr(logging, settings.logging.level.upper()),
    )


@click.command()
@click.option("--once", is_flag=True, help="one whole cycle without waiting, then exit")
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """The daemon: intake, build, send, poll, read replies, post, emit.

    Exit 0 when stopped by SIGTERM/SIGINT or when the --once cycle completed; 1 when a partner
    could not be reached or a step failed during --once; 2 on a configuration error.
    """
    from gateway.daemon.runner import AlreadyRunning, Daemon

    home = _home(ctx)
    try:
        _configure_logs(home)
        daemon = Daemon(home)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        code = daemon.run(once=once)
    except AlreadyRunning as exc:
        raise click.UsageError(str(exc)) from exc
    finally:
        daemon.ledger.close()
    sys.exit(code)


def _ledger(home: Path) -> Ledger:
    from gateway.ledger.db import open_ledger

    try:
        return open_ledger(database_url(home, load_settings(home)))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


@click.command()
@click.option(
    "--status", "state", type=click.Choice([s.value for s in ClaimState]), help="only this state"
)
@click.option("--limit", default=200, show_default=True, help="at most this many claims")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table")
@click.pass_context
def claims(ctx: click.Context, state: str | None, limit: int, as_json: bool) -> None:
    """The ledger's claims, latest change first, with a count per state."""
    with _ledger(_home(ctx)) as ledger:
        rows = ledger.list_claims(state, limit=limit)
        counts = ledger.count_claims()
    if as_json:
        for c in rows:
            click.echo(dumps({
                "claim_id": c.claim_id, "version": c.version, "state": c.state.value,
                "kind": c.kind, "partner": c.partner, "payer_id": c.payer_id,
                "frequency": c.frequency, "updated_at": c.updated_at.isoformat(),
            }, indent=None))  # fmt: skip
        return
    click.echo(f"{'claim':<20} {'ver':>3} {'state':<15} {'kind':<13} {'partner':<16} updated")
    for c in rows:
        click.echo(
            f"{c.claim_id:<20} {c.version:>3} {c.state.value:<15} {c.kind:<13} "
            f"{c.partner:<16} {c.updated_at:%Y-%m-%d %H:%M:%S}"
        )
    total = sum(counts.values())
    click.echo(
        f"{total} claim(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        if total
        else "no claims in the ledger yet"
    )


@click.command("claim")
@click.argument("claim_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def claim_history(ctx: click.Context, claim_id: str, as_json: bool) -> None:
    """One claim's whole timeline: queued, submitted in which file, acknowledged, paid."""
    with _ledger(_home(ctx)) as ledger:
        stored = ledger.claim(claim_id)
        if stored is None:
            click.echo(f"claim {claim_id}: not in the ledger", err=True)
            sys.exit(1)
        events = ledger.history(claim_id)
        sent_in = ledger.claim_interchanges(claim_id)
    if as_json:
        click.echo(dumps({
            "claim_id": claim_id, "version": stored.version, "state": stored.state.value,
            "kind": stored.kind, "partner": stored.partner, "payer_id": stored.payer_id,
            "interchanges": [{"file": i.file_name, "control_number": f"{i.control_number:09d}",
                              "built_at": i.created_at.isoformat(),
                              "sent_at": i.sent_at.isoformat() if i.sent_at else None}
                             for i in sent_in],
            "events": [{"at": e.at.isoformat(), "version": e.version, "event": e.event.value,
                        "source": e.source, "detail": e.detail} for e in events],
        }))  # fmt: skip
        return
    click.echo(
        f"claim {claim_id} (version {stored.version}, {stored.kind}, partner {stored.partner}, "
        f"payer {stored.payer_id}): {stored.state.value}"
    )
    for e in events:
        d = e.detail
        what = ", ".join(
            f"{k} {d[k]}"
            for k in ("file", "control_number", "trace_number", "paid", "patient_owes",
                      "next_action", "payer_claim_number")
            if d.get(k)
        )  # fmt: skip
        reasons = "; ".join(f"{r['code']} {r['text']}" for r in d.get("reasons") or [])
        click.echo(
            f"  {e.at:%Y-%m-%d %H:%M:%S}  v{e.version}  {e.event.value:<15} {e.source:<7} "
            + what
            + (f"  reasons: {reasons}" if reasons else "")
        )
    for i in sent_in:
        sent = f"sent {i.sent_at:%Y-%m-%d %H:%M:%S}" if i.sent_at else "not yet sent"
        click.echo(f"  in {i.file_name} (ISA13 {i.control_number:09d}), {sent}")


@click.group()
def partners() -> None:
    """Trading partners."""


@partners.command("check")
@click.argument("name", required=False)
@click.pass_context
def partners_check(ctx: click.Context, name: str | None) -> None:
    """Log in to each partner (or NAME), list both folders, report; exit 1 if one fails."""
    from gateway.daemon.transports import open_transport
    from gateway.transports.errors import TransportError

    home = _home(ctx)
    try:
        found = load_partners(home)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    chosen = [p for p in found if name in (None, p.name)]
    if not chosen:
        raise click.UsageError(f"no partner named {name!r} in {home / 'partners'}")
    failed = False
    health_file = home / "state" / "partners.json"
    health = json.loads(health_file.read_text()) if health_file.exists() else {}
    for partner in chosen:
        seen = health.get(partner.name)
        if seen:
            click.echo(
                f"{partner.name}: the daemon last saw it {seen['state']}"
                + (f" since {seen['failures']} failure(s): {seen['last_error']}"
                   if seen["state"] == "down" else "")
                + (f"; last good exchange {seen['last_ok']}" if seen.get("last_ok") else "")
            )  # fmt: skip
        try:
            with open_transport(home, partner) as transport:
                check = transport.check()
        except (TransportError, ConfigError, OSError) as exc:
            failed = True
            click.echo(f"{partner.name}: FAILED ({partner.transport}): {exc}")
            continue
        click.echo(
            f"{partner.name}: ok ({partner.transport}) upload {check.upload_dir} "
            f"[{check.upload_files} file(s)], download {check.download_dir} "
            f"[{check.download_files} file(s)]" + (f"; {check.detail}" if check.detail else "")
        )
    sys.exit(1 if failed else 0)


@click.command()
@click.option("--home", "demo_home", type=click.Path(file_okay=False),
              help="where to build the demo home (default: a new temporary folder)")  # fmt: skip
@click.option("--claims", "count", default=60, show_default=True, help="claims to generate")
@click.option("--seed", default=7, show_default=True, help="same seed, same claims and replies")
def demo(demo_home: str | None, count: int, seed: int) -> None:
    """The whole cycle end to end: generated claims, the daemon, the payer simulator."""
    import tempfile

    from rich.console import Console

    from gateway.demo.run import print_summary, run_demo
    from gateway.logs import configure

    home = Path(demo_home) if demo_home else Path(tempfile.mkdtemp(prefix="gateway-demo-"))
    if home.exists() and any(home.iterdir()):
        raise click.UsageError(f"{home} is not empty: the demo builds a fresh home")
    home.mkdir(parents=True, exist_ok=True)
    (home / "state").mkdir(mode=0o700, exist_ok=True)
    log = (home / "state" / "demo.log").open("w", encoding="utf-8")
    configure(json=True, file=log)  # the daemon's logs go to the home, the screen shows progress
    console = Console()
    console.print(f"[bold]gateway demo[/bold]: {count} claims, seed {seed}, home {home}")
    try:
        summary = run_demo(home, claims=count, seed=seed, console=console)
    finally:
        configure()  # logs back to stderr before the file closes
        log.close()
    print_summary(summary, console)
    sys.exit(0 if summary.finished and not summary.unreconciled else 1)
