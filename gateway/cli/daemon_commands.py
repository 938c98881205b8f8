"""``gateway run``, ``gateway claims``, ``gateway claim ID``, ``gateway partners check``,
``gateway demo``."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from gateway.cli.output import dumps
from gateway.config import (
    ConfigError,
    PartnerConfig,
    database_url,
    find_partner,
    load_partners,
    load_settings,
)
from gateway.daemon.legs_view import leg_lines, legs_json
from gateway.ledger.ledger import ClaimEvent, Ledger, StoredPayment
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
@click.option("--web", "web_port", type=int, is_flag=False, flag_value=8080, default=None,
              help="also serve the web view on 127.0.0.1:PORT (8080), in this process")  # fmt: skip
@click.pass_context
def run(ctx: click.Context, once: bool, web_port: int | None) -> None:
    """The daemon: intake, build, send, poll, read replies, post, emit.

    Exit 0 when stopped by SIGTERM/SIGINT or when the --once cycle completed; 1 when a partner
    could not be reached or a step failed during --once; 2 on a configuration error.
    """
    from gateway.daemon.gc_tuning import tune_collector
    from gateway.daemon.runner import AlreadyRunning, Daemon

    tune_collector()  # this process is the daemon's: see gc_tuning
    home = _home(ctx)
    try:
        _configure_logs(home)
        daemon = Daemon(home)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    stop_web = None
    if web_port is not None:
        from gateway.web.server import serve_beside

        stop_web = serve_beside(home, port=web_port)
    try:
        code = daemon.run(once=once)
    except AlreadyRunning as exc:
        raise click.UsageError(str(exc)) from exc
    finally:
        if stop_web is not None:
            stop_web()
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
@click.option("--patient", help='the patient: "LAST" or "LAST, FIRST" (each a prefix, any case)')
@click.option("--from", "served_from", type=click.DateTime(["%Y-%m-%d"]),
              help="a date of service on or after this day (YYYY-MM-DD)")  # fmt: skip
@click.option("--to", "served_to", type=click.DateTime(["%Y-%m-%d"]),
              help="a date of service on or before this day (YYYY-MM-DD)")  # fmt: skip
@click.option("--payer", "payer_id", help="only claims to this payer id")
@click.option("--limit", default=200, show_default=True, help="at most this many claims")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table")
@click.pass_context
def claims(
    ctx: click.Context,
    state: str | None,
    patient: str | None,
    served_from: datetime | None,
    served_to: datetime | None,
    payer_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The ledger's claims, latest change first, with a count per state.

    "Why do I owe for my visit of March 3?": gateway claims --patient doe --from 2025-03-03
    --to 2025-03-03, then gateway claim ID.
    """
    with _ledger(_home(ctx)) as ledger:
        rows = ledger.list_claims(
            state, limit=limit, patient=patient, payer_id=payer_id,
            served_from=served_from.date().isoformat() if served_from else None,
            served_to=served_to.date().isoformat() if served_to else None,
        )  # fmt: skip
        counts = ledger.count_claims()
        waiting = {
            c.claim_id: _waiting_in(ledger, c.claim_id)
            for c in rows if c.state == ClaimState.BATCHED
        }  # fmt: skip
    if as_json:
        for c in rows:
            click.echo(dumps({
                "claim_id": c.claim_id, "version": c.version, "state": c.state.value,
                "kind": c.kind, "partner": c.partner, "payer_id": c.payer_id,
                "frequency": c.frequency, "updated_at": c.updated_at.isoformat(),
                "patient": {"last_name": c.patient_last_name,
                            "first_name": c.patient_first_name},
                "service_from": c.service_from, "service_to": c.service_to, "billed": c.billed,
                **({"waiting_in": waiting[c.claim_id]} if c.claim_id in waiting else {}),
            }, indent=None))  # fmt: skip
        return
    click.echo(
        f"{'claim':<20} {'ver':>3} {'state':<15} {'patient':<24} {'served':<10} "
        f"{'payer':<10} {'billed':>10}  updated"
    )
    for c in rows:
        name = ", ".join(n for n in (c.patient_last_name, c.patient_first_name) if n)
        note = f"  in {waiting[c.claim_id]}, waiting to upload" if c.claim_id in waiting else ""
        click.echo(
            f"{c.claim_id:<20} {c.version:>3} {c.state.value:<15} {name[:24]:<24} "
            f"{c.service_from or '':<10} {c.payer_id[:10]:<10} {c.billed or '':>10}  "
            f"{c.updated_at:%Y-%m-%d %H:%M:%S}{note}"
        )
    total = sum(counts.values())
    click.echo(
        f"{total} claim(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        if total
        else "no claims in the ledger yet"
    )


