"""Claim legs: a claim billed to each payer on file in turn (P, then S, then T).

The claim's own record is its first leg. When a payer's answer (a claim payment in force)
leaves the claim to a next payer, the next-payer step acts on that payment exactly once: the
payment is recorded in ``leg_sources`` in the transaction that opens the next leg, so a crash
or a second daemon never opens it twice. Opening a leg that is sent means a new claim version,
queued to the next payer's partner with its ``queued`` status record: from there it goes out
through the same doors as any claim (leases, one interchange, upload once). A crossover leg
waits for the payer's own 835 and is sent only when ``send_crossover`` finds it still waiting.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select, true, update
from sqlalchemy.engine import Connection, Row

from gateway.ledger.base import LedgerBase
from gateway.ledger.payment_work import joined_payments, stored_payment
from gateway.ledger.records import OutboxItem, StoredPayment, dumps, search_fields, utc_now
from gateway.ledger.schema import (
    IN_FORCE,
    ClaimState,
    LegState,
    claim_legs,
    claim_payments,
    claims,
    leg_sources,
)

_ORDER = {"P": 0, "S": 1, "T": 2}
# A balance record that hands the claim on (JSON text written with sort_keys and ", ": " ").
_HANDS_ON = ('"next_action": "bill_secondary"', '"next_action": "await_next_payer"')


@dataclass(frozen=True, slots=True)
class StoredLeg:
    claim_id: str
    sequence: str
    version: int | None
    payer_id: str
    partner: str | None
    state: LegState
    record: dict[str, Any]
    opened_by: int | None
    detail: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LegIn:
    """A leg to open: ``queue`` makes it a new claim version queued to ``partner``."""

    sequence: str
    payer_id: str
    partner: str | None
    state: LegState
    record: Mapping[str, Any]
    detail: Mapping[str, Any] = field(default_factory=dict)
    queue: bool = False


StatusRecords = Callable[[int], Iterable[OutboxItem]]


class LegBook(LedgerBase):
    """Claim legs and the payments that opened them."""

    def legs(self, claim_id: str) -> list[StoredLeg]:
        """The claim's legs in the order they are billed (none before a next payer is due)."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(claim_legs).where(claim_legs.c.claim_id == claim_id)
            ).all()
        return sorted((_leg(r) for r in rows), key=lambda leg: _ORDER.get(leg.sequence, 9))

    def leg_record(self, claim_id: str, sequence: str | None) -> dict[str, Any] | None:
        """The claim record as the payer at ``sequence`` got it, when the claim has that leg."""
        if sequence is None:
            return None
        with self.engine.begin() as connection:
            raw = connection.execute(
                select(claim_legs.c.record).where(
                    claim_legs.c.claim_id == claim_id, claim_legs.c.sequence == sequence
                )
            ).scalar()
        return None if raw is None else dict(json.loads(raw))

    def leg_candidates(
        self, since: datetime | None = None, limit: int = 500
    ) -> list[StoredPayment]:
        """Payments in force the next-payer step has not acted on: those that hand the claim
        on to a next payer, and reversals of a payment that opened a leg (only those changed
        at ``since`` or later, when given: a daemon looks at everything once, at start)."""
        acted = exists().where(leg_sources.c.payment_id == claim_payments.c.id)
        opened = select(claim_legs.c.opened_by).where(claim_legs.c.opened_by.is_not(None))
        hands_on = or_(*(claim_payments.c.balance.contains(text) for text in _HANDS_ON))
        reversal = (claim_payments.c.status_code == "22") & claim_payments.c.reverses.in_(opened)
        query = (
            joined_payments()
            .where(claim_payments.c.state.in_([s.value for s in IN_FORCE]), ~acted)
            .where(or_(hands_on, reversal))
            .where(claim_payments.c.updated_at >= since if since is not None else true())
            .order_by(claim_payments.c.id)
            .limit(limit)
        )
        with self.engine.begin() as connection:
            return [stored_payment(r) for r in connection.execute(query).all()]

    def crossover_legs(self) -> list[StoredLeg]:
        """Legs waiting for a forwarded claim's 835 (``detail.since``: forwarded when)."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(claim_legs)
                .where(claim_legs.c.state == LegState.CROSSOVER.value)
                .order_by(claim_legs.c.created_at)
            ).all()
        return [_leg(r) for r in rows]

    def act_on_payment(
        self,
        payment: StoredPayment,
        outcome: str,
        *,
        own: LegIn | None = None,
        leg: LegIn | None = None,
        note: tuple[str, LegState, Mapping[str, Any]] | None = None,
        status_records: StatusRecords | None = None,
    ) -> bool:
        """Act on one payment once, in one transaction: the claim's own leg (when it is not
        recorded yet), the next leg (maybe a queued claim version), or a note on an existing
        leg (``(sequence, new state, detail to add)``). False: acted on before."""
        now = utc_now()
        with self.engine.begin() as connection:
            stmt = self._insert(connection, leg_sources).values(
                payment_id=payment.id, claim_id=payment.claim_id, outcome=outcome, at=now
            )
            stmt = stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
                index_elements=[leg_sources.c.payment_id]
            ).returning(leg_sources.c.payment_id)
            if connection.execute(stmt).scalar() is None:
                return False
            if own is not None:
                self._add_leg(connection, payment.claim_id, own, None, payment.version, now)
            if leg is not None:
                version = None
                if leg.queue:
                    version = self._queue_version(connection, payment.claim_id, leg, now,
                                                  status_records)  # fmt: skip
                self._add_leg(connection, payment.claim_id, leg, payment.id, version, now)
            if note is not None:
                sequence, state, detail = note
                self._note(connection, payment.claim_id, sequence, state, detail, now)
        return True

    def send_crossover(
        self, claim_id: str, sequence: str, *, partner: str, status_records: StatusRecords
    ) -> int | None:
        """Send the claim to a payer whose forwarded copy never answered: a queued version,
        only while the leg still waits (None: it no longer does)."""
        now = utc_now()
        with self.engine.begin() as connection:
            row = connection.execute(
                select(claim_legs)
                .where(claim_legs.c.claim_id == claim_id, claim_legs.c.sequence == sequence)
                .with_for_update()
            ).first()
            if row is None or row.state != LegState.CROSSOVER.value:
                return None
            leg = _leg(row)
            sent = LegIn(sequence, leg.payer_id, partner, LegState.SENT, leg.record,
                         {"crossover_sent": now.isoformat(timespec="seconds")}, True)  # fmt: skip
            version = self._queue_version(connection, claim_id, sent, now, status_records)
            connection.execute(
                update(claim_legs)
                .where(claim_legs.c.claim_id == claim_id, claim_legs.c.sequence == sequence)
                .values(state=LegState.SENT.value, version=version, partner=partner,
                        detail=dumps(leg.detail | dict(sent.detail)), updated_at=now)
            )  # fmt: skip
        return version

    def crossover_answered(self, claim_id: str, sequence: str) -> None:
        """A forwarded claim's payer answered: the leg no longer waits (never sent by us)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(claim_legs)
                .where(
                    claim_legs.c.claim_id == claim_id,
                    claim_legs.c.sequence == sequence,
                    claim_legs.c.state == LegState.CROSSOVER.value,
                )
                .values(state=LegState.ANSWERED.value, updated_at=utc_now())
            )

    # -- the transaction's writes ----------------------------------------------------------------

    def _add_leg(self, connection: Connection, claim_id: str, leg: LegIn, opened_by: int | None,
                 version: int | None, now: datetime) -> None:  # fmt: skip
        stmt = self._insert(connection, claim_legs).values(
            claim_id=claim_id, sequence=leg.sequence, version=version, payer_id=leg.payer_id,
            partner=leg.partner, state=leg.state.value, record=dumps(dict(leg.record)),
            opened_by=opened_by, detail=dumps(dict(leg.detail)) if leg.detail else None,
            created_at=now, updated_at=now,
        )  # fmt: skip
        connection.execute(stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
            index_elements=[claim_legs.c.claim_id, claim_legs.c.sequence]))  # fmt: skip

    def _queue_version(self, connection: Connection, claim_id: str, leg: LegIn, now: datetime,
                       status_records: StatusRecords | None) -> int:  # fmt: skip
        """The leg's claim record as the claim's next version, queued, with its event."""
        latest = connection.execute(
            select(func.max(claims.c.version)).where(claims.c.claim_id == claim_id)
        ).scalar()
        version = int(latest or 0) + 1
        record = dict(leg.record)
        connection.execute(claims.insert().values(
            claim_id=claim_id, version=version, kind=str(record["kind"]), frequency="1",
            partner=leg.partner or "", payer_id=leg.payer_id, state=ClaimState.QUEUED.value,
            record=dumps(record), payer_claim_number=None, created_at=now, updated_at=now,
            **search_fields(record),
        ))  # fmt: skip
        self._event(connection, claim_id, version, ClaimState.QUEUED, now, "next_payer",
                    {"payer_sequence": leg.sequence, "payer_id": leg.payer_id,
                     "partner": leg.partner, **dict(leg.detail)})  # fmt: skip
        if status_records is not None:
            self._add_outbox(connection, status_records(version), now)
        return version

    def _note(self, connection: Connection, claim_id: str, sequence: str, state: LegState,
              detail: Mapping[str, Any], now: datetime) -> None:  # fmt: skip
        row = connection.execute(
            select(claim_legs)
            .where(claim_legs.c.claim_id == claim_id, claim_legs.c.sequence == sequence)
            .with_for_update()
        ).first()
        if row is None:
            return
        leg = _leg(row)
        notes = [*leg.detail.get("notes", []), {**dict(detail), "at": now.isoformat()}]
        connection.execute(
            update(claim_legs)
            .where(claim_legs.c.claim_id == claim_id, claim_legs.c.sequence == sequence)
            .values(state=state.value, detail=dumps(leg.detail | {"notes": notes}),
                    updated_at=now)
        )  # fmt: skip


def _leg(row: Row[Any]) -> StoredLeg:
    return StoredLeg(
        claim_id=row.claim_id, sequence=row.sequence, version=row.version, payer_id=row.payer_id,
        partner=row.partner, state=LegState(row.state), record=json.loads(row.record),
        opened_by=row.opened_by, detail=json.loads(row.detail) if row.detail else {},
        created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip
