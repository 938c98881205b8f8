"""A 270 (or a 276) as the clearinghouse checks it: the group's version, each set's id, and the
set read as inquiries (with pyx12 and our maps when ``ig_validation`` is on); a set that fails
gets the 999 codes a clearinghouse would send and no answer."""

from __future__ import annotations

from gateway.simulator.intake import (
    InboundGroup,
    InboundInterchange,
    _ig_issue,
    _in_set,
    one_set_interchange,
)
from gateway.transactions.eligibility_270_reader import VERSION, read_270
from gateway.transactions.ig_validation import validate_with_pyx12
from gateway.transactions.status_276 import VERSION as STATUS_VERSION
from gateway.transactions.status_276_reader import read_276
from gateway.x12.errors import X12SyntaxError


def check_inquiry_group(
    ic: InboundInterchange, group: InboundGroup, *, ig_validation: bool = False
) -> None:
    """Give every 270 set of a group (GS01 HS) its 999 verdict and, if accepted, inquiries."""
    if group.get(8) != VERSION:
        group.codes.append("2")  # this version of the functional group is not supported
        return
    controls: set[str] = set()
    for st in group.sets:
        if st.control in controls:
            st.codes.append("23")
        controls.add(st.control)
        if st.st[1:2] != ["270"]:
            st.codes.append("1")
        if st.codes:
            continue
        data = one_set_interchange(ic, group, st)
        if ig_validation:
            st.issues.extend(
                _ig_issue(st, p) for p in validate_with_pyx12(data) if _in_set(st, p.segment_index)
            )
            if st.issues:
                st.codes.append("5")
                continue
        try:
            st.inquiries = read_270(data)
        except X12SyntaxError:
            st.codes.append("5")
            continue
        if not st.inquiries:
            st.codes.append("5")


def check_status_group(
    ic: InboundInterchange, group: InboundGroup, *, ig_validation: bool = False
) -> None:
    """Give every 276 set of a group (GS01 HR) its 999 verdict and, if accepted, its claims
    asked about (checked with pyx12 and our 276 map when ``ig_validation`` is on)."""
    if group.get(8) != STATUS_VERSION:
        group.codes.append("2")
        return
    for st in group.sets:
        if st.st[1:2] != ["276"]:
            st.codes.append("1")
            continue
        data = one_set_interchange(ic, group, st)
        if ig_validation:
            st.issues.extend(
                _ig_issue(st, p) for p in validate_with_pyx12(data) if _in_set(st, p.segment_index)
            )
            if st.issues:
                st.codes.append("5")
                continue
        try:
            st.asked = read_276(data)
        except X12SyntaxError:
            st.codes.append("5")
            continue
        if not st.asked:
            st.codes.append("5")
