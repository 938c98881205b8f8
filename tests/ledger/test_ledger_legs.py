"""Claim legs: a payment that hands a claim on opens the next leg once (its ``leg_sources``
row), also when two workers race for it, and the next leg's payments post against its version;
on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

from gateway.ledger.ledger import ClaimPaymentIn, Ledger, LegIn
from gateway.ledger.schema import ClaimState, LegState
from tests.ledger.test_ledger_payments import PAYER, remit, sent_claim

RECORD = {"claim_id": "PCN-1", "kind": "professional"}


def hand_on(posting_id: str, *, code: str = "1", sequence: str = "P") -> ClaimPaymentIn:
    posting = {"id": posting_id, "claim_id": "PCN-1", "paid": "90.00", "status_code": code}
    balance = {"id": f"b{posting_id}", "patient_owes": "30.00", "next_action": "bill_secondary"}
    return ClaimPaymentIn("PCN-1", PAYER if sequence == "P" else "SECND", code, "N1", "120.00",
                          "90.00", "30.00", posting, balance, sequence)  # fmt: skip


def open_secondary(ledger: Ledger) -> bool:
    [payment] = ledger.leg_candidates()
    own = LegIn("P", PAYER, "acme", LegState.OWN, RECORD)
    leg = LegIn("S", "SECND", "acme", LegState.SENT, {**RECORD, "payer": {"id": "SECND"}},
                queue=True)  # fmt: skip

    def queued(version: int) -> list[Any]:
        return [("status", {"id": f"status-PCN-1-v{version}-queued", "version": version})]

    return ledger.act_on_payment(payment, "sent", own=own, leg=leg, status_records=queued)


def test_a_payment_opens_the_next_leg_once(ledger: Ledger) -> None:
    sent_claim(ledger)
    remit(ledger, "T1", hand_on("p1"))
    assert [p.posting_id for p in ledger.leg_candidates()] == ["p1"]
    assert open_secondary(ledger) is True
    assert ledger.leg_candidates() == []  # acted on: never again
    legs = {leg.sequence: leg for leg in ledger.legs("PCN-1")}
    assert (legs["P"].state, legs["P"].version) == (LegState.OWN, 1)
    assert (legs["S"].state, legs["S"].version) == (LegState.SENT, 2)
    stored = ledger.claim("PCN-1")
    assert stored is not None and (stored.version, stored.state) == (2, ClaimState.QUEUED)
    assert stored.payer_id == "SECND"
    assert [e.source for e in ledger.history("PCN-1")][-1] == "next_payer"
    assert ledger.leg_record("PCN-1", "S") == {**RECORD, "payer": {"id": "SECND"}}


def test_two_workers_racing_open_one_leg(ledger: Ledger) -> None:
    sent_claim(ledger)
    remit(ledger, "T1", hand_on("p1"))
    results: list[bool] = []
    start = threading.Barrier(2)

    def work() -> None:
        start.wait()
        try:
            results.append(open_secondary(ledger))
        except Exception:  # the loser of a race may also be refused by the database
            results.append(False)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    stored = ledger.claim("PCN-1")
    assert stored is not None and stored.version == 2  # one new version, not two


def test_the_next_legs_answer_posts_against_its_version(ledger: Ledger) -> None:
    sent_claim(ledger)
    remit(ledger, "T1", hand_on("p1"))
    open_secondary(ledger)
    outcome = remit(ledger, "T2", hand_on("p2", code="2", sequence="S"))
    assert outcome is not None
    [(_, decision)] = outcome.decisions
    assert (decision.version, decision.sequence) == (2, "S")
    # a late answer of the primary still belongs to the primary's version
    late = remit(ledger, "T3", hand_on("p3", code="4"))
    assert late is not None and late.decisions[0][1].version == 1
