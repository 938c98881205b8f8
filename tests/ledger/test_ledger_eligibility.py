"""Eligibility requests in the ledger (SQLite and PostgreSQL): queued once, leased by one worker,
sent in one recorded 270, answered once with the benefits record in the outbox."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from gateway.ledger.ledger import DuplicateRequest, Ledger, LedgerError, RequestUpdate
from gateway.ledger.records import request_key, utc_now
from gateway.ledger.schema import OutboxKind, RequestState


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def record(request_id: str, member: str = "M1") -> dict[str, Any]:
    return {"request_id": request_id, "payer": {"id": "87726"}, "subscriber": {"member_id": member}}


def answer(request_id: str, file: str = "a.271") -> RequestUpdate:
    benefits = {"id": f"benefits-{request_id}-{sha(file)[:16]}", "request_id": request_id,
                "active": True}  # fmt: skip
    return RequestUpdate(request_id, RequestState.ANSWERED, benefits, file)


def send(ledger: Ledger, ids: list[str], name: str = "acme-270-000000001.x12") -> int:
    assert ledger.lease_queued_requests("acme", "w", len(ids), 60) == ids  # oldest first
    isa13, gs06 = ledger.reserve_control_numbers("acme")
    return ledger.submit_eligibility_interchange(
        "acme", isa13, gs06, file_name=name, sha256=sha(name), request_ids=ids, owner="w"
    )


def test_a_request_is_queued_once(ledger: Ledger) -> None:
    assert ledger.add_eligibility_request(record("R-1"), partner="acme", payer_id="87726")
    # the same request again (a pass that died before moving its file): taken, not a duplicate
    assert not ledger.add_eligibility_request(record("R-1"), partner="acme", payer_id="87726")
    with pytest.raises(DuplicateRequest, match="new request_id"):
        ledger.add_eligibility_request(record("R-1", "M2"), partner="acme", payer_id="87726")
    stored = ledger.eligibility_request("R-1")
    assert stored is not None
    assert (stored.state, stored.partner, stored.record) == (RequestState.QUEUED, "acme",
                                                             record("R-1"))  # fmt: skip
    assert ledger.count_eligibility_requests() == {"queued": 1}


def test_requests_are_leased_by_one_worker_and_sent_in_one_transaction(ledger: Ledger) -> None:
    for n in range(3):
        ledger.add_eligibility_request(record(f"R-{n}"), partner="acme", payer_id="87726")
    ledger.add_eligibility_request(record("OTHER"), partner="beta", payer_id="1")
    assert ledger.queued_request_summary("acme")[0] == 3
    mine = ledger.lease_queued_requests("acme", "w1", 2, 60)
    theirs = ledger.lease_queued_requests("acme", "w2", 5, 60)
    assert len(mine) == 2 and len(theirs) == 1 and not set(mine) & set(theirs)
    assert ledger.queued_request_summary("acme")[0] == 0  # all under a live lease
    isa13, gs06 = ledger.reserve_control_numbers("acme")
    interchange_id = ledger.submit_eligibility_interchange(
        "acme", isa13, gs06, file_name="acme-270-000000001.x12", sha256=sha("x"),
        request_ids=mine, owner="w1",
    )  # fmt: skip
    interchange = ledger.interchange(partner="acme", file_name="acme-270-000000001.x12")
    assert interchange is not None and interchange.id == interchange_id
    assert (interchange.kind, interchange.claim_count, interchange.control_number) == (
        "270",
        2,
        isa13,
    )
    sent = ledger.eligibility_requests(interchange_id=interchange_id)
    assert sorted(s.request_id for s in sent) == sorted(mine)
    assert {s.state for s in sent} == {RequestState.SENT}
    assert ledger.release_leases(theirs, "w2", key_of=request_key) == 1
    assert ledger.release_leases(mine, "w1", key_of=request_key) == 0  # the submit dropped them


def test_a_270_is_recorded_whole_or_not_at_all(ledger: Ledger) -> None:
    for n in range(2):
        ledger.add_eligibility_request(record(f"R-{n}"), partner="acme", payer_id="87726")
    with pytest.raises(LedgerError, match="never reserved"):
        ledger.submit_eligibility_interchange("acme", 7, 7, file_name="f", sha256="s",
                                              request_ids=["R-0"], owner="w")  # fmt: skip
    send(ledger, ["R-0"])
    isa13, gs06 = ledger.reserve_control_numbers("acme")
    with pytest.raises(LedgerError, match="no longer queued"):  # R-0 went out already
        ledger.submit_eligibility_interchange("acme", isa13, gs06, file_name="g", sha256="s",
                                              request_ids=["R-1", "R-0"], owner="w")  # fmt: skip
    assert ledger.eligibility_request("R-1").state == RequestState.QUEUED  # type: ignore[union-attr]
    assert ledger.interchange(partner="acme", file_name="g") is None


def test_an_answer_is_applied_once_with_its_benefits_record(ledger: Ledger) -> None:
    ledger.add_eligibility_request(record("R-1"), partner="acme", payer_id="87726")
    send(ledger, ["R-1"])
    applied = ledger.apply_reply(sha("a.271"), partner="acme", name="a.271", kind="271",
                                 changes=(), requests=[answer("R-1")])  # fmt: skip
    assert applied is not None and applied.requests_applied == ["R-1"]
    stored = ledger.eligibility_request("R-1")
    assert stored is not None and stored.state == RequestState.ANSWERED
    assert (stored.answer, stored.answer_file) == (dict(answer("R-1").answer), "a.271")
    [entry] = ledger.pending_outbox(OutboxKind.BENEFITS)
    assert entry.payload == dict(answer("R-1").answer)
    assert entry.place == "acme"  # the request's partner: its output stream
    # the same file again: recorded before, nothing applied
    again = ledger.apply_reply(sha("a.271"), partner="acme", name="a.271", kind="271",
                               changes=(), requests=[answer("R-1")])  # fmt: skip
    assert again is None
    # another file answering the same request: the first answer stands
    later = ledger.apply_reply(sha("b.271"), partner="acme", name="b.271", kind="271",
                               changes=(), requests=[answer("R-1", "b.271")])  # fmt: skip
    assert later is not None and later.requests_skipped == [("R-1", "already answered")]
    assert len(ledger.pending_outbox(OutboxKind.BENEFITS)) == 1
    unknown = ledger.apply_reply(sha("c.271"), partner="acme", name="c.271", kind="271",
                                 changes=(), requests=[answer("NOPE", "c.271")])  # fmt: skip
    assert unknown is not None and unknown.requests_skipped == [("NOPE", "not in the ledger")]


def test_a_queued_request_is_not_answered_and_a_rejected_one_stays_rejected(
    ledger: Ledger,
) -> None:
    ledger.add_eligibility_request(record("R-1"), partner="acme", payer_id="87726")
    early = ledger.apply_reply(sha("x"), partner="acme", name="x", kind="271", changes=(),
                               requests=[answer("R-1", "x")])  # fmt: skip
    assert early is not None and early.requests_skipped == [("R-1", "already queued")]
    send(ledger, ["R-1"])
    refused = RequestUpdate("R-1", RequestState.REJECTED, {"id": "r-1", "errors": []}, "ta1")
    ledger.apply_reply(sha("ta1"), partner="acme", name="ta1", kind="TA1", changes=(),
                       requests=[refused])  # fmt: skip
    late = ledger.apply_reply(sha("y"), partner="acme", name="y", kind="271", changes=(),
                              requests=[answer("R-1", "y")])  # fmt: skip
    assert late is not None and late.requests_skipped == [("R-1", "already rejected")]
    assert ledger.count_eligibility_requests() == {"rejected": 1}


def test_unanswered_requests_after_the_window(ledger: Ledger) -> None:
    for n in range(3):
        ledger.add_eligibility_request(record(f"R-{n}"), partner="acme", payer_id="87726")
    first = send(ledger, ["R-0", "R-1"])
    assert ledger.unanswered_eligibility_requests(sent_before=utc_now()) == []  # not uploaded
    ledger.mark_interchange_sent(
        first, status_records=lambda _c, _v: [], at=utc_now() - timedelta(hours=2)
    )
    ledger.apply_reply(sha("a.271"), partner="acme", name="a.271", kind="271", changes=(),
                       requests=[answer("R-1")])  # fmt: skip
    late = ledger.unanswered_eligibility_requests(sent_before=utc_now() - timedelta(hours=1))
    assert [(r.request_id, r.state) for r, _ in late] == [("R-0", RequestState.SENT)]
    assert ledger.unanswered_eligibility_requests(
        sent_before=utc_now() - timedelta(hours=3)) == []  # fmt: skip
    assert ledger.unanswered_eligibility_requests(sent_before=utc_now(), partner="beta") == []
