"""Interchanges, received files, remittances and the outbox: each recorded once."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from gateway.ledger.ledger import IllegalTransition, Ledger, LedgerError
from gateway.ledger.schema import (
    ClaimState,
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


def _submit(ledger: Ledger, isa13: int, claim_ids: list[str], name: str = "f") -> int:
    return ledger.submit_interchange(
        "acme", isa13, isa13, kind="dental", file_name=name, sha256=sha(name),
        claim_ids=claim_ids, owner="w", status_records=lambda claim_id, version: [],
    )  # fmt: skip


def test_an_interchange_is_recorded_with_its_claims(ledger: Ledger) -> None:
    for claim_id in ("A", "B"):
        ledger.add_claim({"claim_id": claim_id}, kind="dental", partner="acme", payer_id="1")
    isa13, _ = ledger.reserve_control_numbers("acme")
    interchange_id = _submit(ledger, isa13, ["A", "B"], "837D-000000001.x12")
    ledger.mark_interchange_sent(interchange_id)
    with ledger.engine.connect() as connection:
        row = connection.execute(select(interchanges)).one()
        links = connection.execute(
            select(interchange_claims.c.claim_id, interchange_claims.c.version)
        ).all()
    assert (row.control_number, row.claim_count, row.sent_at is not None) == (1, 2, True)
    assert sorted(tuple(link) for link in links) == [("A", 1), ("B", 1)]
    states = {c.claim_id: c.state for c in ledger.list_claims()}
    assert states == {"A": ClaimState.SUBMITTED, "B": ClaimState.SUBMITTED}


def test_an_interchange_needs_a_reserved_unused_control_number(ledger: Ledger) -> None:
    for claim_id in ("A", "B"):
        ledger.add_claim({"claim_id": claim_id}, kind="dental", partner="acme", payer_id="1")
    with pytest.raises(LedgerError, match="never reserved"):
        _submit(ledger, 1, ["A"])
    isa13, _ = ledger.reserve_control_numbers("acme")
    _submit(ledger, isa13, ["A"])
    with pytest.raises(LedgerError, match="already used"):
        _submit(ledger, isa13, ["B"])
    stored = ledger.claim("B")
    assert stored is not None and stored.state == ClaimState.QUEUED  # nothing of it was written


def test_a_received_file_is_recorded_once_by_content(ledger: Ledger) -> None:
    digest = sha("ISA*...")
    assert ledger.record_received_file(digest, partner="acme", name="a.835", kind="835")
    assert not ledger.record_received_file(digest, partner="acme", name="copy.835", kind="835")
    assert ledger.record_received_file(sha("other"), partner="acme", name="b.999", kind="999")
    assert ledger.received_file_known(digest) and ledger.received_name_known("acme", "a.835")
    assert ledger.received_file_partner("b.999") == "acme"


def _remit(ledger: Ledger, identity: tuple[str, str, str, str], state: RemittanceState,
           records: list[Any] | None = None) -> bool:  # fmt: skip
    applied = ledger.apply_remittance(
        identity, file_name="r.835", control_number="0001", state=state,
        outbox_records=records or [], changes=(),
    )  # fmt: skip
    return applied is not None


def test_a_remittance_is_recorded_once_by_its_payment_identity(ledger: Ledger) -> None:
    records = [(OutboxKind.POSTINGS, posting("p-1")), (OutboxKind.BALANCES, posting("b-1"))]
    assert _remit(ledger, IDENTITY, RemittanceState.POSTED, records)
    again = [(OutboxKind.POSTINGS, posting("p-2"))]
    assert not _remit(ledger, IDENTITY, RemittanceState.POSTED, again)
    assert [e.record_id for e in ledger.pending_outbox(OutboxKind.POSTINGS)] == ["p-1"]
    other_amount = (*IDENTITY[:2], "120.01", IDENTITY[3])
    assert _remit(ledger, other_amount, RemittanceState.POSTED)
    assert ledger.remittance_state(IDENTITY) == RemittanceState.POSTED


def test_a_held_remittance_is_released_or_discarded_once(ledger: Ledger) -> None:
    _remit(ledger, IDENTITY, RemittanceState.HELD)
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
    batch = ledger.open_batch(OutboxKind.POSTINGS, lambda: "postings-1.jsonl", owner="a")
    assert batch is not None and [e.record_id for e in batch[1]] == ["p-1", "p-2"]
    assert ledger.open_batch(OutboxKind.POSTINGS, lambda: "other", owner="a") == batch  # same
    assert ledger.mark_batch_emitted("postings-1.jsonl") == 2
    assert ledger.mark_batch_emitted("postings-1.jsonl") == 0
    assert ledger.pending_outbox(OutboxKind.POSTINGS) == []
    assert ledger.open_batch(OutboxKind.POSTINGS, lambda: "postings-2.jsonl", owner="a") is None
    assert ledger.add_outbox([(OutboxKind.POSTINGS, posting("p-1"))]) == 0  # emitted: never again
    assert ledger.pending_outbox(OutboxKind.POSTINGS) == []
    assert [e.record_id for e in ledger.pending_outbox("balances")] == ["b-1"]


def test_an_outbox_record_needs_an_id(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="without a string id"):
        ledger.add_outbox([(OutboxKind.STATUS, {"claim_id": "PCN-1"})])
