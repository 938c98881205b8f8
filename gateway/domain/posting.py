"""Turn one claim payment into the records a billing office acts on (contract section 3).

A posting says what the insurer paid, per claim and per line, and why it paid less. A balance
says what someone other than this insurer still owes (the patient, or the next payer) and what
to do about it. Both carry a stable ``id`` made from the remittance's identity and the claim's
place in it, so the same remittance read twice gives the same ids.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from gateway.domain.adjustment_codes import carc_text, rarc_text
from gateway.domain.claim import Claim
from gateway.domain.remittance import (
    FORWARDED,
    ZERO,
    Adjustment,
    ClaimPayment,
    PaymentInfo,
    ServicePayment,
    patient_share,
)

NONCOVERED_REASONS = frozenset({"49", "50", "96", "119", "149", "167", "204", "242"})
FORWARDED_REMARKS = frozenset({"MA18", "N89", "MA07"})

Record = dict[str, Any]


def money(value: Decimal) -> str:
    """Amounts go out as strings with two decimals."""
    return f"{value:.2f}"


def record_id(kind: str, payment: PaymentInfo, claim: ClaimPayment) -> str:
    """Stable across re-reads: remittance identity + the claim's place in its transaction."""
    place = claim.position - payment.position
    key = "|".join((kind, *payment.identity, payment.control_number, str(place), claim.claim_id))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def claim_outcome(claim: ClaimPayment) -> str:
    """The status event for this payment: paid, partially_paid, denied, reversed, ..."""
    code = claim.status_code
    if code == "22":
        return "reversed"
    if code == "23":
        return "forwarded"
    if code == "25":
        return "predetermined"
    if code == "4" or (claim.paid == 0 and patient_share(claim) == 0):
        return "denied"
    denied_lines = [
        line
        for line in claim.lines
        if line.paid == 0 and not any(a.group == "PR" for a in line.adjustments)
    ]
    return "partially_paid" if denied_lines else "paid"


def _adjustment(a: Adjustment) -> Record:
    return {"group": a.group, "reason": a.reason, "amount": money(a.amount),
            "text": carc_text(a.reason)}  # fmt: skip


def match_lines(claim: ClaimPayment, submitted: Claim | None) -> list[str | None]:
    """The submitted line id of each service payment: REF*6R, else procedure + date + charge."""
    out: list[str | None] = []
    if submitted is None:
        return [line.line_id for line in claim.lines]
    known = {line.line_id for line in submitted.lines}
    taken: set[str] = set()
    for line in claim.lines:
        if line.line_id and line.line_id in known:
            out.append(line.line_id)
            taken.add(line.line_id)
            continue
        out.append(_match_by_content(line, claim, submitted, taken))
    return out


def _match_by_content(
    line: ServicePayment, claim: ClaimPayment, submitted: Claim, taken: set[str]
) -> str | None:
    procedure = line.submitted_procedure or line.procedure
    when = line.service_date or claim.statement_from
    for sub in submitted.lines:
        if sub.line_id in taken:
            continue
        sub_date = sub.service_date or submitted.service_date
        if (
            (sub.procedure or sub.revenue_code) == procedure
            and sub.charge == abs(line.charge)
            and (when is None or sub_date is None or sub_date == when)
        ):
            taken.add(sub.line_id)
            return sub.line_id
    return None


def posting_record(
    claim: ClaimPayment,
    payment: PaymentInfo,
    *,
    source_file: str,
    submitted: Claim | None = None,
    matched: bool | None = None,
) -> Record:
    """One posting (contract section 3) for one CLP."""
    line_ids = match_lines(claim, submitted)
    lines = []
    for line, line_id in zip(claim.lines, line_ids, strict=True):
        lines.append(
            {
                "line_id": line_id,
                "procedure": line.procedure,
                "modifiers": line.modifiers,
                "charge": money(line.charge),
                "paid": money(line.paid),
                "allowed": money(line.allowed) if line.allowed is not None else None,
                "units": str(line.units) if line.units is not None else "1",
                "service_date": line.service_date.isoformat() if line.service_date else None,
                "adjustments": [_adjustment(a) for a in line.adjustments],
                "remarks": [{"code": r, "text": rarc_text(r)} for r in line.remarks],
                "matched": line_id is not None,
            }
        )
    share = patient_share(claim)
    record: Record = {
        "id": record_id("posting", payment, claim),
        "claim_id": claim.claim_id,
        "payer_claim_number": claim.payer_claim_number,
        "status_code": claim.status_code,
        "status": claim_outcome(claim),
        "status_text": claim.status,
        "charge": money(claim.charge),
        "paid": money(claim.paid),
        "patient_responsibility": money(
            claim.patient_responsibility if claim.patient_responsibility is not None else share
        ),
        "adjustments": [_adjustment(a) for a in claim.adjustments],
        "remarks": [{"code": r, "text": rarc_text(r)} for r in claim.remarks],
        "lines": lines,
        "payment": payment_summary(payment),
        "source_file": source_file,
    }
    if matched is not None:
        record["matched"] = matched
    return record


