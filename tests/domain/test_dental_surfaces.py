"""A dental line's tooth surfaces: the letters as a string ("MO") or a list (["M", "O"])."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from gateway.domain.claim import Claim
from gateway.intake.claim_files import check_records
from gateway.transactions.claim_837 import Envelope, write_837
from tests.domain.test_claim_checks import TODAY, edit, problems, sample

ENVELOPE = Envelope(
    sender_id="PRACTICE01", receiver_id="ACMECH", interchange_control=1, group_control=1,
    batch_id="B1", submitter_name="CLINIC", receiver_name="ACME", when=datetime(2025, 3, 10, 12),
)  # fmt: skip


def _837d(surfaces: object) -> str:
    record = edit(sample("dental"), "lines.2.surfaces", surfaces)
    result = check_records([("#1", record)], source="claims.json", today=TODAY)
    assert result.problems == []
    [claim] = result.claims
    out = io.StringIO()
    write_837(out, "dental", [claim], ENVELOPE)
    return out.getvalue()


def test_a_list_of_letters_is_the_same_claim_as_the_string() -> None:
    as_list = _837d(["M", "O"])
    assert "TOO*JP*30*M:O~" in as_list
    assert as_list == _837d("MO")


def test_the_stored_record_keeps_one_spelling() -> None:
    claim = Claim.model_validate(edit(sample("dental"), "lines.2.surfaces", ["M", "O", "D"]))
    assert claim.lines[1].surfaces == "MOD"
    assert claim.model_dump(mode="json")["lines"][1]["surfaces"] == "MOD"


@pytest.mark.parametrize(
    ("value", "message"),
    [(["M", "X"], "'MX' is not a set of tooth surfaces (up to 5 of the letters M O D B L I F, each once)"),
     (["M", "M"], "'MM' is not a set of tooth surfaces (up to 5 of the letters M O D B L I F, each once)"),
     (["M", 1], 'must be letters of M O D B L I F, as "MO" or ["M", "O"], got [\'M\', 1]')],
)  # fmt: skip
def test_a_wrong_list_is_refused_with_the_field(value: object, message: str) -> None:
    found = problems(edit(sample("dental"), "lines.2.surfaces", value))
    assert [f for f, _ in found] == ["lines[2].surfaces"]
    assert message in found[0][1]


def test_the_schema_says_both_spellings() -> None:
    prop = Claim.model_json_schema(mode="validation")["$defs"]["Line"]["properties"]["surfaces"]
    assert {"type": "string"} in prop["anyOf"]
    assert {"type": "array", "items": {"type": "string"}} in prop["anyOf"]
