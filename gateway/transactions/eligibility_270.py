"""Build 270 eligibility inquiries (005010X279A1) from eligibility requests.

One interchange holds one transaction set asking one payer (2000A) for one provider (2000B):
under it one subscriber (2000C) per request and, when the request is about a dependent, the
dependent (2000D). The X279A1 maps read the levels as a sequence that never goes back up: no
2000A or 2000B after a 2000C, no 2000C after a 2000D (depth first or breadth first alike). So
requests for other payers or providers go in other interchanges, and a 270 asks about at most
one dependent, last (:func:`inquiry_files` packs requests that way). The request id goes out
as the trace number (TRN02) of the level the question is about and comes back in the 271's
``TRN*2``.
Each service type gets its own EQ: the guide's maps refuse a repeated EQ01 (``EQ*30^98``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TextIO, TypeVar

from gateway.domain.codes import normalize_ein
from gateway.domain.eligibility import (
    DEPENDENT_RELATIONSHIPS,
    EligibilityRequest,
    RequestPatient,
    RequestProvider,
    RequestSubscriber,
)
from gateway.transactions.claim_837 import Envelope, enveloped
from gateway.transactions.claim_837_common import up
from gateway.x12.values import d8
from gateway.x12.writer import X12Writer

VERSION = "005010X279A1"
FUNCTIONAL_ID = "HS"
T = TypeVar("T")


def originator_id(provider: RequestProvider) -> str:
    """TRN03 (10 characters): ``1`` + the provider's EIN when given, else ``9`` + the last nine
    digits of its NPI, so the clearinghouse can route the answer back to the practice."""
    if provider.tax_id:
        return "1" + normalize_ein(provider.tax_id)
    return "9" + provider.npi[-9:]


def batch_key(request: EligibilityRequest) -> tuple[str, str, RequestProvider]:
    """Requests with the same key go in one 270: the same payer, the same provider."""
    return request.payer.id, request.payer.name, request.provider


def dependents_last(
    items: Sequence[T], is_dependent: Callable[[T], bool], limit: int
) -> list[list[T]]:
    """``items`` in groups of at most ``limit`` the X279A1 maps accept: the subscriber-level
    ones first, at most one dependent-level one in each group, last (a 270 or a 271 each)."""
    subscribers = [i for i in items if not is_dependent(i)]
    dependents = [i for i in items if is_dependent(i)]
    groups = [subscribers[n : n + limit] for n in range(0, len(subscribers), limit)]
    for group in groups:
        if dependents and len(group) < limit:
            group.append(dependents.pop(0))
    return groups + [[d] for d in dependents]


def inquiry_files(
    requests: Sequence[EligibilityRequest], limit: int
) -> list[list[EligibilityRequest]]:
    """Requests of one ``batch_key`` packed into 270s of at most ``limit``."""
    return dependents_last(requests, lambda r: r.patient is not None, limit)


def write_270(out: TextIO, requests: Sequence[EligibilityRequest], env: Envelope) -> None:
    """Write one interchange asking every one of ``requests`` (one ``batch_key``, at most one
    dependent, last) to ``out``."""
    if not requests:
        raise ValueError("a 270 needs at least one request")
    if len({batch_key(r) for r in requests}) != 1:
        raise ValueError("one 270 asks one payer for one provider (group them by batch_key)")
    if any(r.patient is not None for r in requests[:-1]):
        raise ValueError("a 270 asks about at most one dependent, last (see inquiry_files)")
    when = env.when or datetime.now()
    w = X12Writer(out, line_breaks=env.line_breaks)
    with (
        enveloped(w, env, FUNCTIONAL_ID, VERSION, when),
        w.transaction("270", "0001", VERSION),
    ):
        w.segment("BHT", "0022", "13", env.batch_id, d8(when), when.strftime("%H%M"))
        _hierarchy(w, requests)


def _hierarchy(w: X12Writer, requests: Sequence[EligibilityRequest]) -> None:
    payer, provider = requests[0].payer, requests[0].provider
    w.segment("HL", "1", None, "20", "1")
    w.segment("NM1", "PR", "2", up(payer.name), None, None, None, None, "PI", payer.id)
    w.segment("HL", "2", "1", "21", "1")
    _provider(w, provider)
    trace_by = originator_id(provider)
    hl = 2
    for request in requests:
        hl += 1
        subscriber = hl
        dependent = request.patient
        w.segment("HL", str(subscriber), "2", "22", "1" if dependent else "0")
        if dependent is None:
            w.segment("TRN", "1", request.request_id, trace_by)
        _subscriber(w, request.subscriber)
        if dependent is None:
            _inquiry(w, request)
            continue
        hl += 1
        w.segment("HL", str(hl), str(subscriber), "23", "0")
        w.segment("TRN", "1", request.request_id, trace_by)
        _dependent(w, dependent)
        _inquiry(w, request)


def _provider(w: X12Writer, p: RequestProvider) -> None:
    if p.name:
        w.segment("NM1", "1P", "2", up(p.name), None, None, None, None, "XX", p.npi)
    else:
        w.segment("NM1", "1P", "1", up(p.last_name), up(p.first_name), None, None, None, "XX",
                  p.npi)  # fmt: skip
    if p.taxonomy:
        w.segment("PRV", "PE", "PXC", p.taxonomy)


def _subscriber(w: X12Writer, s: RequestSubscriber) -> None:
    w.segment("NM1", "IL", "1", up(s.last_name), up(s.first_name), up(s.middle_name), None,
              up(s.suffix), "MI", s.member_id)  # fmt: skip
    if s.group_number:
        w.segment("REF", "6P", s.group_number)
    if s.address is not None:
        w.segment("N3", up(s.address.line1), up(s.address.line2))
        w.segment("N4", up(s.address.city), s.address.state.upper(), s.address.zip)
    if s.birth_date is not None:
        w.segment("DMG", "D8", d8(s.birth_date), s.sex if s.sex in ("F", "M") else None)


def _dependent(w: X12Writer, p: RequestPatient) -> None:
    w.segment("NM1", "03", "1", up(p.last_name), up(p.first_name), up(p.middle_name), None,
              up(p.suffix))  # fmt: skip
    if p.address is not None:
        w.segment("N3", up(p.address.line1), up(p.address.line2))
        w.segment("N4", up(p.address.city), p.address.state.upper(), p.address.zip)
    w.segment("DMG", "D8", d8(p.birth_date), p.sex if p.sex in ("F", "M") else None)
    if p.relationship in DEPENDENT_RELATIONSHIPS:
        w.segment("INS", "N", p.relationship)


def _inquiry(w: X12Writer, r: EligibilityRequest) -> None:
    """DTP*291 (the visit) on the level asked about, then one EQ per service type."""
    if r.service_date is not None:
        w.segment("DTP", "291", "D8", d8(r.service_date))
    for code in r.service_types:
        w.segment("EQ", code)
