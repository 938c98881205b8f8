"""One ledger transaction's work on claim payments: the rules that decide each payment, over a
view of the claims it touches read in a few queries up front, and what it decided written in a
few statements at the end (an 835 of tens of thousands of claims costs no query per claim).

The rules (see ``payments``): a payment is held when its remittance waits as a whole; when it is
not a reversal and the claim has a payment in force from the same payer and sequence that moved
money (a possible duplicate); when it is a reversal of nothing that can be told, or while another
payment of the claim from that payer waits for review. A payment in force marks what it
reverses ``reversed``, and a bare denial of the same payer and sequence ``superseded``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection, Row

from gateway.ledger import id_sets
from gateway.ledger.driver_rows import bound, insert_rows, update_rows
from gateway.ledger.id_sets import id_set, id_values
from gateway.ledger.records import (
    CHUNK,
    ClaimEvent,
    ClaimPaymentIn,
    OutboxItem,
    PaymentDecision,
    PaymentEffects,
    StoredPayment,
    dumps,
)
from gateway.ledger.schema import (
    IN_FORCE,
    TRANSITIONS,
    ClaimState,
    EventName,
    PaymentEvent,
    PaymentState,
    claim_events,
    claim_legs,
    claim_payments,
    claims,
    interchange_claims,
    remittances,
)

_P = PaymentState
_LOCK_NAMESPACE = 0x636C6169  # pg_advisory_xact_lock(namespace, hashtext(claim id)): "clai"
_PAYMENTS_LOCK = (0x7061796D, 0)  # every payment transaction's ("paym"): shared, or alone


class PaymentWork:
    """The claims of one transaction: their payments, sent versions and states, kept current
    in memory as decisions are taken, and the writes those decisions make."""

    def __init__(
        self,
        connection: Connection,
        claim_ids: Iterable[str],
        now: datetime,
        *,
        alone: bool = False,
    ) -> None:
        """``alone``: the transaction holds the payments lock alone (``lock_payments_alone``),
        so no claim lock is needed (nor taken: PostgreSQL's lock table holds a few thousand)."""
        self.connection = connection
        self.now = now
        ids = sorted(set(claim_ids))
        if not alone:
            _lock_claims(connection, ids)
        self.payments: dict[str, list[StoredPayment]] = {c: [] for c in ids}
        self.versions: dict[str, int] = {}
        self.states: dict[tuple[str, int], ClaimState] = {}
        self.frequencies: dict[tuple[str, int], str] = {}
        self.leg_versions: dict[tuple[str, str], int] = {}  # (claim, P/S/T) -> its version
        for start in range(0, len(ids), CHUNK):
            self._read(ids[start : start + CHUNK])
        self.new_rows: dict[int, list[Any]] = {}  # placeholder id (< 0) -> row to insert
        self.updates: dict[int, dict[str, Any]] = {}  # stored row id -> new values
        self.transitions: list[tuple[str, int, str]] = []  # claim id, version, new state
        self.events: list[tuple[str, int, str, str, str]] = []  # claim id, version, event,
        # source, detail (JSON)
        self.records: list[OutboxItem] = []

    def _read(self, chunk: list[str]) -> None:
        c = self.connection
        postgres = c.dialect.name == "postgresql"
        reads = _READS[postgres]
        ids = {"ids": id_values(postgres, chunk)}
        for row in c.execute(reads.payments, ids):
            self.payments[row.claim_id].append(stored_payment(row))
        for r in c.execute(reads.states, ids):
            claim_id, version = str(r.claim_id), int(r.version)
            self.states[(claim_id, version)] = ClaimState(r.state)
            self.frequencies[(claim_id, version)] = str(r.frequency)
            if version > self.versions.get(claim_id, 0):
                self.versions[claim_id] = version
        self.versions.update(  # the newest version sent wins over the newest stored
            (str(claim_id), int(version)) for claim_id, version in c.execute(reads.sent, ids)
        )
        self.leg_versions.update(
            ((str(r.claim_id), str(r.sequence)), int(r.version)) for r in c.execute(reads.legs, ids)
        )

    # -- deciding ------------------------------------------------------------------------------

    def decide(
        self,
        payment: ClaimPaymentIn,
        held_reasons: Sequence[dict[str, Any]],
        *,
        itself: int | None = None,
    ) -> PaymentDecision:
        """Post or hold one payment (``itself``: its own row, when it is stored already)."""
        mine = [
            p for p in self.payments.get(payment.claim_id, [])
            if p.payer_id == payment.payer_id and p.id != itself
        ]  # fmt: skip
        in_force = _in_force(mine)
        reasons = [*held_reasons, *payment.hold]
        reverses = None
        sequence: str | None
        if payment.reversal:
            reverses = reversal_target(payment, in_force)
            sequence = reverses.payer_sequence if reverses else None
            waiting = [p for p in mine if p.state == _P.HELD]
            if waiting:
                reasons.append({"reason": "payment_waiting_for_review",
                                "earlier": waiting[-1].named()})  # fmt: skip
            elif reverses is None:
                reasons.append({"reason": "nothing_to_reverse", "in_force": len(in_force)})
        else:
            sequence = payment.sequence or (in_force[-1].payer_sequence if in_force else None)
            sequence = sequence or payment.sequence_hint
            same = [p for p in in_force if p.payer_sequence == sequence and p.moves_money]
            if same:
                reasons.append({"reason": "possible_duplicate", "earlier": same[-1].named()})
        sequence = sequence or payment.sequence or payment.sequence_hint
        version = (
            reverses.version
            if reverses
            else self.leg_versions.get(
                (payment.claim_id, sequence or ""), self.versions.get(payment.claim_id)
            )
        )  # the version billed to this payer when the claim has legs, else the newest sent
        verdict = _P.HELD if reasons else _P.POSTED
        voids = replaces = None
        if verdict == _P.POSTED and reverses is not None:
            voids = self._void_in_flight(payment.claim_id, reverses, in_force)
        elif verdict == _P.POSTED and not payment.reversal:
            replaces = _replaced(mine)
        return PaymentDecision(version, sequence, verdict, tuple(reasons), reverses,
                               voids=voids, replaces=replaces)  # fmt: skip

    def _void_in_flight(
        self, claim_id: str, reverses: StoredPayment, in_force: list[StoredPayment]
    ) -> int | None:
        """The claim's newest version when it is a void (frequency 8) still in flight and this
        reversal takes back the last money the payer had in force for the claim."""
        newest = self.versions.get(claim_id)
        if newest is None or newest == reverses.version:
            return None
        if self.frequencies.get((claim_id, newest)) != "8":
            return None
        if self.states.get((claim_id, newest)) not in _VOID_IN_FLIGHT:
            return None
        if any(p.id != reverses.id and p.moves_money for p in in_force):
            return None
        return newest

    # -- recording -----------------------------------------------------------------------------

    def add(
        self,
        payment: ClaimPaymentIn,
        decision: PaymentDecision,
        remittance: Mapping[str, Any],
    ) -> None:
        """A new claim payment of the remittance (``id``, ``trace_number``, ``payment_date``,
        ``file_name``, ``archived_as``, ``partner``), written at ``flush``."""
        placeholder = -(len(self.new_rows) + 1)
        posting_id = str(payment.posting["id"])
        balance_id = str(payment.balance["id"]) if payment.balance else None
        reverses = decision.reverses.id if decision.reverses else None
        self.new_rows[placeholder] = [  # in the order of _PAYMENT_COLUMNS
            remittance["id"], payment.claim_id, decision.version, payment.payer_id,
            decision.sequence, payment.payer_claim_number or None, payment.status_code,
            payment.charge, payment.paid, payment.patient_responsibility, posting_id,
            balance_id, decision.verdict.value, reverses,
            dumps({"reasons": list(decision.reasons)}) if decision.reasons else None,
            dumps(dict(payment.posting)),
            dumps(dict(payment.balance)) if payment.balance else None,
        ]  # fmt: skip
        assert decision.reverses is None or decision.reverses.id > 0  # reversals come first
        stored = StoredPayment(
            id=placeholder, claim_id=payment.claim_id, version=decision.version,
            payer_id=payment.payer_id, payer_sequence=decision.sequence,
            payer_claim_number=payment.payer_claim_number or None,
            status_code=payment.status_code, charge=payment.charge, paid=payment.paid,
            patient_responsibility=payment.patient_responsibility, posting_id=posting_id,
            balance_id=balance_id, state=decision.verdict, reverses=reverses,
            detail={"reasons": list(decision.reasons)}, posting=dict(payment.posting),
            balance=dict(payment.balance) if payment.balance else None, recorded_at=self.now,
            updated_at=self.now, remittance_id=int(remittance["id"]),
            trace_number=remittance["trace_number"], payment_date=remittance["payment_date"],
            file_name=remittance["file_name"], archived_as=remittance.get("archived_as"),
            partner=remittance.get("partner"),
        )  # fmt: skip
        self.payments.setdefault(payment.claim_id, []).append(stored)
        self._in_force_effects(stored, decision)

    def settle(self, stored: StoredPayment, decision: PaymentDecision, review: Any) -> None:
        """A held payment released or discarded by review."""
        self._set(stored, decision.verdict, reverses=decision.reverses.id if decision.reverses
                  else None, detail=dumps(stored.detail | {"review": review}))  # fmt: skip
        self._in_force_effects(self._current(stored), decision)

    def _in_force_effects(self, stored: StoredPayment, decision: PaymentDecision) -> None:
        """A payment now in force: what it reverses is reversed, a bare denial of its payer and
        sequence superseded."""
        if decision.verdict not in IN_FORCE:
            return
        if decision.reverses is not None:
            self._set(self._current(decision.reverses), _P.REVERSED)
        elif not stored.reversal:
            mine = [p for p in self.payments[stored.claim_id] if p.payer_id == stored.payer_id]
            for p in _in_force(mine):
                if (
                    p.id != stored.id
                    and p.payer_sequence == stored.payer_sequence
                    and not (p.moves_money)
                ):
                    self._set(p, _P.SUPERSEDED)

    def _current(self, stored: StoredPayment) -> StoredPayment:
        return next(p for p in self.payments[stored.claim_id] if p.id == stored.id)

    def _set(self, stored: StoredPayment, state: PaymentState, **values: Any) -> None:
        """A payment's new state, in memory now and in the ledger at ``flush``."""
        fields = {"state": state, **{k: v for k, v in values.items() if k != "detail"}}
        found = self.payments[stored.claim_id]
        at = next(n for n, p in enumerate(found) if p.id == stored.id)
        found[at] = dataclasses.replace(found[at], **fields)
        change = {"state": state.value, "updated_at": self.now, **values}
        if stored.id < 0:  # written at ``flush``, at ``now`` (its updated_at)
            row = self.new_rows[stored.id]
            for name, value in change.items():
                if name != "updated_at":
                    row[_PAYMENT_COLUMNS.index(name)] = value
        else:
            self.updates.setdefault(stored.id, {}).update(change)

    def event(
        self,
        claim_id: str,
        decision: PaymentDecision,
        effect: PaymentEffects,
        source: str,
    ) -> ClaimEvent | None:
        """The claim's timeline event (and new state) for a decision, with the decision's output
        records; no event for a payment of a claim the ledger does not know."""
        self.records.extend(effect.records)
        if decision.version is None:
            return None
        state = self.states.get((claim_id, decision.version))
        if state is None:
            return None
        detail = dict(effect.detail)
        name: EventName
        if decision.verdict == _P.HELD:
            name = PaymentEvent.HELD
        elif decision.verdict == _P.DISCARDED:
            name = PaymentEvent.DISCARDED
        elif effect.claim_state is not None and effect.claim_state in TRANSITIONS[state]:
            name = effect.claim_state
            self.states[(claim_id, decision.version)] = effect.claim_state
            self.transitions.append((claim_id, decision.version, name.value))
        else:
            name = PaymentEvent.POSTED
            detail["claim_state"] = state.value  # the claim stays where it is
        self.events.append((claim_id, decision.version, name.value, source, dumps(detail)))
        if decision.voids is not None and decision.verdict in IN_FORCE:
            self._voided(claim_id, decision.voids, source, detail)
        return ClaimEvent(claim_id, decision.version, name, self.now, source, detail)

    def _voided(self, claim_id: str, version: int, source: str, detail: dict[str, Any]) -> None:
        """The void in flight ends voided: its reversal was posted (checked again here, the
        state machine is the one door)."""
        state = self.states.get((claim_id, version))
        if state is None or ClaimState.VOIDED not in TRANSITIONS[state]:
            return
        self.states[(claim_id, version)] = ClaimState.VOIDED
        self.transitions.append((claim_id, version, ClaimState.VOIDED.value))
        said = {k: detail[k] for k in _VOID_SAYS if k in detail}
        why = {**said, "why": "the payer took back the original's payment"}
        self.events.append((claim_id, version, ClaimState.VOIDED.value, source, dumps(why)))

    # -- writing -------------------------------------------------------------------------------

    def flush(self, add_outbox: Any) -> None:
        """Every write, in a few statements: new payments, changed ones, claim states, events
        (straight to the driver, ``driver_rows``), output records (``add_outbox``: the
        ledger's, one insert per 500)."""
        c = self.connection
        at = bound(c, claim_payments.c.recorded_at, self.now)  # every row's time
        insert_rows(c, claim_payments, _PAYMENT_COLUMNS,
                    [(*row, at, at) for row in self.new_rows.values()])  # fmt: skip
        for row_id, values in self.updates.items():
            c.execute(update(claim_payments).where(claim_payments.c.id == row_id).values(values))
        update_rows(c, claims, ("claim_id", "version"), ("state", "updated_at"),
                    [(*t, at) for t in self.transitions])  # fmt: skip
        insert_rows(c, claim_events, _EVENT_COLUMNS,
                    [(i, v, e, at, s, d) for i, v, e, s, d in self.events])  # fmt: skip
        add_outbox(c, self.records, self.now)


# The columns of a new claim payment as ``PaymentWork.add`` lists them (then recorded_at and
# updated_at, both ``now``), and of a claim event.
_PAYMENT_COLUMNS = (
    "remittance_id", "claim_id", "version", "payer_id", "payer_sequence", "payer_claim_number",
    "status_code", "charge", "paid", "patient_responsibility", "posting_id", "balance_id",
    "state", "reverses", "detail", "posting", "balance", "recorded_at", "updated_at",
)  # fmt: skip
_EVENT_COLUMNS = ("claim_id", "version", "event", "at", "source", "detail")


def lock_payments_alone(connection: Connection) -> None:
    """PostgreSQL: this transaction takes its claims chunk by chunk (a very large payment), so
    not in one fixed order: it waits until no other payment transaction runs, and keeps them
    waiting until it ends, so no two lock claims in crossed orders (no deadlock). It then
    needs no claim lock, and takes none: one per claim of a 20,000-claim payment would
    overflow PostgreSQL's lock table ("out of shared memory", max_locks_per_transaction)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                           dict(zip(("ns", "key"), _PAYMENTS_LOCK, strict=True)))  # fmt: skip


def _lock_claims(connection: Connection, claim_ids: list[str]) -> None:
    """PostgreSQL: one advisory lock per claim, in a fixed order (also for claims the ledger
    does not know), so two daemons never both post a claim's first payment; first the payment
    transactions' shared lock (see ``lock_payments_alone``). SQLite: the transaction's write
    lock already is the only one."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text("SELECT pg_advisory_xact_lock_shared(:ns, :key)"),
                       dict(zip(("ns", "key"), _PAYMENTS_LOCK, strict=True)))  # fmt: skip
    for start in range(0, len(claim_ids), CHUNK):
        connection.execute(
            text(
                "SELECT pg_advisory_xact_lock(:ns, hashtext(c)) "
                "FROM unnest(CAST(:claims AS text[])) AS c"
            ),
            {"ns": _LOCK_NAMESPACE, "claims": claim_ids[start : start + CHUNK]},
        )


