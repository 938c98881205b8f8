"""The follow-up facts' queries: what each claim's current version has been through, added up
by the database (one row per claim) rather than by reading every event and payment in Python.

Per claim version: the first time each (event, source) follow-up reasons about happened since
its latest upload (the ``submitted``/837 event with the highest id; all of its events when it
has none), "first" meaning the lowest event id as the events were recorded; the time of its
latest event and its latest rejecting event; what its payments in force paid (reversals,
CLP02 22, excluded) and how many of its payments are held. Only the postings that hold a line
paying nothing are read back (``unpaid_lines``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    Select,
    and_,
    case,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Connection

from gateway.ledger.records import CURRENT_VERSION
from gateway.ledger.schema import IN_FORCE, claim_events, claim_payments, claims

# The firsts follow-up asks about: (column label, event, source).
FIRSTS = (
    ("submitted_837", "submitted", "837"),
    ("accepted_999", "accepted", "999"),
    ("accepted_277ca", "accepted", "277CA"),
    ("accepted_277", "accepted", "277"),
    ("paid_835", "paid", "835"),
    ("partially_paid_835", "partially_paid", "835"),
    ("denied_835", "denied", "835"),
)
ZERO_PAID = '"paid": "0.00"'  # how a line paid nothing reads in a posting record (dumps)
CENT = Decimal("0.01")
_IN_FORCE = sorted(s.value for s in IN_FORCE)


def exact_money(dialect: str, column: Any) -> Any:
    """A money column (text, two decimals) as a number the database adds up exactly: NUMERIC
    on PostgreSQL, whole cents on SQLite (whose NUMERIC is a float)."""
    if dialect == "postgresql":
        return cast(column, Numeric(20, 2))
    return cast(func.round(cast(column, Float) * 100), Integer)


def _in_force_payment() -> Any:
    cp = claim_payments.c
    return and_(cp.state.in_(_IN_FORCE), cp.status_code != "22")


def facts_query(dialect: str) -> Select[Any]:
    """One row per current claim version: its columns (not the record), a column per FIRSTS
    label, ``last_event_at``, ``rejected_id``, ``paid`` (cents on SQLite) and ``held``."""
    ce = claim_events.c
    uploads = (
        select(ce.claim_id, ce.version, func.max(ce.id).label("upload_id"))
        .where(ce.event == "submitted", ce.source == "837")
        .group_by(ce.claim_id, ce.version)
        .subquery("uploads")
    )
    asked = or_(*(and_(ce.event == event, ce.source == source) for _, event, source in FIRSTS))
    since = or_(uploads.c.upload_id.is_(None), ce.id >= uploads.c.upload_id)
    first_ids = (
        select(ce.claim_id, ce.version, ce.event, ce.source, func.min(ce.id).label("first_id"))
        .select_from(
            claim_events.outerjoin(
                uploads, and_(uploads.c.claim_id == ce.claim_id, uploads.c.version == ce.version)
            )
        )
        .where(asked, since)
        .group_by(ce.claim_id, ce.version, ce.event, ce.source)
        .subquery("first_ids")
    )
    first = claim_events.alias("first_event")
    f = first_ids.c
    firsts = (
        select(
            f.claim_id,
            f.version,
            *(
                func.min(case((and_(f.event == event, f.source == source), first.c.at))).label(
                    label
                )
                for label, event, source in FIRSTS
            ),
        )
        .select_from(first_ids.join(first, first.c.id == f.first_id))
        .group_by(f.claim_id, f.version)
        .subquery("firsts")
    )
    whole = (
        select(
            ce.claim_id,
            ce.version,
            func.max(ce.at).label("last_event_at"),
            func.max(case((ce.event == "rejected", ce.id))).label("rejected_id"),
        )
        .group_by(ce.claim_id, ce.version)
        .subquery("whole")
    )
    cp = claim_payments.c
    pays = (
        select(
            cp.claim_id,
            cp.version,
            func.sum(case((_in_force_payment(), exact_money(dialect, cp.paid)))).label("paid"),
            func.sum(case((cp.state == "held", 1), else_=0)).label("held"),
        )
        .where(cp.version.is_not(None))
        .group_by(cp.claim_id, cp.version)
        .subquery("pays")
    )
    columns = [c for c in claims.c if c.name != "record"]  # the record: once per payer
    joined = (
        claims.outerjoin(
            firsts,
            and_(firsts.c.claim_id == claims.c.claim_id, firsts.c.version == claims.c.version),
        )
        .outerjoin(
            whole, and_(whole.c.claim_id == claims.c.claim_id, whole.c.version == claims.c.version)
        )
        .outerjoin(
            pays, and_(pays.c.claim_id == claims.c.claim_id, pays.c.version == claims.c.version)
        )
    )
    return (
        select(
            *columns,
            *(firsts.c[label] for label, _, _ in FIRSTS),
            whole.c.last_event_at,
            whole.c.rejected_id,
            pays.c.paid,
            pays.c.held,
        )
        .select_from(joined)
        .where(CURRENT_VERSION)
        .order_by(claims.c.claim_id, claims.c.version)
    )


def unpaid_lines(connection: Connection) -> dict[tuple[str, int], list[Mapping[str, Any]]]:
    """Per claim version, the lines its payments in force paid nothing for, as posted: only
    the postings that hold such a line are read (most hold none)."""
    cp = claim_payments.c
    query = (
        select(cp.claim_id, cp.version, cp.posting)
        .where(
            cp.version.is_not(None),
            _in_force_payment(),
            cp.posting.contains(ZERO_PAID, autoescape=True),
        )
        .order_by(cp.id)
    )
    found: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for p in connection.execute(query):
        if ZERO_PAID not in p.posting:  # SQLite's LIKE ignores case: exactly as written only
            continue
        lines = json.loads(p.posting).get("lines") or []
        found.setdefault((p.claim_id, int(p.version)), []).extend(
            line for line in lines if Decimal(str(line.get("paid") or "0")) == 0
        )
    return found
