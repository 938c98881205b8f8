"""TA1, 999 and 277CA as plain records with every code explained (``gateway parse``)."""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from gateway.domain import acknowledgments as ack
from gateway.domain.posting import money
from gateway.transactions.ack_999 import read_999
from gateway.transactions.ack_ta1 import read_ta1
from gateway.transactions.status_277ca import read_277ca

Source = str | os.PathLike[str] | BinaryIO | bytes


def _codes(codes: list[str], table: dict[str, str], what: str) -> list[dict[str, str]]:
    return [{"code": c, "text": ack.text(table, c, what)} for c in codes]


def interchange_acks(source: Source) -> list[dict[str, Any]]:
    return [
        {
            "control_number": t.control_number,
            "status": t.status,
            "status_text": ack.text(ack.TA1_STATUS, t.status, "TA1 status"),
            "accepted": t.accepted,
            "note_code": t.note_code,
            "note_text": ack.text(ack.TA1_NOTES, t.note_code, "TA1 note code"),
            "interchange_date": t.interchange_date,
            "interchange_time": t.interchange_time,
            "segment_position": t.position,
        }
        for t in read_ta1(source)
    ]


def _segment_error(e: ack.SegmentError) -> dict[str, Any]:
    return {
        "segment_id": e.segment_id,
        "position_in_set": e.position,
        "loop": e.loop,
        "code": e.code,
        "text": ack.text(ack.SEGMENT_ERRORS, e.code, "segment error code"),
        "context": e.context,
        "elements": [
            {
                "position": el.position,
                "reference": el.reference,
                "code": el.code,
                "text": ack.text(ack.ELEMENT_ERRORS, el.code, "element error code"),
                "bad_value": el.bad_value,
            }
            for el in e.elements
        ],
    }


def group_acks(source: Source) -> list[dict[str, Any]]:
    """999: every acknowledged group and set, with error locations in plain text."""
    return [
        {
            "functional_id": g.functional_id,
            "control_number": g.control_number,
            "version": g.version,
            "status": g.status,
            "status_text": ack.text(ack.ACK_STATUS, g.status, "acknowledgment code"),
            "sets_included": g.sets_included,
            "sets_received": g.sets_received,
            "sets_accepted": g.sets_accepted,
            "codes": _codes(g.codes, ack.GROUP_ERRORS, "group error code"),
            "sets": [
                {
                    "set_id": s.set_id,
                    "control_number": s.control_number,
                    "version": s.version,
                    "status": s.status,
                    "status_text": ack.text(ack.ACK_STATUS, s.status, "acknowledgment code"),
                    "accepted": s.accepted,
                    "codes": _codes(s.codes, ack.SET_ERRORS, "set error code"),
                    "errors": [_segment_error(e) for e in s.segment_errors],
                }
                for s in g.sets
            ],
        }
        for g in read_999(source)
    ]


def _status(s: ack.Status) -> dict[str, Any]:
    return {
        "category": s.category,
        "category_text": ack.text(ack.STC_CATEGORIES, s.category, "status category"),
        "code": s.code,
        "code_text": ack.text(ack.STC_STATUS, s.code, "status code"),
        "entity": s.entity,
        "entity_text": ack.text(ack.ENTITIES, s.entity, "entity code") if s.entity else "",
        "date": s.effective.isoformat() if s.effective else None,
        "action": s.action,
        "amount": money(s.amount) if s.amount is not None else None,
        "free_text": s.free_text,
    }


def claim_acks(source: Source) -> list[dict[str, Any]]:
    """277CA: per claim accepted, rejected or received, with the reasons spelled out."""
    return [
        {
            "claim_id": c.claim_id,
            "outcome": c.outcome,
            "statuses": [_status(s) for s in c.statuses],
            "payer_claim_number": c.payer_claim_number,
            "clearinghouse_trace": c.clearinghouse_trace,
            "bill_type": c.bill_type,
            "service_from": c.service_from.isoformat() if c.service_from else None,
            "service_to": c.service_to.isoformat() if c.service_to else None,
            "payer_name": c.payer_name,
            "billing_provider_npi": c.billing_provider_npi,
            "lines": [
                {
                    "line_id": line.line_id,
                    "procedure": line.procedure,
                    "charge": money(line.charge) if line.charge is not None else None,
                    "statuses": [_status(s) for s in line.statuses],
                }
                for line in c.lines
            ],
            "segment_position": c.position,
        }
        for c in read_277ca(source)
    ]
