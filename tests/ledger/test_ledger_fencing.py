"""Leases that cannot go stale: renewed by their owner, and fenced by a token that changes at
each take, so a worker that stalled past its lease cannot batch what another has since taken:
claims (837), eligibility requests (270) and claim status inquiries (276)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway.ledger.ledger import LeaseLost, Ledger
from gateway.ledger.records import utc_now
from gateway.ledger.schema import ClaimState, interchanges, leases
from tests.ledger.test_ledger_eligibility import record
from tests.ledger.test_ledger_followup import ACCEPTED, ask, claim
from tests.ledger.test_ledger_leases import queue


def _batch(ledger: Ledger, claim_ids: list[str], owner: str, token: int) -> int:
    control, group = ledger.reserve_control_numbers("acme")
    return ledger.batch_interchange(
        "acme", control, group, kind="professional", file_name=f"f{control}.x12",
        sha256="0" * 64, claim_ids=claim_ids, owner=owner, token=token,
    )  # fmt: skip


def _sender(ledger: Ledger, kind: str) -> Callable[[list[str], str, int], int]:
    """Record a 270 (eligibility requests) or a 276 (status inquiries) of leased ids."""

    def send(lease: list[str], owner: str, token: int) -> int:
        isa13, gs06 = ledger.reserve_control_numbers("acme")
        name = f"acme-{kind}-{isa13:09d}.x12"
        if kind == "270":
            return ledger.submit_eligibility_interchange(
                "acme", isa13, gs06, file_name=name, sha256="0" * 64, request_ids=lease,
                owner=owner, token=token,
            )  # fmt: skip
        return ledger.submit_status_interchange(
            "acme", isa13, gs06, file_name=name, sha256="0" * 64, traces=lease, owner=owner,
            token=token,
        )  # fmt: skip

    return send


def test_a_stale_holder_cannot_batch_what_another_took(ledger: Ledger) -> None:
    ids = queue(ledger, 3)
    stale = ledger.lease_queued("acme", "professional", "stalled", 10, 0)  # runs out at once
    assert stale == ids and stale.token
    fresh = ledger.lease_queued("acme", "professional", "awake", 10, 60)
    assert fresh == ids and fresh.token != stale.token
    with pytest.raises(LeaseLost, match="no longer held by stalled"):
        _batch(ledger, stale, "stalled", stale.token)
    with ledger.engine.begin() as connection:  # nothing of the stale write is left
        assert connection.execute(select(interchanges.c.id)).all() == []
    assert ledger.count_claims() == {ClaimState.QUEUED.value: 3}
    _batch(ledger, fresh, "awake", fresh.token)
    assert ledger.count_claims() == {ClaimState.BATCHED.value: 3}


def test_the_same_owner_with_an_old_token_is_fenced_too(ledger: Ledger) -> None:
    """A worker's earlier take (its token) does not count once the lease was taken again."""
    ids = queue(ledger, 1)
    first = ledger.lease_queued("acme", "professional", "w", 10, 0)
    again = ledger.lease_queued("acme", "professional", "w", 10, 60)
    assert first == again == ids
    with pytest.raises(LeaseLost):
        _batch(ledger, first, "w", first.token)
    _batch(ledger, again, "w", again.token)


def test_an_expired_lease_nobody_took_still_fences_for_its_holder(ledger: Ledger) -> None:
    """The token, not the clock, decides: a lease that ran out while no one wanted the work
    is still its holder's (the claims are only ever batched once anyway)."""
    ids = queue(ledger, 2)
    lease = ledger.lease_queued("acme", "professional", "slow", 10, 0)
    _batch(ledger, lease, "slow", lease.token)
    assert ledger.count_claims() == {ClaimState.BATCHED.value: len(ids)}


def test_renewing_keeps_a_lease_and_leaves_others_alone(ledger: Ledger) -> None:
    mine, theirs = queue(ledger, 2)
    ledger.lease_queued("acme", "professional", "me", 1, 1)
    ledger.lease_queued("acme", "professional", "them", 1, 1)
    with ledger.engine.begin() as connection:  # a second later than the lease time allowed
        connection.execute(update(leases).values(expires_at=utc_now() - timedelta(seconds=1)))
    assert ledger.renew_leases("me", 600) == 1
    with ledger.engine.begin() as connection:
        ends = dict(connection.execute(select(leases.c.work_key, leases.c.expires_at)).all())
    assert ends[f"claim:{mine}"] > utc_now() + timedelta(seconds=500)
    assert ends[f"claim:{theirs}"] < utc_now()
    # a renewed lease is not taken over; the expired one is
    assert ledger.lease_queued("acme", "professional", "third", 10, 60) == [theirs]
    assert ledger.renew_leases("them", 600) == 0  # taken over: no longer theirs to renew


def test_a_stale_holder_cannot_send_eligibility_requests_another_took(ledger: Ledger) -> None:
    for n in range(2):
        ledger.add_eligibility_request(record(f"R-{n}"), partner="acme", payer_id="87726")
    stale = ledger.lease_queued_requests("acme", "stalled", 10, 0)
    fresh = ledger.lease_queued_requests("acme", "awake", 10, 60)
    assert stale == fresh == ["R-0", "R-1"] and stale.token != fresh.token
    send = _sender(ledger, "270")
    with pytest.raises(LeaseLost):
        send(stale, "stalled", stale.token)
    assert ledger.count_eligibility_requests() == {"queued": 2}
    send(fresh, "awake", fresh.token)
    assert ledger.count_eligibility_requests() == {"sent": 2}


def test_a_stale_holder_cannot_send_status_inquiries_another_took(ledger: Ledger) -> None:
    for n in range(2):
        claim(ledger, f"C{n}", *ACCEPTED)
    ledger.queue_status_inquiries([ask(f"C{n}") for n in range(2)], utc_now())
    stale = ledger.lease_queued_inquiries("acme", "stalled", 10, 0)  # runs out at once
    fresh = ledger.lease_queued_inquiries("acme", "awake", 10, 60)
    assert stale == fresh == ["C0.1.1", "C1.1.1"] and stale.token != fresh.token
    send = _sender(ledger, "276")
    with pytest.raises(LeaseLost, match="no longer held by stalled"):
        send(stale, "stalled", stale.token)
    with ledger.engine.begin() as connection:  # nothing of the stale write is left
        assert connection.execute(select(interchanges.c.id)).all() == []
    assert {i.state for i in ledger.status_inquiries()} == {"queued"}
    # the same owner with the token of an earlier take is fenced too
    with pytest.raises(LeaseLost):
        send(fresh, "awake", stale.token)
    interchange_id = send(fresh, "awake", fresh.token)
    sent = ledger.status_inquiries(interchange_id=interchange_id)
    assert [(i.trace, i.state) for i in sent] == [("C0.1.1", "sent"), ("C1.1.1", "sent")]
