"""Output records are copied out as the ledger stored them: the very bytes that parsing the
stored record and writing it again gave before (so a practice's parser sees no change)."""

from __future__ import annotations

from decimal import Decimal

from gateway.daemon.outputs import _line
from gateway.ledger.db import open_ledger
from gateway.ledger.schema import OutboxKind


def test_a_raw_record_is_written_byte_for_byte_as_the_parsed_one(db_url: str) -> None:
    ledger = open_ledger(db_url)
    record = {"id": "s-1", "zeta": 1, "name": "Zoë Ñandú", "paid": Decimal("12.50"),
              "lines": [{"b": None, "a": 1.5}], "event": "paid"}  # fmt: skip
    ledger.add_outbox([(OutboxKind.STATUS, record)])
    [parsed] = ledger.pending_outbox(OutboxKind.STATUS)
    opened = ledger.open_batch(OutboxKind.STATUS, lambda: "status-1.jsonl", owner="me", raw=True)
    assert opened is not None
    [raw] = opened[1]
    assert raw.payload == {} and raw.text is not None
    assert _line(raw) == _line(parsed)
    assert parsed.payload["paid"] == "12.50" and parsed.payload["name"] == "Zoë Ñandú"
    ledger.close()
