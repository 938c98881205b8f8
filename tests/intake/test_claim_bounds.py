"""Claim checks bound every field by the 837 it becomes: `validate` OK means the 837 is valid.

The claim files of ``tests/data/repro/claims/`` each stopped intake or `validate` with a
traceback (units of 1e30, JSON nested 100,000 deep), or passed `validate` and built an 837 that
pyx12 refused (a last name of a lone ``~``). A hypothesis fuzz then throws hostile values
(delimiters, combining accents, letters that spell out longer, absurd dates and quantities,
free text for codes) at valid claims: whatever the checks pass must build an 837 with no error.
"""

from __future__ import annotations

import copy
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cli.main import cli
from gateway.domain.claim import Claim
from gateway.domain.claim_checks import check_claim
from gateway.home import init_home
from gateway.intake.claim_files import check_records
from gateway.transactions.claim_837 import write_837
from gateway.transactions.ig_validation import validate_with_pyx12
from tests.strategies import TODAY, claims
from tests.transactions.test_837_roundtrip import envelope

CLAIMS = Path(__file__).resolve().parent.parent / "data" / "repro" / "claims"

# file -> every (claim, field, start of the message) it is told
EXPECTED = {
    "deep-nesting.json": [(None, None, "is not valid JSON: nested too deeply")],
    "payer-claim-number-60-chars.json": [
        ("PCN-1", "payer_claim_number", "is 60 characters as the 837 carries it")],
    "subscriber-last-name-tilde.json": [
        ("TILDE-1", "subscriber.last_name", "'~' has nothing left once written in the 837")],
    "units-1e30.csv": [("CSVU-1", f"lines[{n}].units", "is out of range: 1E+30") for n in (1, 2)],
    "units-1e30.json": [("UN-1", "lines[1].units", "is out of range: 1E+30")],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_names_the_field_and_exits_1(tmp_path: Path, name: str) -> None:
    home = tmp_path / "home"
    init_home(home)  # its mappings read the CSV export
    result = CliRunner().invoke(cli, ["--home", str(home), "validate", "--json", "--no-pyx12",
                                      str(CLAIMS / name)], obj={})  # fmt: skip
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [problems] = json.loads(result.stdout).values()
    found = [(p.get("claim"), p.get("field"), p["message"]) for p in problems]
    assert len(found) == len(EXPECTED[name])
    for (claim, field, message), (want_claim, want_field, start) in zip(
        found, EXPECTED[name], strict=True
    ):
        assert (claim, field) == (want_claim, want_field) and message.startswith(start), found


def _sample(kind: str) -> dict[str, Any]:
    path = Path(__file__).resolve().parents[2] / "gateway" / "samples" / f"{kind}.json"
    record: dict[str, Any] = json.loads(path.read_text())[0]
    return record


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        ("subscriber.last_name", "~", "subscriber.last_name", "'~' has nothing left"),
        ("subscriber.first_name", "*:^", "subscriber.first_name", "'*:^' has nothing left"),
        ("subscriber.last_name", "\u0301", "subscriber.last_name", "'\u0301' has nothing left"),
        ("subscriber.address.city", "A~", "subscriber.address.city", "'A~' has only 'A' left"),
        ("billing_provider.address.line1", "~~", "billing_provider.address.line1", "'~~' has"),
        ("payer.name", "ß" * 31, "payer.name", "is 62 characters as the 837 carries it"),
        ("subscriber.birth_date", "0001-01-01", "subscriber.birth_date",
         "0001-01-01 is not a real date here (before 1900-01-01)"),
        ("lines.0.units", "100000", "lines[1].units", "is out of range: 100000"),
        ("lines.0.charge", "123456789012345678901234567.001", "lines[1].charge",
         "is out of range: 123456789012345678901234567.001"),
        ("subscriber.member_id", "^^", "subscriber.member_id", "'^^' has nothing left"),
        ("prior_authorization", "\x01\x02", "prior_authorization", "'\\x01\\x02' has nothing"),
    ],
)  # fmt: skip
def test_checks_refuse_what_would_build_an_invalid_837(
    path: str, value: str, field: str, message: str
) -> None:
    record = _edit(_sample("professional"), path, value)
    found = [(p.field, p.message) for p in check_records([("#1", record)], source="x").problems]
    assert any(f == field and m.startswith(message) for f, m in found), found


