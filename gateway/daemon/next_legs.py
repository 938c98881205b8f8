"""Next payers: after a payer's answer is posted, the claim goes to the next payer on file.

Once per claim payment in force that hands the claim on (its balance record says
``bill_secondary`` or ``await_next_payer``), in one ledger transaction (``Ledger
.act_on_payment``, whose ``leg_sources`` row is the exactly-once door):

- the next leg's claim is built from the claim's own record and every earlier payer's answer
  (``domain.next_payers``), checked (``domain.cob``) and queued to the next payer's partner as
  a new claim version: the outbound step sends it like any claim;
- when the payer forwarded the claim itself (crossover), the leg waits for the next payer's
  own 835 and is sent by us only after ``crossover_days``;
- when nothing is left for the next payer (paid, no patient share), the leg is recorded as not
  billed, with why; when the claim does not balance for the next payer or no partner takes it,
  it is held with a plain reason, and nothing is sent.

A reversal of the payment a leg was built from, and a second answer of an earlier payer after
the next leg was opened, are recorded on that leg (held for review): the next claim is never
sent twice, and the patient is billed only after the last payer's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from gateway.config import PartnerConfig
from gateway.daemon.intake import route
from gateway.daemon.status import status_record
from gateway.domain.claim import Claim
from gateway.domain.cob import cob_problems
from gateway.domain.next_payers import EarlierAnswer, following, leg_claim, nothing_left
from gateway.ledger.ledger import Ledger, LegIn, OutboxItem, StoredLeg
from gateway.ledger.records import StoredPayment
from gateway.ledger.schema import LegState

log = structlog.get_logger("gateway.next_payers")


@dataclass
class NextLegReport:
    sent: list[str] = field(default_factory=list)  # "claim S" legs queued
    crossover: list[str] = field(default_factory=list)
    not_billed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)


def _queued(claim_id: str, sequence: str, payer_id: str, partner: str,
            cause: str) -> Callable[[int], list[OutboxItem]]:  # fmt: skip
    def records(version: int) -> list[OutboxItem]:
        return [status_record(
            event="queued", claim_id=claim_id, version=version, partner=partner,
            source="835", cause=cause, payer_sequence=sequence, payer_id=payer_id,
        )]  # fmt: skip

    return records


def open_next_legs(
    ledger: Ledger,
    partners: list[PartnerConfig],
    *,
    crossover_days: int,
    now: datetime | None = None,
    report: NextLegReport | None = None,
    since: datetime | None = None,
) -> NextLegReport:
    """Act on every payment that hands a claim on (changed at ``since`` or later, when given),
    then send crossovers that waited too long."""
    now = now or datetime.now(UTC)
    report = report or NextLegReport()
    seen: set[int] = set()  # each acted on once here (and once ever: leg_sources)
    while batch := [p for p in ledger.leg_candidates(since) if p.id not in seen]:
        for payment in batch:
            seen.add(payment.id)
            _act(ledger, partners, payment, crossover_days, now, report)
    for leg in ledger.crossover_legs():
        _crossover(ledger, partners, leg, now - timedelta(days=crossover_days), report)
    return report


def _answers(ledger: Ledger, claim_id: str, own: str, upto: str) -> list[EarlierAnswer]:
    """The latest answer in force of each payer from the claim's own up to ``upto``."""
    order = "PST"
    found: dict[str, dict[str, Any]] = {}
    for p in ledger.payments_in_force(claim_id):
        if order.index(own) <= order.index(p.payer_sequence) <= order.index(upto):
            found[p.payer_sequence] = p.posting
    return [EarlierAnswer(s, found[s]) for s in order if s in found]


