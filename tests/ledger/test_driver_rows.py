"""Rows written straight to the driver (``driver_rows``) read back as given, on SQLite and
PostgreSQL; and the ledger's JSON text is ``json.dumps``'s, to the character."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from gateway.ledger.driver_rows import bound, insert_rows, update_rows
from gateway.ledger.ledger import Ledger
from gateway.ledger.records import dumps
from gateway.ledger.schema import outbox

NOW = datetime(2026, 12, 3, 20, 15, 1, 250000, tzinfo=UTC)
AWKWARD = [  # what an array's text form would have to quote or escape
    '{"a": "b, c", "d": [1, 2]}', 'back\\slash "quoted"', "", "NULL", "naïve – café", "x" * 5000,
]  # fmt: skip


def test_inserted_rows_read_back_as_given_in_their_order(ledger: Ledger) -> None:
    rows = [(f"r{n}", "status", text, None if n % 2 else f"p{n}") for n, text in enumerate(AWKWARD)]
    with ledger.engine.begin() as connection:
        at = bound(connection, outbox.c.created_at, NOW)
        insert_rows(connection, outbox, ("record_id", "kind", "payload", "place", "created_at"),
                    [(*row, at) for row in rows])  # fmt: skip
        read = connection.execute(
            select(outbox.c.record_id, outbox.c.kind, outbox.c.payload, outbox.c.place,
                   outbox.c.created_at).order_by(outbox.c.id)
        ).all()  # fmt: skip
    assert [tuple(r[:4]) for r in read] == rows
    assert {r.created_at for r in read} == {NOW}


def test_an_update_naming_one_row_twice_leaves_the_last_values(ledger: Ledger) -> None:
    with ledger.engine.begin() as connection:
        at = bound(connection, outbox.c.created_at, NOW)
        insert_rows(connection, outbox, ("record_id", "kind", "payload", "created_at"),
                    [("r1", "status", "{}", at), ("r2", "status", "{}", at)])  # fmt: skip
        update_rows(connection, outbox, ("record_id",), ("place", "payload"),
                    [("r1", "first", "1"), ("r1", "second", "2"), ("nowhere", "x", "3")])  # fmt: skip
        read = connection.execute(
            select(outbox.c.record_id, outbox.c.place, outbox.c.payload).order_by(outbox.c.id)
        ).all()
    assert [tuple(r) for r in read] == [("r1", "second", "2"), ("r2", None, "{}")]


def test_the_ledger_json_is_json_dumps_text() -> None:
    document = {
        "z": [1, 2.5, None, True, {"b": "é ✓", "a": Decimal("10.10")}],
        "a": NOW, "quote": 'he said "no"\n', "nested": {"y": {}, "x": []},
    }  # fmt: skip
    for value in (document, "plain", 3, [document, document]):
        assert dumps(value) == json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
