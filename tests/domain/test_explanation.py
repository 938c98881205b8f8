"""The explanation of a claim's money, from payments as the ledger holds them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.domain.explanation import PaymentFacts, explain, procedure_text

RECORD: dict[str, Any] = {
    "claim_id": "C-1", "service_date": "2025-03-03", "patient_paid": "30.00",
    "billing_provider": {"organization_name": "Main Street Clinic"},
    "subscriber": {"first_name": "Jane", "last_name": "Doe"},
    "lines": [{"line_id": "L1", "procedure": "99213", "charge": "150.00"}],
}  # fmt: skip


def _posting(paid: str, pr: str, co: str, *, code: str = "1") -> dict[str, Any]:
    line = {"line_id": "L1", "paid": paid, "allowed": None, "adjustments": [
        {"group": "CO", "reason": "45", "amount": co, "text": "fee schedule"},
        {"group": "PR", "reason": "2", "amount": pr, "text": "Coinsurance amount"},
    ], "remarks": []}  # fmt: skip
    return {"paid": paid, "status": "paid", "payer_claim_number": "ICN1", "adjustments": [],
            "remarks": [], "lines": [line],
            "payment": {"payer_id": "P1", "payer_name": "ACME"}}  # fmt: skip


def _facts(posting: dict[str, Any], state: str, code: str, action: str | None,
           n: int) -> PaymentFacts:  # fmt: skip
    balance = {"next_action": action} if action else None
    return PaymentFacts(posting, balance, state, "P", code, "2025-03-20",
                        datetime(2025, 3, 20, n, tzinfo=UTC))  # fmt: skip


def test_a_reversed_payment_is_history_and_the_patient_gets_a_refund() -> None:
    first = _facts(_posting("90.00", "30.00", "30.00"), "reversed", "1", "bill_patient", 1)
    back = _facts(_posting("-90.00", "-30.00", "-30.00"), "posted", "22", "reverse_previous", 2)
    again = _facts(_posting("110.00", "10.00", "30.00"), "posted", "1", "refund_patient", 3)
    found = explain(RECORD, [first, back, again], state="paid")
    assert found["patient_owes"] == "10.00"
    assert found["breakdown"]["coinsurance"] == "10.00"
    assert found["payers"][0]["paid"] == "110.00"
    assert found["lines"][0]["allowed"] == "120.00" and found["lines"][0]["paid"] == {"P": "110.00"}
    text = " ".join(found["explanation"])
    assert "refund of 20.00" in text and "took back its earlier payment of 90.00" in text
    assert found["lines"][0]["description"] == procedure_text("99213") is not None


def test_what_is_owed_is_not_yet_known_before_the_payers_have_answered() -> None:
    assert explain(RECORD, [], state="submitted")["patient_owes"] is None
    waiting = _facts(_posting("90.00", "30.00", "30.00"), "posted", "1", "bill_secondary", 1)
    found = explain(RECORD, [waiting], state="paid")
    assert found["patient_owes"] is None
    assert "not yet known" in " ".join(found["explanation"])
