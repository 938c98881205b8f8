"""What the ledger hands out and takes in: errors, stored rows as dataclasses, the outbox
item type, and the small helpers every subject of the ledger shares."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import exists
from sqlalchemy.engine import Row

from gateway.ledger.schema import (
    ClaimState,
    EventName,
    OutboxKind,
    PaymentState,
    RemittanceState,
    RequestState,
    claims,
)

MAX_CONTROL_NUMBER = 999_999_999  # ISA13 is 9 digits
T = TypeVar("T")
CHUNK = 500

RemittanceIdentity = tuple[str, str, str, str]  # trace number, payer id, amount, payment date
OutboxItem = tuple[OutboxKind | str, Mapping[str, Any]]  # kind, record (with its stable "id")


class LedgerError(Exception):
    """The ledger refused a write; nothing was written."""


class DuplicateClaim(LedgerError):
    pass


class UnknownClaim(LedgerError):
    pass


class IllegalTransition(LedgerError):
    pass


class ControlNumbersExhausted(LedgerError):
    pass


@dataclass(frozen=True, slots=True)
class StoredClaim:
    claim_id: str
    version: int
    kind: str
    frequency: str
    partner: str
    payer_id: str
    state: ClaimState
    record: dict[str, Any]
    payer_claim_number: str | None
    created_at: datetime
    updated_at: datetime
    # the search columns (records.search_fields)
    patient_last_name: str | None = None
    patient_first_name: str | None = None
    service_from: str | None = None
    service_to: str | None = None
    billed: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimEvent:
    claim_id: str
    version: int
    event: EventName
    at: datetime
    source: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Interchange:
    id: int
    partner: str
    control_number: int
    group_control_number: int | None
    kind: str
    file_name: str
    sha256: str
    claim_count: int
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimChange:
    """A state change a reply asks for; applied only if the claim is in ``only_from`` (when
    given) and the state machine allows it, otherwise skipped with the reason."""

    claim_id: str
    state: ClaimState
    source: str
    detail: Mapping[str, Any]
    outbox_records: Sequence[OutboxItem] = ()
    only_from: frozenset[ClaimState] | None = None
    version: int | None = None


@dataclass
class ChangesApplied:
    applied: list[ClaimEvent]
    skipped: list[tuple[str, str]]  # claim id, why
    requests_applied: list[str] = field(default_factory=list)  # eligibility request ids
    requests_skipped: list[tuple[str, str]] = field(default_factory=list)  # request id, why


@dataclass(frozen=True, slots=True)
class ClaimPaymentIn:
    """One claim payment (a CLP) of a remittance, as the ledger takes it."""

    claim_id: str
    payer_id: str
    status_code: str  # CLP02
    payer_claim_number: str  # CLP07
    charge: str
    paid: str
    patient_responsibility: str
    posting: Mapping[str, Any]  # the posting record; its "id" is the posting id
    balance: Mapping[str, Any] | None = None
    sequence: str | None = None  # P, S or T when CLP02 says it (1/19, 2/20, 3/21)
    sequence_hint: str = "P"  # the claim's own sequence, for codes that do not say (4, 22, ...)
    hold: tuple[dict[str, Any], ...] = ()  # why the caller wants it held (e.g. an unbilled leg)

    @property
    def reversal(self) -> bool:
        return self.status_code == "22"


@dataclass(frozen=True, slots=True)
class StoredPayment:
    """A claim payment the ledger holds, with the remittance it came in."""

    id: int
    claim_id: str
    version: int | None
    payer_id: str
    payer_sequence: str
    payer_claim_number: str | None
    status_code: str
    charge: str
    paid: str
    patient_responsibility: str
    posting_id: str
    balance_id: str | None
    state: PaymentState
    reverses: int | None
    detail: dict[str, Any]
    posting: dict[str, Any]
    balance: dict[str, Any] | None
    recorded_at: datetime
    updated_at: datetime
    remittance_id: int
    trace_number: str
    payment_date: str
    file_name: str
    archived_as: str | None
    partner: str | None

    @property
    def reversal(self) -> bool:
        return self.status_code == "22"

    @property
    def moves_money(self) -> bool:
        """Whether it paid something or left someone a balance (a bare denial does not)."""
        return Decimal(self.paid) != 0 or self.balance_id is not None

    def incoming(self) -> ClaimPaymentIn:
        return ClaimPaymentIn(
            self.claim_id, self.payer_id, self.status_code, self.payer_claim_number or "",
            self.charge, self.paid, self.patient_responsibility, self.posting, self.balance,
            self.payer_sequence, self.payer_sequence,
        )  # fmt: skip

    def named(self) -> dict[str, Any]:
        """How a review names this payment: trace number, date, file, state."""
        return {
            "posting_id": self.posting_id, "claim_id": self.claim_id, "state": self.state.value,
            "trace_number": self.trace_number, "payment_date": self.payment_date or None,
            "paid": self.paid, "file": self.archived_as or self.file_name,
            "recorded_at": self.recorded_at.isoformat(timespec="seconds"),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class PaymentDecision:
    """What the ledger decided about one claim payment, for the caller to word its records.

    ``verdict``: posted, held, released or discarded. ``reasons``: why it is held (each a
    dict with a ``reason`` and the facts, e.g. the earlier payment it may duplicate).
    """

    version: int | None
    sequence: str
    verdict: PaymentState
    reasons: tuple[dict[str, Any], ...] = ()
    reverses: StoredPayment | None = None
    note: str = ""
    # a posted reversal that completes a void in flight: the void's version (it ends voided)
    voids: int | None = None
    # a payment after a reversal of the same payer: the reversed payment it takes the place of
    # (its balance record ``replaces`` that payment's)
    replaces: StoredPayment | None = None


@dataclass
class PaymentEffects:
    """A claim payment's output records, its timeline event's detail, and the claim state a
    posted payment moves its claim to (None: it moves none)."""

    records: list[OutboxItem]
    detail: dict[str, Any]
    claim_state: ClaimState | None = None


@dataclass(frozen=True, slots=True)
class StoredRemittance:
    """A remittance (an 835 transaction set) the ledger recorded."""

    id: int
    trace_number: str
    payer_id: str
    amount: str
    payment_date: str
    content_sha256: str
    file_name: str
    archived_as: str | None
    partner: str | None
    control_number: str
    state: RemittanceState
    detail: dict[str, Any]
    recorded_at: datetime
    updated_at: datetime

    def named(self) -> dict[str, Any]:
        """How a review names this remittance."""
        review = self.detail.get("review") or {}
        return {
            "trace_number": self.trace_number, "payer_id": self.payer_id, "amount": self.amount,
            "payment_date": self.payment_date or None, "state": self.state.value,
            "file": self.archived_as or self.file_name, "note": review.get("note"),
            "recorded_at": self.recorded_at.isoformat(timespec="seconds"),
        }  # fmt: skip


# Told each claim payment's decision as it is taken, inside the remittance's transaction.
Decided = Callable[[ClaimPaymentIn, PaymentDecision], None]


@dataclass
class RemittanceOutcome:
    """What one remittance did: its state, how many claim payments got each verdict, and each
    one's decision and claim event (none kept when the caller was told them one by one: a
    payment may pay a million claims)."""

    remittance_id: int
    state: str
    decisions: list[tuple[ClaimPaymentIn, PaymentDecision]]
    events: list[ClaimEvent]
    verdicts: dict[PaymentState, int] = field(default_factory=dict)

    def count(self, verdict: PaymentState) -> int:
        return self.verdicts.get(verdict, 0)

    @property
    def held(self) -> list[tuple[ClaimPaymentIn, PaymentDecision]]:
        return [(p, d) for p, d in self.decisions if d.verdict == PaymentState.HELD]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    record_id: str
    kind: OutboxKind
    payload: dict[str, Any]  # empty when read ``raw``: then ``text`` holds it
    created_at: datetime
    place: str | None = None  # its output stream (a partner's outputs folder; None: the home's)
    text: str | None = None  # the record as stored (one line of JSON), when read ``raw``


def utc_now() -> datetime:
    return datetime.now(UTC)


def instant(value: Any) -> datetime | None:
    """A time column read raw (``type_coerce(column, String)``) as the ledger means it (UTC,
    aware): SQLite's text
    parsed by ``fromisoformat`` costs a tenth of SQLAlchemy's processing, 10,000 rows a time."""
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(when, datetime)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), read lazily."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def dumps(document: Any) -> str:
    """A document as the ledger stores it: JSON, keys sorted, non-ASCII kept, what JSON cannot
    say as ``str``. The very text of ``json.dumps`` with those options, from its own C encoder
    built once (``json.dumps`` builds an encoder per call: a fifth of the time of a small
    document, and the ledger writes several per claim)."""
    if _ENCODER is None:
        return json.dumps(document, default=str, ensure_ascii=False, sort_keys=True)
    return "".join(_ENCODER(document, 0))


