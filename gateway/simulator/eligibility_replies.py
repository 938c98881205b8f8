"""The 271 (005010X279A1): the payer's answers to one 270's inquiries, back to the practice.

The 271 echoes the 270: its BHT03, the payer (2000A) and provider (2000B), and per inquiry the
subscriber (2000C) and, when asked about, the dependent (2000D) with our trace (``TRN*2``) and
the payer's own (``TRN*1``). As in the 270 the X279A1 maps want at most one dependent per
transaction set, last, so answers are packed with ``dependents_last``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TextIO

from gateway.simulator.config import PayerConfig
from gateway.simulator.eligibility import InquiryAnswer
from gateway.simulator.model import Route
from gateway.simulator.replies import _interchange
from gateway.transactions.eligibility_270 import dependents_last
from gateway.x12.values import d8
from gateway.x12.writer import X12Writer

VERSION = "005010X279A1"
_MAX_ANSWERS = 5000


def write_271(
    out: TextIO,
    *,
    route: Route,
    control: int,
    when: datetime,
    answers: Sequence[Sequence[InquiryAnswer]],
    payer: PayerConfig,
    line_breaks: bool = False,
) -> None:
    """One interchange answering each 270 transaction set in ``answers``."""
    w = X12Writer(out, line_breaks=line_breaks)
    sets = [group for per_set in answers
            for group in dependents_last(per_set, lambda a: a.dependent, _MAX_ANSWERS)]  # fmt: skip
    with _interchange(w, route, control, when, ("HB", VERSION)):
        for n, group in enumerate(sets, 1):
            with w.transaction("271", f"{n:04d}", VERSION):
                _response(w, group, payer, when)


def _response(
    w: X12Writer, group: Sequence[InquiryAnswer], payer: PayerConfig, when: datetime
) -> None:
    first = group[0].inquiry
    w.segment("BHT", "0022", "11", first.reference or None, d8(when), when.strftime("%H%M"))
    source: dict[str, Any] = first.request.get("payer") or {}
    w.segment("HL", "1", None, "20", "1")
    w.segment("NM1", "PR", "2", payer.name or source.get("name") or "PAYER", None, None, None,
              None, "PI", source.get("id") or "UNKNOWN")  # fmt: skip
    provider: dict[str, Any] = first.request.get("provider") or {}
    w.segment("HL", "2", "1", "21", "1")
    if provider.get("name"):
        w.segment("NM1", "1P", "2", provider["name"], None, None, None, None, "XX",
                  provider.get("npi"))  # fmt: skip
    else:
        w.segment("NM1", "1P", "1", provider.get("last_name"), provider.get("first_name"), None,
                  None, None, "XX", provider.get("npi"))  # fmt: skip
    hl = 2
    for a in group:
        hl += 1
        subscriber_hl = hl
        w.segment("HL", str(hl), "2", "22", "1" if a.dependent else "0")
        if not a.dependent:
            _traces(w, a, payer)
        _subscriber(w, a)
        if not a.dependent:
            _coverage(w, a)
            continue
        hl += 1
        w.segment("HL", str(hl), str(subscriber_hl), "23", "0")
        _traces(w, a, payer)
        _dependent(w, a)
        _coverage(w, a)


def _traces(w: X12Writer, a: InquiryAnswer, payer: PayerConfig) -> None:
    trace = str(a.inquiry.request.get("request_id") or "")
    w.segment("TRN", "2", trace or "0", a.inquiry.originator or f"1{payer.tax_id}")
    w.segment("TRN", "1", a.payer_trace, f"1{payer.tax_id}")


def _born(person: dict[str, Any]) -> str | None:
    born = person.get("birth_date")
    return d8(date.fromisoformat(str(born))) if born else None


def _subscriber(w: X12Writer, a: InquiryAnswer) -> None:
    s: dict[str, Any] = a.inquiry.request.get("subscriber") or {}
    w.segment("NM1", "IL", "1", s.get("last_name"), s.get("first_name"), s.get("middle_name"),
              None, None, "MI", s.get("member_id"))  # fmt: skip
    if a.subscriber_rejection is not None:
        w.segment("AAA", "Y", None, a.subscriber_rejection, "C")
    elif a.group_number:
        w.segment("REF", "6P", a.group_number, a.plan_name or None)
    if _born(s):
        w.segment("DMG", "D8", _born(s), s.get("sex") if s.get("sex") in ("F", "M") else None)


def _dependent(w: X12Writer, a: InquiryAnswer) -> None:
    p: dict[str, Any] = a.inquiry.request.get("patient") or {}
    w.segment("NM1", "03", "1", p.get("last_name"), p.get("first_name"), p.get("middle_name"))
    if a.dependent_rejection is not None:
        w.segment("AAA", "Y", None, a.dependent_rejection, "C")
    if _born(p):
        w.segment("DMG", "D8", _born(p), p.get("sex") if p.get("sex") in ("F", "M") else None)
    relationship = p.get("relationship")
    w.segment("INS", "N", relationship if relationship in ("01", "19", "34") else "19")


def _coverage(w: X12Writer, a: InquiryAnswer) -> None:
    """Plan dates, then every EB with its HSD and MSG segments."""
    if a.plan_begin is not None:
        w.segment("DTP", "346", "D8", d8(a.plan_begin))
    if a.plan_end is not None:
        w.segment("DTP", "347", "D8", d8(a.plan_end))
    for line in a.benefits:
        w.segment("EB", *line.eb)
        for hsd in line.hsd:
            w.segment("HSD", *hsd)
        for message in line.messages:
            w.segment("MSG", message)
