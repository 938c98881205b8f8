"""Claims and their versions: queued, looked up, listed, moved through the state machine."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gateway.ledger.base import LedgerBase
from gateway.ledger.records import (
    CHUNK,
    CURRENT_VERSION,
    ClaimEvent,
    DuplicateClaim,
    OutboxItem,
    StoredClaim,
    dumps,
    search_fields,
    stored_claim,
    utc_now,
)
from gateway.ledger.schema import (
    ClaimState,
    claim_events,
    claims,
    event_name,
)


class ClaimBook(LedgerBase):
    """Claim versions and their events."""

    def add_claim(
        self,
        record: Mapping[str, Any],
        *,
        kind: str,
        partner: str,
        payer_id: str,
        outbox_records: Callable[[int], Iterable[OutboxItem]] | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Queue a claim record; returns its version (``detail``: e.g. the file it came in).

        The same ``claim_id`` again is refused (``DuplicateClaim``) unless its frequency is 7
        (replacement) or 8 (void), or the current version was rejected (a corrected claim):
        those become the next version.
        """
        claim_id = str(record["claim_id"])
        frequency = str(record.get("frequency", "1"))
        now = utc_now()
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
                        record=dumps(record),
                        payer_claim_number=record.get("payer_claim_number"),
                        created_at=now,
                        updated_at=now,
                        **search_fields(record),
                    )
                )
                self._event(
                    connection, claim_id, version, ClaimState.QUEUED, now, "intake",
                    {"frequency": frequency, "partner": partner, **(detail or {})},
                )  # fmt: skip
                if outbox_records is not None:  # e.g. the "queued" status record
                    self._add_outbox(connection, outbox_records(version), now)
        except IntegrityError as error:  # a concurrent writer added the same version
            raise DuplicateClaim(f"claim {claim_id}: added concurrently") from error
        return version

    def claim(self, claim_id: str, version: int | None = None) -> StoredClaim | None:
        """The claim's current version (or ``version``), None if unknown."""
        query = select(claims).where(claims.c.claim_id == claim_id)
        if version is not None:
            query = query.where(claims.c.version == version)
        with self.engine.begin() as connection:
            row = connection.execute(query.order_by(claims.c.version.desc()).limit(1)).first()
        return None if row is None else stored_claim(row)

    def current_claims(
        self, claim_ids: Sequence[str], *, frequency: str | None = None
    ) -> list[StoredClaim]:
        """The current versions of these claims, in the order asked (unknown ids left out);
        with ``frequency``, only those of that frequency code (the others' records are not
        read)."""
        found: dict[str, StoredClaim] = {}
        with self.engine.begin() as connection:
            for start in range(0, len(claim_ids), CHUNK):
                chunk = list(claim_ids[start : start + CHUNK])
                query = select(claims).where(claims.c.claim_id.in_(chunk), CURRENT_VERSION)
                if frequency is not None:
                    query = query.where(claims.c.frequency == frequency)
                rows = connection.execute(query).all()
                found.update((row.claim_id, stored_claim(row)) for row in rows)
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
                detail=detail, version=version, outbox_records=outbox_records, now=utc_now(),
            )  # fmt: skip

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
                event_name(row.event),
                row.at,
                row.source,
                json.loads(row.detail),
            )
            for row in rows
        ]

    def list_claims(
        self,
        state: ClaimState | str | None = None,
        *,
        limit: int = 1000,
        offset: int = 0,
        patient: str | None = None,
        served_from: str | None = None,
        served_to: str | None = None,
        payer_id: str | None = None,
    ) -> list[StoredClaim]:
        """Current claim versions, newest change first; only those in ``state``, of a patient
        (``"LAST"`` or ``"LAST, FIRST"``, each a prefix, any case), with a date of service in
        ``served_from``..``served_to`` (YYYY-MM-DD, either may be open), or of ``payer_id``."""
        query = select(claims).where(CURRENT_VERSION)
        if state is not None:
            query = query.where(claims.c.state == ClaimState(state).value)
        if patient:
            last, _, first = (part.strip().upper() for part in patient.partition(","))
            query = query.where(claims.c.patient_last_name.startswith(last, autoescape=True))
            if first:
                query = query.where(claims.c.patient_first_name.startswith(first, autoescape=True))
        if served_from:  # the claim's service period reaches into the range
            query = query.where(claims.c.service_to >= served_from)
        if served_to:
            query = query.where(claims.c.service_from <= served_to)
        if payer_id:
            query = query.where(claims.c.payer_id == payer_id)
        query = query.order_by(claims.c.updated_at.desc(), claims.c.claim_id)
        with self.engine.begin() as connection:
            rows = connection.execute(query.limit(limit).offset(offset)).all()
        return [stored_claim(r) for r in rows]

    def count_claims(self) -> dict[str, int]:
        """Current claim versions per state."""
        query = select(claims.c.state, func.count()).where(CURRENT_VERSION).group_by(claims.c.state)
        with self.engine.begin() as connection:
            return {str(state): int(n) for state, n in connection.execute(query).all()}
