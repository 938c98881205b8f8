"""271 eligibility responses (005010X279A1) into :class:`Response271` objects.

The HL tree runs information source (20) → receiver (21) → subscriber (22) → dependent (23).
An answer is the level that carries our trace number back (``TRN*2``): the subscriber, or the
dependent when the question was about one. Each EB starts a benefit row that collects the
HSD, REF, DTP, AAA, MSG and 2120 (LS ... LE) segments after it. AAA segments above the
subscriber (payer or provider refused the whole inquiry) are passed on to every answer under
them, or kept on the transaction set when no subscriber follows.

A 271 that cannot be read as one (a benefit before any subscriber, an HL naming a parent that
does not exist, an amount that is not a number) raises :class:`Eligibility271Error` with the
segment position: the daemon quarantines the file, nothing of it is applied.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from gateway.domain.eligibility_answer import (
    BenefitRow,
    DatedFact,
    Delivery,
    EligibilityAnswer,
    Member,
    Name,
    Reference,
    RelatedEntity,
    RequestRejection,
    Response271,
)
from gateway.x12.errors import X12SyntaxError
from gateway.x12.reader import Segment, X12Reader
from gateway.x12.values import parse_d8

VERSION = "005010X279A1"
_LEVEL_NAMES = {"20": "payer", "21": "provider", "22": "subscriber", "23": "dependent"}


class Eligibility271Error(X12SyntaxError):
    """A 271 whose structure or values cannot be read; names the segment position."""


def _error(seg: Segment, message: str) -> Eligibility271Error:
    return Eligibility271Error(message, segment_index=seg.position, segment_id=seg.id)


def _name(seg: Segment) -> Name:
    return Name(seg.get(1), seg.get(3), seg.get(4), seg.get(5), seg.get(7), seg.get(8),
                seg.get(9))  # fmt: skip


def _number(seg: Segment, n: int) -> Decimal | None:
    text = seg.get(n)
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise _error(seg, f"{seg.id}{n:02d} {text[:20]!r} is not a number") from None


def _dates(seg: Segment) -> DatedFact:
    """``DTP*346*D8*20250101`` or ``DTP*291*RD8*20250101-20251231``; a bad date stays raw."""
    raw = seg.get(3)
    start_text, _, end_text = raw.partition("-")
    try:
        start: date | None = parse_d8(start_text)
        end: date | None = parse_d8(end_text) if end_text else start
    except ValueError:
        start = end = None
    return DatedFact(seg.get(1), start, end, raw)


def _rejection(seg: Segment, level: str) -> RequestRejection:
    return RequestRejection(seg.get(1), seg.get(3), seg.get(4), level, seg.position)


@dataclass(slots=True)
class _Level:
    """One HL while its transaction set is read."""

    code: str
    parent: _Level | None
    position: int
    name: Name | None = None
    member: Member | None = None
    trace: str = ""
    payer_traces: list[str] = field(default_factory=list)
    rejections: list[RequestRejection] = field(default_factory=list)  # 2000A/2100A/2100B AAA
    benefits: list[BenefitRow] = field(default_factory=list)
    children: int = 0

    def up(self, code: str) -> _Level | None:
        level: _Level | None = self
        while level is not None and level.code != code:
            level = level.parent
        return level


class _SetReader:
    """Reads the segments of one 271 transaction set."""

    def __init__(self, st: Segment) -> None:
        self.response = Response271(reference="", control=st.get(2), position=st.position)
        self.levels: dict[str, _Level] = {}
        self.order: list[_Level] = []
        self.level: _Level | None = None
        self.row: BenefitRow | None = None
        self.entity: RelatedEntity | None = None  # inside LS ... LE

    def segment(self, seg: Segment) -> None:
        sid = seg.id
        if sid == "BHT":
            self.response.reference = seg.get(3)
        elif sid == "HL":
            self._hl(seg)
        elif self.level is None:
            if sid not in ("ST", "SE"):
                raise _error(seg, f"{sid} before the first HL: not a 271 this gateway can read")
        elif self.entity is not None and sid != "LE":
            self._entity(seg)
        elif sid == "LS":
            self.entity = RelatedEntity()
            self._benefit_row(seg).entities.append(self.entity)
        elif sid == "LE":
            self.entity = None
        elif sid == "EB":
            self._eb(seg)
        elif self.row is not None or sid in ("HSD", "MSG", "III"):
            self._row_segment(seg)  # outside a benefit these are refused there
        else:
            self._level_segment(seg, self.level)

    # -- levels -----------------------------------------------------------------------------
    def _hl(self, seg: Segment) -> None:
        number, parent_id, code = seg.get(1), seg.get(2), seg.get(3)
        if code not in _LEVEL_NAMES:
            raise _error(seg, f"HL03 {code!r} is not a 271 level (20, 21, 22 or 23)")
        parent = self.levels.get(parent_id) if parent_id else None
        if parent_id and parent is None:
            raise _error(seg, f"HL02 names parent {parent_id!r}, which no earlier HL has")
        if number in self.levels:
            raise _error(seg, f"HL01 {number!r} is used twice")
        level = _Level(code, parent, seg.position)
        if parent is not None:
            parent.children += 1
        self.levels[number] = level
        self.order.append(level)
        self.level, self.row, self.entity = level, None, None

    def _level_segment(self, seg: Segment, level: _Level) -> None:
        sid, member = seg.id, level.member
        if sid == "NM1":
            level.name = _name(seg)
            if level.code in ("22", "23"):
                level.member = Member(level.name)
        elif sid == "TRN":
            if seg.get(1) == "2":
                if not seg.get(2):
                    raise _error(seg, "TRN02 (our trace number) is empty")
                level.trace = seg.get(2)
            elif seg.get(2):
                level.payer_traces.append(seg.get(2))
        elif sid == "AAA":
            rejection = _rejection(seg, _LEVEL_NAMES[level.code])
            (member.rejections if member is not None else level.rejections).append(rejection)
        elif member is None:
            return  # PER of the payer, REF/N3/N4/PRV of the provider: not needed
        elif sid == "REF":
            member.references.append(Reference(seg.get(1), seg.get(2), seg.get(3)))
        elif sid == "N3":
            member.address_lines.extend(v for v in (seg.get(1), seg.get(2)) if v)
        elif sid == "N4":
            member.city, member.state, member.zip = seg.get(1), seg.get(2), seg.get(3)
        elif sid == "DMG":
            member.sex = seg.get(3)
            if seg.get(2):
                try:
                    member.birth_date = parse_d8(seg.get(2))
                except ValueError:
                    raise _error(seg, f"DMG02 {seg.get(2)[:20]!r} is not a date") from None
        elif sid == "INS":
            member.relationship = seg.get(2)
        elif sid == "DTP":
            member.dates.append(_dates(seg))

    # -- benefits ---------------------------------------------------------------------------
    def _benefit_row(self, seg: Segment) -> BenefitRow:
        if self.row is None:
            raise _error(seg, f"{seg.id} outside a benefit (no EB before it)")
        return self.row

    def _eb(self, seg: Segment) -> None:
        level = self.level
        assert level is not None
        if level.code not in ("22", "23") or level.member is None:
            raise _error(seg, "EB before the subscriber or dependent it is about (no NM1)")
        if not seg.get(1):
            raise _error(seg, "EB01 is required but empty")
        services = [s for s in seg.repeats(3) if s]
        row = BenefitRow(
            position=seg.position, kind=seg.get(1), coverage_level=seg.get(2),
            service_types=services, insurance_type=seg.get(4), plan_name=seg.get(5),
            period=seg.get(6), amount=_number(seg, 7), percent=_number(seg, 8),
            quantity_qualifier=seg.get(9), quantity=_number(seg, 10), authorization=seg.get(11),
            network=seg.get(12), procedure=[c for c in seg.components(13) if c],
        )  # fmt: skip
        level.benefits.append(row)
        self.row = row

    def _row_segment(self, seg: Segment) -> None:
        row, sid = self._benefit_row(seg), seg.id
        if sid == "HSD":
            row.deliveries.append(Delivery(
                seg.get(1), _number(seg, 2), seg.get(3), _number(seg, 4), seg.get(5),
                _number(seg, 6), seg.get(7), seg.get(8),
            ))  # fmt: skip
        elif sid == "REF":
            row.references.append(Reference(seg.get(1), seg.get(2), seg.get(3)))
        elif sid == "DTP":
            row.dates.append(_dates(seg))
        elif sid == "AAA":
            row.rejections.append(_rejection(seg, "benefit"))
        elif sid == "MSG" and seg.get(1):
            row.messages.append(seg.get(1))
        # III (place of service, nature of injury) is not carried into the record

    def _entity(self, seg: Segment) -> None:
        entity = self.entity
        assert entity is not None
        if seg.id == "NM1":
            entity.name = _name(seg)
        elif seg.id == "PER":
            entity.contact.extend(v for v in seg.elements[4::2] if v)

    # -- the answers ------------------------------------------------------------------------
    def finish(self) -> Response271:
        """One answer per level that carries our trace, or that is a leaf subscriber."""
        response = self.response
        for level in self.order:
            if level.code not in ("22", "23") or level.member is None:
                continue
            if level.code == "22" and not level.trace and level.children and not level.benefits:
                continue  # the question was about a dependent below
            answer = self._answer(level)
            if answer is not None:
                response.answers.append(answer)
        if not response.answers:
            for level in self.order:
                response.rejections.extend(level.rejections)
        return response

    def _answer(self, level: _Level) -> EligibilityAnswer | None:
        source, receiver = level.up("20"), level.up("21")
        subscriber_level = level.up("22")
        if source is None or source.name is None or subscriber_level is None:
            return None
        subscriber = subscriber_level.member
        if subscriber is None:  # a dependent below a subscriber level without its NM1
            raise Eligibility271Error(
                "HL 22 (subscriber) has no NM1, so whose dependent the HL 23 below it is "
                "cannot be told", segment_index=subscriber_level.position, segment_id="HL",
            )  # fmt: skip
        assert level.member is not None  # finish() asks only about levels with their NM1
        inherited = [r for lv in (source, receiver) if lv is not None for r in lv.rejections]
        answer = EligibilityAnswer(
            trace=level.trace, position=level.position, payer=source.name,
            provider=receiver.name if receiver is not None else None, subscriber=subscriber,
            dependent=level.member if level.code == "23" else None,
            payer_traces=list(level.payer_traces), rejections=inherited,
        )  # fmt: skip
        answer.benefits.extend(level.benefits)
        return answer


def read_271(source: str | os.PathLike[str] | BinaryIO | bytes) -> list[Response271]:
    """Every 271 transaction set in ``source`` (other sets are skipped)."""
    responses: list[Response271] = []
    reader: _SetReader | None = None
    for seg in X12Reader(source, strict=False):
        if seg.id == "ST":
            reader = _SetReader(seg) if seg.get(1) == "271" else None
        elif reader is None:
            continue
        elif seg.id == "SE":
            responses.append(reader.finish())
            reader = None
        else:
            reader.segment(seg)
    return responses
