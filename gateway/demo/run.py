"""The demo: a fresh home, generated claims, the daemon and the payer simulator, a summary.

Everything runs in this process: each round is one daemon cycle (intake, build, send, poll,
read replies, post, emit) then one simulator step (answer the 837s, pay what is due), until
every claim is paid, denied or rejected. The home is left in place for a look around.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway.daemon.runner import Daemon
from gateway.demo.claims import UNKNOWN_MEMBER_PREFIX, generate_claims
from gateway.demo.corrections import CorrectionShown, show_a_correction
from gateway.demo.eligibility_checks import (
    INACTIVE_MEMBER,
    INACTIVE_SINCE,
    Check,
    checks,
    drop_requests,
    eligibility_requests,
    print_checks,
)
from gateway.demo.followup import FollowupDemo, print_followup, run_followup
from gateway.demo.next_payers import show_next_payers
from gateway.home import init_home
from gateway.ledger.schema import ClaimState
from gateway.simulator.config import (
    AdjudicationConfig,
    AdjustmentsConfig,
    ClaimEditsConfig,
    DenialRule,
    EligibilityConfig,
    MemberConfig,
    SimulatorConfig,
)
from gateway.simulator.serve import Simulator

FINAL = frozenset({ClaimState.PAID, ClaimState.PARTIALLY_PAID, ClaimState.DENIED,
                   ClaimState.REJECTED})  # fmt: skip
ZERO = Decimal("0.00")

PARTNER = """# The demo's clearinghouse: a folder pair the payer simulator serves.
name = "clearinghouse"
transport = "directory"
payers = ["*"]
usage = "T"

[interchange]
sender_id = "PRACTICE01"
receiver_id = "ACMECH"
ack_requested = true

[submitter]
name = "Main Street Clinic"
contact = "Billing Office"
phone = "5125550100"
receiver_name = "ACME CLEARINGHOUSE"

[directory]
upload_dir = "exchange/clearinghouse/in"
download_dir = "exchange/clearinghouse/out"
settle_seconds = 0

[schedule]
poll_seconds = 1

