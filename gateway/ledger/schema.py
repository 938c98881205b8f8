"""The ledger's tables (SQLAlchemy Core) and the claim state machine.

Money is stored as text with two decimals (``"120.00"``), as in the contract's outputs: exact on
both SQLite and PostgreSQL, never a float. JSON documents are stored as text. Timestamps are
UTC; they come back timezone-aware on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Constraint names are stable on every database (Alembic can then alter them).
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the ledger; use UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ClaimState(StrEnum):
    """Where a claim version stands (the ``event`` names of contract section 3)."""

    QUEUED = "queued"
    BATCHED = "batched"  # in an interchange, waiting to be uploaded (no status record)
    SUBMITTED = "submitted"  # uploaded: the partner has the file
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DENIED = "denied"
    REVERSED = "reversed"
    VOIDED = "voided"  # a void (frequency 8) the payer accepted, its money taken back


_S = ClaimState
_ADJUDICATED = frozenset({_S.PAID, _S.PARTIALLY_PAID, _S.DENIED})

# Every allowed state change; anything else is refused by Ledger.transition.
# - queued -> batched -> submitted: built into an interchange, then uploaded.
# - batched -> accepted/rejected/paid/...: a reply proves the upload whose confirmation a crash
#   (or another daemon on the same ledger) has not recorded yet.
# - submitted -> paid/denied: some partners send no 277CA, the 835 is the first answer.
# - submitted -> queued: the interchange was never delivered (TA1 reject, upload failure).
# - accepted -> accepted: a 277CA confirming what a 999 already accepted.
# - accepted -> rejected: a 999 accepts the file, the 277CA rejects the claim.
# - accepted -> queued: a 277 says the payer has no record of a claim no 277CA acknowledged
#   (only a 999 accepted its file): it goes out again as it is.
# - a payment can be followed by another (partial, then the rest) or reversed (CLP02 22);
#   a reversal is followed by the corrected payment.
# - a void (frequency 8) in flight -> voided: the payer accepted it (277CA) with no money to
#   take back, or its reversal of the original's payment was posted (835). Final.
TRANSITIONS: dict[ClaimState, frozenset[ClaimState]] = {
    _S.QUEUED: frozenset({_S.BATCHED}),
    _S.BATCHED: frozenset(
        {_S.SUBMITTED, _S.ACCEPTED, _S.REJECTED, _S.QUEUED, _S.VOIDED} | _ADJUDICATED
    ),
    _S.SUBMITTED: frozenset({_S.ACCEPTED, _S.REJECTED, _S.QUEUED, _S.VOIDED} | _ADJUDICATED),
    _S.ACCEPTED: frozenset({_S.ACCEPTED, _S.REJECTED, _S.QUEUED, _S.VOIDED} | _ADJUDICATED),
    _S.REJECTED: frozenset(),  # final: the practice sends a corrected claim (a new version)
    _S.PAID: frozenset({_S.REVERSED, _S.PAID}),
    _S.PARTIALLY_PAID: frozenset({_S.PAID, _S.PARTIALLY_PAID, _S.REVERSED}),
    _S.DENIED: frozenset({_S.REVERSED} | _ADJUDICATED),
    _S.REVERSED: frozenset(_ADJUDICATED),
    _S.VOIDED: frozenset(),  # final: nothing follows a void the payer accepted
}


class PaymentEvent(StrEnum):
    """Events of a claim's timeline about its money that change no claim state."""

    POSTED = "payment_posted"  # posted, but the claim's state does not follow (see detail)
    HELD = "payment_held"  # waits for review (a possible duplicate, money that does not add up)
    DISCARDED = "payment_discarded"  # kept unposted after review


EventName = ClaimState | PaymentEvent


def event_name(value: str) -> EventName:
    """A stored event's name as its enum."""
    return ClaimState(value) if value in ClaimState._value2member_map_ else PaymentEvent(value)


class RemittanceState(StrEnum):
    POSTED = "posted"  # its claim payments were posted (some may wait as possible duplicates)
    HELD = "held"  # waits for review as a whole: money that does not add up, or a payment
    #               with the identity of an earlier one but other content
    RELEASED = "released"  # posted as it is after review
    DISCARDED = "discarded"  # kept unposted after review


