"""276 inquiries and 277 answers: the field guide's examples written and read, every 276 we
write accepted by pyx12 with our 276 map, unknown codes kept raw, broken 277s named by position."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.domain.claim_status import InquiryLine, InquiryPerson, StatusInquiry
from gateway.transactions.claim_837 import Envelope
from gateway.transactions.ig_validation import validate_with_pyx12
from gateway.transactions.status_276 import write_276
from gateway.transactions.status_277 import Status277Error, read_277

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "x12-examples"


def guide_inquiries() -> list[StatusInquiry]:
    """The three questions of the field guide's ``status-276.x12``."""
    common = {
        "payer_id": "LKSBP",
        "payer_name": "Lakeshore Benefit Plan",
        "provider_name": "Riverbend Family Medicine",
        "provider_npi": "1457394629",
    }
    return [
        StatusInquiry(
            trace="RFS250502-0001", claim_id="RFM-25-0388", **common,
            subscriber=InquiryPerson("Reed", "Thomas", "LBP4420876", date(1961, 3, 7), "M"),
            charge=Decimal("185.00"), service_from=date(2025, 3, 18),
            service_to=date(2025, 3, 18), payer_claim_number="LBP25032400415",
            lines=(InquiryLine("RFM0388-1", "99213", Decimal("185"), Decimal(1),
                               date(2025, 3, 18)),),
        ),
        StatusInquiry(
            trace="RFS250502-0002", claim_id="RFM-25-0402", **common,
            subscriber=InquiryPerson("Abernathy", "Kevin", "LBP6093318", date(1988, 1, 22), "M"),
            charge=Decimal("95"), service_from=date(2025, 3, 27), service_to=date(2025, 3, 27),
        ),
        StatusInquiry(
            trace="RFS250502-0003", claim_id="RFM-25-0417", **common,
            subscriber=InquiryPerson("Lopez", "Daniel", "LBP5531907", date(1979, 1, 1), "M"),
            patient=InquiryPerson("Lopez", "Maria", "", date(1979, 9, 15), "F"),
            charge=Decimal("340"), service_from=date(2025, 4, 2), service_to=date(2025, 4, 2),
        ),
    ]  # fmt: skip


def envelope(*, line_breaks: bool = True) -> Envelope:
    return Envelope(
        sender_id="RIVERBEND01", receiver_id="BRIDGEPT", interchange_control=817,
        group_control=817, batch_id="RFS250502A", submitter_name="Riverbend Family Medicine",
        receiver_name="BRIDGEPOINT", ack_requested=False, line_breaks=line_breaks,
        when=datetime(2025, 5, 2, 8, 0),
    )  # fmt: skip


def text_of(inquiries: list[StatusInquiry], *, line_breaks: bool = True) -> str:
    out = io.StringIO()
    write_276(out, inquiries, envelope(line_breaks=line_breaks))
    return out.getvalue()


def test_the_field_guides_276_is_written_byte_for_byte() -> None:
    assert text_of(guide_inquiries()) == (EXAMPLES / "status-276.x12").read_text()


def test_the_field_guides_276_passes_our_276_map() -> None:
    assert validate_with_pyx12(EXAMPLES / "status-276.x12") == []


def test_every_276_we_write_passes_our_map() -> None:
    many = [
        StatusInquiry(
            trace=f"T{n:05d}", claim_id=f"C-{n}", payer_id="87726", payer_name="Acme Health",
            provider_name="Main Street Clinic", provider_npi="1234567893",
            subscriber=InquiryPerson("Kim", "Al", f"M{n}", None if n % 3 else date(1970, 1, 2),
                                     "U"),
            patient=InquiryPerson("Kim", "Bo", "", date(2015, 3, 4), "M") if n % 2 else None,
            charge=Decimal("120.50"), service_from=date(2025, 6, 1),
            service_to=date(2025, 6, 3 if n % 4 else 1), bill_type="131" if n % 5 else "",
        )
        for n in range(1, 12)
    ]  # fmt: skip
    assert validate_with_pyx12(text_of(many, line_breaks=False).encode()) == []


def test_our_276_map_catches_a_broken_276() -> None:
    text = text_of(guide_inquiries()).replace("TRN*1*RFS250502-0002", "TRN*2*RFS250502-0002")
    problems = validate_with_pyx12(text.encode())
    assert problems and problems[0].segment_id == "TRN"
    text = text_of(guide_inquiries()).replace("DTP*472*D8*20250327", "DTP*232*D8*20250327")
    assert any(p.segment_id == "DTP" for p in validate_with_pyx12(text.encode()))


def test_the_field_guides_277_reads_as_its_three_answers() -> None:
    answers = read_277(EXAMPLES / "status-277.x12").answers
    assert [(a.trace, a.claim_id, a.outcome) for a in answers] == [
        ("RFS250502-0001", "RFM-25-0388", "paid"),
        ("RFS250502-0002", "RFM-25-0402", "not_found"),
        ("RFS250502-0003", "RFM-25-0417", "pending"),
    ]
    paid = answers[0]
    assert (paid.charge, paid.paid) == (Decimal("185"), Decimal("98.40"))
    assert paid.finalized == date(2025, 4, 28) and paid.remit_date == date(2025, 4, 29)
    assert paid.remit_trace == "LKS0429-440017" and paid.payer_claim_number == "LBP25032400415"
    assert [line.line_id for line in paid.lines] == ["RFM0388-1"]
    assert paid.lines[0].statuses[0].category == "F1"
    assert answers[2].payer_claim_number == "LBP2505060221"
    words = answers[1].detail()["statuses"]
    assert words == [{"category": "D0", "code": "35", "entity": "", "known": True,
                      "category_text": "data search unsuccessful",
                      "code_text": "claim/encounter not found"}]  # fmt: skip


