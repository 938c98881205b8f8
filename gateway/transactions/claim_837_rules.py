"""Our own 837 rules: what pyx12 does not check (field guide section 10).

Each problem carries the position of the segment it was found in.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from gateway.domain.codes import npi_problem
from gateway.domain.problems import Problem
from gateway.x12.errors import X12SyntaxError
from gateway.x12.reader import Segment, X12Reader

HIPAA_837_VERSIONS = frozenset({"005010X222A1", "005010X223A2", "005010X224A2"})
_LINE_CHARGE = {"SV1": 2, "SV2": 3, "SV3": 2}


def _at(seg: Segment, message: str, field: str | None = None, claim: str | None = None) -> Problem:
    return Problem(message, field, claim, None, seg.position, seg.id)


def check_837(source: str | os.PathLike[str] | BinaryIO | bytes) -> list[Problem]:
    """Structural faults, balancing, NPI check digits, ZIP+4, ICD-10 dots, REF*F8 for 7/8."""
    problems: list[Problem] = []
    reader = X12Reader(source, strict=False)
    clm: Segment | None = None
    claim_id: str | None = None
    line_total = Decimal(0)
    has_f8 = False
    lx_expected = 1
    last_nm1 = ""

    def close_claim() -> None:
        if clm is None:
            return
        try:
            total = Decimal(clm.get(2))
        except InvalidOperation:
            problems.append(_at(clm, f"CLM02 {clm.get(2)!r} is not an amount", "CLM02", claim_id))
            return
        if total != line_total:
            problems.append(
                _at(
                    clm,
                    f"claim total {total} does not equal the sum of its line charges {line_total}",
                    "CLM02",
                    claim_id,
                )
            )
        frequency = clm.component(5, 3)
        if frequency in ("7", "8") and not has_f8:
            problems.append(
                _at(
                    clm,
                    f"frequency {frequency} (replacement or void) needs REF*F8 with the "
                    "payer's claim number",
                    "CLM05-3",
                    claim_id,
                )
            )

    try:
        for seg in reader:
            sid = seg.id
            if sid == "ISA" and seg.get(11) == "U" and seg.get(12) >= "00501":
                problems.append(
                    _at(
                        seg,
                        "is 'U' (a 4010 value); a 5010 interchange needs a repetition separator "
                        "here",
                        "ISA11",
                    )
                )
            elif sid == "GS" and seg.get(1) == "HC" and seg.get(8) not in HIPAA_837_VERSIONS:
                problems.append(
                    _at(
                        seg,
                        f"{seg.get(8)!r} is not a HIPAA-adopted 837 version "
                        f"({', '.join(sorted(HIPAA_837_VERSIONS))})",
                        "GS08",
                    )
                )
            elif sid == "CLM":
                close_claim()
                clm, claim_id = seg, seg.get(1)
                line_total, has_f8, lx_expected = Decimal(0), False, 1
                if len(claim_id) > 20:
                    problems.append(
                        _at(
                            seg,
                            f"claim id {claim_id!r} is longer than 20 characters (payers "
                            "keep only 20)",
                            "CLM01",
                            claim_id,
                        )
                    )
            elif sid in ("HL", "SE"):
                close_claim()
                clm = None
            elif sid == "LX" and clm is not None:
                if seg.get(1) != str(lx_expected):
                    problems.append(
                        _at(
                            seg,
                            f"line number {seg.get(1)!r} should be {lx_expected}",
                            "LX01",
                            claim_id,
                        )
                    )
                lx_expected += 1
            elif sid in _LINE_CHARGE and clm is not None:
                n = _LINE_CHARGE[sid]
                try:
                    line_total += Decimal(seg.get(n))
                except InvalidOperation:
                    problems.append(
                        _at(
                            seg,
                            f"line charge {seg.get(n)!r} is not an amount",
                            f"{sid}0{n}",
                            claim_id,
                        )
                    )
            elif sid == "REF" and seg.get(1) == "F8" and clm is not None:
                has_f8 = True
            elif sid == "NM1":
                last_nm1 = seg.get(1)
                if seg.get(8) == "XX" and (why := npi_problem(seg.get(9))):
                    problems.append(_at(seg, why, "NM109", claim_id))
            elif sid == "N4" and last_nm1 in ("85", "77") and len(seg.get(3)) != 9:
                who = "billing provider" if last_nm1 == "85" else "service facility"
                problems.append(
                    _at(
                        seg,
                        f"the {who} ZIP code must have 9 digits (ZIP+4), got {seg.get(3)!r}",
                        "N403",
                        claim_id,
                    )
                )
            elif sid == "HI":
                for element in seg.elements[1:]:
                    code = element.split(seg.delimiters.component)[1:2]
                    if code and "." in code[0]:
                        problems.append(
                            _at(
                                seg,
                                f"diagnosis code {code[0]!r} must be sent without the "
                                "decimal point",
                                "HI",
                                claim_id,
                            )
                        )
        close_claim()
    except X12SyntaxError as exc:
        problems.append(Problem(exc.message, None, None, None, exc.segment_index, exc.segment_id))
    problems.extend(
        Problem(p.message, None, None, None, p.segment_index, p.segment_id) for p in reader.problems
    )
    return problems
