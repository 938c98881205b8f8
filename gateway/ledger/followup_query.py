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
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.engine import Connection

from gateway.ledger.id_sets import one_of
from gateway.ledger.records import CURRENT_VERSION
from gateway.ledger.schema import IN_FORCE, claim_events, claim_payments, claims

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


def facts_query(dialect: str, claim_ids: Sequence[str] | None = None) -> Select[Any]:
    """One row per current claim version: the columns follow-up reads, its firsts since its
    latest upload (``submitted_at``, ``acked_999``, ``accepted_at``: by a 277CA or a 277,
    ``adjudicated_at``: an 835 decision), ``last_event_at``, ``rejected_id``, ``paid`` (cents
    on SQLite) and ``held``. Times come back as the driver gives them (see ``instant``).
    Every claim, or only ``claim_ids`` (each grouped pass then reads only theirs)."""
    ce = claim_events.c
    cp = claim_payments.c
    c = claims.c

    def of(column: Any) -> Any:
        return true() if claim_ids is None else one_of(dialect, column, claim_ids)

    uploads = (
        select(ce.claim_id, ce.version, func.max(ce.id).label("upload_id"))
        .where(ce.event == "submitted", ce.source == "837", of(ce.claim_id))
        .group_by(ce.claim_id, ce.version)
        .subquery("uploads")
    )
    since = or_(uploads.c.upload_id.is_(None), ce.id >= uploads.c.upload_id)

    def first(label: str, events: tuple[str, ...], sources: tuple[str, ...]) -> Any:
        """When the first of these (event, source) happened since the latest upload."""
        asked = and_(since, ce.event.in_(events), ce.source.in_(sources))
        return type_coerce(func.min(case((asked, ce.at))), String).label(label)

    happened = (
        select(
            ce.claim_id,
            ce.version,
            first("submitted_at", ("submitted",), ("837",)),
            first("acked_999", ("accepted",), ("999",)),
            first("accepted_at", ("accepted",), ("277CA", "277")),
            first("adjudicated_at", ("paid", "partially_paid", "denied"), ("835",)),
            type_coerce(func.max(ce.at), String).label("last_event_at"),
            func.max(case((ce.event == "rejected", ce.id))).label("rejected_id"),
        )
        .where(of(ce.claim_id))
        .select_from(
            claim_events.outerjoin(
                uploads, and_(uploads.c.claim_id == ce.claim_id, uploads.c.version == ce.version)
            )
        )
        .group_by(ce.claim_id, ce.version)
        .subquery("happened")
    )
    pays = (
        select(
            cp.claim_id,
            cp.version,
            func.sum(case((_in_force_payment(), exact_money(dialect, cp.paid)))).label("paid"),
            func.sum(case((cp.state == "held", 1), else_=0)).label("held"),
        )
        .where(cp.version.is_not(None), of(cp.claim_id))
        .group_by(cp.claim_id, cp.version)
        .subquery("pays")
    )
    h = happened.c
    joined = claims.outerjoin(
        happened, and_(h.claim_id == c.claim_id, h.version == c.version)
    ).outerjoin(pays, and_(pays.c.claim_id == c.claim_id, pays.c.version == c.version))
    columns = (
        c.claim_id, c.version, c.partner, c.payer_id, c.state, c.billed, c.service_from,
        type_coerce(c.created_at, String).label("created_at"),
        type_coerce(c.updated_at, String).label("updated_at"),
        h.submitted_at, h.acked_999, h.accepted_at, h.adjudicated_at, h.last_event_at,
        h.rejected_id, pays.c.paid, pays.c.held,
    )  # fmt: skip
    query = select(*columns).select_from(joined).where(CURRENT_VERSION, of(c.claim_id))
    return query.order_by(c.claim_id, c.version)


def unpaid_lines(
    connection: Connection, claim_ids: Sequence[str] | None = None
) -> dict[tuple[str, int], list[Mapping[str, Any]]]:
    """Per claim version, the lines its payments in force paid nothing for, as posted: only
    the postings that hold such a line are read (most hold none). Every claim's, or only
    ``claim_ids``'."""
    cp = claim_payments.c
    dialect = connection.dialect.name
    query = (
        select(cp.claim_id, cp.version, cp.posting)
        .where(
            cp.version.is_not(None),
            true() if claim_ids is None else one_of(dialect, cp.claim_id, claim_ids),
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
