"""Build 276 claim status inquiries (005010X212) from :class:`StatusInquiry` objects.

One interchange asks one payer (2000A) on behalf of one provider (2000C): the receiver (2000B)
is the practice as the clearinghouse knows it (our ISA06, qualifier 46). Each claim gets its
own subscriber level (2000D): the claim goes under it (2200D) when the patient is the
subscriber; for a dependent the subscriber level names the subscriber and the claim goes under
the dependent level (2000E, 2200E), as the guide asks (asking at the wrong level gets "not
found"). TRN02 is the inquiry's trace, unique per inquiry, returned in the 277's ``TRN*2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from gateway.domain.claim_status import InquiryPerson, StatusInquiry
from gateway.transactions.claim_837 import Envelope, enveloped
from gateway.transactions.claim_837_common import up
from gateway.x12.values import amount, d8, quantity, rd8
from gateway.x12.writer import X12Writer

VERSION = "005010X212"
FUNCTIONAL_ID = "HR"


def batch_key(inquiry: StatusInquiry) -> tuple[str, str, str, str]:
    """Inquiries with the same key go in one 276: one payer, one provider."""
    return inquiry.payer_id, inquiry.payer_name, inquiry.provider_npi, inquiry.provider_name


def write_276(out: TextIO, inquiries: Sequence[StatusInquiry], env: Envelope) -> None:
    """Write one interchange asking about every one of ``inquiries`` (one ``batch_key``)."""
    if not inquiries:
        raise ValueError("a 276 needs at least one inquiry")
    if len({batch_key(i) for i in inquiries}) != 1:
        raise ValueError("one 276 asks one payer for one provider (group them by batch_key)")
    when = env.when or datetime.now()
    w = X12Writer(out, line_breaks=env.line_breaks)
    with (
        enveloped(w, env, FUNCTIONAL_ID, VERSION, when),
        w.transaction("276", "0001", VERSION),
    ):
        w.segment("BHT", "0010", "13", env.batch_id, d8(when), when.strftime("%H%M"))
        first = inquiries[0]
        w.segment("HL", "1", None, "20", "1")
        w.segment("NM1", "PR", "2", up(first.payer_name), None, None, None, None, "PI",
                  first.payer_id)  # fmt: skip
        w.segment("HL", "2", "1", "21", "1")
        w.segment("NM1", "41", "2", up(env.submitter_name or first.provider_name), None, None,
                  None, None, "46", env.sender_id)  # fmt: skip
        w.segment("HL", "3", "2", "19", "1")
        w.segment("NM1", "1P", "2", up(first.provider_name), None, None, None, None, "XX",
                  first.provider_npi)  # fmt: skip
        hl = 3
        for inquiry in inquiries:
            hl += 1
            subscriber = hl
            dependent = inquiry.patient
            w.segment("HL", str(subscriber), "3", "22", "1" if dependent else "0")
            if dependent is None:
                _dmg(w, inquiry.subscriber)
            _person(w, "IL", inquiry.subscriber)
            if dependent is not None:
                hl += 1
                w.segment("HL", str(hl), str(subscriber), "23")
                _dmg(w, dependent)
                w.segment("NM1", "QC", "1", up(dependent.last_name), up(dependent.first_name))
            _claim(w, inquiry)


def _dmg(w: X12Writer, p: InquiryPerson) -> None:
    if p.birth_date is not None:
        w.segment("DMG", "D8", d8(p.birth_date), p.sex if p.sex in ("F", "M", "U") else None)


def _person(w: X12Writer, qualifier: str, p: InquiryPerson) -> None:
    w.segment("NM1", qualifier, "1", up(p.last_name), up(p.first_name), None, None, None, "MI",
              p.member_id)  # fmt: skip


def _claim(w: X12Writer, i: StatusInquiry) -> None:
    w.segment("TRN", "1", i.trace)
    if i.payer_claim_number:
        w.segment("REF", "1K", i.payer_claim_number)
    if i.bill_type:
        w.segment("REF", "BLT", i.bill_type)
    w.segment("REF", "EJ", i.claim_id)
    w.segment("AMT", "T3", amount(i.charge))
    if i.service_from == i.service_to:
        w.segment("DTP", "472", "D8", d8(i.service_from))
    else:
        w.segment("DTP", "472", "RD8", rd8(i.service_from, i.service_to))
    for line in i.lines:
        w.segment("SVC", ["HC", line.procedure], amount(line.charge), None, None, None, None,
                  quantity(line.units))  # fmt: skip
        w.segment("REF", "FJ", line.line_id)
        w.segment("DTP", "472", "D8", d8(line.service_date))
