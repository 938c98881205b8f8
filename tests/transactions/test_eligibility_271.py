"""271 responses read element by element: the field guide's examples, repeated service types,
2120 loops, and broken files refused with the segment position."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.transactions.eligibility_271 import Eligibility271Error, read_271
from gateway.transactions.ig_validation import validate_with_pyx12

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "x12-examples"

HEAD = (
    "ISA*00*          *00*          *ZZ*BRIDGEPT       *ZZ*RIVERBEND01    *250609*0716*^*00501*"
    "000000820*0*T*:~GS*HB*BRIDGEPT*RIVERBEND01*20250609*0716*820*X*005010X279A1~"
    "ST*271*0001*005010X279A1~BHT*0022*11*B000000007*20250609*0716~"
    "HL*1**20*1~NM1*PR*2*PRAIRIE MUTUAL HEALTH*****PI*PMH01~"
    "HL*2*1*21*1~NM1*1P*2*RIVERBEND FAMILY MEDICINE*****XX*1457394629~"
)


def interchange(body: str) -> bytes:
    segments = (HEAD + body).split("~")[2:-1]  # ST .. last body segment
    return (HEAD + body + f"SE*{len(segments) + 1}*0001~GE*1*820~IEA*1*000000820~").encode()


@pytest.mark.parametrize("name", ["elig-270.x12", "elig-271.x12", "elig-271-aaa.x12"])
def test_the_field_guides_examples_pass_pyx12_with_our_maps(name: str) -> None:
    assert validate_with_pyx12(EXAMPLES / name) == []


def test_the_field_guides_271_reads_as_two_answers() -> None:
    [response] = read_271(EXAMPLES / "elig-271.x12")
    assert (response.reference, response.control) == ("RFE250609-01", "0001")
    maria, emma = response.answers
    assert maria.trace == "RFE0609-0001" and maria.payer_traces == ["PMH-EL-77120455"]
    assert (maria.payer.id, maria.payer.last_name) == ("PMH01", "PRAIRIE MUTUAL HEALTH")
    assert maria.provider is not None and maria.provider.id == "1457394629"
    s = maria.subscriber
    assert (s.name.last_name, s.name.first_name, s.name.id) == ("LOPEZ", "MARIA", "PMH884210337")
    assert (s.birth_date, s.sex) == (date(1979, 9, 15), "F")
    assert (s.address_lines, s.city, s.state, s.zip) == (["81 BLUFF STREET"], "SPRINGFIELD",
                                                         "IL", "62702")  # fmt: skip
    group = s.reference("6P")
    assert group is not None and (group.value, group.description) == (
        "PMG5520",
        "PRAIRIE GOLD PPO 2000",
    )
    assert [(d.qualifier, d.start) for d in s.dates] == [("346", date(2025, 1, 1))]
    assert maria.dependent is None
    rows = [(b.kind, b.coverage_level, b.service_types, b.period, b.amount, b.percent, b.network)
            for b in maria.benefits]  # fmt: skip
    assert rows == [
        ("1", "FAM", ["30"], "", None, None, ""),
        ("C", "IND", ["30"], "23", Decimal("2000"), None, "Y"),
        ("C", "IND", ["30"], "29", Decimal("1450"), None, "Y"),
        ("C", "FAM", ["30"], "23", Decimal("4000"), None, "Y"),
        ("C", "IND", ["30"], "23", Decimal("4000"), None, "N"),
        ("G", "IND", ["30"], "23", Decimal("6000"), None, "Y"),
        ("G", "IND", ["30"], "29", Decimal("5210.75"), None, "Y"),
        ("A", "IND", ["30"], "27", None, Decimal("0.2"), "Y"),
        ("A", "IND", ["30"], "27", None, Decimal("0.4"), "N"),
        ("B", "IND", ["98"], "27", Decimal("30"), None, "Y"),
        ("B", "IND", ["UC"], "27", Decimal("75"), None, "Y"),
        ("B", "IND", ["86"], "27", Decimal("250"), None, "W"),
    ]
    assert (maria.benefits[0].insurance_type, maria.benefits[0].plan_name) == (
        "PR", "PRAIRIE GOLD PPO 2000")  # fmt: skip
    assert maria.benefits[9].messages == ["COPAY NOT SUBJECT TO DEDUCTIBLE"]
    # The dependent: the answer hangs on the 2000D that carries the trace, under JONATHAN.
    assert emma.trace == "RFE0609-0002"
    assert emma.subscriber.name.first_name == "JONATHAN"
    assert emma.dependent is not None and emma.member is emma.dependent
    d = emma.dependent
    assert (d.name.first_name, d.birth_date, d.relationship) == ("EMMA", date(2018, 4, 11), "19")
    assert [(x.qualifier, x.start) for x in d.dates] == [("346", date(2023, 1, 1)),
                                                         ("347", date(2025, 4, 30))]  # fmt: skip
    assert [(b.kind, b.service_types, b.messages) for b in emma.benefits] == [
        ("6", ["30"], ["COVERAGE TERMINATED 04/30/2025"]),
    ]


def test_an_aaa_refusal_stays_with_the_subscriber() -> None:
    [response] = read_271(EXAMPLES / "elig-271-aaa.x12")
    [answer] = response.answers
    assert answer.trace == "RFE0609-0003" and answer.benefits == []
    [aaa] = answer.subscriber.rejections
    assert (aaa.valid_request, aaa.reason, aaa.follow_up, aaa.level) == ("Y", "72", "C",
                                                                         "subscriber")  # fmt: skip
    assert aaa.position == 12


def test_repeated_service_types_hsd_procedures_and_2120_loops() -> None:
    data = interchange(
        "HL*3*2*22*0~TRN*2*REQ-1*9457394629~NM1*IL*1*DOE*JANE****MI*M1~"
        "EB*1**1^33^35^98*HM*GOLD HMO~"
        "EB*F*IND*41***23***VS*2***AD:D1110~HSD*VS*2***22*1~"
        "EB*L~III*ZZ*11~LS*2120~NM1*P3*1*WELBY*MARCUS****XX*1234567893~PER*IC**TE*5125550100~LE*2120~"
        "EB*B*IND*98***27*25*****Y~AAA*Y**33*R~"
    )
    [answer] = read_271(data)[0].answers
    active, limit, pcp, copay = answer.benefits
    assert active.service_types == ["1", "33", "35", "98"]
    assert (limit.quantity_qualifier, limit.quantity, limit.procedure) == (
        "VS",
        Decimal(2),
        ["AD", "D1110"],
    )
    [hsd] = limit.deliveries
    assert (hsd.quantity_qualifier, hsd.quantity, hsd.period, hsd.periods) == (
        "VS", Decimal(2), "22", Decimal(1))  # fmt: skip
    [entity] = pcp.entities
    assert entity.name is not None and (entity.name.entity, entity.name.last_name) == (
        "P3",
        "WELBY",
    )
    assert entity.contact == ["5125550100"]
    assert [r.reason for r in copay.rejections] == ["33"]


def test_a_refusal_of_the_whole_inquiry_is_kept_on_the_transaction_set() -> None:
    data = (HEAD.replace("HL*2*1*21*1~NM1*1P*2*RIVERBEND FAMILY MEDICINE*****XX*1457394629~", "")
            .replace("HL*1**20*1~", "HL*1**20*0~AAA*Y**42*R~"))  # fmt: skip
    data += "SE*6*0001~GE*1*820~IEA*1*000000820~"
    [response] = read_271(data.encode())
    assert response.answers == [] and response.reference == "B000000007"
    assert [(r.reason, r.follow_up, r.level) for r in response.rejections] == [("42", "R", "payer")]


@pytest.mark.parametrize(
    ("body", "position", "says"),
    [
        ("HL*3*2*22*0~EB*1**30~", 10, "no NM1"),
        ("HL*3*9*22*0~NM1*IL*1*DOE*JANE****MI*M1~", 9, "HL02 names parent '9'"),
        ("HL*3*2*24*0~", 9, "HL03 '24' is not a 271 level"),
        ("HL*3*2*22*0~TRN*2**X~NM1*IL*1*DOE*JANE~", 10, "TRN02 (our trace number) is empty"),
        ("HL*3*2*22*0~NM1*IL*1*DOE*JANE~EB*C*IND*30***23*1O0~", 11, "EB07 '1O0' is not a number"),
        ("HL*3*2*22*0~NM1*IL*1*DOE*JANE~EB**IND*30~", 11, "EB01 is required"),
        ("HL*3*2*22*0~NM1*IL*1*DOE*JANE~HSD*VS*2~", 11, "outside a benefit"),
        ("HL*3*2*22*0~NM1*IL*1*DOE*JANE~DMG*D8*19791332~", 11, "DMG02 '19791332' is not a date"),
        ("HL*3*2*22*0~HL*3*2*22*0~", 10, "HL01 '3' is used twice"),
        # found by the reply fuzz (seed 1205): the subscriber's NM1 dropped above a dependent
        ("HL*3*2*22*1~HL*4*3*23*0~NM1*03*1*DOE*JIM~TRN*2*T1~", 9, "HL 22 (subscriber) has no NM1"),
    ],
)  # fmt: skip
def test_a_broken_271_is_refused_with_the_segment_position(
    body: str, position: int, says: str
) -> None:
    with pytest.raises(Eligibility271Error) as caught:
        read_271(interchange(body))
    assert caught.value.segment_index == position
    assert says in str(caught.value)
    assert f"segment {position}" in str(caught.value)
