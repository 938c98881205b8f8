"""The writer: fixed-width ISA, counted trailers, values that can never break the structure."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import pytest

from gateway.x12 import Delimiters, X12Writer, read_segments
from gateway.x12.values import amount, safe_text, upper_text

WHEN = datetime(2025, 3, 10, 12, 0)


def write(body: list[tuple[str, ...]], **kw: object) -> str:
    out = io.StringIO()
    w = X12Writer(out, **kw)  # type: ignore[arg-type]
    with (
        w.interchange(sender_qualifier="ZZ", sender_id="PRACTICE01", receiver_qualifier="ZZ",
                      receiver_id="ACMECH", control_number=101, when=WHEN),
        w.group(functional_id="HC", sender="PRACTICE01", receiver="ACMECH", control_number=101,
                version="005010X222A1", when=WHEN),
        w.transaction("837", "0001", "005010X222A1"),
    ):  # fmt: skip
        for seg in body:
            w.segment(*seg)
    return out.getvalue()


def test_envelope_has_fixed_isa_and_computed_counts() -> None:
    text = write([("BHT", "0019", "00", "B1"), ("NM1", "41", "2", "CLINIC")])
    isa = text[: text.index("~") + 1]
    assert len(isa) == 106
    assert isa == (
        "ISA*00*          *00*          *ZZ*PRACTICE01     *ZZ*ACMECH         *250310*1200*^*"
        "00501*000000101*0*T*:~"
    )
    assert text.endswith("SE*4*0001~GE*1*101~IEA*1*000000101~")
    assert len(list(read_segments(text.encode()))) == 8


def test_trailing_empty_elements_and_components_are_dropped() -> None:
    out = io.StringIO()
    w = X12Writer(out)
    w.segment("NM1", "85", "2", "CLINIC", None, None, None, None, "XX", "1234567893", None, "")
    w.segment("SV1", ["HC", "99213", None, None], "150", None)
    w.flush()
    assert out.getvalue() == "NM1*85*2*CLINIC*****XX*1234567893~SV1*HC:99213*150~"


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("O'Brien & Sons", "O'Brien & Sons"),
        ("José Muñoz", "Jose Munoz"),
        ("A*B~C:D^E", "A B C D E"),
        ("Line\r\nbreak\ttab", "Line break tab"),
        ("Zoë Ærø Straße", "Zoe Aero Strasse"),
        ("北京", "BeiJing"),
    ],
)
def test_text_is_made_safe(value: str, safe: str) -> None:
    assert safe_text(value, Delimiters()) == safe
    assert upper_text(value, Delimiters()) == safe.upper()


def test_a_value_holding_delimiters_cannot_break_the_structure() -> None:
    evil = "DOE~IEA*1*000000999~ISA*"
    text = write([("NM1", "IL", "1", evil, "JANE")])
    segs = list(read_segments(text.encode()))
    nm1 = next(s for s in segs if s.id == "NM1")
    assert nm1.get(3) == "DOE IEA 1 000000999 ISA"
    assert [s.id for s in segs].count("IEA") == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [("175.00", "175"), ("175.50", "175.5"), ("0.05", "0.05"), ("-20", "-20"), ("0", "0"),
     ("1234567.89", "1234567.89"), ("-0.00", "0")],
)  # fmt: skip
def test_amounts_have_decimals_only_when_needed(value: str, text: str) -> None:
    assert amount(Decimal(value)) == text


def test_control_numbers_come_from_the_caller_and_are_checked() -> None:
    w = X12Writer(io.StringIO())
    with pytest.raises(ValueError, match="control number 0"), w.interchange(
        sender_qualifier="ZZ", sender_id="S", receiver_qualifier="ZZ", receiver_id="R",
        control_number=0, when=WHEN,
    ):  # fmt: skip
        pass
    with pytest.raises(ValueError, match="longer than 15"), w.interchange(
        sender_qualifier="ZZ", sender_id="S" * 16, receiver_qualifier="ZZ", receiver_id="R",
        control_number=1, when=WHEN,
    ):  # fmt: skip
        pass


def test_line_breaks_option() -> None:
    text = write([("BHT", "0019")], line_breaks=True)
    assert text.count("~\n") == text.count("~") == 7
    assert len(list(read_segments(text.encode()))) == 7
