"""Interchanges, received files, remittances and the outbox: each recorded once."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from gateway.ledger.ledger import IllegalTransition, Ledger, LedgerError
from gateway.ledger.schema import (
    OutboxKind,
    RemittanceState,
    interchange_claims,
    interchanges,
)

IDENTITY = ("TRACE-1", "87726", "120.00", "2026-11-20")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def posting(record_id: str, paid: str = "100.00") -> dict[str, Any]:
    return {"id": record_id, "claim_id": "PCN-1", "paid": paid}


def test_an_interchange_is_recorded_with_its_claims(ledger: Ledger) -> None:
    for claim_id in ("A", "B"):
        ledger.add_claim({"claim_id": claim_id}, kind="dental", partner="acme", payer_id="1")
    isa13, _ = ledger.reserve_control_numbers("acme")
    interchange_id = ledger.record_interchange(
        "acme", isa13, kind="dental", file_name="837D-000000001.x12", sha256=sha("x"),
        claim_ids=["A", "B"],
    )  # fmt: skip
    ledger.mark_interchange_sent(interchange_id)
    with ledger.engine.connect() as connection:
        row = connection.execute(select(interchanges)).one()
        links = connection.execute(
            select(interchange_claims.c.claim_id, interchange_claims.c.version)
        ).all()
    assert (row.control_number, row.claim_count, row.sent_at is not None) == (1, 2, True)
    assert sorted(tuple(link) for link in links) == [("A", 1), ("B", 1)]


def test_an_interchange_needs_a_reserved_unused_control_number(ledger: Ledger) -> None:
    ledger.add_claim({"claim_id": "A"}, kind="dental", partner="acme", payer_id="1")
    common: dict[str, Any] = {
        "kind": "dental",
        "file_name": "f",
        "sha256": sha("f"),
        "claim_ids": ["A"],
    }
    with pytest.raises(LedgerError, match="never reserved"):
        ledger.record_interchange("acme", 1, **common)
    isa13, _ = ledger.reserve_control_numbers("acme")
    ledger.record_interchange("acme", isa13, **common)
    with pytest.raises(LedgerError, match="already used"):
        ledger.record_interchange("acme", isa13, **common)


def test_a_received_file_is_recorded_once_by_content(ledger: Ledger) -> None:
    digest = sha("ISA*...")
    assert ledger.record_received_file(digest, partner="acme", name="a.835", kind="835")
    assert not ledger.record_received_file(digest, partner="acme", name="copy.835", kind="835")
    assert ledger.record_received_file(sha("other"), partner="acme", name="b.999", kind="999")
    ledger.set_received_file_state(digest, "processed")


def test_a_remittance_is_recorded_once_by_its_payment_identity(ledger: Ledger) -> None:
    records = [(OutboxKind.POSTINGS, posting("p-1")), (OutboxKind.BALANCES, posting("b-1"))]
    common: dict[str, Any] = {"file_name": "r.835", "control_number": "0001"}
    assert ledger.record_remittance(
        IDENTITY, state=RemittanceState.POSTED, outbox_records=records, **common
    )
    again = [(OutboxKind.POSTINGS, posting("p-2"))]
    assert not ledger.record_remittance(
        IDENTITY, state=RemittanceState.POSTED, outbox_records=again, **common
    )
    assert [e.record_id for e in ledger.pending_outbox(OutboxKind.POSTINGS)] == ["p-1"]
    other_amount = (*IDENTITY[:2], "120.01", IDENTITY[3])
    assert ledger.record_remittance(other_amount, state=RemittanceState.POSTED, **common)
    assert ledger.remittance_state(IDENTITY) == RemittanceState.POSTED


def test_a_held_remittance_is_released_or_discarded_once(ledger: Ledger) -> None:
    ledger.record_remittance(
        IDENTITY, file_name="r.835", control_number="1", state=RemittanceState.HELD
    )
    assert ledger.pending_outbox(OutboxKind.POSTINGS) == []
    ledger.set_remittance_state(
        IDENTITY, RemittanceState.RELEASED, outbox_records=[(OutboxKind.POSTINGS, posting("p-1"))]
    )
    assert ledger.remittance_state(IDENTITY) == RemittanceState.RELEASED
    assert len(ledger.pending_outbox(OutboxKind.POSTINGS)) == 1
    with pytest.raises(IllegalTransition):
        ledger.set_remittance_state(IDENTITY, RemittanceState.DISCARDED)
    with pytest.raises(LedgerError, match="not in the ledger"):
        ledger.set_remittance_state(("X", "Y", "1.00", ""), RemittanceState.RELEASED)


def test_the_outbox_is_idempotent_by_record_id(ledger: Ledger) -> None:
    records = [
        (OutboxKind.POSTINGS, posting("p-1")),
        (OutboxKind.POSTINGS, posting("p-2")),
        (OutboxKind.BALANCES, posting("b-1")),
        (OutboxKind.POSTINGS, posting("p-1", paid="999.00")),  # same id in one batch: first wins
    ]
    assert ledger.add_outbox(records) == 3
    assert ledger.add_outbox(records) == 0
    pending = ledger.pending_outbox(OutboxKind.POSTINGS)
    assert [(e.record_id, e.payload["paid"]) for e in pending] == [
        ("p-1", "100.00"),
        ("p-2", "100.00"),
    ]
    assert ledger.mark_emitted(["p-1", "p-2"]) == 2
    assert ledger.mark_emitted(["p-1"]) == 0
    assert ledger.pending_outbox(OutboxKind.POSTINGS) == []
    assert ledger.add_outbox([(OutboxKind.POSTINGS, posting("p-1"))]) == 0  # emitted: never again
    assert ledger.pending_outbox(OutboxKind.POSTINGS) == []
    assert [e.record_id for e in ledger.pending_outbox("balances")] == ["b-1"]


def test_an_outbox_record_needs_an_id(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="without a string id"):
        ledger.add_outbox([(OutboxKind.STATUS, {"claim_id": "PCN-1"})])