def test_admission_source_is_a_code() -> None:
    record = _edit(_sample("institutional"), "institutional.admission_source", "walked in")
    [problem] = check_records([("#1", record)], source="x").problems
    assert problem.field == "institutional.admission_source"
    assert problem.message.startswith("'walked in' is not a point of origin code")


def _edit(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    record = copy.deepcopy(record)
    *parents, last = path.split(".")
    target: Any = record
    for key in parents:
        target = target[int(key)] if key.isdigit() else target.setdefault(key, {})
    target[int(last) if last.isdigit() else last] = value
    return record


# -- the fuzz: hostile values into valid claims --------------------------------------------------
HOSTILE_CHARS = "*~:^\u0301\u0308\x00\x07\t\n ßÆŒØłĳ北京😀é-'.,#&/AZaz09"
TEXT_FIELDS = [
    "subscriber.last_name", "subscriber.first_name", "subscriber.middle_name",
    "subscriber.address.line1", "subscriber.address.line2", "subscriber.address.city",
    "subscriber.member_id", "subscriber.group_number", "payer.name", "payer.id",
    "billing_provider.address.line1", "billing_provider.address.city", "payer_claim_number",
    "prior_authorization", "referral_number", "lines.0.description",
]  # fmt: skip
NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz'-"
hostile_text = st.one_of(
    st.text(alphabet=HOSTILE_CHARS, min_size=1, max_size=70),  # anything at all
    st.builds(  # a name with something hostile inside (most of these pass and are built)
        lambda a, b, c: a + b + c,
        st.text(alphabet=NAME_CHARS, min_size=1, max_size=30),
        st.text(alphabet=HOSTILE_CHARS, max_size=3),
        st.text(alphabet=NAME_CHARS, max_size=30),
    ),
)
hostile_number = st.sampled_from(
    ["1e30", "1E+999999", "0.0001", "99999999.99", "100000000", "99999.999", "0", "-5", "7.5",
     "3", "12.50", "99999"]
)  # fmt: skip
hostile_date = st.sampled_from(
    ["0001-01-01", "1899-12-31", "1900-01-01", "9999-12-31", "1955-03-04"]
)
hostile_code = st.one_of(st.sampled_from(["1", "2", "4", "9", "D", "G", "3", "X"]), hostile_text)


@st.composite
def hostile_claims(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    record = draw(claims(kind))
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["text", "number", "date", "code"]))
        if what == "text":
            record = _edit(record, draw(st.sampled_from(TEXT_FIELDS)), draw(hostile_text))
        elif what == "number":
            path = draw(st.sampled_from(["lines.0.units", "lines.0.charge", "patient_paid"]))
            record = _edit(record, path, draw(hostile_number))
            if path == "lines.0.charge":
                record.pop("total_charge", None)
        elif what == "date":
            record = _edit(record, "subscriber.birth_date", draw(hostile_date))
        elif kind == "institutional":
            record = _edit(record, "institutional.admission_source", draw(hostile_code))
    return record


@pytest.mark.parametrize("kind", ["professional", "dental", "institutional"])
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(data=st.data())
def test_what_the_checks_pass_builds_a_valid_837(kind: str, data: st.DataObject) -> None:
    record = data.draw(hostile_claims(kind))
    result = check_records([("#1", record)], source="fuzz.json", today=TODAY)
    if result.problems:
        return  # refused, with the field named: nothing to build
    [claim] = result.claims
    buf = io.StringIO()
    write_837(buf, kind, [claim], envelope())  # type: ignore[arg-type]
    problems = validate_with_pyx12(buf.getvalue().encode("ascii"))
    assert problems == [], (record, [str(p) for p in problems])


def test_checks_never_raise_on_extreme_numbers() -> None:
    for units in ("1e30", "1E+999999", "1E-999999", "123456789012345678901234567890.12345"):
        claim = Claim.model_validate(_edit(_sample("professional"), "lines.0.units", units))
        assert any(p.field == "lines[1].units" for p in check_claim(claim, today=date.today()))
    amount = Decimal("9" * 40 + ".123")
    claim = Claim.model_validate(_edit(_sample("professional"), "lines.0.charge", str(amount)))
    assert any(p.field == "lines[1].charge" for p in check_claim(claim, today=date.today()))
