"""A remittance of more than ``CHUNK`` claim payments is recorded a chunk at a time in its one
transaction, with the same decisions as all at once: reversals first, a duplicate of a payment
in an earlier chunk of the same remittance held, nothing written when any part fails, and two
such remittances at once (their claims locked in crossed orders) both complete, on SQLite and
PostgreSQL. The chunk is made small here so a few payments are many chunks."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import gateway.ledger.payments
from gateway.ledger.ledger import (
    ClaimPaymentIn,
    Ledger,
    PaymentDecision,
    PaymentEffects,
    RemittanceOutcome,
)
from gateway.ledger.schema import OutboxKind, PaymentState
from tests.ledger.test_ledger_payments import PAYER, effects, ids, pay, sent_claim

P = PaymentState


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway.ledger.payments, "CHUNK", 2)


def _remit(
    ledger: Ledger, trace: str, payments: object, amount: str = "0.00", **kw: object
) -> RemittanceOutcome | None:
    return ledger.record_remittance(
        (trace, PAYER, amount, "2026-11-27"), f"content-of-{trace}", file_name=f"{trace}.835",
        control_number="0001", payments=payments, partner="acme", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _big(ledger: Ledger) -> list[ClaimPaymentIn]:
    """Claims A-D sent, A and B paid; then a remittance of six in file order: B corrected,
    A again, C, D, C again, and last the reversal of B's first payment."""
    for claim_id in "ABCD":
        sent_claim(ledger, claim_id)
    _remit(ledger, "T-1", [pay("p-a1", "A"), pay("p-b1", "B")], "180.00", effects=effects)
    return [
        pay("p-b3", "B", number="PCN2", paid="95.00"),
        pay("p-a2", "A"),
        pay("p-c1", "C"),
        pay("p-d1", "D"),
        pay("p-c2", "C"),
        pay("p-b2", "B", code="22", paid="-90.00", owes="-10.00", sequence=None),
    ]


EXPECTED = [
    ("p-b2", P.POSTED), ("p-b3", P.POSTED), ("p-a2", P.HELD), ("p-c1", P.POSTED),
    ("p-d1", P.POSTED), ("p-c2", P.HELD),
]  # fmt: skip


def test_chunks_decide_as_one_reversals_first_duplicates_across_chunks_held(
    ledger: Ledger,
) -> None:
    payments = _big(ledger)
    told: list[tuple[str, PaymentState]] = []

    def decided(p: ClaimPaymentIn, d: PaymentDecision) -> None:
        told.append((str(p.posting["id"]), d.verdict))

    outcome = _remit(ledger, "T-2", payments, "275.00", effects=effects, decided=decided)
    assert outcome is not None and told == EXPECTED
    assert (outcome.decisions, outcome.events) == ([], [])  # told, not kept
    assert outcome.verdicts == {P.POSTED: 4, P.HELD: 2}
    reasons = [p.detail["reasons"][0]["reason"] for p in ledger.held_payments()]
    assert reasons == ["possible_duplicate", "possible_duplicate"]
    assert [p.posting_id for p in ledger.payments_in_force("B")] == ["p-b3"]
    assert ids(ledger, OutboxKind.POSTINGS) == ["p-a1", "p-b1", "p-b2", "p-b3", "p-c1", "p-d1"]
    held = list(ledger.remittance_payments(outcome.remittance_id, [P.HELD]))
    assert [p.posting_id for p in held] == ["p-a2", "p-c2"]


def test_a_remittance_read_once_is_kept_to_be_read_twice(ledger: Ledger) -> None:
    payments = _big(ledger)

    def once() -> Iterator[ClaimPaymentIn]:
        yield from payments

    outcome = _remit(ledger, "T-2", once(), "275.00", effects=effects)
    assert outcome is not None
    assert [(p.posting["id"], d.verdict) for p, d in outcome.decisions] == EXPECTED


def test_a_failure_in_a_later_chunk_writes_nothing_of_the_remittance(ledger: Ledger) -> None:
    payments = _big(ledger)
    before = (ids(ledger, OutboxKind.POSTINGS), ids(ledger, OutboxKind.STATUS))

    def failing(p: ClaimPaymentIn, d: PaymentDecision) -> PaymentEffects:
        if p.posting["id"] == "p-c2":  # the last chunk, after three were flushed
            raise RuntimeError("broken")
        return effects(p, d)

    with pytest.raises(RuntimeError):
        _remit(ledger, "T-2", payments, "275.00", effects=failing)
    assert ledger.remittance(("T-2", PAYER, "275.00", "2026-11-27"), "content-of-T-2") is None
    assert [p.posting_id for p in ledger.claim_payments()] == ["p-a1", "p-b1"]
    assert (ids(ledger, OutboxKind.POSTINGS), ids(ledger, OutboxKind.STATUS)) == before
    again = _remit(ledger, "T-2", payments, "275.00", effects=effects)  # then it posts whole
    assert again is not None and again.verdicts == {P.POSTED: 4, P.HELD: 2}


def test_two_large_remittances_at_once_in_crossed_orders_both_complete(
    ledger: Ledger, db_url: str
) -> None:
    from gateway.ledger.db import open_ledger

    claims = [f"X{n}" for n in range(6)]
    for claim_id in claims:
        sent_claim(ledger, claim_id)
    start = threading.Barrier(2)
    outcomes: list[RemittanceOutcome | None] = []
    failures: list[BaseException] = []

    def work(trace: str, order: list[str]) -> None:
        try:
            with open_ledger(db_url) as other:
                start.wait()
                payments = [pay(f"p-{trace}-{c}", c) for c in order]
                outcomes.append(_remit(other, trace, payments, "540.00", effects=effects))
        except BaseException as error:  # the test reports it
            failures.append(error)

    threads = [
        threading.Thread(target=work, args=("T-1", claims)),
        threading.Thread(target=work, args=("T-2", claims[::-1])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == [] and len(outcomes) == 2
    verdicts = sorted(d.verdict for o in outcomes if o for _, d in o.decisions)
    assert verdicts == [P.HELD] * 6 + [P.POSTED] * 6  # each claim paid once, its copy held
    assert len(ids(ledger, OutboxKind.POSTINGS)) == 6
    for claim_id in claims:
        assert len(ledger.payments_in_force(claim_id)) == 1


def test_a_payment_of_more_claims_than_the_lock_table_holds_posts(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's lock table holds about max_locks_per_transaction (64) x connections (100)
    locks: a payment of 20,000 claims, which took one per claim and failed with "out of shared
    memory", posts without (it holds the payments lock alone)."""
    monkeypatch.setattr(gateway.ledger.payments, "CHUNK", 500)
    payments = [pay(f"p-{n}", f"U{n}", owes="0.00") for n in range(20_000)]
    outcome = _remit(
        ledger, "T-1", payments, "1800000.00", effects=effects, decided=lambda p, d: None
    )
    assert outcome is not None and outcome.verdicts == {P.POSTED: 20_000}
    assert len(ledger.pending_outbox(OutboxKind.POSTINGS, limit=30_000)) == 20_000
