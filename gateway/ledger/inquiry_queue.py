"""Questions queued for payers and sent in interchanges: eligibility requests (270) and claim
status inquiries (276).

Both tables have the same shape (an id, a partner, a state that goes ``queued`` -> ``sent``, the
interchange that carried the row) and go through the same doors: a queued row is leased as
claims are (a work key per row, a fencing token per take), and moved to ``sent`` in the
transaction that records its interchange (``record``), only while it is still queued.
:class:`InquiryQueue` is that shape, once; each Book names its table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Table, exists, func, literal, select, update
from sqlalchemy.engine import Connection

from gateway.ledger.base import LedgerBase
from gateway.ledger.interchanges import BuiltInterchange, record_interchange
from gateway.ledger.leases import Leased, lease_rows, min_time
from gateway.ledger.records import CHUNK, LedgerError, utc_now
from gateway.ledger.schema import leases

QUEUED, SENT = "queued", "sent"


@dataclass(frozen=True, slots=True)
class InquiryQueue:
    """A table of questions: column ``key_name`` is a row's id, ``prefix`` + id its lease's
    work key; rows wait queued ``since`` a column, and are leased in the order of the column
    ``first`` (then by id)."""

    table: Table
    key_name: str
    prefix: str
    since: str  # what "queued since" is read from
    first: str
    what: str  # the rows in words, for errors: "request(s)"

    @property
    def key(self) -> Column[Any]:
        column: Column[Any] = self.table.c[self.key_name]
        return column

    def work_key(self, row_id: str) -> str:
        return f"{self.prefix}{row_id}"

    def leased(self, now: datetime) -> Any:
        """A row under a live lease (any worker's)."""
        work_key = literal(self.prefix) + self.key
        return exists().where(leases.c.work_key == work_key, leases.c.expires_at > now)

    def summary(self, book: LedgerBase, partner: str) -> tuple[int, datetime | None]:
        """How many of the partner's rows wait queued and unleased, and since when."""
        query = select(func.count(), func.min(self.table.c[self.since])).where(
            self.table.c.state == QUEUED,
            self.table.c.partner == partner,
            ~self.leased(utc_now()),
        )
        with book.engine.begin() as connection:
            count, oldest = connection.execute(query).one()
        return int(count), min_time(oldest)

    def lease(
        self, book: LedgerBase, partner: str, owner: str, limit: int, ttl_seconds: float
    ) -> Leased:
        """Take up to ``limit`` queued rows of ``partner`` for ``owner`` (as claims are leased:
        never two workers at once, an expired lease is taken over), with the take's token."""
        if limit <= 0:
            return Leased()
        now = utc_now()
        query = (
            select(self.key)
            .where(
                self.table.c.state == QUEUED,
                self.table.c.partner == partner,
                ~self.leased(now),
            )
            .order_by(self.table.c[self.first], self.key)
            .with_for_update(skip_locked=True, of=self.table)
        )
        with book.engine.begin() as connection:
            return lease_rows(
                book, connection, query, self.key, self.work_key, owner=owner, limit=limit,
                now=now, expires=now + timedelta(seconds=ttl_seconds),
            )  # fmt: skip

    def record(
        self,
        book: LedgerBase,
        built: BuiltInterchange,
        row_ids: Sequence[str],
        *,
        owner: str,
        token: int | None,
    ) -> int:
        """Record a built interchange and move its rows to ``sent`` in it, in one transaction
        (``record_interchange``: fenced by ``token``, all or nothing); its id."""

        def send(connection: Connection, interchange_id: int, now: datetime) -> None:
            self.send(connection, row_ids, interchange_id, now, partner=built.partner,
                      file_name=built.file_name)  # fmt: skip

        return record_interchange(
            book.engine, built, work_keys=[self.work_key(r) for r in row_ids], owner=owner,
            token=token, fill=send,
        )  # fmt: skip

    def send(
        self,
        connection: Connection,
        row_ids: Sequence[str],
        interchange_id: int,
        now: datetime,
        *,
        partner: str,
        file_name: str,
    ) -> None:
        """In the interchange's transaction: every row of ``row_ids`` goes from ``queued`` to
        ``sent`` in it; :class:`LedgerError` (nothing recorded) when one is no longer queued."""
        for start in range(0, len(row_ids), CHUNK):
            chunk = list(row_ids[start : start + CHUNK])
            moved = connection.execute(
                update(self.table)
                .where(self.key.in_(chunk), self.table.c.state == QUEUED)
                .values(state=SENT, interchange_id=interchange_id, updated_at=now)
            ).rowcount
            if moved != len(chunk):
                raise LedgerError(
                    f"partner {partner}: {len(chunk) - moved} {self.what} of {file_name} are "
                    "no longer queued; nothing recorded"
                )
