"""The ledger's shared core: the engine, ON CONFLICT inserts, and the few writes every
subject uses (claim events, state changes, the outbox)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Self

from sqlalchemy import Engine, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.dml import Insert

from gateway.ledger import driver_rows
from gateway.ledger.bulk import ClaimStates, ClaimWrites, allowed
from gateway.ledger.records import (
    ChangesApplied,
    ClaimChange,
    ClaimEvent,
    LedgerError,
    OutboxItem,
    dumps,
)
from gateway.ledger.schema import (
    TRANSITIONS,
    ClaimState,
    EventName,
    OutboxKind,
    claim_events,
    claims,
    outbox,
)


class LedgerBase:
    """The engine and the writes every subject of the ledger shares."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def reachable(self) -> bool:
        """Whether the database answers now (a failed write may have been the data's fault)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _insert(self, connection: Connection, table: Any) -> Insert:
        """An INSERT that knows ON CONFLICT (PostgreSQL and SQLite spell it the same)."""
        if connection.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _event(
        self,
        connection: Connection,
        claim_id: str,
        version: int,
        state: EventName,
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
                detail=dumps(dict(detail)),
            )
        )

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
        found_version = allowed(claim_id, current, new_state)
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

    def _apply_changes(
        self, connection: Connection, changes: Sequence[ClaimChange], now: datetime
    ) -> ChangesApplied:
        """Each change checked as ``_transition`` checks it, in order; read and written in a
        few statements for the whole batch (``bulk``), not a few per claim."""
        result = ChangesApplied([], [])
        view = ClaimStates(connection, (change.claim_id for change in changes))
        writes = ClaimWrites(now)
        for change in changes:
            current = view.get(change.claim_id, change.version)
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
                writes.transition(view, change.claim_id, version, change.state, change.source,
                                  change.detail)
            )  # fmt: skip
            writes.records.extend(change.outbox_records)
        writes.flush(connection)
        self._add_outbox(connection, writes.records, now)  # one insert per 500 records
        return result

    def _add_outbox(
        self,
        connection: Connection,
        records: Iterable[OutboxItem],
        now: datetime,
        place: str | None = None,
        *,
        count: bool = False,
    ) -> int:
        """Queue output records (a record id already there is left alone), each with its place
        (its output stream): the partner it names, else the partner of a record of the same
        claim in this call (a posting and its status record), else ``place``; one place per
        stream whichever daemon writes it. With ``count``, how many were new (RETURNING them
        costs a row each: only ``add_outbox`` asks)."""
        records = list(records)
        by_claim = {
            str(r["claim_id"]): str(r["partner"])
            for _, r in records
            if isinstance(r.get("partner"), str) and r.get("partner") and r.get("claim_id")
        }
        rows: dict[str, dict[str, Any]] = {}
        for kind, record in records:
            record_id = record.get("id")
            if not isinstance(record_id, str) or not record_id:
                raise LedgerError(f"outbox record without a string id: {dict(record)!r:.200}")
            if record_id in rows:  # the first of one id is queued; the others left alone
                continue
            named = record.get("partner")
            rows[record_id] = {
                "record_id": record_id,
                "kind": OutboxKind(kind).value,
                "payload": dumps(dict(record)),
                "created_at": now,
                "place": named
                if isinstance(named, str) and named
                else by_claim.get(str(record.get("claim_id")), place),
            }
        if not rows:
            return 0
        if not count:
            _insert_outbox_rows(connection, list(rows.values()), now)
            return len(rows)
        # One compiled statement: executemany, which SQLAlchemy sends as multi-row INSERTs
        # ("insertmanyvalues"), RETURNING only the rows that were new.
        stmt = _OUTBOX_INSERT[connection.dialect.name == "postgresql"]
        counted = stmt.returning(outbox.c.id)
        return len(connection.execute(counted, list(rows.values())).all())


_OUTBOX_INSERT = {  # built once: their compiled forms are cached
    postgres: insert(outbox).on_conflict_do_nothing(index_elements=[outbox.c.record_id])
    for postgres, insert in ((False, sqlite.insert), (True, postgresql.insert))
}

_OUTBOX_COLUMNS = ("record_id", "kind", "payload", "created_at", "place")


def _insert_outbox_rows(connection: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """The rows (of one ``now``) sent straight to the driver (``driver_rows``), past SQLAlchemy's
    processing of each row's parameters; a record id already there is left alone, as with
    ``_OUTBOX_INSERT``."""
    at = driver_rows.bound(connection, outbox.c.created_at, now)
    values = [(r["record_id"], r["kind"], r["payload"], at, r["place"]) for r in rows]
    driver_rows.insert_rows(
        connection, outbox, _OUTBOX_COLUMNS, values, tail=" ON CONFLICT (record_id) DO NOTHING"
    )
