"""The payer's side of claim status: answer a 276 with a 277 (005010X212) that agrees with what
the simulator knows, and keep some claims silent so the gateway has something to ask about.

Silence (``[silence]``): a share of accepted claims is never acknowledged by a 277CA (the
clearinghouse lost them, so the payer answers "not found", ``D0:35``), and a share is
acknowledged but never paid until someone asks (``P1:20`` "in process", and the inquiry puts
the claim back on the payer's desk: its 835 follows). Every other claim is answered from its
record: pending ``P1:20``, paid ``F1:65`` (with the amount and the remittance date), denied
``F2:1``, voided or replaced ``F3:101``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TextIO

from gateway.simulator.config import PayerConfig
from gateway.simulator.model import Route
from gateway.simulator.replies import _interchange
from gateway.simulator.state import ClaimRecord, State
from gateway.transactions.status_276_reader import AskedClaim
from gateway.x12.values import amount, d8
from gateway.x12.writer import X12Writer

VERSION = "005010X212"


@dataclass(frozen=True, slots=True)
class StatusReply:
    asked: AskedClaim
    category: str
    code: str
    paid: Decimal | None = None
    payer_claim_number: str = ""
    woken: str | None = None  # the claim key to adjudicate now (a silent claim asked about)


def find_record(state: State, asked: AskedClaim) -> ClaimRecord | None:
    """The payer's record of the claim asked about: by its claim number, else our claim id."""
    key = state.payer_claims.get(asked.payer_claim_number) if asked.payer_claim_number else None
    if key is not None and key in state.claims:
        return state.claims[key]
    found = [r for r in state.claims.values() if r.claim.claim_id == asked.claim_id]
    return max(found, key=lambda r: r.received) if found else None


def answer_asked(state: State, asked: Sequence[AskedClaim]) -> list[StatusReply]:
    """One reply per claim asked about, from the payer's state (silent claims are woken)."""
    replies = []
    for a in asked:
        record = find_record(state, a)
        if record is None:
            replies.append(StatusReply(a, "D0", "35"))
            continue
        number = record.payer_claim_number
        if record.status == "pending":
            woken = record.key if record.silent else None
            record.silent = False
            replies.append(StatusReply(a, "P1", "20", None, number, woken))
        elif record.status == "paid" and record.payment is not None:
            paid = record.payment.paid
            category, code = ("F1", "65") if paid > 0 else ("F2", "1")
            replies.append(StatusReply(a, category, code, paid, number))
        else:
            replies.append(StatusReply(a, "F3", "101", None, number))
    return replies


def write_277(
    out: TextIO,
    *,
    route: Route,
    control: int,
    when: datetime,
    replies: Sequence[StatusReply],
    payer: PayerConfig,
    line_breaks: bool = False,
) -> None:
    """One 277 answering ``replies``: each claim under its own subscriber level, our trace
    back in ``TRN*2``."""
    w = X12Writer(out, line_breaks=line_breaks)
    with (
        _interchange(w, route, control, when, ("HN", VERSION)),
        w.transaction("277", "0001", VERSION),
    ):
        w.segment("BHT", "0010", "08", f"ST{control:09d}", d8(when), when.strftime("%H%M"), "DG")
        payer_id = replies[0].asked.payer_id if replies else ""
        w.segment("HL", "1", None, "20", "1")
        w.segment("NM1", "PR", "2", payer.name or "PAYER", None, None, None, None, "PI",
                  payer_id or "UNKNOWN")  # fmt: skip
        w.segment("HL", "2", "1", "21", "1")
        w.segment("NM1", "41", "2", "PRACTICE", None, None, None, None, "46", route.practice_id)
        w.segment("HL", "3", "2", "19", "1")
        w.segment("NM1", "1P", "2", "PROVIDER", None, None, None, None, "XX", "1234567893")
        for n, r in enumerate(replies, 4):
            w.segment("HL", str(n), "3", "22", "0")
            w.segment("NM1", "IL", "1", "MEMBER", None, None, None, None, "MI",
                      r.asked.member_id or "UNKNOWN")  # fmt: skip
            w.segment("TRN", "2", r.asked.trace)
            charge = amount(r.asked.charge) if r.asked.charge is not None else None
            w.segment("STC", [r.category, r.code], d8(when), None, charge,
                      amount(r.paid) if r.paid is not None else None)  # fmt: skip
            if r.payer_claim_number:
                w.segment("REF", "1K", r.payer_claim_number)
            if r.asked.claim_id:
                w.segment("REF", "EJ", r.asked.claim_id)
            if r.asked.service_dates:
                dates = r.asked.service_dates
                w.segment("DTP", "472", "RD8" if "-" in dates else "D8", dates)
