"""Read 837 interchanges (P, D, I) back into claim records.

This is the round trip made visible (``gateway parse FILE.837``): every field the writers put in
an 837 comes back. Real-world 837s from other systems are read as far as they go; values that
the claim record has no field for are skipped. :func:`as_sent` gives the record as an 837
carries it (names upper case, dates on the lines, diagnosis codes without the dot), which is what
reading back must recover.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

from gateway.domain.claim import Claim
from gateway.domain.codes import normalize_icd10
from gateway.transactions.claim_837 import KIND_BY_VERSION
from gateway.transactions.claim_837_common import service_start
from gateway.x12.delimiters import Delimiters
from gateway.x12.elements import date8, number
from gateway.x12.errors import X12ElementError
from gateway.x12.reader import Segment, X12Reader
from gateway.x12.values import safe_text

Record = dict[str, Any]
_DELIMITERS = Delimiters()  # what the writers use
_KIND_BY_GUIDE = {"X222": "professional", "X223": "institutional", "X224": "dental"}


def kind_of_version(version: str) -> str | None:
    """``005010X222A1`` → professional; errata versions (X222A2) map to the same kind."""
    if version in KIND_BY_VERSION:
        return KIND_BY_VERSION[version]
    return next((kind for guide, kind in _KIND_BY_GUIDE.items() if guide in version), None)


def _name_of(seg: Segment, n: int, c: int | None = None) -> str:
    """``SV102``, or ``HI01-4`` for component 4 of a composite."""
    return f"{seg.id}{n:02d}" + (f"-{c}" if c is not None else "")


def _required(seg: Segment, n: int, c: int | None = None) -> str:
    text = seg.get(n) if c is None else seg.component(n, c)
    if not text:
        raise X12ElementError(
            f"{_name_of(seg, n, c)} is required but missing",
            element=_name_of(seg, n, c),
            segment_index=seg.position,
        )
    return text


def _date(seg: Segment, n: int, c: int | None = None, text: str | None = None) -> str:
    """A CCYYMMDD element (or ``text`` cut from it) as YYYY-MM-DD."""
    value = _required(seg, n, c) if text is None else text
    return date8(value, _name_of(seg, n, c), seg.position).isoformat()


def _range(seg: Segment, n: int) -> tuple[str, str]:
    """``CCYYMMDD-CCYYMMDD`` as two YYYY-MM-DD dates."""
    start, dash, end = _required(seg, n).partition("-")
    if not dash:
        raise X12ElementError(
            f"{_name_of(seg, n)} {seg.get(n)[:20]!r} is not a date range (CCYYMMDD-CCYYMMDD)",
            element=_name_of(seg, n),
            segment_index=seg.position,
        )
    return _date(seg, n, text=start), _date(seg, n, text=end)


def _dec(seg: Segment, n: int, c: int | None = None) -> Decimal:
    return number(_required(seg, n, c), _name_of(seg, n, c), seg.position)


def _pointers(seg: Segment, n: int) -> list[int]:
    """``SV107``: diagnosis pointers 1 to 12, as components."""
    out = []
    for text in seg.components(n):
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 12):
            raise X12ElementError(
                f"{_name_of(seg, n)} {text[:20]!r} is not a diagnosis pointer (1 to 12)",
                element=_name_of(seg, n),
                segment_index=seg.position,
            )
        out.append(int(text))
    return out


def _name(seg: Segment, into: Record, *, person_only: bool = False) -> None:
    """NM1 name elements into ``into`` (organization_name or last/first/middle/suffix)."""
    if seg.get(2) == "2" and not person_only:
        into["organization_name"] = seg.get(3)
        return
    into["last_name"] = seg.get(3)
    for n, key in ((4, "first_name"), (5, "middle_name"), (7, "suffix")):
        if seg.get(n):
            into[key] = seg.get(n)


def _address(seg: Segment, into: Record) -> None:
    addr = into.setdefault("address", {})
    if seg.id == "N3":
        addr["line1"] = seg.get(1)
        if seg.get(2):
            addr["line2"] = seg.get(2)
    else:
        addr.update(city=seg.get(1), state=seg.get(2), zip=seg.get(3))


class _ClaimBuilder:
    """Walks the segments of one transaction set, keeping the current loop's records."""

    def __init__(self, kind: str | None) -> None:
        self.kind = kind
        self.billing: Record = {}
        self.subscriber: Record = {}
        self.payer: Record = {}
        self.patient: Record | None = None
        self.claim: Record | None = None
        self.entity: Record | None = None  # where N3/N4/PRV/DMG go
        self.other: Record | None = None  # current 2320 other payer
        self.line: Record | None = None
        self.adjudication: Record | None = None  # current 2430
        self.level = ""  # "20", "22", "23" or "2300"

    def finish(self) -> Record | None:
        claim, self.claim = self.claim, None
        self.line = self.other = self.adjudication = None
        for op in (claim or {}).get("other_payers", []):
            dated = [la["paid_date"] for la in op["line_adjudications"] if la.get("paid_date")]
            if "paid_date" not in op and dated:  # 2330B DTP*573 is left out when 2430 has it
                op["paid_date"] = dated[0]
        return claim

    def feed(self, seg: Segment) -> Record | None:
        """Take one segment; returns a finished claim record when one is complete."""
        sid = seg.id
        done: Record | None = None
        if sid == "HL":
            done = self.finish()
            self.level = seg.get(3)
            if self.level == "20":
                self.billing, self.entity = {}, None
            elif self.level == "22":
                self.subscriber, self.payer, self.patient = {}, {}, None
            elif self.level == "23":
                self.patient = {}
            return done
        if sid == "CLM":
            done = self.finish()
            self._clm(seg)
            return done
        if sid == "SE":
            return self.finish()
        if self.claim is None:
            self._party(seg)
        else:
            self._claim_segment(seg)
        return done

    # -- 2000A/B/C --------------------------------------------------------------------------
    def _party(self, seg: Segment) -> None:
        sid, q = seg.id, seg.get(1)
        if sid == "PRV" and q == "BI":
            self.billing["taxonomy"] = seg.get(3)
        elif sid == "NM1" and q == "85":
            _name(seg, self.billing)
            self.billing["npi"] = seg.get(9)
            self.entity = self.billing
        elif sid == "NM1" and q in ("87", "PE"):
            self.entity = {}
        elif sid == "REF" and q in ("EI", "SY") and self.level == "20":
            self.billing["tax_id"] = seg.get(2)
        elif sid == "SBR":
            self.subscriber["sequence"] = seg.get(1)
            if seg.get(3):
                self.subscriber["group_number"] = seg.get(3)
            if seg.get(5):
                self.subscriber["insurance_type"] = seg.get(5)
            if seg.get(9):
                self.subscriber["filing_indicator"] = seg.get(9)
        elif sid == "NM1" and q == "IL":
            _name(seg, self.subscriber, person_only=True)
            self.subscriber["member_id"] = seg.get(9)
            self.entity = self.subscriber
        elif sid == "NM1" and q == "PR":
            self.payer.update(name=seg.get(3), id=seg.get(9))
            self.entity = None
        elif sid == "PAT" and self.patient is not None:
            self.patient["relationship"] = q
        elif sid == "NM1" and q == "QC" and self.patient is not None:
            _name(seg, self.patient, person_only=True)
            self.entity = self.patient
        elif sid in ("N3", "N4") and self.entity is not None:
            _address(seg, self.entity)
        elif sid == "DMG" and self.entity is not None:
            self.entity["birth_date"] = _date(seg, 2)
            self.entity["sex"] = seg.get(3)

    # -- 2300 and below ---------------------------------------------------------------------
    def _clm(self, seg: Segment) -> None:
        pos, _, frequency = [*seg.components(5), "", "", ""][:3]
        claim: Record = {
            "claim_id": seg.get(1),
            "kind": self.kind,
            "frequency": frequency or "1",
            "billing_provider": self.billing,
            "payer": self.payer,
            "subscriber": self.subscriber,
            "diagnoses": [],
            "total_charge": _dec(seg, 2),
            "lines": [],
        }
        if self.patient is not None:
            claim["patient"] = self.patient
        if self.kind == "institutional":
            claim["institutional"] = {"facility_type": pos}
        else:
            claim["place_of_service"] = pos
            claim["signature_on_file"] = seg.get(6) != "N"
        if seg.get(7):
            claim["provider_accepts_assignment"] = seg.get(7)
        if seg.get(8):
            claim["assignment_of_benefits"] = seg.get(8) != "N"
        if seg.get(9):
            claim["release_of_information"] = seg.get(9)
        self.claim = claim
        self.entity = None

    def _claim_segment(self, seg: Segment) -> None:
        c = self.claim
        assert c is not None
        sid, q = seg.id, seg.get(1)
        inst = c.get("institutional")
        if sid == "LX":
            self.line = {}
            self.adjudication = None
            c["lines"].append(self.line)
        elif sid in ("SV1", "SV2", "SV3"):
            self._service(seg)
        elif sid == "TOO" and self.line is not None:
            self.line["tooth"] = seg.get(2)
            if seg.get(3):
                self.line["surfaces"] = "".join(seg.components(3))
        elif sid == "DTP":
            self._dtp(seg)
        elif sid == "REF":
            if q == "6R" and self.line is not None:
                self.line["line_id"] = seg.get(2)
            elif q == "F8" and self.other is not None:
                self.other["payer_claim_number"] = seg.get(2)
            elif q in ("F8", "G1", "9F") and self.line is None:
                key = {"F8": "payer_claim_number", "G1": "prior_authorization",
                       "9F": "referral_number"}[q]  # fmt: skip
                c[key] = seg.get(2)
        elif sid == "AMT":
            if q == "F5" and self.other is None:
                c["patient_paid"] = _dec(seg, 2)
            elif q == "D" and self.other is not None:
                self.other["paid_amount"] = _dec(seg, 2)
            elif q == "EAF" and self.adjudication is not None:
                self.adjudication["remaining_patient_liability"] = _dec(seg, 2)
            elif q == "EAF" and self.other is not None:
                self.other["remaining_patient_liability"] = _dec(seg, 2)
        elif sid == "MOA" and self.other is not None:
            self.other["remarks"] = [r for r in seg.elements[3:8] if r]
        elif sid == "HI":
            self._hi(seg)
        elif sid == "CL1" and inst is not None:
            for n, key in ((1, "admission_type"), (2, "admission_source"), (3, "patient_status")):
                if seg.get(n):
                    inst[key] = seg.get(n)
        elif sid == "NM1":
            self._claim_party(seg)
        elif sid == "PRV" and self.entity is not None:
            self.entity["taxonomy"] = seg.get(3)
        elif sid in ("N3", "N4") and self.entity is not None:
            _address(seg, self.entity)
        elif sid == "SBR":
            self.other = {
                "sequence": seg.get(1),
                "adjustments": [],
                "line_adjudications": [],
                "subscriber": {"relationship": seg.get(2) or "18"},
            }
            if seg.get(9):
                self.other["filing_indicator"] = seg.get(9)
            if seg.get(3):
                self.other["subscriber"]["group_number"] = seg.get(3)
            if seg.get(5):
                self.other["insurance_type"] = seg.get(5)
            c.setdefault("other_payers", []).append(self.other)
            self.entity = None
        elif sid == "CAS":
            target = self.adjudication if self.adjudication is not None else self.other
            if target is not None:
                els = seg.elements
                for n in range(2, len(els), 3):
                    if els[n]:
                        target["adjustments"].append(
                            {"group": q, "reason": els[n], "amount": _dec(seg, n + 1)}
                        )
        elif sid == "SVD" and self.line is not None:
            payer_id = q
            other = next(
                (
                    op
                    for op in c.get("other_payers", [])
                    if op.get("payer", {}).get("id") == payer_id
                ),
                None,
            )
            self.adjudication = {
                "line_id": self.line.get("line_id", ""),
                "paid_amount": _dec(seg, 2),
                "adjustments": [],
            }
            if seg.get(5):
                self.adjudication["paid_units"] = _dec(seg, 5)
            code, *modifiers = [*seg.components(3)][1:] or [""]
            modifiers = [m for m in modifiers if m]
            line_code = self.line.get("procedure") or self.line.get("revenue_code")
            if code and (code != line_code or modifiers != self.line.get("modifiers", [])):
                self.adjudication.update(procedure=code, modifiers=modifiers)
            if other is not None:
                other["line_adjudications"].append(self.adjudication)

    def _claim_party(self, seg: Segment) -> None:
        c = self.claim
        assert c is not None
        q = seg.get(1)
        if self.other is not None and q in ("IL", "PR"):
            if q == "IL":
                sub = self.other["subscriber"]
                sub.update(last_name=seg.get(3), first_name=seg.get(4), member_id=seg.get(9))
            else:
                self.other["payer"] = {"name": seg.get(3), "id": seg.get(9)}
            self.entity = None
            return
        if self.line is not None:  # line-level providers are not in the claim record
            self.entity = None
            return
        key = {"DN": "referring_provider", "P3": "referring_provider", "82": "rendering_provider",
               "71": "attending_provider"}.get(q)  # fmt: skip
        if key is not None:
            provider: Record = {"npi": seg.get(9)}
            _name(seg, provider)
            c[key] = provider
            self.entity = provider
        elif q == "77":
            facility: Record = {"name": seg.get(3)}
            if seg.get(9):
                facility["npi"] = seg.get(9)
            c["service_facility"] = facility
            self.entity = facility
        else:
            self.entity = None

    def _service(self, seg: Segment) -> None:
        line = self.line
        if line is None:
            return
        sid = seg.id
        if sid == "SV2":
            line["revenue_code"] = seg.get(1)
            proc, charge, units = seg.components(2), 3, 5
            if seg.get(7):
                line["non_covered_charge"] = _dec(seg, 7)
        else:
            proc, charge = seg.components(1), 2
            units = 4 if sid == "SV1" else 6
        if len(proc) > 1 and proc[1]:
            line["procedure"] = proc[1]
            line["modifiers"] = [m for m in proc[2:6] if m]
            if len(proc) > 6 and proc[6]:
                line["description"] = proc[6]
        line["charge"] = _dec(seg, charge)
        if seg.get(units):
            line["units"] = _dec(seg, units)
        pointers, pointer_element = "", 0
        if sid == "SV1":
            pointers, pointer_element, pos = seg.get(7), 7, seg.get(5)
        elif sid == "SV3":
            pointers, pointer_element, pos = seg.get(11), 11, seg.get(3)
            if seg.get(4):
                line["oral_cavity"] = seg.components(4)
        else:
            pos = ""
        if pos:
            line["place_of_service"] = pos
        if pointers:
            line["diagnosis_pointers"] = _pointers(seg, pointer_element)

    def _dtp(self, seg: Segment) -> None:
        c = self.claim
        assert c is not None
        q, fmt, value = seg.get(1), seg.get(2), seg.get(3)
        inst = c.get("institutional")
        if q == "472" and self.line is not None and self.adjudication is None:
            if fmt == "RD8":
                self.line["service_date"], self.line["service_date_end"] = _range(seg, 3)
            else:
                self.line["service_date"] = _date(seg, 3)
        elif q == "472" and self.line is None:
            c["service_date"] = _date(seg, 3, text=_required(seg, 3).split("-")[0])
        elif q == "573":
            if self.adjudication is not None:
                self.adjudication["paid_date"] = _date(seg, 3)
            elif self.other is not None:
                self.other["paid_date"] = _date(seg, 3)
        elif inst is not None and q == "434":
            inst["statement_from"], inst["statement_to"] = _range(seg, 3)
        elif inst is not None and q == "435":
            inst["admission_date"] = _date(seg, 3, text=_required(seg, 3)[:8])
            if fmt == "DT":
                inst["admission_hour"] = value[8:12]
        elif inst is not None and q == "096":
            inst["discharge_hour"] = value

    def _hi(self, seg: Segment) -> None:
        c = self.claim
        assert c is not None
        inst = c.get("institutional")
        for n, element in enumerate(seg.elements[1:], 1):
            parts = element.split(seg.delimiters.component)
            q, code = parts[0], parts[1] if len(parts) > 1 else ""
            if q in ("ABK", "BK", "ABF", "BF"):
                c["diagnoses"].append(code)
            elif inst is None:
                continue
            elif q in ("ABJ", "BJ"):
                inst["admitting_diagnosis"] = code
            elif q == "DR":
                inst["drg"] = code
            elif q in ("BBR", "BR", "CAH"):
                inst["principal_procedure"] = {"code": code, "date": _date(seg, n, 4)}
            elif q == "BH":
                inst.setdefault("occurrence_codes", []).append(
                    {"code": code, "date": _date(seg, n, 4)}
                )
            elif q == "BE":
                inst.setdefault("value_codes", []).append({"code": code, "amount": _dec(seg, n, 5)})
            elif q == "BG":
                inst.setdefault("condition_codes", []).append(code)


