"""Claim payments: a claim's money payer by payer, decided inside its remittance's transaction.

Each claim payment (a CLP of an 835) is recorded with the decision the ledger takes about it,
its output records and its claim's event, in the transaction that records its remittance (or
its review). It is posted, unless one of these holds it for review (nothing of it is emitted
but its ``payment_held`` event until ``settle_payments`` releases or discards it):

- its remittance waits as a whole (money that does not add up, or the identity of an earlier
  remittance with other content);
- it is not a reversal, and the claim already has a payment in force from the same payer and
  sequence that moved money (a possible duplicate: the patient must never be billed twice);
- it is a reversal, and nothing in force can be told to be what it takes back, or another
  payment of the claim from that payer waits for review.

A posted reversal marks what it takes back ``reversed``; a posted decision marks an earlier one
of the same payer that moved no money (a bare denial) ``superseded``. Claims are locked in a
fixed order first (PostgreSQL: advisory locks, also for claims the ledger does not know;
SQLite: the transaction's write lock), so two daemons never both post a claim's first payment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection, Row

from gateway.ledger.base import LedgerBase
from gateway.ledger.records import (
    ClaimEvent,
    ClaimPaymentIn,
    LedgerError,
    PaymentDecision,
    PaymentEffects,
    StoredPayment,
    dumps,
    utc_now,
)
from gateway.ledger.schema import (
    IN_FORCE,
    TRANSITIONS,
    PaymentEvent,
    PaymentState,
    RemittanceState,
    claim_payments,
    claims,
    interchange_claims,
    remittances,
)

# Words the caller's records are made of, once the ledger has decided.
Effects = Callable[[ClaimPaymentIn, PaymentDecision], PaymentEffects]

_LOCK_NAMESPACE = 0x636C6169  # pg_advisory_xact_lock(namespace, hashtext(claim id)): "clai"
_P = PaymentState


class PaymentBook(LedgerBase):
    """Claim payments and their review."""

    # -- queries -----------------------------------------------------------------------------

    def claim_payments(
        self,
        claim_id: str | None = None,
        *,
        states: Iterable[PaymentState] | None = None,
        remittance_id: int | None = None,
    ) -> list[StoredPayment]:
        """Claim payments in the order they were recorded: all of a claim, of some states, or
        of one remittance."""
        query = _joined()
        if claim_id is not None:
            query = query.where(claim_payments.c.claim_id == claim_id)
        if states is not None:
            query = query.where(claim_payments.c.state.in_([_P(s).value for s in states]))
        if remittance_id is not None:
            query = query.where(claim_payments.c.remittance_id == remittance_id)
        with self.engine.begin() as connection:
            rows = connection.execute(query.order_by(claim_payments.c.id)).all()
        return [_stored(r) for r in rows]

    def payments_in_force(
        self, claim_id: str, payer_id: str | None = None, sequence: str | None = None
    ) -> list[StoredPayment]:
        """What the claim is paid now (by ``payer_id``, at ``sequence``): posted or released
        payments that were not reversed or superseded; reversals themselves never are."""
        with self.engine.begin() as connection:
            found = _in_force(self._payments_of(connection, claim_id, payer_id))
        return [p for p in found if sequence is None or p.payer_sequence == sequence]

    def held_payments(self) -> list[StoredPayment]:
        """Claim payments waiting for review, oldest first."""
        return self.claim_payments(states=[_P.HELD])

    # -- the remittance's transaction ----------------------------------------------------------

    def _record_claim_payments(
        self,
        connection: Connection,
        remittance_id: int,
        payments: Sequence[ClaimPaymentIn],
        held_reasons: Sequence[dict[str, Any]],
        effects: Effects,
        now: datetime,
    ) -> tuple[list[tuple[ClaimPaymentIn, PaymentDecision]], list[ClaimEvent]]:
        """Decide, record and word each claim payment of one remittance (reversals first, so a
        reversal and its corrected payment in one 835 net in any order)."""
        self._lock_claims(connection, [p.claim_id for p in payments])
        decisions: list[tuple[ClaimPaymentIn, PaymentDecision]] = []
        events: list[ClaimEvent] = []
        for payment in sorted(payments, key=lambda p: not p.reversal):
            decision = self._decide(connection, payment, held_reasons, verdict=None)
            effect = effects(payment, decision)
            row_id = connection.execute(
                claim_payments.insert()
                .values(
                    remittance_id=remittance_id, claim_id=payment.claim_id,
                    version=decision.version, payer_id=payment.payer_id,
                    payer_sequence=decision.sequence,
                    payer_claim_number=payment.payer_claim_number or None,
                    status_code=payment.status_code, charge=payment.charge, paid=payment.paid,
                    patient_responsibility=payment.patient_responsibility,
                    posting_id=str(payment.posting["id"]),
                    balance_id=str(payment.balance["id"]) if payment.balance else None,
                    state=decision.verdict.value,
                    reverses=decision.reverses.id if decision.reverses else None,
                    detail=dumps({"reasons": list(decision.reasons)}) if decision.reasons else None,
                    posting=dumps(dict(payment.posting)),
                    balance=dumps(dict(payment.balance)) if payment.balance else None,
                    recorded_at=now, updated_at=now,
                )
                .returning(claim_payments.c.id)
            ).scalar_one()  # fmt: skip
            self._settle_effects(connection, int(row_id), payment, decision, now)
            event = self._payment_event(connection, payment.claim_id, decision, effect, now)
            if event is not None:
                events.append(event)
            self._add_outbox(connection, effect.records, now)
            decisions.append((payment, decision))
        return decisions, events

    def _decide(
        self,
        connection: Connection,
        payment: ClaimPaymentIn,
        held_reasons: Sequence[dict[str, Any]],
        *,
        verdict: PaymentState | None,
        itself: int | None = None,
        note: str = "",
    ) -> PaymentDecision:
        """Post or hold (``verdict`` None), or the review's ``verdict`` with what it implies."""
        mine = [
            p for p in self._payments_of(connection, payment.claim_id, payment.payer_id)
            if p.id != itself
        ]  # fmt: skip
        in_force = _in_force(mine)
        reasons = list(held_reasons)
        reverses = None
        if payment.reversal:
            reverses = _reversal_target(payment, in_force)
            sequence = reverses.payer_sequence if reverses else None
            waiting = [p for p in mine if p.state == _P.HELD]
            if waiting:
                reasons.append({"reason": "payment_waiting_for_review",
                                "earlier": waiting[-1].named()})  # fmt: skip
            elif reverses is None:
                reasons.append({"reason": "nothing_to_reverse", "in_force": len(in_force)})
        else:
            sequence = payment.sequence or (in_force[-1].payer_sequence if in_force else None)
            sequence = sequence or payment.sequence_hint
            same = [p for p in in_force if p.payer_sequence == sequence and p.moves_money]
            if same:
                reasons.append({"reason": "possible_duplicate", "earlier": same[-1].named()})
        sequence = sequence or payment.sequence or payment.sequence_hint
        if reverses is not None:
            version = reverses.version
        else:
            version = self._paid_version(connection, payment.claim_id)
        if verdict is None:
            verdict = _P.HELD if reasons else _P.POSTED
        return PaymentDecision(version, sequence, verdict, tuple(reasons), reverses, note)

    def _settle_effects(
        self,
        connection: Connection,
        row_id: int,
        payment: ClaimPaymentIn,
        decision: PaymentDecision,
        now: datetime,
    ) -> None:
        """A payment now in force: what it reverses is reversed, a bare denial it follows is
        superseded."""
        if decision.verdict not in IN_FORCE:
            return
        if decision.reverses is not None:
            done: list[int] = [decision.reverses.id]
            state = _P.REVERSED
        elif not payment.reversal:
            mine = self._payments_of(connection, payment.claim_id, payment.payer_id)
            done = [
                p.id for p in _in_force(mine)
                if p.id != row_id and p.payer_sequence == decision.sequence and not p.moves_money
            ]  # fmt: skip
            state = _P.SUPERSEDED
        else:
            return
        if done:
            connection.execute(
                update(claim_payments)
                .where(claim_payments.c.id.in_(done))
                .values(state=state.value, updated_at=now)
            )

    def _payment_event(
        self,
        connection: Connection,
        claim_id: str,
        decision: PaymentDecision,
        effect: PaymentEffects,
        now: datetime,
    ) -> ClaimEvent | None:
        """The claim's timeline event (and new state) for this decision; None for a payment
        of a claim the ledger does not know."""
        if decision.version is None:
            return None
        current = self._locked_state(connection, claim_id, decision.version)
        if current is None:
            return None
        version, state = current
        source = "835" if decision.verdict in (_P.POSTED, _P.HELD) else "review"
        detail = dict(effect.detail)
        if decision.verdict == _P.HELD:
            event_name = PaymentEvent.HELD
        elif decision.verdict == _P.DISCARDED:
            event_name = PaymentEvent.DISCARDED
        elif effect.claim_state is not None and effect.claim_state in TRANSITIONS[state]:
            return self._write_transition(
                connection, claim_id, version, effect.claim_state, source, detail, now
            )
        else:
            event_name = PaymentEvent.POSTED
            detail["claim_state"] = state.value  # the claim stays where it is
        self._event(connection, claim_id, version, event_name, now, source, detail)
        return ClaimEvent(claim_id, version, event_name, now, source, detail)

    # -- review ----------------------------------------------------------------------------

    def settle_payments(
        self,
        file: str,
        verdict: PaymentState,
        *,
        note: str,
        effects: Effects,
        claim_id: str | None = None,
    ) -> list[tuple[StoredPayment, PaymentDecision]]:
        """Release (post as they are) or discard the held claim payments of the received
        file ``file`` (its archived name, or the name it came under), or only those of
        ``claim_id``: one transaction, with their records, events and claim states."""
        verdict = _P(verdict)
        if verdict not in (_P.RELEASED, _P.DISCARDED):
            raise LedgerError(f"a review releases or discards, it does not make {verdict}")
        now = utc_now()
        settled: list[tuple[StoredPayment, PaymentDecision]] = []
        with self.engine.begin() as connection:
            held = [
                p for p in (_stored(r) for r in connection.execute(
                    _joined().where(claim_payments.c.state == _P.HELD.value)
                    .order_by(claim_payments.c.id).with_for_update(of=claim_payments)
                ).all())
                if file in (p.file_name, _base(p.archived_as)) and claim_id in (None, p.claim_id)
            ]  # fmt: skip
            self._lock_claims(connection, [p.claim_id for p in held])
            for stored in sorted(held, key=lambda p: not p.reversal):
                payment = stored.incoming()
                held_for = tuple(stored.detail.get("reasons", ()))
                if verdict == _P.DISCARDED:
                    decision = PaymentDecision(stored.version, stored.payer_sequence, verdict,
                                               held_for, note=note)  # fmt: skip
                else:  # what a released reversal takes back is decided now
                    now_ = self._decide(connection, payment, (), verdict=verdict, itself=stored.id)
                    version = stored.version if now_.reverses is None else now_.reverses.version
                    decision = PaymentDecision(version, now_.sequence, verdict, held_for,
                                               now_.reverses, note)  # fmt: skip
                effect = effects(payment, decision)
                review = {"verdict": verdict.value, "note": note, "at": now.isoformat()}
                connection.execute(
                    update(claim_payments)
                    .where(claim_payments.c.id == stored.id)
                    .values(
                        state=verdict.value, updated_at=now,
                        reverses=decision.reverses.id if decision.reverses else None,
                        detail=dumps(stored.detail | {"review": review}),
                    )
                )  # fmt: skip
                self._settle_effects(connection, stored.id, payment, decision, now)
                self._payment_event(connection, stored.claim_id, decision, effect, now)
                self._add_outbox(connection, effect.records, now)
                settled.append((stored, decision))
            self._close_reviewed_remittances(
                connection, {p.remittance_id for p, _ in settled}, note, now
            )
        return settled

    def _close_reviewed_remittances(
        self, connection: Connection, ids: set[int], note: str, now: datetime
    ) -> None:
        """A held remittance with nothing left to review: released if any of it was, else
        discarded."""
        for remittance_id in sorted(ids):
            states = set(
                connection.execute(
                    select(claim_payments.c.state).where(
                        claim_payments.c.remittance_id == remittance_id
                    )
                ).scalars()
            )
            row = connection.execute(
                select(remittances.c.state, remittances.c.detail).where(
                    remittances.c.id == remittance_id
                )
            ).one()
            if row.state != RemittanceState.HELD.value or _P.HELD.value in states:
                continue
            verdict = RemittanceState.DISCARDED
            if states & {_P.RELEASED.value, _P.REVERSED.value, _P.SUPERSEDED.value}:
                verdict = RemittanceState.RELEASED
            detail = json.loads(row.detail or "{}")
            detail["review"] = {"verdict": verdict.value, "note": note, "at": now.isoformat()}
            connection.execute(
                update(remittances)
                .where(remittances.c.id == remittance_id)
                .values(state=verdict.value, detail=dumps(detail), updated_at=now)
            )

    # -- helpers ---------------------------------------------------------------------------

    def _lock_claims(self, connection: Connection, claim_ids: Iterable[str]) -> None:
        if connection.dialect.name != "postgresql":
            return  # SQLite: BEGIN IMMEDIATE already holds the only write lock
        for claim_id in sorted(set(claim_ids)):
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:ns, hashtext(:claim))"),
                {"ns": _LOCK_NAMESPACE, "claim": claim_id},
            )

    def _payments_of(
        self, connection: Connection, claim_id: str, payer_id: str | None
    ) -> list[StoredPayment]:
        query = _joined().where(claim_payments.c.claim_id == claim_id)
        if payer_id is not None:
            query = query.where(claim_payments.c.payer_id == payer_id)
        return [_stored(r) for r in connection.execute(query.order_by(claim_payments.c.id))]

    def _paid_version(self, connection: Connection, claim_id: str) -> int | None:
        """The claim version a payment is for: the newest one that went out in an interchange,
        else the newest one; None for a claim the ledger does not know."""
        for table in (interchange_claims, claims):
            version = connection.execute(
                select(table.c.version)
                .where(table.c.claim_id == claim_id)
                .order_by(table.c.version.desc())
                .limit(1)
            ).scalar()
            if version is not None:
                return int(version)
        return None


