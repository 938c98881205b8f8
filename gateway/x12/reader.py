"""Streaming X12 reader: segments with their position, envelopes checked on the way.

The file is read in chunks and decoded as Latin-1, so a character index is a byte offset; a
segment holding other bytes is re-decoded as UTF-8 when it is valid UTF-8. Delimiters are taken
from each ISA (a file may hold several interchanges with different delimiters). Nothing but the
current chunk is held in memory.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from gateway.x12.delimiters import ISA_LENGTH, Delimiters, parse_isa
from gateway.x12.errors import X12SyntaxError

CHUNK_SIZE = 1 << 18  # 256 KiB: big enough to amortize, small enough to stay flat
MAX_SEGMENT = 1 << 20  # a "segment" longer than this is garbage, not X12
_BOM = "\xef\xbb\xbf"  # UTF-8 byte order mark, as Latin-1 text
_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1"})
_WHITESPACE = " \t\r\n\x0b\x0c"


class Segment(NamedTuple):
    """One segment. ``elements[0]`` is the id, so ``elements[n]`` is element n (CLP01 = [1]).

    ``position`` counts segments from 1 (the first ISA) across the whole file; ``offset`` is the
    byte offset of the segment's first character.
    """

    position: int
    offset: int
    elements: list[str]
    delimiters: Delimiters

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, n: int) -> str:
        """Element n, or "" when the segment is shorter."""
        els = self.elements
        return els[n] if n < len(els) else ""

    def components(self, n: int) -> list[str]:
        """Element n split into its components (an empty element gives ``[""]``)."""
        return self.get(n).split(self.delimiters.component)

    def component(self, n: int, c: int) -> str:
        """Component c (1-based) of element n, or ""."""
        parts = self.components(n)
        return parts[c - 1] if c <= len(parts) else ""

    def repeats(self, n: int) -> list[str]:
        """Element n split on the repetition separator."""
        rep = self.delimiters.repetition
        value = self.get(n)
        return value.split(rep) if rep else [value]


_new = tuple.__new__  # builds a Segment without NamedTuple's Python-level __new__


def _plain_split(block: str, term: str) -> tuple[list[str], int, int] | None:
    """Split a block of whole segments fast when nothing needs cleaning.

    That is when it is ASCII and its only white space is one fixed line break after every
    terminator (``~``, ``~\\n`` or ``~\\r\\n``), the common shapes. Returns the segments, the
    distance from one segment to the next beyond its length, and the length of a line break
    at the block's start; None sends the block through the careful path.
    """
    if not block.isascii() or "\t" in block or "\x0b" in block or "\x0c" in block:
        return None
    first = block.find(term)
    after = block[first + 1 : first + 3] if first >= 0 else ""
    if after == "\r\n":
        sep = term + "\r\n"
    elif after[:1] == "\n" and term != "\n":
        sep = term + "\n"
    else:
        sep = term
    suffix = sep[1:]
    lead = len(suffix) if suffix and block.startswith(suffix) else 0
    body = block[lead:] if lead else block
    pieces = body.split(sep)
    gaps = len(pieces) - 1
    if (
        body.count(term) != gaps
        or body.count("\n") != sep.count("\n") * gaps
        or body.count("\r") != sep.count("\r") * gaps
    ):
        return None
    if body[:1] == " " or body[-1:] == " " or sep + " " in body or " " + term in body:
        return None
    return pieces, len(sep), lead


def _quoted(els: list[str], n: int) -> str:
    """Element n quoted for a message, or '(missing)'."""
    return repr(els[n] if len(els) > n else "(missing)")


def _fix_text(text: str) -> str:
    """Re-decode a Latin-1 decoded segment as UTF-8 when its bytes are UTF-8."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return text


