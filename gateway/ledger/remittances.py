"""Remittances: each payment recorded once, with its records and claim changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, select, update

from gateway.ledger.base import LedgerBase
from gateway.ledger.records import (
    ChangesApplied,
    ClaimChange,
    IllegalTransition,
    LedgerError,
    OutboxItem,
    RemittanceIdentity,
    chunks,
    utc_now,
)
from gateway.ledger.schema import (
    REMITTANCE_TRANSITIONS,
    RemittanceState,
    remittances,
)


class RemittanceBook(LedgerBase):
    """Payments (835 transaction sets)."""

    def apply_remittance(
        self,
        identity: RemittanceIdentity,
        *,
        file_name: str,
        control_number: str,
        state: RemittanceState,
        outbox_records: Iterable[OutboxItem],
        changes: Iterable[ClaimChange],
    ) -> ChangesApplied | None:
        """Record one payment with its output records and claim changes, in one transaction;
        None when the payment was recorded before (a re-sent 835 never posts twice).

        Both are taken a chunk at a time (a payment may change a million claims), and the
        events of the changes applied are not kept: the result lists only those skipped."""
        trace_number, payer_id, amount, payment_date = identity
        now = utc_now()
        with self.engine.begin() as connection:
            stmt = self._insert(connection, remittances).values(
                trace_number=trace_number, payer_id=payer_id, amount=amount,
                payment_date=payment_date, file_name=file_name, control_number=control_number,
                state=RemittanceState(state).value, recorded_at=now, updated_at=now,
            )  # fmt: skip
            stmt = stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
                index_elements=[
                    remittances.c.trace_number,
                    remittances.c.payer_id,
                    remittances.c.amount,
                    remittances.c.payment_date,
                ]
            ).returning(remittances.c.id)
            if connection.execute(stmt).first() is None:
                return None
            for records in chunks(outbox_records):
                self._add_outbox(connection, records, now)
            result = ChangesApplied([], [])
            for chunk in chunks(changes):
                result.skipped.extend(self._apply_changes(connection, chunk, now).skipped)
            return result

    def remittance_state(self, identity: RemittanceIdentity) -> RemittanceState | None:
        with self.engine.begin() as connection:
            state = connection.execute(
                select(remittances.c.state).where(_identity_is(identity))
            ).scalar()
        return None if state is None else RemittanceState(state)

    def set_remittance_state(
        self,
        identity: RemittanceIdentity,
        new_state: RemittanceState,
        *,
        outbox_records: Iterable[OutboxItem] = (),
        changes: Sequence[ClaimChange] = (),
    ) -> None:
        """Release or discard a held payment (with the release's records and claim changes, in
        one transaction)."""
        new_state = RemittanceState(new_state)
        now = utc_now()
        with self.engine.begin() as connection:
            state = connection.execute(
                select(remittances.c.state).where(_identity_is(identity)).with_for_update()
            ).scalar()
            if state is None:
                raise LedgerError(f"remittance {identity}: not in the ledger")
            if new_state not in REMITTANCE_TRANSITIONS[RemittanceState(state)]:
                raise IllegalTransition(f"remittance {identity}: {state} -> {new_state}")
            connection.execute(
                update(remittances)
                .where(_identity_is(identity))
                .values(state=new_state.value, updated_at=now)
            )
            self._add_outbox(connection, outbox_records, now)
            self._apply_changes(connection, changes, now)


def _identity_is(identity: RemittanceIdentity) -> Any:
    trace_number, payer_id, amount, payment_date = identity
    return and_(
        remittances.c.trace_number == trace_number,
        remittances.c.payer_id == payer_id,
        remittances.c.amount == amount,
        remittances.c.payment_date == payment_date,
    )
