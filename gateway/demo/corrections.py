"""The demo's correction: a paid claim is replaced (a charge fixed, frequency 7, the payer's
claim number left for the gateway to fill), the payer reverses its payment and pays the
corrected claim, and the claim is explained as a patient would hear it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rich.console import Console

from gateway.daemon.explanations import explanation_of
from gateway.daemon.runner import Daemon
from gateway.ledger.schema import ClaimState
from gateway.simulator.serve import Simulator

DONE = frozenset({ClaimState.PAID, ClaimState.PARTIALLY_PAID, ClaimState.DENIED})
FIXED_BY = Decimal("-10.00")  # the first line was billed 10.00 too high


@dataclass
class CorrectionShown:
    claim_id: str = ""
    version: int = 0
    state: str = ""
    explanation: dict[str, Any] = field(default_factory=dict)


def show_a_correction(
    daemon: Daemon, simulator: Simulator, console: Console, *, max_rounds: int = 30
) -> CorrectionShown:
    """Replace the first paid claim, run until the payer has answered, print its explanation."""
    shown = CorrectionShown()
    ledger = daemon.ledger
    paid = [c for c in ledger.list_claims(ClaimState.PAID, limit=100_000) if c.frequency == "1"]
    if not paid:
        return shown
    original = min(paid, key=lambda c: c.claim_id)
    record = dict(original.record, frequency="7")
    record.pop("payer_claim_number", None)  # the gateway fills REF*F8 from the payer's replies
    record.pop("total_charge", None)
    lines = [dict(line) for line in record["lines"]]
    lines[0]["charge"] = f"{Decimal(str(lines[0]['charge'])) + FIXED_BY:.2f}"
    record["lines"] = lines
    claims = daemon.spool / "claims"
    (claims / ".correction.json.tmp").write_text(json.dumps(record))
    (claims / ".correction.json.tmp").rename(claims / "correction.json")
    shown.claim_id = original.claim_id
    for _ in range(max_rounds):
        daemon.cycle(once=True)
        step = simulator.step()
        current = ledger.claim(original.claim_id)
        waiting = any(ledger.pending_outbox(k, limit=1) for k in ("postings", "balances", "status"))
        if (current is not None and current.version > original.version
                and current.state in DONE and step.pending == 0 and not waiting):  # fmt: skip
            break
    current = ledger.claim(original.claim_id)
    assert current is not None
    shown.version, shown.state = current.version, current.state.value
    shown.explanation = explanation_of(ledger, original.claim_id) or {}
    console.print(
        f"[bold]a corrected claim[/bold]: {original.claim_id} replaced (first line billed "
        f"{-FIXED_BY} too high), version {current.version} {current.state.value}; "
        f"`gateway explain {original.claim_id}` says:"
    )
    for sentence in shown.explanation.get("explanation", []):
        console.print(f"  {sentence}")
    return shown
