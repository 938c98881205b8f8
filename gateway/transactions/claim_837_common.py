"""Loops shared by the three 837 guides (X222A1, X223A2, X224A2): names, parties, COB.

Helpers are named by loop; the kind modules (``claim_837p`` ...) call them in the order their
guide wants.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

from gateway.domain.claim import Address, Adjustment, Claim, Line, Provider
from gateway.domain.codes import normalize_icd10
from gateway.x12.values import amount, d8, quantity, rd8
from gateway.x12.writer import X12Writer


def up(value: str | None) -> str | None:
    """Names and addresses go out in upper case (basic character set)."""
    return value.upper() if value else value


def address(w: X12Writer, a: Address) -> None:
    """``N3*100 MAIN STREET~`` and ``N4*AUSTIN*TX*787011234~``."""
    w.segment("N3", up(a.line1), up(a.line2))
    w.segment("N4", up(a.city), a.state.upper(), a.zip)


def provider_name(w: X12Writer, entity: str, p: Provider) -> None:
    """``NM1*82*1*SMITH*JOHN****XX*1987654328~`` (an organization when organization_name)."""
    if p.organization_name:
        w.segment("NM1", entity, "2", up(p.organization_name), None, None, None, None, "XX", p.npi)
    else:
        w.segment(
            "NM1", entity, "1", up(p.last_name), up(p.first_name), up(p.middle_name), None,
            None, "XX", p.npi,
        )  # fmt: skip


def health_dx(codes: list[str], first: str, other: str) -> list[list[str | None]]:
    """HI composites: the first code with qualifier ``first``, the rest with ``other``."""
    return [[first if i == 0 else other, normalize_icd10(code)] for i, code in enumerate(codes)]


def line_date(w: X12Writer, claim: Claim, line: Line) -> None:
    """``DTP*472*D8*20250303~`` or ``DTP*472*RD8*20250301-20250303~``."""
    start = service_start(claim, line)
    if start is None:
        return
    if line.service_date_end is not None and line.service_date_end != start:
        w.segment("DTP", "472", "RD8", rd8(start, line.service_date_end))
    else:
        w.segment("DTP", "472", "D8", d8(start))


def service_start(claim: Claim, line: Line) -> date | None:
    """A line's date: its own, else the claim's, else (institutional) the statement start."""
    if line.service_date is not None:
        return line.service_date
    if claim.service_date is not None:
        return claim.service_date
    if claim.institutional is not None:
        return claim.institutional.statement_from
    return None


def claim_refs(w: X12Writer, claim: Claim) -> None:
    """Claim-level REFs in guide order: 9F referral, G1 prior authorization, F8 original."""
    if claim.referral_number:
        w.segment("REF", "9F", claim.referral_number)
    if claim.prior_authorization:
        w.segment("REF", "G1", claim.prior_authorization)
    if claim.payer_claim_number:
        w.segment("REF", "F8", claim.payer_claim_number)


def cas_segments(w: X12Writer, adjustments: list[Adjustment]) -> None:
    """``CAS*PR*1*20**2*15~``: one CAS per group, at most six reason/amount pairs each."""
    by_group: dict[str, list[Adjustment]] = defaultdict(list)
    for adj in adjustments:
        by_group[adj.group].append(adj)
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            elements: list[str | None] = [group]
            for adj in items[start : start + 6]:
                elements += [adj.reason, amount(adj.amount), None]
            w.segment("CAS", *elements)


def loop_2300_non_institutional(
    w: X12Writer, c: Claim, loop_2400: Callable[[X12Writer, Claim, Line, int], None]
) -> None:
    """Loop 2300 as the 837P and 837D share it: CLM to 2320, then the lines.

    ``CLM*PCN-2025-0001*175***11:B:1*Y*A*Y*Y~`` AMT*F5, REF, HI, 2310A referring, 2310B
    rendering (+ PRV), 2310C service facility, 2320 other payers; the kinds differ in their lines.
    """
    w.segment(
        "CLM", c.claim_id, amount(c.line_total), None, None,
        [c.place_of_service, "B", c.frequency],
        "Y" if c.signature_on_file else "N", c.provider_accepts_assignment,
        "Y" if c.assignment_of_benefits else "N", c.release_of_information,
    )  # fmt: skip
    if c.patient_paid is not None:
        w.segment("AMT", "F5", amount(c.patient_paid))
    claim_refs(w, c)
    if c.diagnoses:  # required on 837P (checked), situational on 837D
        w.segment("HI", *health_dx(c.diagnoses, "ABK", "ABF"))
    if c.referring_provider is not None:
        provider_name(w, "DN", c.referring_provider)
    if c.rendering_provider is not None:
        provider_name(w, "82", c.rendering_provider)
        if c.rendering_provider.taxonomy:
            w.segment("PRV", "PE", "PXC", c.rendering_provider.taxonomy)
    if c.service_facility is not None:
        service_facility(w, c)
    loop_2320_other_payers(w, c)
    for n, line in enumerate(c.lines, 1):
        loop_2400(w, c, line, n)


def service_facility(w: X12Writer, c: Claim) -> None:
    """``NM1*77*2*NORTH CLINIC*****XX*1234567893~`` N3 N4 (NPI only when known)."""
    f = c.service_facility
    assert f is not None
    npi = ("XX", f.npi) if f.npi else (None, None)
    w.segment("NM1", "77", "2", up(f.name), None, None, None, None, *npi)
    address(w, f.address)


def procedure_composite(qualifier: str, line: Line) -> list[str | None]:
    """``HC:99213:25:59::::DESCRIPTION`` (the description only for unlisted codes)."""
    mods: list[str | None] = list(line.modifiers)
    if line.description:
        mods += [None] * (4 - len(mods)) + [up(line.description)]
    return [qualifier, line.procedure, *mods]


def loop_2320_other_payers(w: X12Writer, claim: Claim) -> None:
    """2320/2330A/2330B per earlier payer: what it paid and adjusted, who it is.

    ``SBR*P*18*GRP******CI~`` CAS, ``AMT*D*116~`` (AMT*EAF only when that payer gave no line
    detail), OI, MOA (its claim remarks); 2330A ``NM1*IL``; 2330B ``NM1*PR``, ``DTP*573`` only
    when no 2430 carries that payer's date, ``REF*F8`` its claim number (field guide 2, 1.3).
    """
    institutional = claim.kind == "institutional"
    for op in claim.other_payers:
        msp = None if institutional else op.insurance_type
        w.segment("SBR", op.sequence, op.subscriber.relationship, op.subscriber.group_number,
                  None, msp, None, None, None, op.filing_indicator)  # fmt: skip
        cas_segments(w, op.adjustments)
        w.segment("AMT", "D", amount(op.paid_amount))
        if op.remaining_patient_liability and not op.line_adjudications:
            w.segment("AMT", "EAF", amount(op.remaining_patient_liability))
        w.segment(
            "OI", None, None, "Y" if claim.assignment_of_benefits else "N", None, None,
            claim.release_of_information,
        )  # fmt: skip
        if op.remarks:
            w.segment("MOA", None, None, *op.remarks[:5])
        s = op.subscriber
        w.segment("NM1", "IL", "1", up(s.last_name), up(s.first_name), None, None, None, "MI",
                  s.member_id)  # fmt: skip
        w.segment("NM1", "PR", "2", up(op.payer.name), None, None, None, None, "PI", op.payer.id)
        if not op.line_adjudications:
            w.segment("DTP", "573", "D8", d8(op.paid_date))
        if op.payer_claim_number:
            w.segment("REF", "F8", op.payer_claim_number)


def loop_2430_line_adjudication(
    w: X12Writer, claim: Claim, line: Line, qualifier: str, svd_procedure: bool = True
) -> None:
    """2430 per earlier payer that adjudicated this line: SVD, CAS (grouped as its 835 grouped
    them), DTP*573, AMT*EAF (what the patient still owes on the line, when not zero)."""
    for op in claim.other_payers:
        for la in op.line_adjudications:
            if la.line_id != line.line_id:
                continue
            code = la.procedure or line.procedure or line.revenue_code
            modifiers = la.modifiers if la.modifiers is not None else line.modifiers
            proc = [qualifier, code, *modifiers]
            units = quantity(la.paid_units if la.paid_units is not None else line.units)
            if svd_procedure:
                w.segment("SVD", op.payer.id, amount(la.paid_amount), proc, None, units)
            else:
                w.segment("SVD", op.payer.id, amount(la.paid_amount), proc, line.revenue_code,
                          units)  # fmt: skip
            cas_segments(w, la.adjustments)
            w.segment("DTP", "573", "D8", d8(la.paid_date or op.paid_date))
            if la.remaining_patient_liability:
                w.segment("AMT", "EAF", amount(la.remaining_patient_liability))
