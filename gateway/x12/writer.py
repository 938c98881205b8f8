"""X12 writer: envelopes with counts computed from what was written, fixed-width ISA.

Control numbers come from the caller (the ledger reserves them); the writer never invents one.
Every element passes through :func:`gateway.x12.values.safe_text`, so no value can carry a
delimiter into the output.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TextIO

from gateway.x12.delimiters import Delimiters
from gateway.x12.values import _unsafe_pattern, safe_text

Element = str | None | Sequence[str | None]
_FLUSH_EVERY = 4096


class X12Writer:
    """Write interchanges to a text stream.

    >>> w = X12Writer(out)
    >>> with w.interchange(...), w.group(...), w.transaction("837", "0001", "005010X222A1"):
    ...     w.segment("BHT", "0019", "00", "BATCH1", "20250310", "1200", "CH")
    """

    def __init__(
        self, out: TextIO, *, delimiters: Delimiters | None = None, line_breaks: bool = False
    ) -> None:
        self.out = out
        self.delimiters = delimiters or Delimiters()
        if self.delimiters.repetition is None:
            raise ValueError("a 5010 interchange needs a repetition separator")
        self._term = self.delimiters.segment + ("\n" if line_breaks else "")
        self._pending: list[str] = []
        self._unsafe = _unsafe_pattern(self.delimiters)
        self._groups = 0
        self._sets = 0
        self._set_segments = 0
        self.segments_written = 0

    # -- segments ---------------------------------------------------------------------------
    def segment(self, sid: str, *elements: Element) -> None:
        """Write one segment; trailing empty elements and components are dropped."""
        d = self.delimiters
        unsafe = self._unsafe
        parts = [sid]
        for e in elements:
            if e is None:
                parts.append("")
            elif isinstance(e, str):
                parts.append(e if unsafe.search(e) is None else safe_text(e, d))
            else:
                comps = [
                    "" if c is None else (c if unsafe.search(c) is None else safe_text(c, d))
                    for c in e
                ]
                while comps and not comps[-1]:
                    comps.pop()
                parts.append(d.component.join(comps))
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        self._emit(d.element.join(parts))
        self._set_segments += 1

    def _emit(self, text: str) -> None:
        pending = self._pending
        pending.append(text)
        self.segments_written += 1
        if len(pending) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            term = self._term
            self.out.write(term.join(self._pending) + term)
            self._pending.clear()

    # -- envelopes --------------------------------------------------------------------------
    @contextmanager
    def interchange(
        self,
        *,
        sender_qualifier: str,
        sender_id: str,
        receiver_qualifier: str,
        receiver_id: str,
        control_number: int,
        usage: str = "T",
        ack_requested: bool = False,
        when: datetime,
    ) -> Iterator[None]:
        """ISA ... IEA with IEA01 counted from the groups written inside."""
        if not 0 < control_number <= 999_999_999:
            raise ValueError(f"interchange control number {control_number} is not 1-999999999")
        if usage not in ("T", "P"):
            raise ValueError(f"ISA15 usage must be T or P, not {usage!r}")
        d = self.delimiters
        control = f"{control_number:09d}"
        fields = [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            _fixed(sender_qualifier, 2),
            _fixed(sender_id, 15),
            _fixed(receiver_qualifier, 2),
            _fixed(receiver_id, 15),
            when.strftime("%y%m%d"),
            when.strftime("%H%M"),
            d.repetition or "^",
            "00501",
            control,
            "1" if ack_requested else "0",
            usage,
            d.component,
        ]
        self._emit(d.element.join(fields))
        self._groups = 0
        yield
        self._emit(d.element.join(("IEA", str(self._groups), control)))
        self.flush()

    @contextmanager
    def group(
        self,
        *,
        functional_id: str,
        sender: str,
        receiver: str,
        control_number: int,
        version: str,
        when: datetime,
    ) -> Iterator[None]:
        """GS ... GE with GE01 counted from the transaction sets written inside."""
        d = self.delimiters
        self._emit(
            d.element.join(
                (
                    "GS",
                    functional_id,
                    safe_text(sender, d),
                    safe_text(receiver, d),
                    when.strftime("%Y%m%d"),
                    when.strftime("%H%M"),
                    str(control_number),
                    "X",
                    version,
                )
            )
        )
        self._groups += 1
        self._sets = 0
        yield
        self._emit(d.element.join(("GE", str(self._sets), str(control_number))))

    @contextmanager
    def transaction(self, set_id: str, control: str, version: str | None) -> Iterator[None]:
        """ST ... SE with SE01 counted from the segments written, ST and SE included."""
        self._set_segments = 0
        self.segment("ST", set_id, control, version)
        self._sets += 1
        yield
        self.segment("SE", str(self._set_segments + 1), control)


def _fixed(value: str, width: int) -> str:
    if len(value) > width:
        raise ValueError(f"ISA value {value!r} is longer than {width} characters")
    return value.ljust(width)
