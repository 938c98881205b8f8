"""Every reader error is typed, names its segment and element, and says it in plain words.

The inputs under ``tests/data/repro/parse/`` each ended ``gateway parse`` in a Python traceback
(their names say which exception and line); each now ends in one plain message and exit 1.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli.main import cli
from gateway.transactions.ack_999 import read_999
from gateway.transactions.ack_ta1 import read_ta1
from gateway.transactions.claim_837_reader import read_837
from gateway.transactions.remit_835 import TransactionEnd, read_835
from gateway.transactions.status_277ca import read_277ca
from gateway.x12.elements import control_number, decimal_or_none, identifier, number
from gateway.x12.errors import X12ElementError, X12SyntaxError

REPRO = Path(__file__).resolve().parent.parent / "data" / "repro"
PARSE = sorted((REPRO / "parse").glob("*.x12"))
# What each reproducer is now told (the first fault reading meets, with its position).
EXPECTED = {
    "IndexError@transactions_remit_835.py_L183.x12": "file ends inside interchange 262477059",
    "InvalidOperation@domain_posting.py_L161.x12": "segment 5, CAS: CAS03 'sNaN' is not a number",
    "InvalidOperation@domain_posting.py_L180.x12": "segment 5, SVC: SVC02 'sNaN' is not a number",
    "InvalidOperation@transactions_claim_837_reader.py_L42.x12": (
        "segment 6, SV1: SV102 is required but missing"
    ),
    "InvalidOperation@transactions_remit_835.py_L144.x12": "file ends inside interchange",
    "InvalidOperation@transactions_remit_835.py_L161.x12": "file ends inside interchange",
    "InvalidOperation@transactions_remit_835.py_L98.x12": "file ends inside interchange",
    "ValueError@transactions_claim_837_reader.py_L327.x12": (
        "segment 6, SV1: SV107 'H' is not a diagnosis pointer (1 to 12)"
    ),
    "ValueError@transactions_claim_837_reader.py_L336.x12": (
        "segment 6, DTP: DTP03 is required but missing"
    ),
    "ValueError@transactions_claim_837_reader.py_L349.x12": (
        "segment 5, DTP: DTP03 is required but missing"
    ),
    "ValueError@x12_values.py_L70.x12": "segment 5, DMG: DMG02 is required but missing",
}


def test_every_parse_reproducer_is_listed() -> None:
    assert {p.name for p in PARSE} == set(EXPECTED)


@pytest.mark.parametrize("path", PARSE, ids=lambda p: p.name)
def test_parse_says_what_is_wrong_and_exits_1(path: Path) -> None:
    result = CliRunner().invoke(cli, ["parse", str(path)], obj={})
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    said = result.stderr.replace(path.name, "NAME")  # the names hold exception names
    assert EXPECTED[path.name] in said
    assert "Traceback" not in said and "Error" not in said and "<class" not in said


def _835(body: str) -> bytes:
    segments = body.strip().split("\n")
    st = ["ST*835*0001", *segments]
    text = (
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PRACTICE       *261203*0715*^*"
        "00501*000000008*0*T*:~GS*HP*PAYER*PRACTICE*20261203*0715*8*X*005010X221A1~"
        + "~".join(st)
        + f"~SE*{len(st) + 1}*0001~GE*1*8~IEA*1*000000008~"
    )
    return text.encode()


PAYMENT = """BPR*I*100*C*ACH*CCP*01*999999992*DA*123456789*1512345678**01*111000025*DA*9*20261203
TRN*1*TRACE1*1512345678
N1*PR*PAYER
N1*PE*CLINIC*XX*1234567893
LX*1
CLP*PCN-1*1*100*100**12*ICN1*11*1
SVC*HC:99213*100*100**1"""


def _end(data: bytes) -> TransactionEnd:
    return next(e for e in read_835(data) if isinstance(e, TransactionEnd))


def test_a_clean_payment_has_no_problems() -> None:
    assert _end(_835(PAYMENT)).problems == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("SVC*HC:99213*100*100**1", "SVC*HC:99213*NaN*100**1", "SVC02 'NaN' is not a number"),
        ("SVC*HC:99213*100*100**1", "SVC*HC:99213*1E3*100**1", "SVC02 '1E3' is not a number"),
        ("SVC*HC:99213*100*100**1", "SVC*HC:99213*100*100**x", "SVC05 'x' is not a number"),
        ("BPR*I*100*", "BPR*I*100.0000000000000000*", "BPR02 '100.0000000000000000' is not"),
        ("SVC*HC:99213*100*100**1", "SVC*HC:99213*100*100**1~CAS*CO", "CAS02 is required"),
        ("SVC*HC:99213*100*100**1", "SVC*HC:99213*100*100**1~DTM", "DTM01 is required"),
    ],
)
def test_a_value_that_cannot_be_posted_holds_its_payment(old: str, new: str, problem: str) -> None:
    """Held for review (the file reads on), the element and its segment named."""
    [found] = _end(_835(PAYMENT.replace(old, new))).problems
    assert problem in found and found.startswith("segment ")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("TRN*1*TRACE1*", f"TRN*1*{'9' * 51}*", "TRN02 '99999999999999999999...' is 51 characters"),
        ("TRN*1*TRACE1*", "TRN*1**", "TRN02 is required but empty"),
        ("*1512345678\nN1", "*15123456789\nN1", "TRN03 '15123456789' is 11 characters"),
        ("CLP*PCN-1*", f"CLP*{'C' * 39}*", "CLP01 'CCCCCCCCCCCCCCCCCCCC...' is 39 characters"),
        ("ICN1", "I" * 51, "CLP07"),
    ],
)
def test_an_identifier_longer_than_its_element_stops_the_file(
    old: str, new: str, message: str
) -> None:
    """What identifies a payment reaches the ledger: beyond the guide's limit it is refused."""
    with pytest.raises(X12ElementError) as caught:
        list(read_835(_835(PAYMENT.replace(old, new))))
    assert message in str(caught.value)
    assert caught.value.segment_index is not None


