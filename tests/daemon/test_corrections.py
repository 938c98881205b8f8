"""Replacements, voids and reversals through the daemon, on SQLite and on PostgreSQL.

The payer (tests/daemon/payer.py) acknowledges with REF*1K PCN<claim id> and pays with that
CLP07; the practice's replacement and void leave ``payer_claim_number`` out.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.ledger.schema import ClaimState
from gateway.x12.reader import X12Reader
from tests.daemon.homes import (
    acknowledge,
    drop_claims,
    drop_reply,
    make_home,
    read_jsonl,
    run_once,
    sample_claims,
)
from tests.daemon.payer import (
    ack_999,
    adjudicate,
    claims_of,
    envelope_of,
    remit_835,
    reversal_of,
)
from tests.ledger.conftest import MakeDatabase

ONE, TWO = "PCN-2025-0001", "PCN-2025-0002"


def _sent(home: Path) -> list[Path]:
    return sorted((home / "exchange" / "in").glob("*-837P-*.x12"))


def _segments(path: Path, claim_id: str) -> list[list[str]]:
    """The segments of one claim's 2300 loop (CLM up to the next CLM or the end)."""
    out: list[list[str]] = []
    inside = False
    for seg in X12Reader(path):
        if seg.id == "CLM":
            inside = seg.get(1) == claim_id
        if inside and seg.id in ("CLM", "REF"):
            out.append([seg.id, *(seg.get(n) for n in range(1, 3))])
    return out


def _state(home: Path, db: str, claim_id: str) -> tuple[int, ClaimState]:
    from gateway.ledger.db import open_ledger

    with open_ledger(db) as ledger:
        stored = ledger.claim(claim_id)
        assert stored is not None
        return stored.version, stored.state


def _home(tmp_path: Path, make_database: MakeDatabase) -> tuple[Path, str]:
    db = make_database()
    home = make_home(tmp_path, database=db)
    return home, db