def _waiting_in(ledger: Ledger, claim_id: str) -> str:
    """The file a batched claim waits in (built, not yet uploaded)."""
    unsent = [i for i in ledger.claim_interchanges(claim_id) if i.sent_at is None]
    return unsent[-1].file_name if unsent else "an interchange"


# What a timeline line says of an event, from its detail, in this order.
_FACTS = (
    ("file", "file {}"), ("control_number", "ISA13 {}"), ("trace_number", "trace {}"),
    ("money", "{}"), ("next_action", "next: {}"),
    ("payer_claim_number", "payer claim {}"), ("reverses", "reverses posting {}"),
    ("note", "note: {}"), ("claim_state", "the claim stays {}"),
)  # fmt: skip


def _event_line(e: ClaimEvent) -> str:
    d = e.detail
    facts = [form.format(d[key]) for key, form in _FACTS if d.get(key)]
    if d.get("trace_number") and d.get("payment_date"):
        trace = f"trace {d['trace_number']}"
        facts[facts.index(trace)] = f"{trace} of {d['payment_date']}"
    if e.event == ClaimState.SUBMITTED and d.get("claim_state"):
        facts[-1] = "upload confirmed after a reply"
    if e.event == ClaimState.BATCHED:
        facts.append("built, waiting to upload")
    if e.source == "next_payer":  # a leg built from the earlier payers' 835s
        facts = [f"to {d.get('payer_id')} ({d.get('payer_sequence')}) via {d.get('partner')}, "
                 "built from the earlier 835s"]  # fmt: skip
    reasons = "; ".join(
        r["text"]
        if r["text"].startswith(r["code"].replace("_", " "))
        else f"{r['code']} {r['text']}"
        for r in d.get("reasons") or []
    )
    return (
        f"  {e.at:%Y-%m-%d %H:%M:%S}  v{e.version}  {e.event.value:<17} {e.source:<7} "
        + ", ".join(facts)
        + (f"  reasons: {reasons}" if reasons else "")
    )


def _payment_json(p: StoredPayment) -> dict[str, Any]:
    return {
        "posting_id": p.posting_id, "state": p.state.value, "version": p.version,
        "payer_id": p.payer_id, "payer_sequence": p.payer_sequence,
        "status_code": p.status_code, "charge": p.charge, "paid": p.paid,
        "patient_responsibility": p.patient_responsibility,
        "payer_claim_number": p.payer_claim_number, "trace_number": p.trace_number,
        "payment_date": p.payment_date or None, "file": p.archived_as or p.file_name,
        "balance_id": p.balance_id, "recorded_at": p.recorded_at.isoformat(),
        "reverses": p.reverses, "detail": p.detail,
    }  # fmt: skip


