"""What a file from a partner is, by its content (never by its name)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.x12.errors import X12SyntaxError
from gateway.x12.reader import X12Reader

REPLY_KINDS = ("TA1", "999", "277CA", "835", "271", "277")
STATUS_RESPONSE = "005010X212"  # GS08 of a 277 claim status response (a 277CA says X214)


@dataclass(frozen=True)
class Recognized:
    kind: str | None  # one of REPLY_KINDS, or None: not something the gateway takes
    reason: str = ""  # why not, in a sentence
    position: int | None = None  # segment position of the fault, when there is one


_BY_GROUP = {("FA", "999"): "999", ("HN", "277"): "277CA", ("HP", "835"): "835",
             ("HB", "271"): "271"}  # fmt: skip


def recognize(path: Path) -> Recognized:
    """TA1, 999, 277CA, 835, 271 or 277, from the first segments of the file."""
    with path.open("rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"ISA"):
        return Recognized(None, "not an X12 file (it does not start with an ISA segment)", 1)
    group = version = ""
    try:
        for segment in X12Reader(path, strict=False):
            if segment.id == "TA1" and not group:
                return Recognized("TA1")
            if segment.id == "GS":
                group, version = segment.get(1), segment.get(8)
            elif segment.id == "ST":
                found = _BY_GROUP.get((group, segment.get(1)))
                if found == "277CA" and STATUS_RESPONSE in (version, segment.get(3)):
                    found = "277"
                if found:
                    return Recognized(found)
                what = {"837": "an 837 claim file", "997": "a 997 (ask for 999)"}.get(
                    segment.get(1), f"transaction set {segment.get(1)!r} in group {group!r}"
                )
                return Recognized(None, f"{what}: not a reply the gateway takes", segment.position)
    except X12SyntaxError as exc:
        return Recognized(None, f"broken X12: {exc}", exc.segment_index)
    return Recognized(None, "an X12 interchange with no transaction set and no TA1", None)
