"""Intake checks of ``next_payers``: the coverage billed after the claim's payer.

In order after the claim's own payer (P, then S, then T), never a payer billed before, a
subscriber the next payer can find (member id, birth date), Medicare after another payer with
its secondary payer type. Each problem names the field, like every other claim check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from gateway.domain import codes
from gateway.domain.claim import Address, Claim
from gateway.domain.cob import MEDICARE, MSP_TYPES
from gateway.domain.problems import Problem


def next_payer_problems(
    c: Claim, today: date, address: Callable[[Address, str], Iterator[Problem]]
) -> Iterator[Problem]:
    """Coverage to bill next: in order after this payer, never this payer again, and a
    subscriber the next payer can find (member id, birth date)."""
    order = "PST"
    expected = order.index(c.subscriber.sequence) + 1
    seen = {c.payer.id}
    for n, nxt in enumerate(c.next_payers, 1):
        name = f"next_payers[{n}]"
        wanted = order[expected] if expected < len(order) else None
        if nxt.sequence != wanted:
            yield Problem(
                f"sequence {nxt.sequence} is out of order: after a "
                f"{order[min(expected, len(order)) - 1]} "
                + (f"payer comes {wanted}" if wanted else "payer no other can follow"),
                f"{name}.sequence",
            )
        expected += 1
        if nxt.payer.id in seen:
            yield Problem(
                f"{nxt.payer.id!r} is already billed before it on this claim (the same "
                "payer cannot be billed twice)",
                f"{name}.payer.id",
            )
        seen.add(nxt.payer.id)
        if nxt.filing_indicator not in codes.FILING_INDICATORS:
            yield Problem(
                f"{nxt.filing_indicator!r} is not a claim filing indicator code (CI "
                "commercial, MB Medicare Part B, MC Medicaid, ...)",
                f"{name}.filing_indicator",
            )
        if nxt.subscriber is None and not nxt.member_id:
            yield Problem(
                "needs the next coverage's subscriber (or member_id, when its subscriber "
                "is this claim's subscriber)",
                f"{name}.subscriber",
            )
        if nxt.subscriber is not None:
            s = nxt.subscriber
            if nxt.member_id and nxt.member_id != s.member_id:
                yield Problem(
                    f"{nxt.member_id!r} differs from subscriber.member_id {s.member_id!r}",
                    f"{name}.member_id",
                )
            if s.relationship not in codes.OTHER_SUBSCRIBER_RELATIONSHIPS:
                yield Problem(
                    f"{s.relationship!r} is not a relationship code (18 self, 01 spouse, "
                    "19 child, 20 employee, 21 unknown, 53 life partner, G8 other)",
                    f"{name}.subscriber.relationship",
                )
            if s.birth_date > today:
                yield Problem(f"{s.birth_date} is in the future", f"{name}.subscriber.birth_date")
            if s.address is not None:
                yield from address(s.address, f"{name}.subscriber.address")
        medicare = nxt.filing_indicator in MEDICARE and c.kind != "institutional"
        if medicare and nxt.insurance_type not in MSP_TYPES:
            yield Problem(
                "Medicare billed after another payer needs its secondary payer type "
                "(SBR05: 12 working aged, 13 ESRD, 14 no-fault, 15 workers' "
                "compensation, 16 federal agency, 41 black lung, 42 veterans, 43 "
                "disabled, 47 other liability)",
                f"{name}.insurance_type",
            )
