"""835s posted through the ledger: each payment (transaction set) in one ledger transaction.

A payment's claim payments go to the ledger with its identity (trace number, payer, amount,
date), the hash of its content and its balancing verdict. The ledger decides, claim by claim,
to post or to hold (a possible duplicate of a payment in force, money that does not add up, the
identity of an earlier payment with other content); this module words each decision: a posted
payment's posting, balance and status record, a held one's ``payment_held`` status record
only. The same payment again (same content), in the same file after a crash or re-sent under
another name, posts nothing. Held payments wait in ``spool/review/`` beside
``NAME.review.json``; ``settle_held`` releases or discards them from what the ledger kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Any

import structlog

from gateway.daemon.spilled import HeldClaims, Spilled
from gateway.daemon.status import status_record
from gateway.domain.claim import Claim
from gateway.domain.posting import payer_sequence, payment_sentence, with_content_id
from gateway.files import private_dir
from gateway.ledger.ledger import (
    ClaimPaymentIn,
    Ledger,
    OutboxItem,
    PaymentDecision,
    PaymentEffects,
    StoredPayment,
)
from gateway.ledger.schema import ClaimState, OutboxKind, PaymentState, RemittanceState
from gateway.replies.holds import hold_texts
from gateway.replies.posting_files import hold_for_review
from gateway.replies.remittances import ClaimPosted, PaymentFinished, PaymentStarted, post_835
from gateway.x12.scan import element_values

log = structlog.get_logger("gateway.posting")

OUTCOME_STATE = {
    "paid": ClaimState.PAID,
    "partially_paid": ClaimState.PARTIALLY_PAID,
    "denied": ClaimState.DENIED,
    "reversed": ClaimState.REVERSED,
}
_EVENT = {PaymentState.HELD: "payment_held", PaymentState.DISCARDED: "payment_discarded"}
LOGGED_HOLDS = 50  # claim payments held logged one by one per payment; then a count
LOOK_AHEAD = 500  # claims fetched from the ledger at once while an 835 is read


@dataclass
class RemittanceReport:
    posted: list[str] = field(default_factory=list)  # ST02 of payments posted now (maybe part)
    already: list[str] = field(default_factory=list)  # recorded before (the same content)
    held: list[str] = field(default_factory=list)  # with claim payments waiting for review
    declined: list[str] = field(default_factory=list)  # the content of a discarded payment
    claims: int = 0  # claim payments posted
    claims_held: int = 0


def _reasons(posting: dict[str, Any]) -> list[dict[str, str]]:
    """Claim and line adjustments (a denial is often told per line), and remarks, once each."""
    found: dict[str, str] = {}
    adjustments = posting["adjustments"] + [a for ln in posting["lines"] for a in ln["adjustments"]]
    for a in adjustments:
        found.setdefault(f"{a['group']}-{a['reason']}", a["text"])
    for remark in posting.get("remarks", []) + [
        r for ln in posting["lines"] for r in ln["remarks"]
    ]:
        if isinstance(remark, dict):
            found.setdefault(str(remark.get("code")), str(remark.get("text", "")))
    return [{"code": code, "text": text} for code, text in found.items()]


def payment_effects(
    partner: str, file: str, payment: ClaimPaymentIn, decision: PaymentDecision
) -> PaymentEffects:
    """The records and timeline detail of one claim payment, as the ledger decided it."""
    posting = dict(payment.posting, payer_sequence=decision.sequence)
    if decision.reverses is not None:
        posting["reverses"] = decision.reverses.posting_id
    verdict = decision.verdict
    held_for = [r.get("reason") for r in decision.reasons]
    if verdict == PaymentState.RELEASED:
        posting.update(released_after_review=True, review_note=decision.note, held_for=held_for)
        if "unbalanced" in held_for:
            posting["released_unbalanced"] = True
    balance = dict(payment.balance) if payment.balance else None
    if balance is not None and decision.reverses is not None and decision.reverses.balance_id:
        balance["reverses"] = decision.reverses.balance_id
    if balance is not None and decision.replaces is not None and decision.replaces.balance_id:
        balance["replaces"] = decision.replaces.balance_id  # the current one from now on
    held = [  # why it waits (or waited, when discarded), in words
        {"code": str(r.get("reason")), "text": t}
        for r, t in zip(decision.reasons, hold_texts(decision.reasons), strict=True)
    ] if verdict != PaymentState.RELEASED else []  # fmt: skip
    event = _EVENT.get(verdict, posting["status"])
    pay = posting["payment"]
    status = status_record(
        event=event, claim_id=payment.claim_id, version=decision.version, partner=partner,
        source="835", cause=posting["id"], reasons=held or _reasons(posting),
        paid=posting["paid"], payer_claim_number=posting["payer_claim_number"],
        trace_number=pay["trace_number"], payer_id=pay["payer_id"],
        payer_sequence=decision.sequence, file=file,
        **({"note": decision.note} if decision.note else {}),
    )  # fmt: skip
    records: list[OutboxItem] = [status]
    if verdict in (PaymentState.POSTED, PaymentState.RELEASED):
        records = [(OutboxKind.POSTINGS, posting)]
        if balance is not None:
            records.append((OutboxKind.BALANCES, balance))
        records.append(status)
        if decision.voids is not None:  # the void in flight ends voided with this reversal
            records.append(status_record(
                event="voided", claim_id=payment.claim_id, version=decision.voids,
                partner=partner, source="835", cause=posting["id"], file=file,
                reasons=[{"code": "void", "text": "the payer took back the original's payment"}],
                paid=posting["paid"], trace_number=pay["trace_number"],
            ))  # fmt: skip
    detail = {
        "file": file, "trace_number": pay["trace_number"], "payment_date": pay["date"],
        "payer_id": pay["payer_id"], "payer_sequence": decision.sequence,
        "status": posting["status"], "paid": posting["paid"], "charge": posting["charge"],
        "patient_responsibility": posting["patient_responsibility"],
        "payer_claim_number": posting["payer_claim_number"], "posting_id": posting["id"],
        "balance_id": balance["id"] if balance else None,
        "patient_owes": balance["patient_owes"] if balance else None,
        "breakdown": balance["breakdown"] if balance else None,
        "next_action": balance["next_action"] if balance and not held else None,
        "money": payment_sentence(posting["paid"], balance["patient_owes"] if balance else None,
                                  balance["breakdown"] if balance else None),
        "reverses": posting.get("reverses"), "held_for": held_for or None,
        "replaces": balance.get("replaces") if balance else None,
        "reasons": held,
        "note": decision.note or None,
    }  # fmt: skip
    state = OUTCOME_STATE.get(posting["status"]) if posting.get("matched", True) else None
    return PaymentEffects(records, {k: v for k, v in detail.items() if v}, state)


class _Lookup:
    """The claim as the payer at a sequence got it: its leg's record when the claim has that
    leg (billed to several payers in turn), else its current version.

    The current versions an 835 names are fetched from the ledger 500 at a time ahead of the
    reader (``element_values`` looks ahead in the file for the CLP01s to come), not one query
    per claim; a claim id the look ahead did not see is fetched alone. Holds two or three
    batches (about 10 KB a claim: bounded, whatever the size of the payment). A claim with no
    next payer and one version has no legs: no query beyond that batch (the hot path); a leg
    is fetched once per claim and sequence."""

    def __init__(self, ledger: Ledger, path: Path) -> None:
        self.ledger = ledger
        self.ahead = element_values(path, "CLP", 1)
        self.known: dict[str, tuple[int, Claim] | None] = {}  # current version and claim
        self.legs: dict[tuple[str, str], Claim | None] = {}

    def __call__(self, claim_id: str, sequence: str | None = None) -> Claim | None:
        if claim_id not in self.known:
            self._fetch(claim_id)
        current = self.known.get(claim_id)
        if current is None:
            return None
        version, claim = current
        if sequence is None or not (version > 1 or claim.next_payers):
            return claim
        if (claim_id, sequence) not in self.legs:
            record = self.ledger.leg_record(claim_id, sequence)
            self.legs[claim_id, sequence] = None if record is None else Claim.model_validate(record)
        return self.legs[claim_id, sequence] or claim

    def _fetch(self, claim_id: str) -> None:
        wanted = [claim_id]
        for seen in islice(self.ahead, LOOK_AHEAD):  # up to the claim, then a batch after it
            if seen == claim_id:
                wanted += [c for c in islice(self.ahead, LOOK_AHEAD) if c not in self.known]
                break
        if len(self.known) > 2 * LOOK_AHEAD:  # the oldest batch: the reader is past it
            for old in list(self.known)[:LOOK_AHEAD]:
                del self.known[old]
            self.legs = {key: leg for key, leg in self.legs.items() if key[0] in self.known}
        found = self.ledger.current_record_versions(list(dict.fromkeys(wanted)))
        for wanted_id in wanted:
            got = found.get(wanted_id)
            self.known[wanted_id] = (
                None if got is None else (got[0], Claim.model_validate_json(got[1]))
            )


def _unbilled_leg(
    event: ClaimPosted, lookup: Callable[[str, str | None], Claim | None], ledger: Ledger
) -> tuple[dict[str, Any], ...]:
    """A hold when a secondary or tertiary answer comes for a next payer on file that the
    gateway has not billed yet (before the earlier payer's answer, or a leg never sent)."""
    sequence = payer_sequence(event.claim.status_code)
    current = lookup(event.claim.claim_id, None)
    if sequence not in ("S", "T") or current is None or not current.next_payers:
        return ()
    if current.subscriber.sequence == sequence:
        return ()
    if ledger.leg_record(event.claim.claim_id, sequence) is not None:  # that leg exists
        return ()
    return ({"reason": "no_leg", "sequence": sequence, "status_code": event.claim.status_code},)


# A claim payment as it waits on disk for its payment's end: the posting, the balance, CLP02,
# CLP07, the claim's own sequence (P by default) and why the caller holds it.
Waiting = tuple[dict[str, Any], dict[str, Any] | None, str, str, str, list[dict[str, Any]]]


def _waiting(event: ClaimPosted, sequence_hint: str, hold: tuple[dict[str, Any], ...]) -> Waiting:
    claim = event.claim
    return (event.posting, event.balance, claim.status_code, claim.payer_claim_number,
            sequence_hint, list(hold))  # fmt: skip


def _incoming(waiting: Waiting, content: str) -> ClaimPaymentIn:
    posting, balance, status_code, payer_claim_number, sequence_hint, hold = waiting
    posting = with_content_id(posting, content)
    balance = with_content_id(balance, content) if balance else None
    return ClaimPaymentIn(
        posting["claim_id"], posting["payment"]["payer_id"], status_code, payer_claim_number,
        posting["charge"], posting["paid"], posting["patient_responsibility"], posting, balance,
        payer_sequence(status_code), sequence_hint, tuple(hold),
    )  # fmt: skip


@dataclass
class _Incoming:
    """A payment's claim payments read back from disk, as often as the ledger reads them."""

    waiting: Spilled[Waiting]
    content: str

    def __iter__(self) -> Iterator[ClaimPaymentIn]:
        return (_incoming(w, self.content) for w in self.waiting)


def post_remittance_file(
    path: Path,
    spool: Path,
    ledger: Ledger,
    partner: str,
    *,
    archived_as: str | None = None,
    report: RemittanceReport | None = None,
) -> RemittanceReport:
    """Post every payment of one 835 file through the ledger (raises X12SyntaxError).

    ``archived_as``: the file's unique name in the archive, which the claims' timelines name.
    ``report`` fills in as each payment is posted or held, so a caller whose file broke half way
    knows exactly which payments were applied; those held so far wait in review all the same.
    A payment's claim payments, and the held ones the review file lists, wait in temporary
    files (``spilled``): memory does not grow with the size of the payment.
    """
    lookup = _Lookup(ledger, path)
    file = archived_as or path.name
    report = RemittanceReport() if report is None else report
    review: list[dict[str, Any]] = []
    folder = private_dir(spool / "work")
    held = HeldClaims(folder)
    claims: Spilled[Waiting] | None = None
    try:
        try:
            for event in post_835(path, source_file=path.name, content_hash=True,
                                  leg_lookup=lookup):  # fmt: skip
                if isinstance(event, PaymentStarted):
                    if claims is not None:
                        claims.close()
                    claims = Spilled(folder, list, tuple, memory=ledger.payment_chunk())
                elif isinstance(event, ClaimPosted) and claims is not None:
                    submitted = lookup(event.claim.claim_id, None)  # just looked up: cached
                    hint = submitted.subscriber.sequence if submitted else "P"
                    claims.append(_waiting(event, hint, _unbilled_leg(event, lookup, ledger)))
                elif isinstance(event, PaymentFinished) and claims is not None:
                    _finish(event, claims, ledger, partner, path.name, file, report, review, held)
                    claims.close()
                    claims = None
        finally:  # those held so far wait in review, whatever broke after them
            if review:
                now = datetime.now(UTC).isoformat(timespec="seconds")
                hold_for_review(spool, path, review, now, name=PurePosixPath(file).name)
    finally:
        if claims is not None:
            claims.close()
        held.close()
    return report


def _finish(
    event: PaymentFinished,
    claims: Spilled[Waiting],
    ledger: Ledger,
    partner: str,
    name: str,
    file: str,
    report: RemittanceReport,
    review: list[dict[str, Any]],
    held: HeldClaims,
) -> None:
    """Record one payment in the ledger and report what became of it."""
    payment, control = event.payment, event.payment.control_number
    content = event.end.content_sha256
    problems = [e.as_dict() for e in event.balance_errors]
    said = {"partner": partner, "file": file, "transaction": control,
            "trace_number": payment.trace_number}  # fmt: skip
    start, logged = held.count, list[dict[str, Any]]()

    def decided(p: ClaimPaymentIn, d: PaymentDecision) -> None:
        if d.verdict == PaymentState.HELD:
            texts = hold_texts(d.reasons)
            held.add({"claim_id": p.claim_id, "paid": p.paid, "reasons": texts})
            if len(logged) < LOGGED_HOLDS:
                logged.append({"claim_id": p.claim_id, "paid": p.paid, "reasons": texts})

    outcome = ledger.record_remittance(
        payment.identity, content, file_name=name, control_number=control,
        payments=_Incoming(claims, content), effects=partial(payment_effects, partner, file),
        problems=problems, archived_as=file, partner=partner, decided=decided,
    )  # fmt: skip
    if outcome is None:  # this very content was recorded before
        _recorded_before(event, ledger, said, report, review, held)
        return
    posted = outcome.count(PaymentState.POSTED)
    if posted or not sum(outcome.verdicts.values()):  # one without claims (PLB only) posts too
        report.posted.append(control)
        report.claims += posted
        log.info("remittance_posted", **said, claims=posted, state=outcome.state)
    count = outcome.count(PaymentState.HELD)
    if count:
        report.held.append(control)
        report.claims_held += count
        review.append(_review_entry(event, held.run(start, held.count)))
        for one in logged:
            log.warning("payment_held_for_review", **said, **one)
        if count > LOGGED_HOLDS:  # a whole 835 held: its review file lists them
            log.warning("payments_held_for_review", **said, claims=count,
                        not_logged=count - LOGGED_HOLDS)  # fmt: skip


def _recorded_before(
    event: PaymentFinished,
    ledger: Ledger,
    said: dict[str, Any],
    report: RemittanceReport,
    review: list[dict[str, Any]],
    held: HeldClaims,
) -> None:
    """A payment whose very content the ledger has: declined, waiting in review, or posted."""
    control = event.payment.control_number
    earlier = ledger.remittance(event.payment.identity, event.end.content_sha256)
    assert earlier is not None
    start = held.count
    for p in ledger.remittance_payments(earlier.id, [PaymentState.HELD]):
        held.add({"claim_id": p.claim_id, "paid": p.paid,
                  "reasons": hold_texts(p.detail.get("reasons", []))})  # fmt: skip
    discarded = [p.claim_id for p in islice(
        ledger.remittance_payments(earlier.id, [PaymentState.DISCARDED]), LOGGED_HOLDS + 1
    )]  # fmt: skip
    if earlier.state == RemittanceState.DISCARDED or (discarded and held.count == start):
        report.declined.append(control)
        ledger.note_seen_again(earlier.id, file=said["file"])
        log.warning("remittance_discarded_before", **said, earlier=earlier.named(),
                    claims=discarded[:LOGGED_HOLDS],
                    why="a review kept this very payment unposted: not posted")  # fmt: skip
    elif held.count > start:  # held before a crash, or received again while it waits
        report.held.append(control)
        review.append(_review_entry(event, held.run(start, held.count)))
    else:
        report.already.append(control)
        log.info("remittance_already_posted", **said)


def _review_entry(event: PaymentFinished, held: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """What ``NAME.review.json`` says of one payment with held claim payments (``held`` read
    back from disk as the file is written)."""
    payment = event.payment
    return {
        "control_number": payment.control_number, "trace_number": payment.trace_number,
        "amount": str(payment.amount),
        "payment_date": payment.payment_date.isoformat() if payment.payment_date else None,
        "claim_count": event.end.claim_count,
        "balance_errors": [e.as_dict() for e in event.balance_errors],
        "held": held,
    }  # fmt: skip


def settle_held(
    ledger: Ledger,
    name: str,
    *,
    verdict: PaymentState,
    note: str,
    claim_id: str | None = None,
) -> list[tuple[StoredPayment, PaymentDecision]]:
    """Release (post on purpose, marked so) or discard the held claim payments of the received
    file ``name`` (or only those of ``claim_id``), in one ledger transaction; [] if none."""
    waiting = [
        p for p in ledger.held_payments()
        if name in (p.file_name, PurePosixPath(p.archived_as or "").name)
        and claim_id in (None, p.claim_id)
    ]  # fmt: skip
    if not waiting:
        return []
    first = waiting[0]
    effects = partial(payment_effects, first.partner or "", first.archived_as or first.file_name)
    settled = ledger.settle_payments(name, verdict, note=note, effects=effects, claim_id=claim_id)
    log.info(f"payments_{PaymentState(verdict).value}", file=name, partner=first.partner,
             claims=[p.claim_id for p, _ in settled], note=note)  # fmt: skip
    return settled
