"""The payer's arithmetic: fee schedule, contractual write-off, deductible, coinsurance, copay.

Pure functions over claim records: the caller hands in the member's accumulator and gets the
new one back, so nothing here touches the state file. Every line balances by construction
(charge = paid + CO + PR), and so does every claim (field guide 5.4).

Per line, in this order: a denial (a configured procedure, a missing prior authorization, or
the random denial rate) takes the whole charge under its group and reason. Otherwise the payer
allows the fee-schedule amount times the units (or ``allowed_percent`` of the charge), never
more than the charge, and writes the rest off as CO-45. Of the allowed amount the patient owes
a copay (PR-3) on lines that have one, else the deductible still open (PR-1) and then the
coinsurance (PR-2); all three stop at the out-of-pocket maximum.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from gateway.simulator.config import AdjudicationConfig, Denial
from gateway.simulator.model import (
    ZERO,
    Accumulator,
    Adj,
    Adjudication,
    ClaimIn,
    LineIn,
    LineResult,
)

_CENT = Decimal("0.01")
_MILLION = 1_000_000
_PATIENT_SHARE = ("1", "2", "3")  # deductible, coinsurance, copay: count toward out-of-pocket


def cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def rng_for(seed: int, purpose: str, *keys: str) -> random.Random:
    """A generator of its own per decision: the same seed and claim give the same outcome.

    String seeds are hashed with SHA-512 by ``random``, so this does not depend on
    PYTHONHASHSEED or on what other claims were drawn before.
    """
    return random.Random(":".join((str(seed), purpose, *keys)))


def chance(rng: random.Random, rate: Decimal) -> bool:
    """True with probability ``rate`` (a Decimal, so no float ever touches the money logic)."""
    if rate <= 0:
        return False
    return Decimal(rng.randrange(_MILLION)) < rate * _MILLION


def processed_as(sequence: str, *, forwarded: bool = False) -> str:
    """CLP02 for the payer's place in the order of benefits (SBR01); 19/20/21 when the payer
    forwarded the claim to the next payer itself (crossover)."""
    code = {"S": "2", "T": "3"}.get(sequence, "1")
    return {"1": "19", "2": "20", "3": "21"}[code] if forwarded else code


def coordinate(
    line: LineIn, config: AdjudicationConfig, claim: ClaimIn, uplift_percent: Decimal = ZERO
) -> LineResult:
    """A line earlier payers adjudicated, by standard coordination of benefits: this payer
    pays up to its own allowed amount less what the earlier payers paid, never more than what
    the last of them left the patient. What earlier payers paid is restated as OA-23 (impact of
    prior payer adjudication), their write-off as CO-45; the patient keeps the rest (PR-2)."""
    prior_paid = claim.prior_paid.get(line.line_id, ZERO)
    share = claim.prior_share.get(line.line_id, ZERO)
    allowed = allowed_amount(line, config, uplift_percent)
    paid = max(min(allowed - prior_paid, share), ZERO)
    adjs = []
    written_off = line.charge - prior_paid - share
    for group, reason, amount in (("CO", "45", written_off), ("OA", "23", prior_paid),
                                  ("PR", "2", share - paid)):  # fmt: skip
        if amount:
            adjs.append(Adj(group=group, reason=reason, amount=amount))
    return LineResult(line=line, paid=paid, allowed=allowed, adjustments=adjs)


def allowed_amount(line: LineIn, config: AdjudicationConfig, uplift_percent: Decimal) -> Decimal:
    """Fee schedule x units, else a percentage of the charge; never above the charge."""
    fee = config.fee_schedule.get(line.procedure)
    if fee is not None:
        allowed = cents(fee * line.units)
    else:
        allowed = cents(line.charge * config.allowed_percent / 100)
    if uplift_percent:
        allowed += cents(line.charge * uplift_percent / 100)
    return max(min(allowed, line.charge), ZERO)


def denial_for(
    claim: ClaimIn,
    line: LineIn,
    config: AdjudicationConfig,
    rng: random.Random,
    *,
    random_denials: bool,
) -> Denial | None:
    """Why this line is not paid at all, or None."""
    drawn = chance(rng, config.random_denial_rate)  # drawn for every line: stable sequences
    for rule in config.denials:
        if rule.procedure == line.procedure:
            return Denial(group=rule.group, reason=rule.reason, remark=rule.remark)
    if line.procedure in config.auth_required and not claim.prior_authorization:
        return config.auth_denial
    if random_denials and drawn:
        return config.random_denial
    return None


def adjudicate(
    claim: ClaimIn,
    config: AdjudicationConfig,
    totals: Accumulator,
    rng: random.Random,
    *,
    payer_claim_number: str,
    received: date,
    uplift_percent: Decimal = ZERO,
    random_denials: bool = True,
) -> tuple[Adjudication, Accumulator]:
    """Price and pay one claim; returns the CLP and the member's new accumulator."""
    own_percent = config.allowed_percent_by_payer.get(claim.payer_id)
    if own_percent is not None:
        config = config.model_copy(update={"allowed_percent": own_percent})
    deductible_met = totals.deductible_met
    oop_met = totals.out_of_pocket_met
    kind_copay = config.copay_by_kind.get(claim.kind)
    results: list[LineResult] = []
    for line in claim.lines:
        if claim.sequence != "P" and line.line_id in claim.prior_paid:
            results.append(coordinate(line, config, claim, uplift_percent))
            continue
        denial = denial_for(claim, line, config, rng, random_denials=random_denials)
        if denial is not None:
            adjs = [Adj(group=denial.group, reason=denial.reason, amount=line.charge)]
            remarks = [denial.remark] if denial.remark else []
            results.append(LineResult(line=line, paid=ZERO, adjustments=adjs, remarks=remarks))
            continue
        allowed = allowed_amount(line, config, uplift_percent)
        remaining = allowed
        oop_left = max(config.out_of_pocket_max - oop_met, ZERO)
        copay = config.copays.get(line.procedure)
        if copay is None and kind_copay and allowed > 0:
            copay, kind_copay = kind_copay, None  # once per claim
        deductible = coinsurance = ZERO
        if copay is not None:
            copay = min(copay, remaining, oop_left)
            remaining -= copay
        else:
            copay = ZERO
            deductible = min(remaining, max(config.deductible - deductible_met, ZERO), oop_left)
            remaining -= deductible
            oop_left -= deductible
            coinsurance = min(cents(remaining * config.coinsurance_percent / 100), oop_left)
            remaining -= coinsurance
        deductible_met += deductible
        oop_met += deductible + coinsurance + copay
        adjs = []
        if line.charge - allowed:
            adjs.append(Adj(group="CO", reason="45", amount=line.charge - allowed))
        for reason, amount in (("1", deductible), ("2", coinsurance), ("3", copay)):
            if amount:
                adjs.append(Adj(group="PR", reason=reason, amount=amount))
        results.append(LineResult(line=line, paid=remaining, allowed=allowed, adjustments=adjs))
    crossover = config.crossover.get(claim.payer_id)
    adjudication = Adjudication(
        status_code=processed_as(claim.sequence, forwarded=crossover is not None),
        payer_claim_number=payer_claim_number,
        received=received,
        lines=results,
        crossover_to=crossover,
    )
    return adjudication, Accumulator(deductible_met=deductible_met, out_of_pocket_met=oop_met)


def reverse(payment: Adjudication) -> Adjudication:
    """The reversal of a payment: CLP02 22, the same CLP07, every amount negated (5.5)."""
    lines = [
        LineResult(
            line=r.line.model_copy(update={"charge": -r.line.charge, "units": -r.line.units}),
            paid=-r.paid,
            adjustments=[a.model_copy(update={"amount": -a.amount}) for a in r.adjustments],
        )
        for r in payment.lines
    ]
    return Adjudication(
        status_code="22",
        payer_claim_number=payment.payer_claim_number,
        received=payment.received,
        lines=lines,
    )


def release(totals: Accumulator, payment: Adjudication) -> Accumulator:
    """The accumulator as if ``payment`` had never been made (before a reversal)."""
    deductible = payment.total("PR", "1")
    share = sum((payment.total("PR", reason) for reason in _PATIENT_SHARE), ZERO)
    return Accumulator(
        deductible_met=max(totals.deductible_met - deductible, ZERO),
        out_of_pocket_met=max(totals.out_of_pocket_met - share, ZERO),
    )
