"""The demo's patients with two or three coverages: each claim goes to the next payer, built by
the gateway from the earlier 835s, and the patient is billed once, at the end.

A home of its own (``next-payers/`` in the demo's home) with the same folder-pair partner, and
one simulator playing every payer: each with its own allowed amount, the secondaries paying by
coordination of benefits, one payer forwarding its claims (crossover). The summary shows each
claim's money per payer and one claim's timeline as ``gateway claim ID`` prints it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gateway.daemon.legs_view import leg_lines
from gateway.daemon.runner import Daemon
from gateway.home import init_home
from gateway.simulator.config import AdjudicationConfig, SimulatorConfig
from gateway.simulator.serve import Simulator

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PARTNER_NAME = "clearinghouse"


def _sample(kind: str) -> dict[str, Any]:
    records: list[dict[str, Any]] = json.loads((SAMPLES / f"{kind}.json").read_text())
    return records[0]


def demo_claims() -> list[dict[str, Any]]:
    """Jane Doe: her plan, her husband's, then Medicaid; Sofia (dental): both parents' plans;
    Ana: a payer that forwards the claim to the next payer itself."""
    jane = _sample("professional") | {"claim_id": "NP-JANE"}
    jane["next_payers"] = [
        {"payer": {"id": "SPOUSE1", "name": "SPOUSE EMPLOYER PLAN"}, "sequence": "S",
         "subscriber": {"member_id": "SP4471002", "first_name": "John", "last_name": "Doe",
                        "birth_date": "1978-01-20", "sex": "M", "relationship": "01"}},
        {"payer": {"id": "MCAID1", "name": "STATE MEDICAID"}, "sequence": "T",
         "filing_indicator": "MC", "member_id": "MC20881734"},
    ]  # fmt: skip
    sofia = _sample("dental") | {"claim_id": "NP-SOFIA"}
    sofia["next_payers"] = [
        {"payer": {"id": "DENT2", "name": "SECOND DENTAL PLAN"}, "sequence": "S",
         "subscriber": {"member_id": "SD8812", "first_name": "Lucia", "last_name": "Ramirez",
                        "birth_date": "1977-09-02", "sex": "F", "relationship": "19"}},
    ]  # fmt: skip
    ana = _sample("professional") | {"claim_id": "NP-ANA"}
    ana["payer"] = {"id": "XOVER1", "name": "FORWARDING PLAN"}
    ana["next_payers"] = [{"payer": {"id": "MGAP1", "name": "SUPPLEMENT PLAN"}, "sequence": "S",
                           "member_id": "MG55012"}]  # fmt: skip
    return [jane, sofia, ana]


def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(adjudication=AdjudicationConfig(
        deductible=Decimal(50),
        allowed_percent_by_payer={"SPOUSE1": Decimal(70), "MCAID1": Decimal(75),
                                  "DENT2": Decimal(75)},
        crossover={"XOVER1": ("MGAP1", "SUPPLEMENT PLAN")},
    ))  # fmt: skip


@dataclass
class NextPayersSummary:
    home: Path
    money: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # claim, seq, ...
    timeline: str = ""
    finished: bool = False


def run_next_payers(home: Path, partner: str, *, max_rounds: int = 30) -> NextPayersSummary:
    """The claims of ``demo_claims`` through the daemon and the simulator until all is quiet."""
    init_home(home)
    (home / "partners" / "example.toml").unlink()
    (home / "partners" / f"{PARTNER_NAME}.toml").write_text(partner)
    settings = home / "gateway.toml"
    settings.write_text(settings.read_text().replace("settle_seconds = 5", "settle_seconds = 0"))
    exchange = home / "exchange" / PARTNER_NAME
    for folder in ("in", "out"):
        (exchange / folder).mkdir(parents=True, mode=0o700)
    (home / "spool" / "claims" / "two-coverages.json").write_text(json.dumps(demo_claims()))
    summary = NextPayersSummary(home)
    daemon = Daemon(home)
    simulator = Simulator(exchange / "in", exchange / "out", simulator_config(),
                          home / "state" / "simulator.json")  # fmt: skip
    try:
        quiet = 0
        for _ in range(max_rounds):
            daemon.cycle(once=True)
            step = simulator.step()
            busy = step.written or step.pending or daemon.ledger.count_claims().get("queued")
            quiet = 0 if busy else quiet + 1
            if quiet >= 2:
                summary.finished = True
                break
        ledger = daemon.ledger
        for claim in demo_claims():
            for p in ledger.claim_payments(claim["claim_id"]):
                action = (p.balance or {}).get("next_action") or ""
                summary.money.append((p.claim_id, p.payer_sequence, p.paid,
                                      p.patient_responsibility, action))  # fmt: skip
        jane = "NP-JANE"
        lines = leg_lines(ledger.legs(jane), ledger.history(jane), ledger.claim_payments(jane))
        summary.timeline = "\n".join(lines)
    finally:
        daemon.ledger.close()
    return summary


def print_next_payers(summary: NextPayersSummary, console: Console) -> None:
    table = Table(title="patients with more than one coverage: money per payer")
    for column in ("claim", "payer", "paid", "patient share left", "next"):
        table.add_column(column)
    for claim_id, sequence, paid, left, action in summary.money:
        table.add_row(claim_id, sequence, paid, left, action.replace("_", " "))
    console.print(table)
    console.print("[bold]gateway claim NP-JANE[/bold] (its payers):")
    console.print(summary.timeline.rstrip(), markup=False, highlight=False)


def show_next_payers(home: Path, console: Console) -> NextPayersSummary:
    """Run the next-payer claims in ``home`` (beside the demo's own) and print their money."""
    from gateway.demo.run import PARTNER  # the demo's folder pair (run.py calls this module)

    summary = run_next_payers(home, PARTNER)
    print_next_payers(summary, console)
    return summary
