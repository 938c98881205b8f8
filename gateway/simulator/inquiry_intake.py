"""A 270 (or a 276) as the clearinghouse checks it: the group's version, each set's id, and the
set read as inquiries (with pyx12 and our maps when ``ig_validation`` is on); a set that fails
gets the 999 codes a clearinghouse would send and no answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gateway.simulator.intake import (
    InboundGroup,
    InboundInterchange,
    InboundSet,
    check_set_id,
    one_set_interchange,
    pyx12_issues,
)
from gateway.transactions.eligibility_270_reader import VERSION, read_270
from gateway.transactions.status_276 import VERSION as STATUS_VERSION
from gateway.transactions.status_276_reader import read_276
from gateway.x12.errors import X12SyntaxError

T = TypeVar("T")


def check_inquiry_group(
    ic: InboundInterchange, group: InboundGroup, *, ig_validation: bool = False
) -> None:
    """Give every 270 set of a group (GS01 HS) its 999 verdict and, if accepted, inquiries."""
    if group.get(8) != VERSION:
        group.codes.append("2")  # this version of the functional group is not supported
        return
    controls: set[str] = set()
    for st in group.sets:
        check_set_id(st, "270", controls)
        if not st.codes:
            st.inquiries = _read_set(ic, group, st, read_270, ig_validation=ig_validation)


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
        st.asked = _read_set(ic, group, st, read_276, ig_validation=ig_validation)


def _read_set(
    ic: InboundInterchange, group: InboundGroup, st: InboundSet,
    read: Callable[[bytes], list[T]], *, ig_validation: bool,
) -> list[T]:  # fmt: skip
    """The set read by ``read`` (after pyx12 when ``ig_validation``); empty, with IK5 code 5,
    when it does not pass or asks nothing."""
    data = one_set_interchange(ic, group, st)
    if ig_validation:
        st.issues.extend(pyx12_issues(st, data))
        if st.issues:
            st.codes.append("5")
            return []
    try:
        found = read(data)
    except X12SyntaxError:
        found = []
    if not found:
        st.codes.append("5")
    return found
