"""The simulator answers 270s: from its member table (AAA for members it does not know) and its
own accumulators (the deductible left in a 271 is the one its next 835 applies); every 271 it
writes passes pyx12 with our X279A1 map and reads back as the expected benefits records."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.domain.benefits import benefits_record
from gateway.domain.eligibility import EligibilityRequest
from gateway.transactions.ack_999 import read_999
from gateway.transactions.claim_837 import Envelope
from gateway.transactions.eligibility_270 import write_270
from gateway.transactions.eligibility_271 import read_271
from tests.simulator.sim_helpers import (
    Run,
    assert_balanced,
    assert_valid,
    build_837,
    make_run,
    sample,
)

MEMBERS = {
    "claims": {"unknown_member_prefixes": ["XX"]},
    "eligibility": {"members": [
        {"member_id": "M-OLD", "active": False, "coverage_end": "2025-03-31"},
        {"member_id": "M-KIDS", "birth_date": "1975-01-01",
         "dependents": [{"first_name": "Bo", "birth_date": "2015-03-04"}]},
    ]},
}  # fmt: skip


def ask(request_id: str, member: str, **changes: Any) -> EligibilityRequest:
    raw: dict[str, Any] = {
        "request_id": request_id, "payer": {"id": "ACMEH", "name": "Acme Health Plan"},
        "provider": {"npi": "1234567893", "name": "Main Street Clinic"},
        "subscriber": {"member_id": member, "first_name": "Jane", "last_name": "Doe",
                       "birth_date": "1980-05-14"},
        "service_date": "2025-04-15",
    }  # fmt: skip
    raw.update(changes)
    return EligibilityRequest.model_validate(raw)


def build_270(requests: list[EligibilityRequest], control: int = 201, version: str = "") -> str:
    env = Envelope(sender_id="PRACTICE01", receiver_id="ACMECH", interchange_control=control,
                   group_control=control, batch_id=f"B{control:09d}", submitter_name="CLINIC",
                   receiver_name="ACME", when=datetime(2025, 4, 15, 8, 0))  # fmt: skip
    out = io.StringIO()
    write_270(out, requests, env)
    text = out.getvalue()
    return text.replace("*005010X279A1~", f"*{version}~") if version else text


def answers(run: Run, text: str, name: str) -> dict[str, dict[str, Any]]:
    """Drop a 270, step, and read the 271 back into benefits records by request id."""
    run.drop(text, name)
    report = run.step()
    path = run.one(report, "271")
    assert_valid(path)
    return {
        a.trace: benefits_record(a, None, record_id=a.trace, source_file=path.name)
        for r in read_271(path)
        for a in r.answers
    }


def test_the_member_table_decides_who_is_covered(tmp_path: Path) -> None:
    run = make_run(tmp_path, MEMBERS)
    asked = [
        ask("A-ACTIVE", "M1", service_types=["30", "98", "BZ"]),
        ask("A-UNKNOWN", "XX123"),
        ask("A-ENDED", "M-OLD"),
        ask("A-BORN", "M-KIDS"),  # the table says 1975-01-01, the request 1980-05-14
        ask("A-CHILD", "M-KIDS", patient={"first_name": "Bo", "last_name": "Doe",
                                          "birth_date": "2015-03-04", "relationship": "19"}),
    ]  # fmt: skip
    got = answers(run, build_270(asked), "acme-270-000000201.x12")
    assert list(got) == [r.request_id for r in asked]
    active = got["A-ACTIVE"]
    assert (active["status"], active["plan"]["name"], active["plan"]["group_number"]) == (
        "active", "SIMULATED GOLD PPO", "SIM100")  # fmt: skip
    assert active["plan"]["begin"] == "2025-01-01"
    assert {b["service_type"] for b in active["benefits"] if b["kind"] == "1"} == {"30", "98"}
    [left] = [b for b in active["benefits"] if b["kind"] == "C" and b["remaining"]]
    assert left["remaining"] == "250.00"  # nothing paid yet: the whole deductible
    [coinsurance] = [b for b in active["benefits"] if b["kind"] == "A"]
    assert coinsurance["percent"] == "20"
    unknown = got["A-UNKNOWN"]
    assert (unknown["status"], [e["code"] for e in unknown["errors"]]) == ("rejected", ["75"])
    assert unknown["errors"][0]["level"] == "subscriber"
    ended = got["A-ENDED"]
    assert (ended["status"], ended["plan"]["end"]) == ("inactive", "2025-03-31")
    assert ended["benefits"][0]["message"] == "COVERAGE TERMINATED 03/31/2025"
    assert [e["code"] for e in got["A-BORN"]["errors"]] == ["71"]
    child = got["A-CHILD"]
    assert (child["status"], child["patient"]["first_name"]) == ("active", "BO")


def test_a_dependent_the_payer_does_not_know(tmp_path: Path) -> None:
    run = make_run(tmp_path, MEMBERS)
    cy = ask("A-CY", "M-KIDS", patient={"first_name": "Cy", "last_name": "Doe",
                                        "birth_date": "2016-03-04"})  # fmt: skip
    got = answers(run, build_270([cy]), "acme-270-000000202.x12")
    assert [(e["code"], e["level"]) for e in got["A-CY"]["errors"]] == [("77", "dependent")]
    assert got["A-CY"]["benefits"] == []


def test_the_deductible_left_in_a_271_is_what_the_next_835_applies(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    member = sample(n=0)["subscriber"]  # ACMEH, XYZ123456789
    question = ask("Q-1", member["member_id"])
    before = answers(run, build_270([question], 301), "q1.x12")["Q-1"]
    [left] = [b["remaining"] for b in before["benefits"] if b["kind"] == "C" and b["remaining"]]
    assert left == "250.00"
    run.drop(build_837([sample(n=0)], 401), "837P-000000401.x12")  # 175 billed, 140 allowed
    first = assert_balanced(run.one(run.step(), "835"))
    applied = sum(a.amount for c in first for a in c.claim.all_adjustments()
                  if (a.group, a.reason) == ("PR", "1"))  # fmt: skip
    assert applied == Decimal("140.00")
    after = answers(run, build_270([ask("Q-2", member["member_id"])], 302), "q2.x12")["Q-2"]
    [left] = [b["remaining"] for b in after["benefits"] if b["kind"] == "C" and b["remaining"]]
    assert Decimal(left) == Decimal(250) - applied == Decimal("110.00")
    second = sample(n=0, claim_id="PCN-2025-0009")
    run.drop(build_837([second], 402), "837P-000000402.x12")
    paid = assert_balanced(run.one(run.step(), "835"))
    applied = sum(a.amount for c in paid for a in c.claim.all_adjustments()
                  if (a.group, a.reason) == ("PR", "1"))  # fmt: skip
    assert applied == Decimal(left)  # the 835 applied exactly what the 271 said was left
    last = answers(run, build_270([ask("Q-3", member["member_id"])], 303), "q3.x12")["Q-3"]
    assert [b["remaining"] for b in last["benefits"] if b["kind"] == "C" and b["remaining"]] == [
        "0.00"
    ]


def test_dental_frequency_limits_count_what_was_paid(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    claim = sample("dental")  # Sofia, dependent of DD55501234: D0120, D2392, D1110 on 2025-05-06
    sofia = ask("D-1", "DD55501234", payer={"id": "DELTA1", "name": "Delta Dental of Texas"},
                patient={"first_name": "Sofia", "last_name": "Ramirez",
                         "birth_date": "2012-06-30", "relationship": "19"},
                service_date="2025-05-20", service_types=["35", "41"])  # fmt: skip

    def limits(request: EligibilityRequest, control: int) -> dict[tuple[str, str], str]:
        record = answers(run, build_270([request], control), f"d{control}.x12")[request.request_id]
        assert record["plan"]["name"] == "SIMULATED DENTAL PLUS"
        return {(b["procedure"], b["period"]): b["quantity"]["value"]
                for b in record["benefits"] if b["kind"] == "F"}  # fmt: skip

    assert limits(sofia, 501) == {
        ("AD:D0120", "23"): "2", ("AD:D0120", "29"): "2",
        ("AD:D1110", "23"): "2", ("AD:D1110", "29"): "2",
    }  # fmt: skip
    run.drop(build_837([claim], 601), "837D-000000601.x12")
    assert_balanced(run.one(run.step(), "835"))
    again = sofia.model_copy(update={"request_id": "D-2"})
    after = limits(again, 502)
    assert (after[("AD:D1110", "29")], after[("AD:D0120", "29")]) == ("1", "1")
    # the subscriber's own count is his, not his daughter's
    carlos = sofia.model_copy(update={"request_id": "D-3", "patient": None})
    assert limits(carlos, 503)[("AD:D1110", "29")] == "2"


def test_a_270_in_another_version_is_rejected_by_the_999(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    run.drop(build_270([ask("V-1", "M1")], version="004010X092A1"), "old.x12")
    report = run.step()
    assert [name.split("-")[0] for name in report.written] == ["TA1", "999"]
    [group] = read_999(run.one(report, "999"))
    assert (group.functional_id, group.status, group.codes) == ("HS", "R", ["2"])


def test_with_ig_validation_a_270_the_map_refuses_gets_a_999_naming_the_element(
    tmp_path: Path,
) -> None:
    run = make_run(tmp_path, {"clearinghouse": {"ig_validation": True}})
    good = build_270([ask("G-1", "M1")], 701)
    run.drop(good, "good.x12")
    assert [n.split("-")[0] for n in run.step().written] == ["TA1", "999", "271"]
    run.drop(build_270([ask("G-2", "M1")], 702).replace("EQ*30~", "EQ*30^98~"), "bad.x12")
    report = run.step()
    assert [n.split("-")[0] for n in report.written] == ["TA1", "999"]
    [group] = read_999(run.one(report, "999"))
    [rejected] = group.sets
    assert (group.status, rejected.status, rejected.codes) == ("R", "R", ["5"])
    assert [(e.segment_id, e.code) for e in rejected.segment_errors] == [("EQ", "8"), ("EQ", "8")]
    assert {el.code for e in rejected.segment_errors for el in e.elements} == {"5", "7"}
