"""Secondary and tertiary 837s the gateway builds from earlier 835s: pyx12 finds no error in
the 837P and 837I, the 837D passes our own map, and every balancing rule holds."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest

from gateway.domain.claim import Claim
from gateway.domain.cob import cob_problems
from gateway.domain.next_payers import EarlierAnswer, leg_claim
from gateway.transactions.claim_837 import Envelope, write_837
from gateway.transactions.ig_validation import validate_with_pyx12
from tests.cob_example import PRIMARY_835, SECONDARY_835, lopez_claim
from tests.conftest import SAMPLES
from tests.domain.test_next_payers import posting_of

SPOUSE = {
    "member_id": "SEC5531907", "first_name": "PAT", "last_name": "ROE", "birth_date": "1970-05-05",
    "sex": "F", "group_number": "G2", "relationship": "01",
}  # fmt: skip
NEXT = [
    {"payer": {"id": "SECND", "name": "SECOND PLAN"}, "sequence": "S", "subscriber": SPOUSE},
    {"payer": {"id": "THIRD", "name": "THIRD PLAN"}, "sequence": "T", "member_id": "TRD0001",
     "filing_indicator": "MC"},
]  # fmt: skip


def sample(kind: str) -> Claim:
    [record] = json.loads((SAMPLES / f"{kind}.json").read_text())[:1]
    return Claim.model_validate({**record, "next_payers": NEXT})


def posting(claim: Claim, payer: str, *, claim_level: Decimal = Decimal(0),
            number: str = "PCN1") -> dict[str, Any]:  # fmt: skip
    """An answer as the 835 posting says it: 70 % paid, 20 % CO-45, the rest PR-2 per line;
    ``claim_level`` taken as a claim-level PR-1 (deductible) out of the paid amount."""
    lines, paid = [], Decimal(0)
    for line in claim.lines:
        line_paid = (line.charge * Decimal("0.7")).quantize(Decimal("0.01"))
        co = (line.charge * Decimal("0.2")).quantize(Decimal("0.01"))
        pr = line.charge - line_paid - co
        paid += line_paid
        lines.append({
            "line_id": line.line_id, "procedure": line.procedure, "modifiers": line.modifiers,
            "charge": f"{line.charge:.2f}", "paid": f"{line_paid:.2f}", "units": str(line.units),
            "adjustments": [{"group": "CO", "reason": "45", "amount": f"{co:.2f}"},
                            {"group": "PR", "reason": "2", "amount": f"{pr:.2f}"}],
        })  # fmt: skip
    adjustments = (
        [{"group": "PR", "reason": "1", "amount": f"{claim_level:.2f}"}] if claim_level else []
    )
    share = sum((Decimal(ln["adjustments"][1]["amount"]) for ln in lines), claim_level)
    return {
        "status": "paid", "paid": f"{paid - claim_level:.2f}", "payer_claim_number": number,
        "patient_responsibility": f"{share:.2f}", "adjustments": adjustments, "remarks": [],
        "lines": lines, "payment": {"date": "2025-04-18", "payer_id": payer},
    }  # fmt: skip


def x12(claim: Claim) -> bytes:
    out = io.StringIO()
    env = Envelope(sender_id="PRACTICE01", receiver_id="ACMECH", interchange_control=7,
                   group_control=7, batch_id="B7", submitter_name="CLINIC",
                   receiver_name="ACME")  # fmt: skip
    write_837(out, claim.kind, [claim], env)
    return out.getvalue().encode()


@pytest.mark.parametrize("kind", ["professional", "institutional"])
def test_pyx12_finds_no_error_in_secondary_and_tertiary_claims(kind: str) -> None:
    base = sample(kind)
    first = posting(base, base.payer.id, claim_level=Decimal("25") if kind == "institutional"
                    else Decimal(0))  # fmt: skip
    secondary = leg_claim(base, "S", [EarlierAnswer("P", first)])
    assert cob_problems(secondary) == []
    assert validate_with_pyx12(x12(secondary)) == []
    second = posting(secondary, "SECND", number="SEC9")
    tertiary = leg_claim(base, "T", [EarlierAnswer("P", first), EarlierAnswer("S", second)])
    assert cob_problems(tertiary) == []
    assert validate_with_pyx12(x12(tertiary)) == []


def test_dental_secondary_and_tertiary_pass_our_837d_map() -> None:
    base = sample("dental")
    first = posting(base, base.payer.id)
    secondary = leg_claim(base, "S", [EarlierAnswer("P", first)])
    tertiary = leg_claim(base, "T", [EarlierAnswer("P", first),
                                     EarlierAnswer("S", posting(secondary, "SECND"))])  # fmt: skip
    for claim in (secondary, tertiary):
        assert cob_problems(claim) == []
        assert validate_with_pyx12(x12(claim)) == []
        assert b"SVD*" + base.payer.id.encode() + b"*" in x12(claim)
        assert b"*AD:" in x12(claim).split(b"SVD*")[1]


def test_the_guide_example_legs_pass_pyx12() -> None:
    base = Claim.model_validate(lopez_claim())
    primary = posting_of(PRIMARY_835, base)
    secondary = leg_claim(base, "S", [EarlierAnswer("P", primary)])
    assert validate_with_pyx12(x12(secondary)) == []
    tertiary = leg_claim(
        base,
        "T",
        [EarlierAnswer("P", primary), EarlierAnswer("S", posting_of(SECONDARY_835, secondary))],
    )
    assert validate_with_pyx12(x12(tertiary)) == []
