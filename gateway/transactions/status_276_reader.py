"""Read a 276 back into its questions: what a payer (the simulator) needs to answer it.

Each claim asked about starts at its ``TRN*1`` (our trace) and collects the REF (``1K`` payer
claim number, ``EJ`` our claim id), AMT*T3 and DTP*472 after it, under the subscriber (2000D)
or dependent (2000E) level it was asked at. A trace before any subscriber raises
:class:`X12SyntaxError` with its position.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from gateway.x12.elements import decimal_or_none
from gateway.x12.errors import X12SyntaxError
from gateway.x12.reader import X12Reader


@dataclass(slots=True)
class AskedClaim:
    trace: str
    level: str  # 22 subscriber, 23 dependent
    payer_id: str = ""
    claim_id: str = ""  # REF*EJ
    payer_claim_number: str = ""  # REF*1K
    charge: Decimal | None = None
    service_dates: str = ""  # DTP03 as sent
    member_id: str = ""
    position: int = 0


def read_276(source: str | os.PathLike[str] | BinaryIO | bytes) -> list[AskedClaim]:
    """Every claim asked about in every 276 transaction set of ``source``."""
    asked: list[AskedClaim] = []
    current: AskedClaim | None = None
    level = payer = member = ""
    in_276 = False
    for seg in X12Reader(source, strict=False):
        sid = seg.id
        if sid == "ST":
            in_276, current, level = seg.get(1) == "276", None, ""
        elif not in_276:
            continue
        elif sid == "HL":
            level, current = seg.get(3), None
        elif sid == "NM1":
            if seg.get(1) == "PR":
                payer = seg.get(9)
            elif seg.get(1) == "IL":
                member = seg.get(9)
        elif sid == "TRN":
            if level not in ("22", "23"):
                raise X12SyntaxError("TRN outside a subscriber or dependent level",
                                     segment_index=seg.position, segment_id="TRN")  # fmt: skip
            current = AskedClaim(seg.get(2), level, payer, member_id=member,
                                 position=seg.position)  # fmt: skip
            asked.append(current)
        elif current is None or sid == "SVC":
            continue
        elif sid == "REF" and seg.get(1) == "EJ":
            current.claim_id = seg.get(2)
        elif sid == "REF" and seg.get(1) == "1K":
            current.payer_claim_number = seg.get(2)
        elif sid == "AMT" and seg.get(1) == "T3":
            current.charge = decimal_or_none(seg.get(2))
        elif sid == "DTP" and seg.get(1) == "472" and not current.service_dates:
            current.service_dates = seg.get(3)
    return asked
