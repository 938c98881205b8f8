"""Every pre-submission rule, with the exact sentence a billing office reads."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.codes import npi_check_digit, npi_problem
from gateway.intake.claim_files import check_records, read_claim_file
from tests.conftest import SAMPLES

TODAY = date(2026, 11, 27)


def sample(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{kind}.json").read_text())[0]
    return copy.deepcopy(data)


def problems(record: Any) -> list[tuple[str | None, str]]:
    result = check_records([("#1", record)], source="claims.json", today=TODAY)
    return [(p.field, p.message) for p in result.problems]


def edit(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or with value ... delete) a dotted path; list positions count from 1."""
    parts = path.split(".")
    node: Any = record
    for part in parts[:-1]:
        node = node[int(part) - 1] if part.isdigit() else node[part]
    last = parts[-1]
    if value is ...:
        del node[last]
    elif last.isdigit():
        node[int(last) - 1] = value
    else:
        node[last] = value
    return record


@pytest.mark.parametrize("kind", ["professional", "dental", "institutional"])
def test_samples_are_clean(kind: str) -> None:
    result = read_claim_file(SAMPLES / f"{kind}.json", today=TODAY)
    assert result.problems == []
    assert result.claims


def test_npi_check_digit_is_the_cms_rule() -> None:
    assert npi_check_digit("123456789") == 3
    assert npi_problem("1234567893") is None
    assert npi_problem("1234567890") == (
        "NPI 1234567890 fails the check digit (the last digit should be 3)"
    )
    assert npi_problem("3234567893") == "NPI must start with 1 or 2, got 3234567893"
    assert npi_problem("12345") == "NPI must be 10 digits, got '12345'"