# markers None: no check for a document that contains itself (none does; Python's recursion
# limit stops one), so the encoder keeps no state from one call to the next.
_ENCODER: Callable[[Any, int], Sequence[str]] | None = (
    None if json.encoder.c_make_encoder is None  # type: ignore[attr-defined]
    else json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, str, json.encoder.encode_basestring, None, ": ", ", ", True, False, True
    )
)  # fmt: skip


def search_fields(record: Mapping[str, Any]) -> dict[str, str | None]:
    """The claims table's search columns, from a claim record (contract section 2): the
    patient (the subscriber when no patient is given), the dates of service of its lines (or
    of the claim, or the institutional statement period) and the total billed."""
    person = record.get("patient") or record.get("subscriber") or {}
    institutional = record.get("institutional") or {}
    lines = record.get("lines") or []
    dates = [str(d) for d in (line.get("service_date") for line in lines) if d]
    dates += [str(d) for d in (record.get("service_date"), institutional.get("statement_from"),
                               institutional.get("statement_to")) if d]  # fmt: skip
    try:
        billed: str | None = f"{sum(Decimal(str(line.get('charge', 0))) for line in lines):.2f}"
    except (ArithmeticError, ValueError):
        billed = None
    return {
        "patient_last_name": (str(person.get("last_name") or "").upper()[:60]) or None,
        "patient_first_name": (str(person.get("first_name") or "").upper()[:35]) or None,
        "service_from": min(dates)[:10] if dates else None,
        "service_to": max(dates)[:10] if dates else None,
        "billed": billed,
    }


