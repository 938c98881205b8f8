"""277CA claim acknowledgments (005010X214): per claim accepted or rejected, and why.

The HL tree runs information source (20) → receiver (21) → billing provider (19) → patient
(PT); each patient level holds one claim, matched back to ours by TRN02 (our CLM01).
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from typing import BinaryIO

from gateway.domain.acknowledgments import ClaimAck, LineStatus, Status
from gateway.x12.elements import decimal_or_none, identifier
from gateway.x12.reader import Segment, X12Reader
from gateway.x12.values import parse_d8

VERSION = "005010X214"


@lru_cache(maxsize=1 << 10)
def _d8(text: str) -> date | None:
    """CCYYMMDD as a date, None when it is not one (a 277CA repeats a few dates: strptime
    once each)."""
    try:
        return parse_d8(text)
    except ValueError:
        return None


def _status(seg: Segment) -> list[Status]:
    """``STC*A7:562:85*20250311*U*175~`` (plus the extra triplets in STC10 and STC11)."""
    effective = _d8(seg.get(2))
    amount = decimal_or_none(seg.get(4))  # informational: a bad one is left out
    out = []
    for n in (1, 10, 11):
        parts = seg.components(n)
        if not parts[0]:
            continue
        category, code, entity = ([*parts, "", ""])[:3]
        out.append(Status(category, code, entity, effective, seg.get(3), amount, seg.get(12)))
    return out


def read_277ca(source: str | os.PathLike[str] | BinaryIO | bytes) -> list[ClaimAck]:
    """One :class:`ClaimAck` per claim (patient-level HL) in every 277 transaction set."""
    claims: list[ClaimAck] = []
    claim: ClaimAck | None = None
    line: LineStatus | None = None
    level = ""
    payer = npi = ""
    in_277 = False
    for seg in X12Reader(source, strict=False):
        sid = seg.id
        if sid == "ST":
            in_277 = seg.get(1) == "277"
            claim = line = None
            continue
        if not in_277:
            continue
        if sid == "HL":
            level = seg.get(3)
            line = None
            claim = None
            if level == "PT":
                claim = ClaimAck(position=seg.position, payer_name=payer, billing_provider_npi=npi)
                claims.append(claim)
        elif sid == "NM1":
            if seg.get(1) in ("PR", "AY") and level == "20":
                payer = seg.get(3)
            elif seg.get(1) == "85" and level == "19":
                npi = seg.get(9)
            elif seg.get(1) in ("QC", "IL") and claim is not None:
                claim.patient_last_name, claim.patient_first_name = seg.get(3), seg.get(4)
                claim.member_id = seg.get(9)
        elif claim is None:
            continue
        elif sid == "TRN" and line is None:
            claim.claim_id = identifier(seg.get(2), "TRN02", seg.position, 50)  # our CLM01
        elif sid == "STC":
            (line.statuses if line is not None else claim.statuses).extend(_status(seg))
        elif sid == "REF":
            q, value = seg.get(1), seg.get(2)
            if line is not None and q == "FJ":
                line.line_id = value
            elif q == "1K":
                claim.payer_claim_number = identifier(value, "REF02", seg.position, 50)
            elif q == "D9":
                claim.clearinghouse_trace = value
            elif q == "BLT":
                claim.bill_type = value
        elif sid == "DTP" and seg.get(1) == "472" and line is None:
            start, _, end = seg.get(3).partition("-")
            first = _d8(start)
            if first is not None:  # a date that is not one leaves the claim's dates alone
                claim.service_from = first
                last = _d8(end) if end else first
                if last is not None:
                    claim.service_to = last
        elif sid == "SVC":
            line = LineStatus(procedure=seg.component(1, 2))
            line.charge = decimal_or_none(seg.get(2))
            claim.lines.append(line)
    return claims
