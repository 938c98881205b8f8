"""Envelope faults get a TA1 rejection and nothing else; broken sets get a 999 that says where."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.simulator.state import load_state
from gateway.transactions.ack_999 import read_999
from gateway.transactions.ack_ta1 import read_ta1
from gateway.transactions.status_277ca import read_277ca
from tests.simulator.sim_helpers import assert_balanced, assert_valid, build_837, make_run, sample


def _kinds(names: list[str]) -> list[str]:
    return [name.split("-")[0] for name in names]


def _truncated(text: str) -> str:
    return text[: text.index("GE*")]


ENVELOPE_FAULTS: list[tuple[str, Callable[[str], str], str]] = [
    ("IEA02 is not ISA13", lambda t: t.replace("IEA*1*000000101", "IEA*1*000000102"), "001"),
    ("IEA01 counts two groups", lambda t: t.replace("IEA*1*", "IEA*2*"), "021"),
    ("the file ends early", _truncated, "023"),
    (
        "ISA15 is neither T nor P",
        lambda t: t.replace("*000000101*1*T*:", "*000000101*1*X*:"),
        "020",
    ),
    ("ISA12 is 4010", lambda t: t.replace("*^*00501*", "*^*00401*"), "017"),
    ("ISA13 is not digits", lambda t: t.replace("000000101", "00000010A"), "018"),
]


@pytest.mark.parametrize(
    ("fault", "change", "note"), ENVELOPE_FAULTS, ids=[f[0] for f in ENVELOPE_FAULTS]
)
def test_a_bad_envelope_gets_a_ta1_rejection_and_nothing_else(
    tmp_path: Path, fault: str, change: Callable[[str], str], note: str
) -> None:
    run = make_run(tmp_path)
    run.drop(change(build_837([sample()])))
    report = run.step()
    assert _kinds(report.written) == ["TA1"], fault
    assert report.interchanges_rejected == 1 and report.claims_accepted == 0
    path = run.one(report, "TA1")
    assert_valid(path)
    [ta1] = read_ta1(path)
    assert (ta1.status, ta1.note_code, ta1.accepted) == ("R", note, False)
    assert load_state(run.state).claims == {}


def test_an_unreadable_file_is_rejected_with_fallback_identities(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"clearinghouse": {"id": "MYCH", "gateway_id": "THEM"}})
    run.drop(b"this is not an interchange\n", "notes.txt")
    report = run.step()
    path = run.one(report, "TA1")
    assert_valid(path)
    [ta1] = read_ta1(path)
    assert (ta1.control_number, ta1.status, ta1.note_code) == ("000000000", "R", "022")
    assert path.read_text().startswith("ISA*00*          *00*          *ZZ*MYCH           *ZZ*THEM")


def test_a_reused_interchange_control_number_is_a_duplicate(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    run.drop(build_837([sample(n=0)], 555), "a.x12")
    run.step()
    run.drop(build_837([sample(n=1)], 555), "b.x12")
    report = run.step()
    assert _kinds(report.written) == ["TA1"]
    [ta1] = read_ta1(run.one(report, "TA1"))
    assert (ta1.control_number, ta1.status, ta1.note_code) == ("000000555", "R", "025")


def test_an_unknown_receiver_is_rejected(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"clearinghouse": {"accepted_receiver_ids": ["OTHERCH"]}})
    run.drop(build_837([sample()]))
    [ta1] = read_ta1(run.one(run.step(), "TA1"))
    assert (ta1.status, ta1.note_code) == ("R", "009")


def test_no_ta1_when_none_was_asked_for(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    run.drop(build_837([sample()], ack=False))
    assert _kinds(run.step().written) == ["999", "277CA", "835"]


# ------------------------------------------------------------------------------- 999
def _set_errors(path: Path) -> list[tuple[str, str, str, str, list[str], list[tuple[str, ...]]]]:
    [group] = read_999(path)
    return [
        (e.segment_id, e.position, e.loop, e.code, e.context,
         [(x.position, x.reference, x.code, x.bad_value) for x in e.elements])
        for s in group.sets for e in s.segment_errors
    ]  # fmt: skip


def test_a_set_our_rules_find_broken_is_rejected_with_ik3_ik4(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    run.drop(build_837([sample()]).replace("CLM*PCN-2025-0001*175*", "CLM*PCN-2025-0001*180*"))
    report = run.step()
    assert _kinds(report.written) == ["TA1", "999"]
    assert (report.sets_rejected, report.claims_accepted) == (1, 0)
    path = run.one(report, "999")
    assert_valid(path)
    [group] = read_999(path)
    assert (group.status, group.sets_included, group.sets_received, group.sets_accepted) == (
        "R", 1, 1, 0,
    )  # fmt: skip
    [st] = group.sets
    assert (st.control_number, st.status, st.codes) == ("0001", "R", ["5"])
    # CLM is the 19th segment of the set (ST = 1): see field guide 9.1.
    assert _set_errors(path) == [
        ("CLM", "19", "2300", "8", ["CLM01:PCN-2025-0001"], [("2", "782", "I12", "180")]),
    ]


def test_bad_npi_and_missing_original_reference_get_their_own_codes(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    bad_npi = sample(n=0)
    bad_npi["rendering_provider"]["npi"] = "1987654321"
    void = sample(n=1, frequency="8")  # a void without REF*F8
    run.drop(build_837([bad_npi, void]))
    path = run.one(run.step(), "999")
    assert_valid(path)
    errors = _set_errors(path)
    # The rendering provider's NM1 is segment 21; the void's CLM (where REF*F8 is missing) is 44.
    assert [e[:4] for e in errors] == [("NM1", "21", "", "8"), ("REF", "44", "2300", "I6")]
    assert errors[0][4] == ["CLM01:PCN-2025-0001"]
    assert errors[1][4] == ["CLM01:PCN-2025-0002"]
    assert errors[0][5] == [("9", "67", "7", "1987654321")]


def test_one_bad_group_of_two_rejects_only_itself(tmp_path: Path) -> None:
    good = build_837([sample(n=0)], 101)
    bad = build_837([sample(n=1)], 102).replace("CLM*PCN-2025-0002*235.5*", "CLM*PCN-2025-0002*1*")
    isa, rest = good.split("~", 1)
    groups = rest[: rest.index("IEA*")] + bad[bad.index("GS*") : bad.index("IEA*")]
    run = make_run(tmp_path)
    run.drop(f"{isa}~{groups}IEA*2*000000101~")
    report = run.step()
    assert (report.sets_accepted, report.sets_rejected) == (1, 1)
    path = run.one(report, "999")
    assert_valid(path)
    assert [(g.control_number, g.status, g.sets_accepted) for g in read_999(path)] == [
        ("101", "A", 1), ("102", "R", 0),
    ]  # fmt: skip
    assert [a.claim_id for a in read_277ca(run.one(report, "277CA"))] == ["PCN-2025-0001"]
    [claim] = assert_balanced(run.one(report, "835"))
    assert claim.claim.claim_id == "PCN-2025-0001"


def test_trailer_counts_are_set_and_group_errors(tmp_path: Path) -> None:
    text = build_837([sample()])
    se = re.search(r"SE\*(\d+)\*0001", text)
    assert se is not None
    run = make_run(tmp_path / "se")
    run.drop(text.replace(se.group(0), f"SE*{int(se.group(1)) - 1}*0001"))
    report = run.step()
    [group] = read_999(run.one(report, "999"))
    assert (group.status, group.sets[0].status, group.sets[0].codes) == ("R", "R", ["4"])
    assert _kinds(report.written) == ["TA1", "999"]

    run = make_run(tmp_path / "ge")
    run.drop(text.replace("GE*1*101", "GE*2*101"))
    report = run.step()
    path = run.one(report, "999")
    assert_valid(path)
    [group] = read_999(path)
    assert (group.status, group.codes, group.sets, group.sets_included) == ("R", ["5"], [], 2)
    assert _kinds(report.written) == ["TA1", "999"]


def test_an_unsupported_version_rejects_the_group(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    run.drop(build_837([sample()]).replace("*X*005010X222A1~ST", "*X*005010X222A2~ST"))
    report = run.step()
    [group] = read_999(run.one(report, "999"))
    assert (group.version, group.status, group.codes) == ("005010X222A2", "R", ["2"])
    assert _kinds(report.written) == ["TA1", "999"]


def test_junk_after_a_good_interchange_is_rejected_on_its_own(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    run.drop(build_837([sample()]) + "\nPADDING THAT IS NOT X12\n")
    report = run.step()
    assert _kinds(report.written) == ["TA1", "999", "277CA", "TA1", "835"]
    first, junk = (read_ta1(p)[0] for p in run.written(report, "TA1"))
    assert (first.control_number, first.status) == ("000000101", "A")
    assert (junk.control_number, junk.status, junk.note_code) == ("000000000", "R", "022")