_VOID_SAYS: tuple[str, ...] = ("file", "trace_number", "payment_date", "posting_id", "paid")
_VOID_IN_FLIGHT = frozenset({ClaimState.BATCHED, ClaimState.SUBMITTED, ClaimState.ACCEPTED})


def _replaced(mine: list[StoredPayment]) -> StoredPayment | None:
    """The payer's last decision on the claim, when a reversal took it back: the payment a new
    one of that payer takes the place of."""
    decided = [p for p in mine if not p.reversal and p.state not in (_P.HELD, _P.DISCARDED)]
    if decided and decided[-1].state == _P.REVERSED:
        return decided[-1]
    return None


def _in_force(payments: Iterable[StoredPayment]) -> list[StoredPayment]:
    return [p for p in payments if p.state in IN_FORCE and not p.reversal]


def reversal_target(
    reversal: ClaimPaymentIn, in_force: list[StoredPayment]
) -> StoredPayment | None:
    """What a reversal takes back: the payment in force with its payer claim number and the
    opposite amount, else with one of them, else the only one; None when it cannot be told."""
    number = reversal.payer_claim_number
    amount = -Decimal(reversal.paid)
    same_number = [p for p in in_force if (p.payer_claim_number or "") == number]
    for chosen in (
        [p for p in same_number if Decimal(p.paid) == amount],
        same_number,
        [p for p in in_force if Decimal(p.paid) == amount],
    ):
        if chosen:
            return chosen[-1]
    return in_force[0] if len(in_force) == 1 else None


