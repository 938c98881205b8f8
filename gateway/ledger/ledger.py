"""The ledger's API: every write to the ledger goes through a method of ``Ledger``.

``Ledger`` is one facade over the ledger's subjects, one module each: claims and their versions
(``claims``), leases (``leases``), control numbers and interchanges (``interchanges``), received
files (``received``), a claim's leg per payer (``legs``), payments (``remittances``) and each
claim's money in them (``payments``), eligibility requests and their answers
(``eligibility``), notes and disputes (``corrections``), claim status inquiries and follow-up
facts (``followup``), the outbox (``outbox``), and for the web view its users, sessions and
audit trail (``users``), its claim search (``claim_search``) and what went to and from each
partner (``traffic``), on a shared core (``base``). Writes of many claims are batched
(``claim_batches``: a claim file queued in one transaction; ``bulk``: many claims' state
changes read and written in a few statements), with the same rules as one at a time. Each
method is one transaction. Claim states change only through ``transition`` (or a reply's
changes), which checks ``schema.TRANSITIONS`` and writes the new state and its event
together. Work is shared between workers (threads or daemons on one PostgreSQL) through
leases taken with ``SELECT ... FOR UPDATE SKIP LOCKED``; on SQLite every transaction is
``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from gateway.ledger.claim_batches import ClaimBatchBook, NewClaim
from gateway.ledger.claim_search import ClaimSearchBook
from gateway.ledger.corrections import CorrectionBook, DisputeError, NoteKind
from gateway.ledger.eligibility import DuplicateRequest, EligibilityBook
from gateway.ledger.followup import FollowupBook
from gateway.ledger.interchanges import InterchangeBook
from gateway.ledger.leases import LeaseBook, Leased, LeaseLost
from gateway.ledger.legs import LegBook, LegIn, StoredLeg
from gateway.ledger.outbox import OutboxBook
from gateway.ledger.payments import PaymentBook
from gateway.ledger.received import ReceivedFileBook
from gateway.ledger.records import (
    MAX_CONTROL_NUMBER,
    ChangesApplied,
    ClaimChange,
    ClaimEvent,
    ClaimNote,
    ClaimPaymentIn,
    ControlNumbersExhausted,
    DuplicateClaim,
    IllegalTransition,
    Interchange,
    LedgerError,
    OutboxEntry,
    OutboxItem,
    PaymentDecision,
    PaymentEffects,
    RemittanceIdentity,
    RemittanceOutcome,
    RequestUpdate,
    StoredClaim,
    StoredPayment,
    StoredRemittance,
    StoredRequest,
    UnknownClaim,
)
from gateway.ledger.remittances import RemittanceBook
from gateway.ledger.traffic import TrafficBook
from gateway.ledger.users import UserBook

__all__ = [
    "MAX_CONTROL_NUMBER",
    "ChangesApplied",
    "ClaimChange",
    "ClaimEvent",
    "ClaimNote",
    "ClaimPaymentIn",
    "ControlNumbersExhausted",
    "DisputeError",
    "DuplicateClaim",
    "DuplicateRequest",
    "IllegalTransition",
    "Interchange",
    "LeaseLost",
    "Leased",
    "Ledger",
    "LedgerError",
    "LegIn",
    "NewClaim",
    "NoteKind",
    "OutboxEntry",
    "OutboxItem",
    "PaymentDecision",
    "PaymentEffects",
    "RemittanceIdentity",
    "RemittanceOutcome",
    "RequestUpdate",
    "StoredClaim",
    "StoredLeg",
    "StoredPayment",
    "StoredRemittance",
    "StoredRequest",
    "UnknownClaim",
]


class Ledger(
    ClaimBatchBook,  # and ClaimBook, which it extends
    LeaseBook,
    InterchangeBook,
    ReceivedFileBook,
    RemittanceBook,
    PaymentBook,
    EligibilityBook,
    FollowupBook,
    OutboxBook,
    CorrectionBook,
    LegBook,
    UserBook,
    ClaimSearchBook,
    TrafficBook,
):
    """The ledger in one database (see ``db.open_ledger``, which migrates it first)."""