def _277(*claim: str) -> bytes:
    body = [
        "ST*277*0001*005010X212", "BHT*0010*08*X1*20250502*0805*DG", "HL*1**20*1",
        "NM1*PR*2*ACME*****PI*87726", "HL*2*1*21*1", "NM1*41*2*CLINIC*****46*S1",
        "HL*3*2*19*1", "NM1*1P*2*CLINIC*****XX*1234567893", "HL*4*3*22*0",
        "NM1*IL*1*KIM*AL****MI*M1", *claim,
    ]  # fmt: skip
    segments = [
        "ISA*00*          *00*          *ZZ*BRIDGEPT       *ZZ*S1             *250502*0805*^"
        "*00501*000000818*0*T*:", "GS*HN*BRIDGEPT*S1*20250502*0805*818*X*005010X212",
        *body, f"SE*{len(body) + 1}*0001", "GE*1*818", "IEA*1*000000818",
    ]  # fmt: skip
    return ("~".join(segments) + "~").encode()


def test_unknown_codes_are_kept_raw_and_shown_as_unknown() -> None:
    (answer,) = read_277(_277("TRN*2*T1", "STC*Q7:9999:QC*20250502**95*0*****F0:777:PR")).answers
    assert answer.outcome == "unknown"
    words = answer.detail()["statuses"]
    assert isinstance(words, list)
    assert [(w["category"], w["code"], w["known"]) for w in words] == [
        ("Q7", "9999", False),
        ("F0", "777", False),
    ]
    assert words[0]["category_text"] == "unknown status category Q7 (not in our table)"
    assert words[1]["code_text"] == "unknown status code 777 (not in our table)"
    # the most severe known category still counts with an unknown one beside it
    (answer,) = read_277(_277("TRN*2*T1", "STC*Q7:1*20250502", "STC*A7:21*20250502")).answers
    assert answer.outcome == "rejected"


def test_an_inquiry_level_error_is_kept_apart() -> None:
    text = _277("TRN*2*T1", "STC*P1:20*20250502").replace(
        b"HL*3*2*19*1~", b"HL*3*2*19*1~STC*E0:24:85*20250502~"
    )
    response = read_277(text)
    assert [(r.level, r.status.category) for r in response.request_statuses] == [("provider", "E0")]
    assert [a.outcome for a in response.answers] == ["pending"]


@pytest.mark.parametrize(
    ("claim", "position", "words"),
    [
        (("STC*P1:20*20250502",), 13, "STC before the claim's TRN"),
        (("TRN*2*T1", "STC*F1:65*20250502**ABC"), 14, "STC04 'ABC' is not a number"),
        (("TRN*2*T1", "STC*F1:65*2025-05-02"), 14, "STC02 '2025-05-02' is not a date"),
        (("TRN*1*T1",), 13, "TRN01"),
        (("HL*5*9*23",), 13, "HL02 names parent '9'"),
        (("TRN*2*T1", "STC**20250502"), 14, "STC01 (the status category) is empty"),
        (("TRN*2*T1", "STC*P1:20*20250502", "DTP*472*D8*2025XX01"), 15, "DTP03"),
    ],
)
def test_a_broken_277_names_the_segment(claim: tuple[str, ...], position: int, words: str) -> None:
    with pytest.raises(Status277Error) as caught:
        read_277(_277(*claim))
    assert caught.value.segment_index == position
    assert words in str(caught.value)


CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus" / "other"


def test_a_public_276_passes_our_map_and_reads_back() -> None:
    """stupidedi's X212 example (another project's 276: two providers, a dependent)."""
    from gateway.transactions.status_276_reader import read_276

    path = CORPUS / "stupidedi_X212_276_claim-request.edi"
    assert validate_with_pyx12(path) == []
    asked = read_276(path)
    assert [(a.trace, a.claim_id, a.level) for a in asked] == [
        ("ABCXYZ1", "SM123456", "22"), ("ABCXYZ2", "JO234567", "22"), ("ABCXYZ3", "MA345678", "23")
    ]  # fmt: skip
    assert asked[0].charge == Decimal("8513.88") and asked[0].service_dates == "20050831-20050906"


def test_a_public_277_reads_with_unknown_codes_kept() -> None:
    response = read_277(CORPUS / "stupidedi_X212_277_claim-response.edi")
    assert [(a.trace, a.claim_id, a.outcome) for a in response.answers] == [
        ("ABCXYZ1", "SM123456", "info_requested"), ("ABCXYZ2", "JO234567", "finalized"),
        ("ABCXYC3", "MA345678", "denied"),
    ]  # fmt: skip
    first = response.answers[0].detail()["statuses"]
    assert first == [{"category": "P3", "code": "317", "entity": "", "known": False,
                      "category_text": "pending: provider requested information",
                      "code_text": "unknown status code 317 (not in our table)"}]  # fmt: skip
    denied = response.answers[2]
    assert (denied.charge, denied.paid) == (Decimal("150"), Decimal("0"))
    assert denied.lines[0].statuses[0].entity == "QC"
