"""X12 syntax layer: read and write segments and envelopes; knows no transaction set."""

from gateway.x12.delimiters import Delimiters
from gateway.x12.errors import X12SyntaxError
from gateway.x12.reader import Segment, X12Reader, read_segments
from gateway.x12.writer import X12Writer

__all__ = ["Delimiters", "Segment", "X12Reader", "X12SyntaxError", "X12Writer", "read_segments"]
