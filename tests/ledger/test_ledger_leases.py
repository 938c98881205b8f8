"""Leases: queued claims are shared between workers, never given to two at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from gateway.ledger.db import open_ledger
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import ClaimState


def queue(
    ledger: Ledger, count: int, *, kind: str = "professional", partner: str = "acme"
) -> list[str]:
    ids = [f"{kind[:1].upper()}-{n:04d}" for n in range(count)]
    for claim_id in ids:
        ledger.add_claim({"claim_id": claim_id}, kind=kind, partner=partner, payer_id="87726")
    return ids


def test_two_concurrent_workers_never_get_the_same_claim(ledger: Ledger, db_url: str) -> None:
    ids = queue(ledger, 80)
    workers = 2
    start = Barrier(workers)

    def work(n: int) -> list[str]:
        taken: list[str] = []
        with open_ledger(db_url) as own:  # its own engine and connections, like a daemon
            start.wait()
            while got := own.lease_queued("acme", "professional", f"worker-{n}", 3, 60):
                taken.extend(got)
        return taken

    with ThreadPoolExecutor(workers) as pool:
        first, second = pool.map(work, range(workers))
    assert not set(first) & set(second)
    assert sorted(first + second) == ids
    assert len(first) == len(set(first)) and len(second) == len(set(second))


def test_only_queued_claims_of_the_partner_and_kind_are_leased(ledger: Ledger) -> None:
    [mine, sent] = queue(ledger, 2)
    queue(ledger, 1, kind="dental")
    queue(ledger, 1, kind="institutional", partner="other")
    ledger.add_claim({"claim_id": "ELSE"}, kind="professional", partner="other", payer_id="1")
    ledger.transition(sent, ClaimState.BATCHED, source="837")
    assert ledger.lease_queued("acme", "professional", "w", 10, 60) == [mine]
    assert ledger.lease_queued("acme", "professional", "w", 10, 60) == []  # also not to its owner


def test_an_expired_lease_is_taken_over(ledger: Ledger) -> None:
    ids = queue(ledger, 3)
    assert ledger.lease_queued("acme", "professional", "dead", 10, 0) == ids  # expires at once
    assert ledger.lease_queued("acme", "professional", "alive", 2, 60) == ids[:2]
    assert ledger.lease_queued("acme", "professional", "dead", 10, 60) == ids[2:]
    assert ledger.lease_queued("acme", "professional", "third", 10, 60) == []


def test_released_leases_can_be_taken_again(ledger: Ledger) -> None:
    ids = queue(ledger, 2)
    assert ledger.lease_queued("acme", "professional", "a", 10, 60) == ids
    assert ledger.release_leases(ids, "someone-else") == 0
    assert ledger.release_leases(ids[:1], "a") == 1
    assert ledger.lease_queued("acme", "professional", "b", 10, 60) == ids[:1]


def test_a_claim_is_leased_once_whatever_its_versions(ledger: Ledger) -> None:
    [claim_id] = queue(ledger, 1)
    ledger.add_claim(
        {"claim_id": claim_id, "frequency": "7", "payer_claim_number": "X"},
        kind="professional", partner="acme", payer_id="87726",
    )  # fmt: skip
    assert ledger.lease_queued("acme", "professional", "w", 10, 60) == [claim_id]