_REMITTANCE = (
    remittances.c.trace_number.label("r_trace_number"),
    remittances.c.payment_date.label("r_payment_date"),
    remittances.c.file_name.label("r_file_name"),
    remittances.c.archived_as.label("r_archived_as"),
    remittances.c.partner.label("r_partner"),
)


def joined_payments() -> Any:
    """Claim payments with what their remittance says of them."""
    return select(claim_payments, *_REMITTANCE).join(
        remittances, remittances.c.id == claim_payments.c.remittance_id
    )


def stored_payment(row: Row[Any]) -> StoredPayment:
    return StoredPayment(
        id=int(row.id), claim_id=row.claim_id, version=row.version, payer_id=row.payer_id,
        payer_sequence=row.payer_sequence, payer_claim_number=row.payer_claim_number,
        status_code=row.status_code, charge=row.charge, paid=row.paid,
        patient_responsibility=row.patient_responsibility, posting_id=row.posting_id,
        balance_id=row.balance_id, state=_P(row.state), reverses=row.reverses,
        detail=json.loads(row.detail) if row.detail else {}, posting=json.loads(row.posting),
        balance=json.loads(row.balance) if row.balance else None,
        recorded_at=row.recorded_at, updated_at=row.updated_at,
        remittance_id=int(row.remittance_id), trace_number=row.r_trace_number,
        payment_date=row.r_payment_date, file_name=row.r_file_name,
        archived_as=row.r_archived_as, partner=row.r_partner,
    )  # fmt: skip


