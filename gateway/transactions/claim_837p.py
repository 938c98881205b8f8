"""837 Professional (005010X222A1): loops 2300 and 2400 of a claim record."""

from __future__ import annotations

from gateway.domain.claim import Claim, Line
from gateway.transactions import claim_837_common as common
from gateway.x12.values import amount, quantity
from gateway.x12.writer import X12Writer

VERSION = "005010X222A1"


def loop_2300_claim(w: X12Writer, c: Claim) -> None:
    """``CLM*PCN-2025-0001*175***11:B:1*Y*A*Y*Y~`` and what follows it, lines included."""
    w.segment(
        "CLM", c.claim_id, amount(c.line_total), None, None,
        [c.place_of_service, "B", c.frequency],
        "Y" if c.signature_on_file else "N", c.provider_accepts_assignment,
        "Y" if c.assignment_of_benefits else "N", c.release_of_information,
    )  # fmt: skip
    if c.patient_paid is not None:
        w.segment("AMT", "F5", amount(c.patient_paid))
    common.claim_refs(w, c)
    w.segment("HI", *common.health_dx(c.diagnoses, "ABK", "ABF"))
    if c.referring_provider is not None:
        common.provider_name(w, "DN", c.referring_provider)
    if c.rendering_provider is not None:
        common.provider_name(w, "82", c.rendering_provider)
        if c.rendering_provider.taxonomy:
            w.segment("PRV", "PE", "PXC", c.rendering_provider.taxonomy)
    if c.service_facility is not None:
        f = c.service_facility
        npi = ("XX", f.npi) if f.npi else (None, None)
        w.segment("NM1", "77", "2", common.up(f.name), None, None, None, None, *npi)
        common.address(w, f.address)
    common.loop_2320_other_payers(w, c)
    for n, line in enumerate(c.lines, 1):
        loop_2400_line(w, c, line, n)


def loop_2400_line(w: X12Writer, c: Claim, line: Line, n: int) -> None:
    """``LX*1~ SV1*HC:99213*150*UN*1***1~ DTP*472*D8*20250303~ REF*6R*LN0001A~``."""
    w.segment("LX", str(n))
    mods: list[str | None] = list(line.modifiers)
    if line.description:
        mods += [None] * (4 - len(mods)) + [common.up(line.description)]
    pos = line.place_of_service if line.place_of_service != c.place_of_service else None
    w.segment(
        "SV1", ["HC", line.procedure, *mods], amount(line.charge), "UN", quantity(line.units),
        pos, None, [str(p) for p in line.diagnosis_pointers],
    )  # fmt: skip
    common.line_date(w, c, line)
    w.segment("REF", "6R", line.line_id)
    common.loop_2430_line_adjudication(w, c, line, "HC")
