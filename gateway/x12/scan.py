"""A light look ahead in an X12 file: one element of every segment of one id, in file order.

It checks nothing and never raises on bad content (it just stops finding), so it serves only
as a hint beside the real reader: the 835 posting uses it to fetch the ledger's claims a few
hundred at a time ahead of the claims the reader reaches. The file is read in chunks; nothing
but the current chunk is held.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from gateway.x12.delimiters import parse_isa
from gateway.x12.errors import X12SyntaxError
from gateway.x12.reader import CHUNK_SIZE


def element_values(
    path: str | os.PathLike[str], segment_id: str, position: int, chunk_size: int = CHUNK_SIZE
) -> Iterator[str]:
    """Element ``position`` of every ``segment_id`` segment (delimiters of the first ISA)."""
    with open(path, "rb") as f:
        head = f.read(max(chunk_size, 4096)).decode("latin-1")  # the whole ISA
        try:
            delimiters, _, _ = parse_isa(head.lstrip("\ufeff\xef\xbb\xbf \t\r\n"), strict=False)
        except X12SyntaxError:
            return
        elem, term = re.escape(delimiters.element), re.escape(delimiters.segment)
        pattern = re.compile(
            rf"{term}\s*{re.escape(segment_id)}{elem}((?:[^{elem}{term}]*{elem}){{{position - 1}}}"
            rf"[^{elem}{term}]*)"
        )
        buffer = head
        while True:
            more = f.read(chunk_size).decode("latin-1")
            end = buffer.rfind(delimiters.segment) if more else len(buffer)
            if end > 0:  # whole segments up to the last terminator; the rest waits for more
                for found in pattern.finditer(buffer, 0, end):
                    yield found.group(1).rsplit(delimiters.element, 1)[-1]
                buffer = buffer[end:]
            if not more:
                return
            buffer += more
