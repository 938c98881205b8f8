"""The outbox: output records waiting to be written, assigned to batches, marked emitted."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime

from sqlalchemy import String, bindparam, or_, select, type_coerce, update
from sqlalchemy.engine import Connection

from gateway.ledger.base import LedgerBase
from gateway.ledger.id_sets import one_of
from gateway.ledger.records import (
    OutboxEntry,
    OutboxItem,
    instant,
    utc_now,
)
from gateway.ledger.schema import (
    OutboxKind,
    outbox,
)

_KINDS = {kind.value: kind for kind in OutboxKind}
_BATCH_CHUNK = 1_000  # records read at a time from a batch (a MiB or two)
_BATCH_ROWS = (  # built once: compiled once
    select(
        outbox.c.id,
        outbox.c.record_id,
        outbox.c.kind,
        outbox.c.payload,
        type_coerce(outbox.c.created_at, String),  # parsed by ``instant``: a tenth of the cost
        outbox.c.place,
    )
    .where(outbox.c.batch == bindparam("batch"), outbox.c.id > bindparam("after"))
    .order_by(outbox.c.id)
    .limit(_BATCH_CHUNK)
)


class OutboxBook(LedgerBase):
    """Output records for the practice system."""

    def add_outbox(self, records: Iterable[OutboxItem]) -> int:
        """Queue output records (kind, record with a stable ``"id"``); returns how many were
        new. A record id already in the outbox is ignored, emitted or not."""
        with self.engine.begin() as connection:
            return self._add_outbox(connection, records, utc_now(), count=True)

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
            OutboxEntry(row.record_id, kind, json.loads(row.payload), row.created_at, row.place)
            for row in rows
        ]

    def open_batch(
        self,
        kind: OutboxKind | str,
        name: Callable[[], str],
        *,
        owner: str,
        limit: int = 10_000,
        places: Collection[str] | None = None,
        raw: bool = False,
    ) -> tuple[str, list[OutboxEntry]] | None:
        """The next output file of ``kind`` that ``owner`` writes (see ``open_batch_name``)
        with its records (``raw``: see ``batch_entries``); None when nothing is pending."""
        batch = self.open_batch_name(kind, name, owner=owner, limit=limit, places=places)
        return None if batch is None else (batch, list(self.batch_entries(batch, raw=raw)))

    def open_batch_name(
        self,
        kind: OutboxKind | str,
        name: Callable[[], str],
        *,
        owner: str,
        limit: int = 10_000,
        places: Collection[str] | None = None,
    ) -> str | None:
        """The name of the next output file of ``kind`` that ``owner`` writes: a batch it
        assigned before a crash and has not marked emitted (same name, same records), else up
        to ``limit`` pending records of one place (the oldest pending record's) assigned now to
        a new batch called ``name()``; None when nothing is pending. Another worker's open batch
        is never taken: it may be half written, and only its owner knows how far. ``places``:
        only records of these places (or of none) are assigned (None: any place). Its records:
        ``batch_entries``."""
        kind = OutboxKind(kind)
        with self.engine.begin() as connection:
            batch = self._own_open_batch(connection, kind, owner)
            if batch is None:
                ids = self._unassigned(connection, kind, limit, places)
                batch = name()
                if not self._assign(connection, ids, batch, owner):
                    return None
        return batch

    def batch_entries(self, batch: str, *, raw: bool = False) -> Iterator[OutboxEntry]:
        """A batch's records in the order they were added, read 1,000 at a time (its file is
        written as they come: memory does not grow with the batch). ``raw``: each entry's
        ``text`` is the record as stored, its ``payload`` left empty (for a writer that copies
        records out as they are, with no JSON parsed and written again)."""
        after = 0
        while True:
            with self.engine.begin() as connection:
                rows = connection.execute(_BATCH_ROWS, {"batch": batch, "after": after}).all()
            for _id, record_id, kind, payload, created, place in rows:
                created_at = instant(created)
                assert created_at is not None
                if raw:
                    yield OutboxEntry(record_id, _KINDS[kind], {}, created_at, place, payload)
                else:
                    yield OutboxEntry(record_id, _KINDS[kind], json.loads(payload), created_at,
                                      place)  # fmt: skip
            if len(rows) < _BATCH_CHUNK:
                return
            after = int(rows[-1][0])

    def _own_open_batch(self, connection: Connection, kind: OutboxKind, owner: str) -> str | None:
        """``owner``'s batch of ``kind`` not yet emitted; one assigned before batches had owners
        is taken over once (the guarded update makes it one worker's)."""
        pending = (outbox.c.kind == kind.value, outbox.c.emitted_at.is_(None))
        batch = connection.execute(
            select(outbox.c.batch)
            .where(*pending, outbox.c.batch.is_not(None), outbox.c.owner == owner)
            .order_by(outbox.c.id)
            .limit(1)
        ).scalar()
        if batch is not None:
            return str(batch)
        unowned = connection.execute(
            select(outbox.c.batch)
            .where(*pending, outbox.c.batch.is_not(None), outbox.c.owner.is_(None))
            .order_by(outbox.c.id)
            .limit(1)
        ).scalar()
        if unowned is None:
            return None
        taken = connection.execute(
            update(outbox)
            .where(outbox.c.batch == unowned, outbox.c.owner.is_(None))
            .values(owner=owner)
        )
        return str(unowned) if taken.rowcount else None

    def _unassigned(
        self,
        connection: Connection,
        kind: OutboxKind,
        limit: int,
        places: Collection[str] | None = None,
    ) -> list[int]:
        """Ids of pending records no batch holds, all of the oldest one's place (a file goes to
        one place); rows another worker is assigning right now are skipped (PostgreSQL), not
        waited for."""
        rows = connection.execute(
            select(outbox.c.id, outbox.c.place)
            .where(
                outbox.c.kind == kind.value,
                outbox.c.emitted_at.is_(None),
                outbox.c.batch.is_(None),
                *(
                    ()
                    if places is None
                    else (or_(outbox.c.place.is_(None), outbox.c.place.in_(sorted(places))),)
                ),
            )
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        first = rows[0][1] if rows else None
        return [int(row_id) for row_id, place in rows if place == first]

    def _assign(self, connection: Connection, ids: list[int], batch: str, owner: str) -> int:
        """Put the records ``ids`` that are still unassigned in ``batch``: a record another
        worker assigned since they were read is left alone (no lost update). One statement
        for the whole batch (the ids as one parameter): one per 500 ids made PostgreSQL walk
        the batch's unassigned rows, dead versions included, again for each."""
        if not ids:
            return 0
        dialect = connection.dialect.name
        return int(
            connection.execute(
                update(outbox)
                .where(one_of(dialect, outbox.c.id, ids), outbox.c.batch.is_(None))
                .values(batch=batch, owner=owner)
            ).rowcount
        )

    def mark_batch_emitted(
        self, batch: str, at: datetime | None = None, *, owner: str | None = None
    ) -> int:
        """The batch's file is in place: its records are emitted (only ``owner``'s, when
        given: a worker marks only what it wrote)."""
        where = [outbox.c.batch == batch, outbox.c.emitted_at.is_(None)]
        if owner is not None:
            where.append(outbox.c.owner == owner)
        with self.engine.begin() as connection:
            result = connection.execute(
                update(outbox).where(*where).values(emitted_at=at or utc_now())
            )
        return int(result.rowcount)
