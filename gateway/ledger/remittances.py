"""Remittances: each payment (an 835 transaction set) recorded once, with its claim payments.

A remittance is known by its payment identity (trace number, payer, amount, date) and the
hash of its content. The same content again is the same payment: nothing happens (a re-sent
835 never posts twice). Other content under an identity the ledger has seen (a corrected 835
after a discarded one, a payer's copy with changed claims) is a new remittance, held for review
as a whole and naming the earlier one, as is one whose money does not add up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from gateway.ledger.payments import Effects, PaymentBook
from gateway.ledger.records import (
    ClaimPaymentIn,
    Decided,
    RemittanceIdentity,
    RemittanceOutcome,
    StoredRemittance,
    dumps,
    utc_now,
)
from gateway.ledger.schema import PaymentState, RemittanceState, claim_payments, remittances


@dataclass(frozen=True)
class RemittanceRow:
    """A remittance as a list shows it: how many claim payments it has, how many wait."""

    remittance: StoredRemittance
    claims: int
    held: int


class RemittanceBook(PaymentBook):
    """Payments (835 transaction sets)."""

    def record_remittance(
        self,
        identity: RemittanceIdentity,
        content_sha256: str,
        *,
        file_name: str,
        control_number: str,
        payments: Iterable[ClaimPaymentIn],
        effects: Effects,
        problems: Sequence[Mapping[str, Any]] = (),
        archived_as: str | None = None,
        partner: str | None = None,
        decided: Decided | None = None,
    ) -> RemittanceOutcome | None:
        """Record one payment with every claim payment in it, their records and claim events,
        in one transaction; None when this content was recorded before.

        ``problems``: why its money does not add up (it is then held as a whole).
        ``payments`` may be read more than once (a list, or a file read again from its start)
        and is taken a chunk at a time; ``decided`` is told each decision as it is taken, and
        the outcome then keeps only how many got each verdict (flat memory).
        """
        trace_number, payer_id, amount, payment_date = identity
        now = utc_now()
        with self.engine.begin() as connection:
            postgres = connection.dialect.name == "postgresql"
            remittance_id = connection.execute(_RECORD[postgres], {
                "trace_number": trace_number, "payer_id": payer_id, "amount": amount,
                "payment_date": payment_date, "file_name": file_name,
                "control_number": control_number, "state": RemittanceState.POSTED.value,
                "recorded_at": now, "updated_at": now, "content_sha256": content_sha256,
                "partner": partner, "archived_as": archived_as,
            }).scalar()  # fmt: skip
            if remittance_id is None:
                return None
            reasons: list[dict[str, Any]] = []
            if problems:
                reasons.append({"reason": "unbalanced", "problems": [dict(p) for p in problems]})
            earlier = [
                _stored(r) for r in connection.execute(_EARLIER, {
                    "e_trace": trace_number, "e_payer": payer_id, "e_amount": amount,
                    "e_date": payment_date, "e_id": remittance_id,
                }).all()
            ]  # fmt: skip
            if earlier:
                reasons.append({"reason": "same_payment_identity",
                                "earlier": [e.named() for e in earlier]})  # fmt: skip
            state = RemittanceState.HELD if reasons else RemittanceState.POSTED
            if reasons:
                connection.execute(
                    update(remittances)
                    .where(remittances.c.id == remittance_id)
                    .values(state=state.value, detail=dumps({"hold": reasons}))
                )
            remittance = {
                "id": int(remittance_id), "trace_number": trace_number,
                "payment_date": payment_date, "file_name": file_name,
                "archived_as": archived_as, "partner": partner,
            }  # fmt: skip
            outcome = self._record_claim_payments(
                connection, remittance, payments, reasons, effects, now, decided
            )
        outcome.state = state.value
        return outcome

    def remittance(
        self, identity: RemittanceIdentity, content_sha256: str
    ) -> StoredRemittance | None:
        """The remittance of this identity and content, if recorded."""
        with self.engine.begin() as connection:
            row = connection.execute(
                select(remittances).where(
                    _identity_is(identity), remittances.c.content_sha256 == content_sha256
                )
            ).first()
        return None if row is None else _stored(row)

    def remittance_detail(self, remittance_id: int) -> dict[str, Any]:
        """A remittance's detail: why it was held, its review, the copies seen again."""
        with self.engine.begin() as connection:
            raw = connection.execute(
                select(remittances.c.detail).where(remittances.c.id == remittance_id)
            ).scalar()
        detail: dict[str, Any] = json.loads(raw or "{}")
        return detail

    def remittance_rows(self, *, page: int = 0, size: int = 50) -> tuple[list[RemittanceRow], bool]:
        """One page of remittances, the last recorded first, with their claim payment counts;
        and whether another page follows (the counts read only the page's remittances)."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(remittances).order_by(remittances.c.id.desc())
                .limit(size + 1).offset(max(page, 0) * size)
            ).all()  # fmt: skip
            ids = [int(r.id) for r in rows[:size]]
            counts: dict[tuple[int, str], int] = {}
            if ids:
                for rid, state, n in connection.execute(
                    select(claim_payments.c.remittance_id, claim_payments.c.state, func.count())
                    .where(claim_payments.c.remittance_id.in_(ids))
                    .group_by(claim_payments.c.remittance_id, claim_payments.c.state)
                ).all():  # fmt: skip
                    counts[(int(rid), state)] = int(n)
        out = [
            RemittanceRow(_stored(r),
                          sum(n for (rid, _s), n in counts.items() if rid == r.id),
                          counts.get((int(r.id), PaymentState.HELD.value), 0))
            for r in rows[:size]
        ]  # fmt: skip
        return out, len(rows) > size

    def discarded_remittances(self) -> list[StoredRemittance]:
        """Remittances a review kept unposted, oldest first."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(remittances)
                .where(remittances.c.state == RemittanceState.DISCARDED.value)
                .order_by(remittances.c.id)
            ).all()
        return [_stored(r) for r in rows]

    def note_seen_again(self, remittance_id: int, file: str) -> None:
        """Remember that a remittance's very content came again in ``file`` (once per file)."""
        now = utc_now()
        with self.engine.begin() as connection:
            raw = connection.execute(
                select(remittances.c.detail).where(remittances.c.id == remittance_id)
            ).scalar()
            detail = json.loads(raw or "{}")
            seen = detail.setdefault("seen_again", [])
            if any(s.get("file") == file for s in seen):
                return
            seen.append({"file": file, "at": now.isoformat(timespec="seconds")})
            connection.execute(
                update(remittances)
                .where(remittances.c.id == remittance_id)
                .values(detail=dumps(detail), updated_at=now)
            )


