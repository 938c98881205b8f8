"""277 claim status responses (005010X212) into :class:`StatusAnswer` objects.

The HL tree runs payer (20) → receiver (21) → provider (19) → subscriber (22) → dependent (23).
A claim's answer starts at its ``TRN*2`` (our inquiry's trace) under a subscriber or dependent
level and collects the STC, REF and DTP segments after it, and its service lines (SVC ...).
STC segments above the claims (receiver or provider level) are about the inquiry itself (for
instance ``E0``, an error in our request): they are kept as :class:`RequestStatus`.

A 277 that cannot be read as one (a status before any claim trace, an HL naming a parent that
does not exist, an amount that is not a number, a date that is not one) raises
:class:`Status277Error` with the segment position: the daemon quarantines the file and applies
nothing of it. Codes we do not know are not errors: they are kept raw and shown as unknown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from gateway.domain.acknowledgments import LineStatus, Status
from gateway.domain.claim_status import StatusAnswer
from gateway.x12.elements import decimal_or_none
from gateway.x12.errors import X12SyntaxError
from gateway.x12.reader import Segment, X12Reader
from gateway.x12.values import parse_d8

VERSION = "005010X212"
_LEVELS = {"20": "payer", "21": "receiver", "19": "provider", "22": "subscriber",
           "23": "dependent"}  # fmt: skip
_CLAIM_LEVELS = ("22", "23")


class Status277Error(X12SyntaxError):
    """A 277 whose structure or values cannot be read; names the segment position."""


def _error(seg: Segment, message: str) -> Status277Error:
    return Status277Error(message, segment_index=seg.position, segment_id=seg.id)


@dataclass(frozen=True, slots=True)
class RequestStatus:
    """An STC about the inquiry as a whole (2200B/2200C), not about one claim."""

    level: str  # receiver, provider
    status: Status
    position: int


@dataclass
class Response277:
    answers: list[StatusAnswer] = field(default_factory=list)
    request_statuses: list[RequestStatus] = field(default_factory=list)


def _number(seg: Segment, n: int) -> Decimal | None:
    raw = seg.get(n)
    if not raw:
        return None
    value = decimal_or_none(raw)
    if value is None:
        raise _error(seg, f"{seg.id}{n:02d} {raw[:20]!r} is not a number")
    return value


def _date(seg: Segment, n: int) -> date | None:
    raw = seg.get(n)
    if not raw:
        return None
    try:
        return parse_d8(raw)
    except ValueError:
        raise _error(seg, f"{seg.id}{n:02d} {raw[:20]!r} is not a date (CCYYMMDD)") from None


def _statuses(seg: Segment) -> list[Status]:
    """``STC*F1:65*20250502**185*98.4*...`` plus the triplets of STC10 and STC11."""
    effective = _date(seg, 2)
    charge = _number(seg, 4)
    out = []
    for n in (1, 10, 11):
        parts = seg.components(n)
        if not parts[0]:
            if n == 1:
                raise _error(seg, "STC01 (the status category) is empty")
            continue
        category, code, entity = ([*parts, "", ""])[:3]
        out.append(Status(category, code, entity, effective, seg.get(3), charge, seg.get(12)))
    return out


class _Reader:
    def __init__(self) -> None:
        self.response = Response277()
        self.levels: dict[str, str] = {}  # HL01 -> HL03
        self.level = ""
        self.payer = ""
        self.answer: StatusAnswer | None = None
        self.line: LineStatus | None = None

    def start_set(self) -> None:
        self.levels, self.level, self.answer, self.line = {}, "", None, None

    def hl(self, seg: Segment) -> None:
        number, parent, code = seg.get(1), seg.get(2), seg.get(3)
        if code not in _LEVELS:
            raise _error(seg, f"HL03 {code[:20]!r} is not a 277 level (20, 21, 19, 22 or 23)")
        if parent and parent not in self.levels:
            raise _error(seg, f"HL02 names parent {parent[:20]!r}, which no earlier HL has")
        if number in self.levels:
            raise _error(seg, f"HL01 {number[:20]!r} is used twice")
        self.levels[number] = code
        self.level, self.answer, self.line = code, None, None

    def segment(self, seg: Segment) -> None:
        sid = seg.id
        if sid == "HL":
            self.hl(seg)
        elif sid == "NM1":
            if seg.get(1) == "PR" and self.level == "20":
                self.payer = seg.get(3)
        elif sid == "TRN" and self.level in _CLAIM_LEVELS:
            self.trace(seg)
        elif sid == "STC" and self.answer is None:
            if self.level in _CLAIM_LEVELS or not self.level:
                raise _error(seg, "STC before the claim's TRN (no claim to give it to)")
            for s in _statuses(seg):
                self.response.request_statuses.append(
                    RequestStatus(_LEVELS[self.level], s, seg.position)
                )
        elif self.answer is not None:
            self.claim_segment(seg, self.answer)

    def trace(self, seg: Segment) -> None:
        trace = seg.get(2)
        if seg.get(1) != "2":
            raise _error(seg, f"TRN01 {seg.get(1)[:20]!r}: a 277 returns our trace as TRN*2")
        if not trace or len(trace) > 50:
            raise _error(seg, "TRN02 (our inquiry's trace) is empty or longer than 50")
        self.answer = StatusAnswer(trace=trace, payer_name=self.payer, position=seg.position)
        self.line = None
        self.response.answers.append(self.answer)

    def claim_segment(self, seg: Segment, answer: StatusAnswer) -> None:
        sid = seg.id
        if sid == "STC":
            found = _statuses(seg)
            if self.line is not None:
                self.line.statuses.extend(found)
                return
            if not answer.statuses:  # the first claim-level STC carries the money and dates
                answer.charge, answer.paid = _number(seg, 4), _number(seg, 5)
                answer.finalized, answer.remit_date = _date(seg, 6), _date(seg, 8)
                answer.remit_trace = seg.get(9)
            answer.statuses.extend(found)
        elif sid == "REF":
            q, value = seg.get(1), seg.get(2)
            if self.line is not None and q == "FJ":
                self.line.line_id = value
            elif q == "1K" and self.line is None:
                answer.payer_claim_number = value[:50]
            elif q == "EJ" and self.line is None:
                answer.claim_id = value[:50]
        elif sid == "SVC":
            self.line = LineStatus(procedure=seg.component(1, 2), charge=_number(seg, 2))
            answer.lines.append(self.line)
        elif sid == "DTP":
            raw = seg.get(3)
            for part in raw.split("-"):
                try:
                    parse_d8(part)
                except ValueError:
                    raise _error(seg, f"DTP03 {raw[:20]!r} is not a date or range") from None


def read_277(source: str | os.PathLike[str] | BinaryIO | bytes) -> Response277:
    """Every claim answer (and inquiry-level status) in every 277 transaction set."""
    reader = _Reader()
    in_277 = False
    for seg in X12Reader(source, strict=False):
        if seg.id == "ST":
            in_277 = seg.get(1) == "277"
            reader.start_set()
        elif seg.id in ("SE", "GE", "IEA", "GS", "ISA"):
            continue
        elif in_277:
            if seg.id not in ("BHT", "HL") and not reader.level:
                raise _error(seg, f"{seg.id} before the first HL: not a 277 this gateway reads")
            reader.segment(seg)
    return reader.response
