"""TA1 interchange acknowledgments, wherever they travel (alone or beside a 999)."""

from __future__ import annotations

import os
from typing import BinaryIO

from gateway.domain.acknowledgments import InterchangeAck
from gateway.x12.elements import control_number
from gateway.x12.reader import X12Reader


def read_ta1(source: str | os.PathLike[str] | BinaryIO | bytes) -> list[InterchangeAck]:
    """``TA1*000000101*250310*1200*A*000~`` → one :class:`InterchangeAck` per TA1."""
    out = []
    for seg in X12Reader(source, strict=False):
        if seg.id == "TA1":
            # names one of our interchanges (ISA13: 9 digits; some senders drop the zeros)
            control_number(seg.get(1), "TA101", seg.position)
            out.append(
                InterchangeAck(
                    control_number=seg.get(1),
                    status=seg.get(4),
                    note_code=seg.get(5),
                    interchange_date=seg.get(2),
                    interchange_time=seg.get(3),
                    position=seg.position,
                )
            )
    return out
