"""An uploaded file as the clearinghouse sees it: envelopes checked, sets checked, claims read.

The verdicts use the codes a real clearinghouse sends back: TA1 note codes for the interchange
envelope, 999 AK905 for a functional group, IK502 and IK3/IK4 for a transaction set. Each set
is checked on its own (copied into a one-set interchange), with the gateway's 837 rules and,
when asked, pyx12; a set that fails gets no claims read from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from gateway.domain.problems import Problem
from gateway.simulator.model import ClaimIn, LineIn, Route
from gateway.transactions.claim_837_reader import read_837
from gateway.transactions.claim_837_rules import HIPAA_837_VERSIONS, check_837
from gateway.transactions.eligibility_270_reader import Inquiry
from gateway.transactions.ig_validation import IgProblem, validate_with_pyx12
from gateway.transactions.status_276_reader import AskedClaim
from gateway.x12.delimiters import Delimiters
from gateway.x12.errors import X12SyntaxError
from gateway.x12.reader import X12Reader

_QUALIFIERS = frozenset({"01", "14", "20", "27", "28", "29", "30", "33", "ZZ"})
# IK402 data element reference numbers of the elements our 837 rules talk about.
_ELEMENT_REFERENCE = {
    ("CLM", "1"): "1028", ("CLM", "2"): "782", ("CLM", "5:3"): "1325", ("NM1", "9"): "67",
    ("N4", "3"): "116", ("LX", "1"): "554", ("SV1", "2"): "782", ("SV2", "3"): "782",
    ("SV3", "2"): "782",
}  # fmt: skip
_LOOPS = {"CLM": "2300", "HI": "2300", "LX": "2400", "SV1": "2400", "SV2": "2400", "SV3": "2400"}
_NAME_LOOPS = {"85": "2010AA", "87": "2010AB", "IL": "2010BA", "PR": "2010BB", "QC": "2010CA"}
_FIELD = re.compile(r"^(\d{2})(?:-(\d+))?$")


@dataclass(slots=True)
class ElementIssue:
    """999 IK4: element position (``5:3`` = CLM05-3), reference number, error code, bad value."""

    position: str
    reference: str | None
    code: str
    bad_value: str | None = None


@dataclass(slots=True)
class SegmentIssue:
    """999 IK3 (with its CTX and IK4): where in the set, and what is wrong there."""

    segment_id: str
    position: int  # in the transaction set, ST = 1
    loop: str | None
    code: str
    claim_id: str | None = None
    element: ElementIssue | None = None


@dataclass(slots=True)
class InboundSet:
    """One ST ... SE: its 999 verdict and, when accepted, its claims."""

    st: list[str]
    segments: list[list[str]] = field(default_factory=list)  # ST .. SE
    codes: list[str] = field(default_factory=list)  # IK502 ...
    issues: list[SegmentIssue] = field(default_factory=list)
    claims: list[ClaimIn] = field(default_factory=list)
    inquiries: list[Inquiry] = field(default_factory=list)  # a 270's (inquiry_intake)
    asked: list[AskedClaim] = field(default_factory=list)  # a 276's claims (inquiry_intake)
    batch_id: str = ""
    submitter_name: str = ""
    submitter_id: str = ""

    @property
    def control(self) -> str:
        return self.st[2] if len(self.st) > 2 else ""

    @property
    def accepted(self) -> bool:
        return not self.codes and not self.issues


@dataclass(slots=True)
class InboundGroup:
    """One GS ... GE and its 999 AK9 verdict."""

    gs: list[str]
    sets: list[InboundSet] = field(default_factory=list)
    included: int | None = None  # GE01 as sent
    codes: list[str] = field(default_factory=list)  # AK905 ...

    def get(self, n: int) -> str:
        return self.gs[n] if n < len(self.gs) else ""

    @property
    def accepted_sets(self) -> list[InboundSet]:
        return [] if self.codes else [s for s in self.sets if s.accepted]


@dataclass(slots=True)
class InboundInterchange:
    """One ISA ... IEA; ``note`` is the TA1 note code (``000`` when the envelope is fine)."""

    isa: list[str]
    delimiters: Delimiters
    groups: list[InboundGroup] = field(default_factory=list)
    note: str = "000"
    complete: bool = False

    def get(self, n: int) -> str:
        return self.isa[n] if n < len(self.isa) else ""

    @property
    def control(self) -> str:
        return self.get(13).strip()

    @property
    def ack_requested(self) -> bool:
        return self.get(14) == "1"

    def route(self, group: InboundGroup | None = None) -> Route:
        return Route(
            practice_qualifier=self.get(5).strip() or "ZZ",
            practice_id=self.get(6).strip(),
            clearinghouse_qualifier=self.get(7).strip() or "ZZ",
            clearinghouse_id=self.get(8).strip(),
            practice_code=group.get(2) if group else self.get(6).strip(),
            clearinghouse_code=group.get(3) if group else self.get(8).strip(),
            usage=self.get(15) if self.get(15) in ("T", "P") else "T",
        )

    def reject(self, note: str) -> None:
        """Keep the first envelope fault: TA105 holds one code."""
        if self.note == "000":
            self.note = note


def read_inbound(data: bytes) -> list[InboundInterchange]:
    """The interchanges of a file with their envelope verdicts (set contents not yet checked).

    A file the reader cannot get through gives, for the interchange it stopped in (or a
    stand-in made from whatever ISA text there is), a rejected interchange.
    """
    reader = X12Reader(data, strict=False)
    out: list[InboundInterchange] = []
    cur: InboundInterchange | None = None
    group: InboundGroup | None = None
    st: InboundSet | None = None
    seen = 0
    try:
        for seg in reader:
            new = reader.problems[seen:]
            seen = len(reader.problems)
            sid, els = seg.id, seg.elements
            if sid == "ISA":
                cur = InboundInterchange(els, seg.delimiters)
                out.append(cur)
                for p in new:
                    cur.reject("018" if "9 digits" in p.message else "022")
                _check_isa(cur)
            elif cur is None:
                continue
            elif sid == "GS":
                group = InboundGroup(els)
                cur.groups.append(group)
            elif sid == "ST" and group is not None:
                st = InboundSet(els, [els])
                group.sets.append(st)
            elif sid == "SE" and st is not None:
                st.segments.append(els)
                for p in new:
                    st.codes.append("4" if p.message.startswith("SE01") else "3")
                st = None
            elif sid == "GE" and group is not None:
                included = els[1] if len(els) > 1 else ""
                group.included = int(included) if included.isdigit() else None
                for p in new:
                    group.codes.append("5" if p.message.startswith("GE01") else "4")
                group = None
            elif sid == "IEA":
                for p in new:
                    if p.message.startswith("IEA01"):
                        cur.reject("021")
                    elif p.message.startswith("IEA02"):
                        cur.reject("001")
                if not cur.groups:
                    cur.reject("024")
                cur.complete = True
                cur = None
            elif st is not None:
                st.segments.append(els)
    except X12SyntaxError as exc:
        if cur is None:  # no ISA read, or junk after a complete interchange
            start = exc.offset if out and exc.offset is not None else 0
            cur = _stand_in(data[start:])
            out.append(cur)
        cur.groups = []
        cur.reject(_note_for(exc))
    return out


def _note_for(exc: X12SyntaxError) -> str:
    """The TA1 note code for what stopped the reader."""
    message = exc.message
    if "file ends" in message or "no IEA" in message:
        return "023"
    if "element separator" in message:
        return "026"
    if "component separator" in message:
        return "027"
    if "segment terminator" in message:
        return "004"
    return "022"


def _stand_in(data: bytes) -> InboundInterchange:
    """An interchange for a file whose ISA cannot be read, from what its first bytes say."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:106].decode("latin-1")
    parts = text.split(text[3]) if text.startswith("ISA") and len(text) > 3 else []
    isa = [*parts[:17], *[""] * (17 - len(parts[:17]))]
    isa[0] = "ISA"
    return InboundInterchange(isa, Delimiters())


