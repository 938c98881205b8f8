"""Replacements (frequency 7) and voids (8) of claims the ledger sent.

The gateway only corrects what it sent: the original must be in the ledger, acknowledged by
the payer, and neither voided nor being voided. A replacement or void may leave out
``payer_claim_number``: it is filled from the payer's latest word on the claim (the 277CA's
REF*1K, or the CLP07 of the 835 that paid it), and the claim is refused, naming the field,
when the payer never said one. A correction of a claim still in flight (queued, built, or sent
but not yet acknowledged) is refused, not held: the payer has no claim to correct yet, and a
refusal the practice sees (with when to send it again) is better than a hidden queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.daemon.status import status_record
from gateway.domain.claim import Claim
from gateway.ledger.ledger import Ledger, OutboxItem, StoredClaim
from gateway.ledger.schema import ClaimState

_S = ClaimState
WHAT = {"7": "a replacement (frequency 7)", "8": "a void (frequency 8)"}
_IN_FLIGHT = frozenset({_S.QUEUED, _S.BATCHED, _S.SUBMITTED})


class CorrectionRefused(Exception):
    """A replacement or void the gateway will not send; ``field`` names what is wrong."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Correction:
    """A replacement or void fit to queue: the claim (its payer number filled in), what the
    claim's timeline says of it, and the current version when this very record is it already
    (taken by an intake pass that died before it moved the file)."""

    claim: Claim
    detail: dict[str, Any] = field(default_factory=dict)
    already: StoredClaim | None = None
    partner: str | None = None  # the original's partner: a correction goes where it went


def record_of(claim: Claim) -> dict[str, Any]:
    """The claim as the ledger keeps it."""
    data: dict[str, Any] = json.loads(claim.model_dump_json())
    return data


def _same(stored: StoredClaim, claim: Claim) -> bool:
    mine, theirs = record_of(claim), dict(stored.record)
    mine.pop("payer_claim_number", None)
    theirs.pop("payer_claim_number", None)
    return mine == theirs


def prepare(ledger: Ledger, claim: Claim) -> Correction:
    """Check a replacement or void against the ledger and fill its payer claim number (raises
    CorrectionRefused); an original claim (frequency 1) passes as it is."""
    if claim.frequency not in WHAT:
        return Correction(claim)
    what, claim_id = WHAT[claim.frequency], claim.claim_id
    stored = ledger.claim(claim_id)
    if stored is None:
        raise CorrectionRefused(
            f"{what} needs the original claim {claim_id} in the ledger, and the ledger has "
            "no claim of that id (a new claim is sent with frequency 1)", "claim_id",
        )  # fmt: skip
    if stored.frequency == claim.frequency and _same(stored, claim):
        return Correction(claim.model_copy(update={
            "payer_claim_number": stored.payer_claim_number}), already=stored,
            partner=stored.partner)  # fmt: skip
    if stored.state == _S.REJECTED and stored.frequency in WHAT:  # a correction turned away:
        stored = _before_rejections(ledger, stored)  # the claim the payer has is the earlier one
    said = f"claim {claim_id} (version {stored.version}, {stored.state.value})"
    if stored.state == _S.VOIDED:
        raise CorrectionRefused(f"{said} is already voided: nothing can follow a void",
                                "claim_id")  # fmt: skip
    if stored.frequency == "8" and stored.state != _S.REJECTED:
        raise CorrectionRefused(
            f"{said} is a void the payer has not finished yet: nothing can follow it",
            "claim_id",
        )
    if stored.state in _IN_FLIGHT:
        raise CorrectionRefused(
            f"{said} is still in flight: the payer has not acknowledged it, so there is no "
            f"claim at the payer to correct yet; send {what} again once the payer's 277CA or "
            f"835 has come back (`gateway claim {claim_id}` shows it)", "frequency",
        )  # fmt: skip
    if stored.state == _S.REJECTED:
        raise CorrectionRefused(
            f"{said} was rejected: the payer holds no claim to correct; send the corrected "
            "claim as a new original (frequency 1)", "frequency",
        )  # fmt: skip
    detail: dict[str, Any] = {"corrects_version": stored.version}
    if claim.payer_claim_number:
        return Correction(claim, detail | {"payer_claim_number_from": "claim record"},
                          partner=stored.partner)  # fmt: skip
    sequence = str(stored.record.get("subscriber", {}).get("sequence") or "P")
    found = ledger.payer_claim_number(claim_id, sequence)
    if found is None:
        raise CorrectionRefused(
            f"{what} needs the payer's claim number of the original (REF*F8), and payer "
            f"{stored.payer_id} never sent one for {said} (no 277CA with REF*1K, no 835): give "
            "it in payer_claim_number", "payer_claim_number",
        )  # fmt: skip
    number, source, at = found
    filled = claim.model_copy(update={"payer_claim_number": number})
    return Correction(filled, detail | {
        "payer_claim_number": number, "payer_claim_number_from": source,
        "payer_claim_number_of": at.isoformat(timespec="seconds"),
    }, partner=stored.partner)  # fmt: skip


def _before_rejections(ledger: Ledger, stored: StoredClaim) -> StoredClaim:
    """The newest version of the claim the payer did not reject (else ``stored``)."""
    for version in range(stored.version - 1, 0, -1):
        earlier = ledger.claim(stored.claim_id, version)
        if earlier is not None and earlier.state != _S.REJECTED:
            return earlier
    return stored


def queued_status(claim: Claim, partner: str, file: str) -> Callable[[int], list[OutboxItem]]:
    """The ``queued`` status record of the claim's new version."""

    def records(version: int) -> list[OutboxItem]:
        return [status_record(
            event="queued", claim_id=claim.claim_id, version=version, partner=partner,
            source="intake", cause="intake", file=file, kind=claim.kind,
            frequency=claim.frequency,
        )]  # fmt: skip

    return records


def queue(ledger: Ledger, correction: Correction, partner: str, *, source: str, **said: Any) -> int:
    """Queue the correction as the claim's next version; returns the version."""
    claim = correction.claim
    return ledger.add_claim(
        record_of(claim), kind=claim.kind, partner=partner, payer_id=claim.payer.id,
        outbox_records=queued_status(claim, partner, source),
        detail={"file": source, **correction.detail, **said},
    )  # fmt: skip
