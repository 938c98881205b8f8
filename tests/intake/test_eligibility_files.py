"""Eligibility request files: JSON, JSON Lines, CSV through the shipped mapping; every problem
names the file, the request and the field, and the good requests of a mixed file are kept."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from gateway.intake.eligibility_files import describe, read_request_file
from gateway.intake.mappings import load_mappings
from tests.conftest import REPO

TODAY = date(2025, 6, 9)


def request(request_id: str, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "request_id": request_id,
        "payer": {"id": "87726", "name": "Acme Health"},
        "provider": {"npi": "1234567893", "name": "Main Street Clinic"},
        "subscriber": {"member_id": "M123", "first_name": "Jane", "last_name": "Doe",
                       "birth_date": "1980-05-14"},
    }  # fmt: skip
    base.update(changes)
    return base


def test_a_json_list_keeps_its_good_requests_and_names_the_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "front-desk.json"
    bad = request("R-2", provider={"npi": "1234567890", "name": "X"})
    path.write_text(json.dumps([request("R-1"), bad, request("R-1"), "hello"]))
    result = read_request_file(path, today=TODAY)
    assert [r.request_id for r in result.requests] == ["R-1"]
    assert [describe(p) for p in result.problems] == [
        "front-desk.json: request R-2: provider.npi: NPI 1234567890 fails the check digit (the "
        "last digit should be 3)",
        "front-desk.json: request R-1: request_id: appears twice in this file",
        "front-desk.json: request #4: is not a request object (got str)",
    ]
    assert result.rejected == 3


def test_json_lines_one_request_a_line(tmp_path: Path) -> None:
    path = tmp_path / "today.jsonl"
    path.write_text(json.dumps(request("R-1")) + "\n\n{not json\n" + json.dumps(request("R-3")))
    result = read_request_file(path, today=TODAY)
    assert [r.request_id for r in result.requests] == ["R-1", "R-3"]
    assert [describe(p) for p in result.problems] == [
        "today.jsonl: line 3 is not valid JSON: Expecting property name enclosed in double "
        "quotes at line 1, column 2"
    ]


def test_a_csv_goes_through_the_shipped_eligibility_mapping(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text(
        "request_id,payer_id,payer_name,provider_npi,provider_name,member_id,"
        "subscriber_first_name,subscriber_last_name,subscriber_dob,subscriber_sex,group_number,"
        "patient_first_name,patient_last_name,patient_dob,patient_relationship,visit_date,"
        "service_types\n"
        "V-1,87726,Acme Health,1234567893,Main Street Clinic,M1,Jane,Doe,05/14/1980,Female,G1,"
        ",,,,06/10/2025,30;98\n"
        "V-2,87726,Acme Health,1234567893,Main Street Clinic,M2,John,Roe,01/02/1975,M,,"
        "Bo,Roe,03/04/2015,19,06/10/2025,35\n"
        "V-3,87726,Acme Health,1234567893,Main Street Clinic,M3,Al,Kim,,M,,,,,,06/10/2025,30\n"
    )
    mappings = load_mappings(REPO / "mappings")
    result = read_request_file(path, today=TODAY, mappings=mappings)
    first, second = result.requests
    assert (first.request_id, first.subscriber.sex, first.service_types) == (
        "V-1",
        "F",
        ["30", "98"],
    )
    assert first.subscriber.birth_date == date(1980, 5, 14) and first.patient is None
    assert second.patient is not None and second.patient.relationship == "19"
    assert second.service_date == date(2025, 6, 10)
    assert [describe(p) for p in result.problems] == [
        "visits.csv: request V-3: subscriber.birth_date: is required: the payer finds the member "
        "by ID, name and birth date"
    ]


def test_the_claim_csv_mapping_does_not_take_eligibility_files(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("request_id\nV-1\n")
    mappings = [m for m in load_mappings(REPO / "mappings") if m.record == "claim"]
    result = read_request_file(path, today=TODAY, mappings=mappings)
    assert [describe(p) for p in result.problems] == [
        'visits.csv: no mapping in mappings/ with record = "eligibility" takes this CSV file '
        "(add one, like the shipped eligibility-csv.toml)"
    ]


def test_an_empty_or_binary_file_is_refused_in_a_sentence(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert [describe(p) for p in read_request_file(empty).problems] == [
        "empty.json: holds no eligibility requests"
    ]
    binary = tmp_path / "photo.json"
    binary.write_bytes(b"\xff\xd8\xff\xe0")
    [problem] = read_request_file(binary).problems
    assert "is not UTF-8 text (byte 0)" in describe(problem)