@dataclass(frozen=True)
class _Reads:
    """What PaymentWork reads of a chunk of claims, built once (compiled once): its payments,
    the states of every version (rows locked; the newest version stored among them), the
    newest version sent, the version each payer was billed."""

    payments: Any
    states: Any
    sent: Any
    legs: Any


def _reads(postgres: bool) -> _Reads:
    """The claim ids as one parameter ``ids`` (a PostgreSQL array, or a JSON array SQLite
    unnests): the statement is the same whatever their number, so the driver parses it once
    too, where an IN of one parameter per claim was parsed again by each payment."""
    ids = id_set(postgres, name="ids")

    def among(column: Any) -> Any:
        return id_sets.among(postgres, column, ids)

    return _Reads(
        payments=joined_payments().where(among(claim_payments.c.claim_id))
        .order_by(claim_payments.c.id),
        states=select(claims.c.claim_id, claims.c.version, claims.c.state, claims.c.frequency)
        .where(among(claims.c.claim_id)).with_for_update(),
        sent=select(interchange_claims.c.claim_id, func.max(interchange_claims.c.version))
        .where(among(interchange_claims.c.claim_id)).group_by(interchange_claims.c.claim_id),
        legs=select(claim_legs.c.claim_id, claim_legs.c.sequence, claim_legs.c.version)
        .where(among(claim_legs.c.claim_id), claim_legs.c.version.is_not(None)),
    )  # fmt: skip


_READS = {postgres: _reads(postgres) for postgres in (False, True)}
