"""837 Dental (005010X224A2): loops 2300 and 2400 of a claim record (SV3, TOO)."""

from __future__ import annotations

from gateway.domain.claim import Claim, Line
from gateway.transactions import claim_837_common as common
from gateway.x12.values import amount, quantity
from gateway.x12.writer import X12Writer

VERSION = "005010X224A2"


def loop_2300_claim(w: X12Writer, c: Claim) -> None:
    """Loop 2300 and its lines (shared with the other non-institutional guide)."""
    common.loop_2300_non_institutional(w, c, loop_2400_line)


def loop_2400_line(w: X12Writer, c: Claim, line: Line, n: int) -> None:
    """``LX*1~ SV3*AD:D2392*185****1~ TOO*JP*30*M:O~ DTP*472*D8*20250303~ REF*6R*L1~``."""
    w.segment("LX", str(n))
    pos = line.place_of_service if line.place_of_service != c.place_of_service else None
    pointers = [str(p) for p in line.diagnosis_pointers] if c.diagnoses else []
    w.segment(
        "SV3", common.procedure_composite("AD", line), amount(line.charge), pos,
        list(line.oral_cavity), None, quantity(line.units), None, None, None, None, pointers,
    )  # fmt: skip
    if line.tooth is not None:
        w.segment("TOO", "JP", line.tooth, list(line.surfaces or ""))
    common.line_date(w, c, line)
    w.segment("REF", "6R", line.line_id)
    common.loop_2430_line_adjudication(w, c, line, "AD")
