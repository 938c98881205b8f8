"""Corrections' memory: notes and disputes on a claim, and the payer's number for a claim.

A replacement (frequency 7) or void (8) must name the payer's claim number of the original
(REF*F8); the practice may leave it out, so the ledger answers it from what the payer said
last: the 277CA that accepted the claim (REF*1K) or the 835 that paid it (CLP07). Notes and
disputes are append-only, like the claim's events: a dispute is closed by a later row, never
by changing the row that opened it.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.engine import Connection

from gateway.ledger.base import LedgerBase
from gateway.ledger.records import ClaimNote, LedgerError, UnknownClaim, utc_now
from gateway.ledger.schema import (
    ClaimState,
    PaymentState,
    claim_events,
    claim_notes,
    claim_payments,
    claims,
)

MAX_NOTE = 2000  # characters of one note
MAX_AUTHOR = 64


class NoteKind(StrEnum):
    NOTE = "note"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_CLOSED = "dispute_closed"


class DisputeError(LedgerError):
    """A dispute opened twice, or closed while none is open."""


class CorrectionBook(LedgerBase):
    """Notes, disputes and the payer's claim numbers."""

    def add_note(
        self, claim_id: str, text: str, *, author: str, kind: NoteKind = NoteKind.NOTE
    ) -> ClaimNote:
        """Keep a note (or open or close a dispute, ``text`` saying why) on a known claim."""
        kind = NoteKind(kind)
        text = text.strip()
        if not text:
            raise LedgerError("a note needs some text")
        if len(text) > MAX_NOTE:
            raise LedgerError(f"a note holds at most {MAX_NOTE} characters, got {len(text)}")
        author = (author.strip() or "unknown")[:MAX_AUTHOR]
        now = utc_now()
        with self.engine.begin() as connection:
            known = connection.execute(
                select(claims.c.version).where(claims.c.claim_id == claim_id).limit(1)
                .with_for_update()
            ).first()  # fmt: skip
            if known is None:
                raise UnknownClaim(f"claim {claim_id}: not in the ledger")
            if kind != NoteKind.NOTE:
                _check_dispute(connection, claim_id, kind)
            row_id = connection.execute(
                claim_notes.insert().values(
                    claim_id=claim_id, kind=kind.value, text=text, author=author, at=now
                ).returning(claim_notes.c.id)
            ).scalar_one()  # fmt: skip
        return ClaimNote(int(row_id), claim_id, kind.value, text, author, now)

    def notes(self, claim_id: str) -> list[ClaimNote]:
        """The claim's notes and dispute changes, oldest first."""
        with self.engine.begin() as connection:
            return _notes(connection, claim_id)

    def open_dispute(self, claim_id: str) -> ClaimNote | None:
        """The note that opened the claim's dispute, while it is open; else None."""
        with self.engine.begin() as connection:
            return _open_dispute(_notes(connection, claim_id))

    def payer_claim_number(
        self, claim_id: str, sequence: str = "P"
    ) -> tuple[str, str, datetime] | None:
        """The payer's latest number for the claim: (number, "277CA" or "835", when), from an
        accepting 277CA or from a payment at ``sequence`` (the payer leg: P, S, T; an 835's
        payer id is its own, not always the claim's) that is not a reversal (a corrected
        payment may bring a new number); None when the payer never said one."""
        found: list[tuple[datetime, str, str]] = []
        with self.engine.begin() as connection:
            events = connection.execute(
                select(claim_events.c.at, claim_events.c.detail).where(
                    claim_events.c.claim_id == claim_id,
                    claim_events.c.source == "277CA",
                    claim_events.c.event == ClaimState.ACCEPTED.value,
                )
            ).all()
            payments = connection.execute(
                select(claim_payments.c.recorded_at, claim_payments.c.payer_claim_number).where(
                    claim_payments.c.claim_id == claim_id,
                    claim_payments.c.payer_sequence == sequence,
                    claim_payments.c.status_code != "22",
                    claim_payments.c.payer_claim_number.is_not(None),
                    claim_payments.c.state.not_in(
                        [PaymentState.HELD.value, PaymentState.DISCARDED.value]
                    ),
                )
            ).all()
        for at, detail in events:
            number = json.loads(detail).get("payer_claim_number")
            if number:
                found.append((at, str(number), "277CA"))
        found += [(at, str(number), "835") for at, number in payments if number]
        if not found:
            return None
        at, number, source = max(found, key=lambda f: f[0])
        return number, source, at


def _notes(connection: Connection, claim_id: str) -> list[ClaimNote]:
    rows = connection.execute(
        select(claim_notes).where(claim_notes.c.claim_id == claim_id).order_by(claim_notes.c.id)
    ).all()
    return [ClaimNote(int(r.id), r.claim_id, r.kind, r.text, r.author, r.at) for r in rows]


def _open_dispute(notes: list[ClaimNote]) -> ClaimNote | None:
    opened: ClaimNote | None = None
    for note in notes:
        if note.kind == NoteKind.DISPUTE_OPENED:
            opened = note
        elif note.kind == NoteKind.DISPUTE_CLOSED:
            opened = None
    return opened


def _check_dispute(connection: Connection, claim_id: str, kind: NoteKind) -> None:
    opened = _open_dispute(_notes(connection, claim_id))
    if kind == NoteKind.DISPUTE_OPENED and opened is not None:
        raise DisputeError(
            f"claim {claim_id}: a dispute is already open (opened {opened.at:%Y-%m-%d %H:%M} "
            f"by {opened.author}: {opened.text}); close it first"
        )
    if kind == NoteKind.DISPUTE_CLOSED and opened is None:
        raise DisputeError(f"claim {claim_id}: no dispute is open, nothing to close")
