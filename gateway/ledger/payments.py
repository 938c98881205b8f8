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
of the same payer that moved no money (a bare denial) ``superseded``. The rules and the
transaction's reads and writes are in ``payment_work``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from gateway.ledger.base import LedgerBase
from gateway.ledger.payment_work import (
    PaymentWork,
    joined_payments,
    lock_payments_alone,
    stored_payment,
)
from gateway.ledger.records import (
    CHUNK,
    ClaimPaymentIn,
    Decided,
    LedgerError,
    PaymentDecision,
    PaymentEffects,
    RemittanceOutcome,
    StoredPayment,
    chunks,
    dumps,
    utc_now,
)
from gateway.ledger.schema import (
    IN_FORCE,
    PaymentState,
    RemittanceState,
    claim_payments,
    remittances,
)

# Words the caller's records are made of, once the ledger has decided.
Effects = Callable[[ClaimPaymentIn, PaymentDecision], PaymentEffects]

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
        query = joined_payments()
        if claim_id is not None:
            query = query.where(claim_payments.c.claim_id == claim_id)
        if states is not None:
            query = query.where(claim_payments.c.state.in_([_P(s).value for s in states]))
        if remittance_id is not None:
            query = query.where(claim_payments.c.remittance_id == remittance_id)
        with self.engine.begin() as connection:
            rows = connection.execute(query.order_by(claim_payments.c.id)).all()
        return [stored_payment(r) for r in rows]

    def remittance_payments(
        self, remittance_id: int, states: Iterable[PaymentState]
    ) -> Iterator[StoredPayment]:
        """A remittance's claim payments of ``states`` in the order recorded, read ``CHUNK`` at
        a time (a remittance may pay a million claims; each read its own short transaction)."""
        wanted, after = [_P(s).value for s in states], 0
        while True:
            query = (
                joined_payments()
                .where(
                    claim_payments.c.remittance_id == remittance_id,
                    claim_payments.c.state.in_(wanted),
                    claim_payments.c.id > after,
                )
                .order_by(claim_payments.c.id)
                .limit(CHUNK)
            )
            with self.engine.begin() as connection:
                page = [stored_payment(r) for r in connection.execute(query).all()]
            yield from page
            if len(page) < CHUNK:
                return
            after = page[-1].id

    def payments_in_force(
        self, claim_id: str, payer_id: str | None = None, sequence: str | None = None
    ) -> list[StoredPayment]:
        """What the claim is paid now (by ``payer_id``, at ``sequence``): posted or released
        payments that were not reversed or superseded; reversals themselves never are."""
        return [
            p for p in self.claim_payments(claim_id, states=IN_FORCE)
            if not p.reversal and payer_id in (None, p.payer_id)
            and sequence in (None, p.payer_sequence)
        ]  # fmt: skip

    def payment_chunk(self) -> int:
        """How many claim payments of one remittance the ledger takes at a time (a larger
        remittance is taken in chunks of that many, read twice)."""
        return CHUNK

    def held_payments(self) -> list[StoredPayment]:
        """Claim payments waiting for review, oldest first."""
        return self.claim_payments(states=[_P.HELD])

    # -- the remittance's transaction ----------------------------------------------------------

    def _record_claim_payments(
        self,
        connection: Connection,
        remittance: Mapping[str, Any],
        payments: Iterable[ClaimPaymentIn],
        held_reasons: Sequence[dict[str, Any]],
        effects: Effects,
        now: datetime,
        decided: Decided | None = None,
    ) -> RemittanceOutcome:
        """Decide, record and word each claim payment of one remittance (reversals first, so a
        reversal and its corrected payment in one 835 net in any order).

        A remittance of more than ``CHUNK`` claim payments is taken ``CHUNK`` at a time (read
        twice: its reversals, then the rest), each chunk's claims read and its writes flushed
        before the next, all in the one transaction: memory stays flat however many claims
        it pays. ``decided`` is told each decision instead of the outcome keeping them."""
        if iter(payments) is payments:  # read once only: kept, to be read twice
            payments = list(payments)
        head = list(islice(payments, CHUNK + 1))
        batches: Iterable[list[ClaimPaymentIn]]
        alone = len(head) > CHUNK
        if not alone:  # all in one: the claims locked together, in their order
            batches = [sorted(head, key=lambda p: not p.reversal)]
        else:
            lock_payments_alone(connection)
            batches = _reversals_first(payments)
        del head
        outcome = RemittanceOutcome(int(remittance["id"]), "", [], [])
        verdicts: Counter[PaymentState] = Counter()
        for batch in batches:
            work = PaymentWork(connection, [p.claim_id for p in batch], now, alone=alone)
            for payment in batch:
                decision = work.decide(payment, held_reasons)
                work.add(payment, decision, remittance)
                event = work.event(payment.claim_id, decision, effects(payment, decision), "835")
                verdicts[decision.verdict] += 1
                if decided is not None:
                    decided(payment, decision)
                    continue
                if event is not None:
                    outcome.events.append(event)
                outcome.decisions.append((payment, decision))
            work.flush(self._add_outbox)
        outcome.verdicts = dict(verdicts)
        return outcome

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
        ``claim_id``: one transaction, with their records, events and claim states.

        The decision carries why each had been held; a released reversal takes back what is
        in force now."""
        verdict = _P(verdict)
        if verdict not in (_P.RELEASED, _P.DISCARDED):
            raise LedgerError(f"a review releases or discards, it does not make {verdict}")
        now = utc_now()
        settled: list[tuple[StoredPayment, PaymentDecision]] = []
        with self.engine.begin() as connection:
            held = [
                p for p in (stored_payment(r) for r in connection.execute(
                    joined_payments().where(claim_payments.c.state == _P.HELD.value)
                    .order_by(claim_payments.c.id).with_for_update(of=claim_payments)
                ).all())
                if file in (p.file_name, _base(p.archived_as)) and claim_id in (None, p.claim_id)
            ]  # fmt: skip
            alone = len(held) > CHUNK  # a whole large payment: no lock per claim
            if alone:
                lock_payments_alone(connection)
            work = PaymentWork(connection, [p.claim_id for p in held], now, alone=alone)
            review = {"verdict": verdict.value, "note": note, "at": now.isoformat()}
            for stored in sorted(held, key=lambda p: not p.reversal):
                payment = stored.incoming()
                held_for = tuple(stored.detail.get("reasons", ()))
                if verdict == _P.DISCARDED:
                    decision = PaymentDecision(stored.version, stored.payer_sequence, verdict,
                                               held_for, note=note)  # fmt: skip
                else:  # what a released reversal takes back is decided now
                    now_ = work.decide(payment, (), itself=stored.id)
                    version = (  # the leg billed to its payer, when the claim has legs
                        work.leg_versions.get((stored.claim_id, now_.sequence), stored.version)
                        if now_.reverses is None else now_.reverses.version
                    )  # fmt: skip
                    decision = PaymentDecision(version, now_.sequence, verdict, held_for,
                                               now_.reverses, note, voids=now_.voids,
                                               replaces=now_.replaces)  # fmt: skip
                work.settle(stored, decision, review)
                work.event(stored.claim_id, decision, effects(payment, decision), "review")
                settled.append((stored, decision))
            work.flush(self._add_outbox)
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


def _reversals_first(payments: Iterable[ClaimPaymentIn]) -> Iterator[list[ClaimPaymentIn]]:
    """The reversals, then the other payments, ``CHUNK`` at a time (two reads)."""
    yield from chunks((p for p in payments if p.reversal), CHUNK)
    yield from chunks((p for p in payments if not p.reversal), CHUNK)


def _base(path: str | None) -> str | None:
    return None if path is None else PurePosixPath(path).name
