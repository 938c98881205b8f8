"""A claim's explanation read from the ledger (``gateway explain``, the demo): its payments,
timeline events in plain words, notes and open dispute, explained by ``domain.explanation``."""

from __future__ import annotations

from typing import Any

from gateway.domain.explanation import PaymentFacts, explain
from gateway.ledger.ledger import ClaimEvent, ClaimNote, Ledger, StoredPayment

# What a timeline event means for a patient's question; events not named here are left out.
_SAID = {
    ("queued", None): "received from the practice's billing system",
    ("submitted", None): "sent to the insurance",
    ("accepted", "999"): "the clearinghouse checked the file and took it",
    ("accepted", "277CA"): "accepted by the insurance for processing",
    ("rejected", None): "rejected by the insurance",
    ("paid", None): "paid",
    ("partially_paid", None): "partly paid",
    ("denied", None): "denied",
    ("reversed", None): "the payment was reversed (taken back)",
    ("voided", None): "voided",
    ("payment_held", None): "a payment arrived and waits for the billing office's review",
}
_CORRECTION = {"7": "a corrected claim", "8": "a void of the claim"}


def _said(e: ClaimEvent, frequencies: dict[int, str]) -> str | None:
    name = e.event.value
    text = _SAID.get((name, e.source)) or _SAID.get((name, None))
    if text is None:
        return None
    if name == "queued" and frequencies.get(e.version) in _CORRECTION:
        text = f"{_CORRECTION[frequencies[e.version]]} (version {e.version}) was prepared"
    elif name == "submitted" and frequencies.get(e.version) in _CORRECTION:
        text = f"{_CORRECTION[frequencies[e.version]]} (version {e.version}) was sent"
    money = e.detail.get("money")
    if name in ("paid", "partially_paid", "denied") and money:
        text += f": {money}"
    return text


def _facts(p: StoredPayment) -> PaymentFacts:
    return PaymentFacts(
        posting=p.posting, balance=p.balance, state=p.state.value,
        sequence=p.payer_sequence, status_code=p.status_code,
        payment_date=p.payment_date or None, recorded_at=p.recorded_at,
    )  # fmt: skip


def _note(n: ClaimNote) -> dict[str, Any]:
    return {"at": n.at.isoformat(timespec="seconds"), "kind": n.kind, "author": n.author,
            "text": n.text}  # fmt: skip


def explanation_of(ledger: Ledger, claim_id: str) -> dict[str, Any] | None:
    """The claim's explanation (None when the ledger does not know it)."""
    stored = ledger.claim(claim_id)
    if stored is None:
        return None
    frequencies = {}
    for version in range(1, stored.version + 1):
        earlier = ledger.claim(claim_id, version)
        if earlier is not None:
            frequencies[version] = earlier.frequency
    chronology = [
        {"at": e.at.isoformat(timespec="seconds"), "version": e.version, "event": e.event.value,
         "said": said}
        for e in ledger.history(claim_id)
        if (said := _said(e, frequencies)) is not None
    ]  # fmt: skip
    notes = [_note(n) for n in ledger.notes(claim_id)]
    payments = [_facts(p) for p in ledger.claim_payments(claim_id)]
    found = explain(stored.record, payments, state=stored.state.value, chronology=chronology,
                    notes=notes)  # fmt: skip
    opened = ledger.open_dispute(claim_id)
    found["dispute"] = _note(opened) if opened is not None else None
    return found
