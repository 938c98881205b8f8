"""What went to and came from each partner, for the web view's partners page: interchanges
built and sent, files received, counted per partner with the latest of each; and the money
billed and paid since a day, for its first page (added up exactly, never as floats)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Integer, Numeric, case, cast, func, select

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


CENT = Decimal("0.01")


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
        """The money since each of ``days``, added up by the database in one pass: exactly, as
        NUMERIC on PostgreSQL and as whole cents on SQLite (the ledger keeps two decimals)."""
        first = min(days)
        with self.engine.begin() as connection:
            exact = _exact(connection.dialect.name)
            claim_sums = [func.sum(case((claims.c.created_at >= day, exact(claims.c.billed)),
                                        else_=0)) for day in days]  # fmt: skip
            billed = connection.execute(
                select(*claim_sums).where(claims.c.created_at >= first, CURRENT_VERSION)
            ).one()
            cp = claim_payments.c
            columns = (cp.paid, cp.patient_responsibility)
            payment_sums = [func.sum(case((cp.recorded_at >= day, exact(column)), else_=0))
                            for day in days for column in columns]  # fmt: skip
            paid = connection.execute(
                select(*payment_sums).where(cp.recorded_at >= first,
                                            cp.state.in_([s.value for s in IN_FORCE]))
            ).one()  # fmt: skip
        scale = Decimal("0.01") if connection.dialect.name == "sqlite" else Decimal(1)
        money = [Decimal(v or 0) * scale for v in (*billed, *paid)]
        n = len(days)
        return [Money(money[k].quantize(CENT), money[n + 2 * k].quantize(CENT),
                      money[n + 2 * k + 1].quantize(CENT)) for k in range(n)]  # fmt: skip


def _exact(dialect: str) -> Any:
    """A money column (text with two decimals) as a number the database adds up exactly."""
    if dialect == "postgresql":
        return lambda column: cast(column, Numeric(20, 2))
    return lambda column: cast(func.round(cast(column, Float) * 100), Integer)