def payment_summary(payment: PaymentInfo) -> Record:
    return {
        "trace_number": payment.trace_number,
        "method": payment.method,
        "amount": money(payment.amount),
        "date": payment.payment_date.isoformat() if payment.payment_date else None,
        "payer_id": payment.payer_id or payment.trace_originator,
        "payer_name": payment.payer_name,
    }


def next_action(claim: ClaimPayment, submitted: Claim | None) -> str | None:
    """Who owes the rest (field guide 5.6); None when nobody but this payer owes anything."""
    code = claim.status_code
    if code == "22":
        return "reverse_previous"
    if code in ("4", "23", "25"):
        return None
    forwarded = (
        code in FORWARDED
        or claim.crossover_carrier is not None
        or any(r in FORWARDED_REMARKS for r in claim.remarks)
    )
    if forwarded:
        return "await_next_payer"
    if submitted is not None and submitted.next_payers:
        return "bill_secondary"
    return "bill_patient" if patient_share(claim) != 0 else None


def balance_record(
    claim: ClaimPayment, payment: PaymentInfo, *, submitted: Claim | None = None
) -> Record | None:
    """The patient-balance record, or None when this payment leaves nothing owed elsewhere."""
    action = next_action(claim, submitted)
    if action is None:
        return None
    adjustments = claim.all_adjustments()
    groups: dict[str, Decimal] = {}
    breakdown = {"deductible": ZERO, "coinsurance": ZERO, "copay": ZERO, "noncovered": ZERO,
                 "other": ZERO}  # fmt: skip
    for a in adjustments:
        groups[a.group] = groups.get(a.group, ZERO) + a.amount
        if a.group != "PR":
            continue
        key = {"1": "deductible", "2": "coinsurance", "3": "copay"}.get(a.reason)
        if key is None:
            key = "noncovered" if a.reason in NONCOVERED_REASONS else "other"
        breakdown[key] += a.amount
    owes = groups.get("PR", ZERO)
    if action == "bill_secondary" and owes == 0 and claim.charge == claim.paid:
        return None
    return {
        "id": record_id("balance", payment, claim),
        "claim_id": claim.claim_id,
        "patient": _patient(claim, submitted),
        "payer": {
            "id": payment.payer_id or payment.trace_originator,
            "name": payment.payer_name,
        },
        "billed": money(claim.charge),
        "insurer_paid": money(claim.paid),
        "contractual_adjustment": money(groups.get("CO", ZERO)),
        "patient_owes": money(owes),
        "breakdown": {key: money(value) for key, value in breakdown.items()},
        "other_adjustments": {g: money(groups.get(g, ZERO)) for g in ("OA", "PI", "CR")},
        "reasons": [
            {
                "group": a.group,
                "code": a.reason,
                "amount": money(a.amount),
                "text": carc_text(a.reason),
            }
            for a in adjustments
            if a.group != "CO"
        ],
        "next_action": action,
        "next_payer": _next_payer(claim, submitted, action),
        "remittance": {
            "trace_number": payment.trace_number,
            "date": payment.payment_date.isoformat() if payment.payment_date else None,
        },
    }


def _patient(claim: ClaimPayment, submitted: Claim | None) -> Record:
    if submitted is not None:
        person = submitted.patient or submitted.subscriber
        return {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "birth_date": person.birth_date.isoformat(),
            "member_id": submitted.subscriber.member_id,
        }
    p = claim.patient
    return {
        "first_name": p.first_name if p else "",
        "last_name": p.last_name if p else "",
        "member_id": p.id if p else "",
    }


def _next_payer(claim: ClaimPayment, submitted: Claim | None, action: str) -> Record | None:
    if action == "bill_secondary" and submitted is not None and submitted.next_payers:
        nxt = submitted.next_payers[0]
        return {"id": nxt.payer.id, "name": nxt.payer.name, "member_id": nxt.member_id}
    if action == "await_next_payer" and claim.crossover_carrier is not None:
        cc = claim.crossover_carrier
        return {"id": cc.id, "name": cc.last_name, "member_id": None}
    return None