[batch]
max_claims = 25
max_wait_seconds = 0
"""


def demo_simulator_config(seed: int) -> SimulatorConfig:
    """A payer with a deductible, coinsurance, copays, a few denials, PLBs and reversals."""
    return SimulatorConfig(
        seed=seed,
        claims=ClaimEditsConfig(unknown_member_prefixes=[UNKNOWN_MEMBER_PREFIX]),
        adjudication=AdjudicationConfig(
            deductible=Decimal(100), copays={"99213": Decimal(25), "99214": Decimal(25)},
            denials=[DenialRule(procedure="D0274", group="CO", reason="119", remark="N130")],
            random_denial_rate=Decimal("0.04"),
        ),
        adjustments=AdjustmentsConfig(plb_rate=Decimal("0.2"), reversal_rate=Decimal("0.05")),
        eligibility=EligibilityConfig(members=[
            MemberConfig(member_id=INACTIVE_MEMBER, active=False, coverage_end=INACTIVE_SINCE),
        ]),
    )  # fmt: skip


def make_demo_home(
    home: Path, *, claims: int, seed: int, partner: str = PARTNER
) -> tuple[int, int]:
    """A home with one partner (by default a folder pair) and the generated claim files;
    returns the (good, bad) claim counts."""
    init_home(home)
    (home / "partners" / "example.toml").unlink()
    (home / "partners" / "clearinghouse.toml").write_text(partner)
    settings = home / "gateway.toml"
    settings.write_text(settings.read_text().replace("settle_seconds = 5", "settle_seconds = 0"))
    for folder in ("in", "out"):
        (home / "exchange" / "clearinghouse" / folder).mkdir(parents=True, mode=0o700)
    good, bad = generate_claims(claims, seed=seed)
    spool = home / "spool" / "claims"
    mixed = good[:2] + bad  # good claims in a file with bad ones are still taken
    (spool / "claims-with-errors.json").write_text(json.dumps(mixed, indent=1))
    rest = good[2:]
    for n, start in enumerate(range(0, len(rest), 20), 1):
        (spool / f"claims-{n:03d}.json").write_text(json.dumps(rest[start : start + 20]))
    drop_requests(home / "spool", eligibility_requests(good, date.today()))
    return len(good), len(bad)


@dataclass
class DemoSummary:
    home: Path
    claims_dropped: int = 0
    claims_refused_at_intake: list[tuple[str, str]] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)
    rejected_by_payer: list[tuple[str, str]] = field(default_factory=list)
    denied: list[tuple[str, str]] = field(default_factory=list)
    interchanges: int = 0
    rounds: int = 0
    money: dict[str, Decimal] = field(default_factory=dict)
    patient_bills: int = 0
    patient_owes: Decimal = ZERO
    unreconciled: list[str] = field(default_factory=list)
    eligibility: list[Check] = field(default_factory=list)
    finished: bool = False
    correction: CorrectionShown | None = None
    followup: FollowupDemo | None = None


def _jsonl(folder: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        out += [json.loads(line) for line in path.read_text().splitlines()]
    return out


def run_demo(
    home: Path, *, claims: int = 60, seed: int = 7, console: Console | None = None,
    max_rounds: int = 100, partner: str = PARTNER, served: tuple[Path, Path] | None = None,
) -> DemoSummary:  # fmt: skip
    """``served``: the (upload, download) folders the simulator serves when ``partner`` is not
    the default folder pair (e.g. the data root of an SFTP server)."""
    console = console or Console()
    good, bad = make_demo_home(home, claims=claims, seed=seed, partner=partner)
    summary = DemoSummary(home, claims_dropped=good + bad)
    daemon = Daemon(home)
    exchange = home / "exchange" / "clearinghouse"
    upload, download = served or (exchange / "in", exchange / "out")
    simulator = Simulator(upload, download, demo_simulator_config(seed),
                          home / "state" / "simulator.json")  # fmt: skip
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            sent = progress.add_task("claims sent to the clearinghouse", total=good)
            done = progress.add_task("claims paid, denied or rejected", total=good)
            for summary.rounds in range(1, max_rounds + 1):
                daemon.cycle(once=True)
                step = simulator.step()
                counts = daemon.ledger.count_claims()
                settled = sum(n for s, n in counts.items() if s in FINAL)
                progress.update(sent, completed=sum(counts.values()) - counts.get("queued", 0))
                progress.update(done, completed=settled)
                outbox_empty = not any(daemon.ledger.pending_outbox(k, limit=1)
                                       for k in ("postings", "balances", "status",
                                                 "benefits"))  # fmt: skip
                asked = daemon.ledger.count_eligibility_requests()
                answered = set(asked) <= {"answered", "rejected"}
                if (settled == good and step.pending == 0 and not step.written and outbox_empty
                        and answered):  # fmt: skip
                    summary.finished = True
                    break
        summary.correction = show_a_correction(daemon, simulator, console)
        _summarize(daemon, summary)
        summary.followup = run_followup(daemon, upload, download, simulator.config, seed)
    finally:
        daemon.ledger.close()
    return summary


def _summarize(daemon: Daemon, summary: DemoSummary) -> None:
    spool = daemon.spool
    for report in (spool / "rejected").glob("*.errors.json"):
        for problem in json.loads(report.read_text())["problems"]:
            where = f"{problem['field']}: " if problem.get("field") else ""
            summary.claims_refused_at_intake.append(
                (problem.get("claim", "?"), where + problem["message"])
            )
    summary.states = Counter(daemon.ledger.count_claims())
    status = _jsonl(spool / "status")
    latest: dict[str, dict[str, Any]] = {}
    for record in status:
        latest[record["claim_id"]] = record
    for claim_id, record in sorted(latest.items()):
        reasons = "; ".join(f"{r['code']} {r['text']}" for r in record["reasons"])
        if record["event"] == "rejected":
            summary.rejected_by_payer.append((claim_id, reasons))
        elif record["event"] == "denied":
            summary.denied.append((claim_id, reasons))
    summary.interchanges = len(list((spool / "archive" / "outbound").rglob("*.x12")))
    per_claim: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for posting in _jsonl(spool / "postings"):
        money = per_claim[posting["claim_id"]]
        money["billed"] += Decimal(posting["charge"])
        money["paid"] += Decimal(posting["paid"])
        for adj in posting["adjustments"] + [
            a for ln in posting["lines"] for a in ln["adjustments"]
        ]:
            key = {"CO": "contractual", "PR": "patient"}.get(adj["group"], "other")
            money[key] += Decimal(adj["amount"])
    totals: dict[str, Decimal] = dict.fromkeys(
        ("billed", "paid", "contractual", "patient", "other"), ZERO
    )
    for claim_id, money in per_claim.items():
        for key, value in money.items():
            totals[key] += value
        if (
            money["billed"]
            != money["paid"] + money["contractual"] + money["patient"] + money["other"]
        ):
            summary.unreconciled.append(claim_id)
    summary.money = dict(totals)
    owed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for balance in _jsonl(spool / "balances"):
        owed[balance["claim_id"]] += Decimal(balance["patient_owes"])
    summary.patient_bills = sum(1 for v in owed.values() if v > 0)
    summary.patient_owes = sum(owed.values(), ZERO)
    summary.eligibility = checks(_jsonl(spool / "benefits"))


def print_summary(summary: DemoSummary, console: Console) -> None:
    s = summary.states
    table = Table(title="claims", show_header=False)
    rows = [
        ("dropped by the practice system", summary.claims_dropped),
        ("refused at intake (see spool/rejected/)", len(summary.claims_refused_at_intake)),
        ("sent, in interchanges", f"{sum(s.values())} in {summary.interchanges} files"),
        ("accepted by the payer (999, 277CA)", sum(s.values()) - s.get("rejected", 0)),
        ("paid", s.get("paid", 0)),
        ("partially paid", s.get("partially_paid", 0)),
        ("denied", s.get("denied", 0)),
        ("rejected by the payer (277CA)", s.get("rejected", 0)),
        ("still open", sum(n for k, n in s.items() if k not in FINAL)),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    console.print(table)
    money = Table(title="money (net of reversals)", show_header=False)
    for label, key in (
        ("billed", "billed"),
        ("paid by the payer", "paid"),
        ("written off (contractual, CO)", "contractual"),
        ("patient responsibility (PR)", "patient"),
        ("other adjustments", "other"),
    ):
        money.add_row(label, f"{summary.money.get(key, ZERO):,.2f}")  # fmt: skip
    money.add_row("patient balances to bill", f"{summary.patient_owes:,.2f} on "
                  f"{summary.patient_bills} claims (spool/balances/)")  # fmt: skip
    money.add_row("every claim reconciles (billed = paid + CO + PR + other)",
                  "yes" if not summary.unreconciled else f"NO: {summary.unreconciled}")  # fmt: skip
    console.print(money)
    print_checks(summary.eligibility, console)
    print_followup(summary.followup, console)
    for title, items in (("refused at intake", summary.claims_refused_at_intake),
                         ("rejected by the payer", summary.rejected_by_payer),
                         ("denied", summary.denied)):  # fmt: skip
        if items:
            console.print(f"[bold]{title}[/bold]")
            for claim_id, why in items[:8]:
                console.print(f"  {claim_id}: {why}")
            if len(items) > 8:
                console.print(f"  ... and {len(items) - 8} more")
    show_next_payers(summary.home / "next-payers", console)  # patients with two coverages
    console.print(
        f"home: {summary.home} (try `gateway --home {summary.home} claims`, "
        f"`gateway --home {summary.home} claim DEMO-00001`)"
    )
