"""A payer's answer to the gateway's 276s, for daemon tests: one 277 (005010X212) per 276,
``P1:20`` (in process) for the claims it sits on, ``F1:65`` (paid) for every other one."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from gateway.transactions.status_276_reader import AskedClaim, read_276
from gateway.x12.writer import X12Writer
from tests.daemon.payer import _interchange


def answer_276(path: Path, *, control: int, pending: Collection[str]) -> tuple[str, list[str]]:
    """The 277 answering the 276 at ``path``, and the claim ids it answered."""
    asked = read_276(path)

    def body(w: X12Writer) -> None:
        with w.transaction("277", "0001", "005010X212"):
            w.segment("BHT", "0010", "08", f"ST{control}", "20261127", "0900", "DG")
            w.segment("HL", "1", None, "20", "1")
            w.segment("NM1", "PR", "2", "ACME HEALTH", None, None, None, None, "PI", "87726")
            w.segment("HL", "2", "1", "21", "1")
            w.segment("NM1", "41", "2", "CLINIC", None, None, None, None, "46", "PRACTICE01")
            w.segment("HL", "3", "2", "19", "1")
            w.segment("NM1", "1P", "2", "CLINIC", None, None, None, None, "XX", "1234567893")
            for n, a in enumerate(asked, 4):
                _claim(w, n, a, ("P1", "20") if a.claim_id in pending else ("F1", "65"))

    return _interchange(control, "HN", "005010X212", body), [a.claim_id for a in asked]


def _claim(w: X12Writer, n: int, a: AskedClaim, status: tuple[str, str]) -> None:
    w.segment("HL", str(n), "3", "22", "0")
    w.segment("NM1", "IL", "1", "MEMBER", None, None, None, None, "MI", a.member_id or "M1")
    w.segment("TRN", "2", a.trace)
    w.segment("STC", list(status), "20261127")
    w.segment("REF", "EJ", a.claim_id)