# Built once (compiled once): a remittance recorded unless its identity and content are there,
# and the other remittances of its identity.
_IDENTITY = (remittances.c.trace_number, remittances.c.payer_id, remittances.c.amount,
             remittances.c.payment_date)  # fmt: skip
_RECORD = {
    postgres: insert(remittances)
    .on_conflict_do_nothing(index_elements=[*_IDENTITY, remittances.c.content_sha256])
    .returning(remittances.c.id)
    for postgres, insert in ((False, sqlite.insert), (True, postgresql.insert))
}
_EARLIER = (
    select(remittances)
    .where(
        *(column == bindparam(name) for column, name in
          zip(_IDENTITY, ("e_trace", "e_payer", "e_amount", "e_date"), strict=True)),
        remittances.c.id != bindparam("e_id"),
    )
    .order_by(remittances.c.id)
)  # fmt: skip


def _identity_is(identity: RemittanceIdentity) -> Any:
    trace_number, payer_id, amount, payment_date = identity
    return and_(
        remittances.c.trace_number == trace_number,
        remittances.c.payer_id == payer_id,
        remittances.c.amount == amount,
        remittances.c.payment_date == payment_date,
    )


def _stored(row: Row[Any]) -> StoredRemittance:
    return StoredRemittance(
        id=int(row.id), trace_number=row.trace_number, payer_id=row.payer_id,
        amount=row.amount, payment_date=row.payment_date, content_sha256=row.content_sha256,
        file_name=row.file_name, archived_as=row.archived_as, partner=row.partner,
        control_number=row.control_number, state=RemittanceState(row.state),
        detail=json.loads(row.detail) if row.detail else {}, recorded_at=row.recorded_at,
        updated_at=row.updated_at,
    )  # fmt: skip
