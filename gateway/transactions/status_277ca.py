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
from gateway.x12.reader import X12Reader
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


def _status(els: list[str], component: str) -> list[Status]:
    """``STC*A7:562:85*20250311*U*175~`` (plus the extra triplets in STC10 and STC11)."""
    n = len(els)
    effective = _d8(els[2] if n > 2 else "")
    amount = decimal_or_none(els[4] if n > 4 else "")  # informational: a bad one is left out
    free_text, action = els[3] if n > 3 else "", els[12] if n > 12 else ""
    out = []
    for k in (1, 10, 11):
        parts = (els[k] if k < n else "").split(component)
        if not parts[0]:
            continue
        category, code, entity = ([*parts, "", ""])[:3]
        out.append(Status(category, code, entity, effective, free_text, amount, action))
    return out


def read_277ca(source: str | os.PathLike[str] | BinaryIO | bytes) -> list[ClaimAck]:
    """One :class:`ClaimAck` per claim (patient-level HL) in every 277 transaction set."""
    claims: list[ClaimAck] = []
    claim: ClaimAck | None = None
    line: LineStatus | None = None
    level = ""
    payer = npi = ""
    in_277 = False
    reader = X12Reader(source, strict=False)
    position = 0
    for els in reader.element_lists():  # the n-th list is segment position n
        position += 1
        sid, n = els[0], len(els)
        if sid == "ST":
            in_277 = n > 1 and els[1] == "277"
            claim = line = None
            continue
        if not in_277:
            continue
        q = els[1] if n > 1 else ""
        if sid == "HL":
            level = els[3] if n > 3 else ""
            line = None
            claim = None
            if level == "PT":
                claim = ClaimAck(position=position, payer_name=payer, billing_provider_npi=npi)
                claims.append(claim)
        elif sid == "NM1":
            if q in ("PR", "AY") and level == "20":
                payer = els[3] if n > 3 else ""
            elif q == "85" and level == "19":
                npi = els[9] if n > 9 else ""
            elif q in ("QC", "IL") and claim is not None:
                claim.patient_last_name = els[3] if n > 3 else ""
                claim.patient_first_name = els[4] if n > 4 else ""
                claim.member_id = els[9] if n > 9 else ""
        elif claim is None:
            continue
        elif sid == "TRN" and line is None:
            claim.claim_id = identifier(els[2] if n > 2 else "", "TRN02", position, 50)  # CLM01
        elif sid == "STC":
            component = reader.delimiters.component if reader.delimiters else ":"
            (line.statuses if line is not None else claim.statuses).extend(_status(els, component))
        elif sid == "REF":
            value = els[2] if n > 2 else ""
            if line is not None and q == "FJ":
                line.line_id = value
            elif q == "1K":
                claim.payer_claim_number = identifier(value, "REF02", position, 50)
            elif q == "D9":
                claim.clearinghouse_trace = value
            elif q == "BLT":
                claim.bill_type = value
        elif sid == "DTP" and q == "472" and line is None:
            start, _, end = (els[3] if n > 3 else "").partition("-")
            first = _d8(start)
            if first is not None:  # a date that is not one leaves the claim's dates alone
                claim.service_from = first
                last = _d8(end) if end else first
                if last is not None:
                    claim.service_to = last
        elif sid == "SVC":
            procedure = (els[1] if n > 1 else "").split(
                reader.delimiters.component if reader.delimiters else ":"
            )
            line = LineStatus(procedure=procedure[1] if len(procedure) > 1 else "")
            line.charge = decimal_or_none(els[2] if n > 2 else "")
            claim.lines.append(line)
    return claims