class X12Reader:
    """Iterate over the segments of an X12 file.

    ``strict`` (the default) raises :class:`X12SyntaxError` on any envelope fault. With
    ``strict=False``, trailer counts and control numbers that disagree, an ISA that is not fixed
    width and an unterminated last segment are recorded in :attr:`problems` and reading goes on;
    a broken structure (ST outside a group, no IEA, garbage) still raises.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO | bytes,
        *,
        strict: bool = True,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self._source = source
        self.strict = strict
        self.chunk_size = chunk_size
        self.problems: list[X12SyntaxError] = []
        self.delimiters: Delimiters | None = None
        self.interchanges = 0

    # -- envelope state -------------------------------------------------------------------
    def _problem(self, error: X12SyntaxError) -> None:
        if self.strict:
            raise error
        self.problems.append(error)

    def _trailer(
        self,
        els: list[str],
        index: int,
        offset: int,
        count: int,
        counted: str,
        owner: str,
        opener: str,
        control: str | None,
    ) -> None:
        """An SE, GE or IEA checked against what it closes: its count (element 1) of
        ``counted`` in ``owner``, and its control number (element 2) against ``opener``'s."""
        sid = els[0]
        if els[1:2] != [str(count)]:
            said = els[1] if len(els) > 1 else "(missing)"
            self._problem(X12SyntaxError(
                f"{sid}01 says {said} {counted} but {owner} has {count}",
                segment_index=index, offset=offset, segment_id=sid,
            ))  # fmt: skip
        if els[2:3] != [control]:
            self._problem(X12SyntaxError(
                f"{sid}02 {_quoted(els, 2)} does not match {opener} {control!r}",
                segment_index=index, offset=offset, segment_id=sid,
            ))  # fmt: skip

    def _isa(self, buf: str, base: int) -> tuple[Delimiters, list[str], int]:
        """Parse the ISA at the start of ``buf``; also one wrapped over several lines."""
        head = buf[: ISA_LENGTH - 1]  # the ISA without its terminator
        if "\n" in head or "\r" in head:
            clean = buf[:512].replace("\r", "").replace("\n", "")
            delims, isa, length = self._isa(clean, base)
            if delims.segment in "\r\n":
                return delims, isa, length
            kept = 0
            for raw_len, ch in enumerate(buf, 1):
                if ch not in "\r\n":
                    kept += 1
                    if kept == length:
                        return delims, isa, raw_len
        try:
            return parse_isa(buf, base, strict=True)
        except X12SyntaxError as exc:
            lenient = "not fixed width" in exc.message or "9 digits" in exc.message
            if self.strict or not lenient:
                raise
            self.problems.append(exc)
            return parse_isa(buf, base, strict=False)

    def _open(self) -> tuple[BinaryIO, bool]:
        src = self._source
        if isinstance(src, bytes):
            return io.BytesIO(src), True
        if isinstance(src, (str, os.PathLike)):
            return open(src, "rb"), True
        return src, False

    def __iter__(self) -> Iterator[Segment]:
        f, owned = self._open()
        try:
            yield from self._segments(f)  # type: ignore[misc]
        finally:
            if owned:
                f.close()

    def element_lists(self) -> Iterator[list[str]]:
        """The segments as bare element lists, for hot loops (same checks, no Segment objects).

        The n-th list is segment position n; :attr:`delimiters` is the current interchange's.
        """
        f, owned = self._open()
        return self._segments(f, raw_lists=True, owned=owned)  # type: ignore[return-value]

    def _segments(
        self, f: BinaryIO, raw_lists: bool = False, owned: bool = False
    ) -> Iterator[Segment | list[str]]:
        """The segments of ``f`` (closed at the end when ``owned``), one generator frame."""
        try:
            chunk_size = self.chunk_size
            buf = ""
            base = 0  # byte offset of buf[0] in the file
            eof = False
            index = 0
            first = True
            known_ids: set[str] = set()

            def more() -> bool:
                nonlocal buf, eof
                if eof:
                    return False
                data = f.read(chunk_size)
                if not data:
                    eof = True
                    return False
                text = data.decode("latin-1")
                if "\x00" in text:
                    raise X12SyntaxError(
                        "binary data (NUL byte): this is not an X12 file",
                        offset=base + len(buf) + text.index("\x00"),
                    )
                buf += text
                return True

            while True:
                # -- between interchanges: skip white space, expect ISA or the end ---------------
                while True:
                    if first and buf.startswith(_BOM):
                        buf, base = buf[3:], base + 3
                    stripped = buf.lstrip(_WHITESPACE)
                    base += len(buf) - len(stripped)
                    buf = stripped
                    if len(buf) >= ISA_LENGTH + 1 or (eof and buf) or not more():
                        break
                if not buf:
                    if first:
                        raise X12SyntaxError("the file is empty: no ISA segment", offset=base)
                    return
                first = False
                delims, isa, isa_len = self._isa(buf, base)
                self.delimiters = delims
                self.interchanges += 1
                index += 1
                yield isa if raw_lists else Segment(index, base, isa, delims)
                isa_control = isa[13]
                isa_offset = base
                isa_index = index
                groups = 0
                group: Segment | None = None
                group_sets = 0
                st: Segment | None = None
                elem, term = delims.element, delims.segment
                pos = isa_len
                closed = False
                while not closed:
                    end = buf.rfind(term)
                    if end < pos:
                        if len(buf) - pos > MAX_SEGMENT:
                            raise X12SyntaxError(
                                f"no segment terminator {term!r} within {MAX_SEGMENT} bytes: "
                                "this is not X12 data",
                                offset=base + pos,
                            )
                        if more():
                            continue
                        tail = buf[pos:].strip(_WHITESPACE)
                        if not tail:
                            raise X12SyntaxError(
                                f"file ends inside interchange {isa_control}: no IEA segment",
                                segment_index=isa_index,
                                offset=isa_offset,
                                segment_id="ISA",
                            )
                        self._problem(
                            X12SyntaxError(
                                f"last segment is not terminated by {term!r}",
                                segment_index=index + 1,
                                offset=base + pos,
                            )
                        )
                        buf += term
                        end = len(buf) - 1
                    block = buf[pos:end]
                    cursor = base + pos
                    plain = _plain_split(block, term)
                    if plain is not None:
                        pieces, step, lead = plain
                        cursor += lead
                    else:
                        pieces, step = block.split(term), 1
                    has_breaks = term not in "\r\n" and ("\n" in block or "\r" in block)
                    # A plain block read as element lists (the 835 path) takes the quick loop:
                    # a segment's offset is only needed for the envelope and for errors, so it
                    # is summed up to that segment when one comes (``done`` pieces so far).
                    quick = raw_lists and plain is not None
                    before, empty, done = index, 0, 0
                    for raw in pieces:
                        if quick:
                            els = raw.split(elem)
                            index += 1
                            if st is not None and els[0] in known_ids:  # the common case
                                yield els
                                continue
                            k = index - before - 1 + empty  # the pieces before this one
                            cursor += sum(map(len, pieces[done:k])) + step * (k - done)
                            done = k + 1
                            start = offset = cursor
                            cursor += len(raw) + step
                            if not raw:
                                index -= 1
                                empty += 1
                                continue
                            s, sid = raw, els[0]
                        else:
                            start = offset = cursor
                            cursor += len(raw) + step
                            if plain is not None:
                                if not raw:
                                    continue
                                s = raw
                            else:
                                s = raw.strip(_WHITESPACE)
                                if not s:
                                    continue
                                if len(s) != len(raw) and raw[0] in _WHITESPACE:
                                    offset += len(raw) - len(raw.lstrip(_WHITESPACE))
                                if has_breaks and ("\n" in s or "\r" in s):
                                    s = s.replace("\r", "").replace("\n", "")
                                if not s.isascii():
                                    s = _fix_text(s)
                            els = s.split(elem)
                            sid = els[0]
                            index += 1
                            if st is not None and sid in known_ids:  # the common case
                                yield (
                                    els
                                    if raw_lists
                                    else _new(Segment, (index, offset, els, delims))
                                )
                                continue
                        if sid in _ENVELOPE:
                            if sid == "ST":
                                if group is None or st is not None:
                                    open_set = st.get(2) if st else ""
                                    what = (
                                        "outside a functional group (no GS)"
                                        if group is None
                                        else f"before the SE of transaction set {open_set}"
                                    )
                                    raise X12SyntaxError(
                                        f"ST {what}",
                                        segment_index=index,
                                        offset=offset,
                                        segment_id="ST",
                                    )
                                st = Segment(index, offset, els, delims)
                                group_sets += 1
                            elif sid == "SE":
                                if st is None:
                                    raise X12SyntaxError(
                                        "SE without a matching ST",
                                        segment_index=index,
                                        offset=offset,
                                        segment_id="SE",
                                    )
                                self._trailer(
                                    els,
                                    index,
                                    offset,
                                    index - st.position + 1,
                                    "segments",
                                    f"transaction set {st.get(2)}",
                                    "ST02",
                                    st.get(2),
                                )
                                st = None
                            elif st is not None:
                                raise X12SyntaxError(
                                    f"{sid} inside transaction set {st.get(2)}: its SE is missing",
                                    segment_index=index,
                                    offset=offset,
                                    segment_id=sid,
                                )
                            elif sid == "GS":
                                if group is not None:
                                    raise X12SyntaxError(
                                        f"GS before the GE of group {group.get(6)}",
                                        segment_index=index,
                                        offset=offset,
                                        segment_id="GS",
                                    )
                                group = Segment(index, offset, els, delims)
                                group_sets = 0
                                groups += 1
                            elif sid == "GE":
                                if group is None:
                                    raise X12SyntaxError(
                                        "GE without a matching GS",
                                        segment_index=index,
                                        offset=offset,
                                        segment_id="GE",
                                    )
                                self._trailer(
                                    els,
                                    index,
                                    offset,
                                    group_sets,
                                    "transaction sets",
                                    f"group {group.get(6)}",
                                    "GS06",
                                    group.get(6),
                                )
                                group = None
                            elif sid == "IEA":
                                if group is not None:
                                    raise X12SyntaxError(
                                        f"IEA before the GE of group {group.get(6)}",
                                        segment_index=index,
                                        offset=offset,
                                        segment_id="IEA",
                                    )
                                self._trailer(
                                    els,
                                    index,
                                    offset,
                                    groups,
                                    "functional groups",
                                    f"interchange {isa_control}",
                                    "ISA13",
                                    isa_control,
                                )
                                closed = True
                                consumed = start + len(raw) + 1 - base  # just past the IEA
                                yield (
                                    els
                                    if raw_lists
                                    else _new(Segment, (index, offset, els, delims))
                                )
                                break
                            elif sid == "ISA":
                                raise X12SyntaxError(
                                    f"ISA inside interchange {isa_control}: its IEA is missing",
                                    segment_index=index,
                                    offset=offset,
                                    segment_id="ISA",
                                )
                        elif st is None and not (sid == "TA1" and group is None):
                            if not (2 <= len(sid) <= 3 and sid.isalnum()):
                                raise X12SyntaxError(
                                    f"not a segment: {s[:30]!r}", segment_index=index, offset=offset
                                )
                            raise X12SyntaxError(
                                f"{sid} outside a transaction set (no ST before it)",
                                segment_index=index,
                                offset=offset,
                                segment_id=sid,
                            )
                        elif sid not in known_ids:
                            if not (2 <= len(sid) <= 3 and sid.isalnum() and sid.isupper()):
                                raise X12SyntaxError(
                                    f"invalid segment id {sid[:10]!r}",
                                    segment_index=index,
                                    offset=offset,
                                )
                            known_ids.add(sid)
                        yield els if raw_lists else _new(Segment, (index, offset, els, delims))
                    else:
                        consumed = end + 1
                    buf = buf[consumed:]
                    base += consumed
                    pos = 0
        finally:
            if owned:
                f.close()


def read_segments(
    source: str | os.PathLike[str] | BinaryIO | bytes, *, strict: bool = True
) -> Iterator[Segment]:
    """Shorthand for ``iter(X12Reader(source, strict=strict))``."""
    return iter(X12Reader(source, strict=strict))
