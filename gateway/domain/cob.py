"""Coordination-of-benefits checks of a secondary or tertiary claim, before it is sent.

The balancing rules of field guide 2 (1.5), per earlier payer X, in Decimal:

1. line: a line's charge = what X paid on it (SVD02) + X's adjustments on it (2430 CAS);
2. claim: the claim's charge = what X paid (AMT*D) + X's claim-level adjustments (2320 CAS) +
   all of X's line adjustments (2430 CAS);
3. the equivalent form: Σ SVD02 of X − X's claim-level adjustments = AMT*D (when X gave lines);
4. AMT*EAF never enters the arithmetic, and is never sent at both claim and line level.

And the edits the best clearinghouses publish for COB claims: the earlier payer's paid amount
and adjudication date present (the record cannot be without them), its claim number present
(2330B REF*F8), Medicare after another payer with its secondary payer type (SBR05), each
earlier payer at its own place in the order of payers.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from gateway.domain.claim import Claim, OtherPayer
from gateway.domain.problems import Problem

ZERO = Decimal(0)


def _m(value: Decimal) -> str:
    return f"{value:.2f}"


MEDICARE = frozenset({"MA", "MB"})
MSP_TYPES = frozenset({"12", "13", "14", "15", "16", "41", "42", "43", "47"})


def cob_problems(claim: Claim) -> list[Problem]:
    """Every rule the claim's earlier payers break; empty when the next payer can take it."""
    return list(_problems(claim))


def line_rule(claim: Claim, n: int, op: OtherPayer) -> Iterator[Problem]:
    """Rule 1 for earlier payer ``op`` (the ``n``-th): each line it adjudicated balances."""
    charges = {line.line_id: line.charge for line in claim.lines}
    for k, la in enumerate(op.line_adjudications, 1):
        charge = charges.get(la.line_id)
        if charge is None:
            continue  # not a line of this claim: claim_checks says so
        adjusted = sum((a.amount for a in la.adjustments), ZERO)
        if charge != la.paid_amount + adjusted:
            yield Problem(
                f"line {la.line_id} does not balance for {op.payer.id}: charge {_m(charge)} is not "
                f"paid {_m(la.paid_amount)} + adjustments {_m(adjusted)}",
                f"other_payers[{n}].line_adjudications[{k}]",
            )


def claim_rule(claim: Claim, n: int, op: OtherPayer) -> Iterator[Problem]:
    """Rule 2: the claim's charge = AMT*D + claim-level CAS + every line CAS of that payer."""
    claim_level = sum((a.amount for a in op.adjustments), ZERO)
    line_level = sum((a.amount for la in op.line_adjudications for a in la.adjustments), ZERO)
    if claim.line_total != op.paid_amount + claim_level + line_level:
        yield Problem(
            f"the claim does not balance for {op.payer.id}: charge {_m(claim.line_total)} is not "
            f"paid {_m(op.paid_amount)} + claim adjustments {_m(claim_level)} + line adjustments "
            f"{_m(line_level)}",
            f"other_payers[{n}].paid_amount",
        )


def paid_rule(claim: Claim, n: int, op: OtherPayer) -> Iterator[Problem]:
    """Rule 3: Σ SVD02 − claim-level CAS = AMT*D, when the payer gave line detail."""
    if not op.line_adjudications:
        return
    lines_paid = sum((la.paid_amount for la in op.line_adjudications), ZERO)
    claim_level = sum((a.amount for a in op.adjustments), ZERO)
    if lines_paid - claim_level != op.paid_amount:
        yield Problem(
            f"{op.payer.id}'s line payments {_m(lines_paid)} less its claim adjustments "
            f"{_m(claim_level)} are not what it paid, {_m(op.paid_amount)}",
            f"other_payers[{n}].paid_amount",
        )


def liability_rule(claim: Claim, n: int, op: OtherPayer) -> Iterator[Problem]:
    """Rule 4: the remaining patient liability at one level only."""
    on_lines = any(la.remaining_patient_liability for la in op.line_adjudications)
    if op.remaining_patient_liability and on_lines:
        yield Problem(
            "the remaining patient liability is given for the claim and for its lines; "
            "send it at one level only (lines, when the payer gave lines)",
            f"other_payers[{n}].remaining_patient_liability",
        )


def edit_rules(claim: Claim, n: int, op: OtherPayer) -> Iterator[Problem]:
    """The clearinghouse edits that are not arithmetic."""
    if not op.payer_claim_number:
        yield Problem(
            f"{op.payer.id}'s claim number (its 835 CLP07) is needed in 2330B REF*F8",
            f"other_payers[{n}].payer_claim_number",
        )
    if (
        claim.kind != "institutional"
        and op.filing_indicator in MEDICARE
        and op.sequence != "P"
        and op.insurance_type not in MSP_TYPES
    ):
        yield Problem(
            "Medicare after another payer needs its secondary payer type (SBR05)",
            f"other_payers[{n}].insurance_type",
        )
    if op.sequence == claim.subscriber.sequence:
        yield Problem(
            f"sequence {op.sequence} is the place of the payer billed now",
            f"other_payers[{n}].sequence",
        )


def _problems(claim: Claim) -> Iterator[Problem]:
    for n, op in enumerate(claim.other_payers, 1):
        for rule in (line_rule, claim_rule, paid_rule, liability_rule, edit_rules):
            yield from rule(claim, n, op)
    s = claim.subscriber
    if (
        claim.kind != "institutional"
        and s.filing_indicator in MEDICARE
        and s.sequence != "P"
        and s.insurance_type not in MSP_TYPES
    ):
        yield Problem(
            "Medicare billed after another payer needs its secondary payer type (SBR05)",
            "subscriber.insurance_type",
        )