CASES: list[tuple[str, str, Any, str | None, str]] = [
    # (sample, path, value, field, message)
    ("professional", "billing_provider.npi", "1234567890", "billing_provider.npi",
     "NPI 1234567890 fails the check digit (the last digit should be 3)"),
    ("professional", "rendering_provider.npi", "987654328", "rendering_provider.npi",
     "NPI must be 10 digits, got '987654328'"),
    ("professional", "billing_provider.tax_id", "74-123456", "billing_provider.tax_id",
     "must be an EIN of 9 digits (like 741234567 or 74-1234567), got '74-123456'"),
    ("professional", "billing_provider.taxonomy", "207Q0000", "billing_provider.taxonomy",
     "'207Q0000' is not a provider taxonomy code (10 characters ending in X, like 207Q00000X)"),
    ("professional", "diagnoses.2", "1E11", "diagnoses[2]",
     "'1E11' is not an ICD-10-CM code (a letter, a digit, then 1 to 5 letters or digits, "
     "like E11.9)"),
    ("professional", "diagnoses.2", "E11.9", "diagnoses[2]", "'E11.9' is listed twice"),
    ("professional", "diagnoses", [f"E11{n}" for n in range(13)], "diagnoses",
     "a professional claim has at most 12 codes, got 13"),
    ("dental", "diagnoses", ["K0252", "K0251", "K036", "K0381", "Z012"], "diagnoses",
     "a dental claim has at most 4 codes, got 5"),
    ("professional", "diagnoses", [], "diagnoses", "needs at least one ICD-10-CM code"),
    ("professional", "lines.1.procedure", "9921", "lines[1].procedure",
     "'9921' is not a CPT or HCPCS code (like 99213 or J3420)"),
    ("professional", "lines.1.modifiers", ["25", "5"], "lines[1].modifiers[2]",
     "'5' is not a modifier (two letters or digits)"),
    ("professional", "lines.1.modifiers", ["25", "59", "LT", "RT", "76"], "lines[1].modifiers",
     "at most 4 modifiers, got 5"),
    ("dental", "lines.2.procedure", "99213", "lines[2].procedure",
     "'99213' is not a CDT code (D and four digits, like D2392)"),
    ("dental", "lines.2.tooth", "33", "lines[2].tooth",
     "'33' is not a tooth number (1-32 permanent, A-T primary)"),
    ("dental", "lines.2.surfaces", "MOX", "lines[2].surfaces",
     "'MOX' is not a set of tooth surfaces (up to 5 of the letters M O D B L I F, each once)"),
    ("dental", "lines.3.oral_cavity", ["05"], "lines[3].oral_cavity",
     "'05' is not an oral cavity code (00, 01, 02, 09, 10, 20, 30, 40)"),
    ("professional", "place_of_service", "00", "place_of_service",
     "'00' is not a place of service code (two digits, like 11 office)"),
    ("professional", "place_of_service", ..., "place_of_service",
     "is required for a professional claim"),
    ("professional", "subscriber.birth_date", "2025-02-30", "subscriber.birth_date",
     "2025-02-30 is not a real calendar date"),
    ("professional", "subscriber.birth_date", "05/14/1980", "subscriber.birth_date",
     "must be a date written YYYY-MM-DD, got '05/14/1980'"),
    ("professional", "subscriber.birth_date", 19800514, "subscriber.birth_date",
     "must be a date written YYYY-MM-DD, got 19800514"),
    ("professional", "subscriber.birth_date", "2025-04-01", "service_date",
     "2025-03-03 is before the patient's birth date 2025-04-01"),
    ("professional", "service_date", "2027-01-05", "service_date", "2027-01-05 is in the future"),
    ("professional", "subscriber.birth_date", "2027-01-01", "subscriber.birth_date",
     "2027-01-01 is in the future"),
    ("professional", "lines.1.charge", "-5.00", "lines[1].charge",
     "must not be negative, got -5.00"),
    ("professional", "lines.1.charge", "150.005", "lines[1].charge",
     "has more than two decimals: 150.005"),
    ("professional", "lines.1.charge", "12,50", "lines[1].charge",
     "must be an amount like 125.50, got '12,50'"),
    ("professional", "total_charge", "180.00", "total_charge",
     "180.00 does not equal the sum of the line charges 175.00"),
    ("professional", "lines.2.diagnosis_pointers", [1, 3], "lines[2].diagnosis_pointers",
     "pointer 3 points outside the 2 diagnoses (use 1 to 2)"),
    ("professional", "lines.2.diagnosis_pointers", [1, 2, 1, 2, 1], "lines[2].diagnosis_pointers",
     "at most 4 pointers, got 5"),
    ("professional", "billing_provider.address.zip", "78701", "billing_provider.address.zip",
     "must have 9 digits (ZIP+4) here, got '78701'"),
    ("professional", "subscriber.address.zip", "7870", "subscriber.address.zip",
     "must be 5 or 9 digits, got '7870'"),
    ("professional", "subscriber.address.state", "XX", "subscriber.address.state",
     "'XX' is not a US state code"),
    ("professional", "frequency", "7", "payer_claim_number",
     "frequency 7 (replacement) needs the payer's claim number of the original claim"),
    ("professional", "frequency", "8", "payer_claim_number",
     "frequency 8 (void) needs the payer's claim number of the original claim"),
    ("professional", "frequency", "5", "frequency", "must be one of '1', '7' or '8', got '5'"),
    ("professional", "claim_id", "PCN_2025_0001", "claim_id",
     "must be 1-20 characters of A-Z, a-z, 0-9 and '-', got 'PCN_2025_0001'"),
    ("professional", "claim_id", "PCN-2025-0001-EXTRA-LONG", "claim_id",
     "must be 1-20 characters of A-Z, a-z, 0-9 and '-', got 'PCN-2025-0001-EXTRA-LONG'"),
    ("professional", "subscriber.membr_id", "X", "subscriber.membr_id",
     "is not a field of the claim record (a typo? unknown fields are refused so no data is lost)"),
    ("professional", "payer", ..., "payer", "is required but missing"),
    ("professional", "subscriber.sex", "X", "subscriber.sex",
     "must be one of 'F', 'M' or 'U', got 'X'"),
    ("professional", "subscriber.filing_indicator", "XY", "subscriber.filing_indicator",
     "'XY' is not a claim filing indicator code (CI commercial, MB Medicare Part B, MC "
     "Medicaid, ...)"),
    ("professional", "lines", [], "lines", "needs at least one service line"),
    ("professional", "lines.2.line_id", "LN0001A", "lines[2].line_id",
     "'LN0001A' is used by an earlier line of this claim"),
    ("professional", "lines.1.units", 0, "lines[1].units", "must be greater than zero, got 0"),
    ("professional", "lines.1.tooth", "30", "lines[1].tooth", "is only for dental claims"),
    ("institutional", "attending_provider", ..., "attending_provider",
     "is required for an institutional claim"),
    ("institutional", "institutional", ..., "institutional",
     "is required for an institutional claim"),
    ("institutional", "lines.1.revenue_code", "450", "lines[1].revenue_code",
     "'450' is not a revenue code (four digits, like 0450)"),
    ("institutional", "lines.3.revenue_code", ..., "lines[3].revenue_code",
     "is required on an institutional line"),
    ("institutional", "institutional.facility_type", "99", "institutional.facility_type",
     "'99' is not a type of bill (the first two digits, like 13 hospital outpatient)"),
    ("institutional", "institutional.statement_to", "2025-02-27", "institutional.statement_to",
     "statement_to 2025-02-27 is before statement_from 2025-03-01"),
    ("institutional", "place_of_service", "11", "place_of_service",
     "is not used on institutional claims (the type of bill says where)"),
    ("professional", "referring_provider", {"npi": "1234567893", "organization_name": "LAB"},
     "referring_provider.organization_name",
     "must be a person (last_name, first_name) here, not an organization"),
    ("institutional", "billing_provider.organization_name", ...,
     "billing_provider.organization_name",
     "an institutional claim's billing provider must be an organization (organization_name)"),
    ("professional", "referring_provider", {"npi": "1234567893", "last_name": "LEE",
                                            "taxonomy": "207Q00000X"},
     "referring_provider.taxonomy",
     "has no place in this claim's 837 (only billing, rendering and attending providers carry "
     "a taxonomy); leave it out"),
    ("dental", "rendering_provider.taxonomy", ..., "rendering_provider.taxonomy",
     "is required for a dental rendering provider (837D PRV segment)"),
    ("dental", "provider_accepts_assignment", "B", "provider_accepts_assignment",
     "B (clinical lab services only) is not used on dental claims: use A or C"),
    ("professional", "patient_paid", "1.234", "patient_paid", "has more than two decimals: 1.234"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "path", "value", "field", "message"), CASES)
