"""Claim state changes for many claims in a few statements: the states read (rows locked) in one
query per 500 claims, every rule checked in memory, the new states, their events and output
records written with one ``executemany`` each.

A statement costs far more than a row (building and compiling it in SQLAlchemy, a round trip to
PostgreSQL), so a transaction over thousands of claims must not cost statements per claim. The
rules are those of ``LedgerBase._transition``, checked in the order the changes come: the view
keeps each claim's state current as changes apply, so two changes of one claim in one batch
see each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from gateway.ledger import driver_rows
from gateway.ledger.records import (
    CHUNK,
    ClaimEvent,
    IllegalTransition,
    OutboxItem,
    UnknownClaim,
    dumps,
)
from gateway.ledger.schema import TRANSITIONS, ClaimState, EventName, claim_events, claims

# Built once: the compiled form is cached by SQLAlchemy and reused by every batch.
_STATES = (
    select(claims.c.claim_id, claims.c.version, claims.c.state)
    .where(claims.c.claim_id.in_(bindparam("ids", expanding=True)))
    .order_by(claims.c.claim_id, claims.c.version)
    .with_for_update()
)
# Written straight to the driver (``driver_rows``): thousands of rows, one time for all of them.
_KEYS = ("claim_id", "version")
_STATE_COLUMNS = ("state", "updated_at")
_EVENT_COLUMNS = ("claim_id", "version", "event", "at", "source", "detail")


class ClaimStates:
    """Every version of some claims with its state, read once (rows locked, in claim id order
    so two writers never deadlock) and kept current in memory as changes apply."""

    def __init__(self, connection: Connection, claim_ids: Iterable[str]) -> None:
        self.versions: dict[str, dict[int, ClaimState]] = {}
        ids = sorted(set(claim_ids))
        for start in range(0, len(ids), CHUNK):
            rows = connection.execute(_STATES, {"ids": ids[start : start + CHUNK]})
            for claim_id, version, state in rows:
                self.versions.setdefault(str(claim_id), {})[int(version)] = ClaimState(state)

    def get(self, claim_id: str, version: int | None) -> tuple[int, ClaimState] | None:
        """(version, state) of the claim's current version (or ``version``), None if unknown."""
        found = self.versions.get(claim_id)
        if not found:
            return None
        if version is None:
            version = max(found)
        state = found.get(version)
        return None if state is None else (version, state)

    def set(self, claim_id: str, version: int, state: ClaimState) -> None:
        self.versions[claim_id][version] = state


def checked(view: ClaimStates, claim_id: str, version: int | None, new_state: ClaimState) -> int:
    """The version to move to ``new_state``; raises as ``LedgerBase._transition`` does."""
    return allowed(claim_id, view.get(claim_id, version), new_state)


def allowed(claim_id: str, current: tuple[int, ClaimState] | None, new_state: ClaimState) -> int:
    """The version of ``current`` (version, state) if it may move to ``new_state``; raises
    ``UnknownClaim`` or ``IllegalTransition`` otherwise (the one rule of every transition)."""
    if current is None:
        raise UnknownClaim(f"claim {claim_id}: not in the ledger")
    found_version, old_state = current
    if new_state not in TRANSITIONS[old_state]:
        raise IllegalTransition(
            f"claim {claim_id} version {found_version}: {old_state} -> {new_state} "
            "is not an allowed transition"
        )
    return found_version


class ClaimWrites:
    """New claim states, events and output records, written in a few statements by ``flush``."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.states: list[tuple[str, str, int]] = []  # (state, claim id, version)
        self.events: list[tuple[str, int, str, str, str]] = []  # all but the time
        self.records: list[OutboxItem] = []
        self._detail: tuple[dict[str, Any], str] | None = None  # the last detail, as JSON

    def transition(
        self,
        view: ClaimStates,
        claim_id: str,
        version: int,
        new_state: ClaimState,
        source: str,
        detail: Mapping[str, Any] | None,
    ) -> ClaimEvent:
        """The new state and its event (the caller checked the transition)."""
        view.set(claim_id, version, new_state)
        self.states.append((new_state.value, claim_id, version))
        return self.event(claim_id, version, new_state, source, detail)

    def event(
        self,
        claim_id: str,
        version: int,
        name: EventName,
        source: str,
        detail: Mapping[str, Any] | None,
    ) -> ClaimEvent:
        details = dict(detail or {})
        self.events.append((claim_id, version, name.value, source, self._dumps(details)))
        return ClaimEvent(claim_id, version, name, self.now, source, details)

    def _dumps(self, details: dict[str, Any]) -> str:
        """``dumps(details)``, written once for a run of equal details (the claims of one
        interchange or reply share theirs)."""
        last = self._detail
        if last is not None and last[0] == details:
            return last[1]
        text = dumps(details)
        self._detail = (dict(details), text)  # its own copy: the event keeps the other
        return text

    def flush(self, connection: Connection) -> None:
        """The states and events (output records are the caller's: ``records``)."""
        if self.states or self.events:
            at = driver_rows.bound(connection, claims.c.updated_at, self.now)
            if self.states:
                states = [(c, v, state, at) for state, c, v in self.states]
                driver_rows.update_rows(connection, claims, _KEYS, _STATE_COLUMNS, states)
            if self.events:
                events = [(c, v, event, at, source, d) for c, v, event, source, d in self.events]
                driver_rows.insert_rows(connection, claim_events, _EVENT_COLUMNS, events)
        self.states, self.events = [], []
