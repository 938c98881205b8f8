"""271 answers in plain words: the benefits record of the field guide's examples field by field,
a dependent, an inactive coverage, an AAA refusal, partial answers, unknown codes kept raw."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from gateway.domain import benefit_codes as bc
from gateway.domain.adjustment_codes import code_table
from gateway.domain.benefits import benefits_record, refusal_record
from gateway.domain.eligibility_answer import (
    BenefitRow,
    EligibilityAnswer,
    Member,
    Name,
    RequestRejection,
)
from gateway.transactions.eligibility_271 import read_271

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "tests" / "data" / "x12-examples"
MAPS = REPO / "gateway" / "transactions" / "pyx12_maps"


def records(name: str, requests: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    [response] = read_271(EXAMPLES / name)
    return [
        benefits_record(a, (requests or {}).get(a.trace), record_id=f"id-{a.trace}",
                        source_file=name)
        for a in response.answers
    ]  # fmt: skip


def pick(record: dict[str, Any], kind: str, **match: Any) -> list[dict[str, Any]]:
    return [
        b for b in record["benefits"]
        if b["kind"] == kind and all(b[k] == v for k, v in match.items())
    ]  # fmt: skip


def test_the_guides_271_for_maria_reads_as_the_guide_says() -> None:
    maria, _ = records("elig-271.x12")
    assert (maria["id"], maria["request_id"], maria["source_file"]) == (
        "id-RFE0609-0001", "RFE0609-0001", "elig-271.x12")  # fmt: skip
    assert maria["payer"] == {"id": "PMH01", "name": "PRAIRIE MUTUAL HEALTH"}
    assert maria["provider"] == {"npi": "1457394629", "name": "RIVERBEND FAMILY MEDICINE"}
    assert maria["subscriber"]["member_id"] == "PMH884210337"
    assert maria["subscriber"]["birth_date"] == "1979-09-15"
    assert maria["patient"] is None
    assert (maria["active"], maria["status"], maria["errors"]) == (True, "active", [])
    plan = maria["plan"]
    assert (plan["name"], plan["group_number"], plan["begin"]) == (
        "PRAIRIE GOLD PPO 2000", "PMG5520", "2025-01-01")  # fmt: skip
    assert (plan["insurance_type_text"], plan["coverage_level_text"]) == (
        "preferred provider organization (PPO)", "family")  # fmt: skip
    assert maria["summary"] == (
        "MARIA LOPEZ is covered by PRAIRIE MUTUAL HEALTH, plan PRAIRIE GOLD PPO 2000, "
        "since 2025-01-01"
    )
    # deductible: 2,000 per calendar year in network, 1,450 still to meet; family 4,000; 4,000 out
    [ded] = pick(maria, "C", coverage_level="IND", in_network=True, period="23")
    assert (ded["amount"], ded["period_text"], ded["remaining"]) == (
        "2000.00",
        "per calendar year",
        None,
    )
    [left] = pick(maria, "C", coverage_level="IND", in_network=True, period="29")
    assert (left["amount"], left["remaining"]) == (None, "1450.00")
    assert left["text"] == (
        "Deductible, individual, in network (health benefit plan coverage): 1,450.00 remaining"
    )
    [family] = pick(maria, "C", coverage_level="FAM")
    assert (family["amount"], family["coverage_level_text"]) == ("4000.00", "family")
    [outside] = pick(maria, "C", in_network=False)
    assert (outside["amount"], outside["network"]) == ("4000.00", "out of network")
    # out of pocket 6,000, 5,210.75 left
    oop = pick(maria, "G")
    assert [(b["amount"], b["remaining"]) for b in oop] == [("6000.00", None), (None, "5210.75")]
    assert oop[0]["kind_text"] == "out-of-pocket maximum (stop loss)"
    # coinsurance 20% in, 40% out
    assert [(b["percent"], b["in_network"]) for b in pick(maria, "A")] == [
        ("20", True),
        ("40", False),
    ]
    # copays: office visit 30 (not subject to the deductible), urgent care 75, emergency 250
    [office] = pick(maria, "B", service_type="98")
    assert (office["amount"], office["period_text"], office["message"]) == (
        "30.00", "per visit", "COPAY NOT SUBJECT TO DEDUCTIBLE")  # fmt: skip
    assert office["service_type_text"] == "professional (physician) visit, office"
    [urgent] = pick(maria, "B", service_type="UC")
    assert (urgent["amount"], urgent["service_type_text"]) == ("75.00", "urgent care")
    [emergency] = pick(maria, "B", service_type="86")
    assert (emergency["amount"], emergency["in_network"], emergency["network"]) == (
        "250.00", None, "in and out of network")  # fmt: skip
    assert len(maria["benefits"]) == 12  # every EB row, none dropped


def test_the_dependents_coverage_ended() -> None:
    _, emma = records("elig-271.x12")
    assert emma["request_id"] == "RFE0609-0002"
    assert (emma["active"], emma["status"]) == (False, "inactive")
    assert emma["patient"]["first_name"] == "EMMA"
    assert (emma["patient"]["relationship"], emma["patient"]["relationship_text"]) == (
        "19",
        "child",
    )
    assert emma["subscriber"]["member_id"] == "PMH771045220"
    assert (emma["plan"]["begin"], emma["plan"]["end"]) == ("2023-01-01", "2025-04-30")
    [row] = emma["benefits"]
    assert (row["kind_text"], row["message"]) == ("inactive", "COVERAGE TERMINATED 04/30/2025")
    assert emma["summary"] == (
        "EMMA WARD is NOT covered by PRAIRIE MUTUAL HEALTH: coverage ended 2025-04-30; do not "
        "schedule as covered, ask for current insurance"
    )


def test_an_aaa_says_what_went_wrong_and_what_to_do() -> None:
    [linh] = records("elig-271-aaa.x12")
    assert (linh["active"], linh["status"], linh["benefits"]) == (False, "rejected", [])
    [error] = linh["errors"]
    assert error["code"] == "72"
    assert error["text"] == "invalid or missing subscriber/insured ID"
    assert (
        error["action"] == "check the member ID on the card and send again (correct and resubmit)"
    )
    assert (error["follow_up"], error["valid_request"], error["level"]) == ("C", True, "subscriber")
    assert "could not answer about LINH NGUYEN" in linh["summary"]


def test_what_was_asked_not_answered_and_corrected() -> None:
    request = {
        "request_id": "RFE0609-0001", "service_date": "2025-06-10",
        "service_types": ["30", "98", "AL"],
        "subscriber": {"member_id": "PMH884210337", "first_name": "Mariah", "last_name": "Lopez",
                       "birth_date": "1979-09-15"},
    }  # fmt: skip
    maria, _ = records("elig-271.x12", {"RFE0609-0001": request})
    assert maria["service_types"] == ["30", "98", "AL"]
    assert maria["not_answered"] == ["AL"]  # a partial answer: no vision row
    assert maria["corrections"] == [
        {"field": "subscriber.first_name", "sent": "Mariah", "payer_says": "MARIA"}
    ]
    assert maria["service_date"] == "2025-06-10"


def _answer(
    *rows: BenefitRow, rejections: list[RequestRejection] | None = None
) -> EligibilityAnswer:
    return EligibilityAnswer(
        trace="R-1", position=1, payer=Name("PR", "ACME", id="A1"), provider=None,
        subscriber=Member(Name("IL", "DOE", "JANE", id="M1")), benefits=list(rows),
        rejections=rejections or [],
    )  # fmt: skip


def test_unknown_codes_are_shown_raw_never_dropped() -> None:
    row = BenefitRow(
        position=5,
        kind="Z9",
        coverage_level="XYZ",
        service_types=["Q7"],
        insurance_type="ZZ",
        period="99",
        quantity_qualifier="QQ",
        network="Q",
    )
    reject = RequestRejection("Y", "ZZ", "Q", "payer", 3)
    record = benefits_record(_answer(row, rejections=[reject]), None, record_id="x",
                             source_file="f")  # fmt: skip
    [b] = record["benefits"]
    assert b["kind_text"] == "unknown benefit kind code Z9"
    assert b["service_type_text"] == "unknown service type code Q7"
    assert b["coverage_level_text"] == "unknown coverage level code XYZ"
    assert b["insurance_type_text"] == "unknown insurance type code ZZ"
    assert b["period_text"] == "unknown time period code 99"
    assert b["quantity"]["qualifier_text"] == "unknown quantity code QQ"
    assert b["network"] == "unknown network code Q" and b["in_network"] is None
    [e] = record["errors"]
    assert (e["code"], e["text"]) == ("ZZ", "unknown reject reason code ZZ")
    assert e["action"].startswith("call the payer and quote this code")
    assert "unknown follow-up action code Q" in e["action"]


def test_a_row_for_several_service_types_is_a_benefit_for_each() -> None:
    row = BenefitRow(position=5, kind="1", service_types=["1", "33", "35"])
    record = benefits_record(_answer(row), None, record_id="x", source_file="f")
    assert [b["service_type"] for b in record["benefits"]] == ["1", "33", "35"]
    assert [b["service_type_text"] for b in record["benefits"]] == [
        "medical care", "chiropractic", "dental care"]  # fmt: skip
    assert record["active"] is True


def test_a_coinsurance_that_looks_like_the_plans_share_is_flagged() -> None:
    from decimal import Decimal

    row = BenefitRow(position=5, kind="A", service_types=["30"], percent=Decimal("0.8"))
    [b] = benefits_record(_answer(row), None, record_id="x", source_file="f")["benefits"]
    assert b["percent"] == "80" and "unusual" in b["warning"]


def test_a_refusal_record_names_the_request_and_the_reason() -> None:
    request = {"request_id": "R-9", "payer": {"id": "A1", "name": "ACME"},
               "provider": {"npi": "1234567893", "name": "CLINIC"},
               "subscriber": {"member_id": "M9", "first_name": "Al", "last_name": "Kim"},
               "service_types": ["35"]}  # fmt: skip
    errors = [{"code": "TA1-006", "text": "invalid interchange sender ID", "action": "fix it"}]
    record = refusal_record(request, errors, record_id="r", source_file="ta1.x12")
    assert (record["request_id"], record["status"], record["active"]) == ("R-9", "rejected", False)
    assert record["errors"] == errors and record["service_types"] == ["35"]
    assert (
        record["summary"]
        == "ACME could not answer about Al Kim: invalid interchange sender ID; fix it"
    )


def _codes(map_file: str, element: str) -> set[str]:
    """Every code the map allows for ``element``, at every level it appears."""
    root = ET.parse(MAPS / map_file).getroot()
    found = [el for el in root.iter("element") if el.get("xid") == element]
    assert found, f"{element} not in {map_file}"
    return {c.text or "" for el in found for c in el.iter("code")}


@pytest.mark.parametrize(
    ("element", "table"),
    [("EB01", bc.KINDS), ("EB02", bc.COVERAGE_LEVELS), ("EB04", bc.INSURANCE_TYPES),
     ("EB06", bc.TIME_PERIODS), ("EB09", bc.QUANTITY_QUALIFIERS), ("EB12", bc.NETWORKS),
     ("AAA04", bc.FOLLOW_UPS), ("AAA03", bc.REJECT_REASONS)],
)  # fmt: skip
def test_every_code_the_271_guide_allows_has_plain_words(
    element: str, table: dict[str, Any]
) -> None:
    allowed = _codes("271.5010.X279.A1.xml", element)
    assert allowed - set(table) == set()


def test_every_service_type_the_guide_allows_has_a_name() -> None:
    allowed = _codes("271.5010.X279.A1.xml", "EB03")
    assert len(allowed) == 187
    assert set(code_table("service_types")) == allowed
    assert _codes("270.5010.X279.A1.xml", "EQ01") == allowed