def _in_force(payments: Iterable[StoredPayment]) -> list[StoredPayment]:
    return [p for p in payments if p.state in IN_FORCE and not p.reversal]


def _reversal_target(
    reversal: ClaimPaymentIn, in_force: list[StoredPayment]
) -> StoredPayment | None:
    """What a reversal takes back: the payment in force with its payer claim number and the
    opposite amount, else with one of them, else the only one; None when it cannot be told."""
    number = reversal.payer_claim_number
    amount = -Decimal(reversal.paid)
    same_number = [p for p in in_force if (p.payer_claim_number or "") == number]
    for chosen in (
        [p for p in same_number if Decimal(p.paid) == amount],
        same_number,
        [p for p in in_force if Decimal(p.paid) == amount],
    ):
        if chosen:
            return chosen[-1]
    return in_force[0] if len(in_force) == 1 else None


def _base(path: str | None) -> str | None:
    return None if path is None else PurePosixPath(path).name


_REMITTANCE = (
    remittances.c.trace_number.label("r_trace_number"),
    remittances.c.payment_date.label("r_payment_date"),
    remittances.c.file_name.label("r_file_name"),
    remittances.c.archived_as.label("r_archived_as"),
    remittances.c.partner.label("r_partner"),
)


def _joined() -> Any:
    return select(claim_payments, *_REMITTANCE).join(
        remittances, remittances.c.id == claim_payments.c.remittance_id
    )


def _stored(row: Row[Any]) -> StoredPayment:
    return StoredPayment(
        id=int(row.id), claim_id=row.claim_id, version=row.version, payer_id=row.payer_id,
        payer_sequence=row.payer_sequence, payer_claim_number=row.payer_claim_number,
        status_code=row.status_code, charge=row.charge, paid=row.paid,
        patient_responsibility=row.patient_responsibility, posting_id=row.posting_id,
        balance_id=row.balance_id, state=_P(row.state), reverses=row.reverses,
        detail=json.loads(row.detail) if row.detail else {}, posting=json.loads(row.posting),
        balance=json.loads(row.balance) if row.balance else None,
        recorded_at=row.recorded_at, updated_at=row.updated_at,
        remittance_id=int(row.remittance_id), trace_number=row.r_trace_number,
        payment_date=row.r_payment_date, file_name=row.r_file_name,
        archived_as=row.r_archived_as, partner=row.r_partner,
    )  # fmt: skip