def _check_isa(ic: InboundInterchange) -> None:
    """Field checks of the ISA, each with its TA1 note code (field guide 6)."""
    checks = [
        (ic.get(1) in ("00", "03"), "010"),
        (ic.get(3) in ("00", "01"), "012"),
        (ic.get(5).strip() in _QUALIFIERS, "005"),
        (bool(ic.get(6).strip()), "006"),
        (ic.get(7).strip() in _QUALIFIERS, "007"),
        (bool(ic.get(8).strip()), "008"),
        (_valid(ic.get(9), "%y%m%d"), "014"),
        (_valid(ic.get(10), "%H%M"), "015"),
        (ic.get(12) == "00501", "017"),
        (len(ic.control) == 9 and ic.control.isdigit(), "018"),
        (ic.get(14) in ("0", "1"), "019"),
        (ic.get(15) in ("T", "P"), "020"),
    ]
    for ok, note in checks:
        if not ok:
            ic.reject(note)


def _valid(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------- sets
def check_groups(ic: InboundInterchange, *, ig_validation: bool = False) -> None:
    """Give every group and set of an accepted interchange its 999 verdict and claims."""
    for group in ic.groups:
        if group.get(1) == "HS":  # eligibility inquiries
            from gateway.simulator.inquiry_intake import check_inquiry_group

            check_inquiry_group(ic, group, ig_validation=ig_validation)
            continue
        if group.get(1) == "HR":  # claim status inquiries
            from gateway.simulator.inquiry_intake import check_status_group

            check_status_group(ic, group, ig_validation=ig_validation)
            continue
        if group.get(1) != "HC":
            group.codes.append("1")
        elif group.get(8) not in HIPAA_837_VERSIONS:
            group.codes.append("2")
        controls: set[str] = set()
        for st in group.sets:
            check_set_id(st, "837", controls)
            if group.codes or st.codes:
                continue
            _check_set(ic, group, st, ig_validation=ig_validation)


def check_set_id(st: InboundSet, transaction: str, controls: set[str]) -> None:
    """IK5 codes of a set's ST: 23 when its ST02 is used twice in the group (``controls``: the
    ones seen so far), 1 when it is not a ``transaction``."""
    if st.control in controls:
        st.codes.append("23")
    controls.add(st.control)
    if st.st[1:2] != [transaction]:
        st.codes.append("1")


def pyx12_issues(st: InboundSet, data: bytes) -> list[SegmentIssue]:
    """What pyx12 with our maps finds in the set body of ``data`` (``one_set_interchange``)."""
    return [_ig_issue(st, p) for p in validate_with_pyx12(data) if _in_set(st, p.segment_index)]


def one_set_interchange(ic: InboundInterchange, group: InboundGroup, st: InboundSet) -> bytes:
    """The set alone in a copy of its envelopes, so file positions map to set positions."""
    d = ic.delimiters
    term = d.segment
    segs = [ic.isa, group.gs, *st.segments, ["GE", "1", group.get(6)], ["IEA", "1", ic.control]]
    return "".join(d.element.join(els) + term for els in segs).encode("utf-8")


def _check_set(
    ic: InboundInterchange, group: InboundGroup, st: InboundSet, *, ig_validation: bool
) -> None:
    data = one_set_interchange(ic, group, st)
    for els in st.segments:
        if els[0] == "BHT" and len(els) > 3:
            st.batch_id = els[3]
        elif els[0] == "NM1" and els[1:2] == ["41"]:
            st.submitter_name = els[3] if len(els) > 3 else ""
            st.submitter_id = els[9] if len(els) > 9 else ""
    component = ic.delimiters.component
    st.issues.extend(
        _rule_issue(st, p, component) for p in check_837(data) if _in_set(st, p.segment_index)
    )
    if ig_validation:
        st.issues.extend(pyx12_issues(st, data))
    st.issues.sort(key=lambda issue: issue.position)
    if st.issues:
        st.codes.append("5")
        return
    try:
        st.claims = [claim_in(record) for record in read_837(data)]
    except (X12SyntaxError, ValueError, InvalidOperation, KeyError, TypeError, ValidationError):
        st.codes.append("5")  # readable to the rules but not to the reader: one of a kind
        st.claims = []
    if not st.claims:
        st.codes.append("5")


def _in_set(st: InboundSet, index: int | None) -> bool:
    """Segment ``index`` of the one-set copy lies in the set body (ST .. before SE)."""
    return index is not None and 3 <= index < 2 + len(st.segments)


def _segment(st: InboundSet, index: int) -> list[str]:
    return st.segments[index - 3]


def _rule_issue(st: InboundSet, p: Problem, component: str) -> SegmentIssue:
    """One problem of our 837 rules as a 999 IK3 (and IK4 when it names an element)."""
    assert p.segment_index is not None
    els = _segment(st, p.segment_index)
    sid = els[0]
    position = p.segment_index - 2
    if sid == "NM1":
        loop = _NAME_LOOPS.get(els[1]) if len(els) > 1 else None
    elif sid == "N4":
        loop = "2010AA" if "billing provider" in p.message else None
    else:
        loop = _LOOPS.get(sid)
    if "REF*F8" in p.message:  # a replacement or void without the payer's claim number
        return SegmentIssue("REF", position, "2300", "I6", p.claim)
    place = _element_place(sid, p.field)
    if place is None and sid == "HI":
        place = next((f"{n}:2" for n, e in enumerate(els[1:], 1) if "." in e), None)
    element = None
    if place is not None:
        value = _value(els, place, component)
        element = ElementIssue(
            place,
            _ELEMENT_REFERENCE.get((sid, place), "1271" if sid == "HI" else None),
            _element_code(sid, place, p.message, value or ""),
            value,
        )
    return SegmentIssue(sid, position, loop, "8", p.claim, element)


def _element_place(sid: str, field_name: str | None) -> str | None:
    """``CLM05-3`` → ``5:3``; ``NM109`` → ``9``; None when the field is not an element."""
    if not field_name or not field_name.startswith(sid):
        return None
    m = _FIELD.match(field_name[len(sid) :])
    if m is None:
        return None
    element, component = m.groups()
    return f"{int(element)}:{component}" if component else str(int(element))


def _element_code(sid: str, place: str, message: str, value: str) -> str:
    """The IK403 code for one of our rules (field guide 6, IK403 list)."""
    if "not an amount" in message or "decimal point" in message:
        return "6"  # invalid character
    if sid == "NM1":
        return "7"  # an NPI that fails its check digit is an invalid code value
    if sid == "N4":
        return "4" if len(value) < 9 else "5"  # ZIP+4 wanted: too short / too long
    if (sid, place) == ("CLM", "1"):
        return "5"  # longer than payers keep
    return "I12"  # an implementation rule (CLM02 = Σ line charges, LX numbering)


def _value(els: list[str], place: str, component: str) -> str | None:
    """IK404: a copy of the bad element (or component), at most 99 characters."""
    element, _, part = place.partition(":")
    n = int(element)
    value = els[n] if n < len(els) else ""
    if part:
        parts = value.split(component)
        value = parts[int(part) - 1] if int(part) <= len(parts) else ""
    return value[:99] or None


def _ig_issue(st: InboundSet, p: IgProblem) -> SegmentIssue:
    """One pyx12 finding as a 999 IK3/IK4 (its codes are already 999 codes)."""
    assert p.segment_index is not None
    sid = p.segment_id or _segment(st, p.segment_index)[0]
    position = p.segment_index - 2
    field_name, _, code = (p.code or "").partition(":")
    if field_name == "IK304":
        return SegmentIssue(sid, position, _LOOPS.get(sid), code)
    element = None
    if field_name == "IK403":
        place = _element_place(sid, p.element) or "1"
        element = ElementIssue(place, _ELEMENT_REFERENCE.get((sid, place)), code)
    return SegmentIssue(sid, position, _LOOPS.get(sid), "8", None, element)


# ------------------------------------------------------------------------------- claims
def claim_in(record: dict[str, Any]) -> ClaimIn:
    """The parts of a claim record (``read_837``) that the clearinghouse and payer use."""
    billing: dict[str, Any] = record.get("billing_provider") or {}
    subscriber: dict[str, Any] = record.get("subscriber") or {}
    payer: dict[str, Any] = record.get("payer") or {}
    patient: dict[str, Any] | None = record.get("patient")
    inst: dict[str, Any] = record.get("institutional") or {}
    kind = record.get("kind") or "professional"
    claim_date = record.get("service_date") or inst.get("statement_from")
    lines = []
    for line in record["lines"]:
        procedure, revenue = line.get("procedure"), line.get("revenue_code")
        if kind == "dental":
            qualifier = "AD"
        elif procedure:
            qualifier = "HC"
        else:
            qualifier, procedure = "NU", revenue or ""
        lines.append(
            LineIn(
                line_id=line.get("line_id", ""),
                qualifier=qualifier,
                procedure=procedure or "",
                modifiers=line.get("modifiers", []),
                revenue_code=revenue if qualifier == "HC" else None,
                charge=line["charge"],
                units=line.get("units", 1),
                service_date=line.get("service_date") or claim_date,
                service_date_end=line.get("service_date_end"),
            )
        )
    person = "organization_name" not in billing
    prior_paid: dict[str, Decimal] = {}
    prior_share: dict[str, Decimal] = {}
    for other in record.get("other_payers") or []:
        for la in other.get("line_adjudications") or []:
            key = str(la.get("line_id", ""))
            prior_paid[key] = prior_paid.get(key, Decimal(0)) + Decimal(str(la["paid_amount"]))
            prior_share[key] = sum(  # the last earlier payer's word on it counts
                (Decimal(str(a["amount"])) for a in la.get("adjustments", [])
                 if a.get("group") == "PR"), Decimal(0),
            )  # fmt: skip
    return ClaimIn(
        claim_id=record["claim_id"],
        kind=kind,
        frequency=record.get("frequency") or "1",
        original_reference=record.get("payer_claim_number"),
        prior_authorization=record.get("prior_authorization"),
        sequence=subscriber.get("sequence") or "P",
        facility_code=inst.get("facility_type") or record.get("place_of_service") or "",
        filing_indicator=subscriber.get("filing_indicator") or "CI",
        payer_id=payer.get("id") or "",
        payer_name=payer.get("name") or "",
        billing_npi=billing.get("npi") or "",
        billing_name=(billing.get("last_name") if person else billing.get("organization_name"))
        or "",
        billing_person=person,
        billing_first_name=billing.get("first_name") if person else None,
        billing_tax_id=billing.get("tax_id") or "",
        member_id=subscriber.get("member_id") or "",
        subscriber_last_name=subscriber.get("last_name") or "",
        subscriber_first_name=subscriber.get("first_name"),
        patient_last_name=patient.get("last_name") if patient else None,
        patient_first_name=patient.get("first_name") if patient else None,
        statement_from=inst.get("statement_from"),
        statement_to=inst.get("statement_to"),
        lines=lines,
        prior_paid=prior_paid,
        prior_share=prior_share,
    )
