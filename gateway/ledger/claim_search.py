"""Claim search for the web view: a page of current claims by claim id, patient, payer, state
and dates of service, through the indexes of the search columns (migration 0003).

A prefix ("DOE" finds DOE and DOERING) is asked as a range (``>= 'DOE' AND < 'DOF'``) beside
the exact ``LIKE 'DOE%'``: the range lets SQLite and PostgreSQL walk the index whatever the
database's collation or LIKE settings, the LIKE keeps the answer exact. Only the columns a
result row shows are read (never the claim record), so a page costs the same with 10 or 10,000
claims. ``explain_claim_search`` shows the database's plan for a search (``python -m bench
web``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select, text
from sqlalchemy.sql.elements import ColumnElement

from gateway.ledger.base import LedgerBase
from gateway.ledger.payment_work import joined_payments, stored_payment
from gateway.ledger.records import (
    CURRENT_VERSION,
    ClaimEvent,
    Interchange,
    StoredClaim,
    StoredPayment,
    interchange_of,
    stored_claim,
)
from gateway.ledger.schema import (
    ClaimState,
    claim_events,
    claim_payments,
    claims,
    event_name,
    interchange_claims,
    interchanges,
)

PAGE = 50


@dataclass(frozen=True, slots=True)
class ClaimSearch:
    """What a search asks; every field may be empty (then it does not narrow)."""

    claim_id: str = ""  # a prefix
    patient: str = ""  # "LAST" or "LAST, FIRST", each a prefix, any case
    payer_id: str = ""
    state: str = ""
    served_from: str = ""  # YYYY-MM-DD: a date of service on or after
    served_to: str = ""  # YYYY-MM-DD: a date of service on or before

    def asked(self) -> dict[str, str]:
        """The fields given (for the audit trail)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """One line of a result: what staff recognise a claim by (no claim record)."""

    claim_id: str
    version: int
    state: ClaimState
    kind: str
    partner: str
    payer_id: str
    patient_last_name: str | None
    patient_first_name: str | None
    service_from: str | None
    service_to: str | None
    billed: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimStory:
    """Everything a claim's page shows, read in one transaction (what ``claim``, ``history``,
    ``claim_interchanges`` and ``claim_payments`` give one by one)."""

    claim: StoredClaim
    events: list[ClaimEvent]
    interchanges: list[Interchange]
    payments: list[StoredPayment]


def _after(prefix: str) -> str:
    """The smallest text greater than every text starting with ``prefix`` (its last character
    moved up by one)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _prefix(column: Any, prefix: str) -> ColumnElement[bool]:
    return and_(
        column >= prefix, column < _after(prefix), column.startswith(prefix, autoescape=True)
    )


def search_query(search: ClaimSearch) -> Select[Any]:
    """The SELECT of a search (newest change first), without its page."""
    query = select(
        claims.c.claim_id, claims.c.version, claims.c.state, claims.c.kind, claims.c.partner,
        claims.c.payer_id, claims.c.patient_last_name, claims.c.patient_first_name,
        claims.c.service_from, claims.c.service_to, claims.c.billed, claims.c.updated_at,
    ).where(CURRENT_VERSION)  # fmt: skip
    if search.claim_id.strip():
        query = query.where(_prefix(claims.c.claim_id, search.claim_id.strip()))
    if search.patient.strip():
        last, _, first = (part.strip().upper() for part in search.patient.partition(","))
        if last:
            query = query.where(_prefix(claims.c.patient_last_name, last))
        if first:
            query = query.where(_prefix(claims.c.patient_first_name, first))
    if search.payer_id.strip():
        query = query.where(claims.c.payer_id == search.payer_id.strip())
    if search.state:
        query = query.where(claims.c.state == ClaimState(search.state).value)
    if search.served_from:  # the claim's service period reaches into the range
        query = query.where(claims.c.service_to >= search.served_from)
    if search.served_to:
        query = query.where(claims.c.service_from <= search.served_to)
    return query.order_by(claims.c.updated_at.desc(), claims.c.claim_id.desc())


class ClaimSearchBook(LedgerBase):
    """The web view's claim search."""

    def search_claims(
        self, search: ClaimSearch, *, page: int = 0, size: int = PAGE
    ) -> tuple[list[ClaimRow], bool]:
        """One page of matching current claims, and whether another page follows."""
        query = search_query(search).limit(size + 1).offset(max(page, 0) * size)
        with self.engine.begin() as connection:
            rows = connection.execute(query).all()
        found = [
            ClaimRow(
                r.claim_id, r.version, ClaimState(r.state), r.kind, r.partner, r.payer_id,
                r.patient_last_name, r.patient_first_name, r.service_from, r.service_to,
                r.billed, r.updated_at,
            )
            for r in rows[:size]
        ]  # fmt: skip
        return found, len(rows) > size

    def claim_story(self, claim_id: str) -> ClaimStory | None:
        """The claim's current version with its whole timeline, files and payments; None if
        unknown. One transaction: one consistent picture, and few round trips to the server."""
        with self.engine.begin() as connection:
            row = connection.execute(
                select(claims).where(claims.c.claim_id == claim_id)
                .order_by(claims.c.version.desc()).limit(1)
            ).first()  # fmt: skip
            if row is None:
                return None
            events = connection.execute(
                select(claim_events).where(claim_events.c.claim_id == claim_id)
                .order_by(claim_events.c.id)
            ).all()  # fmt: skip
            sent = connection.execute(
                select(interchanges)
                .join(interchange_claims, interchange_claims.c.interchange_id == interchanges.c.id)
                .where(interchange_claims.c.claim_id == claim_id)
                .order_by(interchanges.c.id)
            ).all()
            paid = connection.execute(
                joined_payments().where(claim_payments.c.claim_id == claim_id)
                .order_by(claim_payments.c.id)
            ).all()  # fmt: skip
        return ClaimStory(
            stored_claim(row),
            [
                ClaimEvent(
                    e.claim_id, e.version, event_name(e.event), e.at, e.source, json.loads(e.detail)
                )
                for e in events
            ],
            [interchange_of(r) for r in sent],
            [stored_payment(r) for r in paid],
        )

    def claim_state_counts(self) -> dict[str, int]:
        """Current claim versions per state, as ``count_claims`` counts them, from the indexes
        alone: every version per state (a walk of the state index), less the versions a newer
        one replaced (found among the few claims with a version above 1)."""
        newer = claims.alias("newer")
        replaced = (
            select(claims.c.state, func.count())
            .where(
                claims.c.claim_id.in_(select(newer.c.claim_id).where(newer.c.version > 1)),
                claims.c.version
                < select(func.max(newer.c.version))
                .where(newer.c.claim_id == claims.c.claim_id)
                .scalar_subquery(),
            )
            .group_by(claims.c.state)
        )
        with self.engine.begin() as connection:
            every = select(claims.c.state, func.count()).group_by(claims.c.state)
            counts = {str(state): int(n) for state, n in connection.execute(every).all()}
            for state, n in connection.execute(replaced).all():
                counts[str(state)] -= int(n)
        return {state: n for state, n in counts.items() if n}

    def explain_claim_search(self, search: ClaimSearch, size: int = PAGE) -> list[str]:
        """The database's query plan of a search's first page, one line a step."""
        query = search_query(search).limit(size + 1)
        with self.engine.begin() as connection:
            compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
            if connection.dialect.name == "postgresql":
                rows = connection.execute(text(f"EXPLAIN {compiled}")).all()
                return [str(r[0]) for r in rows]
            rows = connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            return [str(r[-1]) for r in rows]
