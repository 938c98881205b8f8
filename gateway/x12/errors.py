"""The one error type of the syntax layer.

Every problem the reader finds says where it is (segment index, byte offset, segment id) and what
is wrong, so a quarantined file can be fixed by a person.
"""

from __future__ import annotations


class X12SyntaxError(Exception):
    """Malformed X12: broken ISA, envelope counts that disagree, garbage or binary data."""

    def __init__(
        self,
        message: str,
        *,
        segment_index: int | None = None,
        offset: int | None = None,
        segment_id: str | None = None,
    ) -> None:
        self.message = message
        self.segment_index = segment_index
        self.offset = offset
        self.segment_id = segment_id
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.segment_index is not None:
            where.append(f"segment {self.segment_index}")
        if self.segment_id:
            where.append(self.segment_id)
        if self.offset is not None:
            where.append(f"byte {self.offset}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class X12ElementError(X12SyntaxError):
    """An element whose value is outside its limits: missing, too long, not a number.

    ``element`` names it the way the implementation guides do (``CLP01``, ``AK102``).
    """

    def __init__(self, message: str, *, element: str, segment_index: int | None = None) -> None:
        self.element = element
        super().__init__(message, segment_index=segment_index, segment_id=element[:-2] or None)
