"""Follow-up: claim status inquiries (276) and their answers (277), and the facts about each
claim the worklist and the aging report are computed from.

An inquiry's trace (the 276's TRN02, echoed in the 277) is ``CLAIM.VERSION.WINDOW``: the claim
version asked about and the number of the re-ask window the question belongs to. It is the
table's key, so one claim is asked once per window whatever runs at the same time (a second
daemon's insert of the same trace does nothing). The doors are the eligibility requests': an
inquiry is leased (``status:TRACE``), its 276 recorded as an interchange (kind 276) together
with the inquiries it carries before the upload, and a 277's answers are written in the same
transaction that records the reply's hash, with the claim changes they lead to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from gateway.ledger.base import LedgerBase
from gateway.ledger.followup_query import CENT, facts_query, instant, unpaid_lines
from gateway.ledger.inquiry_queue import InquiryQueue
from gateway.ledger.interchanges import BuiltInterchange
from gateway.ledger.leases import Leased
from gateway.ledger.records import (
    CHUNK,
    ChangesApplied,
    ClaimChange,
    dumps,
    utc_now,
)
from gateway.ledger.schema import (
    UTCDateTime,
    claim_events,
    claim_payments,
    claims,
    metadata,
    received_files,
)

QUEUED, SENT, ANSWERED = "queued", "sent", "answered"

# One row per claim status question: queued, sent in a 276 (interchange_id), answered by a 277.
status_inquiries = Table(
    "status_inquiries",
    metadata,
    Column("trace", String(50), primary_key=True),  # the 276's TRN02: CLAIM.VERSION.WINDOW
    Column("claim_id", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("partner", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("ask_window", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # queued, sent, answered
    Column("reason", String(24), nullable=False),  # why it was asked (no_277ca, no_payment)
    Column("interchange_id", Integer, ForeignKey("interchanges.id")),  # the 276 it went in
    Column("outcome", String(16)),  # the answer's outcome (claim_status.OUTCOMES)
    Column("answer", Text),  # JSON: every STC in plain words
    Column("answer_file", String(255)),  # the 277 that answered it
    Column("asked_at", UTCDateTime, nullable=False),  # the follow-up clock's now when queued
    Column("updated_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["claim_id", "version"], ["claims.claim_id", "claims.version"]),
    Index(None, "state", "partner"),
    Index(None, "claim_id"),
    Index(None, "interchange_id"),
)


def inquiry_key(trace: str) -> str:
    return f"status:{trace}"


INQUIRIES = InquiryQueue(status_inquiries, "trace", "status:", since="updated_at",
                         first="asked_at", what="inquiry(ies)")  # fmt: skip


@dataclass(frozen=True, slots=True)
class InquiryIn:
    """A question the follow-up planner wants asked (once per window)."""

    claim_id: str
    version: int
    partner: str
    payer_id: str
    window: int
    reason: str

    @property
    def trace(self) -> str:
        return f"{self.claim_id}.{self.version}.{self.window}"


@dataclass(frozen=True, slots=True)
class StoredInquiry:
    trace: str
    claim_id: str
    version: int
    partner: str
    payer_id: str
    window: int
    state: str
    reason: str
    interchange_id: int | None
    outcome: str | None
    answer: dict[str, Any] | None
    answer_file: str | None
    asked_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class InquiryAnswer:
    """A 277's answer to one of our inquiries, as the ledger keeps it."""

    trace: str
    outcome: str
    answer: Mapping[str, Any]


@dataclass
class StatusApplied:
    claims: ChangesApplied
    answered: list[str] = field(default_factory=list)  # traces
    skipped: list[tuple[str, str]] = field(default_factory=list)  # trace, why


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What follow-up needs to know of a claim's current version (times in UTC)."""

    claim_id: str
    version: int
    partner: str
    payer_id: str
    payer_name: str
    state: str
    billed: Decimal
    paid: Decimal  # what payments in force paid
    service_from: str | None  # YYYY-MM-DD
    created_at: datetime
    submitted_at: datetime | None  # its latest upload (the times below are after it)
    acked_at: datetime | None  # a 999 accepted its file
    accepted_at: datetime | None  # a 277CA (or a 277) accepted it: the proof of timely filing
    rejected: dict[str, Any] | None  # the rejecting event's detail (source and codes)
    adjudicated_at: datetime | None  # the first 835 decision
    last_event_at: datetime
    held_payments: int = 0
    # lines the payments in force paid nothing for, as posted (line_id, procedure, charge,
    # adjustments): the worklist tells a denied line from a deductible one
    unpaid_lines: tuple[Mapping[str, Any], ...] = ()


