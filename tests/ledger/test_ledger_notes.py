"""Notes, disputes and the payer's claim number, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from gateway.ledger.ledger import (
    DisputeError,
    IllegalTransition,
    Ledger,
    LedgerError,
    NoteKind,
    UnknownClaim,
)
from gateway.ledger.schema import ClaimState
from tests.ledger.test_ledger_claims import add, record

S = ClaimState


def test_notes_are_kept_in_order_with_author_and_time(ledger: Ledger) -> None:
    add(ledger, record())
    first = ledger.add_note("PCN-1", "  called the payer  ", author="alice")
    ledger.add_note("PCN-1", "appeal sent", author="bob")
    notes = ledger.notes("PCN-1")
    assert [(n.text, n.author, n.kind) for n in notes] == [
        ("called the payer", "alice", "note"), ("appeal sent", "bob", "note"),
    ]  # fmt: skip
    assert notes[0].id == first.id and notes[0].at.tzinfo is not None
    with pytest.raises(UnknownClaim, match="NOPE"):
        ledger.add_note("NOPE", "x", author="alice")
    with pytest.raises(LedgerError, match="needs some text"):
        ledger.add_note("PCN-1", "   ", author="alice")
    assert len(ledger.notes("PCN-1")) == 2


def test_a_dispute_opens_once_and_closes_once(ledger: Ledger) -> None:
    add(ledger, record())
    assert ledger.open_dispute("PCN-1") is None
    ledger.add_note("PCN-1", "wrong amount", author="a", kind=NoteKind.DISPUTE_OPENED)
    with pytest.raises(DisputeError, match="already open"):
        ledger.add_note("PCN-1", "again", author="a", kind=NoteKind.DISPUTE_OPENED)
    opened = ledger.open_dispute("PCN-1")
    assert opened is not None and opened.text == "wrong amount"
    ledger.add_note("PCN-1", "settled", author="b", kind=NoteKind.DISPUTE_CLOSED)
    assert ledger.open_dispute("PCN-1") is None
    with pytest.raises(DisputeError, match="no dispute is open"):
        ledger.add_note("PCN-1", "again", author="b", kind=NoteKind.DISPUTE_CLOSED)
    assert len(ledger.notes("PCN-1")) == 2


def test_the_payer_claim_number_comes_from_the_accepting_277ca(ledger: Ledger) -> None:
    add(ledger, record())
    assert ledger.payer_claim_number("PCN-1") is None
    ledger.transition("PCN-1", S.BATCHED, source="837")
    ledger.transition("PCN-1", S.SUBMITTED, source="837")
    ledger.transition("PCN-1", S.ACCEPTED, source="277CA", detail={"payer_claim_number": "ICN-7"})
    found = ledger.payer_claim_number("PCN-1")
    assert found is not None and found[:2] == ("ICN-7", "277CA")


def test_voided_is_final_and_only_follows_a_claim_in_flight(ledger: Ledger) -> None:
    add(ledger, record())
    with pytest.raises(IllegalTransition):
        ledger.transition("PCN-1", S.VOIDED, source="277CA")
    ledger.transition("PCN-1", S.BATCHED, source="837")
    ledger.transition("PCN-1", S.SUBMITTED, source="837")
    ledger.transition("PCN-1", S.VOIDED, source="277CA")
    for state in S:
        with pytest.raises(IllegalTransition):
            ledger.transition("PCN-1", state, source="835")
