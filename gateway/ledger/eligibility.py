"""Eligibility requests: queued, sent in a 270 interchange, answered (or rejected) once.

The doors are the claims' doors: a 270 and its requests are recorded in one transaction before
the upload (control numbers come from ``reserve_control_numbers``, the interchange goes in the
same ``interchanges`` table, so orphans and "already at the partner" work as for 837s), and a
reply's effects on requests (:class:`RequestUpdate`) are written in the transaction that records
the reply's hash (``ReceivedFileBook.apply_reply``), with the benefits record in the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, literal, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gateway.ledger.base import LedgerBase
from gateway.ledger.interchanges import insert_interchange
from gateway.ledger.leases import Leased, hold_leases, lease_rows, min_time
from gateway.ledger.records import (
    CHUNK,
    ChangesApplied,
    LedgerError,
    RequestUpdate,
    StoredRequest,
    dumps,
    request_key,
    stored_request,
    utc_now,
)
from gateway.ledger.schema import (
    REQUEST_TRANSITIONS,
    OutboxKind,
    RequestState,
    eligibility_requests,
    interchanges,
    leases,
)

_R = RequestState


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
        now = utc_now()
        query = select(func.count(), func.min(eligibility_requests.c.created_at)).where(
            eligibility_requests.c.state == _R.QUEUED.value,
            eligibility_requests.c.partner == partner,
            ~self._leased(now),
        )
        with self.engine.begin() as connection:
            count, oldest = connection.execute(query).one()
        return int(count), min_time(oldest)

    def lease_queued_requests(
        self, partner: str, owner: str, limit: int, ttl_seconds: float
    ) -> Leased:
        """Take up to ``limit`` queued requests of ``partner`` for ``owner`` (as claims are
        leased: never two workers at once, an expired lease is taken over)."""
        if limit <= 0:
            return Leased()
        now = utc_now()
        query = (
            select(eligibility_requests.c.request_id)
            .where(
                eligibility_requests.c.state == _R.QUEUED.value,
                eligibility_requests.c.partner == partner,
                ~self._leased(now),
            )
            .order_by(eligibility_requests.c.created_at, eligibility_requests.c.request_id)
            .with_for_update(skip_locked=True, of=eligibility_requests)
        )
        with self.engine.begin() as connection:
            return lease_rows(
                self, connection, query, eligibility_requests.c.request_id, request_key,
                owner=owner, limit=limit, now=now,
                expires=now + timedelta(seconds=ttl_seconds),
            )  # fmt: skip

    @staticmethod
    def _leased(now: datetime) -> Any:
        work_key = literal("eligibility:") + eligibility_requests.c.request_id
        return exists().where(leases.c.work_key == work_key, leases.c.expires_at > now)

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
        now = utc_now()
        try:
            with self.engine.begin() as connection:
                if token is not None:
                    hold_leases(connection, [request_key(r) for r in request_ids], owner=owner,
                                token=token)  # fmt: skip
                interchange_id = insert_interchange(
                    connection,
                    partner,
                    control_number,
                    group_control_number,
                    kind="270",
                    file_name=file_name,
                    sha256=sha256,
                    count=len(request_ids),
                    now=now,
                )
                for start in range(0, len(request_ids), CHUNK):
                    chunk = list(request_ids[start : start + CHUNK])
                    moved = connection.execute(
                        update(eligibility_requests)
                        .where(
                            eligibility_requests.c.request_id.in_(chunk),
                            eligibility_requests.c.state == _R.QUEUED.value,
                        )
                        .values(state=_R.SENT.value, interchange_id=interchange_id, updated_at=now)
                    ).rowcount
                    if moved != len(chunk):
                        raise LedgerError(
                            f"partner {partner}: {len(chunk) - moved} request(s) of "
                            f"{file_name} are no longer queued; nothing recorded"
                        )
                connection.execute(
                    leases.delete().where(
                        leases.c.work_key.in_([request_key(r) for r in request_ids]),
                        leases.c.owner == owner,
                    )
                )
        except IntegrityError as error:
            raise LedgerError(
                f"partner {partner}: control number {control_number} is already used"
            ) from error
        return int(interchange_id)


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
