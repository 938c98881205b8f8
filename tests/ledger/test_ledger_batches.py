"""Batched writes keep the one-at-a-time rules: a claim file queued in one transaction
(``add_claims``), a reply's changes applied in a few statements (``apply_reply``), an
interchange's claims batched and sent together; same verdicts, events and records as claim by
claim, in the order given."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.ledger.ledger import (
    ClaimChange,
    DuplicateClaim,
    IllegalTransition,
    Ledger,
    NewClaim,
    UnknownClaim,
)
from gateway.ledger.schema import ClaimState, OutboxKind, claim_events, claims, outbox

S = ClaimState


def new(claim_id: str, frequency: str = "1", **extra: Any) -> NewClaim:
    record = {"claim_id": claim_id, "kind": "professional", "frequency": frequency, **extra}

    def status(version: int) -> list[tuple[OutboxKind, dict[str, Any]]]:
        return [(OutboxKind.STATUS, {"id": f"{claim_id}-v{version}-queued", "v": version})]

    return NewClaim(record, kind="professional", partner="acme", payer_id="87726",
                    outbox_records=status, detail={"file": "f.json"})  # fmt: skip


def count(ledger: Ledger, table: Any) -> int:
    with ledger.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_batch_queues_each_claim_with_its_event_and_record(ledger: Ledger) -> None:
    assert ledger.add_claims([new("A", total_charge="1.00"), new("B")]) == [1, 1]
    stored = ledger.claim("A")
    assert stored is not None and (stored.version, stored.state) == (1, S.QUEUED)
    assert stored.record["total_charge"] == "1.00" and stored.partner == "acme"
    [event] = ledger.history("B")
    assert (event.event, event.source, event.detail["file"]) == (S.QUEUED, "intake", "f.json")
    assert [e.record_id for e in ledger.pending_outbox(OutboxKind.STATUS)] == [
        "A-v1-queued", "B-v1-queued",
    ]  # fmt: skip
    assert ledger.add_claims([]) == []


def test_a_batch_gives_the_verdicts_one_claim_at_a_time_would(ledger: Ledger) -> None:
    ledger.add_claims([new("OLD")])
    ledger.add_claims([new("REJ")])
    ledger.transition("REJ", S.BATCHED, source="837")
    ledger.transition("REJ", S.SUBMITTED, source="837")
    ledger.transition("REJ", S.REJECTED, source="999")
    got = ledger.add_claims([
        new("OLD"),  # in the ledger: refused
        new("REJ"),  # its current version was rejected: the corrected claim is version 2
        new("NEW"), new("NEW"),  # twice in one file: the second is refused
        new("NEW", frequency="7"),  # a replacement after it: version 2
        new("OLD", frequency="8"),  # a void: version 2
    ])  # fmt: skip
    assert got[1:] == [2, 1, got[3], 2, 2]
    assert isinstance(got[0], DuplicateClaim) and "OLD" in str(got[0])
    assert isinstance(got[3], DuplicateClaim) and "version 1" in str(got[3])
    assert ledger.count_claims() == {"queued": 3}
    assert count(ledger, claims) == 6  # OLD 1-2, REJ 1-2, NEW 1-2
    assert count(ledger, claim_events) == 6 + 3  # REJ's three changes
    assert count(ledger, outbox) == 6


def test_the_stored_json_can_be_given_as_it_is(ledger: Ledger) -> None:
    text = '{"claim_id": "T", "kind": "professional", "frequency": "1"}'
    batch = new("T")
    assert ledger.add_claims([NewClaim(**{**batch.__dict__, "text": text})]) == [1]
    assert ledger.current_records(["T", "UNKNOWN"]) == {"T": text}


def test_a_reply_changing_one_claim_twice_sees_its_own_first_change(ledger: Ledger) -> None:
    ledger.add_claims([new("A"), new("B")])
    for claim_id in ("A", "B"):
        ledger.transition(claim_id, S.BATCHED, source="837")
        ledger.transition(claim_id, S.SUBMITTED, source="837")
    sent = frozenset({S.SUBMITTED, S.BATCHED})
    changes = [
        ClaimChange("A", S.ACCEPTED, "999", {}, only_from=sent),
        ClaimChange("A", S.ACCEPTED, "999", {}, only_from=sent),  # already accepted now
        ClaimChange("B", S.BATCHED, "x", {}),  # not allowed from submitted
        ClaimChange("A", S.REJECTED, "277CA", {},
                    outbox_records=[(OutboxKind.STATUS, {"id": "A-rejected"})]),
        ClaimChange("C", S.ACCEPTED, "999", {}),  # unknown
    ]  # fmt: skip
    applied = ledger.apply_reply("sha-1", partner="acme", name="r.999", kind="999",
                                 changes=changes)  # fmt: skip
    assert applied is not None
    assert [(e.claim_id, e.event) for e in applied.applied] == [
        ("A", S.ACCEPTED), ("A", S.REJECTED),
    ]  # fmt: skip
    assert applied.skipped == [
        ("A", "already accepted"), ("B", "submitted -> batched not allowed"),
        ("C", "not in the ledger"),
    ]  # fmt: skip
    assert ledger.count_claims() == {"rejected": 1, "submitted": 1}
    assert [e.event for e in ledger.history("A")][-2:] == [S.ACCEPTED, S.REJECTED]
    assert [e.record_id for e in ledger.pending_outbox(OutboxKind.STATUS)][-1] == "A-rejected"


def test_a_replys_records_are_queued_in_order_an_id_already_there_left_alone(
    ledger: Ledger,
) -> None:
    names = [f"R{n}" for n in range(5)]
    ledger.add_claims([new(claim_id) for claim_id in names])
    ledger.add_outbox([(OutboxKind.STATUS, {"id": "R3-accepted", "v": "first"})])
    changes = [
        ClaimChange(claim_id, S.BATCHED, "837", {},
                    outbox_records=[(OutboxKind.STATUS, {"id": f"{claim_id}-accepted"})])
        for claim_id in names
    ]  # fmt: skip
    applied = ledger.apply_reply("sha-r", partner="acme", name="r.999", kind="999",
                                 changes=changes)  # fmt: skip
    assert applied is not None and len(applied.applied) == 5
    pending = ledger.pending_outbox(OutboxKind.STATUS)
    assert [e.record_id for e in pending][5:] == ["R3-accepted", "R0-accepted", "R1-accepted",
                                                  "R2-accepted", "R4-accepted"]  # fmt: skip
    assert pending[5].payload == {"id": "R3-accepted", "v": "first"}  # the one already there


def test_an_interchange_batches_and_submits_its_claims_together(ledger: Ledger) -> None:
    ledger.add_claims([new(f"C{n}") for n in range(3)])
    control, group = ledger.reserve_control_numbers("acme")
    interchange = ledger.batch_interchange(
        "acme", control, group, kind="professional", file_name="x.x12", sha256="0" * 64,
        claim_ids=["C0", "C1", "C2"], owner="me",
    )  # fmt: skip
    assert ledger.count_claims() == {"batched": 3}
    ledger.transition("C1", S.ACCEPTED, source="999")  # a reply came before the upload's mark
    events = ledger.mark_interchange_sent(
        interchange, status_records=lambda c, v: [(OutboxKind.STATUS, {"id": f"{c}-sub"})]
    )
    assert [(e.claim_id, e.event) for e in events] == [(f"C{n}", S.SUBMITTED) for n in range(3)]
    assert events[1].detail["claim_state"] == "accepted"  # its event only, the state kept
    assert ledger.count_claims() == {"submitted": 2, "accepted": 1}
    assert ledger.mark_interchange_sent(interchange, status_records=lambda c, v: []) == []


def test_a_claim_that_cannot_be_batched_leaves_the_interchange_unrecorded(ledger: Ledger) -> None:
    ledger.add_claims([new("Q"), new("R")])
    ledger.transition("R", S.BATCHED, source="837")
    control, group = ledger.reserve_control_numbers("acme")
    with pytest.raises(IllegalTransition, match="R version 1: batched -> batched"):
        ledger.batch_interchange("acme", control, group, kind="professional", file_name="y.x12",
                                 sha256="0" * 64, claim_ids=["Q", "R"], owner="me")  # fmt: skip
    with pytest.raises(UnknownClaim, match="NOPE"):
        ledger.batch_interchange("acme", control, group, kind="professional", file_name="y.x12",
                                 sha256="0" * 64, claim_ids=["Q", "NOPE"], owner="me")  # fmt: skip
    assert ledger.interchange(file_name="y.x12") is None
    assert ledger.count_claims() == {"queued": 1, "batched": 1}