def read_837(source: str | os.PathLike[str] | BinaryIO | bytes) -> Iterator[Record]:
    """Claim records (as plain dicts, amounts as Decimal) from an 837 file, in file order."""
    builder: _ClaimBuilder | None = None
    kind: str | None = None
    for seg in X12Reader(source, strict=False):
        sid = seg.id
        if sid == "GS":
            kind = kind_of_version(seg.get(8))
        elif sid == "ST":
            builder = _ClaimBuilder(kind_of_version(seg.get(3)) or kind)
        elif builder is not None:
            done = builder.feed(seg)
            if done is not None:
                yield done
            if sid == "SE":
                builder = None


def read_837_claims(source: str | os.PathLike[str] | BinaryIO | bytes) -> list[Claim]:
    """Claim records validated into models (raises pydantic's ValidationError on a gap)."""
    return [Claim.model_validate(record) for record in read_837(source)]


def as_sent(claim: Claim) -> Claim:
    """The claim record as an 837 carries it: what reading the 837 back gives."""
    data = claim.model_dump(mode="python")
    data["partner"] = None
    data["total_charge"] = claim.line_total
    data["service_date"] = None
    data["diagnoses"] = [normalize_icd10(code) for code in claim.diagnoses]
    if claim.kind == "institutional":
        data["signature_on_file"] = True
        data["place_of_service"] = None
        inst = data["institutional"]
        if inst.get("admitting_diagnosis"):
            inst["admitting_diagnosis"] = normalize_icd10(inst["admitting_diagnosis"])
    for line, original in zip(data["lines"], claim.lines, strict=True):
        line["service_date"] = service_start(claim, original)
        if line["service_date_end"] == line["service_date"]:
            line["service_date_end"] = None
        if line["place_of_service"] == claim.place_of_service:
            line["place_of_service"] = None
        if claim.kind == "institutional" or (claim.kind == "dental" and not claim.diagnoses):
            line["diagnosis_pointers"] = [1]
        if line["description"]:
            line["description"] = safe_text(line["description"].upper(), _DELIMITERS)
    units = {line.line_id: line.units for line in claim.lines}
    lines = {line.line_id: line for line in claim.lines}
    for op in data["other_payers"]:
        op["adjustments"] = _by_group(op["adjustments"])
        for la in op["line_adjudications"]:
            la["adjustments"] = _by_group(la["adjustments"])
        op["payer"]["name"] = safe_text(op["payer"]["name"].upper(), _DELIMITERS)
        sub = op["subscriber"]
        for key in ("first_name", "last_name"):
            sub[key] = safe_text(sub[key].upper(), _DELIMITERS)
        if claim.kind == "institutional":
            op["insurance_type"] = None
        op["remarks"] = op["remarks"][:5]
        if not op["remaining_patient_liability"] or op["line_adjudications"]:
            op["remaining_patient_liability"] = None
        for la in op["line_adjudications"]:
            if la["paid_units"] is None:
                la["paid_units"] = units[la["line_id"]]
            if la["paid_date"] is None:
                la["paid_date"] = op["paid_date"]
            if not la["remaining_patient_liability"]:
                la["remaining_patient_liability"] = None
            line = lines[la["line_id"]]
            code = la["procedure"] or line.procedure or line.revenue_code
            mods = la["modifiers"] if la["modifiers"] is not None else line.modifiers
            if code == (line.procedure or line.revenue_code) and mods == line.modifiers:
                la["procedure"] = la["modifiers"] = None
            else:
                la["procedure"], la["modifiers"] = code, list(mods)
        if op["line_adjudications"]:  # then 2330B has no DTP*573: the first 2430 date stands
            op["paid_date"] = op["line_adjudications"][0]["paid_date"]
    sub = data["subscriber"]
    if claim.kind == "institutional" or sub["sequence"] == "P":
        sub["insurance_type"] = None
    _upper_names(data)
    return Claim.model_validate(_safe(data))


