"""837 Professional (005010X222A1): loops 2300 and 2400 of a claim record."""

from __future__ import annotations

from gateway.domain.claim import Claim, Line
from gateway.transactions import claim_837_common as common
from gateway.x12.values import amount, quantity
from gateway.x12.writer import X12Writer

VERSION = "005010X222A1"


def loop_2300_claim(w: X12Writer, c: Claim) -> None:
    """Loop 2300 and its lines (shared with the other non-institutional guide)."""
    common.loop_2300_non_institutional(w, c, loop_2400_line)


def loop_2400_line(w: X12Writer, c: Claim, line: Line, n: int) -> None:
    """``LX*1~ SV1*HC:99213*150*UN*1***1~ DTP*472*D8*20250303~ REF*6R*LN0001A~``."""
    w.segment("LX", str(n))
    pos = line.place_of_service if line.place_of_service != c.place_of_service else None
    w.segment(
        "SV1", common.procedure_composite("HC", line), amount(line.charge), "UN",
        quantity(line.units), pos, None, [str(p) for p in line.diagnosis_pointers],
    )  # fmt: skip
    common.line_date(w, c, line)
    w.segment("REF", "6R", line.line_id)
    common.loop_2430_line_adjudication(w, c, line, "HC")