class PaymentState(StrEnum):
    """Where one claim payment (a CLP of an 835) stands."""

    POSTED = "posted"  # in force
    HELD = "held"  # waits for review; nothing of it was emitted
    RELEASED = "released"  # posted after review (in force)
    DISCARDED = "discarded"  # kept unposted after review
    REVERSED = "reversed"  # posted, then taken back by the payer (a CLP02 22 reversal)
    SUPERSEDED = "superseded"  # a decision without money (a denial), followed by a new one


# Claim payments in force: what the claim has been paid (reversals themselves never are).
IN_FORCE = frozenset({PaymentState.POSTED, PaymentState.RELEASED})


REMITTANCE_TRANSITIONS: dict[RemittanceState, frozenset[RemittanceState]] = {
    RemittanceState.POSTED: frozenset(),
    RemittanceState.HELD: frozenset({RemittanceState.RELEASED, RemittanceState.DISCARDED}),
    RemittanceState.RELEASED: frozenset(),
    RemittanceState.DISCARDED: frozenset(),
}


class RequestState(StrEnum):
    """Where an eligibility request stands."""

    QUEUED = "queued"
    SENT = "sent"  # in a 270 interchange (eligibility_requests.interchange_id)
    ANSWERED = "answered"  # a 271 answered it (benefits record in ``answer``)
    REJECTED = "rejected"  # refused as a whole: TA1, 999, or an AAA with no subscriber


REQUEST_TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.QUEUED: frozenset({RequestState.SENT}),
    RequestState.SENT: frozenset({RequestState.ANSWERED, RequestState.REJECTED}),
    RequestState.ANSWERED: frozenset(),  # a later answer to the same request is not applied
    RequestState.REJECTED: frozenset(),  # the practice asks again with a new request id
}


class OutboxKind(StrEnum):
    POSTINGS = "postings"
    BALANCES = "balances"
    STATUS = "status"
    BENEFITS = "benefits"  # eligibility answers (spool/benefits/)


