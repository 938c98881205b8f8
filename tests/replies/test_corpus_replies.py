"""Every reply file of the public corpus (835, 999, 277CA, TA1) read, with facts for each."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.replies.acknowledgments import claim_acks, group_acks, interchange_acks
from gateway.replies.remittances import ClaimPosted, PaymentFinished, post_835
from gateway.x12.errors import X12SyntaxError

# path → per transaction: (claims, Σ CLP04, BPR02, balanced, balance errors)
REMITTANCES: dict[str, list[tuple[int, str, str, bool, int]]] = {
    "835/affect835_nevada_medicaid.txt": [
        (1, "0", "0", True, 0), (2, "0", "0", True, 0), (0, "0", "1812.27", True, 0),
    ],
    # ST 1002 is off by the PLB's 5.00, and two CAS carry the text 'amount' for an amount
    "835/affect835_sample_835.txt": [(2, "1.78", "1.78", False, 3), (4, "141.13", "141.13", True, 0)],
    "835/edi835_emedny_sample.txt": [(3, "45.75", "45.75", True, 0)],
    "835/edi835_united_healthcare_legacy_sample.txt": [(2, "349.99", "349.99", True, 0)],
    "835/lfh_managed-care.835": [(2, "945.00", "945.00", True, 0)],
    "835/lfh_tertiary-payment.835": [(1, "187.50", "187.50", False, 1)],
    # The index does not balance-check this file (GS08 '5010'); its 4010 twin shows the same
    # 5.75 against 7.02 that we find here.
    "835/oopfactory_835_5010_Example1.txt": [(10, "5.75", "5.75", False, 1)],
    "835/oopfactory_835_5010_WithMultipleInterchanges.txt": [
        (19, "776.06", "999.99", False, 26), (23, "3111.09", "9999.99", False, 46),
        (14, "3439.89", "482.13", False, 32),
    ],
    "835/pyx12_835_mult_loops.txt": [(1, "0", "0", True, 0)],
    "835/tastypackets_multi-line-not-delimited.edi": [(3, "45.75", "45.75", True, 0)],
    "835/tastypackets_profee-multiple.edi": [(3, "45.75", "45.75", True, 0)] * 156,
    "other/oopfactory_835_4010_Example1_GripElements.txt": [(9, "5.75", "5.75", False, 1)],
}  # fmt: skip


def _index(corpus: Path) -> dict[str, dict[str, str]]:
    with (corpus / "index.tsv").open(newline="") as f:
        return {row["path"]: row for row in csv.DictReader(f, delimiter="\t")}


def _remittance_facts(path: Path) -> tuple[list[tuple[int, str, str, bool, int]], int]:
    facts, claims = [], 0
    for event in post_835(path, source_file=path.name):
        if isinstance(event, ClaimPosted):
            claims += 1
            assert event.posting["claim_id"] == event.claim.claim_id
        elif isinstance(event, PaymentFinished):
            end = event.end
            facts.append((end.claim_count, str(end.paid_total), str(event.payment.amount),
                          event.balanced, len(event.balance_errors)))  # fmt: skip
    return facts, claims


def test_every_835_in_the_corpus_is_listed_here(corpus: Path) -> None:
    index = _index(corpus)
    listed = {p for p, row in index.items() if row["transaction"] == "835"}
    assert listed - set(REMITTANCES) == {
        "invalid/affect835_sample_835_with_interests.txt",
        "invalid/stupidedi_X221_case_1.edi",
        "invalid/stupidedi_X221_case_2.edi",
        "invalid/stupidedi_X221_case_3a.edi",
    }


@pytest.mark.parametrize("name", sorted(REMITTANCES))
def test_835_facts(corpus: Path, name: str) -> None:
    facts, claims = _remittance_facts(corpus / name)
    assert facts == REMITTANCES[name]
    row = _index(corpus)[name]
    assert claims == int(row["claims"])  # the index counts CLP segments
    if row["expected_valid"] == "yes":
        assert all(balanced for *_, balanced, _ in facts)
    match = re.search(r"835 BALANCE: (\d+) issue", row["notes"])
    if match and "with_interests" not in name:
        money_errors = sum(n for *_, n in facts) - (2 if "affect835_sample" in name else 0)
        assert money_errors == int(match.group(1))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("invalid/affect835_sample_835_with_interests.txt", "invalid segment id 'resnCode>a'"),
        ("invalid/stupidedi_X221_case_1.edi", "expected an ISA segment, found b'Business Scenario 1 '"),
        ("invalid/stupidedi_X221_case_2.edi", "expected an ISA segment, found b'Business Scenario 2D'"),
        ("invalid/stupidedi_X221_case_3a.edi", "expected an ISA segment, found b'Business Scenario 3a'"),
    ],
)  # fmt: skip
def test_broken_835s_are_refused_with_a_position(corpus: Path, name: str, message: str) -> None:
    with pytest.raises(X12SyntaxError) as err:
        _remittance_facts(corpus / name)
    assert err.value.message == message
    assert err.value.offset is not None


def test_remittance_totals_add_up_in_a_multi_interchange_file(corpus: Path) -> None:
    path = corpus / "835/tastypackets_profee-multiple.edi"
    paid = sum(
        (Decimal(e.posting["paid"]) for e in post_835(path, source_file="x")
         if isinstance(e, ClaimPosted)),
        Decimal(0),
    )  # fmt: skip
    assert paid == Decimal("45.75") * 156


# -- acknowledgments --------------------------------------------------------------------------
GROUPS_999 = {
    # path → [(AK102, AK901, included, received, accepted, [(AK202, IK501, IK3 errors)])]
    "999/imsweb_x12_999_accepted.txt": [("17456", "A", 1, 1, 1, [("0001", "A", 0)])],
    "999/imsweb_x12_999_accepted_ta1.txt": [("101", "R", 1, 1, 0, [("101", "R", 2)])],
    "999/imsweb_x12_999_rejected.txt": [("28", "R", 1, 1, 0, [("0028", "R", 1)])],
    "999/oopfactory_999_DHS_Wisconsin_Sample.txt": [
        ("17456", "P", 3, 3, 1, [("0001", "A", 0), ("002", "R", 1), ("0003", "R", 1)])
    ],
    "999/pyx12_834_ls_le_ls_5010.999.txt": [("146", "A", 1, 1, 1, [("146001", "A", 0)])],
    "999/pyx12_834_lui_id_5010.999.txt": [("13360001", "A", 1, 1, 1, [("0001", "A", 0)])] * 4,
    "999/staedi_simple999.edi": [
        ("17456", "P", 3, 3, 1, [("0001", "A", 0), ("0002", "R", 1), ("0003", "R", 1)])
    ],
    "999/stupidedi_X231A1_response-to-functional-group-containing-3-837s.edi": [
        ("17456", "P", 3, 3, 1, [("0001", "A", 0), ("0002", "R", 1), ("0003", "R", 1)])
    ],
}
TA1 = {
    "999/imsweb_x12_999_accepted_ta1.txt": [("101", "A", "000", True)],
    "ta1/oopfactory_TechnicalAcknowledgment_Sample1.txt": [
        ("0659", "A", "", True), ("0660", "A", "", True)
    ],
    "ta1/oopfactory_TechnicalAcknowledgment_SampleFromJeffN825.txt": [
        ("900000001", "R", "006", False)
    ],
    "ta1/staedi_x12_interchange_ack.txt": [("000000050", "A", "000", True)],
    "ta1/uhin_TA1.edi": [("000000100", "R", "024", False)],
}  # fmt: skip
CLAIM_ACKS = {
    "277ca/imsweb_x12_277CA_accepted.txt": [("5781", "accepted", [("A2", "20", "")])],
    "277ca/imsweb_x12_277CA_rejected.txt": [("3920394930203", "rejected", [("A7", "562", "85")])],
    "277ca/oopfactory_277_5010_FromLatitude81uk.txt": [
        ("MVC132-0145454", "accepted", [("A2", "20", "PRP")])
    ],
    # scrubbed codes (X9:999): read, and said to be unknown rather than guessed
    "277ca/oopfactory_277_Deidentified_from_nth.txt": [
        ("99999999-99999", "received", [("X9", "999", "99"), ("X9", "999", "XX"), ("X9", "999", "99")])
    ] * 3,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GROUPS_999))
def test_999_facts(corpus: Path, name: str) -> None:
    groups = group_acks(corpus / name)
    facts = [
        (g["control_number"], g["status"], g["sets_included"], g["sets_received"],
         g["sets_accepted"], [(s["control_number"], s["status"], len(s["errors"]))
                              for s in g["sets"]])
        for g in groups
    ]  # fmt: skip
    assert facts == GROUPS_999[name]
    for g in groups:
        for s in g["sets"]:
            assert s["accepted"] == (s["status"] in ("A", "E"))
            for e in s["errors"]:
                assert "unknown" not in e["text"], e


def test_999_rejection_is_explained_in_plain_text(corpus: Path) -> None:
    [group] = group_acks(corpus / "999/imsweb_x12_999_rejected.txt")
    [rejected] = group["sets"]
    assert rejected["status_text"] == "rejected"
    assert [(e["segment_id"], e["position_in_set"], e["code"], e["text"])
            for e in rejected["errors"]] == [("NM", "17", "1", "unrecognized segment ID")]  # fmt: skip
    assert rejected["errors"][0]["elements"] == []


@pytest.mark.parametrize("name", sorted(TA1))
def test_ta1_facts(corpus: Path, name: str) -> None:
    acks = interchange_acks(corpus / name)
    assert [(a["control_number"], a["status"], a["note_code"], a["accepted"]) for a in acks] == TA1[
        name
    ]


def test_ta1_notes_are_explained(corpus: Path) -> None:
    [ack] = interchange_acks(corpus / "ta1/uhin_TA1.edi")
    assert ack["status_text"] == "rejected"
    assert ack["note_text"] == "invalid interchange content (e.g. invalid GS segment)"


@pytest.mark.parametrize("name", sorted(CLAIM_ACKS))
def test_277ca_facts(corpus: Path, name: str) -> None:
    claims = claim_acks(corpus / name)
    facts = [
        (
            c["claim_id"],
            c["outcome"],
            [(s["category"], s["code"], s["entity"]) for s in c["statuses"]],
        )
        for c in claims
    ]
    assert facts == CLAIM_ACKS[name]


def test_277ca_rejection_is_explained(corpus: Path) -> None:
    [claim] = claim_acks(corpus / "277ca/imsweb_x12_277CA_rejected.txt")
    [status] = claim["statuses"]
    assert status["category_text"] == "acknowledgement: rejected for invalid information"
    assert status["code_text"] == "entity's national provider identifier (NPI)"
    assert status["entity_text"] == "billing provider"
    [scrubbed, *_] = claim_acks(corpus / "277ca/oopfactory_277_Deidentified_from_nth.txt")
    assert (
        scrubbed["statuses"][0]["category_text"] == "unknown status category X9 (not in our table)"
    )