def test_replacement_and_void_fill_ref_f8_and_a_void_ends_voided(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    home, db = _home(tmp_path, make_database)
    records = sample_claims()
    drop_claims(home, "prof.json", records)
    run_once(home)
    [first] = _sent(home)
    acknowledge(home, first, "first")
    claims = {c.claim_id: c for c in claims_of(first)}
    paid_two = adjudicate(claims[TWO], payer_claim_number=f"PCN{TWO}")
    drop_reply(home, "pay.835", remit_835([paid_two], trace="TR-1"))
    run_once(home)
    assert _state(home, db, ONE) == (1, ClaimState.ACCEPTED)
    assert _state(home, db, TWO) == (1, ClaimState.PAID)

    # a replacement of ONE (a corrected charge) and a void of TWO, both without F8
    replacement = dict(records[0], frequency="7", total_charge="165.00")
    replacement["lines"] = [dict(records[0]["lines"][0], charge="140.00"), records[0]["lines"][1]]
    void = dict(records[1], frequency="8")
    drop_claims(home, "fix.json", [replacement, void])
    run_once(home)
    assert not list((home / "spool" / "rejected").iterdir())
    [_, second] = _sent(home)
    assert ["REF", "F8", f"PCN{ONE}"] in _segments(second, ONE)
    clm = next(s for s in X12Reader(second)
               if s.id == "CLM" and s.get(1) == ONE)  # fmt: skip
    assert clm.component(5, 3) == "7"
    clm_two = next(s for s in X12Reader(second)
                   if s.id == "CLM" and s.get(1) == TWO)  # fmt: skip
    assert clm_two.component(5, 3) == "8"
    assert ["REF", "F8", f"PCN{TWO}"] in _segments(second, TWO)
    from gateway.ledger.db import open_ledger

    with open_ledger(db) as ledger:
        [queued] = [e for e in ledger.history(ONE) if e.version == 2 and e.event == "queued"]
        assert queued.detail["payer_claim_number_from"] == "277CA"
        assert queued.detail["payer_claim_number"] == f"PCN{ONE}"

    # the payer accepts both; it takes back TWO's payment: the void ends voided
    acknowledge(home, second, "second")
    drop_reply(home, "void.835", remit_835([reversal_of(paid_two)], trace="TR-2"))
    run_once(home)
    assert _state(home, db, TWO) == (2, ClaimState.VOIDED)
    with open_ledger(db) as ledger:
        assert ledger.claim(TWO, version=1).state == ClaimState.REVERSED  # type: ignore[union-attr]
        assert ledger.payments_in_force(TWO) == []
    voided = [s for s in read_jsonl(home / "spool" / "status") if s["event"] == "voided"]
    assert [(s["claim_id"], s["version"], s["source"]) for s in voided] == [(TWO, 2, "835")]

    # a void of the voided claim again: refused, the ledger unchanged
    drop_claims(home, "again.json", [dict(void, billing_provider=records[1]["billing_provider"],
                                          payer_claim_number="X1")])  # fmt: skip
    run_once(home)
    errors = json.loads((home / "spool" / "rejected" / "again.json.errors.json").read_text())
    [problem] = errors["problems"]
    assert problem["field"] == "claim_id" and "already voided" in problem["message"]
    assert _state(home, db, TWO) == (2, ClaimState.VOIDED)


def test_a_void_of_a_claim_never_paid_ends_voided_with_the_277ca(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    home, db = _home(tmp_path, make_database)
    records = sample_claims()
    drop_claims(home, "prof.json", records[:1])
    run_once(home)
    [first] = _sent(home)
    acknowledge(home, first, "first")
    run_once(home)
    drop_claims(home, "void.json", [dict(records[0], frequency="8")])
    run_once(home)
    [_, second] = _sent(home)
    acknowledge(home, second, "second")
    run_once(home)
    assert _state(home, db, ONE) == (2, ClaimState.VOIDED)


def test_corrections_of_claims_the_payer_never_acknowledged_are_refused(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    """Still in flight (sent, no reply), or unknown: refused with the reason, nothing queued."""
    home, db = _home(tmp_path, make_database)
    records = sample_claims()
    drop_claims(home, "prof.json", records[:1])
    run_once(home)
    unknown = dict(records[1], frequency="7")
    drop_claims(home, "fix.json", [dict(records[0], frequency="7"), unknown])
    run_once(home)
    errors = json.loads((home / "spool" / "rejected" / "fix.json.errors.json").read_text())
    found = {p["claim"]: (p["field"], p["message"]) for p in errors["problems"]}
    assert found[ONE][0] == "frequency" and "still in flight" in found[ONE][1]
    assert found[TWO][0] == "claim_id" and "no claim of that id" in found[TWO][1]
    assert _state(home, db, ONE) == (1, ClaimState.SUBMITTED)
    from gateway.ledger.db import open_ledger

    with open_ledger(db) as ledger:
        assert ledger.claim(TWO) is None
    assert len(_sent(home)) == 1

    # accepted by the 999 alone: no number from the payer yet, the field is named
    [first] = _sent(home)
    isa, group = envelope_of(first)
    drop_reply(home, "a.999", ack_999(group, control=isa + 500))
    run_once(home)  # intake comes before the replies in a cycle
    drop_claims(home, "fix2.json", [dict(records[0], frequency="7")])
    run_once(home)
    errors = json.loads((home / "spool" / "rejected" / "fix2.json.errors.json").read_text())
    [problem] = errors["problems"]
    assert problem["field"] == "payer_claim_number" and "REF*F8" in problem["message"]
    assert _state(home, db, ONE) == (1, ClaimState.ACCEPTED)


def _money(balances: list[dict[str, Any]], claim_id: str) -> tuple[Decimal, list[dict[str, Any]]]:
    mine = [b for b in balances if b["claim_id"] == claim_id]
    replaced = {b["replaces"] for b in mine if b.get("replaces")}
    current = [
        b for b in mine if b["next_action"] != "reverse_previous" and b["id"] not in replaced
    ]
    return sum((Decimal(b["patient_owes"]) for b in mine), Decimal(0)), current


def test_a_reversal_and_its_correction_leave_one_current_balance(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    """ONE: the deductible drops from 10.00 to 4.00 (bill the patient 4.00, replacing the
    10.00 bill); TWO: the patient paid 10.00 at the visit and now owes nothing (refund)."""
    home, _db = _home(tmp_path, make_database)
    records = sample_claims()
    records[1]["patient_paid"] = "10.00"
    drop_claims(home, "prof.json", records)
    run_once(home)
    [first] = _sent(home)
    acknowledge(home, first, "first")
    claims = {c.claim_id: c for c in claims_of(first)}
    original = [adjudicate(claims[c]) for c in (ONE, TWO)]
    drop_reply(home, "pay.835", remit_835(original, trace="TR-1"))
    run_once(home)
    before = read_jsonl(home / "spool" / "balances")
    assert [b["next_action"] for b in before] == ["bill_patient", "bill_patient"]
    assert before[1]["patient_paid"] == "10.00" and "refund" not in before[1]
    # one 835: the reversals and the corrected payments (new CLP07s)
    corrected = [
        adjudicate(claims[ONE], deductible_due=Decimal("4.00"), payer_claim_number="NEW1"),
        adjudicate(claims[TWO], deductible_due=Decimal(0), payer_claim_number="NEW2"),
    ]
    again = [reversal_of(r) for r in original] + corrected
    drop_reply(home, "redo.835", remit_835(again, trace="TR-2"))
    run_once(home)
    balances = read_jsonl(home / "spool" / "balances")
    by_id = {b["id"]: b for b in balances}
    net_one, [current_one] = _money(balances, ONE)
    assert net_one == Decimal("4.00") == Decimal(current_one["patient_owes"])
    assert by_id[current_one["replaces"]]["patient_owes"] == "10.00"
    assert current_one["next_action"] == "bill_patient"
    net_two, [current_two] = _money(balances, TWO)
    assert net_two == Decimal(0) == Decimal(current_two["patient_owes"])
    assert current_two["next_action"] == "refund_patient"
    assert current_two["refund"] == "10.00" and current_two["patient_paid"] == "10.00"
    reversal = next(b for b in balances if b["claim_id"] == TWO
                    and b["next_action"] == "reverse_previous")  # fmt: skip
    assert reversal["reverses"] == current_two["replaces"]
    postings = read_jsonl(home / "spool" / "postings")
    for claim_id, owed in ((ONE, "4.00"), (TWO, "0.00")):
        paid = sum((Decimal(p["paid"]) for p in postings if p["claim_id"] == claim_id),
                   Decimal(0))  # fmt: skip
        [result] = [r for r in corrected if r.claim.claim_id == claim_id]
        assert paid == result.paid
        assert Decimal(owed) == result.patient


def test_a_reversal_of_a_payment_never_posted_is_held_and_changes_no_claim(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    home, db = _home(tmp_path, make_database)
    records = sample_claims()
    drop_claims(home, "prof.json", records[:1])
    run_once(home)
    [first] = _sent(home)
    acknowledge(home, first, "first")
    run_once(home)
    [claim] = claims_of(first)
    drop_reply(home, "stray.835", remit_835([reversal_of(adjudicate(claim))], trace="TR-9"))
    run_once(home)
    assert _state(home, db, ONE) == (1, ClaimState.ACCEPTED)
    assert read_jsonl(home / "spool" / "balances") == []
    assert read_jsonl(home / "spool" / "postings") == []
    [review] = list((home / "spool" / "review").glob("*.review.json"))
    held = json.loads(review.read_text())
    assert "a reversal (CLP02 22) of a payment the ledger cannot tell" in json.dumps(held)
