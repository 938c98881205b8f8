"""270 inquiries read back as eligibility request records (contract section 10).

What the payer side needs (the simulator answers with it) and what ``gateway parse`` shows: per
inquiry the trace number (the request id), payer, provider, subscriber, dependent, date of
service and service types, in the shape of a request record so the request model can check it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from gateway.x12.errors import X12SyntaxError
from gateway.x12.reader import Segment, X12Reader
from gateway.x12.values import parse_d8

VERSION = "005010X279A1"


@dataclass(slots=True)
class Inquiry:
    """One 270 question: ``request`` is shaped like a request record (``request_id`` = TRN02)."""

    request: dict[str, Any]
    originator: str  # TRN03, echoed in the answer
    reference: str  # BHT03 of its transaction set
    position: int  # the HL segment of the level asked about
    subscriber_position: int = 0


def _date(seg: Segment, n: int) -> str:
    try:
        return parse_d8(seg.get(n).partition("-")[0]).isoformat()
    except ValueError:
        raise X12SyntaxError(f"{seg.id}{n:02d} {seg.get(n)[:20]!r} is not a date",
                             segment_index=seg.position, segment_id=seg.id) from None  # fmt: skip


def _person(seg: Segment) -> dict[str, Any]:
    person = {"last_name": seg.get(3), "first_name": seg.get(4), "middle_name": seg.get(5),
              "suffix": seg.get(7)}  # fmt: skip
    return {k: v for k, v in person.items() if v}


def read_270(source: str | os.PathLike[str] | BinaryIO | bytes) -> list[Inquiry]:
    """Every inquiry of every 270 transaction set in ``source``."""
    out: list[Inquiry] = []
    in_270 = False
    reference = ""
    payer: dict[str, str] = {}
    provider: dict[str, str] = {}
    subscriber: dict[str, Any] = {}
    current: Inquiry | None = None
    person: dict[str, Any] = {}
    level = ""
    subscriber_hl = 0
    for seg in X12Reader(source, strict=False):
        sid = seg.id
        if sid == "ST":
            in_270, current, level = seg.get(1) == "270", None, ""
            continue
        if not in_270:
            continue
        if sid == "BHT":
            reference = seg.get(3)
        elif sid == "HL":
            level = seg.get(3)
            current = None
            if level == "22":
                subscriber, subscriber_hl = {}, seg.position
                person = subscriber
            elif level == "23":
                person = {}
            if level in ("22", "23"):
                current = Inquiry(
                    {"request_id": "", "payer": dict(payer), "provider": dict(provider),
                     "subscriber": subscriber, "service_types": []},
                    "", reference, seg.position, subscriber_hl,
                )  # fmt: skip
                if level == "23":
                    current.request["patient"] = person
                out.append(current)
        elif sid == "NM1" and level == "20":
            payer = {"id": seg.get(9), "name": seg.get(3)}
        elif sid == "NM1" and level == "21":
            provider = {"npi": seg.get(9)}
            if seg.get(2) == "2":
                provider["name"] = seg.get(3)
            else:
                provider.update(last_name=seg.get(3), first_name=seg.get(4))
        elif sid == "PRV" and level == "21":
            provider["taxonomy"] = seg.get(3)
        elif current is None:
            continue
        elif sid == "TRN":
            current.request["request_id"] = seg.get(2)
            current.originator = seg.get(3)
        elif sid == "NM1":
            person.update(_person(seg))
            if level == "22" and seg.get(9):
                person["member_id"] = seg.get(9)
        elif sid == "REF" and seg.get(1) == "6P" and level == "22":
            person["group_number"] = seg.get(2)
        elif sid == "DMG":
            if seg.get(2):
                person["birth_date"] = _date(seg, 2)
            if seg.get(3):
                person["sex"] = seg.get(3)
        elif sid == "INS" and level == "23":
            person["relationship"] = seg.get(2)
        elif sid == "DTP" and seg.get(1) == "291":
            current.request["service_date"] = _date(seg, 3)
        elif sid == "EQ":
            current.request["service_types"].append(seg.get(1))
    # A subscriber level with a dependent below it is not a question itself.
    asked = [i for i in out if i.request["request_id"] or i.request["service_types"]]
    for inquiry in asked:
        if not inquiry.request["service_types"]:
            inquiry.request["service_types"] = ["30"]
    return asked