# One row per claim version; the highest version is the claim's current one.
claims = Table(
    "claims",
    metadata,
    Column("claim_id", String(20), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("frequency", String(1), nullable=False),
    Column("partner", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("state", String(16), nullable=False),
    Column("record", Text, nullable=False),  # the claim record, JSON
    Column("payer_claim_number", String(50)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # What staff search by, copied out of the record (records.search_fields): the patient's
    # names upper-cased, the first and last date of service (YYYY-MM-DD) and the total billed.
    Column("patient_last_name", String(60)),
    Column("patient_first_name", String(35)),
    Column("service_from", String(10)),
    Column("service_to", String(10)),
    Column("billed", String(20)),
    Index(None, "state", "partner", "kind"),
    Index(None, "patient_last_name"),
    Index(None, "service_from"),
    Index(None, "payer_id"),
    Index(None, "updated_at", "claim_id"),  # the web view's newest claims first (0008)
    Index(None, "created_at", "claim_id", "version", "billed"),  # money of the month (0014)
)

# Append-only: the ledger never updates or deletes an event.
claim_events = Table(
    "claim_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("claim_id", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event", String(24), nullable=False),  # a ClaimState or a PaymentEvent
    Column("at", UTCDateTime, nullable=False),
    Column("source", String(16), nullable=False),
    Column("detail", Text, nullable=False),  # JSON
    ForeignKeyConstraint(["claim_id", "version"], ["claims.claim_id", "claims.version"]),
    Index(None, "claim_id"),
)

control_numbers = Table(
    "control_numbers",
    metadata,
    Column("partner", String(64), primary_key=True),
    Column("last_interchange", Integer, nullable=False),  # ISA13
    Column("last_group", Integer, nullable=False),  # GS06
)

interchanges = Table(
    "interchanges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(64), nullable=False),
    Column("control_number", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("claim_count", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("group_control_number", Integer),  # GS06, named by a 999's AK102
    UniqueConstraint("partner", "control_number"),
    Index(None, "partner", "group_control_number"),
    Index(None, "file_name"),
)

interchange_claims = Table(
    "interchange_claims",
    metadata,
    Column("interchange_id", Integer, ForeignKey("interchanges.id"), primary_key=True),
    Column("claim_id", String(20), primary_key=True),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(["claim_id", "version"], ["claims.claim_id", "claims.version"]),
    Index(None, "claim_id"),
)

received_files = Table(
    "received_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),
)

# One row per 835 transaction set taken in. Its identity is the payment's (trace number, payer,
# amount, date) and the hash of its content: the same content again is the same payment (never
# posted twice); other content under the same identity is a new remittance, held for review.
remittances = Table(
    "remittances",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trace_number", String(80), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("amount", String(20), nullable=False),  # money as text, e.g. "1234.50"
    Column("payment_date", String(10), nullable=False),  # YYYY-MM-DD, or "" when not given
    Column("file_name", String(255), nullable=False),
    Column("control_number", String(9), nullable=False),  # ST02
    Column("state", String(16), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # sha256 of the transaction set's segments between ST and SE ("" for rows older than it)
    Column("content_sha256", String(64), nullable=False),
    Column("partner", String(64)),
    Column("archived_as", String(255)),  # the file's unique name in spool/archive/
    Column("detail", Text),  # JSON: why it is held, the review's verdict, copies seen again
    UniqueConstraint(
        "trace_number",
        "payer_id",
        "amount",
        "payment_date",
        "content_sha256",
        name="uq_remittances_identity_content",
    ),
    Index(None, "archived_as"),
)

# One row per claim payment (CLP) posted or held: a claim's money, payer by payer. Written in
# the same ledger transaction as its remittance, its output records and its claim's new state.
claim_payments = Table(
    "claim_payments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("remittance_id", Integer, ForeignKey("remittances.id"), nullable=False),
    Column("claim_id", String(80), nullable=False),  # CLP01 (may name no claim of the ledger)
    Column("version", Integer),  # the claim version it pays; NULL when it matches no claim
    Column("payer_id", String(80), nullable=False),
    Column("payer_sequence", String(1), nullable=False),  # P, S, T
    Column("payer_claim_number", String(50)),  # CLP07
    Column("status_code", String(8), nullable=False),  # CLP02
    Column("charge", String(20), nullable=False),
    Column("paid", String(20), nullable=False),
    Column("patient_responsibility", String(20), nullable=False),
    Column("posting_id", String(128), nullable=False, unique=True),
    Column("balance_id", String(128)),
    Column("state", String(16), nullable=False),  # a PaymentState
    Column("reverses", Integer, ForeignKey("claim_payments.id")),  # a reversal: what it takes back
    Column("detail", Text),  # JSON: why it is held, the review's verdict and note
    Column("posting", Text, nullable=False),  # the posting record (JSON)
    Column("balance", Text),  # the balance record (JSON), when the payment has one
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "claim_id", "payer_id"),
    Index(None, "remittance_id"),
    Index(None, "state"),
    Index(None, "updated_at"),  # what changed lately (the next-payer step looks at it)
    Index(None, "recorded_at", "state", "paid", "patient_responsibility"),  # money (0014)
)

# Output records waiting to be written to spool/postings|balances|status (emitted_at NULL).
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(128), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("created_at", UTCDateTime, nullable=False),
    Column("emitted_at", UTCDateTime),
    Column("batch", String(128)),  # the output file it was assigned to (emitted or not yet)
    Column("owner", String(128)),  # the worker that assigned the batch and alone writes it
    Column("place", String(64)),  # its output stream: the partner it is about (NULL: the home's)
    Index(None, "kind", "emitted_at"),
    Index(None, "batch", "id"),  # a batch's records in order, a thousand at a time (0015)
    # the batches assigned and not yet emitted (a few rows): a worker's own open batch found
    # without walking every pending record of the kind (0015)
    Index(
        "ix_outbox_open_batches",
        "kind",
        "owner",
        "id",
        sqlite_where=text("batch IS NOT NULL AND emitted_at IS NULL"),
        postgresql_where=text("batch IS NOT NULL AND emitted_at IS NULL"),
    ),
)

# Eligibility requests (contract section 10), each asked once in a 270 and answered once.
eligibility_requests = Table(
    "eligibility_requests",
    metadata,
    Column("request_id", String(30), primary_key=True),  # the 270's TRN02, echoed in the 271
    Column("partner", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("state", String(16), nullable=False),
    Column("record", Text, nullable=False),  # the request record, JSON
    Column("interchange_id", Integer, ForeignKey("interchanges.id")),  # the 270 it went in
    Column("answer", Text),  # the benefits record, JSON (also for a rejected request)
    Column("answer_file", String(255)),  # the reply that answered or rejected it
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "state", "partner"),
    Index(None, "interchange_id"),
)

# Work taken by a worker until expires_at; an expired lease may be taken over.
leases = Table(
    "leases",
    metadata,
    Column("work_key", String(128), primary_key=True),  # "claim:<id>", "eligibility:<id>"
    Column("owner", String(128), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("token", BigInteger),  # fencing: new each time the lease is taken
)

# Notes on a claim (calls, appeals) and its disputes opened and closed, each with its author
# and time; append-only, like the claim's events.
claim_notes = Table(
    "claim_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("claim_id", String(20), nullable=False),
    Column("kind", String(16), nullable=False),  # note, dispute_opened, dispute_closed
    Column("text", Text, nullable=False),
    Column("author", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "claim_id"),
)


class LegState(StrEnum):
    """Where a claim's leg to one payer stands (its payer's answers are its claim payments)."""

    OWN = "own"  # the claim as the practice sent it (its first payer)
    SENT = "sent"  # built from the earlier 835s as a new claim version, queued to its partner
    CROSSOVER = "crossover"  # the earlier payer forwarded the claim: its own 835 is awaited
    ANSWERED = "answered"  # a forwarded claim its payer answered (nothing sent by us)
    NOT_BILLED = "not_billed"  # nothing was left for this payer (``detail`` says why)
    HELD = "held"  # waits for review, with a plain reason in ``detail`` (nothing sent)


# One row per payer a claim is billed to (P, S, T): the claim record as that payer gets it and
# the claim version that carried it. Written in the transaction that opens the next leg.
claim_legs = Table(
    "claim_legs",
    metadata,
    Column("claim_id", String(20), primary_key=True),
    Column("sequence", String(1), primary_key=True),  # P, S, T
    Column("version", Integer),  # the claim version sent to this payer (NULL: none sent)
    Column("payer_id", String(80), nullable=False),
    Column("partner", String(64)),
    Column("state", String(16), nullable=False),  # a LegState
    Column("record", Text, nullable=False),  # the claim record as this payer gets it (JSON)
    Column("opened_by", Integer, ForeignKey("claim_payments.id")),  # the earlier payer's answer
    Column("detail", Text),  # JSON: why not billed or held, the crossover's due date, notes
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "state"),
)

# Each claim payment the next-payer step has acted on, once (its exactly-once door).
leg_sources = Table(
    "leg_sources",
    metadata,
    Column("payment_id", Integer, ForeignKey("claim_payments.id"), primary_key=True),
    Column("claim_id", String(20), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

# Each claim's follow-up facts (followup_query), kept as the claims change (migration 0013):
# one row per claim, its current version. ``followup_dirty`` is what changed since: the
# database's triggers append a claim id there whenever a row of ``claims``, ``claim_events``
# ``claim_payments`` or ``status_inquiries`` (a 277's answers) is written, and
# ``refresh_followup_facts`` recomputes those claims.
followup_facts = Table(
    "followup_facts",
    metadata,
    Column("claim_id", String(20), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("partner", String(64), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("state", String(16), nullable=False),
    Column("billed", String(20)),  # as the claim has it (None: no lines)
    Column("paid", String(20), nullable=False),  # what payments in force paid, exact
    Column("service_from", String(10)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("submitted_at", UTCDateTime),
    Column("acked_at", UTCDateTime),
    Column("accepted_at", UTCDateTime),
    Column("adjudicated_at", UTCDateTime),
    Column("last_event_at", UTCDateTime, nullable=False),
    Column("rejected", Text),  # JSON: the rejecting event's detail and source
    Column("held", Integer, nullable=False),  # payments held for review
    Column("unpaid_lines", Text),  # JSON: lines paid nothing (None: none)
    Column("flagged", Integer, nullable=False),  # 1: unpaid lines or held payments
    Index(None, "state"),
    Index(None, "flagged"),
    Index(None, "partner"),
    Index(None, "billed"),
    Index(None, "payer_id", "adjudicated_at"),
)

# Claims whose facts changed since they were last kept: appended by triggers (never a
# conflict between writers), deleted by the refresh exactly as read.
followup_dirty = Table(
    "followup_dirty",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("claim_id", String(80), nullable=False),
)

# One row: how many refreshes have changed the kept facts. Whatever was computed from the kept
# facts (a page's worklist) holds while it is the same (the facts change only by a refresh).
followup_generation = Table(
    "followup_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", Integer, nullable=False),
)
