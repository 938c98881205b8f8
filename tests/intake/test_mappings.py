"""Mappings: CSV rows and a PMS's own JSON become the same claim records (contract section 5)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from gateway.domain.claim import Claim
from gateway.intake.claim_files import read_claim_file
from gateway.intake.mappings import MappingError, load_mapping, load_mappings
from tests.conftest import REPO, SAMPLES

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = date(2026, 11, 27)


def _expected() -> Claim:
    """The first sample claim, with the fields the fixtures carry."""
    record = json.loads((SAMPLES / "professional.json").read_text())[0]
    record.pop("total_charge")
    record.pop("service_date")
    for line in record["lines"]:
        line["service_date"] = "2025-03-03"
    return Claim.model_validate(record)


@pytest.fixture(scope="module")
def mappings() -> list:  # type: ignore[type-arg]
    return load_mappings(REPO / "mappings")


def test_shipped_mappings_load(mappings: list) -> None:  # type: ignore[type-arg]
    assert [(m.name, m.record) for m in mappings] == [
        ("eligibility-csv", "eligibility"), ("generic-csv", "claim"), ("pms-json", "claim"),
    ]  # fmt: skip


def test_csv_rows_grouped_into_one_claim(mappings: list) -> None:  # type: ignore[type-arg]
    result = read_claim_file(FIXTURES / "visits.csv", today=TODAY, mappings=mappings)
    assert result.problems == []
    [claim] = result.claims
    expected = _expected()
    assert claim.model_dump(exclude={"rendering_provider"}) == expected.model_dump(
        exclude={"rendering_provider"}
    )
    assert claim.rendering_provider == expected.rendering_provider


def test_pms_json_export_with_its_own_field_names(mappings: list) -> None:  # type: ignore[type-arg]
    result = read_claim_file(FIXTURES / "pms-export.json", today=TODAY, mappings=mappings)
    assert result.problems == []
    [claim] = result.claims
    assert claim.model_dump(exclude={"rendering_provider"}) == _expected().model_dump(
        exclude={"rendering_provider"}
    )


def test_transform_errors_name_the_claim_the_field_and_the_column(
    tmp_path: Path,
    mappings: list,  # type: ignore[type-arg]
) -> None:
    text = (FIXTURES / "visits.csv").read_text().replace("05/14/1980", "1980-05-14", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace(",Female,", ",Woman,", 1))
    result = read_claim_file(bad, today=TODAY, mappings=mappings)
    assert result.claims == []
    assert [str(p) for p in result.problems] == [
        "bad.csv: claim PCN-2025-0001: subscriber.birth_date: column subscriber_dob, row 2: '1980-05-14' does not match the date format %m/%d/%Y",
        "bad.csv: claim PCN-2025-0001: subscriber.sex: column subscriber_sex, row 2: 'Woman' is not in the mapping's code table",
    ]


def test_checks_still_apply_after_mapping(tmp_path: Path, mappings: list) -> None:  # type: ignore[type-arg]
    bad = tmp_path / "npi.csv"
    bad.write_text((FIXTURES / "visits.csv").read_text().replace("1234567893", "1234567890"))
    result = read_claim_file(bad, today=TODAY, mappings=mappings)
    assert (
        "billing_provider.npi",
        "NPI 1234567890 fails the check digit (the last digit should be 3) (column billing_npi, row 2)",
    ) in [(p.field, p.message) for p in result.problems]


def test_csv_without_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    shutil.copy(FIXTURES / "visits.csv", path)
    result = read_claim_file(path, today=TODAY, mappings=[])
    assert [p.message for p in result.problems] == [
        "no mapping in mappings/ takes this CSV file (add one: see docs/mappings.md)"
    ]


def test_a_broken_mapping_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('name = "x"\nformat = "csv"\n[fields]\nclaim_id = "id"\n')
    with pytest.raises(MappingError, match="a csv mapping needs a \\[csv\\] table"):
        load_mapping(path)


def _visits(tmp_path: Path, name: str, edit: Callable[[str], str]) -> Path:
    path = tmp_path / name
    path.write_text(edit((FIXTURES / "visits.csv").read_text()))
    return path


def test_every_problem_of_a_claim_at_once_with_its_column_and_row(
    tmp_path: Path,
    mappings: list,  # type: ignore[type-arg]
) -> None:
    """A bad date no longer hides a bad charge; each names its column and row."""
    bad = _visits(tmp_path, "bad.csv", lambda t: t.replace("05/14/1980", "1980-05-14", 1)
                  .replace(",25,,", ",25.001,,", 1))  # fmt: skip
    result = read_claim_file(bad, today=TODAY, mappings=mappings)
    assert result.claims == [] and result.rejected_claims == 1
    assert [str(p) for p in result.problems] == [
        "bad.csv: claim PCN-2025-0001: subscriber.birth_date: column subscriber_dob, row 2: "
        "'1980-05-14' does not match the date format %m/%d/%Y",
        "bad.csv: claim PCN-2025-0001: lines[2].charge: has more than two decimals: 25.001 "
        "(column charge, row 3)",
    ]


def test_a_missing_field_names_the_column_it_maps_from(
    tmp_path: Path,
    mappings: list,  # type: ignore[type-arg]
) -> None:
    bad = _visits(tmp_path, "bad.csv", lambda t: t.replace("XYZ123456789", "", 1))
    result = read_claim_file(bad, today=TODAY, mappings=mappings)
    assert [(p.field, p.message) for p in result.problems] == [
        ("subscriber.member_id", "is required but missing (column member_id, row 2)"),
    ]


def test_a_column_no_rule_reads_is_refused_by_name(
    tmp_path: Path,
    mappings: list,  # type: ignore[type-arg]
) -> None:
    """A misspelt column (here "chrage") must not drop its data silently."""
    bad = _visits(tmp_path, "typo.csv", lambda t: t.replace(",charge,", ",chrage,", 1)
                  .replace("service_date\n", "service_date,notes\n", 1))  # fmt: skip
    result = read_claim_file(bad, today=TODAY, mappings=mappings)
    assert result.claims == []
    [problem] = result.problems
    assert problem.claim is None and problem.file == "typo.csv"
    assert "'chrage', 'notes' are read by no rule of mapping generic-csv" in problem.message
    assert "[csv] ignore" in problem.message


def test_columns_a_mapping_ignores_are_fine(tmp_path: Path) -> None:
    text = (REPO / "mappings" / "generic-csv.toml").read_text()
    (tmp_path / "m.toml").write_text(text.replace('group_by = "claim_id"',
                                                  'group_by = "claim_id"\nignore = ["notes"]'))  # fmt: skip
    path = _visits(tmp_path, "notes.csv",
                   lambda t: t.replace("service_date\n", "service_date,notes\n", 1)
                   .replace("03/03/2025\n", "03/03/2025,called twice\n"))  # fmt: skip
    result = read_claim_file(path, today=TODAY, mappings=load_mappings(tmp_path))
    assert result.problems == [] and len(result.claims) == 1


def test_the_sample_export_next_to_the_mapping_reads_clean(
    mappings: list,  # type: ignore[type-arg]
) -> None:
    result = read_claim_file(REPO / "mappings" / "generic-csv.sample.csv", today=TODAY,
                             mappings=mappings)  # fmt: skip
    assert result.problems == []
    assert [c.claim_id for c in result.claims] == ["PCN-2025-0001", "PCN-2025-0002"]
    assert result.claims[1].patient is not None and result.claims[1].patient.relationship == "19"
