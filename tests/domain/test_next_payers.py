"""The next payer's claim built from the earlier 835s: the field guide's worked example
(primary 835 → secondary 837P → secondary 835 → tertiary 837P), figures to the cent."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.claim import Claim
from gateway.domain.claim_checks import check_claim
from gateway.domain.cob import cob_problems
from gateway.domain.next_payers import EarlierAnswer, coverages, leg_claim, nothing_left
from gateway.replies.remittances import ClaimPosted, post_835
from gateway.transactions.claim_837 import Envelope, write_837
from tests.cob_example import (
    PRIMARY_835,
    SECONDARY_835,
    SECONDARY_837,
    TERTIARY_837,
    lopez_claim,
)

TODAY = date(2025, 6, 1)


def posting_of(path: Path, claim: Claim) -> dict[str, Any]:
    [event] = [
        e for e in post_835(path.read_bytes(), source_file=path.name, lookup=lambda _: claim)
        if isinstance(e, ClaimPosted)
    ]  # fmt: skip
    return dict(event.posting)


def build(claim: Claim) -> list[str]:
    out = io.StringIO()
    env = Envelope(sender_id="RIVERBEND01", receiver_id="BRIDGEPT", interchange_control=812,
                   group_control=812, batch_id="B1", submitter_name="RIVERBEND",
                   receiver_name="BRIDGEPOINT EDI")  # fmt: skip
    write_837(out, "professional", [claim], env)
    return [s.strip() for s in out.getvalue().split("~") if s.strip()]


def cob_part(segments: list[str]) -> list[str]:
    """From the first 2320 SBR (after CLM) to the end of the claim, without envelope trailers
    and the line segments that are not COB."""
    start = next(n for n, s in enumerate(segments) if s.startswith("CLM*"))
    body = segments[start:]
    body = [s for s in body if s.split("*")[0] in ("SBR", "CAS", "AMT", "OI", "NM1", "SVD",
                                                      "DTP", "MOA")]  # fmt: skip
    return [s for s in body if not s.startswith(("NM1*82", "DTP*472"))]


@pytest.fixture
def base() -> Claim:
    return Claim.model_validate(lopez_claim())


def test_the_claim_record_with_two_next_payers_passes_the_checks(base: Claim) -> None:
    assert check_claim(base, today=TODAY) == []
    assert [c.sequence for c in coverages(base)] == ["P", "S", "T"]


def test_secondary_claim_carries_the_primary_835_figures_as_the_guide_shows(base: Claim) -> None:
    primary = posting_of(PRIMARY_835, base)
    secondary = leg_claim(base, "S", [EarlierAnswer("P", primary)])
    assert secondary.subscriber.sequence == "S" and secondary.payer.id == "LKSBP"
    assert secondary.patient is not None and secondary.patient.relationship == "01"
    assert [n.sequence for n in secondary.next_payers] == ["T"]
    [prairie] = secondary.other_payers
    assert prairie.paid_amount == Decimal("116.00") and prairie.paid_date == date(2025, 4, 18)
    assert prairie.payer_claim_number == "PMH25100048812"
    assert [la.remaining_patient_liability for la in prairie.line_adjudications] == [
        Decimal("30.00"), Decimal("12.50"), Decimal("39.00")
    ]  # fmt: skip
    assert cob_problems(secondary) == []
    ours = build(secondary)
    assert "SBR*S**LK77310******CI" in ours and "PAT*01" in ours
    expected = cob_part([s.strip() for s in SECONDARY_837.read_text().split("~") if s.strip()])
    # the guide's file predates the 2330B REF*F8 the clearinghouses ask for: ours adds it
    got = [s for s in cob_part(ours) if s != "REF*F8*PMH25100048812"]
    assert got == expected[expected.index("SBR*P*18*PMG5520******12") :]


def test_tertiary_claim_has_both_earlier_payers_in_order(base: Claim) -> None:
    primary = posting_of(PRIMARY_835, base)
    secondary_claim = leg_claim(base, "S", [EarlierAnswer("P", primary)])
    secondary = posting_of(SECONDARY_835, secondary_claim)
    assert secondary["patient_responsibility"] == "10.00"
    tertiary = leg_claim(base, "T", [EarlierAnswer("P", primary), EarlierAnswer("S", secondary)])
    assert tertiary.patient is None and tertiary.subscriber.member_id == "IL90817364552"
    assert [o.sequence for o in tertiary.other_payers] == ["P", "S"]
    assert tertiary.next_payers == []
    assert cob_problems(tertiary) == []
    ours = build(tertiary)
    assert "SBR*T*18*******MC" in ours
    expected = cob_part([s.strip() for s in TERTIARY_837.read_text().split("~") if s.strip()])
    got = [s for s in cob_part(ours) if not s.startswith("REF*F8")]
    # Lakeshore's 2320 SBR09 is the filing indicator on file (CI); the guide's file says 12
    expected = [s.replace("SBR*S*01*LK77310******12", "SBR*S*01*LK77310******CI")
                for s in expected]  # fmt: skip
    assert got == expected[expected.index("SBR*P*18*PMG5520******12") :]


def test_a_claim_paid_in_full_with_no_patient_share_goes_no_further(base: Claim) -> None:
    primary = posting_of(PRIMARY_835, base)
    assert nothing_left(primary) is None  # 81.50 left for the patient: it goes on
    full = {**primary, "status": "paid", "patient_responsibility": "0.00"}
    assert "nothing is left for the next payer" in (nothing_left(full) or "")
    denied = {**primary, "status": "denied", "paid": "0.00", "patient_responsibility": "0.00"}
    assert nothing_left(denied) is None  # a denial goes on to the next payer


def test_a_denied_primary_still_goes_on_to_the_next_payer(base: Claim) -> None:
    from gateway.domain.posting import next_action
    from gateway.domain.remittance import ClaimPayment

    denial = ClaimPayment("RFM-25-0417", "4", Decimal(340), Decimal(0), Decimal(0))
    assert next_action(denial, base) == "bill_secondary"
    assert next_action(denial, base.model_copy(update={"next_payers": []})) is None
    denied = {
        "status": "denied", "paid": "0.00", "patient_responsibility": "0.00",
        "payer_claim_number": "PMH-DENIED", "adjustments": [], "remarks": [],
        "payment": {"date": "2025-04-18", "payer_id": "PMH01"},
        "lines": [{"line_id": line.line_id, "procedure": line.procedure, "paid": "0.00",
                   "units": "1", "adjustments": [{"group": "CO", "reason": "50",
                                                  "amount": f"{line.charge:.2f}"}]}
                  for line in base.lines],
    }  # fmt: skip
    secondary = leg_claim(base, "S", [EarlierAnswer("P", denied)])
    [prior] = secondary.other_payers
    assert prior.paid_amount == 0 and cob_problems(secondary) == []
    assert all(la.remaining_patient_liability is None for la in prior.line_adjudications)


def test_a_line_the_earlier_payer_did_not_mention_makes_the_claim_unbalanced(
    base: Claim,
) -> None:
    """Field guide 2, 1.5 rule 5: no 2430 for that line; without a claim-level adjustment to
    explain its charge the claim does not balance, and the leg is held, not sent."""
    primary = posting_of(PRIMARY_835, base)
    primary["lines"] = primary["lines"][:2]  # the 835 says nothing of line 3
    secondary = leg_claim(base, "S", [EarlierAnswer("P", primary)])
    assert [la.line_id for la in secondary.other_payers[0].line_adjudications] == [
        "RFM0417-1", "RFM0417-2"
    ]  # fmt: skip
    problems = cob_problems(secondary)
    assert [p.field for p in problems] == ["other_payers[1].paid_amount"] * 2
    assert "does not balance for PMH01" in problems[0].message
