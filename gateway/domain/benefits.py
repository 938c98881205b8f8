"""A 271 answer in plain words: the benefits record of the contract (section 10).

One record per request: is the person covered (``active``), by which plan, and every EB row as a
benefit a front desk can read (kind, service type, coverage level, network, amount or percent,
time period, what remains, quantities and frequency limits, messages), plus the payer's AAA
rejections with what to do about them. Rows naming several service types become one benefit per
service type. Codes no table knows are shown raw with "unknown"; nothing is dropped. Amounts
are strings with two decimals, as in every output of the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.domain import benefit_codes as bc
from gateway.domain.eligibility_answer import (
    BenefitRow,
    DatedFact,
    Delivery,
    EligibilityAnswer,
    Member,
    RequestRejection,
)

Record = dict[str, Any]
_COINSURANCE_SUSPECT = Decimal("0.5")  # a patient share above this is probably the plan's share
_NETWORK_FLAG = {"Y": True, "N": False}
_PLAN_DATES = {"346": "begin", "347": "end", "356": "eligibility_begin", "357": "eligibility_end"}


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _number(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def rejection(r: RequestRejection, service_type: str | None = None) -> Record:
    """One AAA as ``{"code", "text", "action", ...}``: what went wrong and what to do."""
    text, action = bc.reject_reason(r.reason)
    follow = bc.meaning(bc.FOLLOW_UPS, r.follow_up, "follow-up action") if r.follow_up else None
    out: Record = {
        "code": r.reason, "text": text, "action": action + (f" ({follow})" if follow else ""),
        "follow_up": r.follow_up or None, "follow_up_text": follow,
        "valid_request": {"Y": True, "N": False}.get(r.valid_request), "level": r.level,
    }  # fmt: skip
    if service_type is not None:
        out["service_type"] = service_type
    return out


def _dates(facts: Iterable[DatedFact]) -> list[Record]:
    return [
        {"qualifier": f.qualifier, "text": bc.meaning(bc.DATE_QUALIFIERS, f.qualifier, "date"),
         "from": _iso(f.start), "to": _iso(f.end), **({} if f.start else {"raw": f.raw})}
        for f in facts
    ]  # fmt: skip


def limit(d: Delivery) -> Record:
    """An HSD as a sentence ("2 visits per calendar year"), with its codes."""
    parts = []
    if d.quantity is not None:
        what = bc.meaning(bc.QUANTITY_QUALIFIERS, d.quantity_qualifier, "quantity")
        parts.append(f"{_number(d.quantity)} {what}")
    if d.sample is not None and d.unit:
        parts.append(f"per {_number(d.sample)} {bc.meaning(bc.DELIVERY_UNITS, d.unit, 'unit')}")
    if d.period:
        period = bc.meaning(bc.TIME_PERIODS, d.period, "time period")
        if d.periods is not None and d.periods != 1:
            period += f" (over {_number(d.periods)} periods)"
        parts.append(period)
    if d.frequency:
        parts.append(f"delivery pattern {d.frequency}")
    if d.pattern:
        parts.append(f"delivery time {d.pattern}")
    return {
        "text": " ".join(parts) or "a delivery limit without figures",
        "quantity_qualifier": d.quantity_qualifier or None, "quantity": _num(d.quantity),
        "unit": d.unit or None, "sample": _num(d.sample), "period": d.period or None,
        "periods": _num(d.periods), "frequency": d.frequency or None, "pattern": d.pattern or None,
    }  # fmt: skip


def _num(value: Decimal | None) -> str | None:
    return None if value is None else _number(value)


def _benefits(row: BenefitRow) -> list[Record]:
    """One benefit per service type of the row (a row without EB03 gives one without)."""
    kind_text = bc.meaning(bc.KINDS, row.kind, "benefit kind")
    remaining = row.period in bc.REMAINING_PERIODS
    percent = None if row.percent is None else _number(row.percent * 100)
    quantity = None
    if row.quantity is not None or row.quantity_qualifier:
        quantity = {
            "qualifier": row.quantity_qualifier or None,
            "qualifier_text": bc.meaning(bc.QUANTITY_QUALIFIERS, row.quantity_qualifier,
                                         "quantity") if row.quantity_qualifier else None,
            "value": _num(row.quantity),
        }  # fmt: skip
    shared: Record = {
        "kind": row.kind, "kind_text": kind_text,
        "coverage_level": row.coverage_level or None,
        "coverage_level_text": bc.meaning(bc.COVERAGE_LEVELS, row.coverage_level,
                                          "coverage level") if row.coverage_level else None,
        "insurance_type": row.insurance_type or None,
        "insurance_type_text": bc.meaning(bc.INSURANCE_TYPES, row.insurance_type,
                                          "insurance type") if row.insurance_type else None,
        "plan_name": row.plan_name or None,
        "in_network": _NETWORK_FLAG.get(row.network),
        "network": bc.meaning(bc.NETWORKS, row.network, "network") if row.network
        else "network not stated",
        "amount": None if remaining else money(row.amount),
        "percent": percent,
        "period": row.period or None,
        "period_text": bc.meaning(bc.TIME_PERIODS, row.period, "time period") if row.period
        else None,
        "remaining": money(row.amount) if remaining else None,
        "quantity": quantity,
        "limits": [limit(d) for d in row.deliveries],
        "authorization_required": {"Y": True, "N": False}.get(row.authorization),
        "procedure": ":".join(row.procedure) or None,
        "dates": _dates(row.dates),
        "message": " / ".join(row.messages) or None,
        "related": [_entity(e.name, e.contact) for e in row.entities],
        "references": [{"qualifier": r.qualifier, "value": r.value} for r in row.references],
    }  # fmt: skip
    if row.kind == "A" and row.percent is not None and row.percent > _COINSURANCE_SUSPECT:
        shared["warning"] = (
            f"a patient coinsurance of {percent}% is unusual: this payer may send the plan's "
            "share instead; check with the payer before quoting it"
        )
    out = []
    codes: list[str | None] = list(row.service_types) or [None]
    for code in codes:
        benefit: Record = {
            "service_type": code,
            "service_type_text": bc.service_type_text(code) if code else None,
            **shared,
        }
        benefit["text"] = benefit_sentence(benefit)
        out.append(benefit)
    return out


def _entity(name: Any, contact: list[str]) -> Record:
    if name is None:
        return {"role": None, "role_text": None, "name": None, "id": None, "contact": contact}
    full = " ".join(p for p in (name.first_name, name.last_name) if p)
    return {"role": name.entity, "role_text": bc.meaning(bc.ENTITIES, name.entity, "entity"),
            "name": full or None, "id": name.id or None, "contact": contact}  # fmt: skip


def benefit_sentence(b: Mapping[str, Any]) -> str:
    """``Deductible, individual, in network (health benefit plan coverage): 1,450.00 remaining``."""
    stated = b["in_network"] is not None or b["network"] == bc.NETWORKS["W"]
    network = b["network"] if stated else None
    head = ", ".join(str(p) for p in (b["kind_text"], b["coverage_level_text"], network) if p)
    if b["service_type_text"]:
        head += f" ({b['service_type_text']})"
    remaining = b["period"] in bc.REMAINING_PERIODS
    per = f" {b['period_text']}" if b["period_text"] and not remaining else ""
    figures = []
    if b["amount"] is not None:
        figures.append(f"{Decimal(b['amount']):,.2f}{per}")
    if b["percent"] is not None:
        figures.append(f"{b['percent']}%{per if b['amount'] is None else ''}")
    if b["remaining"] is not None:
        figures.append(f"{Decimal(b['remaining']):,.2f} remaining")
    money = figures != []
    if b["quantity"] is not None:
        q = b["quantity"]
        text = " ".join(str(v) for v in (q["value"], q["qualifier_text"]) if v)
        figures.append(text + (" remaining" if remaining and not money else "" if money else per))
    elif per and not money:
        figures.append(per.strip())
    figures += [lim["text"] for lim in b["limits"] if lim["text"] not in figures]
    if b["procedure"]:
        figures.append(f"for {b['procedure'].split(':')[-1]}")
    if b["authorization_required"]:
        figures.append("authorization required")
    if b["message"]:
        figures.append(f'"{b["message"]}"')
    head = head[:1].upper() + head[1:]
    return f"{head}: {'; '.join(figures)}" if figures else head


def _member(m: Member, *, dependent: bool) -> Record:
    out: Record = {
        "first_name": m.name.first_name or None, "last_name": m.name.last_name or None,
        "middle_name": m.name.middle_name or None, "birth_date": _iso(m.birth_date),
        "sex": m.sex or None,
    }  # fmt: skip
    if dependent:
        out["relationship"] = m.relationship or None
        out["relationship_text"] = (
            bc.meaning(bc.RELATIONSHIPS, m.relationship, "relationship") if m.relationship else None
        )
    else:
        group = m.reference("6P")
        out.update(member_id=m.name.id or None, group_number=group.value if group else None)
    if m.address_lines:
        out["address"] = {"lines": m.address_lines, "city": m.city, "state": m.state,
                          "zip": m.zip}  # fmt: skip
    return out


def _plan(answer: EligibilityAnswer, rows: list[BenefitRow]) -> Record:
    member = answer.member
    group = member.reference("6P") or answer.subscriber.reference("6P")
    plan_number = member.reference("18") or answer.subscriber.reference("18")
    status = next((r for r in rows if r.kind in bc.ACTIVE_KINDS | bc.INACTIVE_KINDS), None)
    named = next((r for r in rows if r.plan_name), status)
    plan: Record = {
        "name": (named.plan_name if named else "") or (group.description if group else "")
        or None,
        "group_number": group.value if group else None,
        "group_name": (group.description or None) if group else None,
        "plan_number": plan_number.value if plan_number else None,
        "insurance_type": (status.insurance_type or None) if status else None,
        "insurance_type_text": bc.meaning(bc.INSURANCE_TYPES, status.insurance_type,
                                          "insurance type")
        if status and status.insurance_type else None,
        "coverage_level": (status.coverage_level or None) if status else None,
        "coverage_level_text": bc.meaning(bc.COVERAGE_LEVELS, status.coverage_level,
                                          "coverage level")
        if status and status.coverage_level else None,
        "dates": _dates(member.dates),
    }  # fmt: skip
    for fact in member.dates:
        key = _PLAN_DATES.get(fact.qualifier)
        if key is not None:
            plan[key] = _iso(fact.start)
    return plan


def benefits_record(
    answer: EligibilityAnswer,
    request: Mapping[str, Any] | None,
    *,
    record_id: str,
    source_file: str,
) -> Record:
    """The benefits record of one answer; ``request`` is the request record it answers (None
    when it matches none, as in ``gateway parse``)."""
    rows = answer.benefits
    benefits = [b for row in rows for b in _benefits(row)]
    errors = [rejection(r) for r in answer.rejections]
    errors += [rejection(r) for r in answer.subscriber.rejections]
    if answer.dependent is not None:
        errors += [rejection(r) for r in answer.dependent.rejections]
    errors += [rejection(r, ", ".join(row.service_types) or None) for row in rows
               for r in row.rejections]  # fmt: skip
    active = any(r.kind in bc.ACTIVE_KINDS for r in rows)
    inactive = any(r.kind in bc.INACTIVE_KINDS for r in rows)
    status = "active" if active else "inactive" if inactive else "rejected" if errors else "unknown"
    record: Record = {
        "id": record_id,
        "request_id": answer.trace or None,
        "payer": {"id": answer.payer.id or None, "name": answer.payer.last_name or None},
        "provider": {"npi": answer.provider.id or None, "name": _full(answer.provider)}
        if answer.provider else None,
        "subscriber": _member(answer.subscriber, dependent=False),
        "patient": _member(answer.dependent, dependent=True) if answer.dependent else None,
        "active": active,
        "status": status,
        "plan": _plan(answer, rows),
        "benefits": benefits,
        "errors": errors,
        "payer_trace": answer.payer_traces[0] if answer.payer_traces else None,
        "source_file": source_file,
    }  # fmt: skip
    if request is not None:
        record.update(_about_request(record, request))
    record["summary"] = status_sentence(record)
    return record


def _full(name: Any) -> str | None:
    return " ".join(p for p in (name.first_name, name.last_name) if p) or None


def _about_request(record: Mapping[str, Any], request: Mapping[str, Any]) -> Record:
    """What was asked, what the payer did not answer, where it corrected what we sent."""
    asked = [str(s) for s in request.get("service_types") or ["30"]]
    answered = {b["service_type"] for b in record["benefits"]}
    corrections = []
    sent_person = request.get("patient") or request.get("subscriber") or {}
    said = record["patient"] or record["subscriber"]
    who = "patient" if request.get("patient") else "subscriber"
    fields = ["first_name", "last_name", "birth_date"] + ([] if request.get("patient")
                                                         else ["member_id"])  # fmt: skip
    for name in fields:
        sent, says = sent_person.get(name), said.get(name)
        if sent and says and str(sent).strip().upper() != str(says).strip().upper():
            corrections.append({"field": f"{who}.{name}", "sent": sent, "payer_says": says})
    return {
        "service_date": request.get("service_date"),
        "service_types": asked,
        "not_answered": [s for s in asked if s not in answered] if record["benefits"] else [],
        "corrections": corrections,
    }


def status_sentence(record: Mapping[str, Any]) -> str:
    """One line a coordinator reads first: covered or not, by what, and what to do."""
    person = record["patient"] or record["subscriber"]
    who = " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p)
    payer = record["payer"]["name"] or record["payer"]["id"] or "the payer"
    plan = record["plan"]
    if record["status"] == "active":
        text = f"{who} is covered by {payer}"
        if plan.get("name"):
            text += f", plan {plan['name']}"
        if plan.get("begin"):
            text += f", since {plan['begin']}"
        return text
    if record["status"] == "inactive":
        text = f"{who} is NOT covered by {payer}"
        ended = plan.get("end") or plan.get("eligibility_end")
        if ended:
            text += f": coverage ended {ended}"
        return text + "; do not schedule as covered, ask for current insurance"
    if record["errors"]:
        first: Mapping[str, str] = record["errors"][0]
        return (
            f"{payer} could not answer about {who or 'this person'}: {first['text']}; "
            + (first["action"])
        )
    return f"{payer} answered about {who} without saying whether the coverage is active"


def refusal_record(
    request: Mapping[str, Any], errors: list[Record], *, record_id: str, source_file: str
) -> Record:
    """The record of a request the payer or clearinghouse refused as a whole (an AAA with no
    subscriber, a TA1 or 999 rejection): who was asked about, and why there is no answer."""
    subscriber = dict(request.get("subscriber") or {})
    patient = request.get("patient")
    payer = request.get("payer") or {}
    record: Record = {
        "id": record_id,
        "request_id": request.get("request_id"),
        "payer": {"id": payer.get("id"), "name": payer.get("name")},
        "provider": {"npi": (request.get("provider") or {}).get("npi"),
                     "name": (request.get("provider") or {}).get("name")},
        "subscriber": {k: subscriber.get(k) for k in ("member_id", "first_name", "last_name",
                                                      "birth_date", "group_number")},
        "patient": {k: patient.get(k) for k in ("first_name", "last_name", "birth_date",
                                                "relationship")} if patient else None,
        "active": False,
        "status": "rejected",
        "plan": {},
        "benefits": [],
        "errors": errors,
        "payer_trace": None,
        "source_file": source_file,
        "service_date": request.get("service_date"),
        "service_types": list(request.get("service_types") or ["30"]),
        "not_answered": [],
        "corrections": [],
    }  # fmt: skip
    record["summary"] = status_sentence(record)
    return record
