"""Aging: money still expected from insurers, by age since submission, per payer or partner.

Amounts are Decimal sums of each claim's open amount (``worklist.open_amount``), so the grand
total equals the ledger's open amounts to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from gateway.followup.worklist import OPEN_STATES, open_amount
from gateway.ledger.followup import ClaimFacts
from gateway.ledger.ledger import Ledger

BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")
_TOPS = (30, 60, 90, 120)  # the last day of each bucket but the oldest
_ZERO = Decimal("0.00")


def bucket_of(days: int) -> str:
    for name, top in zip(BUCKETS, _TOPS, strict=False):
        if days <= top:
            return name
    return "120+"


@dataclass
class Cell:
    count: int = 0
    amount: Decimal = _ZERO

    def add(self, amount: Decimal) -> None:
        self.count += 1
        self.amount += amount


@dataclass
class AgingRow:
    key: str
    buckets: dict[str, Cell] = field(default_factory=lambda: {b: Cell() for b in BUCKETS})
    total: Cell = field(default_factory=Cell)


@dataclass
class Aging:
    by: str
    rows: list[AgingRow]
    buckets: dict[str, Cell]
    total: Cell

    def to_json(self) -> dict[str, Any]:
        def cell(c: Cell) -> dict[str, Any]:
            return {"count": c.count, "amount": f"{c.amount:.2f}"}

        return {
            "by": self.by,
            "buckets": list(BUCKETS),
            "rows": [
                {self.by: r.key, **{b: cell(c) for b, c in r.buckets.items()},
                 "total": cell(r.total)}
                for r in self.rows
            ],
            "totals": {**{b: cell(c) for b, c in self.buckets.items()}, "total": cell(self.total)},
        }  # fmt: skip


def aging(ledger: Ledger, now: datetime, by: Literal["payer", "partner"] = "payer") -> Aging:
    """Open claims by age since submission at ``now``, per payer (its name) or partner."""
    return aging_until(ledger, now, by)[0]


def aging_until(
    ledger: Ledger, now: datetime, by: Literal["payer", "partner"] = "payer"
) -> tuple[Aging, datetime]:
    """``aging`` at ``now``, and until when it stays the same if the ledger does not change:
    the first time an open claim moves to an older bucket."""
    facts = ledger.followup_facts_where(OPEN_STATES)  # the others owe nothing
    until = datetime.max.replace(tzinfo=now.tzinfo)
    for claim in facts:
        since = claim.submitted_at or claim.created_at
        for top in _TOPS:  # its days go past a bucket's top one day after it
            moves = since + timedelta(days=top + 1)
            if now < moves:
                until = min(until, moves)
                break
    return aging_of(facts, now, by), until


def aging_of(
    facts: Iterable[ClaimFacts], now: datetime, by: Literal["payer", "partner"] = "payer"
) -> Aging:
    rows: dict[str, AgingRow] = {}
    buckets = {b: Cell() for b in BUCKETS}
    total = Cell()
    for claim in facts:
        amount = open_amount(claim)
        if amount == 0:
            continue
        since = claim.submitted_at or claim.created_at
        name = bucket_of(max(0, (now - since).days))
        key = claim.payer_name if by == "payer" else claim.partner
        row = rows.setdefault(key, AgingRow(key))
        for cell in (row.buckets[name], row.total, buckets[name], total):
            cell.add(amount)
    return Aging(by, sorted(rows.values(), key=lambda r: (-r.total.amount, r.key)), buckets, total)
