"""Claims: versions, duplicates, and the one door for state changes (the transition table)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.ledger.ledger import DuplicateClaim, IllegalTransition, Ledger, UnknownClaim
from gateway.ledger.schema import TRANSITIONS, ClaimState, OutboxKind, claim_events, outbox

S = ClaimState


def record(claim_id: str = "PCN-1", frequency: str = "1", **extra: Any) -> dict[str, Any]:
    return {"claim_id": claim_id, "kind": "professional", "frequency": frequency, **extra}


def add(ledger: Ledger, rec: dict[str, Any]) -> int:
    return ledger.add_claim(rec, kind="professional", partner="acme", payer_id="87726")


def count(ledger: Ledger, table: Any) -> int:
    with ledger.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_new_claim_is_queued_with_its_record_and_event(ledger: Ledger) -> None:
    assert add(ledger, record(total_charge="120.00")) == 1
    stored = ledger.claim("PCN-1")
    assert stored is not None
    assert (stored.version, stored.state, stored.partner, stored.payer_id) == (
        1, S.QUEUED, "acme", "87726",
    )  # fmt: skip
    assert stored.record["total_charge"] == "120.00"
    assert stored.created_at.tzinfo is not None
    [event] = ledger.history("PCN-1")
    assert (event.event, event.source, event.version) == (S.QUEUED, "intake", 1)


def test_the_same_claim_again_is_refused(ledger: Ledger) -> None:
    add(ledger, record())
    with pytest.raises(DuplicateClaim, match="PCN-1"):
        add(ledger, record())
    assert count(ledger, claim_events) == 1


def test_a_replacement_and_a_void_make_new_versions(ledger: Ledger) -> None:
    add(ledger, record())
    ledger.transition("PCN-1", S.BATCHED, source="837")
    ledger.transition("PCN-1", S.SUBMITTED, source="837")
    assert add(ledger, record(frequency="7", payer_claim_number="PAYER-9")) == 2
    current = ledger.claim("PCN-1")
    assert current is not None
    assert (current.version, current.state, current.payer_claim_number) == (2, S.QUEUED, "PAYER-9")
    first = ledger.claim("PCN-1", version=1)
    assert first is not None and first.state == S.SUBMITTED
    assert add(ledger, record(frequency="8", payer_claim_number="PAYER-9")) == 3
    assert [(e.version, e.event) for e in ledger.history("PCN-1")] == [
        (1, S.QUEUED), (1, S.BATCHED), (1, S.SUBMITTED), (2, S.QUEUED), (3, S.QUEUED),
    ]  # fmt: skip


def test_a_rejected_claim_may_come_again_corrected(ledger: Ledger) -> None:
    add(ledger, record())
    ledger.transition("PCN-1", S.BATCHED, source="837")
    ledger.transition("PCN-1", S.SUBMITTED, source="837")
    ledger.transition("PCN-1", S.REJECTED, source="277CA", detail={"reasons": [{"code": "A7"}]})
    assert add(ledger, record()) == 2


def test_the_normal_life_of_a_claim(ledger: Ledger) -> None:
    add(ledger, record())
    for state, source in [
        (S.BATCHED, "837"), (S.SUBMITTED, "837"), (S.ACCEPTED, "999"), (S.ACCEPTED, "277CA"), (S.PAID, "835"),
        (S.REVERSED, "835"), (S.PARTIALLY_PAID, "835"),
    ]:  # fmt: skip
        event = ledger.transition("PCN-1", state, source=source, detail={"file": "x"})
        assert event.event == state
    history = ledger.history("PCN-1")
    assert [e.event for e in history] == [
        S.QUEUED, S.BATCHED, S.SUBMITTED, S.ACCEPTED, S.ACCEPTED, S.PAID, S.REVERSED,
        S.PARTIALLY_PAID,
    ]  # fmt: skip
    assert [e.source for e in history][-2:] == ["835", "835"]
    assert history[-1].detail == {"file": "x"}
    assert [e.at for e in history] == sorted(e.at for e in history)


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], S.PAID),
        ([], S.ACCEPTED),
        ([], S.SUBMITTED),  # submitted means uploaded: a claim is built into a file first
        ([S.BATCHED, S.SUBMITTED], S.BATCHED),
        ([S.BATCHED, S.SUBMITTED, S.REJECTED], S.ACCEPTED),
        ([S.BATCHED, S.SUBMITTED, S.ACCEPTED, S.PAID], S.QUEUED),
        ([S.BATCHED, S.SUBMITTED, S.ACCEPTED, S.DENIED], S.SUBMITTED),
    ],
)
def test_an_illegal_transition_raises_and_writes_nothing(
    ledger: Ledger, path: list[ClaimState], illegal: ClaimState
) -> None:
    assert illegal not in TRANSITIONS[path[-1] if path else S.QUEUED]
    add(ledger, record())
    for state in path:
        ledger.transition("PCN-1", state, source="test")
    before = ledger.claim("PCN-1")
    events, records = len(ledger.history("PCN-1")), count(ledger, outbox)
    status = {"id": "status-1", "event": illegal.value, "claim_id": "PCN-1"}
    with pytest.raises(IllegalTransition, match="not an allowed transition"):
        ledger.transition(
            "PCN-1", illegal, source="test", outbox_records=[(OutboxKind.STATUS, status)]
        )
    assert ledger.claim("PCN-1") == before
    assert len(ledger.history("PCN-1")) == events
    assert count(ledger, outbox) == records


def test_a_transition_writes_its_outbox_records_with_it(ledger: Ledger) -> None:
    add(ledger, record())
    ledger.transition("PCN-1", S.BATCHED, source="837")
    status = {"id": "PCN-1:submitted:1", "event": "submitted", "claim_id": "PCN-1"}
    ledger.transition("PCN-1", S.SUBMITTED, source="837", outbox_records=[("status", status)])
    [pending] = ledger.pending_outbox(OutboxKind.STATUS)
    assert pending.payload == status


def test_an_unknown_claim_cannot_change_state(ledger: Ledger) -> None:
    with pytest.raises(UnknownClaim):
        ledger.transition("NOPE", S.SUBMITTED, source="837")
    assert ledger.claim("NOPE") is None
    assert ledger.history("NOPE") == []


def test_every_state_has_a_row_in_the_transition_table() -> None:
    assert set(TRANSITIONS) == set(ClaimState)
    assert TRANSITIONS[S.QUEUED] == {S.BATCHED}
    assert TRANSITIONS[S.REJECTED] == frozenset()


def test_current_claims_in_the_order_asked(ledger: Ledger) -> None:
    for claim_id in ("A", "B", "C"):
        ledger.add_claim({"claim_id": claim_id}, kind="dental", partner="acme", payer_id="1")
    ledger.transition("B", ClaimState.BATCHED, source="837")
    ledger.transition("B", ClaimState.SUBMITTED, source="837")
    ledger.transition("B", ClaimState.REJECTED, source="277CA")
    ledger.add_claim({"claim_id": "B", "n": 2}, kind="dental", partner="acme", payer_id="1")
    found = ledger.current_claims(["C", "B", "X", "A"])
    assert [(c.claim_id, c.version) for c in found] == [("C", 1), ("B", 2), ("A", 1)]
    assert found[1].record == {"claim_id": "B", "n": 2}


def test_search_columns_are_copied_out_of_the_record(ledger: Ledger) -> None:
    rec = record(
        subscriber={"first_name": "Ana", "last_name": "Lopez"},
        patient={"first_name": "Jose", "last_name": "Lopez-Diaz"},
        service_date="2026-03-03",
        lines=[
            {"charge": "100.00", "service_date": "2026-03-05"},
            {"charge": "40.5"},
        ],
    )
    add(ledger, rec)
    with ledger.engine.connect() as connection:
        from gateway.ledger.schema import claims

        row = connection.execute(
            select(claims).where(claims.c.patient_last_name == "LOPEZ-DIAZ")
        ).one()
    assert (row.patient_first_name, row.service_from, row.service_to, row.billed) == (
        "JOSE", "2026-03-03", "2026-03-05", "140.50",
    )  # fmt: skip