def claim_key(claim_id: str) -> str:
    return f"claim:{claim_id}"


def interchange_of(row: Row[Any]) -> Interchange:
    return Interchange(
        id=int(row.id),
        partner=row.partner,
        control_number=int(row.control_number),
        group_control_number=row.group_control_number,
        kind=row.kind,
        file_name=row.file_name,
        sha256=row.sha256,
        claim_count=int(row.claim_count),
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


NEWER = claims.alias("newer")
# Only a claim's current (highest) version: no newer version of the same claim exists.
CURRENT_VERSION = ~exists().where(
    NEWER.c.claim_id == claims.c.claim_id, NEWER.c.version > claims.c.version
)


def stored_claim(row: Row[Any]) -> StoredClaim:
    return StoredClaim(
        claim_id=row.claim_id,
        version=row.version,
        kind=row.kind,
        frequency=row.frequency,
        partner=row.partner,
        payer_id=row.payer_id,
        state=ClaimState(row.state),
        record=json.loads(row.record),
        payer_claim_number=row.payer_claim_number,
        created_at=row.created_at,
        updated_at=row.updated_at,
        patient_last_name=row.patient_last_name,
        patient_first_name=row.patient_first_name,
        service_from=row.service_from,
        service_to=row.service_to,
        billed=row.billed,
    )


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """An eligibility request in the ledger, with its answer once it came."""

    request_id: str
    partner: str
    payer_id: str
    state: RequestState
    record: dict[str, Any]
    interchange_id: int | None
    answer: dict[str, Any] | None
    answer_file: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RequestUpdate:
    """What a reply says about one request: answered (a 271) or rejected (TA1, 999, AAA).

    ``answer`` is the benefits record: stored with the request and written to the outbox in the
    same transaction as the reply's record; applied only from ``only_from``.
    """

    request_id: str
    state: RequestState
    answer: Mapping[str, Any]
    file: str
    only_from: frozenset[RequestState] = frozenset({RequestState.SENT})


def request_key(request_id: str) -> str:
    return f"eligibility:{request_id}"


def stored_request(row: Row[Any]) -> StoredRequest:
    return StoredRequest(
        request_id=row.request_id,
        partner=row.partner,
        payer_id=row.payer_id,
        state=RequestState(row.state),
        record=json.loads(row.record),
        interchange_id=row.interchange_id,
        answer=json.loads(row.answer) if row.answer else None,
        answer_file=row.answer_file,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@dataclass(frozen=True, slots=True)
class ClaimNote:
    """A note on a claim, or a dispute opened or closed, with who wrote it and when."""

    id: int
    claim_id: str
    kind: str  # note, dispute_opened, dispute_closed
    text: str
    author: str
    at: datetime
