"""``gateway claim ID``: one line per payer the claim was billed to (its legs), with the file
that carried it, what that payer paid and what it left, and why a leg waits or was not sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.ledger.ledger import ClaimEvent, StoredLeg
from gateway.ledger.records import StoredPayment
from gateway.ledger.schema import IN_FORCE, ClaimState, LegState

_STATE_WORDS = {
    LegState.OWN: "billed",
    LegState.SENT: "billed from the earlier 835s",
    LegState.CROSSOVER: "forwarded by the earlier payer, its 835 awaited",
    LegState.ANSWERED: "forwarded by the earlier payer, answered",
    LegState.NOT_BILLED: "not billed",
    LegState.HELD: "held for review",
}


def _files(events: Sequence[ClaimEvent], version: int | None) -> list[str]:
    return [
        str(e.detail["file"]) for e in events
        if e.version == version and e.event == ClaimState.BATCHED and e.detail.get("file")
    ]  # fmt: skip


def _answers(payments: Sequence[StoredPayment], sequence: str) -> list[StoredPayment]:
    return [p for p in payments if p.payer_sequence == sequence and p.state in IN_FORCE
            and not p.reversal]  # fmt: skip


def leg_lines(
    legs: Sequence[StoredLeg], events: Sequence[ClaimEvent], payments: Sequence[StoredPayment]
) -> list[str]:
    """``  S  LKSBP LAKESHORE BENEFIT PLAN: v2 in acme-837P-000000002.x12; paid 71.50, ...``"""
    out = []
    for leg in legs:
        payer = leg.record.get("payer", {})
        line = f"  {leg.sequence}  {leg.payer_id} {payer.get('name', '')}: "
        facts = [_STATE_WORDS[leg.state]]
        if leg.version is not None:
            files = _files(events, leg.version)
            facts.append(f"v{leg.version}" + (f" in {', '.join(files)}" if files else ""))
        for p in _answers(payments, leg.sequence):
            action = (p.balance or {}).get("next_action")
            owes = (p.balance or {}).get("patient_owes")
            money = f"CLP02 {p.status_code} paid {p.paid}, patient {p.patient_responsibility}"
            if action == "bill_patient":
                money += f"; bill the patient {owes}"
            elif action:
                money += f"; {action.replace('_', ' ')}"
            facts.append(money)
        notes = [leg.detail.get("text")] + [n.get("text") for n in leg.detail.get("notes", [])]
        facts += [str(n) for n in notes if n and leg.state != LegState.SENT]
        out.append(line + "; ".join(facts))
    return out


def legs_json(legs: Sequence[StoredLeg]) -> list[dict[str, Any]]:
    return [
        {"sequence": leg.sequence, "payer_id": leg.payer_id, "partner": leg.partner,
         "state": leg.state.value, "version": leg.version, "detail": leg.detail}
        for leg in legs
    ]  # fmt: skip