def test_an_st02_longer_than_nine_characters_is_refused() -> None:
    data = _835(PAYMENT).replace(b"ST*835*0001~", b"ST*835*0001234567~")
    with pytest.raises(X12ElementError, match="segment 3, ST: ST02 '0001234567' is 10 char"):
        list(read_835(data))


ACK = (
    "ISA*00*          *00*          *ZZ*ACMECH         *ZZ*PRACTICE01     *261203*0722*^*00501*"
    "000000002*0*T*:~GS*FA*ACMECH*PRACTICE01*20261203*0722*2*X*005010X231A1~ST*999*0001*"
    "005010X231A1~AK1*HC*{group}*005010X222A1~AK2*837*{st02}*005010X222A1~IK5*A~AK9*A*1*1*1~"
    "SE*6*0001~GE*1*2~IEA*1*000000002~"
)


@pytest.mark.parametrize(
    ("group", "st02", "message"),
    [
        ("2147483648", "0001", "segment 4, AK1: AK102 '2147483648' is not a control number"),
        ("9" * 40, "0001", "AK102 '99999999999999999999...' is not a control number"),
        ("12A", "0001", "AK102 '12A' is not a control number (1 to 9 digits)"),
        ("", "0001", "AK102 '' is not a control number"),
        ("7", "0001234567", "segment 5, AK2: AK202 '0001234567' is 10 characters"),
    ],
)
def test_999_control_numbers_beyond_nine_digits_are_refused(
    group: str, st02: str, message: str
) -> None:
    with pytest.raises(X12ElementError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_999(ACK.format(group=group, st02=st02).encode())


def test_999_within_limits_reads() -> None:
    [group] = read_999(ACK.format(group="999999999", st02="0001").encode())
    assert group.control_number == "999999999"


TA1 = (
    "ISA*00*          *00*          *ZZ*ACMECH         *ZZ*PRACTICE01     *261203*0722*^*00501*"
    "000000003*0*T*:~TA1*{control}*261203*0722*A*000~IEA*0*000000003~"
)


@pytest.mark.parametrize("control", ["2147483648", "", "00000000A", "-00000001"])
def test_ta1_control_numbers_are_at_most_nine_digits(control: str) -> None:
    with pytest.raises(X12ElementError, match=f"segment 2, TA1: TA101 '{control}' is not a contr"):
        read_ta1(TA1.format(control=control).encode())
    [ack] = read_ta1(TA1.format(control="000000101").encode())
    assert ack.control_number == "000000101"


STATUS = (
    "ISA*00*          *00*          *ZZ*ACMECH         *ZZ*PRACTICE01     *261203*0722*^*00501*"
    "000000004*0*T*:~GS*HN*ACMECH*PRACTICE01*20261203*0722*4*X*005010X214~ST*277*0001*005010X214~"
    "BHT*0085*08*1*20261203*0722*TH~HL*1**20*1~NM1*PR*2*ACME*****PI*ACMEH~HL*2*1*21*1~"
    "NM1*41*2*CLINIC*****46*TX1~HL*3*2*19*1~NM1*85*2*CLINIC*****XX*1234567893~HL*4*3*PT~"
    "NM1*QC*1*DOE*JANE****MI*M1~TRN*2*{claim}~STC*A2:20*20261203*WQ*{amount}~REF*1K*{icn}~"
    "SE*15*0001~GE*1*4~IEA*1*000000004~"
)


def test_277ca_claim_ids_beyond_the_guide_are_refused_and_bad_amounts_left_out() -> None:
    [ack] = read_277ca(STATUS.format(claim="PCN-1", amount="sNaN", icn="ICN1").encode())
    assert (ack.claim_id, ack.payer_claim_number, ack.statuses[0].amount) == ("PCN-1", "ICN1", None)
    with pytest.raises(X12ElementError, match=r"TRN02 'P{20}\.\.\.' is 51 characters"):
        read_277ca(STATUS.format(claim="P" * 51, amount="10", icn="ICN1").encode())
    with pytest.raises(X12ElementError, match=r"REF02 'I{20}\.\.\.' is 51 characters"):
        read_277ca(STATUS.format(claim="PCN-1", amount="10", icn="I" * 51).encode())


@pytest.mark.parametrize(
    ("text", "value"),
    [("175", Decimal(175)), ("-20.5", Decimal("-20.5")), (".5", Decimal("0.5")),
     ("12.", Decimal(12)), ("9" * 18, Decimal("9" * 18))],
)  # fmt: skip
def test_x12_decimals(text: str, value: Decimal) -> None:
    assert decimal_or_none(text) == value
    assert number(text, "AMT02", 7) == value


@pytest.mark.parametrize(
    "text", ["sNaN", "NaN", "Infinity", "-inf", "1e5", "+5", "1,5", " 5", "5 ", "٣", "9" * 19, "-"]
)
def test_x12_decimals_refuse_what_is_not_type_r(text: str) -> None:
    assert decimal_or_none(text) is None
    with pytest.raises(
        X12ElementError, match=r"segment 7, AMT: AMT02 .* is not a number"
    ) as caught:
        number(text, "AMT02", 7)
    assert caught.value.element == "AMT02"


def test_element_errors_are_syntax_errors_with_their_place() -> None:
    error = X12ElementError("CLP01 is required but empty", element="CLP01", segment_index=15)
    assert isinstance(error, X12SyntaxError)
    assert str(error) == "segment 15, CLP: CLP01 is required but empty"
    assert control_number("000000101", "ISA13", 1, min_digits=9) == 101
    assert identifier("ABC", "REF02", 3, 3) == "ABC"


def test_837_reader_errors_name_the_element() -> None:
    data = (REPRO / "parse" / "ValueError@transactions_claim_837_reader.py_L327.x12").read_bytes()
    with pytest.raises(X12ElementError) as caught:
        list(read_837(data))
    assert (caught.value.element, caught.value.segment_index) == ("SV107", 6)


def test_a_999_count_in_non_ascii_digits_is_no_crash() -> None:
    """Found by the reply fuzz: '¹' passes str.isdigit() but not int(); a count that is not
    ASCII digits counts as none, as any other non-number there does."""
    text = (
        "ISA*00*          *00*          *ZZ*ACMECH         *ZZ*PRACTICE01     *261203*0722*^*"
        "00501*000000002*0*T*:~GS*FA*ACMECH*PRACTICE01*20261203*0722*2*X*005010X231A1~"
        "ST*999*0001*005010X231A1~AK1*HC*1*005010X222A1~AK2*837*0001*005010X222A1~IK5*R*5~"
        "AK9*R*1*\u00b9*0~SE*6*0001~GE*1*2~IEA*1*000000002~"
    )
    [group] = read_999(text.encode("utf-8"))
    assert group.status == "R" and group.sets_included == 1 and group.sets_received == 0
