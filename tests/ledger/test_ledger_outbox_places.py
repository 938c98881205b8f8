"""Output records carry their place (the partner whose stream they belong to); a batch, so a
file, holds records of one place only, and a worker assigns only the places it serves."""

from __future__ import annotations

from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import OutboxKind


def test_records_of_two_places_go_in_separate_files(ledger: Ledger) -> None:
    def status(n: int, partner: str | None) -> tuple[str, dict[str, object]]:
        return "status", {"id": f"s-{n}", "claim_id": f"C{n}", "partner": partner}

    ledger.add_outbox([status(1, "acme"), status(2, "other"), status(3, "acme")])
    ledger.add_outbox([("postings", {"id": "p-5", "claim_id": "C5"}), status(5, "acme")])
    first = ledger.open_batch(OutboxKind.STATUS, lambda: "one", owner="w")
    assert first is not None and [e.record_id for e in first[1]] == ["s-1", "s-3", "s-5"]
    assert {e.place for e in first[1]} == {"acme"}
    ledger.mark_batch_emitted("one", owner="w")
    # a worker that serves only acme leaves the other partner's records to its daemons
    assert ledger.open_batch(OutboxKind.STATUS, lambda: "x", owner="w", places=["acme"]) is None
    second = ledger.open_batch(OutboxKind.STATUS, lambda: "two", owner="w", places=["other"])
    assert second is not None and [e.place for e in second[1]] == ["other"]
    # a posting takes the place of its claim's status record in the same write
    posting = ledger.open_batch(OutboxKind.POSTINGS, lambda: "p", owner="w")
    assert posting is not None and posting[1][0].place == "acme"
    assert ledger.mark_batch_emitted("two", owner="someone else") == 0
