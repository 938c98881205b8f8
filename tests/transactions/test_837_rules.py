"""Our own 837 rules (what pyx12 does not check), each with its exact message and position."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.transactions.claim_837_rules import check_837


def example(examples: Path) -> str:
    return (examples / "example-837p.x12").read_text()


def problems(text: str) -> list[tuple[int | None, str | None, str | None, str]]:
    return [(p.segment_index, p.segment_id, p.field, p.message) for p in check_837(text.encode())]


def test_the_field_guide_example_is_clean(examples: Path) -> None:
    assert check_837((examples / "example-837p.x12").read_bytes()) == []
    assert check_837((examples / "example-837i.x12").read_bytes()) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("CLM*PCN-2025-0001*175*", "CLM*PCN-2025-0001*180*",
         (21, "CLM", "CLM02", "claim total 180 does not equal the sum of its line charges 175")),
        ("CLM*PCN-2025-0001*", "CLM*PCN-2025-0001-TOO-LONG-ID*",
         (21, "CLM", "CLM01", "claim id 'PCN-2025-0001-TOO-LONG-ID' is longer than 20 "
          "characters (payers keep only 20)")),
        ("11:B:1", "11:B:7",
         (21, "CLM", "CLM05-3", "frequency 7 (replacement or void) needs REF*F8 with the payer's "
          "claim number")),
        ("XX*1987654328", "XX*1987654321",
         (23, "NM1", "NM109", "NPI 1987654321 fails the check digit (the last digit should be "
          "8)")),
        ("N4*AUSTIN*TX*787011234", "N4*AUSTIN*TX*78701",
         (12, "N4", "N403", "the billing provider ZIP code must have 9 digits (ZIP+4), got "
          "'78701'")),
        ("HI*ABK:E119", "HI*ABK:E11.9",
         (22, "HI", "HI", "diagnosis code 'E11.9' must be sent without the decimal point")),
        ("LX*2", "LX*3", (29, "LX", "LX01", "line number '3' should be 2")),
        ("*^*00501*", "*U*00501*",
         (1, "ISA", "ISA11", "is 'U' (a 4010 value); a 5010 interchange needs a repetition "
          "separator here")),
        ("*X*005010X222A1~", "*X*005010X222~",
         (2, "GS", "GS08", "'005010X222' is not a HIPAA-adopted 837 version (005010X222A1, "
          "005010X223A2, 005010X224A2)")),
        ("SE*31*0001", "SE*30*0001",
         (33, "SE", None, "SE01 says 30 segments but transaction set 0001 has 31")),
    ],
)  # fmt: skip
def test_each_rule(examples: Path, old: str, new: str, expected: tuple[object, ...]) -> None:
    text = example(examples)
    assert old in text
    found = problems(text.replace(old, new, 1))
    assert expected in found, found


def test_structure_errors_stop_with_their_position(examples: Path) -> None:
    text = example(examples).replace("SE*31*0001~\n", "")
    assert problems(text) == [(33, "GE", None, "GE inside transaction set 0001: its SE is missing")]
