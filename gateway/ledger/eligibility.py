"""Eligibility requests: queued, sent in a 270 interchange, answered (or rejected) once.

The doors are the claims' doors: a 270 and its requests are recorded in one transaction before
the upload (control numbers come from ``reserve_control_numbers``, the interchange goes in the
same ``interchanges`` table, so orphans and "already at the partner" work as for 837s), and a
reply's effects on requests (:class:`RequestUpdate`) are written in the transaction that records
the reply's hash (``ReceivedFileBook.apply_reply``), with the benefits record in the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from gateway.ledger.base import LedgerBase
from gateway.ledger.inquiry_queue import InquiryQueue
from gateway.ledger.interchanges import BuiltInterchange
from gateway.ledger.leases import Leased
from gateway.ledger.records import (
    CHUNK,
    ChangesApplied,
    LedgerError,
    RequestUpdate,
    StoredRequest,
    dumps,
    stored_request,
    utc_now,
)
from gateway.ledger.schema import (
    REQUEST_TRANSITIONS,
    OutboxKind,
    RequestState,
    eligibility_requests,
    interchanges,
)

_R = RequestState


REQUESTS = InquiryQueue(eligibility_requests, "request_id", "eligibility:", since="created_at",
                        first="created_at", what="request(s)")  # fmt: skip


class DuplicateRequest(LedgerError):
    """The request id is taken by a request with other content."""


class EligibilityBook(LedgerBase):
    """Eligibility requests and their answers."""

    def add_eligibility_request(
        self, record: Mapping[str, Any], *, partner: str, payer_id: str
    ) -> bool:
        """Queue a request; False when this very request is already in the ledger (taken by a
        pass that died before moving its file). Another request with the same id is refused
        (``DuplicateRequest``): a new question needs a new request id."""
        request_id = str(record["request_id"])
        document = dumps(record)
        now = utc_now()
        with self.engine.begin() as connection:
            stmt = self._insert(connection, eligibility_requests).values(
                request_id=request_id, partner=partner, payer_id=payer_id,
                state=_R.QUEUED.value, record=document, created_at=now, updated_at=now,
            )  # fmt: skip
            stmt = stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
                index_elements=[eligibility_requests.c.request_id]
            ).returning(eligibility_requests.c.request_id)
            if connection.execute(stmt).first() is not None:
                return True
            stored = connection.execute(
                select(eligibility_requests.c.record, eligibility_requests.c.state).where(
                    eligibility_requests.c.request_id == request_id
                )
            ).one()
        if stored.record != document:
            raise DuplicateRequest(
                f"request {request_id}: already in the ledger ({stored.state}) with other "
                "content; give a new question a new request_id"
            )
        return False

    def eligibility_request(self, request_id: str) -> StoredRequest | None:
        with self.engine.begin() as connection:
            row = connection.execute(
                select(eligibility_requests).where(eligibility_requests.c.request_id == request_id)
            ).first()
        return None if row is None else stored_request(row)

    def eligibility_requests(
        self,
        request_ids: Sequence[str] | None = None,
        *,
        interchange_id: int | None = None,
        state: RequestState | None = None,
        limit: int = 1000,
    ) -> list[StoredRequest]:
        """Requests by id (in the order asked, unknown ids left out), by the 270 that carried
        them, or by state (newest change first)."""
        query = select(eligibility_requests)
        if interchange_id is not None:
            query = query.where(eligibility_requests.c.interchange_id == interchange_id)
        if state is not None:
            query = query.where(eligibility_requests.c.state == RequestState(state).value)
        if request_ids is None:
            query = query.order_by(eligibility_requests.c.updated_at.desc()).limit(limit)
            with self.engine.begin() as connection:
                return [stored_request(r) for r in connection.execute(query).all()]
        found: dict[str, StoredRequest] = {}
        with self.engine.begin() as connection:
            for start in range(0, len(request_ids), CHUNK):
                chunk = list(request_ids[start : start + CHUNK])
                rows = connection.execute(
                    query.where(eligibility_requests.c.request_id.in_(chunk))
                ).all()
                found.update((row.request_id, stored_request(row)) for row in rows)
        return [found[r] for r in request_ids if r in found]

    def count_eligibility_requests(self) -> dict[str, int]:
        """Requests per state."""
        query = select(eligibility_requests.c.state, func.count()).group_by(
            eligibility_requests.c.state
        )
        with self.engine.begin() as connection:
            return {str(state): int(n) for state, n in connection.execute(query).all()}

    def unanswered_eligibility_requests(
        self, *, sent_before: datetime, partner: str | None = None
    ) -> list[tuple[StoredRequest, datetime]]:
        """Requests uploaded before ``sent_before`` that no reply has answered yet, with when
        their 270 went out, oldest first: the follow-up worklist's "unanswered eligibility
        requests"."""
        query = (
            select(eligibility_requests, interchanges.c.sent_at.label("interchange_sent_at"))
            .join(interchanges, interchanges.c.id == eligibility_requests.c.interchange_id)
            .where(
                eligibility_requests.c.state == _R.SENT.value,
                interchanges.c.sent_at.is_not(None),
                interchanges.c.sent_at < sent_before,
            )
            .order_by(interchanges.c.sent_at, eligibility_requests.c.request_id)
        )
        if partner is not None:
            query = query.where(eligibility_requests.c.partner == partner)
        with self.engine.begin() as connection:
            rows = connection.execute(query).all()
        return [(stored_request(r), r.interchange_sent_at) for r in rows]

    # -- sending ---------------------------------------------------------------------------

    def queued_request_summary(self, partner: str) -> tuple[int, datetime | None]:
        """How many of the partner's requests wait queued and unleased, and since when."""
        return REQUESTS.summary(self, partner)

    def lease_queued_requests(
        self, partner: str, owner: str, limit: int, ttl_seconds: float
    ) -> Leased:
        """Take up to ``limit`` queued requests of ``partner`` for ``owner`` (as claims are
        leased: never two workers at once, an expired lease is taken over)."""
        return REQUESTS.lease(self, partner, owner, limit, ttl_seconds)

    def submit_eligibility_interchange(
        self,
        partner: str,
        control_number: int,
        group_control_number: int,
        *,
        file_name: str,
        sha256: str,
        request_ids: Sequence[str],
        owner: str,
        token: int | None = None,
    ) -> int:
        """Record a built 270 and move its requests to ``sent`` in it, in one transaction.

        Either the interchange exists with every request in it, or nothing happened: the file
        is then an orphan, never sent, and its requests are still queued. With ``token`` the
        requests must still be leased to ``owner`` with it, else :class:`LeaseLost`.
        """
        built = BuiltInterchange(partner, control_number, group_control_number, "270",
                                 file_name, sha256)  # fmt: skip
        return REQUESTS.record(self, built, request_ids, owner=owner, token=token)


def apply_request_updates(
    book: LedgerBase,
    connection: Connection,
    updates: Sequence[RequestUpdate],
    now: datetime,
    result: ChangesApplied,
) -> None:
    """Write a reply's answers and refusals (inside the caller's transaction): each request
    moves only from the states its update allows, with its benefits record in the outbox."""
    for change in updates:
        row = connection.execute(
            select(eligibility_requests.c.state, eligibility_requests.c.partner)
            .where(eligibility_requests.c.request_id == change.request_id)
            .with_for_update()
        ).first()
        if row is None:
            result.requests_skipped.append((change.request_id, "not in the ledger"))
            continue
        state = RequestState(row.state)
        if state not in change.only_from or change.state not in REQUEST_TRANSITIONS[state]:
            result.requests_skipped.append((change.request_id, f"already {state}"))
            continue
        connection.execute(
            update(eligibility_requests)
            .where(eligibility_requests.c.request_id == change.request_id)
            .values(
                state=change.state.value,
                answer=dumps(dict(change.answer)),
                answer_file=change.file,
                updated_at=now,
            )
        )
        book._add_outbox(connection, [(OutboxKind.BENEFITS, change.answer)], now, row.partner)
        result.requests_applied.append(change.request_id)