@click.command("claim")
@click.argument("claim_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def claim_history(ctx: click.Context, claim_id: str, as_json: bool) -> None:
    """One claim's whole timeline: queued, sent in which file, acknowledged, paid, held."""
    with _ledger(_home(ctx)) as ledger:
        stored = ledger.claim(claim_id)
        if stored is None:
            click.echo(f"claim {claim_id}: not in the ledger", err=True)
            sys.exit(1)
        events = ledger.history(claim_id)
        sent_in = ledger.claim_interchanges(claim_id)
        payments = ledger.claim_payments(claim_id)
        notes = ledger.notes(claim_id)
        versions = [v for n in range(1, stored.version + 1)
                    if (v := ledger.claim(claim_id, n)) is not None]  # fmt: skip
        legs = ledger.legs(claim_id)
    filed = next(
        (
            e.at
            for e in events
            if e.version == stored.version
            and e.source == "277CA"
            and e.event == ClaimState.ACCEPTED
        ),
        None,
    )  # the proof of timely filing
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
            "payments": [_payment_json(p) for p in payments], "legs": legs_json(legs),
            "notes": [{"at": n.at.isoformat(), "kind": n.kind, "author": n.author,
                       "text": n.text} for n in notes],
            "versions": [{"version": v.version, "frequency": v.frequency,
                          "state": v.state.value, "payer_claim_number": v.payer_claim_number,
                          "created_at": v.created_at.isoformat()} for v in versions],
            "filed_at": filed.isoformat() if filed else None,
        }))  # fmt: skip
        return
    waiting = [i for i in sent_in if i.sent_at is None]
    click.echo(
        f"claim {claim_id} (version {stored.version}, {stored.kind}, partner {stored.partner}, "
        f"payer {stored.payer_id}): {stored.state.value}"
        + (f": in {waiting[-1].file_name}, waiting to upload"
           if stored.state == ClaimState.BATCHED and waiting else "")
    )  # fmt: skip
    if len(versions) > 1:  # replacements, voids, corrected claims: every version is kept
        kinds = {"1": "original", "7": "replacement", "8": "void"}
        for v in versions:
            f8 = f", REF*F8 {v.payer_claim_number}" if v.frequency != "1" else ""
            click.echo(f"  version {v.version}: {kinds.get(v.frequency, v.frequency)} "
                       f"(frequency {v.frequency}{f8}), {v.state.value}")  # fmt: skip
    if filed is not None:
        click.echo(f"  filed: the payer's 277CA accepted it on {filed:%Y-%m-%d} (proof of timely "
                   "filing)")  # fmt: skip
    for e in events:
        click.echo(_event_line(e))
    for i in sent_in:
        sent = f"sent {i.sent_at:%Y-%m-%d %H:%M:%S}" if i.sent_at else "not yet sent"
        click.echo(f"  in {i.file_name} (ISA13 {i.control_number:09d}), {sent}")
    if payments:
        click.echo("payments:")
    for p in payments:
        click.echo(
            f"  {p.recorded_at:%Y-%m-%d %H:%M:%S}  {p.state.value:<10} payer {p.payer_id} "
            f"({p.payer_sequence}) CLP02 {p.status_code} paid {p.paid}, patient "
            f"{p.patient_responsibility}, trace {p.trace_number}, file "
            f"{p.archived_as or p.file_name}"
        )
    if legs:  # billed to several payers in turn: one line per payer
        click.echo("payers:")
        click.echo("\n".join(leg_lines(legs, events, payments)))
    if notes:
        click.echo("notes:")
    for n in notes:
        kind = {"dispute_opened": "dispute opened: ", "dispute_closed": "dispute closed: "}
        click.echo(f"  {n.at:%Y-%m-%d %H:%M:%S}  {n.author}: {kind.get(n.kind, '')}{n.text}")


@click.group()
def partners() -> None:
    """Trading partners."""


@partners.command("check")
@click.argument("name", required=False)
@click.pass_context
def partners_check(ctx: click.Context, name: str | None) -> None:
    """Log in to each partner (or NAME), list both folders, write, rename and remove a probe
    file in the upload folder (what an upload does), report; exit 1 if one fails.

    NAME is a partner's name, or the name of its file in partners/ (as for build --partner).
    """
    import structlog

    from gateway.logs import configure

    home = _home(ctx)
    try:
        chosen = [find_partner(home, name)] if name else load_partners(home)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if not chosen:
        raise click.UsageError(f"no partner in {home / 'partners'}")
    previous = structlog.get_config()
    configure(level=logging.WARNING)  # these lines say it all: no info line in between
    try:
        failed = _check_each(home, chosen)
    finally:
        structlog.configure(**previous)
    sys.exit(1 if failed else 0)


def _check_each(home: Path, chosen: list[PartnerConfig]) -> bool:
    """Check each partner, a line each; True when one failed."""
    from gateway.daemon.transports import open_transport
    from gateway.transports.errors import TransportError

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
    return failed


@click.command()
@click.option("--home", "demo_home", type=click.Path(file_okay=False),
              help="where to build the demo home (default: a new temporary folder)")  # fmt: skip
@click.option("--claims", "count", default=60, show_default=True, help="claims to generate")
@click.option("--seed", default=7, show_default=True, help="same seed, same claims and replies")
@click.option("--web", "web_port", type=int, is_flag=False, flag_value=8080, default=None,
              help="then serve the web view of the demo home on 127.0.0.1:PORT (8080)")  # fmt: skip
def demo(demo_home: str | None, count: int, seed: int, web_port: int | None) -> None:
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
    if web_port is not None and summary.finished:
        from gateway.cli.web_commands import demo_web

        demo_web(home, web_port)
    sys.exit(0 if summary.finished and not summary.unreconciled else 1)
