"""Claim status inquiries in the ledger (SQLite and PostgreSQL): asked once per window whatever
runs at once, leased by one worker, sent in one recorded 276, answered once with the claim
changes in the same transaction; follow-up facts read back from the claims' events."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest

from gateway.ledger.followup import InquiryAnswer, InquiryIn, inquiry_key
from gateway.ledger.ledger import ClaimChange, Ledger, LedgerError
from gateway.ledger.records import utc_now
from gateway.ledger.schema import ClaimState as S


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def claim(ledger: Ledger, claim_id: str, *path: tuple[S, str]) -> None:
    record = {"claim_id": claim_id, "payer": {"id": "87726", "name": "Acme Health"},
              "lines": [{"charge": "100.00", "service_date": "2025-03-01"},
                        {"charge": "20.50", "service_date": "2025-03-02"}]}  # fmt: skip
    ledger.add_claim(record, kind="professional", partner="acme", payer_id="87726")
    for state, source in path:
        ledger.transition(claim_id, state, source=source, detail={"file": "x"})


SENT = ((S.BATCHED, "837"), (S.SUBMITTED, "837"))
ACCEPTED = (*SENT, (S.ACCEPTED, "999"), (S.ACCEPTED, "277CA"))


def ask(claim_id: str, window: int = 1) -> InquiryIn:
    return InquiryIn(claim_id, 1, "acme", "87726", window, "no_payment")


def send(ledger: Ledger, traces: list[str], name: str = "acme-276-000000001.x12") -> int:
    assert sorted(ledger.lease_queued_inquiries("acme", "w", 10, 60)) == sorted(traces)
    isa13, gs06 = ledger.reserve_control_numbers("acme")
    return ledger.submit_status_interchange(
        "acme", isa13, gs06, file_name=name, sha256=sha(name), traces=traces, owner="w"
    )


def test_an_inquiry_is_queued_once_per_window(ledger: Ledger) -> None:
    claim(ledger, "C1", *ACCEPTED)
    now = utc_now()
    assert ledger.queue_status_inquiries([ask("C1")], now) == ["C1.1.1"]
    assert ledger.queue_status_inquiries([ask("C1")], now) == []  # another daemon, same window
    assert ledger.queue_status_inquiries([ask("C1", 2)], now) == ["C1.1.2"]
    stored = ledger.status_inquiries(claim_id="C1")
    assert [(s.trace, s.state, s.window, s.reason) for s in stored] == [
        ("C1.1.1", "queued", 1, "no_payment"),
        ("C1.1.2", "queued", 2, "no_payment"),
    ]


def test_inquiries_are_leased_by_one_worker_and_sent_in_one_transaction(ledger: Ledger) -> None:
    for n in range(3):
        claim(ledger, f"C{n}", *ACCEPTED)
    ledger.queue_status_inquiries([ask(f"C{n}") for n in range(3)], utc_now())
    assert ledger.queued_inquiry_summary("acme")[0] == 3
    mine = ledger.lease_queued_inquiries("acme", "w1", 2, 60)
    theirs = ledger.lease_queued_inquiries("acme", "w2", 5, 60)
    assert len(mine) == 2 and len(theirs) == 1 and not set(mine) & set(theirs)
    isa13, gs06 = ledger.reserve_control_numbers("acme")
    interchange_id = ledger.submit_status_interchange(
        "acme", isa13, gs06, file_name="acme-276-000000001.x12", sha256=sha("x"),
        traces=mine, owner="w1",
    )  # fmt: skip
    interchange = ledger.interchange(partner="acme", file_name="acme-276-000000001.x12")
    assert interchange is not None and (interchange.kind, interchange.claim_count) == ("276", 2)
    sent = ledger.status_inquiries(interchange_id=interchange_id)
    assert sorted(s.trace for s in sent) == sorted(mine) and {s.state for s in sent} == {"sent"}
    # the same inquiries cannot go out twice: nothing of a second 276 is recorded
    isa13, gs06 = ledger.reserve_control_numbers("acme")
    with pytest.raises(LedgerError, match="no longer queued"):
        ledger.submit_status_interchange(
            "acme", isa13, gs06, file_name="acme-276-000000002.x12", sha256=sha("y"),
            traces=mine, owner="w1",
        )  # fmt: skip
    assert ledger.interchange(partner="acme", file_name="acme-276-000000002.x12") is None
    assert ledger.release_leases(theirs, "w2", key_of=inquiry_key) == 1


def test_a_277_is_applied_once_with_its_claim_changes(ledger: Ledger) -> None:
    claim(ledger, "C1", *SENT)
    claim(ledger, "C2", *ACCEPTED)
    ledger.queue_status_inquiries([ask("C1"), ask("C2")], utc_now())
    send(ledger, ["C1.1.1", "C2.1.1"])
    answers = [
        InquiryAnswer("C1.1.1", "pending", {"statuses": [{"category": "P1"}]}),
        InquiryAnswer("C2.1.1", "paid", {"statuses": [{"category": "F1"}]}),
        InquiryAnswer("NOPE.1.1", "pending", {}),
    ]
    change = ClaimChange("C1", S.ACCEPTED, "277", {"outcome": "pending"},
                         only_from=frozenset({S.SUBMITTED}))  # fmt: skip
    applied = ledger.apply_status_reply(sha("r1"), partner="acme", name="r1.277",
                                        answers=answers, changes=[change])  # fmt: skip
    assert applied is not None
    assert applied.answered == ["C1.1.1", "C2.1.1"]
    assert applied.skipped == [("NOPE.1.1", "not one of our inquiries")]
    assert [e.claim_id for e in applied.claims.applied] == ["C1"]
    assert ledger.history("C1")[-1].source == "277"
    # the same file again: nothing applied twice
    assert ledger.apply_status_reply(sha("r1"), partner="acme", name="r1.277", answers=answers,
                                     changes=[change]) is None  # fmt: skip
    # another 277 answering the same inquiry: kept once
    again = ledger.apply_status_reply(sha("r2"), partner="acme", name="r2.277",
                                      answers=answers[:1], changes=[])  # fmt: skip
    assert again is not None and again.skipped == [("C1.1.1", "already answered")]
    (first,) = ledger.status_inquiries(["C1.1.1"])
    assert (first.state, first.outcome, first.answer_file) == ("answered", "pending", "r1.277")


def test_followup_facts_tell_when_each_step_happened(ledger: Ledger) -> None:
    claim(ledger, "Q")
    claim(ledger, "S", *SENT)
    claim(ledger, "A", *ACCEPTED)
    claim(ledger, "R", *SENT, (S.REJECTED, "277CA"))
    claim(ledger, "P", *ACCEPTED, (S.PAID, "835"))
    facts = {f.claim_id: f for f in ledger.followup_facts()}
    assert facts["Q"].submitted_at is None and facts["Q"].state == "queued"
    assert facts["S"].submitted_at is not None and facts["S"].acked_at is None
    assert facts["A"].acked_at is not None and facts["A"].accepted_at is not None
    assert facts["R"].rejected is not None and facts["R"].rejected["source"] == "277CA"
    assert facts["P"].adjudicated_at is not None
    assert facts["A"].billed == Decimal("120.50") and facts["A"].payer_name == "Acme Health"
    assert facts["A"].service_from == "2025-03-01"
    assert facts["A"].last_event_at - facts["A"].created_at < timedelta(minutes=1)


def test_two_daemons_planning_at_once_queue_each_inquiry_once(ledger: Ledger, db_url: str) -> None:
    """Two ledgers on one database (two daemons) queue the same window's questions at once:
    each trace is kept once, and between them they queued each once."""
    import threading

    from gateway.ledger.db import open_ledger

    for n in range(40):
        claim(ledger, f"C{n}", *ACCEPTED)
    wanted = [ask(f"C{n}") for n in range(40)]
    now = utc_now()
    results: list[list[str]] = []
    start = threading.Barrier(2)

    def plan() -> None:
        with open_ledger(db_url) as other:
            start.wait()
            results.append(other.queue_status_inquiries(wanted, now))

    threads = [threading.Thread(target=plan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 2
    assert sorted(results[0] + results[1]) == sorted(i.trace for i in wanted)
    assert len(ledger.status_inquiries()) == 40
