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


def _loops(data: bytes) -> list[str]:
    return [s for s in data.decode().replace("\n", "").split("~") if s]


@pytest.mark.parametrize("kind", ["professional", "dental", "institutional"])
def test_the_clearinghouse_cob_edits_pass_on_every_built_claim(kind: str) -> None:
    """Prior payer's paid amount and adjudication date present, its claim number in 2330B
    REF*F8, each 2430 dated, no AMT*EAF at both levels, CAS codes as the 835 gave them."""
    base = sample(kind)
    first = posting(base, base.payer.id, number="PRIOR-77")
    segments = _loops(x12(leg_claim(base, "S", [EarlierAnswer("P", first)])))
    clm = next(n for n, s in enumerate(segments) if s.startswith("CLM*"))
    body = segments[clm:]
    sbr = next(n for n, s in enumerate(body) if s.startswith("SBR*P*"))
    first_lx = next(n for n, s in enumerate(body) if s.startswith("LX*"))
    loop_2320 = body[sbr:first_lx]
    [amt_d] = [s for s in loop_2320 if s.startswith("AMT*D*")]
    assert Decimal(amt_d.split("*")[2]) == Decimal(first["paid"])
    assert "REF*F8*PRIOR-77" in loop_2320
    assert not any(s.startswith("AMT*EAF") for s in loop_2320)  # the lines carry it
    svd = [n for n, s in enumerate(body) if s.startswith("SVD*")]
    assert len(svd) == len(base.lines)
    for n in svd:  # each 2430: SVD, its CAS as given (CO-45 then PR-2), a DTP*573
        after = body[n + 1 : n + 4]
        assert after[0].startswith("CAS*CO*45*") and after[1].startswith("CAS*PR*2*")
        assert after[2] == "DTP*573*D8*20250418"


def test_medicare_after_another_payer_carries_its_secondary_payer_type() -> None:
    base = sample("professional")
    record = base.model_dump(mode="json", exclude_none=True)
    record["next_payers"] = [{"payer": {"id": "MCARE", "name": "MEDICARE B"}, "sequence": "S",
                              "filing_indicator": "MB", "insurance_type": "12",
                              "member_id": "1EG4TE5MK73"}]  # fmt: skip
    claim = Claim.model_validate(record)
    secondary = leg_claim(claim, "S", [EarlierAnswer("P", posting(claim, claim.payer.id))])
    assert cob_problems(secondary) == []
    segments = _loops(x12(secondary))
    assert "SBR*S*18***12****MB" in segments  # SBR05 12: working aged
    assert validate_with_pyx12(x12(secondary)) == []
