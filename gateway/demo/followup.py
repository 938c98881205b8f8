"""The demo's follow-up act: a late batch of claims the payer keeps silent (some never
acknowledged, some never paid), then a jump of 35 days on the follow-up clock: the daemon asks
the payer about the silent claims (276), reads its answers (277), sends the lost ones again
and the payer pays the ones it had sat on. The demo ends with the worklist and the aging report,
whose total is checked against the ledger's open amounts to the cent."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gateway.daemon.runner import Daemon
from gateway.demo.claims import Record, generate_claims
from gateway.followup.aging import BUCKETS, Aging, aging
from gateway.followup.worklist import WorkItem, build_worklist
from gateway.simulator.config import SilenceConfig, SimulatorConfig
from gateway.simulator.serve import Simulator

LATE_CLAIMS = 12
JUMP_DAYS = 35
SILENCE = SilenceConfig(no_277ca_rate=Decimal("0.3"), no_payment_rate=Decimal("0.4"))


@dataclass
class FollowupDemo:
    at: datetime
    silent_before: Counter[str] = field(default_factory=Counter)  # reason -> claims
    inquiries_sent: int = 0
    answers: Counter[str] = field(default_factory=Counter)  # 277 outcome -> claims
    worklist: list[WorkItem] = field(default_factory=list)
    aging: Aging | None = None
    ledger_open: Decimal = Decimal("0.00")


def late_claims(seed: int) -> list[Record]:
    """Claims served a few days ago with ids of their own (LATE-00001, ...)."""
    good, _ = generate_claims(LATE_CLAIMS, seed=seed + 1000, today=date.today())
    for n, record in enumerate(good, 1):
        record["claim_id"] = f"LATE-{n:05d}"
        for i, line in enumerate(record["lines"]):
            line["line_id"] = f"LATE-{n:05d}-{i + 1}"
        member = record["subscriber"]["member_id"]
        if str(member).startswith("XX"):
            record["subscriber"]["member_id"] = f"M{n:09d}"
    return good


def run_followup(
    daemon: Daemon, upload: Path, download: Path, config: SimulatorConfig, seed: int,
    rounds: int = 4,
) -> FollowupDemo:  # fmt: skip
    """Drop the late batch, let the payer keep some silent, jump the clock, follow up."""
    home = daemon.home
    target = home / "spool" / "claims" / "late-claims.json"
    target.write_text(json.dumps(late_claims(seed)))
    payer = Simulator(upload, download, config.model_copy(update={"silence": SILENCE}),
                      home / "state" / "simulator.json")  # fmt: skip
    for _ in range(rounds):
        daemon.cycle(once=True)
        payer.step()
    daemon.cycle(once=True)
    at = datetime.now(UTC) + timedelta(days=JUMP_DAYS)
    result = FollowupDemo(at)
    ledger = daemon.ledger
    silent = ("no_999", "no_277ca", "no_payment")
    result.silent_before = Counter(
        i.reason for i in build_worklist(ledger, at) if i.reason in silent
    )
    daemon.followup.clock = lambda: at
    for _ in range(rounds):
        daemon.cycle(once=True)  # 276s out; then 277s in, lost claims sent again
        payer.step()  # 277s; 835s for the claims the inquiries woke
    daemon.cycle(once=True)
    result.inquiries_sent = len(ledger.status_inquiries()) - len(
        ledger.status_inquiries(state="queued")
    )
    result.answers = Counter(str(i.outcome) for i in ledger.status_inquiries(state="answered"))
    result.worklist = build_worklist(ledger, at)
    result.aging = aging(ledger, at)
    result.ledger_open = sum(
        (Decimal(c.billed or "0") for c in ledger.list_claims(limit=100_000)
         if c.state in ("submitted", "accepted")),
        Decimal("0.00"),
    )  # fmt: skip
    return result


def print_followup(result: FollowupDemo | None, console: Console) -> None:
    """The worklist (its first items and a count per reason) and the aging report."""
    if result is None:
        return
    day = result.at.date().isoformat()
    console.print(f"[bold]follow-up[/bold], {JUMP_DAYS} days later ({day}): silent claims "
                  f"{dict(result.silent_before) or 'none'}; {result.inquiries_sent} claim status "
                  f"inquiries (276) sent; the payer's 277 answers: "
                  f"{dict(result.answers) or 'none yet'}")  # fmt: skip
    reasons = Counter(i.reason for i in result.worklist)
    console.print(f"[bold]worklist[/bold] ({len(result.worklist)} items: {dict(reasons)}), "
                  "most urgent first:")  # fmt: skip
    for item in result.worklist[:10]:
        due = f", due {item.due.isoformat()}" if item.due else ""
        console.print(f"  {item.claim_id} {item.reason}{due}, {item.amount:,.2f}: "
                      f"{item.detail} [dim]→ {item.action}[/dim]", highlight=False)  # fmt: skip
    if len(result.worklist) > 10:
        console.print(f"  ... and {len(result.worklist) - 10} more (gateway worklist)")
    report = result.aging
    if report is None:
        return
    grid = Table(title="aging: money insurers still owe, by days since submission")
    grid.add_column("payer")
    for name in (*BUCKETS, "total"):
        grid.add_column(name, justify="right")
    for row in report.rows:
        grid.add_row(row.key, *(f"{row.buckets[b].amount:,.2f}" for b in BUCKETS),
                     f"{row.total.amount:,.2f}")  # fmt: skip
    grid.add_row("total", *(f"{report.buckets[b].amount:,.2f}" for b in BUCKETS),
                 f"{report.total.amount:,.2f}")  # fmt: skip
    console.print(grid)
    same = "yes" if report.total.amount == result.ledger_open else "NO"
    console.print(f"aging total equals the ledger's open amounts to the cent: {same} "
                  f"({result.ledger_open:,.2f})")  # fmt: skip
