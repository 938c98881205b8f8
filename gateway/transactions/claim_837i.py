"""837 Institutional (005010X223A2): loops 2300 and 2400 of a claim record (CL1, HI, SV2)."""

from __future__ import annotations

from gateway.domain.claim import Claim, Line
from gateway.domain.codes import normalize_icd10
from gateway.transactions import claim_837_common as common
from gateway.x12.values import amount, d8, quantity, rd8
from gateway.x12.writer import X12Writer

VERSION = "005010X223A2"
_PER_HI = 12  # composites per HI segment


def loop_2300_claim(w: X12Writer, c: Claim) -> None:
    """``CLM*PCN-I-0001*1200***13:A:1**A*Y*Y~``, DTP, CL1, HI, providers, lines."""
    i = c.institutional
    assert i is not None, "checked before building"
    w.segment(
        "CLM", c.claim_id, amount(c.line_total), None, None,
        [i.facility_type, "A", c.frequency], None, c.provider_accepts_assignment,
        "Y" if c.assignment_of_benefits else "N", c.release_of_information,
    )  # fmt: skip
    if i.discharge_hour:
        w.segment("DTP", "096", "TM", i.discharge_hour)
    w.segment("DTP", "434", "RD8", rd8(i.statement_from, i.statement_to))
    if i.admission_date is not None:
        if i.admission_hour:
            w.segment("DTP", "435", "DT", d8(i.admission_date) + i.admission_hour)
        else:
            w.segment("DTP", "435", "D8", d8(i.admission_date))
    w.segment("CL1", i.admission_type, i.admission_source, i.patient_status)
    common.claim_refs(w, c)
    w.segment("HI", ["ABK", normalize_icd10(c.diagnoses[0])])
    if i.admitting_diagnosis:
        w.segment("HI", ["ABJ", normalize_icd10(i.admitting_diagnosis)])
    if i.drg:
        w.segment("HI", ["DR", i.drg])
    _hi(w, [["ABF", normalize_icd10(code)] for code in c.diagnoses[1:]])
    if i.principal_procedure is not None:
        p = i.principal_procedure
        w.segment("HI", ["BBR", p.code, "D8", d8(p.date)])
    _hi(w, [["BH", o.code, "D8", d8(o.date)] for o in i.occurrence_codes])
    _hi(w, [["BE", v.code, None, None, amount(v.amount)] for v in i.value_codes])
    _hi(w, [["BG", code] for code in i.condition_codes])
    if c.attending_provider is not None:
        common.provider_name(w, "71", c.attending_provider)
        if c.attending_provider.taxonomy:
            w.segment("PRV", "AT", "PXC", c.attending_provider.taxonomy)
    if c.rendering_provider is not None:
        common.provider_name(w, "82", c.rendering_provider)
    if c.service_facility is not None:
        common.service_facility(w, c)
    if c.referring_provider is not None:
        common.provider_name(w, "DN", c.referring_provider)
    common.loop_2320_other_payers(w, c)
    for n, line in enumerate(c.lines, 1):
        loop_2400_line(w, c, line, n)


def _hi(w: X12Writer, composites: list[list[str | None]]) -> None:
    for start in range(0, len(composites), _PER_HI):
        w.segment("HI", *composites[start : start + _PER_HI])


def loop_2400_line(w: X12Writer, c: Claim, line: Line, n: int) -> None:
    """``LX*1~ SV2*0450*HC:99284*900*UN*1~ DTP*472*D8*20250301~ REF*6R*HL0001A~``."""
    w.segment("LX", str(n))
    proc = common.procedure_composite("HC", line) if line.procedure else None
    noncovered = amount(line.non_covered_charge) if line.non_covered_charge is not None else None
    w.segment(
        "SV2", line.revenue_code, proc, amount(line.charge), "UN", quantity(line.units), None,
        noncovered,
    )  # fmt: skip
    common.line_date(w, c, line)
    w.segment("REF", "6R", line.line_id)
    common.loop_2430_line_adjudication(w, c, line, "HC", svd_procedure=False)
