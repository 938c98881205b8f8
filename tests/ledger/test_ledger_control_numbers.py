"""Control numbers: reserved atomically per partner, increasing, never handed out twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import select, update

from gateway.ledger.db import open_ledger
from gateway.ledger.ledger import MAX_CONTROL_NUMBER, ControlNumbersExhausted, Ledger
from gateway.ledger.schema import control_numbers


def test_first_reservation_is_one_and_each_next_is_one_more(ledger: Ledger) -> None:
    assert [ledger.reserve_control_numbers("acme") for _ in range(3)] == [(1, 1), (2, 2), (3, 3)]


def test_each_partner_counts_on_its_own(ledger: Ledger) -> None:
    ledger.reserve_control_numbers("acme")
    ledger.reserve_control_numbers("acme")
    assert ledger.reserve_control_numbers("other") == (1, 1)
    assert ledger.reserve_control_numbers("acme") == (3, 3)


def test_concurrent_reservations_are_distinct_and_increasing(ledger: Ledger, db_url: str) -> None:
    """4 workers (each its own engine and connection, like 4 daemons) x 50 reservations."""
    workers, each = 4, 50
    start = Barrier(workers)

    def work(_: int) -> list[int]:
        with open_ledger(db_url) as own:
            start.wait()
            return [own.reserve_control_numbers("acme")[0] for _ in range(each)]

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(work, range(workers)))
    for numbers in results:
        assert numbers == sorted(numbers) and len(set(numbers)) == each
    everything = [n for numbers in results for n in numbers]
    assert sorted(everything) == list(range(1, workers * each + 1))
    assert ledger.reserve_control_numbers("acme") == (workers * each + 1,) * 2


def test_never_exceeds_nine_digits(ledger: Ledger) -> None:
    ledger.reserve_control_numbers("acme")
    with ledger.engine.begin() as connection:
        connection.execute(
            update(control_numbers).values(
                last_interchange=MAX_CONTROL_NUMBER - 1, last_group=MAX_CONTROL_NUMBER - 1
            )
        )
    assert ledger.reserve_control_numbers("acme") == (MAX_CONTROL_NUMBER, MAX_CONTROL_NUMBER)
    with pytest.raises(ControlNumbersExhausted, match="999999999"):
        ledger.reserve_control_numbers("acme")
    with ledger.engine.connect() as connection:  # the refused reservation was rolled back
        row = connection.execute(select(control_numbers)).one()
    assert (row.last_interchange, row.last_group) == (MAX_CONTROL_NUMBER, MAX_CONTROL_NUMBER)
