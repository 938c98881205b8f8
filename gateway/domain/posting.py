"""Turn one claim payment into the records a billing office acts on (contract section 3).

A posting says what the insurer paid, per claim and per line, and why it paid less. A balance
says what someone other than this insurer still owes (the patient, or the next payer) and what
to do about it. Both carry a stable ``id`` made from the remittance's identity (trace, payer,
amount, date, transaction) and the claim's place in it: the same remittance read twice, even
in another envelope, gives the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.domain.adjustment_codes import carc_table, carc_text, rarc_text
from gateway.domain.claim import Claim
from gateway.domain.remittance import (
    FORWARDED,
    ZERO,
    Adjustment,
    BalanceError,
    ClaimPayment,
    PaymentInfo,
    ServicePayment,
    claim_balance_error,
    line_balance_error,
    patient_share,
    responsibility_warning,
)

NONCOVERED_REASONS = frozenset({"49", "50", "96", "119", "149", "167", "204", "242"})
FORWARDED_REMARKS = frozenset({"MA18", "N89", "MA07"})
# CLP02: the payer's place in the order of payers, when the code says it (not 4, 22, 23, 25).
PAYER_SEQUENCE = {"1": "P", "19": "P", "2": "S", "20": "S", "3": "T", "21": "T"}

Record = dict[str, Any]


def money(value: Decimal) -> str:
    """Amounts go out as strings with two decimals (``f"{value:.2f}"``).

    A posting writes some thirty amounts, so this is the fast way to that format: the Decimal's
    own text when it has two decimals (most amounts), a "0" or ".00" added when it has fewer,
    the format only for the others. Nothing is cached by value: a new Decimal's hash costs
    several times its text.
    """
    if value is ZERO:  # the untouched totals
        return "0.00"
    text = str(value)
    if text[-3:-2] == ".":  # plain notation, two decimals: the format's own text
        return text
    dot = text.find(".")
    if dot < 0:
        return f"{value:.2f}" if "E" in text else text + ".00"
    if len(text) - dot == 2:
        return text + "0"
    return f"{value:.2f}"


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
    for line in claim.lines:  # a line paid nothing and the patient owes none of it
        if line.paid == 0:
            for a in line.adjustments:
                if a.group == "PR":
                    break
            else:
                return "partially_paid"
    return "paid"


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


@dataclass(slots=True)
class PaymentContext:
    """What every record of one transaction shares, computed once per transaction."""

    payment: PaymentInfo
    summary: Record
    payer: Record
    remittance: Record
    id_prefix: str
    source_file: str

    @classmethod
    def of(cls, payment: PaymentInfo, source_file: str) -> PaymentContext:
        key = "|".join((*payment.identity, payment.control_number))
        return cls(
            payment,
            payment_summary(payment),
            {"id": payment.payer_id or payment.trace_originator, "name": payment.payer_name},
            {
                "trace_number": payment.trace_number,
                "date": payment.payment_date.isoformat() if payment.payment_date else None,
            },
            hashlib.sha256(key.encode()).hexdigest()[:24],
            source_file,
        )


@dataclass(slots=True)
class PostedClaim:
    """One claim payment turned into records, with what balancing found."""

    posting: Record
    balance: Record | None
    errors: list[BalanceError]
    warning: BalanceError | None


_BREAKDOWN = {"1": "deductible", "2": "coinsurance", "3": "copay"}
_SHARES = ("deductible", "coinsurance", "copay", "noncovered", "other")  # a patient's share
_NO_BILL = frozenset({"4", "22", "23", "25"})  # no patient bill follows these CLP02 codes


def _adjustment_records(
    items: list[Adjustment],
    carc: dict[str, str],
    owed: list[tuple[Adjustment, str, str]],
    contractual: Decimal,
) -> tuple[list[Record], Decimal, Decimal]:
    """The records of one CAS list, its total and the running CO total (``contractual`` plus
    its CO amounts, added in order); the others go to ``owed`` with their texts."""
    out = []
    total = ZERO
    for a in items:
        amount, group, reason = a.amount, a.group, a.reason
        total += amount
        shown = money(amount)
        text = carc.get(reason) or carc_text(reason)
        if group == "CO":
            contractual += amount
        else:
            owed.append((a, shown, text))
        out.append({"group": group, "reason": reason, "amount": shown, "text": text})
    return out, total, contractual


def _remarks(codes: list[str]) -> list[Record]:
    return [{"code": r, "text": rarc_text(r)} for r in codes]


def post_claim(
    claim: ClaimPayment,
    ctx: PaymentContext,
    *,
    submitted: Claim | None = None,
    matched: bool | None = None,
) -> PostedClaim:
    """Posting, balance and balancing of one CLP in a single pass over its money.

    This is the hot path of remittance processing (hundreds of thousands of claims per file),
    hence one loop instead of one per rule; the rules are those of field guide 5.4 and 5.6.
    Every total is the same sum, in the same order, as the rule's own (Decimal addition rounds
    past 28 digits, so the order is kept).
    """
    carc = carc_table()
    owed: list[tuple[Adjustment, str, str]] = []  # non-CO adjustments, reported with a balance
    errors: list[BalanceError] = []
    co = ZERO
    line_ids = match_lines(claim, submitted) if submitted is not None else None
    lines = []
    line_adjusted = ZERO
    for n, line in enumerate(claim.lines):
        adjs, adjusted, co = _adjustment_records(line.adjustments, carc, owed, co)
        line_adjusted += adjusted
        if line.charge - adjusted != line.paid:
            errors.append(line_balance_error(claim, n + 1, line, adjusted))
        line_id = line_ids[n] if line_ids is not None else line.line_id
        allowed, units, served = line.allowed, line.units, line.service_date
        lines.append({
            "line_id": line_id,
            "procedure": line.procedure,
            "modifiers": line.modifiers,
            "charge": money(line.charge),
            "paid": money(line.paid),
            "allowed": money(allowed) if allowed is not None else None,
            "units": str(units) if units is not None else "1",
            "service_date": served.isoformat() if served else None,
            "adjustments": adjs,
            "remarks": _remarks(line.remarks) if line.remarks else [],
            "matched": line_id is not None,
        })  # fmt: skip
    claim_adjs, claim_adjusted, co = _adjustment_records(claim.adjustments, carc, owed, co)
    expected = claim.charge - claim_adjusted - line_adjusted
    if expected != claim.paid:
        errors.append(claim_balance_error(claim, claim_adjusted, line_adjusted, expected))
    # The patient's share by kind and the other groups' totals, in the order they came.
    share = ZERO
    kinds = dict.fromkeys(_SHARES, ZERO)
    others = dict.fromkeys(("OA", "PI", "CR"), ZERO)
    for a, _, _ in owed:
        group, amount = a.group, a.amount
        if group == "PR":
            share += amount
            kind = _BREAKDOWN.get(a.reason)
            if kind is None:
                kind = "noncovered" if a.reason in NONCOVERED_REASONS else "other"
            kinds[kind] += amount
        elif group in others:
            others[group] += amount
    warning = None
    stated = claim.patient_responsibility
    if stated is not None and stated != share:
        warning = responsibility_warning(claim, share)
    place = claim.position - ctx.payment.position
    charge, paid = money(claim.charge), money(claim.paid)
    posting: Record = {
        "id": f"p-{ctx.id_prefix}-{place}",
        "claim_id": claim.claim_id,
        "payer_claim_number": claim.payer_claim_number,
        "status_code": claim.status_code,
        "status": claim_outcome(claim),
        "status_text": claim.status,
        "charge": charge,
        "paid": paid,
        "patient_responsibility": money(share if stated is None else stated),
        "adjustments": claim_adjs,
        "remarks": _remarks(claim.remarks) if claim.remarks else [],
        "lines": lines,
        "payment": ctx.summary,
        "source_file": ctx.source_file,
    }  # fmt: skip
    if matched is not None:
        posting["matched"] = matched
    action = next_action(claim, submitted, share)
    paid_before = submitted.patient_paid if submitted is not None else None
    if paid_before and action in ("bill_patient", None) and claim.status_code not in _NO_BILL:
        action = "refund_patient" if paid_before > share else action
    balance = None
    if action is not None and not (
        action == "bill_secondary" and share == 0 and claim.charge == claim.paid
    ):
        balance = {
            "id": f"b-{ctx.id_prefix}-{place}",
            "claim_id": claim.claim_id,
            "patient": _patient(claim, submitted),
            "payer": ctx.payer,
            "billed": charge,
            "insurer_paid": paid,
            "contractual_adjustment": money(co),
            "patient_owes": money(share),
            "breakdown": {kind: money(value) for kind, value in kinds.items()},
            "other_adjustments": {group: money(value) for group, value in others.items()},
            "reasons": [{"group": a.group, "code": a.reason, "amount": shown, "text": text}
                        for a, shown, text in owed],
            "next_action": action,
            "next_payer": _next_payer(claim, submitted, action),
            "remittance": ctx.remittance,
        }  # fmt: skip
        if paid_before and action in ("bill_patient", "refund_patient"):
            balance["patient_paid"] = money(paid_before)  # at the visit (AMT*F5)
            if action == "refund_patient":
                balance["refund"] = money(paid_before - share)
        if submitted is not None and submitted.other_payers:  # a secondary or tertiary answer
            _after_every_payer(balance, claim, submitted, share, action)
    return PostedClaim(posting, balance, errors, warning)


def _after_every_payer(
    balance: Record, claim: ClaimPayment, submitted: Claim, share: Decimal, action: str
) -> None:
    """What each earlier payer paid, and with the patient's bill the write-off over all payers
    (field guide 2, 1.11: billed - every payment - what the patient owes)."""
    earlier = [{"sequence": op.sequence, "payer_id": op.payer.id, "paid": money(op.paid_amount)}
               for op in submitted.other_payers]  # fmt: skip
    balance["earlier_payers"] = earlier
    if action == "bill_patient":
        paid = sum((op.paid_amount for op in submitted.other_payers), claim.paid)
        balance["write_off"] = money(claim.charge - paid - share)


def payer_sequence(status_code: str) -> str | None:
    """P, S or T from CLP02 (processed as primary, secondary, tertiary); None when it does
    not say (a denial, a reversal, a forward, a predetermination)."""
    return PAYER_SEQUENCE.get(status_code)


def with_content_id(record: Record, content_sha256: str) -> Record:
    """The record with the remittance's content in its id: two remittances with one identity
    (trace, payer, amount, date) but other content never share a record id."""
    return {**record, "id": f"{record['id']}-{content_sha256[:12]}"}


_SHARE_WORDS = {"noncovered": "not covered", "other": "other patient responsibility"}


def payment_sentence(paid: str, patient_owes: str | None, breakdown: Record | None) -> str:
    """The money of one claim payment in a plain sentence, e.g. ``paid 0.00: 140.00 applied to
    the deductible`` or ``paid 90.00; patient owes 30.00 (deductible 10.00, copay 20.00)``."""
    shares = [
        (_SHARE_WORDS.get(k, k), Decimal(str((breakdown or {}).get(k) or 0))) for k in _SHARES
    ]
    shares = [(word, amount) for word, amount in shares if amount]
    owes = Decimal(str(patient_owes or 0))
    if Decimal(paid) == 0 and owes and len(shares) == 1:
        word, amount = shares[0]
        if word in ("deductible", "coinsurance", "copay"):
            return f"paid {paid}: {money(amount)} applied to the {word}"
        return f"paid {paid}: the patient owes {money(amount)} ({word})"
    if not owes:
        return f"paid {paid}"
    parts = ", ".join(f"{word} {money(amount)}" for word, amount in shares)
    return f"paid {paid}; patient owes {money(owes)}" + (f" ({parts})" if parts else "")


def payment_summary(payment: PaymentInfo) -> Record:
    return {
        "trace_number": payment.trace_number,
        "method": payment.method,
        "amount": money(payment.amount),
        "date": payment.payment_date.isoformat() if payment.payment_date else None,
        "payer_id": payment.payer_id or payment.trace_originator,
        "payer_name": payment.payer_name,
    }


def next_action(
    claim: ClaimPayment, submitted: Claim | None, share: Decimal | None = None
) -> str | None:
    """Who owes the rest (field guide 5.6); None when nobody but this payer owes anything."""
    code = claim.status_code
    if code == "22":
        return "reverse_previous"
    if code == "4" and submitted is not None and submitted.next_payers:
        return "bill_secondary"  # a denial goes on to the next payer all the same
    if code in ("4", "23", "25"):
        return None
    forwarded = (
        code in FORWARDED
        or claim.crossover_carrier is not None
        or (bool(claim.remarks) and not FORWARDED_REMARKS.isdisjoint(claim.remarks))
    )
    if forwarded:
        return "await_next_payer"
    if submitted is not None and submitted.next_payers:
        return "bill_secondary"
    if share is None:
        share = patient_share(claim)
    return "bill_patient" if share != 0 else None


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
        member = nxt.member_id or (nxt.subscriber.member_id if nxt.subscriber else None)
        return {"id": nxt.payer.id, "name": nxt.payer.name, "member_id": member}
    if action == "await_next_payer" and claim.crossover_carrier is not None:
        cc = claim.crossover_carrier
        return {"id": cc.id, "name": cc.last_name, "member_id": None}
    return None
