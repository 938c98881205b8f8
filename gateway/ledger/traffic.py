"""What went to and came from each partner, for the web view's partners page: interchanges
built and sent, files received, counted per partner with the latest of each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from gateway.ledger.base import LedgerBase
from gateway.ledger.schema import interchanges, received_files


@dataclass(frozen=True, slots=True)
class Traffic:
    built: int = 0
    sent: int = 0
    last_sent: datetime | None = None
    received: int = 0
    last_received: datetime | None = None


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