def _stored(row: Row[Any]) -> StoredInquiry:
    return StoredInquiry(
        trace=row.trace, claim_id=row.claim_id, version=int(row.version), partner=row.partner,
        payer_id=row.payer_id, window=int(row.ask_window), state=row.state, reason=row.reason,
        interchange_id=row.interchange_id, outcome=row.outcome,
        answer=None if row.answer is None else json.loads(row.answer),
        answer_file=row.answer_file, asked_at=row.asked_at, updated_at=row.updated_at,
    )  # fmt: skip


def _rejections(connection: Connection, event_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The detail (and source) of each rejecting event, by event id."""
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(event_ids), CHUNK):
        chunk = event_ids[start : start + CHUNK]
        query = select(claim_events.c.id, claim_events.c.source, claim_events.c.detail)
        for e in connection.execute(query.where(claim_events.c.id.in_(chunk))):
            found[int(e.id)] = {"source": e.source, **json.loads(e.detail)}
    return found


def _payer_names(connection: Connection, payer_ids: set[str]) -> dict[str, str]:
    """Each payer's name, from the newest claim record sent to it."""
    names = {}
    for payer_id in sorted(payer_ids):
        record = connection.execute(
            select(claims.c.record).where(claims.c.payer_id == payer_id)
            .order_by(claims.c.created_at.desc()).limit(1)
        ).scalar()  # fmt: skip
        name = (json.loads(record).get("payer") or {}).get("name") if record else None
        names[payer_id] = str(name or payer_id)
    return names


def _money(text: str | None) -> Decimal:
    return Decimal(text) if text else Decimal("0.00")


class FollowupBook(LedgerBase):
    """Claim status inquiries, their answers, and follow-up facts."""

    # -- asking ----------------------------------------------------------------------------

    def queue_status_inquiries(self, wanted: Iterable[InquiryIn], now: datetime) -> list[str]:
        """Queue the inquiries not asked yet in their window; the traces queued now."""
        queued: list[str] = []
        with self.engine.begin() as connection:
            for item in wanted:
                stmt = self._insert(connection, status_inquiries).values(
                    trace=item.trace, claim_id=item.claim_id, version=item.version,
                    partner=item.partner, payer_id=item.payer_id, ask_window=item.window,
                    state=QUEUED, reason=item.reason, asked_at=now, updated_at=utc_now(),
                )  # fmt: skip
                stmt = stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
                    index_elements=[status_inquiries.c.trace]
                ).returning(status_inquiries.c.trace)
                if connection.execute(stmt).first() is not None:
                    queued.append(item.trace)
        return queued

    def status_inquiries(
        self,
        traces: Sequence[str] | None = None,
        *,
        claim_id: str | None = None,
        state: str | None = None,
        interchange_id: int | None = None,
    ) -> list[StoredInquiry]:
        """Inquiries by trace (unknown ones left out), of a claim, a state or a 276, in the
        order they were asked."""
        query = select(status_inquiries)
        if claim_id is not None:
            query = query.where(status_inquiries.c.claim_id == claim_id)
        if state is not None:
            query = query.where(status_inquiries.c.state == state)
        if interchange_id is not None:
            query = query.where(status_inquiries.c.interchange_id == interchange_id)
        query = query.order_by(status_inquiries.c.asked_at, status_inquiries.c.trace)
        with self.engine.begin() as connection:
            if traces is None:
                return [_stored(r) for r in connection.execute(query).all()]
            found: list[StoredInquiry] = []
            for start in range(0, len(traces), CHUNK):
                chunk = list(traces[start : start + CHUNK])
                rows = connection.execute(query.where(status_inquiries.c.trace.in_(chunk)))
                found.extend(_stored(r) for r in rows.all())
        return found

    def queued_inquiry_summary(self, partner: str) -> tuple[int, datetime | None]:
        """How many of the partner's inquiries wait queued and unleased, and since when."""
        return INQUIRIES.summary(self, partner)

    def lease_queued_inquiries(
        self, partner: str, owner: str, limit: int, ttl_seconds: float
    ) -> Leased:
        """Take up to ``limit`` queued inquiries of ``partner`` for ``owner`` (with the lease's
        fencing token)."""
        return INQUIRIES.lease(self, partner, owner, limit, ttl_seconds)

    def submit_status_interchange(
        self,
        partner: str,
        control_number: int,
        group_control_number: int,
        *,
        file_name: str,
        sha256: str,
        traces: Sequence[str],
        owner: str,
        token: int | None = None,
    ) -> int:
        """Record a built 276 and move its inquiries to ``sent`` in it, in one transaction
        (or nothing: the file is then an orphan, never sent, and the inquiries stay queued).
        With ``token`` the inquiries must still be leased to ``owner`` with it, else
        :class:`LeaseLost`."""
        built = BuiltInterchange(partner, control_number, group_control_number, "276",
                                 file_name, sha256)  # fmt: skip
        return INQUIRIES.record(self, built, traces, owner=owner, token=token)

    # -- answers ---------------------------------------------------------------------------

    def apply_status_reply(
        self,
        sha256: str,
        *,
        partner: str,
        name: str,
        answers: Sequence[InquiryAnswer],
        changes: Sequence[ClaimChange],
    ) -> StatusApplied | None:
        """Record a 277 and apply its answers and the claim changes they lead to, in one
        transaction; None when this content was recorded before (nothing applied again).
        An inquiry is answered once: a later answer to the same trace is skipped."""
        now = utc_now()
        with self.engine.begin() as connection:
            stmt = self._insert(connection, received_files).values(
                partner=partner, name=name, sha256=sha256, kind="277", received_at=now,
                state="processed",
            )  # fmt: skip
            stmt = stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
                index_elements=[received_files.c.sha256]
            ).returning(received_files.c.id)
            if connection.execute(stmt).first() is None:
                return None
            result = StatusApplied(self._apply_changes(connection, changes, now))
            for item in answers:
                moved = connection.execute(
                    update(status_inquiries)
                    .where(status_inquiries.c.trace == item.trace, status_inquiries.c.state == SENT)
                    .values(
                        state=ANSWERED, outcome=item.outcome, answer=dumps(dict(item.answer)),
                        answer_file=name, updated_at=now,
                    )
                ).rowcount  # fmt: skip
                if moved:
                    result.answered.append(item.trace)
                else:
                    state = connection.execute(
                        select(status_inquiries.c.state).where(
                            status_inquiries.c.trace == item.trace
                        )
                    ).scalar()
                    why = "not one of our inquiries" if state is None else f"already {state}"
                    result.skipped.append((item.trace, why))
            return result

    # -- facts -----------------------------------------------------------------------------

    def followup_facts(self, connection: Connection | None = None) -> list[ClaimFacts]:
        """Every claim's current version with the times follow-up reasons about. The database
        does the per-claim work (one grouped query, see followup_query); only the postings
        with a line that paid nothing are read in Python."""
        if connection is None:
            with self.engine.begin() as own:
                return self.followup_facts(own)
        dialect = connection.dialect.name
        rows = connection.execute(facts_query(dialect)).all()
        rejecting = [r.rejected_id for r in rows if r.state == "rejected" and r.rejected_id]
        why = _rejections(connection, [int(i) for i in rejecting])
        names = _payer_names(connection, {r.payer_id for r in rows})
        unpaid = unpaid_lines(connection)
        scale = Decimal("0.01") if dialect == "sqlite" else Decimal(1)
        out = []
        zero = Decimal("0.00")
        for (claim_id, version, partner, payer_id, state, billed, service_from, created,
             updated, submitted_at, acked_999, accepted_at, adjudicated_at, last_event_at,
             rejected_id, paid, held) in rows:  # fmt: skip
            accepted = instant(accepted_at)  # the payer has the claim: a 277CA, or a 277
            created_at = instant(created)
            assert created_at is not None
            out.append(
                ClaimFacts(
                    claim_id=claim_id, version=int(version), partner=partner,
                    payer_id=payer_id, payer_name=names.get(payer_id) or payer_id,
                    state=state, billed=_money(billed),
                    paid=zero if paid is None else (Decimal(paid) * scale).quantize(CENT),
                    service_from=service_from, created_at=created_at,
                    submitted_at=instant(submitted_at),
                    acked_at=instant(acked_999) or accepted, accepted_at=accepted,
                    rejected=why.get(int(rejected_id)) if rejected_id is not None else None,
                    adjudicated_at=instant(adjudicated_at),
                    last_event_at=instant(last_event_at or updated) or created_at,
                    held_payments=int(held or 0),
                    unpaid_lines=tuple(unpaid.get((claim_id, int(version)), ())),
                )
            )  # fmt: skip
        return out

    def unmatched_payments(self) -> list[dict[str, Any]]:
        """Claim payments (CLPs) that match no claim of the ledger, oldest first."""
        query = select(claim_payments).where(claim_payments.c.version.is_(None))
        with self.engine.begin() as connection:
            rows = connection.execute(query.order_by(claim_payments.c.id)).all()
        return [
            {"claim_id": r.claim_id, "payer_id": r.payer_id, "paid": _money(r.paid),
             "charge": _money(r.charge), "recorded_at": r.recorded_at}
            for r in rows
        ]  # fmt: skip
