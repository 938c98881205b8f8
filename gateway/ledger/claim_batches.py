"""Many claims queued in one transaction: what intake does with a claim file.

``add_claims`` keeps ``add_claim``'s rules, claim by claim in the order given (a claim id the
ledger has is refused unless its frequency is 7 or 8 or its current version was rejected; the
same id twice in one batch sees the first), but reads the claims it needs in one query per 500
and writes the claims, their events and their output records with one statement each. When
the batch's write fails on a constraint (another writer queued one of its claims meanwhile),
nothing of it is kept and each claim is queued on its own, as ``add_claim`` would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from gateway.ledger import driver_rows
from gateway.ledger.bulk import ClaimStates, ClaimWrites
from gateway.ledger.claims import ClaimBook
from gateway.ledger.records import (
    CHUNK,
    CURRENT_VERSION,
    DuplicateClaim,
    OutboxItem,
    dumps,
    search_fields,
    utc_now,
)
from gateway.ledger.schema import ClaimState, claims

_SEARCH = ("patient_last_name", "patient_first_name", "service_from", "service_to", "billed")
_COLUMNS = ("claim_id", "version", "kind", "frequency", "partner", "payer_id", "state", "record",
            "payer_claim_number", "created_at", "updated_at", *_SEARCH)  # fmt: skip
_RECORDS = select(claims.c.claim_id, claims.c.version, claims.c.record).where(
    claims.c.claim_id.in_(bindparam("ids", expanding=True)), CURRENT_VERSION
)


@dataclass(frozen=True)
class NewClaim:
    """One claim to queue: ``add_claim``'s arguments."""

    record: Mapping[str, Any]
    kind: str
    partner: str
    payer_id: str
    outbox_records: Callable[[int], Iterable[OutboxItem]] | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None  # ``record`` as JSON already (stored as it is), if the caller has it


class ClaimBatchBook(ClaimBook):
    """Claims queued a batch at a time (and, inherited, one at a time)."""

    def add_claims(self, batch: Sequence[NewClaim]) -> list[int | DuplicateClaim]:
        """Queue the claims in one transaction; for each, its version or the
        ``DuplicateClaim`` that ``add_claim`` would have raised (nothing written for it)."""
        if not batch:
            return []
        try:
            return self._add_batch(batch)
        except IntegrityError:  # a concurrent writer: one at a time, each its own verdict
            return [self._add_one(new) for new in batch]

    def _add_one(self, new: NewClaim) -> int | DuplicateClaim:
        try:
            return self.add_claim(
                new.record, kind=new.kind, partner=new.partner, payer_id=new.payer_id,
                outbox_records=new.outbox_records, detail=new.detail,
            )  # fmt: skip
        except DuplicateClaim as refused:
            return refused

    def current_records(self, claim_ids: Sequence[str]) -> dict[str, str]:
        """The record of each claim's current version as the JSON text it is stored as
        (unknown ids left out): for a caller that validates it straight from JSON, which is
        faster than ``current_claims``' dicts."""
        found = self.current_record_versions(claim_ids)
        return {claim_id: text for claim_id, (_, text) in found.items()}

    def current_record_versions(self, claim_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        """``current_records`` with each one's version (unknown ids left out)."""
        found: dict[str, tuple[int, str]] = {}
        with self.engine.begin() as connection:
            for start in range(0, len(claim_ids), CHUNK):
                chunk = list(claim_ids[start : start + CHUNK])
                rows = connection.execute(_RECORDS, {"ids": chunk})
                found.update((str(c), (int(version), str(record))) for c, version, record in rows)
        return found

    def _add_batch(self, batch: Sequence[NewClaim]) -> list[int | DuplicateClaim]:
        now = utc_now()
        results: list[int | DuplicateClaim] = []
        rows: list[tuple[Any, ...]] = []
        writes = ClaimWrites(now)  # the events
        records: list[OutboxItem] = []
        with self.engine.begin() as connection:
            at = driver_rows.bound(connection, claims.c.created_at, now)
            view = ClaimStates(connection, (str(new.record["claim_id"]) for new in batch))
            for new in batch:
                claim_id = str(new.record["claim_id"])
                frequency = str(new.record.get("frequency", "1"))
                current = view.get(claim_id, None)
                if current is None:
                    version = 1
                elif frequency in ("7", "8") or current[1] == ClaimState.REJECTED:
                    version = current[0] + 1
                else:
                    results.append(DuplicateClaim(
                        f"claim {claim_id}: already in the ledger (version {current[0]}, "
                        f"{current[1]}); send frequency 7 to replace it or 8 to void it"
                    ))  # fmt: skip
                    continue
                view.versions.setdefault(claim_id, {})[version] = ClaimState.QUEUED
                found = search_fields(new.record)
                rows.append((
                    claim_id, version, new.kind, frequency, new.partner, new.payer_id,
                    ClaimState.QUEUED.value,
                    new.text if new.text is not None else dumps(new.record),
                    new.record.get("payer_claim_number"), at, at, *(found[k] for k in _SEARCH),
                ))  # fmt: skip
                detail = {"frequency": frequency, "partner": new.partner, **new.detail}
                writes.event(claim_id, version, ClaimState.QUEUED, "intake", detail)
                if new.outbox_records is not None:  # e.g. the "queued" status record
                    records.extend(new.outbox_records(version))
                results.append(version)
            if rows:  # straight to the driver, the claims before their events
                driver_rows.insert_rows(connection, claims, _COLUMNS, rows)
                writes.flush(connection)
            self._add_outbox(connection, records, now)
        return results
