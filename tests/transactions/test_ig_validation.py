"""pyx12 implementation-guide validation, including the gateway's own 837 Dental map.

The expected problem lists are exact: a change in what pyx12 (or our map) reports shows up here.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
import pyx12

from gateway.transactions.ig_validation import (
    DENTAL_MAP_FILE,
    IgProblem,
    pyx12_map_path,
    validate_with_pyx12,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# A clean 837D written for these tests: billing provider, subscriber, a patient loop (2000C),
# one diagnosis, a missing tooth (DN2), a two-surface composite on tooth 30 and a prophylaxis.
MINIMAL_837D = (
    "~\n".join(
        (
            "ISA*00*          *00*          *ZZ*SMILEDENTAL    *ZZ*ACMECH         "
            "*250312*0930*^*00501*000000201*0*T*:",  # 1
            "GS*HC*SMILEDENTAL*ACMECH*20250312*0930*201*X*005010X224A2",  # 2
            "ST*837*0001*005010X224A2",  # 3
            "BHT*0019*00*BATCH0201*20250312*0930*CH",  # 4
            "NM1*41*2*SMILE DENTAL GROUP*****46*SMILEDENTAL",  # 5
            "PER*IC*FRONT DESK*TE*5125550199",  # 6
            "NM1*40*2*ACME CLEARINGHOUSE*****46*ACMECH",  # 7
            "HL*1**20*1",  # 8
            "PRV*BI*PXC*1223G0001X",  # 9
            "NM1*85*2*SMILE DENTAL GROUP*****XX*1234567893",  # 10
            "N3*200 CONGRESS AVE",  # 11
            "N4*AUSTIN*TX*787012345",  # 12
            "REF*EI*741234568",  # 13
            "HL*2*1*22*1",  # 14
            "SBR*P**GRP2001******CI",  # 15
            "NM1*IL*1*DOE*JOHN****MI*XYZ987654321",  # 16
            "NM1*PR*2*ACME DENTAL PLAN*****PI*ACMED",  # 17
            "HL*3*2*23*0",  # 18
            "PAT*19",  # 19
            "NM1*QC*1*DOE*EMMA",  # 20
            "N3*42 ELM STREET",  # 21
            "N4*AUSTIN*TX*78702",  # 22
            "DMG*D8*20140610*F",  # 23
            "CLM*PCN-2025-0201*245***11:B:1*Y*A*Y*Y",  # 24
            "DN2*1*M****JP",  # 25
            "HI*ABK:K0252",  # 26
            "NM1*82*1*SMITH*ANNA****XX*1987654328",  # 27
            "PRV*PE*PXC*1223G0001X",  # 28
            "LX*1",  # 29
            "SV3*AD:D2392*185****1*****1",  # 30
            "TOO*JP*30*M:O",  # 31
            "DTP*472*D8*20250311",  # 32
            "REF*6R*LN0201A",  # 33
            "LX*2",  # 34
            "SV3*AD:D1120*60****1",  # 35
            "DTP*472*D8*20250311",  # 36
            "REF*6R*LN0201B",  # 37
            "SE*36*0001",  # 38
            "GE*1*201",  # 39
            "IEA*1*000000201",  # 40
        )
    )
    + "~\n"
)

FIELD_GUIDE_EXAMPLES = [
    "example-837p.x12",
    "example-837i.x12",
    "example-835.x12",
    "example-999.x12",
    "example-277ca.x12",
    "example-ta1.x12",  # an interchange of a TA1 alone: no group, and none needed
]

# Every 837D in the corpus, with what pyx12 must say about it under our dental map. All eight
# are stupidedi's X224A2 examples (expected_valid=yes in index.tsv) and pass: a file needing an
# exception here would have to be shown to break the TR3, not the map.
CORPUS_837D: dict[str, list[IgProblem]] = {
    "stupidedi_X224A2_claim-from-billing-provider-to-payer-a.edi": [],
    "stupidedi_X224A2_claim-from-billing-provider-to-payer-b.edi": [],
    "stupidedi_X224A2_claim-multi-quantity-single-line.edi": [],
    "stupidedi_X224A2_commercial-health-insurance.edi": [],
    "stupidedi_X224A2_multiple-tooth-numbers.edi": [],
    "stupidedi_X224A2_orthodontic-treatment-plan.edi": [],
    "stupidedi_X224A2_predetermination-of-benefits.edi": [],
    "stupidedi_X224A2_sales-tax.edi": [],
}

_WALK_2400 = "/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2000C/2300/2400"


def _fix_se(text: str) -> str:
    """Set SE01 to the real count, so a test breaks only what it means to break."""
    parts = text.split("~")
    ids = [part.strip().split("*")[0] for part in parts]
    st, se = ids.index("ST"), ids.index("SE")
    elements = parts[se].split("*")
    elements[1] = str(se - st + 1)
    parts[se] = "*".join(elements)
    return "~".join(parts)


def _edit(text: str, old: str, new: str, *, fix_se: bool = True) -> bytes:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    edited = text.replace(old, new)
    return (_fix_se(edited) if fix_se else edited).encode()


@pytest.fixture(scope="module")
def example_837p(examples: Path) -> str:
    return (examples / "example-837p.x12").read_text()


# --------------------------------------------------------------------------- clean files
@pytest.mark.parametrize("name", FIELD_GUIDE_EXAMPLES)
def test_field_guide_examples_have_no_problems(examples: Path, name: str) -> None:
    assert validate_with_pyx12(examples / name) == []


def test_a_missing_group_is_still_reported_when_it_is_not_a_ta1(examples: Path) -> None:
    """Only a TA1-alone interchange is excused a group: an 835 without its GS is not."""
    text = (examples / "example-835.x12").read_text()
    no_group = "~".join(s for s in text.split("~") if not s.strip().startswith(("GS", "GE")))
    messages = [p.message for p in validate_with_pyx12(no_group.encode())]
    assert any("GS_LOOP" in m for m in messages), messages


@pytest.mark.parametrize("name", sorted(CORPUS_837D))
def test_corpus_837d_against_dental_map(corpus: Path, name: str) -> None:
    assert validate_with_pyx12(corpus / "837d" / name) == CORPUS_837D[name]


def test_corpus_837d_has_no_unlisted_file(corpus: Path) -> None:
    assert sorted(p.name for p in (corpus / "837d").iterdir()) == sorted(CORPUS_837D)


def test_minimal_837d_with_patient_loop_and_surfaces_passes() -> None:
    assert validate_with_pyx12(MINIMAL_837D.encode()) == []


def test_837d_using_every_dental_loop_passes() -> None:
    # DN1/DN2, claim and line dental dates, predetermination, HI with four diagnoses, the five
    # 2310 provider loops, COB (2320, 2330A/B/H, 2430 SVD with AD) and the four 2420 loops.
    assert validate_with_pyx12(FIXTURES / "837d_every_loop.x12") == []


def test_path_input_writes_nothing_beside_the_file(tmp_path: Path) -> None:
    path = tmp_path / "claim.837"
    path.write_text(MINIMAL_837D)
    assert validate_with_pyx12(path) == []
    assert validate_with_pyx12(str(path)) == []
    assert [p.name for p in tmp_path.iterdir()] == ["claim.837"]  # no claim.837.997


def test_byte_order_mark_and_leading_white_space_are_skipped() -> None:
    assert validate_with_pyx12(b"\xef\xbb\xbf\r\n" + MINIMAL_837D.encode()) == []


# --------------------------------------------------------------------------- broken copies
def test_837d_without_sv3() -> None:
    broken = _edit(MINIMAL_837D, "SV3*AD:D2392*185****1*****1~\n", "")
    # pyx12 notices the gap at the next segment (the TOO, now segment 30) and names SV3.
    assert validate_with_pyx12(broken) == [
        IgProblem(30, "SV3", None, "IK304:3", 'Mandatory segment "Dental Service" (SV3) missing')
    ]


def test_837d_tooth_and_surface_codes() -> None:
    broken = _edit(MINIMAL_837D, "TOO*JP*30*M:O", "TOO*JP*33*M:Q")
    assert validate_with_pyx12(broken) == [
        IgProblem(31, "TOO", "TOO02", "IK403:7", "(33) is not a valid code for Tooth Code (TOO02)"),
        IgProblem(
            31,
            "TOO",
            "TOO03-2",
            "IK403:7",
            "(Q) is not a valid code for Tooth Surface Code (TOO03-02)",
        ),
    ]


def test_837d_tooth_qualifier_other_than_jp() -> None:
    broken = _edit(MINIMAL_837D, "TOO*JP*30*M:O", "TOO*ZZ*30*M:O")
    assert validate_with_pyx12(broken) == [
        IgProblem(
            31, "TOO", None, "IK304:1", f"Segment TOO*ZZ not found.  Started at {_WALK_2400}/SV3"
        )
    ]


def test_837d_more_than_32_teeth_on_a_line() -> None:
    broken = _edit(MINIMAL_837D, "TOO*JP*30*M:O~\n", "TOO*JP*30*M:O~\n" + "TOO*JP*31~\n" * 32)
    assert validate_with_pyx12(broken) == [
        IgProblem(
            63, "TOO", None, "IK304:5", "Segment TOO exceeded max count.  Found 33, should have 32"
        )
    ]


def test_837d_wrong_se_count() -> None:
    broken = _edit(MINIMAL_837D, "SE*36*", "SE*35*", fix_se=False)
    assert validate_with_pyx12(broken) == [
        IgProblem(38, "SE", None, "IK502:4", "SE count of 35 for SE02=0001 is wrong. I count 36")
    ]


def test_837d_invalid_clm05_2() -> None:
    broken = _edit(MINIMAL_837D, "11:B:1", "11:A:1")
    assert validate_with_pyx12(broken) == [
        IgProblem(
            24,
            "CLM",
            "CLM05-2",
            "IK403:7",
            "(A) is not a valid code for Facility Code Qualifier (CLM05-02)",
        )
    ]


def test_837d_professional_service_line() -> None:
    broken = _edit(MINIMAL_837D, "SV3*AD:D1120*60****1", "SV1*HC:D1120*60*UN*1***1")
    assert validate_with_pyx12(broken) == [
        IgProblem(
            35,
            "SV1",
            None,
            "IK304:1",
            f"Segment SV1*HC:D1120 not found.  Started at {_WALK_2400}/LX",
        ),
        IgProblem(36, "SV3", None, "IK304:3", 'Mandatory segment "Dental Service" (SV3) missing'),
    ]


def test_837d_ambulance_segment_is_not_in_the_dental_map() -> None:
    broken = _edit(MINIMAL_837D, "DN2*1*M****JP~\n", "DN2*1*M****JP~\nCR1*LB*140~\n")
    where = "/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2000C/2300/DN2"
    assert validate_with_pyx12(broken) == [
        IgProblem(26, "CR1", None, "IK304:1", f"Segment CR1*LB not found.  Started at {where}")
    ]


def test_837d_at_most_four_diagnoses() -> None:
    five = "HI*ABK:K0252*ABF:K0262*ABF:K081*ABF:K036*ABF:K051"
    broken = _edit(MINIMAL_837D, "HI*ABK:K0252", five)
    message = 'Composite "Health Care Code Information" (HI05) is marked as Not Used'
    assert validate_with_pyx12(broken) == [IgProblem(26, "HI", "HI05", "IK304:8", message)]


def test_837d_tooth_status_needs_its_code_list_qualifier() -> None:
    broken = _edit(MINIMAL_837D, "DN2*1*M****JP", "DN2*1*M")
    message = 'Mandatory data element "Code List Qualifier Code" (DN206) is missing'
    assert validate_with_pyx12(broken) == [IgProblem(25, "DN2", "DN206", "IK403:1", message)]


def test_837p_invalid_clm05_2(example_837p: str) -> None:
    broken = _edit(example_837p, "11:B:1", "11:X:1")
    assert validate_with_pyx12(broken) == [
        IgProblem(
            21,
            "CLM",
            "CLM05-2",
            "IK403:7",
            "(X) is not a valid code for Facility Code Qualifier (CLM05-02)",
        )
    ]


def test_837p_wrong_se_count(example_837p: str) -> None:
    broken = _edit(example_837p, "SE*31*", "SE*30*", fix_se=False)
    assert validate_with_pyx12(broken) == [
        IgProblem(33, "SE", None, "IK502:4", "SE count of 30 for SE02=0001 is wrong. I count 31")
    ]


def test_837p_dental_service_line(example_837p: str) -> None:
    broken = _edit(example_837p, "SV1*HC:36415*25*UN*1***1:2", "SV3*AD:D1110*25****1")
    where = "/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2300/2400/LX"
    assert validate_with_pyx12(broken) == [
        IgProblem(
            30, "SV3", None, "IK304:1", f"Segment SV3*AD:D1110 not found.  Started at {where}"
        ),
        IgProblem(
            31, "SV1", None, "IK304:3", 'Mandatory segment "Professional Service" (SV1) missing'
        ),
    ]


# --------------------------------------------------------------------------- no map, no X12
def test_unknown_version_is_a_problem_not_an_exception() -> None:
    other = MINIMAL_837D.replace("005010X224A2", "005010X224A1").encode()
    assert validate_with_pyx12(other) == [
        IgProblem(2, "GS", "GS08", None, "Map not found.  icvn=00501, fic=HC, vriic=005010X224A1")
    ]


def test_not_x12() -> None:
    assert validate_with_pyx12(b"hello, world") == [
        IgProblem(
            None,
            None,
            None,
            None,
            "Not an X12 interchange: First line does not begin with 'ISA': hel",
        )
    ]


# --------------------------------------------------------------------------- process-level
def test_private_map_directory() -> None:
    path = Path(pyx12_map_path())
    assert pyx12_map_path() == str(path)  # built once per process
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    maps_xml = (path / "maps.xml").read_text()
    assert f">{DENTAL_MAP_FILE}</map>" in maps_xml
    assert 'vriic="005010X224A2"' in maps_xml
    assert (path / DENTAL_MAP_FILE).is_file()
    assert (path / "837.5010.X222.A1.xml").is_file()  # pyx12's own maps are there too
    installed = Path(pyx12.__file__).parent / "map" / "maps.xml"
    assert "X224A2" not in installed.read_text()  # the installed package is untouched


def test_repeated_calls_are_stable_and_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    broken = _edit(MINIMAL_837D, "11:B:1", "11:A:1")
    for _ in range(50):
        assert validate_with_pyx12(MINIMAL_837D.encode()) == []
        assert len(validate_with_pyx12(broken)) == 1
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_map_directory_is_rebuilt_if_removed() -> None:
    first = pyx12_map_path()
    shutil.rmtree(first)
    assert validate_with_pyx12(MINIMAL_837D.encode()) == []
    assert Path(pyx12_map_path()).is_dir()
