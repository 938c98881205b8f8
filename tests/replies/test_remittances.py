"""835 posting: balancing, postings, patient balances, and the hard cases of field guide 5."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.claim import Claim
from gateway.replies.remittances import ClaimPosted, PaymentFinished, post_835
from tests.conftest import SAMPLES


def run(data: str | bytes, lookup: Any = None) -> tuple[list[ClaimPosted], list[PaymentFinished]]:
    raw = data.encode() if isinstance(data, str) else data
    claims, ends = [], []
    for event in post_835(raw, source_file="remit.835", lookup=lookup):
        if isinstance(event, ClaimPosted):
            claims.append(event)
        elif isinstance(event, PaymentFinished):
            ends.append(event)
    return claims, ends


@pytest.fixture
def paid(examples: Path) -> str:
    return (examples / "example-835.x12").read_text()


@pytest.fixture
def reversal(examples: Path) -> str:
    return (examples / "example-835-reversal.x12").read_text()


def test_field_guide_payment_is_posted_line_by_line(paid: str) -> None:
    [claim], [end] = run(paid)
    assert end.balanced and end.balance_errors == []
    p = claim.posting
    assert (p["claim_id"], p["payer_claim_number"], p["status"], p["charge"], p["paid"],
            p["patient_responsibility"]) == ("PCN-2025-0001", "ACMCLM0000123", "paid", "175.00",
                                             "90.00", "20.00")  # fmt: skip
    assert [(line["line_id"], line["charge"], line["paid"], line["allowed"]) for line in p["lines"]] == [
        ("LN0001A", "150.00", "80.00", "100.00"), ("LN0001B", "25.00", "10.00", "10.00"),
    ]  # fmt: skip
    assert p["lines"][0]["adjustments"] == [
        {"group": "CO", "reason": "45", "amount": "50.00",
         "text": "Charge exceeds fee schedule or maximum allowable, or contracted/legislated fee arrangement"},
        {"group": "PR", "reason": "1", "amount": "20.00", "text": "Deductible amount"},
    ]  # fmt: skip
    assert p["payment"] == {"trace_number": "12345678901", "method": "ACH", "amount": "90.00",
                            "date": "2025-03-20", "payer_id": "ACMEH", "payer_name": "ACME HEALTH PLAN"}  # fmt: skip
    b = claim.balance
    assert b is not None
    assert (b["billed"], b["insurer_paid"], b["contractual_adjustment"], b["patient_owes"]) == (
        "175.00",
        "90.00",
        "65.00",
        "20.00",
    )
    assert b["breakdown"] == {"deductible": "20.00", "coinsurance": "0.00", "copay": "0.00",
                              "noncovered": "0.00", "other": "0.00"}  # fmt: skip
    assert b["next_action"] == "bill_patient"
    assert b["remittance"] == {"trace_number": "12345678901", "date": "2025-03-20"}


def test_worked_example_with_reversal_correction_and_plb(reversal: str) -> None:
    claims, [end] = run(reversal)
    assert end.balanced
    assert [(c.posting["claim_id"], c.posting["status"], c.posting["paid"]) for c in claims] == [
        ("PCN-2025-0001", "reversed", "-90.00"), ("PCN-2025-0001", "paid", "100.00"),
        ("PCN-2025-0002", "paid", "60.00"),
    ]  # fmt: skip
    back, corrected, copay = (c.balance for c in claims)
    assert back is not None and corrected is not None and copay is not None
    assert (back["next_action"], back["patient_owes"], back["breakdown"]["deductible"]) == (
        "reverse_previous",
        "-20.00",
        "-20.00",
    )
    assert (corrected["next_action"], corrected["patient_owes"]) == ("bill_patient", "20.00")
    assert copay["breakdown"] | {} == {"deductible": "0.00", "coinsurance": "15.00", "copay": "25.00",
                                       "noncovered": "0.00", "other": "0.00"}  # fmt: skip
    summary = end.summary()
    assert summary["provider_adjustments"] == [
        {"provider_id": "1234567893", "fiscal_period_end": "2025-12-31", "reason": "L6",
         "reference": "PCN-2025-0002", "amount": "-1.25"},
        {"provider_id": "1234567893", "fiscal_period_end": "2025-12-31", "reason": "WO",
         "reference": "ACMCLM0000099", "amount": "30.00"},
    ]  # fmt: skip
    assert (summary["claims_paid"], summary["payment"]["amount"]) == ("70.00", "41.25")
    assert claims[2].posting["lines"][0]["remarks"] == [
        {"code": "N130", "text": "Consult plan benefit documents or guidelines for information about restrictions for this service"}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "rule", "message"),
    [
        ("SVC*HC:99213*150*80**1", "SVC*HC:99213*150*85**1", "line",
         "claim PCN-2025-0001 line 1: charge 150 - adjustments 70 = 80, but the line pays 85 (off by 5)"),
        ("CLP*PCN-2025-0001*1*175*90*", "CLP*PCN-2025-0001*1*175*95*", "claim",
         "claim PCN-2025-0001: charge 175 - claim adjustments 0 - line adjustments 85 = 90, but the claim pays 95 (off by 5)"),
        ("BPR*I*90*", "BPR*I*95.5*", "transaction",
         "transaction 0001: claims pay 90 - provider adjustments 0 = 90, but BPR02 says 95.5 (off by 5.5)"),
    ],
)  # fmt: skip
def test_unbalanced_is_reported_exactly_and_never_fixed(
    paid: str, old: str, new: str, rule: str, message: str
) -> None:
    claims, [end] = run(paid.replace(old, new))
    assert not end.balanced
    assert [(e.rule, e.message) for e in end.balance_errors][:1] == [(rule, message)]
    error = end.balance_errors[0]
    assert error.difference == error.actual - error.expected  # type: ignore[operator]
    assert claims[0].posting["paid"] in ("90.00", "95.00")  # amounts kept as sent


def test_clp05_mismatch_is_a_warning_not_an_imbalance(paid: str) -> None:
    _, [end] = run(paid.replace("*175*90*20*", "*175*90*25*"))
    assert end.balanced
    assert [w.message for w in end.warnings] == [
        "claim PCN-2025-0001: CLP05 says the patient owes 25 but its PR adjustments add up to 20; the PR adjustments are used"
    ]


def test_segments_in_another_allowed_order_give_the_same_result(paid: str) -> None:
    shuffled = paid.replace(
        "SVC*HC:99213*150*80**1~\nDTM*472*20250303~\nCAS*CO*45*50~\nCAS*PR*1*20~\nREF*6R*LN0001A~\nAMT*B6*100~",
        "SVC*HC:99213*150*80**1~\nDTM*472*20250303~\nCAS*PR*1*20~\nCAS*CO*45*50~\nREF*6R*LN0001A~\nAMT*B6*100~",
    )
    assert shuffled != paid
    [a], _ = run(paid)
    [b], _ = run(shuffled)
    assert a.posting["lines"][0]["paid"] == b.posting["lines"][0]["paid"]
    assert {x["reason"] for x in b.posting["lines"][0]["adjustments"]} == {"45", "1"}
    assert a.balance == b.balance


def test_crlf_and_several_interchanges(paid: str, reversal: str) -> None:
    both = (paid + reversal).replace("~\n", "~\r\n")
    claims, ends = run(both)
    assert len(claims) == 4 and [e.balanced for e in ends] == [True, True]
    assert {c.posting["payment"]["trace_number"] for c in claims} == {"12345678901", "12345679999"}


def test_denials_forwarding_and_unknown_codes(paid: str) -> None:
    denied = paid.replace("*175*90*20*12*", "*175*0*0*12*").replace(
        "SVC*HC:99213*150*80**1~\nDTM*472*20250303~\nCAS*CO*45*50~\nCAS*PR*1*20~",
        "SVC*HC:99213*150*0**1~\nDTM*472*20250303~\nCAS*CO*197*150~",
    ).replace("SVC*HC:36415*25*10**1~\nDTM*472*20250303~\nCAS*CO*45*15~",
              "SVC*HC:36415*25*0**1~\nDTM*472*20250303~\nCAS*CO*ZZ9*25~").replace("BPR*I*90*", "BPR*I*0*")  # fmt: skip
    [claim], [end] = run(denied)
    assert end.balanced
    assert claim.posting["status"] == "denied" and claim.balance is None
    assert claim.posting["lines"][1]["adjustments"][0]["text"] == (
        "unknown adjustment reason code ZZ9 (not in our table)"
    )
    not_found = paid.replace("CLP*PCN-2025-0001*1*", "CLP*PCN-2025-0001*4*")
    [claim], _ = run(not_found)
    assert claim.posting["status"] == "denied" and claim.balance is None
    forwarded = paid.replace("CLP*PCN-2025-0001*1*", "CLP*PCN-2025-0001*19*")
    [claim], _ = run(forwarded)
    assert claim.balance is not None and claim.balance["next_action"] == "await_next_payer"
    crossover = paid.replace("NM1*82*", "NM1*TT*2*MEDIGAP PLUS*****PI*MG1~\nNM1*82*")
    [claim], _ = run(crossover)
    assert claim.balance is not None
    assert (claim.balance["next_action"], claim.balance["next_payer"]) == (
        "await_next_payer",
        {"id": "MG1", "name": "MEDIGAP PLUS", "member_id": None},
    )
    odd = paid.replace("CLP*PCN-2025-0001*1*", "CLP*PCN-2025-0001*99*")
    [claim], _ = run(odd)
    assert claim.posting["status_text"] == "unknown claim status code 99"


def _submitted(**changes: Any) -> Claim:
    record = json.loads((SAMPLES / "professional.json").read_text())[0]
    record.update(changes)
    return Claim.model_validate(record)


def test_secondary_on_file_and_unmatched_claims(paid: str) -> None:
    secondary = _submitted(next_payers=[{"payer": {"id": "SEC1", "name": "SECOND PLAN"},
                                         "member_id": "S-778"}])  # fmt: skip
    [claim], _ = run(paid, lookup=lambda claim_id: secondary)
    assert claim.posting["matched"] is True
    assert claim.balance is not None
    assert claim.balance["next_action"] == "bill_secondary"
    assert claim.balance["next_payer"] == {
        "id": "SEC1",
        "name": "SECOND PLAN",
        "member_id": "S-778",
    }
    assert claim.balance["patient"] == {"first_name": "Jane", "last_name": "Doe",
                                        "birth_date": "1980-05-14", "member_id": "XYZ123456789"}  # fmt: skip
    [claim], [end] = run(paid, lookup=lambda claim_id: None)
    assert claim.posting["matched"] is False  # held as unmatched with its money
    assert claim.posting["paid"] == "90.00" and end.balanced


def test_lines_without_ref_6r_match_by_procedure_date_and_charge(paid: str) -> None:
    bare = paid.replace("REF*6R*LN0001A~\n", "").replace("REF*6R*LN0001B~\n", "")
    [claim], _ = run(bare, lookup=lambda claim_id: _submitted())
    assert [line["line_id"] for line in claim.posting["lines"]] == ["LN0001A", "LN0001B"]
    [claim], _ = run(bare)
    assert [line["matched"] for line in claim.posting["lines"]] == [False, False]


def test_split_claim_gives_two_postings_with_their_own_ids(paid: str) -> None:
    clp = paid[paid.index("CLP*") : paid.index("SE*")]
    split = paid.replace(clp, clp + clp.replace("ACMCLM0000123", "ACMCLM0000124")).replace(
        "BPR*I*90*", "BPR*I*180*"
    )
    claims, [end] = run(split)
    assert end.balanced
    assert [c.posting["claim_id"] for c in claims] == ["PCN-2025-0001", "PCN-2025-0001"]
    assert len({c.posting["id"] for c in claims}) == 2


def test_record_ids_are_stable_across_reads_and_envelopes(paid: str) -> None:
    [a], _ = run(paid)
    [b], _ = run(paid.replace("000000701", "000000999"))
    [c], _ = run(paid.replace("TRN*1*12345678901*", "TRN*1*99999999999*"))
    assert a.posting["id"] == b.posting["id"] and a.balance["id"] == b.balance["id"]  # type: ignore[index]
    assert a.posting["id"] != c.posting["id"]


def _big_835(path: Path, paid: str, n: int) -> None:
    head, clp = paid[: paid.index("LX*1")], paid[paid.index("LX*1") : paid.index("SE*")]
    body = clp.replace("LX*1~\n", "")
    with path.open("w") as f:
        f.write(head.replace("BPR*I*90*", f"BPR*I*{90 * n}*") + "LX*1~\n")
        for i in range(n):
            f.write(body.replace("PCN-2025-0001", f"PCN-{i}"))
        segments = 1 + head[head.index("ST*") :].count("~") + body.count("~") * n + 1
        f.write(f"SE*{segments}*0001~\nGE*1*701~\nIEA*1*000000701~\n")


def _peak(path: Path, n: int) -> int:
    tracemalloc.start()
    count = 0
    for event in post_835(path, source_file=path.name):
        if isinstance(event, ClaimPosted):
            count += 1
        elif isinstance(event, PaymentFinished):
            assert event.balanced, event.balance_errors[:2]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == n
    return peak


def test_a_large_835_streams_in_flat_memory(tmp_path: Path, paid: str) -> None:
    small, large = tmp_path / "small.835", tmp_path / "large.835"
    _big_835(small, paid, 4_000)
    _big_835(large, paid, 12_000)
    assert large.stat().st_size > 3 * 2**20
    small_peak, large_peak = _peak(small, 4_000), _peak(large, 12_000)
    assert large_peak < 1.25 * small_peak  # 3x the claims, the same memory
    assert large_peak < large.stat().st_size  # never the whole file
