"""837 writers: pyx12 (our referee) finds zero errors, and reading back recovers every field."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain.claim import Claim, ClaimKind
from gateway.domain.claim_checks import check_claim
from gateway.transactions.claim_837 import Envelope, write_837
from gateway.transactions.claim_837_reader import as_sent, read_837_claims
from gateway.transactions.claim_837_rules import check_837
from gateway.transactions.ig_validation import validate_with_pyx12
from gateway.x12.reader import read_segments
from tests.conftest import SAMPLES
from tests.strategies import TODAY, claims

KINDS: list[ClaimKind] = ["professional", "dental", "institutional"]


def envelope(control: int = 101, *, line_breaks: bool = False) -> Envelope:
    return Envelope(
        sender_id="PRACTICE01",
        receiver_id="ACMECH",
        interchange_control=control,
        group_control=control,
        batch_id=f"BATCH0{control}",
        submitter_name="Main Street Clinic",
        submitter_contact="Billing Office",
        submitter_phone="5125550100",
        receiver_name="ACME CLEARINGHOUSE",
        when=datetime(2025, 3, 10, 12, 0),
        line_breaks=line_breaks,
    )


def build(kind: ClaimKind, records: list[dict[str, Any]], **kw: Any) -> tuple[list[Claim], bytes]:
    models = [Claim.model_validate(r) for r in records]
    for claim in models:
        assert check_claim(claim, today=TODAY) == [], claim.claim_id
    buf = io.StringIO()
    write_837(buf, kind, models, envelope(**kw))
    return models, buf.getvalue().encode("ascii")


def assert_valid_and_round_trips(models: list[Claim], data: bytes) -> None:
    problems = validate_with_pyx12(data)
    assert problems == [], "\n".join(map(str, problems)) + "\n" + data.decode().replace("~", "~\n")
    assert check_837(data) == []
    back = read_837_claims(data)
    assert len(back) == len(models)
    by_id = {c.claim_id: c for c in back}
    for claim in models:
        expected, got = as_sent(claim).model_dump(), by_id[claim.claim_id].model_dump()
        assert list(_diff(expected, got)) == []


def _diff(x: Any, y: Any, path: str = "") -> Any:
    """Paths where two dumped records differ, with both values (readable failures)."""
    if isinstance(x, dict) and isinstance(y, dict):
        for key in x.keys() | y.keys():
            yield from _diff(x.get(key), y.get(key), f"{path}.{key}")
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (a, b) in enumerate(zip(x, y, strict=True)):
            yield from _diff(a, b, f"{path}[{i}]")
    elif x != y:
        yield (path, x, y)


def test_first_sample_claim_is_the_field_guide_example_byte_for_byte(examples: Path) -> None:
    records = json.loads((SAMPLES / "professional.json").read_text())[:1]
    _, data = build("professional", records, line_breaks=True)
    assert data == (examples / "example-837p.x12").read_bytes()


@pytest.mark.parametrize("name", ["professional", "dental", "institutional"])
def test_sample_claims_pass_pyx12_and_round_trip(name: str) -> None:
    records = json.loads((SAMPLES / f"{name}.json").read_text())
    models, data = build(name, records)  # type: ignore[arg-type]
    assert_valid_and_round_trips(models, data)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_claims_pass_pyx12_and_round_trip(kind: ClaimKind, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 4), label="claims")
    records = [
        data.draw(claims(kind, claim_id=f"C{i}-{kind[:3]}"), label=f"claim {i}") for i in range(n)
    ]
    models, x12 = build(kind, records)
    assert_valid_and_round_trips(models, x12)


@pytest.mark.parametrize("kind", KINDS)
def test_many_claims_share_loops_and_split_hl_at_100(kind: ClaimKind) -> None:
    """250 claims of one subscriber: one 2000A, three 2000B (100 + 100 + 50), all valid."""
    base = json.loads((SAMPLES / f"{kind}.json").read_text())[0]
    records = [dict(base, claim_id=f"MANY-{n:04d}") for n in range(250)]
    models, data = build(kind, records)
    levels = [s.get(3) for s in read_segments(data) if s.id == "HL"]
    assert levels.count("20") == 1
    assert levels.count("22") == 3
    assert levels.count("23") == (3 if "patient" in base else 0)
    assert_valid_and_round_trips(models, data)


def test_segment_counts_are_computed_from_what_was_written() -> None:
    records = json.loads((SAMPLES / "professional.json").read_text())
    _, data = build("professional", records)
    segments = list(read_segments(data))  # strict: raises on any count mismatch
    st_pos = next(s.position for s in segments if s.id == "ST")
    se = next(s for s in segments if s.id == "SE")
    assert se.get(1) == str(se.position - st_pos + 1)
    assert [s.get(1) for s in segments if s.id in ("GE", "IEA")] == ["1", "1"]
