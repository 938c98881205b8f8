"""Delimiters of an interchange, always read from its ISA, never assumed."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.x12.errors import X12SyntaxError

ISA_LENGTH = 106  # fixed width including the segment terminator
_ISA_ELEMENT_OFFSETS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Separators of one interchange; ``repetition`` is None for 4010 style ``U``."""

    element: str = "*"
    component: str = ":"
    repetition: str | None = "^"
    segment: str = "~"

    def all(self) -> str:
        return "".join(
            c for c in (self.element, self.component, self.repetition, self.segment) if c
        )


def parse_isa(
    text: str, offset: int = 0, *, strict: bool = True
) -> tuple[Delimiters, list[str], int]:
    """Read the ISA at the start of ``text``.

    Returns the delimiters, the ISA elements (``[\"ISA\", ISA01, ... ISA16]``) and the length of
    the ISA including its terminator. ``strict`` demands the fixed 106-character layout; otherwise
    an ISA with unpadded fields is accepted when its 16 elements can still be found.
    """
    if not text.startswith("ISA"):
        shown = text[:20].encode("latin-1", "replace")
        raise X12SyntaxError(f"expected an ISA segment, found {shown!r}", offset=offset)
    if len(text) < 4:
        raise X12SyntaxError("file ends inside the ISA segment", offset=offset, segment_id="ISA")
    elem = text[3]
    if elem.isalnum() or elem.isspace():
        raise X12SyntaxError(
            f"ISA element separator {elem!r} (byte {offset + 3}) is a letter, digit or space",
            offset=offset,
            segment_id="ISA",
        )
    fixed = len(text) >= ISA_LENGTH and all(text[i] == elem for i in _ISA_ELEMENT_OFFSETS)
    if fixed:
        length = ISA_LENGTH
    else:
        # Find the 16th separator: ISA16 is the single character after it, then the terminator.
        pos, count = 0, 0
        while count < 16:
            pos = text.find(elem, pos + 1)
            if pos < 0:
                raise X12SyntaxError(
                    "file ends inside the ISA segment (fewer than 16 elements)",
                    offset=offset,
                    segment_id="ISA",
                )
            count += 1
        length = pos + 3
        if len(text) < length:
            raise X12SyntaxError(
                "file ends inside the ISA segment", offset=offset, segment_id="ISA"
            )
        if strict:
            bad = next((i for i in _ISA_ELEMENT_OFFSETS if i >= len(text) or text[i] != elem), 3)
            raise X12SyntaxError(
                f"ISA is not fixed width: expected the element separator {elem!r} at byte "
                f"{offset + bad} (the ISA must be {ISA_LENGTH} characters long, this one is "
                f"{length})",
                offset=offset,
                segment_id="ISA",
            )
    component = text[length - 2]
    terminator = text[length - 1]
    elements = text[: length - 1].split(elem)
    if len(elements) != 17:
        raise X12SyntaxError(
            f"ISA has {len(elements) - 1} elements, expected 16", offset=offset, segment_id="ISA"
        )
    repetition: str | None = elements[11]
    if repetition == "U" or elements[12] < "00501":
        repetition = None  # 4010 style: ISA11 is the standards identifier, not a separator
    if terminator.isalnum() or terminator == " " or terminator in (elem, component):
        raise X12SyntaxError(
            f"ISA segment terminator {terminator!r} (byte {offset + length - 1}) is not a "
            "usable delimiter",
            offset=offset,
            segment_id="ISA",
        )
    if component.isalnum() or component in (elem, " "):
        raise X12SyntaxError(
            f"ISA16 component separator {component!r} is not a usable delimiter",
            offset=offset,
            segment_id="ISA",
        )
    control = elements[13]
    if strict and not (len(control) == 9 and control.isdigit()):
        raise X12SyntaxError(
            f"ISA13 interchange control number {control!r} is not 9 digits",
            offset=offset,
            segment_id="ISA",
        )
    return Delimiters(elem, component, repetition, terminator), elements, length