def test_each_rule_says_exactly_what_is_wrong(
    kind: str, path: str, value: Any, field: str | None, message: str
) -> None:
    record = edit(sample(kind), path, value)
    assert (field, message) in problems(record), problems(record)


def test_line_limit_per_kind() -> None:
    record = sample("professional")
    line = record["lines"][0]
    record["lines"] = [dict(line, line_id=f"L{n}") for n in range(51)]
    record.pop("total_charge")
    assert ("lines", "a professional claim has at most 50 lines, this one has 51") in problems(
        record
    )
    inst = sample("institutional")
    line = inst["lines"][0]
    inst["lines"] = [dict(line, line_id=f"L{n}") for n in range(999)]
    assert problems(inst) == []


def test_problems_name_file_and_claim(tmp_path: Path) -> None:
    good = sample("professional")
    bad = edit(sample("professional"), "billing_provider.npi", "1234567890")
    bad["claim_id"] = "BAD-1"
    path = tmp_path / "batch.json"
    path.write_text(json.dumps([good, bad]))
    result = read_claim_file(path, today=TODAY)
    assert [c.claim_id for c in result.claims] == ["PCN-2025-0001"]
    assert [str(p) for p in result.problems] == [
        "batch.json: claim BAD-1: billing_provider.npi: NPI 1234567890 fails the check digit "
        "(the last digit should be 3)"
    ]


def test_duplicate_claim_id_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    line = json.dumps(sample("professional"))
    path.write_text(line + "\n" + line + "\n")
    result = read_claim_file(path, today=TODAY)
    assert len(result.claims) == 1
    assert [(p.claim, p.field, p.message) for p in result.problems] == [
        ("PCN-2025-0001", "claim_id",
         "appears twice in this file (the same claim id is a duplicate)")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.json", '{"claim_id": "X",', "is not valid JSON: Expecting property name enclosed in "
         "double quotes at line 1, column 18"),
        ("b.json", "[]", "holds no claims"),
        ("c.json", '{"charge": NaN}', "is not valid JSON: NaN is not a number"),
        ("d.jsonl", '{"claim_id": "X"}\nnot json\n', "line 2 is not valid JSON: Expecting value at "
         "line 1, column 1"),
    ],
)  # fmt: skip
def test_malformed_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    result = read_claim_file(path, today=TODAY)
    assert message in [p.message for p in result.problems]
    assert all(p.file == name for p in result.problems)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"claim_id": "\xe9"}')
    result = read_claim_file(path, today=TODAY)
    assert [p.message for p in result.problems] == [
        "is not UTF-8 text (byte 14): is it a claim file?"
    ]


def test_amounts_are_decimals_never_floats(tmp_path: Path) -> None:
    record = sample("professional")
    record["lines"][0]["charge"] = 150.1
    record["lines"][1]["charge"] = 24.9
    record["total_charge"] = 175
    path = tmp_path / "f.json"
    path.write_text(json.dumps(record))
    claim = read_claim_file(path, today=TODAY).claims[0]
    from decimal import Decimal

    assert claim.lines[0].charge == Decimal("150.1")
    assert claim.line_total == Decimal("175.0")
