"""What went to and came from each partner, for the web view's partners page: interchanges
built and sent, files received, counted per partner with the latest of each; and the money
billed and paid since a day, for its first page (added up as Decimal, never as floats)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from gateway.ledger.base import LedgerBase
from gateway.ledger.records import CURRENT_VERSION
from gateway.ledger.schema import IN_FORCE, claim_payments, claims, interchanges, received_files


@dataclass(frozen=True, slots=True)
class Traffic:
    built: int = 0
    sent: int = 0
    last_sent: datetime | None = None
    received: int = 0
    last_received: datetime | None = None


@dataclass(frozen=True, slots=True)
class Money:
    billed: Decimal  # current claim versions first received since the day
    paid: Decimal  # claim payments in force recorded since the day
    patient: Decimal  # what those payments left the patients to pay


def _sum(values: list[str | None]) -> Decimal:
    total = Decimal("0.00")
    for value in values:
        try:
            total += Decimal(value or "0")
        except InvalidOperation:
            continue  # the ledger never stores one, but a page must not fail on it
    return total


class TrafficBook(LedgerBase):
    """Counts per partner."""

    def partner_traffic(self) -> dict[str, Traffic]:
        out: dict[str, Traffic] = {}
        with self.engine.begin() as connection:
            for partner, built, sent, last in connection.execute(
                select(interchanges.c.partner, func.count(), func.count(interchanges.c.sent_at),
                       func.max(interchanges.c.sent_at)).group_by(interchanges.c.partner)
            ).all():  # fmt: skip
                out[partner] = Traffic(int(built), int(sent), last)
            files = received_files.c
            for partner, received, last in connection.execute(
                select(files.partner, func.count(), func.max(files.received_at))
                .group_by(files.partner)
            ).all():  # fmt: skip
                was = out.get(partner, Traffic())
                out[partner] = Traffic(was.built, was.sent, was.last_sent, int(received), last)
        return out

    def money_since(self, *days: datetime) -> list[Money]:
        """The money since each of ``days``, read in one pass from the earliest."""
        first = min(days)
        with self.engine.begin() as connection:
            billed = connection.execute(
                select(claims.c.billed, claims.c.created_at)
                .where(claims.c.created_at >= first, CURRENT_VERSION)
            ).all()  # fmt: skip
            paid = connection.execute(
                select(claim_payments.c.paid, claim_payments.c.patient_responsibility,
                       claim_payments.c.recorded_at)
                .where(claim_payments.c.recorded_at >= first,
                       claim_payments.c.state.in_([s.value for s in IN_FORCE]))
            ).all()  # fmt: skip
        return [
            Money(_sum([b for b, at in billed if at >= day]),
                  _sum([p for p, _, at in paid if at >= day]),
                  _sum([r for _, r, at in paid if at >= day]))
            for day in days
        ]  # fmt: skip
