"""Interchanges, received files and the outbox: each recorded once (remittances and claim
payments: test_ledger_payments.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from gateway.ledger.ledger import Ledger, LedgerError
from gateway.ledger.schema import (
    ClaimState,
    OutboxKind,
    interchange_claims,
    interchanges,
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def posting(record_id: str, paid: str = "100.00") -> dict[str, Any]:
    return {"id": record_id, "claim_id": "PCN-1", "paid": paid}


def _submit(ledger: Ledger, isa13: int, claim_ids: list[str], name: str = "f") -> int:
    return ledger.batch_interchange(
        "acme", isa13, isa13, kind="dental", file_name=name, sha256=sha(name),
        claim_ids=claim_ids, owner="w",
    )  # fmt: skip


def _status(claim_id: str, version: int) -> list[Any]:
    return [(OutboxKind.STATUS, {"id": f"s-{claim_id}-{version}", "event": "submitted"})]


def test_an_interchange_is_recorded_with_its_claims_then_sent(ledger: Ledger) -> None:
    for claim_id in ("A", "B"):
        ledger.add_claim({"claim_id": claim_id}, kind="dental", partner="acme", payer_id="1")
    isa13, _ = ledger.reserve_control_numbers("acme")
    interchange_id = _submit(ledger, isa13, ["A", "B"], "837D-000000001.x12")
    with ledger.engine.connect() as connection:
        row = connection.execute(select(interchanges)).one()
        links = connection.execute(
            select(interchange_claims.c.claim_id, interchange_claims.c.version)
        ).all()
    assert (row.control_number, row.claim_count, row.sent_at) == (1, 2, None)
    assert sorted(tuple(link) for link in links) == [("A", 1), ("B", 1)]
    # built, not uploaded: batched, and no status record yet (submitted means uploaded)
    states = {c.claim_id: c.state for c in ledger.list_claims()}
    assert states == {"A": ClaimState.BATCHED, "B": ClaimState.BATCHED}
    assert ledger.pending_outbox(OutboxKind.STATUS) == []
    events = ledger.mark_interchange_sent(interchange_id, status_records=_status)
    assert [(e.claim_id, e.event) for e in events] == [
        ("A", ClaimState.SUBMITTED), ("B", ClaimState.SUBMITTED),
    ]  # fmt: skip
    assert events[0].detail == {"file": "837D-000000001.x12", "control_number": "000000001"}
    states = {c.claim_id: c.state for c in ledger.list_claims()}
    assert states == {"A": ClaimState.SUBMITTED, "B": ClaimState.SUBMITTED}
    assert [e.record_id for e in ledger.pending_outbox(OutboxKind.STATUS)] == ["s-A-1", "s-B-1"]
    sent = ledger.interchange(partner="acme", control_number=1)
    assert sent is not None and sent.sent_at is not None
    # confirmed once: a second confirmation (a crash after it) changes nothing
    assert ledger.mark_interchange_sent(interchange_id, status_records=_status) == []
    assert [e.event for e in ledger.history("A")].count(ClaimState.SUBMITTED) == 1


def test_a_reply_before_the_upload_is_confirmed_keeps_every_event_once(ledger: Ledger) -> None:
    ledger.add_claim({"claim_id": "A"}, kind="dental", partner="acme", payer_id="1")
    isa13, _ = ledger.reserve_control_numbers("acme")
    interchange_id = _submit(ledger, isa13, ["A"])
    # a 999 proves the upload before this daemon recorded it (killed in between)
    ledger.transition("A", ClaimState.ACCEPTED, source="999")
    [event] = ledger.mark_interchange_sent(interchange_id, status_records=_status)
    assert (event.event, event.detail["claim_state"]) == (ClaimState.SUBMITTED, "accepted")
    stored = ledger.claim("A")
    assert stored is not None and stored.state == ClaimState.ACCEPTED  # not set back
    assert [e.event for e in ledger.history("A")] == [
        ClaimState.QUEUED, ClaimState.BATCHED, ClaimState.ACCEPTED, ClaimState.SUBMITTED,
    ]  # fmt: skip
    assert [e.record_id for e in ledger.pending_outbox(OutboxKind.STATUS)] == ["s-A-1"]


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