def _act(ledger: Ledger, partners: list[PartnerConfig], payment: StoredPayment,
         crossover_days: int, now: datetime, report: NextLegReport) -> None:  # fmt: skip
    claim_id = payment.claim_id
    name = f"{claim_id} {payment.payer_sequence}"
    legs = {leg.sequence: leg for leg in ledger.legs(claim_id)}
    if payment.reversal:  # it takes back the answer a leg was built from
        opened = next((leg for leg in legs.values() if leg.opened_by == payment.reverses), None)
        if opened is None:
            ledger.act_on_payment(payment, "reversal_of_no_leg")
        elif ledger.act_on_payment(payment, "reversal_noted", note=(
            opened.sequence, LegState.HELD,
            {"reason": "earlier_reversed", "text": _reversed_text(payment, opened)},
        )):  # fmt: skip
            report.noted.append(f"{claim_id} {opened.sequence}")
            log.warning("next_payer_leg_held", claim_id=claim_id, sequence=opened.sequence,
                        why=_reversed_text(payment, opened))  # fmt: skip
        return
    own_leg = next((leg for leg in legs.values() if leg.state == LegState.OWN), None)
    own: LegIn | None = None
    if own_leg is not None:
        base = Claim.model_validate(own_leg.record)
    else:  # the first hand-on: the claim as the practice sent it is its own leg
        stored = ledger.claim(claim_id, payment.version)
        if stored is None:  # a payment of no claim of ours: nothing to hand on
            ledger.act_on_payment(payment, "no_claim")
            return
        base = Claim.model_validate(stored.record)
        own = LegIn(base.subscriber.sequence, base.payer.id, stored.partner, LegState.OWN,
                    stored.record)  # fmt: skip
    nxt = following(base, payment.payer_sequence)
    if nxt is None:  # handed on, but no payer follows this one on file
        ledger.act_on_payment(payment, "no_next_payer", own=own)
        return
    existing = legs.get(nxt.sequence)
    if existing is not None:  # another answer of the earlier payer after the leg was opened
        if existing.opened_by != payment.id:
            text = (
                f"the {payment.payer_sequence} payer answered again ({payment.posting_id}, paid "
                f"{payment.paid}) after the {nxt.sequence} claim was built from its earlier "
                "answer: it is not sent again; check whether the next payer needs a corrected "
                "claim"
            )
            if ledger.act_on_payment(payment, "answer_changed", own=own, note=(
                nxt.sequence, LegState.HELD, {"reason": "earlier_answer_changed", "text": text},
            )):  # fmt: skip
                report.noted.append(f"{claim_id} {nxt.sequence}")
                log.warning("next_payer_leg_held", claim_id=claim_id, sequence=nxt.sequence,
                            why=text)  # fmt: skip
        return
    answers = _answers(ledger, claim_id, base.subscriber.sequence, payment.payer_sequence)
    record = leg_claim(base, nxt.sequence, answers)
    record_json = record.model_dump(mode="json", exclude_none=True)
    partner = route(record, partners)
    crossed = (payment.balance or {}).get("next_action") == "await_next_payer"
    why_not = nothing_left(payment.posting)
    problems = [f"{p.field}: {p.message}" for p in cob_problems(record)]
    leg: LegIn
    if why_not is not None:
        outcome = "not_billed"
        leg = LegIn(nxt.sequence, nxt.payer.id, partner, LegState.NOT_BILLED, record_json,
                    {"reason": "nothing_left", "text": why_not})  # fmt: skip
    elif crossed:
        outcome = "crossover"
        text = (
            f"{payment.payer_id} forwarded the claim to {nxt.payer.name}: waiting for its 835; "
            f"sent by the gateway if none comes within {crossover_days} days"
        )
        leg = LegIn(nxt.sequence, nxt.payer.id, partner, LegState.CROSSOVER, record_json,
                    {"reason": "crossover", "since": now.isoformat(), "text": text})  # fmt: skip
    elif problems or partner is None:
        outcome = "held"
        reasons = problems or [f"no partner takes payer {nxt.payer.id!r} (add it to a "
                               "partner's payers, or give next_payers[].partner)"]  # fmt: skip
        leg = LegIn(nxt.sequence, nxt.payer.id, partner, LegState.HELD, record_json,
                    {"reason": "not_sendable", "text": "; ".join(reasons)})  # fmt: skip
    else:
        outcome = "sent"
        leg = LegIn(nxt.sequence, nxt.payer.id, partner, LegState.SENT, record_json,
                    {"opened_by": payment.posting_id}, queue=True)  # fmt: skip
    records = _queued(claim_id, nxt.sequence, nxt.payer.id, partner or "", payment.posting_id)
    if not ledger.act_on_payment(payment, outcome, own=own, leg=leg, status_records=records):
        return
    getattr(report, outcome).append(f"{claim_id} {nxt.sequence}")
    log.info(f"next_payer_{outcome}", claim_id=claim_id, after=name, sequence=nxt.sequence,
             payer_id=nxt.payer.id, partner=partner, why=leg.detail.get("text"))  # fmt: skip


def _reversed_text(payment: StoredPayment, leg: StoredLeg) -> str:
    return (
        f"the answer the {leg.sequence} claim was built from was reversed by its payer "
        f"({payment.posting_id}); the {leg.sequence} claim had been opened already: expect "
        "that payer's own correction, and check before billing the patient"
    )


def _crossover(ledger: Ledger, partners: list[PartnerConfig], leg: StoredLeg,
               forwarded_before: datetime, report: NextLegReport) -> None:  # fmt: skip
    """A forwarded claim: answered by its payer (the leg waits no more), or its 835 never came
    in time and the gateway sends its own claim (once)."""
    if any(p.payer_sequence == leg.sequence for p in ledger.payments_in_force(leg.claim_id)):
        ledger.crossover_answered(leg.claim_id, leg.sequence)
        return
    if datetime.fromisoformat(str(leg.detail["since"])) > forwarded_before:
        return  # still within crossover_days
    claim = Claim.model_validate(leg.record)
    partner = route(claim, partners)
    if partner is None:
        return
    records = _queued(leg.claim_id, leg.sequence, leg.payer_id, partner, "crossover-timeout")
    version = ledger.send_crossover(leg.claim_id, leg.sequence, partner=partner,
                                    status_records=records)  # fmt: skip
    if version is not None:
        report.sent.append(f"{leg.claim_id} {leg.sequence}")
        log.info("next_payer_crossover_sent", claim_id=leg.claim_id, sequence=leg.sequence,
                 partner=partner, why="the forwarded claim got no 835 in time")  # fmt: skip
