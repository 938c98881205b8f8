"""270 inquiries: the field guide's example written byte for byte, every 270 we write accepted
by pyx12 with our X279A1 map, and read back into the same requests."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from anyascii import anyascii

from gateway.domain.eligibility import EligibilityRequest
from gateway.transactions.claim_837 import Envelope
from gateway.transactions.eligibility_270 import (
    dependents_last,
    inquiry_files,
    originator_id,
    write_270,
)
from gateway.transactions.eligibility_270_reader import read_270
from gateway.transactions.ig_validation import validate_with_pyx12

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "x12-examples"
PAYER = {"id": "PMH01", "name": "Prairie Mutual Health"}
PROVIDER = {"npi": "1457394629", "name": "Riverbend Family Medicine", "tax_id": "37-6104522"}


def guide_requests() -> list[EligibilityRequest]:
    """The two questions of the field guide's ``elig-270.x12``."""
    return [
        EligibilityRequest.model_validate(r)
        for r in [
            {"request_id": "RFE0609-0001", "payer": PAYER, "provider": PROVIDER,
             "subscriber": {"member_id": "PMH884210337", "first_name": "Maria",
                            "last_name": "Lopez", "birth_date": "1979-09-15", "sex": "F"},
             "service_date": "2025-06-10"},
            {"request_id": "RFE0609-0002", "payer": PAYER, "provider": PROVIDER,
             "subscriber": {"member_id": "PMH771045220", "first_name": "Jonathan",
                            "last_name": "Ward"},
             "patient": {"first_name": "Emma", "last_name": "Ward", "birth_date": "2018-04-11",
                         "sex": "F"},
             "service_date": "2025-06-10", "service_types": ["98"]},
        ]
    ]  # fmt: skip


def envelope(control: int = 819, *, line_breaks: bool = True) -> Envelope:
    return Envelope(
        sender_id="RIVERBEND01", receiver_id="BRIDGEPT", interchange_control=control,
        group_control=control, batch_id="RFE250609-01", submitter_name="RIVERBEND",
        receiver_name="BRIDGEPOINT", ack_requested=False, line_breaks=line_breaks,
        when=datetime(2025, 6, 9, 7, 15),
    )  # fmt: skip


def text_of(requests: list[EligibilityRequest], env: Envelope | None = None) -> str:
    out = io.StringIO()
    write_270(out, requests, env or envelope())
    return out.getvalue()


def test_the_field_guides_270_is_written_byte_for_byte() -> None:
    assert text_of(guide_requests()) == (EXAMPLES / "elig-270.x12").read_text()


def request(n: int, **changes: Any) -> EligibilityRequest:
    base: dict[str, Any] = {
        "request_id": f"REQ-{n:04d}", "payer": {"id": "87726", "name": "Acme Health"},
        "provider": {"npi": "1234567893", "name": "Main Street Clinic"},
        "subscriber": {"member_id": f"M{n:08d}", "first_name": "José", "last_name": "Núñez",
                       "birth_date": "1980-05-14", "sex": "M"},
        "service_date": "2025-06-10",
    }  # fmt: skip
    base.update(changes)
    return EligibilityRequest.model_validate(base)


VARIETY = [
    [request(1)],
    [request(n, service_types=["30", "98", "UC", "86", "35", "41"]) for n in range(1, 40)],
    [request(1, subscriber={"member_id": "M1", "first_name": "Al", "last_name": "Kim",
                            "middle_name": "B", "suffix": "JR", "birth_date": "1970-01-02",
                            "sex": "U", "group_number": "GRP-9",
                            "address": {"line1": "1 Elm St", "line2": "Apt 2", "city": "Austin",
                                        "state": "TX", "zip": "78701"}},
             provider={"npi": "1987654328", "last_name": "Smith", "first_name": "John",
                       "taxonomy": "207Q00000X"}),
     request(2, provider={"npi": "1987654328", "last_name": "Smith", "first_name": "John",
                          "taxonomy": "207Q00000X"},
             patient={"first_name": "Bo", "last_name": "Kim", "birth_date": "2015-03-04",
                         "sex": "M", "relationship": "19",
                         "address": {"line1": "1 Elm St", "city": "Austin", "state": "TX",
                                     "zip": "787011234"}},
             service_types=["35", "23", "41"])],
    [request(3, service_date=None, patient={"first_name": "Ann", "last_name": "Kim",
                                            "birth_date": "1982-03-04", "relationship": "01"})],
]  # fmt: skip


@pytest.mark.parametrize("requests", VARIETY, ids=["one", "many", "mixed", "spouse"])
def test_every_270_we_write_passes_pyx12_and_reads_back_as_its_requests(
    requests: list[EligibilityRequest],
) -> None:
    text = text_of(requests, envelope(line_breaks=False))
    assert validate_with_pyx12(text.encode()) == []
    back = read_270(text.encode())
    assert [i.request["request_id"] for i in back] == [r.request_id for r in requests]
    for inquiry, sent in zip(back, requests, strict=True):
        r = inquiry.request
        assert r["service_types"] == sent.service_types
        assert r.get("service_date") == (sent.service_date and sent.service_date.isoformat())
        assert r["subscriber"]["member_id"] == sent.subscriber.member_id
        assert r["subscriber"]["last_name"] == anyascii(sent.subscriber.last_name).upper()
        assert r["provider"]["npi"] == sent.provider.npi
        assert inquiry.originator == originator_id(sent.provider)
        assert ("patient" in r) == (sent.patient is not None)
        if sent.patient is not None:
            assert r["patient"]["birth_date"] == sent.patient.birth_date.isoformat()
            assert r["patient"].get("relationship") == sent.patient.relationship
        EligibilityRequest.model_validate(r)  # the shape of a request record


def test_names_go_out_in_upper_case_ascii() -> None:
    text = text_of([request(1)], envelope(line_breaks=False))
    assert "NM1*IL*1*NUNEZ*JOSE****MI*M00000001~" in text


def test_the_trace_originator_is_the_ein_or_the_npi() -> None:
    assert originator_id(guide_requests()[0].provider) == "1376104522"
    assert originator_id(request(1).provider) == "9234567893"
    assert len(originator_id(request(1).provider)) == 10  # TRN03 is exactly 10 characters


def test_one_270_asks_one_payer_for_one_provider_about_at_most_one_dependent_last() -> None:
    other_payer = request(2, payer={"id": "99999", "name": "Other"})
    with pytest.raises(ValueError, match="one payer for one provider"):
        text_of([request(1), other_payer])
    child = {"first_name": "Bo", "last_name": "Kim", "birth_date": "2015-03-04"}
    with pytest.raises(ValueError, match="at most one dependent, last"):
        text_of([request(1, patient=child), request(2)])
    with pytest.raises(ValueError, match="at least one"):
        text_of([])


def test_inquiry_files_pack_subscribers_first_and_one_dependent_each() -> None:
    child = {"first_name": "Bo", "last_name": "Kim", "birth_date": "2015-03-04"}
    subs = [request(n) for n in range(5)]
    deps = [request(10 + n, patient=child) for n in range(3)]
    files = inquiry_files([deps[0], *subs, deps[1], deps[2]], limit=3)
    assert [[r.request_id for r in f] for f in files] == [
        ["REQ-0000", "REQ-0001", "REQ-0002"],
        ["REQ-0003", "REQ-0004", "REQ-0010"],
        ["REQ-0011"],
        ["REQ-0012"],
    ]
    for file in files:
        text_of(file)  # each is a 270 the writer accepts
    assert dependents_last([], bool, 3) == []
