"""The next payer's claim, built from the earlier payers' 835s (field guide 2, 1.1-1.4).

A claim goes to every payer on file in order: its own payer (usually P), then each of its
``next_payers`` (S, then T). Each of those "legs" is the same claim (same id, lines, codes)
with 2000B naming the payer billed now, and one 2320/2330 per earlier payer built from that
payer's posting exactly as its 835 gave it: the paid amount (AMT*D), the claim-level
adjustments (2320 CAS), the claim number (2330B REF*F8), and per line what it paid and adjusted
(2430 SVD, CAS grouped as the 835 grouped them, DTP*573, AMT*EAF). Group and reason codes are
never recoded: a coinsurance stays PR-2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.domain.claim import (
    Adjustment,
    Claim,
    LineAdjudication,
    NextPayer,
    OtherPayer,
    OtherSubscriber,
    Patient,
    Payer,
    Subscriber,
)

ORDER = "PST"
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Coverage:
    """One payer of the claim as its leg bills it: who pays, who holds the coverage."""

    sequence: str
    payer: Payer
    partner: str | None
    subscriber: Subscriber  # 2000B/2010BA of this leg
    patient: Patient | None  # 2000C, when the patient is not this coverage's subscriber
    relationship: str  # the patient's relationship to this subscriber (18 self)


@dataclass(frozen=True, slots=True)
class EarlierAnswer:
    """What an earlier payer said about the claim: its posting record (contract section 3)."""

    sequence: str
    posting: Mapping[str, Any]


def coverages(base: Claim) -> list[Coverage]:
    """The claim's own payer, then each next payer, in the order they are billed."""
    own = Coverage(
        base.subscriber.sequence, base.payer, base.partner, base.subscriber, base.patient,
        "18" if base.patient is None else base.patient.relationship,
    )  # fmt: skip
    return [own, *(_next_coverage(base, nxt) for nxt in base.next_payers)]


def coverage(base: Claim, sequence: str) -> Coverage | None:
    return next((c for c in coverages(base) if c.sequence == sequence), None)


def following(base: Claim, sequence: str) -> Coverage | None:
    """The coverage billed after ``sequence`` (None when it is the last)."""
    found = coverages(base)
    for n, c in enumerate(found[:-1]):
        if c.sequence == sequence:
            return found[n + 1]
    return None


def _next_coverage(base: Claim, nxt: NextPayer) -> Coverage:
    person = base.patient or base.subscriber
    if nxt.subscriber is None:  # the short form: the claim's own subscriber, another member id
        subscriber = base.subscriber.model_copy(update={
            "member_id": nxt.member_id or base.subscriber.member_id, "group_number": None,
            "sequence": nxt.sequence, "filing_indicator": nxt.filing_indicator,
            "insurance_type": nxt.insurance_type,
        })  # fmt: skip
        relationship = "18" if base.patient is None else base.patient.relationship
        return Coverage(nxt.sequence, nxt.payer, nxt.partner, subscriber, base.patient,
                        relationship)  # fmt: skip
    s = nxt.subscriber
    common = {
        "member_id": s.member_id, "group_number": s.group_number, "sequence": nxt.sequence,
        "filing_indicator": nxt.filing_indicator, "insurance_type": nxt.insurance_type,
    }  # fmt: skip
    if s.relationship == "18":  # the patient holds this coverage
        subscriber = Subscriber(
            first_name=s.first_name, last_name=s.last_name, middle_name=s.middle_name,
            suffix=s.suffix, birth_date=s.birth_date, sex=s.sex,
            address=s.address or person.address, **common,
        )  # fmt: skip
        return Coverage(nxt.sequence, nxt.payer, nxt.partner, subscriber, None, "18")
    subscriber = Subscriber(
        first_name=s.first_name, last_name=s.last_name, middle_name=s.middle_name,
        suffix=s.suffix, birth_date=s.birth_date, sex=s.sex,
        address=s.address or base.subscriber.address, **common,
    )  # fmt: skip
    patient = Patient(
        first_name=person.first_name, last_name=person.last_name,
        middle_name=person.middle_name, suffix=person.suffix, birth_date=person.birth_date,
        sex=person.sex, address=person.address, relationship=s.relationship,
    )  # fmt: skip
    return Coverage(nxt.sequence, nxt.payer, nxt.partner, subscriber, patient, s.relationship)


