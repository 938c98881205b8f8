"""The eligibility request: what a payer would refuse is said in plain words, field named."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.domain.claim_checks import problems_from_validation_error
from gateway.domain.eligibility import EligibilityRequest, check_request

TODAY = date(2025, 6, 9)


def raw(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "request_id": "REQ-1",
        "payer": {"id": "87726", "name": "Acme Health"},
        "provider": {"npi": "1234567893", "name": "Main Street Clinic"},
        "subscriber": {"member_id": "M123", "first_name": "Jane", "last_name": "Doe",
                       "birth_date": "1980-05-14"},
        "service_date": "2025-06-10",
    }  # fmt: skip
    base.update(changes)
    return base


def problems(**changes: Any) -> list[tuple[str | None, str]]:
    try:
        request = EligibilityRequest.model_validate(raw(**changes))
    except ValidationError as exc:
        found = problems_from_validation_error(exc, record="the eligibility request")
    else:
        found = check_request(request, today=TODAY)
    return [(p.field, p.message) for p in found]


def test_a_good_request_has_no_problem_and_asks_for_plan_coverage_by_default() -> None:
    assert problems() == []
    assert EligibilityRequest.model_validate(raw()).service_types == ["30"]


def test_a_bad_npi_is_named() -> None:
    assert problems(provider={"npi": "1234567890", "name": "X"}) == [
        ("provider.npi", "NPI 1234567890 fails the check digit (the last digit should be 3)")
    ]


def test_the_birth_date_is_required_of_the_person_asked_about() -> None:
    subscriber = {"member_id": "M1", "first_name": "Jane", "last_name": "Doe"}
    assert problems(subscriber=subscriber) == [
        ("subscriber.birth_date",
         "is required: the payer finds the member by ID, name and birth date")
    ]  # fmt: skip
    child = {"first_name": "Bo", "last_name": "Doe"}
    assert problems(subscriber=subscriber, patient=child) == [
        ("patient.birth_date", "is required but missing")
    ]
    # about a dependent, the subscriber's own birth date may be left out
    child["birth_date"] = "2015-01-02"
    assert problems(subscriber=subscriber, patient=child) == []


def test_unknown_fields_are_refused_not_dropped() -> None:
    assert problems(service_typ=["30"]) == [
        ("service_typ", "is not a field of the eligibility request (a typo? unknown fields are "
                        "refused so no data is lost)")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"service_types": ["30", "XX"]}, "service_types[2]", "'XX' is not an X12 service type"),
        ({"service_types": ["30", "30"]}, "service_types[2]", "30 is asked twice"),
        ({"service_types": []}, "service_types", "needs at least one service type"),
        ({"service_date": "2025-07-01"}, "service_date", "after the end of this month"),
        ({"service_date": "2024-01-01"}, "service_date", "more than 12 months ago"),
        ({"request_id": "REQ 1"}, "request_id", "must be 1-30 characters"),
        ({"patient": {"first_name": "Bo", "last_name": "Doe", "birth_date": "2015-01-02",
                      "relationship": "G8"}}, "patient.relationship",
         "not a dependent relationship"),
        ({"patient": {"first_name": "Bo", "last_name": "Doe", "birth_date": "2025-06-20"}},
         "patient.birth_date", "is in the future"),
        ({"provider": {"npi": "1234567893"}}, "provider", "needs name"),
        ({"provider": {"npi": "1234567893", "name": "X", "tax_id": "12-345"}},
         "provider.tax_id", "must be an EIN"),
        ({"subscriber": {"member_id": "M1", "first_name": "J", "last_name": "D",
                         "birth_date": "1980-01-01", "address": {"line1": "1 A St",
                         "city": "Austin", "state": "ZZ", "zip": "787"}}},
         "subscriber.address.state", "'ZZ' is not a US state code"),
        ({"subscriber": {"member_id": "M1", "first_name": "J", "last_name": "D",
                         "birth_date": "14/05/1980"}}, "subscriber.birth_date",
         "must be a date written YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_each_rule_names_its_field(changes: dict[str, Any], field: str, says: str) -> None:
    found = problems(**changes)
    assert any(f == field and says in m for f, m in found), found
