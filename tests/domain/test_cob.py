"""The COB balancing rules and clearinghouse edits, one by one (Decimal, to the cent), and the
intake checks of ``next_payers``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from gateway.domain.claim import Claim, LineAdjudication, OtherPayer
from gateway.domain.claim_checks import check_claim
from gateway.domain.cob import claim_rule, cob_problems, liability_rule, line_rule, paid_rule
from gateway.domain.next_payers import EarlierAnswer, leg_claim
from tests.cob_example import PRIMARY_835, lopez_claim
from tests.domain.test_next_payers import posting_of

TODAY = date(2025, 6, 1)


@pytest.fixture
def secondary() -> Claim:
    base = Claim.model_validate(lopez_claim())
    return leg_claim(base, "S", [EarlierAnswer("P", posting_of(PRIMARY_835, base))])


def changed(claim: Claim, **op_changes: Any) -> tuple[Claim, OtherPayer]:
    op = claim.other_payers[0].model_copy(update=op_changes)
    return claim.model_copy(update={"other_payers": [op]}), op


def line_changed(claim: Claim, n: int, **changes: Any) -> list[LineAdjudication]:
    las = list(claim.other_payers[0].line_adjudications)
    las[n] = las[n].model_copy(update=changes)
    return las


def test_the_guide_example_balances_under_every_rule(secondary: Claim) -> None:
    op = secondary.other_payers[0]
    for rule in (line_rule, claim_rule, paid_rule, liability_rule):
        assert list(rule(secondary, 1, op)) == []
    # the arithmetic itself, as the guide writes it
    assert secondary.line_total == Decimal("340.00")
    assert op.paid_amount + sum(
        (a.amount for la in op.line_adjudications for a in la.adjustments), Decimal(0)
    ) == Decimal("340.00")


def test_rule_1_a_line_that_does_not_balance(secondary: Claim) -> None:
    claim, op = changed(secondary, line_adjudications=line_changed(
        secondary, 0, paid_amount=Decimal("110.01")))  # fmt: skip
    [problem] = line_rule(claim, 1, op)
    assert "line RFM0417-1 does not balance for PMH01" in problem.message
    assert problem.field == "other_payers[1].line_adjudications[1]"


def test_rule_2_the_claim_must_balance(secondary: Claim) -> None:
    claim, op = changed(secondary, paid_amount=Decimal("115.99"))
    [problem] = claim_rule(claim, 1, op)
    assert "charge 340.00 is not paid 115.99" in problem.message


def test_rule_3_line_payments_less_claim_adjustments_are_the_paid_amount(
    secondary: Claim,
) -> None:
    from gateway.domain.claim import Adjustment

    claim, op = changed(secondary, adjustments=[Adjustment(group="PR", reason="1",
                                                           amount=Decimal("1.00"))])  # fmt: skip
    [problem] = paid_rule(claim, 1, op)
    assert "line payments 116.00 less its claim adjustments 1.00" in problem.message
    assert list(claim_rule(claim, 1, op))  # and the claim no longer balances either


def test_rule_4_remaining_liability_at_one_level_only(secondary: Claim) -> None:
    claim, op = changed(secondary, remaining_patient_liability=Decimal("81.50"))
    [problem] = liability_rule(claim, 1, op)
    assert "one level only" in problem.message


def test_edits_claim_number_and_medicare_type(secondary: Claim) -> None:
    claim, _ = changed(secondary, payer_claim_number=None)
    assert [p.field for p in cob_problems(claim)] == ["other_payers[1].payer_claim_number"]
    medicare = secondary.model_copy(update={"subscriber": secondary.subscriber.model_copy(
        update={"filing_indicator": "MB"})})  # fmt: skip
    assert [p.field for p in cob_problems(medicare)] == ["subscriber.insurance_type"]


def _problems(**changes: Any) -> list[tuple[str | None, str]]:
    claim = Claim.model_validate(lopez_claim(**changes))
    return [(p.field, p.message) for p in check_claim(claim, today=TODAY)]


def test_intake_refuses_a_next_payer_equal_to_the_payer() -> None:
    record = lopez_claim()
    record["next_payers"][0]["payer"] = {"id": "PMH01", "name": "PRAIRIE AGAIN"}
    found = _problems(next_payers=record["next_payers"])
    assert found[0][0] == "next_payers[1].payer.id"
    assert "cannot be billed twice" in found[0][1]


def test_intake_refuses_sequences_out_of_order() -> None:
    record = lopez_claim()
    record["next_payers"][0]["sequence"] = "T"
    record["next_payers"][1]["sequence"] = "S"
    fields = [f for f, _ in _problems(next_payers=record["next_payers"])]
    assert fields == ["next_payers[1].sequence", "next_payers[2].sequence"]


def test_intake_refuses_a_next_subscriber_without_birth_date() -> None:
    from pydantic import ValidationError

    from gateway.domain.claim_checks import problems_from_validation_error

    record = lopez_claim()
    del record["next_payers"][0]["subscriber"]["birth_date"]
    with pytest.raises(ValidationError) as caught:
        Claim.model_validate(record)
    [problem] = problems_from_validation_error(caught.value)
    assert problem.field == "next_payers[1].subscriber.birth_date"
    assert problem.message == "is required but missing"


def test_the_old_short_form_keeps_working() -> None:
    short = [{"payer": {"id": "LKSBP", "name": "LAKESHORE"}, "member_id": "LBP1", "sequence": "S"}]
    assert _problems(next_payers=short) == []
    claim = Claim.model_validate(lopez_claim(next_payers=short))
    leg = leg_claim(claim, "S")
    assert leg.subscriber.member_id == "LBP1" and leg.subscriber.first_name == "MARIA"
    assert leg.patient is None and leg.subscriber.sequence == "S"
    assert (
        _problems(next_payers=[{"payer": {"id": "X1", "name": "X"}, "sequence": "S"}])[0][0]
        == "next_payers[1].subscriber"
    )