def leg_claim(base: Claim, sequence: str, earlier: Sequence[EarlierAnswer] = ()) -> Claim:
    """The claim as billed to the payer at ``sequence``, with a 2320 loop per earlier payer
    (those of the base record first, then one per answer in ``earlier``)."""
    cov = coverage(base, sequence)
    if cov is None:
        raise ValueError(f"claim {base.claim_id} has no payer at sequence {sequence}")
    by_sequence = {c.sequence: c for c in coverages(base)}
    others = list(base.other_payers)
    for answer in earlier:
        payer = by_sequence.get(answer.sequence)
        if payer is None:
            raise ValueError(f"claim {base.claim_id} has no payer at sequence {answer.sequence}")
        others.append(other_payer(base, payer, answer.posting))
    rest = [n for n in base.next_payers if ORDER.index(n.sequence) > ORDER.index(sequence)]
    return base.model_copy(update={
        "payer": cov.payer, "partner": cov.partner, "subscriber": cov.subscriber,
        "patient": cov.patient, "other_payers": others, "next_payers": rest,
        "frequency": "1", "payer_claim_number": None,
    })  # fmt: skip


def other_payer(base: Claim, cov: Coverage, posting: Mapping[str, Any]) -> OtherPayer:
    """2320/2330A/2330B/2430 of one earlier payer, from its posting, figures unchanged."""
    lines = {line.line_id: line for line in base.lines}
    paid_on = (posting.get("payment") or {}).get("date")
    adjudications = []
    for pl in posting.get("lines", []):
        submitted = lines.get(pl.get("line_id") or "")
        if submitted is None:
            continue  # a line we did not send: nothing to report it against
        procedure = pl.get("procedure")
        recoded = (
            bool(procedure)
            and submitted.procedure is not None
            and (procedure != submitted.procedure)
        )
        share = sum(
            (Decimal(a["amount"]) for a in pl.get("adjustments", []) if a["group"] == "PR"), ZERO
        )
        adjudications.append(LineAdjudication(
            line_id=submitted.line_id, paid_amount=Decimal(pl["paid"]),
            paid_units=Decimal(str(pl["units"])) if pl.get("units") else None,
            adjustments=[_adjustment(a) for a in pl.get("adjustments", [])],
            procedure=procedure if recoded else None,
            modifiers=list(pl.get("modifiers") or []) if recoded else None,
            remaining_patient_liability=share or None,
        ))  # fmt: skip
    remaining = Decimal(posting.get("patient_responsibility") or 0)
    s = cov.subscriber
    return OtherPayer(
        payer=cov.payer,
        subscriber=OtherSubscriber(
            member_id=s.member_id,
            first_name=s.first_name,
            last_name=s.last_name,
            relationship=cov.relationship,
            group_number=s.group_number,
        ),
        sequence=cov.sequence,
        filing_indicator=s.filing_indicator,
        insurance_type=s.insurance_type if cov.sequence != "P" else None,
        paid_amount=Decimal(posting["paid"]),
        paid_date=date.fromisoformat(paid_on) if paid_on else date.today(),
        payer_claim_number=posting.get("payer_claim_number") or None,
        adjustments=[_adjustment(a) for a in posting.get("adjustments", [])],
        line_adjudications=adjudications,
        remarks=[str(r["code"]) for r in posting.get("remarks", []) if r.get("code")][:5],
        remaining_patient_liability=remaining if remaining and not adjudications else None,
    )


def _adjustment(a: Mapping[str, Any]) -> Adjustment:
    return Adjustment(group=a["group"], reason=str(a["reason"]), amount=Decimal(a["amount"]))


def nothing_left(posting: Mapping[str, Any]) -> str | None:
    """Why the next payer is not billed after this answer (None: it is billed).

    A partial payment or a denial goes on; a claim paid with no patient share left does not:
    the next payer would have nothing to pay.
    """
    if posting.get("status") == "paid" and Decimal(posting["patient_responsibility"]) == 0:
        return (
            f"{posting['payment'].get('payer_id') or 'the payer'} paid "
            f"{posting['paid']} and left no patient share: nothing is left for the next payer"
        )
    return None
