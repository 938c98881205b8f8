"""Claim edits (277CA) and adjudication (835): exact codes, exact money, carried across claims."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain.remittance import ClaimPayment
from gateway.simulator.state import load_state
from gateway.transactions.status_277ca import read_277ca
from tests.simulator.sim_helpers import (
    NOW,
    assert_balanced,
    assert_valid,
    build_837,
    cas,
    make_run,
    money_by_group,
    posted,
    sample,
)
from tests.strategies import TODAY, claims

D = Decimal
TODAY_NOW = NOW.replace(year=TODAY.year, month=TODAY.month, day=TODAY.day) + timedelta(days=1)


def _member(n: int, member_id: str, **changes: Any) -> dict[str, Any]:
    record = sample(n=n, **changes)
    record["subscriber"]["member_id"] = member_id
    return record


# ------------------------------------------------------------------------------- 277CA
def test_claim_edits_reject_with_the_configured_status_codes(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"claims": {
        "unknown_members": ["BAD1"], "unknown_member_prefixes": ["TMP"],
        "enrolled_npis": ["1234567893"], "timely_filing_days": 30,
    }})  # fmt: skip
    other_npi = sample(n=1, claim_id="C-NPI")
    other_npi["billing_provider"]["npi"] = "1649371006"
    records = [
        _member(1, "BAD1", claim_id="C-LIST"),
        _member(1, "TMP999", claim_id="C-PREFIX"),
        other_npi,
        sample(n=0, claim_id="C-LATE"),  # served 2025-03-03, 43 days before NOW
        sample(n=1, claim_id="C-OK"),
    ]
    run.drop(build_837(records))
    report = run.step()
    assert (report.claims_accepted, report.claims_rejected) == (1, 4)
    path = run.one(report, "277CA")
    assert_valid(path)
    acks = {a.claim_id: a for a in read_277ca(path)}
    got = {
        claim_id: [(s.category, s.code, s.entity, s.action) for s in a.statuses]
        for claim_id, a in acks.items()
    }
    assert got == {
        "C-LIST": [("A7", "33", "IL", "U")],
        "C-PREFIX": [("A7", "33", "IL", "U")],
        "C-NPI": [("A7", "562", "85", "U")],
        "C-LATE": [("A7", "187", "", "U")],
        "C-OK": [("A2", "20", "PR", "WQ")],
    }
    assert {i: (a.outcome, a.payer_claim_number) for i, a in acks.items()} == {
        "C-LIST": ("rejected", ""), "C-PREFIX": ("rejected", ""), "C-NPI": ("rejected", ""),
        "C-LATE": ("rejected", ""), "C-OK": ("accepted", "SIM0000000001"),
    }  # fmt: skip
    text = path.read_text()
    assert "QTY*90*1~" in text and "QTY*AA*4~" in text
    [paid] = assert_balanced(run.one(report, "835"))  # rejected claims are never paid
    assert paid.claim.claim_id == "C-OK"


def test_random_rejections_use_their_status(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"claims": {"random_reject_rate": "1"}})
    run.drop(build_837([sample()]))
    report = run.step()
    [ack] = read_277ca(run.one(report, "277CA"))
    assert [(s.category, s.code) for s in ack.statuses] == [("A7", "21")]
    assert run.written(report, "835") == []


# ------------------------------------------------------------------------------- 835 money
def test_the_deductible_is_taken_once_across_claims_and_steps(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"adjudication": {"deductible": "100", "out_of_pocket_max": "110"}})
    run.drop(build_837([sample(n=0)], 101), "a.x12")
    [first] = assert_balanced(run.one(run.step(), "835"))
    run.drop(build_837([sample(n=1)], 102), "b.x12")
    [second] = assert_balanced(run.one(run.step(NOW + timedelta(days=1)), "835"))
    # Allowed 80%: 120 + 20. Deductible 100 on line 1, then 20% coinsurance (4 + 4).
    assert cas(first.claim) == [
        ("LN0001A", "CO", "45", D("30")), ("LN0001A", "PR", "1", D("100")),
        ("LN0001A", "PR", "2", D("4")), ("LN0001B", "CO", "45", D("5")),
        ("LN0001B", "PR", "2", D("4")),
    ]  # fmt: skip
    # Same member: no deductible left; out-of-pocket 108 of 110 met, so only 2 more.
    assert cas(second.claim) == [
        ("LN0002A", "CO", "45", D("40")), ("LN0002A", "PR", "2", D("2")),
        ("LN0002B", "CO", "45", D("7.1")),
    ]  # fmt: skip
    assert (second.claim.paid, second.claim.patient_responsibility) == (D("186.4"), D("2"))
    totals = load_state(run.state).accumulators["ACMEH|XYZ123456789"]
    assert (totals.deductible_met, totals.out_of_pocket_met) == (D("100"), D("110"))


def test_fee_schedule_copays_and_denials_use_real_codes(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"adjudication": {
        "deductible": "0",
        "fee_schedule": {"99214": "90.00"},
        "copays": {"99214": "25"},
        "auth_required": ["99213"],
        "denials": [{"procedure": "36415", "group": "CO", "reason": "50", "remark": "M127"},
                    {"procedure": "87880", "group": "PR", "reason": "96", "remark": "N130"}],
    }})  # fmt: skip
    run.drop(build_837([sample(n=0), sample(n=1)]))  # only the second has a prior authorization
    first, second = assert_balanced(run.one(run.step(), "835"))
    assert cas(first.claim) == [
        ("LN0001A", "CO", "197", D("150")), ("LN0001B", "CO", "50", D("25")),
    ]  # fmt: skip
    assert [line.remarks for line in first.claim.lines] == [["N706"], ["M127"]]
    assert first.posting["status"] == "denied" and first.claim.paid == 0
    assert cas(second.claim) == [
        ("LN0002A", "CO", "45", D("110")), ("LN0002A", "PR", "3", D("25")),
        ("LN0002B", "PR", "96", D("35.5")),
    ]  # fmt: skip
    assert [line.allowed for line in second.claim.lines] == [D("90"), None]
    assert second.claim.paid == D("65")
    assert second.balance is not None
    assert (second.balance["breakdown"]["copay"], second.balance["breakdown"]["noncovered"]) == (
        "25.00", "35.50",
    )  # fmt: skip


def test_a_random_denial_rate_of_one_denies_every_line(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"adjudication": {"random_denial_rate": "1"}})
    run.drop(build_837([sample()]))
    [claim] = assert_balanced(run.one(run.step(), "835"))
    assert cas(claim.claim) == [
        ("LN0001A", "CO", "50", D("150")), ("LN0001B", "CO", "50", D("25")),
    ]  # fmt: skip
    assert [line.remarks for line in claim.claim.lines] == [["N130"], ["N130"]]


# ------------------------------------------------------------------------------- PLB
def test_provider_adjustments_keep_the_835_in_balance(tmp_path: Path) -> None:
    run = make_run(
        tmp_path, {"adjudication": {"deductible": "0"}, "adjustments": {"plb_rate": "1"}}
    )
    run.drop(build_837([sample(n=0)], 101), "a.x12")
    first = run.one(run.step(), "835")
    run.drop(build_837([sample(n=1)], 102), "b.x12")
    second = run.one(run.step(NOW + timedelta(days=1)), "835")
    found = []
    for path in (first, second):
        assert_balanced(path)
        _, [end] = posted(path)
        items = end.end.provider_adjustments
        assert (
            items and end.payment.amount == end.end.paid_total - end.end.provider_adjustment_total
        )
        found += [(p.reason, p.amount > 0) for p in items]
    assert found[0] == ("L6", False)  # interest paid: negative, the first time (nothing earlier)
    assert set(found) <= {("L6", False), ("WO", True)}


# ------------------------------------------------------------------------------- reversals
def test_a_paid_claim_is_reversed_and_paid_again_in_a_later_835(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"adjudication": {"deductible": "100"},
                              "adjustments": {"reversal_rate": "1"}})  # fmt: skip
    run.drop(build_837([sample()]))
    first = run.step()
    assert first.reversals == 0 and first.pending == 1
    [paid] = assert_balanced(run.one(first, "835"))
    second = run.step()
    assert (second.reversals, second.payments, second.pending) == (1, 1, 0)
    reversal, corrected = assert_balanced(run.one(second, "835"))
    r, c, p = reversal.claim, corrected.claim, paid.claim
    assert (r.status_code, r.payer_claim_number, r.charge, r.paid, r.patient_responsibility) == (
        "22", p.payer_claim_number, -p.charge, -p.paid, -(p.patient_responsibility or 0),
    )  # fmt: skip
    assert cas(r) == [(i, g, reason, -amount) for i, g, reason, amount in cas(p)]
    assert reversal.posting["status"] == "reversed"
    assert reversal.balance is not None and reversal.balance["next_action"] == "reverse_previous"
    assert (c.status_code, c.claim_id) == ("1", p.claim_id)
    assert c.payer_claim_number == "SIM0000000002" != p.payer_claim_number
    assert c.paid > p.paid  # the correction allows 5% of the charge more
    # The deductible was given back by the reversal and taken again by the correction.
    assert sum(a.amount for a in c.all_adjustments() if (a.group, a.reason) == ("PR", "1")) == 100
    assert load_state(run.state).accumulators["ACMEH|XYZ123456789"].deductible_met == 100


def test_a_void_reverses_the_payment_and_the_debt_is_carried_forward(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"adjudication": {"deductible": "0"}})
    run.drop(build_837([sample(n=0)], 101), "a.x12")
    [paid] = assert_balanced(run.one(run.step(), "835"))
    number = paid.claim.payer_claim_number
    run.drop(build_837([sample(n=0, frequency="8", payer_claim_number=number)], 102), "b.x12")
    report = run.step(NOW + timedelta(days=1))
    [ack] = read_277ca(run.one(report, "277CA"))
    assert (ack.claim_id, ack.outcome) == ("PCN-2025-0001", "accepted")
    path = run.one(report, "835")
    [reversal] = assert_balanced(path)
    assert (reversal.claim.status_code, reversal.claim.payer_claim_number) == ("22", number)
    assert reversal.claim.paid == -paid.claim.paid == D("-112")
    _, [end] = posted(path)
    # Nothing to pay: the 112 owed is carried (FB negative) and BPR02 is 0.
    assert end.payment.amount == 0 and end.payment.handling_code == "H"
    assert [(p.reason, p.amount) for p in end.end.provider_adjustments] == [("FB", D("-112"))]
    run.drop(build_837([sample(n=1)], 103), "c.x12")
    later = run.one(run.step(NOW + timedelta(days=2)), "835")
    [new] = assert_balanced(later)
    _, [end] = posted(later)
    assert [(p.reason, p.amount) for p in end.end.provider_adjustments] == [("FB", D("112"))]
    assert end.payment.amount == new.claim.paid - 112
    # A second void of the same claim names a number that is no longer open.
    run.drop(build_837([sample(n=0, frequency="8", payer_claim_number=number)], 104), "d.x12")
    [again] = read_277ca(run.one(run.step(NOW + timedelta(days=3)), "277CA"))
    assert [(s.category, s.code) for s in again.statuses] == [("A7", "464")]


def test_a_replacement_reverses_the_old_payment_and_pays_the_new_claim(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"adjudication": {"deductible": "100"}})
    run.drop(build_837([sample(n=0)], 101), "a.x12")
    [paid] = assert_balanced(run.one(run.step(), "835"))
    replacement = sample(n=0, frequency="7", payer_claim_number=paid.claim.payer_claim_number)
    replacement["lines"][1]["charge"] = "40.00"
    replacement["total_charge"] = "190.00"
    run.drop(build_837([replacement], 102), "b.x12")
    report = run.step(NOW + timedelta(days=1))
    reversal, new = assert_balanced(run.one(report, "835"))
    assert (reversal.claim.status_code, reversal.claim.payer_claim_number) == (
        "22", paid.claim.payer_claim_number,
    )  # fmt: skip
    assert (new.claim.status_code, new.claim.frequency, new.claim.charge) == ("1", "7", D("190"))
    assert new.claim.payer_claim_number == "SIM0000000002"
    assert sum(a.amount for a in new.claim.all_adjustments() if a.reason == "1") == 100
    assert load_state(run.state).accumulators["ACMEH|XYZ123456789"].deductible_met == 100


def test_a_void_before_payment_cancels_it_and_an_unknown_original_is_rejected(
    tmp_path: Path,
) -> None:
    run = make_run(tmp_path, {"adjudication": {"delay_seconds": 3600}})
    run.drop(build_837([sample(n=0)], 101), "a.x12")
    assert run.step().pending == 1
    void = sample(n=0, frequency="8", payer_claim_number="SIM0000000001")
    stranger = sample(n=1, frequency="7", payer_claim_number="NOSUCHCLAIM")
    run.drop(build_837([void, stranger], 102), "b.x12")
    report = run.step(NOW + timedelta(minutes=5))
    acks = read_277ca(run.one(report, "277CA"))
    assert [(a.claim_id, a.outcome, [s.code for s in a.statuses]) for a in acks] == [
        ("PCN-2025-0001", "accepted", ["20"]), ("PCN-2025-0002", "rejected", ["464"]),
    ]  # fmt: skip
    assert report.pending == 0
    assert run.step(NOW + timedelta(hours=2)).written == []


# ------------------------------------------------------------------------------- property
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["professional", "dental", "institutional"]).flatmap(
        lambda kind: st.lists(
            claims(kind), min_size=1, max_size=4, unique_by=lambda c: str(c["claim_id"])
        )
    ),
    st.integers(0, 2**31),
)
def test_every_claim_adds_up_to_the_cent(tmp_path_factory: Any, records: list[dict[str, Any]],
                                         seed: int) -> None:  # fmt: skip
    """billed = paid + CO + PR + other adjustments, per claim, whatever the rules did."""
    run = make_run(tmp_path_factory.mktemp("sim"), {
        "seed": seed,
        "claims": {"random_reject_rate": "0.2"},
        "adjudication": {"random_denial_rate": "0.3", "deductible": "75.5",
                         "out_of_pocket_max": "400", "copay_by_kind": {"dental": "15"},
                         "fee_schedule": {"99213": "61.37"}},
        "adjustments": {"plb_rate": "0.5", "reversal_rate": "0.5"},
    })  # fmt: skip
    run.drop(build_837(records))
    reports = [run.step(TODAY_NOW), run.step(TODAY_NOW + timedelta(days=1))]
    submitted = {r["claim_id"]: r for r in records}
    for report in reports:
        for name in report.written:
            assert_valid(run.down / name)
        for path in run.written(report, "835"):
            for event in assert_balanced(path):
                claim: ClaimPayment = event.claim
                groups = money_by_group(claim)
                assert claim.charge == claim.paid + sum(groups.values(), D(0))
                assert claim.patient_responsibility == groups.get("PR", D(0))
                lines = {line["line_id"]: D(str(line["charge"])) for line in
                         submitted[claim.claim_id]["lines"]}  # fmt: skip
                sign = -1 if claim.status_code == "22" else 1
                assert {line.line_id: sign * line.charge for line in claim.lines} == lines
