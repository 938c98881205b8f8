"""``gateway worklist`` and ``gateway aging``: what needs a person today, and the money
insurers still owe by age. Both are computed from the ledger at ``--as-of`` (default: now)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import click

from gateway.cli.output import dumps
from gateway.config import ConfigError, FollowupConfig, load_partners
from gateway.followup.aging import BUCKETS, Aging, aging
from gateway.followup.worklist import REASONS, WorkItem, build_worklist

_AS_OF = click.option(
    "--as-of", "as_of", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="compute as of this day (YYYY-MM-DD, UTC; default: now)",
)  # fmt: skip


def _now(as_of: datetime | None) -> datetime:
    return as_of.replace(tzinfo=UTC) if as_of is not None else datetime.now(UTC)


def _settings(home: Path) -> dict[str, FollowupConfig]:
    try:
        return {p.name: p.followup for p in load_partners(home)}
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


@click.command("worklist")
@click.option("--reason", type=click.Choice(REASONS), help="only items with this reason")
@click.option("--payer", help="only items of this payer (its name)")
@click.option("--partner", help="only items of this partner")
@_AS_OF
@click.option("--json", "as_json", is_flag=True, help="a JSON list (the contract's fields)")
@click.pass_context
def worklist(
    ctx: click.Context, reason: str | None, payer: str | None, partner: str | None,
    as_of: datetime | None, as_json: bool,
) -> None:  # fmt: skip
    """What needs a person, most urgent first: the nearest deadline, then the most money."""
    from gateway.cli.daemon_commands import _home, _ledger

    home = _home(ctx)
    with _ledger(home) as ledger:
        items = build_worklist(ledger, _now(as_of), _settings(home), reason=reason, payer=payer,
                               partner=partner)  # fmt: skip
    if as_json:
        click.echo(dumps([i.to_json() for i in items]))
        return
    click.echo("\n".join(worklist_lines(items)))


def worklist_lines(items: list[WorkItem]) -> list[str]:
    if not items:
        return ["nothing needs you: no claim is late, silent, rejected or unpaid"]
    lines = [f"{'claim':<20} {'reason':<17} {'since':<10} {'due':<10} {'payer':<20} "
             f"{'amount':>10}"]  # fmt: skip
    for i in items:
        due = i.due.isoformat() if i.due else ""
        lines.append(f"{i.claim_id:<20} {i.reason:<17} {i.since.isoformat():<10} {due:<10} "
                     f"{i.payer[:20]:<20} {i.amount:>10.2f}")  # fmt: skip
        lines.append(f"    why: {i.detail}")
        lines.append(f"    do:  {i.action}")
    lines.append(f"{len(items)} item(s)")
    return lines


@click.command("aging")
@click.option("--by", type=click.Choice(["payer", "partner"]), default="payer", show_default=True)
@_AS_OF
@click.option("--json", "as_json", is_flag=True, help="buckets, counts and totals as JSON")
@click.pass_context
def aging_report(
    ctx: click.Context, by: Literal["payer", "partner"], as_of: datetime | None, as_json: bool
) -> None:
    """Money still expected from insurers, by days since submission."""
    from gateway.cli.daemon_commands import _home, _ledger

    with _ledger(_home(ctx)) as ledger:
        report = aging(ledger, _now(as_of), by)
    if as_json:
        click.echo(dumps(report.to_json()))
        return
    click.echo("\n".join(aging_lines(report)))


def aging_lines(report: Aging) -> list[str]:
    def cell(count: int, amount: Decimal) -> str:
        return f"{amount:>10.2f} ({count:>3})"

    head = f"{report.by:<24}" + "".join(f"{b:>17}" for b in (*BUCKETS, "total"))
    lines = [head]
    for row in report.rows:
        cells = [row.buckets[b] for b in BUCKETS] + [row.total]
        lines.append(f"{row.key[:24]:<24}" + "".join(f"{cell(c.count, c.amount):>17}"
                                                     for c in cells))  # fmt: skip
    cells = [report.buckets[b] for b in BUCKETS] + [report.total]
    lines.append(f"{'total':<24}" + "".join(f"{cell(c.count, c.amount):>17}" for c in cells))
    return lines


def parse_status(path: Path, transaction: str) -> bool:
    """``gateway parse`` of a 276 (the claims asked about) or a 277 (the answers, with every
    code in plain words; unknown codes shown as unknown)."""
    if transaction == "276":
        from gateway.transactions.status_276_reader import read_276

        asked = [
            {"trace": a.trace, "claim_id": a.claim_id, "payer_id": a.payer_id,
             "payer_claim_number": a.payer_claim_number, "charge": a.charge,
             "service_dates": a.service_dates, "level": a.level}
            for a in read_276(path)
        ]  # fmt: skip
        click.echo(dumps({"transaction": "276", "claims": asked}))
        return True
    from gateway.transactions.status_277 import read_277

    response = read_277(path)
    click.echo(dumps({
        "transaction": "277",
        "answers": [{"claim_id": a.claim_id, **a.detail()} for a in response.answers],
        "inquiry_statuses": [
            {"level": r.level, "category": r.status.category, "code": r.status.code,
             "position": r.position}
            for r in response.request_statuses
        ],
    }))  # fmt: skip
    return True
