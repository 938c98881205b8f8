"""A small payer for daemon tests: 999, 277CA, TA1 and 835 replies to the gateway's 837s.

It adjudicates every line the same way (allowed = 80 % of the charge, a 10.00 deductible on the
first line, CO-45 for the rest), so each test knows the exact amounts to expect. The full payer
simulator (fee schedules, accumulators, denials) lives in gateway/simulator.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from gateway.domain.claim import Claim
from gateway.transactions.claim_837_reader import read_837_claims
from gateway.x12.reader import X12Reader
from gateway.x12.writer import X12Writer

WHEN = datetime(2026, 11, 27, 9, 0)
CENT = Decimal("0.01")
DEDUCTIBLE = Decimal("10.00")


@dataclass(frozen=True)
class LineResult:
    line_id: str
    procedure: str
    charge: Decimal
    allowed: Decimal
    contractual: Decimal  # CO-45
    deductible: Decimal  # PR-1
    paid: Decimal
    units: Decimal
    service_date: date
    qualifier: str


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    lines: list[LineResult]
    status: str = "1"  # CLP02: 22 for a reversal
    payer_claim_number: str = ""  # CLP07; PCN<claim id> when empty

    @property
    def charge(self) -> Decimal:
        return sum((x.charge for x in self.lines), Decimal(0))

    @property
    def paid(self) -> Decimal:
        return sum((x.paid for x in self.lines), Decimal(0))

    @property
    def patient(self) -> Decimal:
        return sum((x.deductible for x in self.lines), Decimal(0))

    @property
    def contractual(self) -> Decimal:
        return sum((x.contractual for x in self.lines), Decimal(0))


def adjudicate(
    claim: Claim, *, deductible_due: Decimal = DEDUCTIBLE, payer_claim_number: str = ""
) -> ClaimResult:
    """``deductible_due``: what the first line puts on the patient's deductible (a corrected
    adjudication may change it)."""
    lines = []
    for n, line in enumerate(claim.lines):
        allowed = (line.charge * Decimal("0.8")).quantize(CENT, ROUND_HALF_UP)
        deductible = min(deductible_due, allowed) if n == 0 else Decimal("0.00")
        served = line.service_date or claim.service_date
        if served is None and claim.institutional is not None:
            served = claim.institutional.statement_from
        assert served is not None
        if claim.kind == "dental":
            qualifier, code = "AD", line.procedure or ""
        elif line.procedure:
            qualifier, code = "HC", line.procedure
        else:
            qualifier, code = "NU", line.revenue_code or ""
        lines.append(LineResult(
            line.line_id, code, line.charge, allowed, line.charge - allowed, deductible,
            allowed - deductible, line.units, served, qualifier,
        ))  # fmt: skip
    return ClaimResult(claim, lines, payer_claim_number=payer_claim_number)


def reversal_of(result: ClaimResult) -> ClaimResult:
    """The payer takes ``result`` back: CLP02 22, the same CLP07, every amount negated."""
    negated = [
        LineResult(x.line_id, x.procedure, -x.charge, -x.allowed, -x.contractual, -x.deductible,
                   -x.paid, x.units, x.service_date, x.qualifier)
        for x in result.lines
    ]  # fmt: skip
    return ClaimResult(result.claim, negated, "22", result.payer_claim_number)


def envelope_of(path: Path) -> tuple[int, int]:
    """(ISA13, GS06) of an 837 the gateway sent."""
    isa = gs = 0
    for seg in X12Reader(path):
        if seg.id == "ISA":
            isa = int(seg.get(13))
        elif seg.id == "GS":
            gs = int(seg.get(6))
            break
    return isa, gs


def _interchange(
    control: int, functional_id: str, version: str, body: Callable[[X12Writer], None]
) -> str:
    out = io.StringIO()
    w = X12Writer(out)
    with (
        w.interchange(sender_qualifier="ZZ", sender_id="ACMECH", receiver_qualifier="ZZ",
                      receiver_id="PRACTICE01", control_number=control, when=WHEN),
        w.group(functional_id=functional_id, sender="ACMECH", receiver="PRACTICE01",
                control_number=control, version=version, when=WHEN),
    ):  # fmt: skip
        body(w)
    return out.getvalue()


def ack_999(
    group_control: int,
    *,
    accepted: bool = True,
    control: int = 501,
    of: tuple[str, str, str] = ("HC", "837", "005010X222A1"),  # GS01, ST01, version acked
) -> str:
    functional_id, set_id, version = of

    def body(w: X12Writer) -> None:
        with w.transaction("999", "0001", "005010X231A1"):
            w.segment("AK1", functional_id, str(group_control), version)
            w.segment("AK2", set_id, "0001", version)
            if not accepted:
                w.segment("IK3", "NM1", "12", "2010BA", "8")
                w.segment("IK4", ("9",), "67", "1", "")
                w.segment("IK5", "R", "5")
            else:
                w.segment("IK5", "A")
            w.segment("AK9", "A" if accepted else "R", "1", "1", "1" if accepted else "0")

    return _interchange(control, "FA", "005010X231A1", body)


def ta1(interchange_control: int, *, accepted: bool, note: str = "000", control: int = 401) -> str:
    return (
        "ISA*00*          *00*          *ZZ*ACMECH         *ZZ*PRACTICE01     *261127*0900*^*"
        f"00501*{control:09d}*0*T*:~TA1*{interchange_control:09d}*261127*0900*"
        f"{'A' if accepted else 'R'}*{note}~IEA*0*{control:09d}~"
    )


def status_277ca(verdicts: Iterable[tuple[Claim, str]], *, control: int = 601) -> str:
    """``verdicts``: (claim, "A2:20" accepted or e.g. "A7:33" rejected) per claim."""

    def body(w: X12Writer) -> None:
        with w.transaction("277", "0001", "005010X214"):
            w.segment("BHT", "0085", "08", "CA1", "20261127", "0900", "TH")
            w.segment("HL", "1", "", "20", "1")
            w.segment("NM1", "PR", "2", "ACME HEALTH PLAN", "", "", "", "", "PI", "ACMEH")
            w.segment("TRN", "1", "ACMEH1")
            w.segment("DTP", "050", "D8", "20261127")
            w.segment("DTP", "009", "D8", "20261127")
            w.segment("HL", "2", "1", "21", "1")
            w.segment("NM1", "41", "2", "MAIN STREET CLINIC", "", "", "", "", "46", "PRACTICE01")
            w.segment("TRN", "2", "BATCH1")
            w.segment("STC", ("A1", "19", "PR"), "20261127", "WQ", "1")
            hl = 3
            for claim, verdict in verdicts:
                w.segment("HL", str(hl), "2", "19", "1")
                w.segment("NM1", "85", "2", "MAIN STREET CLINIC", "", "", "", "", "XX",
                          claim.billing_provider.npi)  # fmt: skip
                w.segment("HL", str(hl + 1), str(hl), "PT")
                w.segment("NM1", "QC", "1", "DOE", "JANE", "", "", "", "MI", "XYZ1")
                w.segment("TRN", "2", claim.claim_id)
                category, code = verdict.split(":")
                w.segment("STC", (category, code, "PR"), "20261127",
                          "WQ" if category == "A2" else "U", str(claim.line_total))  # fmt: skip
                w.segment("REF", "1K", f"PCN{claim.claim_id}")
                hl += 2

    return _interchange(control, "HN", "005010X214", body)


def remit_835(results: Iterable[ClaimResult], *, trace: str, control: int = 701) -> str:
    results = list(results)
    total = sum((r.paid for r in results), Decimal(0))

    def body(w: X12Writer) -> None:
        with w.transaction("835", "0001", None):
            w.segment("BPR", "I", f"{total:.2f}", "C", "ACH", "CCP", "01", "999999992", "DA",
                      "123456789", "1512345678", "", "01", "111000025", "DA", "987654321",
                      "20261127")  # fmt: skip
            w.segment("TRN", "1", trace, "1512345678")
            w.segment("DTM", "405", "20261127")
            w.segment("N1", "PR", "ACME HEALTH PLAN")
            w.segment("N3", "PO BOX 1000")
            w.segment("N4", "DALLAS", "TX", "752010000")
            w.segment("PER", "BL", "EDI SUPPORT", "TE", "8005550199")
            w.segment("N1", "PE", "MAIN STREET CLINIC", "XX", "1234567893")
            w.segment("LX", "1")
            for r in results:
                c = r.claim
                status = r.status  # as billed: 2 and 3 from a secondary and tertiary payer
                if status == "1":
                    status = {"S": "2", "T": "3"}.get(c.subscriber.sequence, "1")
                w.segment("CLP", c.claim_id, status, f"{r.charge:.2f}", f"{r.paid:.2f}",
                          f"{r.patient:.2f}", "12", r.payer_claim_number or f"PCN{c.claim_id}",
                          "11", c.frequency)  # fmt: skip
                w.segment("NM1", "QC", "1", "DOE", "JANE", "", "", "", "MI", "XYZ1")
                for x in r.lines:
                    w.segment("SVC", (x.qualifier, x.procedure), f"{x.charge:.2f}",
                              f"{x.paid:.2f}", "", f"{x.units.normalize()}")  # fmt: skip
                    w.segment("DTM", "472", x.service_date.strftime("%Y%m%d"))
                    w.segment("CAS", "CO", "45", f"{x.contractual:.2f}")
                    if x.deductible:
                        w.segment("CAS", "PR", "1", f"{x.deductible:.2f}")
                    w.segment("REF", "6R", x.line_id)
                    w.segment("AMT", "B6", f"{x.allowed:.2f}")

    return _interchange(control, "HP", "005010X221A1", body)


def claims_of(path: Path) -> list[Claim]:
    return read_837_claims(path)