def _by_group(adjustments: list[Record]) -> list[Record]:
    """CAS carries one group per segment: adjustments come back grouped, groups first-seen."""
    order: dict[str, list[Record]] = {}
    for adj in adjustments:
        order.setdefault(adj["group"], []).append(adj)
    return [adj for group in order.values() for adj in group]


def _safe(value: Any) -> Any:
    """Every text value as the writer makes it safe (delimiters out, ASCII only)."""
    if isinstance(value, str):
        return safe_text(value, _DELIMITERS)
    if isinstance(value, dict):
        return {k: _safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe(v) for v in value]
    return value


_NAME_KEYS = ("organization_name", "last_name", "first_name", "middle_name", "suffix", "name")
_ADDRESS_KEYS = ("line1", "line2", "city", "state")
_PARTIES = (
    "billing_provider",
    "rendering_provider",
    "referring_provider",
    "attending_provider",
    "service_facility",
    "subscriber",
    "patient",
    "payer",
)


def _upper_names(data: Record) -> None:
    for key in _PARTIES:
        party = data.get(key)
        if not party:
            continue
        for name in _NAME_KEYS:
            if party.get(name):
                party[name] = safe_text(party[name].upper(), _DELIMITERS)
        addr = party.get("address")
        if addr:
            for name in _ADDRESS_KEYS:
                if addr.get(name):
                    addr[name] = safe_text(addr[name].upper(), _DELIMITERS)
