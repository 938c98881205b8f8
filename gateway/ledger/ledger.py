"""The ledger's API: every write to the ledger goes through a method of ``Ledger``.

Each method is one transaction. Claim states change only through ``transition``, which checks
``schema.TRANSITIONS`` and writes the new state and its event together. Work is shared between
workers (threads or daemons on one PostgreSQL) through leases taken with
``SELECT ... FOR UPDATE SKIP LOCKED``; on SQLite every transaction is ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, exists, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert

from gateway.ledger.schema import (
    REMITTANCE_TRANSITIONS,
    TRANSITIONS,
    ClaimState,
    OutboxKind,
    RemittanceState,
    claim_events,
    claims,
    control_numbers,
    interchange_claims,
    interchanges,
    leases,
    outbox,
    received_files,
    remittances,
)

MAX_CONTROL_NUMBER = 999_999_999  # ISA13 is 9 digits
_CHUNK = 500
_LEASE_ATTEMPTS = 5  # rounds of lease_queued when other workers took its candidates

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


@dataclass(frozen=True, slots=True)
class ClaimEvent:
    claim_id: str
    version: int
    event: ClaimState
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


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    record_id: str
    kind: OutboxKind
    payload: dict[str, Any]
    created_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _dumps(document: Any) -> str:
    return json.dumps(document, default=str, ensure_ascii=False, sort_keys=True)


def _claim_key(claim_id: str) -> str:
    return f"claim:{claim_id}"


class Ledger:
    """The ledger in one database (see ``db.open_ledger``, which migrates it first)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------------------------

    def _insert(self, connection: Connection, table: Any) -> Insert:
        """An INSERT that knows ON CONFLICT (PostgreSQL and SQLite spell it the same)."""
        if connection.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- control numbers -------------------------------------------------------------------

    def reserve_control_numbers(self, partner: str) -> tuple[int, int]:
        """The next (ISA13, GS06) for ``partner``: atomic, increasing, never handed out twice."""
        with self.engine.begin() as connection:
            stmt = self._insert(connection, control_numbers).values(
                partner=partner, last_interchange=1, last_group=1
            )
            stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=[control_numbers.c.partner],
                set_={
                    "last_interchange": control_numbers.c.last_interchange + 1,
                    "last_group": control_numbers.c.last_group + 1,
                },
            ).returning(control_numbers.c.last_interchange, control_numbers.c.last_group)
            interchange, group = connection.execute(stmt).one()
            if interchange > MAX_CONTROL_NUMBER or group > MAX_CONTROL_NUMBER:
                raise ControlNumbersExhausted(
                    f"partner {partner}: control numbers would exceed {MAX_CONTROL_NUMBER}"
                )
            return int(interchange), int(group)

    # -- claims ----------------------------------------------------------------------------

    def add_claim(
        self,
        record: Mapping[str, Any],
        *,
        kind: str,
        partner: str,
        payer_id: str,
        outbox_records: Callable[[int], Iterable[OutboxItem]] | None = None,
    ) -> int:
        """Queue a claim record; returns its version.

        The same ``claim_id`` again is refused (``DuplicateClaim``) unless its frequency is 7
        (replacement) or 8 (void), or the current version was rejected (a corrected claim):
        those become the next version.
        """
        claim_id = str(record["claim_id"])
        frequency = str(record.get("frequency", "1"))
        now = _now()
        try:
            with self.engine.begin() as connection:
                current = connection.execute(
                    select(claims.c.version, claims.c.state)
                    .where(claims.c.claim_id == claim_id)
                    .order_by(claims.c.version.desc())
                    .limit(1)
                ).first()
                if current is None:
                    version = 1
                elif frequency in ("7", "8") or current.state == ClaimState.REJECTED:
                    version = int(current.version) + 1
                else:
                    raise DuplicateClaim(
                        f"claim {claim_id}: already in the ledger (version {current.version}, "
                        f"{current.state}); send frequency 7 to replace it or 8 to void it"
                    )
                connection.execute(
                    claims.insert().values(
                        claim_id=claim_id,
                        version=version,
                        kind=kind,
                        frequency=frequency,
                        partner=partner,
                        payer_id=payer_id,
                        state=ClaimState.QUEUED.value,
                        record=_dumps(record),
                        payer_claim_number=record.get("payer_claim_number"),
                        created_at=now,
                        updated_at=now,
                    )
                )
                self._event(
                    connection, claim_id, version, ClaimState.QUEUED, now, "intake",
                    {"frequency": frequency, "partner": partner},
                )  # fmt: skip
                if outbox_records is not None:  # e.g. the "queued" status record
                    self._add_outbox(connection, outbox_records(version), now)
        except IntegrityError as error:  # a concurrent writer added the same version
            raise DuplicateClaim(f"claim {claim_id}: added concurrently") from error
        return version

    def _event(
        self,
        connection: Connection,
        claim_id: str,
        version: int,
        state: ClaimState,
        at: datetime,
        source: str,
        detail: Mapping[str, Any],
    ) -> None:
        connection.execute(
            claim_events.insert().values(
                claim_id=claim_id,
                version=version,
                event=state.value,
                at=at,
                source=source,
                detail=_dumps(dict(detail)),
            )
        )

    def claim(self, claim_id: str, version: int | None = None) -> StoredClaim | None:
        """The claim's current version (or ``version``), None if unknown."""
        query = select(claims).where(claims.c.claim_id == claim_id)
        if version is not None:
            query = query.where(claims.c.version == version)
        with self.engine.begin() as connection:
            row = connection.execute(query.order_by(claims.c.version.desc()).limit(1)).first()
        return None if row is None else _stored_claim(row)

    def current_claims(self, claim_ids: Sequence[str]) -> list[StoredClaim]:
        """The current versions of these claims, in the order asked (unknown ids left out)."""
        found: dict[str, StoredClaim] = {}
        with self.engine.begin() as connection:
            for start in range(0, len(claim_ids), _CHUNK):
                chunk = list(claim_ids[start : start + _CHUNK])
                rows = connection.execute(
                    select(claims).where(claims.c.claim_id.in_(chunk), _CURRENT_VERSION)
                ).all()
                found.update((row.claim_id, _stored_claim(row)) for row in rows)
        return [found[c] for c in claim_ids if c in found]

    def transition(
        self,
        claim_id: str,
        new_state: ClaimState,
        *,
        source: str,
        detail: Mapping[str, Any] | None = None,
        version: int | None = None,
        outbox_records: Iterable[OutboxItem] = (),
    ) -> ClaimEvent:
        """Move the claim's current version (or ``version``) to ``new_state``.

        The one door for state changes: the new state, its event and any ``outbox_records``
        (e.g. the status record for the practice) are written in one transaction, or nothing is
        (``IllegalTransition`` when ``schema.TRANSITIONS`` does not allow it).
        """
        with self.engine.begin() as connection:
            return self._transition(
                connection, claim_id, ClaimState(new_state), source=source,
                detail=detail, version=version, outbox_records=outbox_records, now=_now(),
            )  # fmt: skip

    def _transition(
        self,
        connection: Connection,
        claim_id: str,
        new_state: ClaimState,
        *,
        source: str,
        detail: Mapping[str, Any] | None,
        version: int | None,
        outbox_records: Iterable[OutboxItem],
        now: datetime,
    ) -> ClaimEvent:
        current = self._locked_state(connection, claim_id, version)
        if current is None:
            raise UnknownClaim(f"claim {claim_id}: not in the ledger")
        found_version, old_state = current
        if new_state not in TRANSITIONS[old_state]:
            raise IllegalTransition(
                f"claim {claim_id} version {found_version}: {old_state} -> {new_state} "
                "is not an allowed transition"
            )
        event = self._write_transition(
            connection, claim_id, found_version, new_state, source, detail, now
        )
        self._add_outbox(connection, outbox_records, now)
        return event

    def _locked_state(
        self, connection: Connection, claim_id: str, version: int | None
    ) -> tuple[int, ClaimState] | None:
        """(version, state) of the claim's current version (or ``version``), row locked."""
        query = select(claims.c.version, claims.c.state).where(claims.c.claim_id == claim_id)
        if version is not None:
            query = query.where(claims.c.version == version)
        row = connection.execute(
            query.order_by(claims.c.version.desc()).limit(1).with_for_update()
        ).first()
        return None if row is None else (int(row.version), ClaimState(row.state))

    def _write_transition(
        self,
        connection: Connection,
        claim_id: str,
        version: int,
        new_state: ClaimState,
        source: str,
        detail: Mapping[str, Any] | None,
        now: datetime,
    ) -> ClaimEvent:
        """The new state and its event (the caller checked the transition)."""
        connection.execute(
            update(claims)
            .where(claims.c.claim_id == claim_id, claims.c.version == version)
            .values(state=new_state.value, updated_at=now)
        )
        details = dict(detail or {})
        self._event(connection, claim_id, version, new_state, now, source, details)
        return ClaimEvent(claim_id, version, new_state, now, source, details)

    def history(self, claim_id: str) -> list[ClaimEvent]:
        """Every event of the claim (all versions), oldest first."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(claim_events)
                .where(claim_events.c.claim_id == claim_id)
                .order_by(claim_events.c.id)
            ).all()
        return [
            ClaimEvent(
                row.claim_id,
                row.version,
                ClaimState(row.event),
                row.at,
                row.source,
                json.loads(row.detail),
            )
            for row in rows
        ]

    def list_claims(
        self, state: ClaimState | str | None = None, *, limit: int = 1000, offset: int = 0
    ) -> list[StoredClaim]:
        """Current claim versions, newest change first (optionally only those in ``state``)."""
        query = select(claims).where(_CURRENT_VERSION)
        if state is not None:
            query = query.where(claims.c.state == ClaimState(state).value)
        query = query.order_by(claims.c.updated_at.desc(), claims.c.claim_id)
        with self.engine.begin() as connection:
            rows = connection.execute(query.limit(limit).offset(offset)).all()
        return [_stored_claim(r) for r in rows]

    def count_claims(self) -> dict[str, int]:
        """Current claim versions per state."""
        query = (
            select(claims.c.state, func.count()).where(_CURRENT_VERSION).group_by(claims.c.state)
        )
        with self.engine.begin() as connection:
            return {str(state): int(n) for state, n in connection.execute(query).all()}

    # -- leases ----------------------------------------------------------------------------

    def lease_queued(
        self, partner: str, kind: str, owner: str, limit: int, ttl_seconds: float
    ) -> list[str]:
        """Take up to ``limit`` queued claims of ``partner`` and ``kind`` for ``owner``.

        Two workers never get the same claim while its lease lasts (a claim under a live lease
        is not returned again, not even to its owner); an expired lease (a worker that died) is
        taken over. Only a claim's current version counts. The claim rows are locked with
        FOR UPDATE SKIP LOCKED on PostgreSQL, and a lease row is only written when free or
        expired, so a claim whose lease another worker committed meanwhile is not returned.
        """
        if limit <= 0:
            return []
        now = _now()
        expires = now + timedelta(seconds=ttl_seconds)
        work_key = literal("claim:") + claims.c.claim_id
        held = exists().where(leases.c.work_key == work_key, leases.c.expires_at > now)
        query = (
            select(claims.c.claim_id)
            .where(
                claims.c.state == ClaimState.QUEUED.value,
                claims.c.partner == partner,
                claims.c.kind == kind,
                _CURRENT_VERSION,
                ~held,
            )
            .order_by(claims.c.created_at, claims.c.claim_id)
            .with_for_update(skip_locked=True, of=claims)
        )
        leased: list[str] = []
        tried: set[str] = set()
        with self.engine.begin() as connection:
            # A claim leased by a worker that committed after our snapshot looks free but its
            # lease write is refused; each retry is a new statement, so a new snapshot.
            for _attempt in range(_LEASE_ATTEMPTS):
                round_query = query.where(claims.c.claim_id.not_in(tried)) if tried else query
                candidates = [
                    str(claim_id)
                    for claim_id in connection.execute(
                        round_query.limit(limit - len(leased))
                    ).scalars()
                ]
                if not candidates:
                    break
                tried.update(candidates)
                rows = [
                    {"work_key": _claim_key(c), "owner": owner, "expires_at": expires}
                    for c in candidates
                ]
                stmt = self._insert(connection, leases).values(rows)
                stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                    index_elements=[leases.c.work_key],
                    set_={"owner": owner, "expires_at": expires},
                    where=leases.c.expires_at <= now,
                ).returning(leases.c.work_key)
                taken = {str(key) for key in connection.execute(stmt).scalars()}
                leased.extend(c for c in candidates if _claim_key(c) in taken)
                if len(leased) >= limit:
                    break
        return leased

    def release_leases(self, claim_ids: Iterable[str], owner: str) -> int:
        """Give back ``owner``'s leases on these claims (others' leases stay)."""
        keys = [_claim_key(c) for c in claim_ids]
        with self.engine.begin() as connection:
            result = connection.execute(
                leases.delete().where(leases.c.work_key.in_(keys), leases.c.owner == owner)
            )
        return int(result.rowcount)

    def queued_summary(self, partner: str, kind: str) -> tuple[int, datetime | None]:
        """How many current claim versions of ``partner`` and ``kind`` wait queued and unleased,
        and when the oldest of them was queued (for the batch's "max wait")."""
        now = _now()
        work_key = literal("claim:") + claims.c.claim_id
        query = select(func.count(), func.min(claims.c.created_at)).where(
            claims.c.state == ClaimState.QUEUED.value,
            claims.c.partner == partner,
            claims.c.kind == kind,
            _CURRENT_VERSION,
            ~exists().where(leases.c.work_key == work_key, leases.c.expires_at > now),
        )
        with self.engine.begin() as connection:
            count, oldest = connection.execute(query).one()
        if isinstance(oldest, str):  # SQLite returns min() of a timestamp as text
            oldest = datetime.fromisoformat(oldest)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        return int(count), oldest

    def release_owner_leases(self, owner: str) -> int:
        """Drop every lease of ``owner``: a restarted worker takes back what it held when it
        died (one daemon per home holds the home's lock, so no live worker shares the name)."""
        with self.engine.begin() as connection:
            result = connection.execute(leases.delete().where(leases.c.owner == owner))
        return int(result.rowcount)

    # -- interchanges and received files ---------------------------------------------------

    def submit_interchange(
        self,
        partner: str,
        control_number: int,
        group_control_number: int,
        *,
        kind: str,
        file_name: str,
        sha256: str,
        claim_ids: Sequence[str],
        owner: str,
        status_records: Callable[[str, int], Iterable[OutboxItem]],
    ) -> int:
        """Record a built interchange and move its claims to ``submitted``, in one transaction.

        Either the interchange exists and every claim is submitted in it (with its status
        record in the outbox), or nothing happened: the file is then an orphan, never sent.
        """
        now = _now()
        try:
            with self.engine.begin() as connection:
                last = connection.execute(
                    select(control_numbers.c.last_interchange).where(
                        control_numbers.c.partner == partner
                    )
                ).scalar()
                if last is None or not 0 < control_number <= last:
                    raise LedgerError(
                        f"partner {partner}: control number {control_number} was never reserved"
                    )
                interchange_id = connection.execute(
                    interchanges.insert()
                    .values(
                        partner=partner, control_number=control_number,
                        group_control_number=group_control_number, kind=kind,
                        file_name=file_name, sha256=sha256, claim_count=len(claim_ids),
                        created_at=now,
                    )
                    .returning(interchanges.c.id)
                ).scalar_one()  # fmt: skip
                links = []
                records: list[OutboxItem] = []
                detail = {"file": file_name, "control_number": f"{control_number:09d}"}
                for claim_id in claim_ids:
                    event = self._transition(
                        connection, claim_id, ClaimState.SUBMITTED, source="837",
                        detail=detail, version=None, outbox_records=(), now=now,
                    )  # fmt: skip
                    records.extend(status_records(claim_id, event.version))
                    links.append(
                        {"interchange_id": interchange_id, "claim_id": claim_id,
                         "version": event.version}
                    )  # fmt: skip
                if links:
                    connection.execute(interchange_claims.insert(), links)
                self._add_outbox(connection, records, now)
                connection.execute(
                    leases.delete().where(
                        leases.c.work_key.in_([_claim_key(c) for c in claim_ids]),
                        leases.c.owner == owner,
                    )
                )
        except IntegrityError as error:
            raise LedgerError(
                f"partner {partner}: control number {control_number} is already used"
            ) from error
        return int(interchange_id)

    def interchange(
        self,
        *,
        partner: str | None = None,
        control_number: int | None = None,
        group_control_number: int | None = None,
        file_name: str | None = None,
    ) -> Interchange | None:
        """One interchange, by partner and ISA13 or GS06, or by its file name."""
        query = select(interchanges)
        if partner is not None:
            query = query.where(interchanges.c.partner == partner)
        if control_number is not None:
            query = query.where(interchanges.c.control_number == control_number)
        if group_control_number is not None:
            query = query.where(interchanges.c.group_control_number == group_control_number)
        if file_name is not None:
            query = query.where(interchanges.c.file_name == file_name)
        with self.engine.begin() as connection:
            row = connection.execute(query.order_by(interchanges.c.id.desc()).limit(1)).first()
        return None if row is None else _interchange(row)

    def interchange_claims(self, interchange_id: int) -> list[tuple[str, int]]:
        """The claims (id, version) sent in an interchange."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(interchange_claims.c.claim_id, interchange_claims.c.version)
                .where(interchange_claims.c.interchange_id == interchange_id)
                .order_by(interchange_claims.c.claim_id)
            ).all()
        return [(str(r.claim_id), int(r.version)) for r in rows]

    def claim_interchanges(self, claim_id: str) -> list[Interchange]:
        """Every interchange that carried a version of the claim, oldest first."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(interchanges)
                .join(interchange_claims, interchange_claims.c.interchange_id == interchanges.c.id)
                .where(interchange_claims.c.claim_id == claim_id)
                .order_by(interchanges.c.id)
            ).all()
        return [_interchange(r) for r in rows]

    def mark_interchange_sent(self, interchange_id: int, at: datetime | None = None) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(interchanges)
                .where(interchanges.c.id == interchange_id)
                .values(sent_at=at or _now())
            )

    def record_received_file(
        self, sha256: str, *, partner: str, name: str, kind: str, state: str = "received"
    ) -> bool:
        """Record a file taken in from a partner; False if this content was seen before."""
        recorded = self.apply_reply(sha256, partner=partner, name=name, kind=kind, changes=(),
                                    state=state)  # fmt: skip
        return recorded is not None

    def apply_reply(
        self,
        sha256: str,
        *,
        partner: str,
        name: str,
        kind: str,
        changes: Sequence[ClaimChange],
        state: str = "processed",
    ) -> ChangesApplied | None:
        """Record a received file and apply its claim changes, in one transaction.

        None when this content was recorded before (nothing applied again): a file processed
        before a crash is not processed twice, one that was not is processed whole.
        """
        now = _now()
        with self.engine.begin() as connection:
            stmt = self._insert(connection, received_files).values(
                partner=partner, name=name, sha256=sha256, kind=kind, received_at=now,
                state=state,
            )  # fmt: skip
            stmt = stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
                index_elements=[received_files.c.sha256]
            ).returning(received_files.c.id)
            if connection.execute(stmt).first() is None:
                return None
            return self._apply_changes(connection, changes, now)

    def received_file_known(self, sha256: str) -> bool:
        with self.engine.begin() as connection:
            return (
                connection.execute(
                    select(received_files.c.id).where(received_files.c.sha256 == sha256)
                ).first()
                is not None
            )

    def received_file_partner(self, name: str) -> str | None:
        """The partner a file of this name came from (the latest such file)."""
        with self.engine.begin() as connection:
            partner = connection.execute(
                select(received_files.c.partner)
                .where(received_files.c.name == name)
                .order_by(received_files.c.id.desc())
                .limit(1)
            ).scalar()
        return None if partner is None else str(partner)

    def received_name_known(self, partner: str, name: str) -> bool:
        """Whether a file of this name came from ``partner`` before (for ``leave`` downloads)."""
        with self.engine.begin() as connection:
            return (
                connection.execute(
                    select(received_files.c.id).where(
                        received_files.c.partner == partner, received_files.c.name == name
                    )
                ).first()
                is not None
            )

    # -- remittances -----------------------------------------------------------------------

    def apply_remittance(
        self,
        identity: RemittanceIdentity,
        *,
        file_name: str,
        control_number: str,
        state: RemittanceState,
        outbox_records: Iterable[OutboxItem],
        changes: Sequence[ClaimChange],
    ) -> ChangesApplied | None:
        """Record one payment with its output records and claim changes, in one transaction;
        None when the payment was recorded before (a re-sent 835 never posts twice)."""
        trace_number, payer_id, amount, payment_date = identity
        now = _now()
        with self.engine.begin() as connection:
            stmt = self._insert(connection, remittances).values(
                trace_number=trace_number, payer_id=payer_id, amount=amount,
                payment_date=payment_date, file_name=file_name, control_number=control_number,
                state=RemittanceState(state).value, recorded_at=now, updated_at=now,
            )  # fmt: skip
            stmt = stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
                index_elements=[
                    remittances.c.trace_number,
                    remittances.c.payer_id,
                    remittances.c.amount,
                    remittances.c.payment_date,
                ]
            ).returning(remittances.c.id)
            if connection.execute(stmt).first() is None:
                return None
            self._add_outbox(connection, outbox_records, now)
            return self._apply_changes(connection, changes, now)

    def remittance_state(self, identity: RemittanceIdentity) -> RemittanceState | None:
        with self.engine.begin() as connection:
            state = connection.execute(
                select(remittances.c.state).where(_identity_is(identity))
            ).scalar()
        return None if state is None else RemittanceState(state)

    def set_remittance_state(
        self,
        identity: RemittanceIdentity,
        new_state: RemittanceState,
        *,
        outbox_records: Iterable[OutboxItem] = (),
        changes: Sequence[ClaimChange] = (),
    ) -> None:
        """Release or discard a held payment (with the release's records and claim changes, in
        one transaction)."""
        new_state = RemittanceState(new_state)
        now = _now()
        with self.engine.begin() as connection:
            state = connection.execute(
                select(remittances.c.state).where(_identity_is(identity)).with_for_update()
            ).scalar()
            if state is None:
                raise LedgerError(f"remittance {identity}: not in the ledger")
            if new_state not in REMITTANCE_TRANSITIONS[RemittanceState(state)]:
                raise IllegalTransition(f"remittance {identity}: {state} -> {new_state}")
            connection.execute(
                update(remittances)
                .where(_identity_is(identity))
                .values(state=new_state.value, updated_at=now)
            )
            self._add_outbox(connection, outbox_records, now)
            self._apply_changes(connection, changes, now)

    def _apply_changes(
        self, connection: Connection, changes: Sequence[ClaimChange], now: datetime
    ) -> ChangesApplied:
        result = ChangesApplied([], [])
        records: list[OutboxItem] = []
        for change in changes:
            current = self._locked_state(connection, change.claim_id, change.version)
            if current is None:
                result.skipped.append((change.claim_id, "not in the ledger"))
                continue
            version, state = current
            if change.only_from is not None and state not in change.only_from:
                result.skipped.append((change.claim_id, f"already {state}"))
                continue
            if change.state not in TRANSITIONS[state]:
                result.skipped.append((change.claim_id, f"{state} -> {change.state} not allowed"))
                continue
            result.applied.append(
                self._write_transition(
                    connection, change.claim_id, version, change.state, change.source,
                    change.detail, now,
                )
            )  # fmt: skip
            records.extend(change.outbox_records)
        self._add_outbox(connection, records, now)  # one insert per 500 records, not per claim
        return result

    # -- outbox ----------------------------------------------------------------------------

    def add_outbox(self, records: Iterable[OutboxItem]) -> int:
        """Queue output records (kind, record with a stable ``"id"``); returns how many were
        new. A record id already in the outbox is ignored, emitted or not."""
        with self.engine.begin() as connection:
            return self._add_outbox(connection, records, _now())

    def _add_outbox(
        self, connection: Connection, records: Iterable[OutboxItem], now: datetime
    ) -> int:
        rows: dict[str, dict[str, Any]] = {}
        for kind, record in records:
            record_id = record.get("id")
            if not isinstance(record_id, str) or not record_id:
                raise LedgerError(f"outbox record without a string id: {dict(record)!r:.200}")
            rows.setdefault(
                record_id,
                {
                    "record_id": record_id,
                    "kind": OutboxKind(kind).value,
                    "payload": _dumps(dict(record)),
                    "created_at": now,
                },
            )
        added = 0
        values = list(rows.values())
        for start in range(0, len(values), _CHUNK):
            stmt = self._insert(connection, outbox).values(values[start : start + _CHUNK])
            stmt = stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
                index_elements=[outbox.c.record_id]
            ).returning(outbox.c.id)
            added += len(connection.execute(stmt).all())
        return added

    def pending_outbox(self, kind: OutboxKind | str, limit: int = 10_000) -> list[OutboxEntry]:
        """Records of ``kind`` not yet emitted, in the order they were added."""
        kind = OutboxKind(kind)
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(outbox)
                .where(outbox.c.kind == kind.value, outbox.c.emitted_at.is_(None))
                .order_by(outbox.c.id)
                .limit(limit)
            ).all()
        return [
            OutboxEntry(row.record_id, kind, json.loads(row.payload), row.created_at)
            for row in rows
        ]

    def open_batch(
        self, kind: OutboxKind | str, name: Callable[[], str], limit: int = 10_000
    ) -> tuple[str, list[OutboxEntry]] | None:
        """The next output file of ``kind`` to write: a batch assigned before a crash and not
        yet marked emitted (same name, same records), else up to ``limit`` pending records
        assigned now to a new batch called ``name()``; None when nothing is pending."""
        kind = OutboxKind(kind)
        with self.engine.begin() as connection:
            batch = connection.execute(
                select(outbox.c.batch)
                .where(
                    outbox.c.kind == kind.value,
                    outbox.c.emitted_at.is_(None),
                    outbox.c.batch.is_not(None),
                )
                .order_by(outbox.c.id)
                .limit(1)
            ).scalar()
            if batch is None:
                ids = list(
                    connection.execute(
                        select(outbox.c.id)
                        .where(
                            outbox.c.kind == kind.value,
                            outbox.c.emitted_at.is_(None),
                            outbox.c.batch.is_(None),
                        )
                        .order_by(outbox.c.id)
                        .limit(limit)
                    ).scalars()
                )
                if not ids:
                    return None
                batch = name()
                for start in range(0, len(ids), _CHUNK):
                    connection.execute(
                        update(outbox)
                        .where(outbox.c.id.in_(ids[start : start + _CHUNK]))
                        .values(batch=batch)
                    )
            rows = connection.execute(
                select(outbox).where(outbox.c.batch == batch).order_by(outbox.c.id)
            ).all()
        entries = [
            OutboxEntry(row.record_id, kind, json.loads(row.payload), row.created_at)
            for row in rows
        ]
        return str(batch), entries

    def mark_batch_emitted(self, batch: str, at: datetime | None = None) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(
                update(outbox)
                .where(outbox.c.batch == batch, outbox.c.emitted_at.is_(None))
                .values(emitted_at=at or _now())
            )
        return int(result.rowcount)


def _interchange(row: Row[Any]) -> Interchange:
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


_NEWER = claims.alias("newer")
# Only a claim's current (highest) version: no newer version of the same claim exists.
_CURRENT_VERSION = ~exists().where(
    _NEWER.c.claim_id == claims.c.claim_id, _NEWER.c.version > claims.c.version
)


def _identity_is(identity: RemittanceIdentity) -> Any:
    trace_number, payer_id, amount, payment_date = identity
    return and_(
        remittances.c.trace_number == trace_number,
        remittances.c.payer_id == payer_id,
        remittances.c.amount == amount,
        remittances.c.payment_date == payment_date,
    )


def _stored_claim(row: Row[Any]) -> StoredClaim:
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
    )
