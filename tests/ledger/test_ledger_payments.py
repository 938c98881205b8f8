"""Remittances and claim payments: each payment recorded once by its identity and content, and
a claim's money guarded: a second payment of a claim leg is held, a reversal takes back what it
names, a review releases or discards, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from gateway.ledger.ledger import (
    ClaimPaymentIn,
    Ledger,
    LedgerError,
    PaymentDecision,
    PaymentEffects,
    RemittanceOutcome,
)
from gateway.ledger.schema import (
    ClaimState,
    OutboxKind,
    PaymentEvent,
    PaymentState,
    RemittanceState,
)

S, P = ClaimState, PaymentState
PAYER = "87726"


def pay(
    posting_id: str,
    claim_id: str = "PCN-1",
    *,
    code: str = "1",
    paid: str = "90.00",
    owes: str = "10.00",
    number: str = "PCN1",
    sequence: str | None = "P",
) -> ClaimPaymentIn:
    posting = {"id": posting_id, "claim_id": claim_id, "paid": paid, "status_code": code}
    balance = {"id": f"b{posting_id[1:]}", "patient_owes": owes} if Decimal(owes) else None
    return ClaimPaymentIn(claim_id, PAYER, code, number, "120.00", paid, owes, posting, balance,
                          sequence)  # fmt: skip


def effects(payment: ClaimPaymentIn, decision: PaymentDecision) -> PaymentEffects:
    """Records as the daemon words them: money only for a payment posted or released."""
    status = {"id": f"s-{payment.posting['id']}-{decision.verdict}", "version": decision.version}
    records: list[Any] = [(OutboxKind.STATUS, status)]
    if decision.verdict in (P.POSTED, P.RELEASED):
        records.insert(0, (OutboxKind.POSTINGS, payment.posting))
        if payment.balance:
            records.insert(1, (OutboxKind.BALANCES, payment.balance))
    state = S.REVERSED if payment.reversal else S.DENIED if payment.status_code == "4" else S.PAID
    detail = {"paid": payment.paid, "reasons": [r["reason"] for r in decision.reasons]}
    return PaymentEffects(records, detail, state)


def remit(
    ledger: Ledger,
    trace: str,
    *payments: ClaimPaymentIn,
    content: str | None = None,
    amount: str = "90.00",
    problems: list[dict[str, Any]] | None = None,
    file: str | None = None,
) -> RemittanceOutcome | None:
    return ledger.record_remittance(
        (trace, PAYER, amount, "2026-11-27"), content or f"content-of-{trace}",
        file_name=file or f"{trace}.835", control_number="0001", payments=list(payments),
        effects=effects, problems=problems or [], partner="acme",
        archived_as=f"archive/inbound/acme/{file or f'{trace}.835'}",
    )  # fmt: skip


def sent_claim(ledger: Ledger, claim_id: str = "PCN-1") -> None:
    """A claim built into an interchange and uploaded (what a payment can be for)."""
    ledger.add_claim({"claim_id": claim_id}, kind="professional", partner="acme", payer_id=PAYER)
    isa13, gs06 = ledger.reserve_control_numbers("acme")
    interchange_id = ledger.batch_interchange(
        "acme", isa13, gs06, kind="professional", file_name=f"f{isa13}", sha256="0" * 64,
        claim_ids=[claim_id], owner="w",
    )  # fmt: skip
    ledger.mark_interchange_sent(interchange_id, status_records=lambda c, v: [])


def ids(ledger: Ledger, kind: OutboxKind) -> list[str]:
    return [e.record_id for e in ledger.pending_outbox(kind)]


def state(ledger: Ledger, claim_id: str = "PCN-1", version: int | None = None) -> ClaimState:
    stored = ledger.claim(claim_id, version)
    assert stored is not None
    return stored.state


def test_a_second_payment_of_a_claim_is_held_naming_the_first(ledger: Ledger) -> None:
    sent_claim(ledger)
    first = remit(ledger, "T-1", pay("p-1"))
    assert first is not None and [d.verdict for _, d in first.decisions] == [P.POSTED]
    # a copy of the 835 with only the trace number changed: the patient must not owe twice
    second = remit(ledger, "T-2", pay("p-2"))
    assert second is not None and second.state == RemittanceState.POSTED
    [(_, decision)] = second.decisions
    assert decision.verdict == P.HELD and decision.version == 1
    [reason] = decision.reasons
    assert reason["reason"] == "possible_duplicate"
    assert reason["earlier"]["trace_number"] == "T-1"
    assert reason["earlier"]["payment_date"] == "2026-11-27"
    assert reason["earlier"]["file"] == "archive/inbound/acme/T-1.835"
    assert ids(ledger, OutboxKind.POSTINGS) == ["p-1"]
    assert ids(ledger, OutboxKind.BALANCES) == ["b-1"]  # one patient balance, not two
    assert ids(ledger, OutboxKind.STATUS) == ["s-p-1-posted", "s-p-2-held"]
    assert state(ledger) == S.PAID
    assert [e.event for e in ledger.history("PCN-1")][-2:] == [S.PAID, PaymentEvent.HELD]
    [held] = ledger.held_payments()
    assert (held.posting_id, held.trace_number, held.state) == ("p-2", "T-2", P.HELD)
    assert [p.posting_id for p in ledger.payments_in_force("PCN-1", PAYER)] == ["p-1"]
    # released on purpose: posted now, marked released, the claim's timeline says so
    settled = ledger.settle_payments(
        "T-2.835", P.RELEASED, note="payer paid twice", effects=effects
    )
    assert [(p.posting_id, d.verdict, d.note) for p, d in settled] == [
        ("p-2", P.RELEASED, "payer paid twice"),
    ]  # fmt: skip
    assert settled[0][1].reasons[0]["reason"] == "possible_duplicate"  # why it had been held
    assert ids(ledger, OutboxKind.POSTINGS) == ["p-1", "p-2"]
    assert [p.posting_id for p in ledger.payments_in_force("PCN-1")] == ["p-1", "p-2"]
    last = ledger.history("PCN-1")[-1]
    assert (last.event, last.source) == (S.PAID, "review")
    assert ledger.held_payments() == []
    assert ledger.settle_payments("T-2.835", P.RELEASED, note="x", effects=effects) == []


def test_a_discarded_payment_posts_nothing_and_says_so(ledger: Ledger) -> None:
    sent_claim(ledger)
    remit(ledger, "T-1", pay("p-1"))
    remit(ledger, "T-2", pay("p-2"))
    [(stored, decision)] = ledger.settle_payments(
        "T-2.835", P.DISCARDED, note="a copy", effects=effects
    )
    assert (stored.posting_id, decision.verdict) == ("p-2", P.DISCARDED)
    assert ids(ledger, OutboxKind.POSTINGS) == ["p-1"]
    assert ids(ledger, OutboxKind.STATUS)[-1] == "s-p-2-discarded"
    assert ledger.history("PCN-1")[-1].event == PaymentEvent.DISCARDED
    [kept] = ledger.claim_payments("PCN-1", states=[P.DISCARDED])
    assert kept.detail["review"]["note"] == "a copy"
    with pytest.raises(LedgerError):
        ledger.settle_payments("T-2.835", P.POSTED, note="", effects=effects)


def test_a_reversal_takes_the_payment_back_and_a_new_payment_posts(ledger: Ledger) -> None:
    sent_claim(ledger)
    remit(ledger, "T-1", pay("p-1"))
    reversal = pay("p-2", code="22", paid="-90.00", owes="-10.00", sequence=None)
    outcome = remit(ledger, "T-2", reversal, amount="-90.00")
    assert outcome is not None
    [(_, decision)] = outcome.decisions
    assert decision.verdict == P.POSTED and decision.reverses is not None
    assert decision.reverses.posting_id == "p-1" and decision.sequence == "P"
    assert state(ledger) == S.REVERSED
    assert [p.state for p in ledger.claim_payments("PCN-1")] == [P.REVERSED, P.POSTED]
    assert ledger.payments_in_force("PCN-1") == []
    corrected = remit(ledger, "T-3", pay("p-3", number="PCN2", paid="95.00"), amount="95.00")
    assert corrected is not None and corrected.decisions[0][1].verdict == P.POSTED
    assert state(ledger) == S.PAID
    assert ids(ledger, OutboxKind.POSTINGS) == ["p-1", "p-2", "p-3"]


def test_a_reversal_and_its_correction_in_one_835_net_in_any_order(ledger: Ledger) -> None:
    sent_claim(ledger)
    remit(ledger, "T-1", pay("p-1"))
    corrected = pay("p-3", number="PCN2", paid="95.00")
    reversal = pay("p-2", code="22", paid="-90.00", owes="-10.00", sequence=None)
    outcome = remit(ledger, "T-2", corrected, reversal, amount="5.00")  # correction first
    assert outcome is not None
    assert [(p.posting["id"], d.verdict) for p, d in outcome.decisions] == [
        ("p-2", P.POSTED), ("p-3", P.POSTED),
    ]  # fmt: skip
    assert [p.posting_id for p in ledger.payments_in_force("PCN-1")] == ["p-3"]


def test_a_reversal_of_nothing_the_ledger_can_tell_is_held(ledger: Ledger) -> None:
    sent_claim(ledger)
    reversal = pay("p-1", code="22", paid="-90.00", owes="-10.00", sequence=None)
    outcome = remit(ledger, "T-1", reversal, amount="-90.00")
    assert outcome is not None
    assert outcome.decisions[0][1].reasons[0]["reason"] == "nothing_to_reverse"
    assert ids(ledger, OutboxKind.POSTINGS) == []
    assert state(ledger) == S.SUBMITTED


def test_a_reversal_while_a_payment_waits_for_review_is_held_too(ledger: Ledger) -> None:
    sent_claim(ledger)
    remit(ledger, "T-1", pay("p-1"))
    remit(ledger, "T-2", pay("p-2"))  # held: a possible duplicate
    reversal = pay("p-3", code="22", paid="-90.00", owes="-10.00", sequence=None)
    outcome = remit(ledger, "T-3", reversal, amount="-90.00")
    assert outcome is not None
    assert outcome.decisions[0][1].reasons[0]["reason"] == "payment_waiting_for_review"
    assert [p.state for p in ledger.claim_payments("PCN-1")] == [P.POSTED, P.HELD, P.HELD]


def test_a_payment_after_a_bare_denial_supersedes_it(ledger: Ledger) -> None:
    sent_claim(ledger)
    remit(ledger, "T-1", pay("p-1", code="4", paid="0.00", owes="0.00", sequence=None),
          amount="0.00")  # fmt: skip
    assert state(ledger) == S.DENIED
    outcome = remit(ledger, "T-2", pay("p-2"))
    assert outcome is not None and outcome.decisions[0][1].verdict == P.POSTED
    assert [p.state for p in ledger.claim_payments("PCN-1")] == [P.SUPERSEDED, P.POSTED]
    assert state(ledger) == S.PAID


def test_a_secondary_payment_from_the_same_payer_is_not_a_duplicate(ledger: Ledger) -> None:
    sent_claim(ledger)
    remit(ledger, "T-1", pay("p-1"))
    outcome = remit(ledger, "T-2", pay("p-2", code="2", sequence="S"))
    assert outcome is not None and outcome.decisions[0][1].verdict == P.POSTED
    assert [p.payer_sequence for p in ledger.payments_in_force("PCN-1", PAYER)] == ["P", "S"]
    assert [p.posting_id for p in ledger.payments_in_force("PCN-1", PAYER, "S")] == ["p-2"]


def test_the_same_content_is_one_payment_other_content_is_held_naming_it(ledger: Ledger) -> None:
    sent_claim(ledger)
    assert remit(ledger, "T-1", pay("p-1")) is not None
    assert remit(ledger, "T-1", pay("p-1"), file="copy.835") is None  # re-sent: nothing
    assert ids(ledger, OutboxKind.POSTINGS) == ["p-1"]
    # the same trace, payer, amount and date, other content: a new remittance, held whole
    other = remit(ledger, "T-1", pay("p-9", "PCN-2", owes="0.00"), content="other", file="c.835")
    assert other is not None and other.state == RemittanceState.HELD
    [(_, decision)] = other.decisions
    [reason] = decision.reasons
    assert reason["reason"] == "same_payment_identity"
    assert [e["file"] for e in reason["earlier"]] == ["archive/inbound/acme/T-1.835"]
    assert ledger.remittance(("T-1", PAYER, "90.00", "2026-11-27"), "other") is not None
    # released: the whole remittance is then released
    ledger.settle_payments("c.835", P.RELEASED, note="checked", effects=effects)
    stored = ledger.remittance(("T-1", PAYER, "90.00", "2026-11-27"), "other")
    assert stored is not None and stored.state == RemittanceState.RELEASED


def test_money_that_does_not_add_up_holds_every_claim_of_the_payment(ledger: Ledger) -> None:
    for claim_id in ("A", "B"):
        sent_claim(ledger, claim_id)
    problem = {"rule": "transaction", "message": "BPR02 says 181.00"}
    outcome = remit(ledger, "T-1", pay("p-1", "A"), pay("p-2", "B"), problems=[problem])
    assert outcome is not None and outcome.state == RemittanceState.HELD
    assert {d.verdict for _, d in outcome.decisions} == {P.HELD}
    assert outcome.decisions[0][1].reasons[0] == {"reason": "unbalanced", "problems": [problem]}
    assert ids(ledger, OutboxKind.POSTINGS) == []
    ledger.settle_payments("T-1.835", P.DISCARDED, note="wrong", effects=effects)
    stored = ledger.remittance(("T-1", PAYER, "90.00", "2026-11-27"), "content-of-T-1")
    assert stored is not None and stored.state == RemittanceState.DISCARDED
    assert stored.detail["review"]["note"] == "wrong"


def test_a_payment_of_an_unknown_claim_is_recorded_without_a_version(ledger: Ledger) -> None:
    outcome = remit(ledger, "T-1", pay("p-1", "NOPE"))
    assert outcome is not None and outcome.events == []
    [(_, decision)] = outcome.decisions
    assert (decision.verdict, decision.version) == (P.POSTED, None)
    again = remit(ledger, "T-2", pay("p-2", "NOPE"))
    assert again is not None and again.decisions[0][1].verdict == P.HELD


def test_a_reversal_of_a_replaced_claim_reverses_the_version_it_paid(ledger: Ledger) -> None:
    sent_claim(ledger)
    remit(ledger, "T-1", pay("p-1"))
    ledger.add_claim({"claim_id": "PCN-1", "frequency": "7", "payer_claim_number": "PCN1"},
                     kind="professional", partner="acme", payer_id=PAYER)  # fmt: skip
    reversal = pay("p-2", code="22", paid="-90.00", owes="-10.00", sequence=None)
    outcome = remit(ledger, "T-2", reversal, amount="-90.00")
    assert outcome is not None
    [event] = outcome.events
    assert (event.version, event.event) == (1, S.REVERSED)
    assert (state(ledger, version=1), state(ledger)) == (S.REVERSED, S.QUEUED)
    assert outcome.decisions[0][1].version == 1  # its status record names version 1


def test_two_sessions_paying_one_claim_at_once_post_it_once(ledger: Ledger, db_url: str) -> None:
    from gateway.ledger.db import open_ledger

    sent_claim(ledger)
    start = threading.Barrier(2)
    outcomes: list[RemittanceOutcome | None] = []

    def work(trace: str) -> None:
        with open_ledger(db_url) as other:
            start.wait()
            outcomes.append(remit(other, trace, pay(f"p-{trace}")))

    threads = [threading.Thread(target=work, args=(t,)) for t in ("T-1", "T-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    verdicts = sorted(d.verdict for o in outcomes if o for _, d in o.decisions)
    assert verdicts == [P.HELD, P.POSTED]
    assert len(ids(ledger, OutboxKind.POSTINGS)) == 1
