"""Output batches under two workers (two daemons on one ledger), interleaved step by step.

The bug: a second daemon adopted the first one's open batch (and wrote its records in its own
home too), and two daemons reading the same unassigned records both assigned them (the second
overwrote the first: a lost update, the records written twice). Both are driven here
deterministically, with two ledger sessions on one database.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from gateway.ledger.db import open_ledger
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import OutboxKind, outbox


def _records(*ids: str) -> list[tuple[OutboxKind, dict[str, Any]]]:
    return [(OutboxKind.STATUS, {"id": i, "event": "queued"}) for i in ids]


def _ids(batch: tuple[str, list[Any]] | None) -> list[str]:
    assert batch is not None
    return [e.record_id for e in batch[1]]


def test_an_open_batch_is_finished_by_its_owner_alone(ledger: Ledger, db_url: str) -> None:
    ledger.add_outbox(_records("s-1", "s-2"))
    with open_ledger(db_url) as other:
        a = ledger.open_batch(OutboxKind.STATUS, lambda: "status-a.jsonl", owner="home-a")
        assert _ids(a) == ["s-1", "s-2"]
        # a crash (or a slow disk) before a marks it emitted: b must not take it over
        assert other.open_batch(OutboxKind.STATUS, lambda: "status-b.jsonl", owner="home-b") is None
        ledger.add_outbox(_records("s-3"))
        b = other.open_batch(OutboxKind.STATUS, lambda: "status-b.jsonl", owner="home-b")
        assert _ids(b) == ["s-3"]  # only what no batch holds
        again = ledger.open_batch(OutboxKind.STATUS, lambda: "unused", owner="home-a")
        assert again == a  # a resumes its own batch: same name, same records
        assert ledger.mark_batch_emitted("status-a.jsonl") == 2
        assert other.mark_batch_emitted("status-b.jsonl") == 1
        assert ledger.open_batch(OutboxKind.STATUS, lambda: "x", owner="home-a") is None


def test_records_read_by_two_workers_are_assigned_once(ledger: Ledger, db_url: str) -> None:
    """Both read the same unassigned records; the one that assigns second gets none of them."""
    ledger.add_outbox(_records("s-1", "s-2", "s-3"))
    with open_ledger(db_url) as other:
        with ledger.engine.begin() as connection:
            seen_by_a = ledger._unassigned(connection, OutboxKind.STATUS, 10)
        with other.engine.begin() as connection:
            seen_by_b = other._unassigned(connection, OutboxKind.STATUS, 10)
            assert seen_by_b == seen_by_a
            assert other._assign(connection, seen_by_b, "status-b.jsonl", "home-b") == 3
        with ledger.engine.begin() as connection:
            assert ledger._assign(connection, seen_by_a, "status-a.jsonl", "home-a") == 0
        with ledger.engine.begin() as connection:
            rows = connection.execute(select(outbox.c.batch, outbox.c.owner)).all()
        assert set(rows) == {("status-b.jsonl", "home-b")}


def test_a_batch_from_before_owners_is_taken_by_one_worker(ledger: Ledger, db_url: str) -> None:
    ledger.add_outbox(_records("s-1"))
    with ledger.engine.begin() as connection:  # as migration 0004 finds an open batch
        connection.execute(update(outbox).values(batch="status-old.jsonl", owner=None))
    with open_ledger(db_url) as other:
        assert _ids(ledger.open_batch(OutboxKind.STATUS, lambda: "x", owner="home-a")) == ["s-1"]
        assert other.open_batch(OutboxKind.STATUS, lambda: "y", owner="home-b") is None


def test_a_second_worker_skips_rows_being_assigned(ledger: Ledger, db_url: str) -> None:
    """Two transactions open at once: on PostgreSQL the second skips the rows the first holds
    (SKIP LOCKED) instead of waiting; SQLite lets only one writer begin at all."""
    ledger.add_outbox(_records("s-1", "s-2"))
    with open_ledger(db_url) as other, ledger.engine.connect() as first:
        first.begin()
        held = ledger._unassigned(first, OutboxKind.STATUS, 10)
        assert len(held) == 2
        if first.dialect.name == "postgresql":
            with other.engine.begin() as second:
                assert other._unassigned(second, OutboxKind.STATUS, 10) == []
        else:
            raw = other.engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA busy_timeout=100")  # type: ignore[union-attr]
                with pytest.raises(Exception, match="database is locked"):
                    raw.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
            finally:
                raw.close()
        assert ledger._assign(first, held, "status-a.jsonl", "home-a") == 2
        first.commit()
