"""999 implementation acknowledgments (005010X231A1): which groups and sets were accepted."""

from __future__ import annotations

import os
from typing import BinaryIO

from gateway.domain.acknowledgments import ElementError, GroupAck, SegmentError, SetAck
from gateway.x12.elements import control_number, identifier
from gateway.x12.reader import X12Reader

VERSION = "005010X231A1"


def _int(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() else 0


def read_999(source: str | os.PathLike[str] | BinaryIO | bytes) -> list[GroupAck]:
    """Every AK1 group in the file with its AK2 sets, IK3/IK4 errors and AK9 verdict."""
    groups: list[GroupAck] = []
    group: GroupAck | None = None
    ack: SetAck | None = None
    seg_error: SegmentError | None = None
    in_999 = False
    for seg in X12Reader(source, strict=False):
        sid = seg.id
        if sid == "ST":
            in_999 = seg.get(1) == "999"
            group = ack = seg_error = None
            continue
        if not in_999:
            continue
        if sid == "AK1":
            control_number(seg.get(2), "AK102", seg.position)  # names one of our groups (GS06)
            group = GroupAck(seg.get(1), seg.get(2), seg.get(3), position=seg.position)
            groups.append(group)
        elif sid == "AK2" and group is not None:
            identifier(seg.get(2), "AK202", seg.position, 9)  # one of our ST02s
            ack = SetAck(seg.get(1), seg.get(2), seg.get(3))
            group.sets.append(ack)
            seg_error = None
        elif sid == "IK3" and ack is not None:
            seg_error = SegmentError(seg.get(1), seg.get(2), seg.get(3), seg.get(4))
            ack.segment_errors.append(seg_error)
        elif sid == "CTX" and seg_error is not None:
            seg_error.context.append(seg.get(1))
        elif sid == "IK4" and seg_error is not None:
            seg_error.elements.append(ElementError(seg.get(1), seg.get(2), seg.get(3), seg.get(4)))
        elif sid == "IK5" and ack is not None:
            ack.status = seg.get(1)
            ack.codes = [c for c in seg.elements[2:7] if c]
            ack, seg_error = None, None
        elif sid == "AK9" and group is not None:
            group.status = seg.get(1)
            group.sets_included = _int(seg.get(2))
            group.sets_received = _int(seg.get(3))
            group.sets_accepted = _int(seg.get(4))
            group.codes = [c for c in seg.elements[5:10] if c]
    return groups
