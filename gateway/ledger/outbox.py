"""The outbox: output records waiting to be written, assigned to batches, marked emitted."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select, update

from gateway.ledger.base import LedgerBase
from gateway.ledger.records import (
    CHUNK,
    OutboxEntry,
    OutboxItem,
    utc_now,
)
from gateway.ledger.schema import (
    OutboxKind,
    outbox,
)


class OutboxBook(LedgerBase):
    """Output records for the practice system."""

    def add_outbox(self, records: Iterable[OutboxItem]) -> int:
        """Queue output records (kind, record with a stable ``"id"``); returns how many were
        new. A record id already in the outbox is ignored, emitted or not."""
        with self.engine.begin() as connection:
            return self._add_outbox(connection, records, utc_now())

    def pending_outbox(self, kind: OutboxKind | str, limit: int = 10_000) -> list[OutboxEntry]:
        """Records of ``kind`` not yet emitted, in the order they were added."""
        kind = OutboxKind(kind)
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(outbox)
                .where(outbox.c.kind == kind.value, outbox.c.emitted_at.is_(None))
                .order_by(outbox.c.id)
                .limit(limit)
            ).all()
        return [
            OutboxEntry(row.record_id, kind, json.loads(row.payload), row.created_at)
            for row in rows
        ]

    def open_batch(
        self, kind: OutboxKind | str, name: Callable[[], str], limit: int = 10_000
    ) -> tuple[str, list[OutboxEntry]] | None:
        """The next output file of ``kind`` to write: a batch assigned before a crash and not
        yet marked emitted (same name, same records), else up to ``limit`` pending records
        assigned now to a new batch called ``name()``; None when nothing is pending."""
        kind = OutboxKind(kind)
        with self.engine.begin() as connection:
            batch = connection.execute(
                select(outbox.c.batch)
                .where(
                    outbox.c.kind == kind.value,
                    outbox.c.emitted_at.is_(None),
                    outbox.c.batch.is_not(None),
                )
                .order_by(outbox.c.id)
                .limit(1)
            ).scalar()
            if batch is None:
                ids = list(
                    connection.execute(
                        select(outbox.c.id)
                        .where(
                            outbox.c.kind == kind.value,
                            outbox.c.emitted_at.is_(None),
                            outbox.c.batch.is_(None),
                        )
                        .order_by(outbox.c.id)
                        .limit(limit)
                    ).scalars()
                )
                if not ids:
                    return None
                batch = name()
                for start in range(0, len(ids), CHUNK):
                    connection.execute(
                        update(outbox)
                        .where(outbox.c.id.in_(ids[start : start + CHUNK]))
                        .values(batch=batch)
                    )
            rows = connection.execute(
                select(outbox).where(outbox.c.batch == batch).order_by(outbox.c.id)
            ).all()
        entries = [
            OutboxEntry(row.record_id, kind, json.loads(row.payload), row.created_at)
            for row in rows
        ]
        return str(batch), entries

    def mark_batch_emitted(self, batch: str, at: datetime | None = None) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(
                update(outbox)
                .where(outbox.c.batch == batch, outbox.c.emitted_at.is_(None))
                .values(emitted_at=at or utc_now())
            )
        return int(result.rowcount)
