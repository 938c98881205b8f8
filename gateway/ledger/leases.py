"""Leases: queued claims (and eligibility requests) taken by one worker at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, literal, select
from sqlalchemy.engine import Connection

from gateway.ledger.base import LedgerBase
from gateway.ledger.records import (
    CURRENT_VERSION,
    claim_key,
    utc_now,
)
from gateway.ledger.schema import (
    ClaimState,
    claims,
    leases,
)

_LEASE_ATTEMPTS = 5  # rounds of lease_queued when other workers took its candidates


class LeaseBook(LedgerBase):
    """Work shared between workers through leases."""

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
        now = utc_now()
        expires = now + timedelta(seconds=ttl_seconds)
        work_key = literal("claim:") + claims.c.claim_id
        held = exists().where(leases.c.work_key == work_key, leases.c.expires_at > now)
        query = (
            select(claims.c.claim_id)
            .where(
                claims.c.state == ClaimState.QUEUED.value,
                claims.c.partner == partner,
                claims.c.kind == kind,
                CURRENT_VERSION,
                ~held,
            )
            .order_by(claims.c.created_at, claims.c.claim_id)
            .with_for_update(skip_locked=True, of=claims)
        )
        with self.engine.begin() as connection:
            return lease_rows(self, connection, query, claims.c.claim_id, claim_key, owner=owner,
                              limit=limit, now=now, expires=expires)  # fmt: skip

    def release_leases(
        self, claim_ids: Iterable[str], owner: str, key_of: Callable[[str], str] = claim_key
    ) -> int:
        """Give back ``owner``'s leases on these claims, or other work named by ``key_of``
        (others' leases stay)."""
        keys = [key_of(c) for c in claim_ids]
        with self.engine.begin() as connection:
            result = connection.execute(
                leases.delete().where(leases.c.work_key.in_(keys), leases.c.owner == owner)
            )
        return int(result.rowcount)

    def queued_summary(self, partner: str, kind: str) -> tuple[int, datetime | None]:
        """How many current claim versions of ``partner`` and ``kind`` wait queued and unleased,
        and when the oldest of them was queued (for the batch's "max wait")."""
        now = utc_now()
        work_key = literal("claim:") + claims.c.claim_id
        query = select(func.count(), func.min(claims.c.created_at)).where(
            claims.c.state == ClaimState.QUEUED.value,
            claims.c.partner == partner,
            claims.c.kind == kind,
            CURRENT_VERSION,
            ~exists().where(leases.c.work_key == work_key, leases.c.expires_at > now),
        )
        with self.engine.begin() as connection:
            count, oldest = connection.execute(query).one()
        return int(count), min_time(oldest)

    def release_owner_leases(self, owner: str) -> int:
        """Drop every lease of ``owner``: a restarted worker takes back what it held when it
        died (one daemon per home holds the home's lock, so no live worker shares the name)."""
        with self.engine.begin() as connection:
            result = connection.execute(leases.delete().where(leases.c.owner == owner))
        return int(result.rowcount)


def lease_rows(
    book: LedgerBase,
    connection: Connection,
    query: Select[Any],
    id_column: Any,
    key_of: Callable[[str], str],
    *,
    owner: str,
    limit: int,
    now: datetime,
    expires: datetime,
) -> list[str]:
    """Lease up to ``limit`` of the ids ``query`` selects (free of live leases, locked with
    SKIP LOCKED) for ``owner``; a lease row is only written when free or expired."""
    leased: list[str] = []
    tried: set[str] = set()
    # A row leased by a worker that committed after our snapshot looks free but its lease write
    # is refused; each retry is a new statement, so a new snapshot.
    for _attempt in range(_LEASE_ATTEMPTS):
        round_query = query.where(id_column.not_in(tried)) if tried else query
        found = connection.execute(round_query.limit(limit - len(leased))).scalars()
        candidates = [str(c) for c in found]
        if not candidates:
            break
        tried.update(candidates)
        rows = [{"work_key": key_of(c), "owner": owner, "expires_at": expires} for c in candidates]
        stmt = book._insert(connection, leases).values(rows)
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=[leases.c.work_key],
            set_={"owner": owner, "expires_at": expires},
            where=leases.c.expires_at <= now,
        ).returning(leases.c.work_key)
        taken = {str(key) for key in connection.execute(stmt).scalars()}
        leased.extend(c for c in candidates if key_of(c) in taken)
        if len(leased) >= limit:
            break
    return leased


def min_time(value: Any) -> datetime | None:
    """A ``min()`` of a timestamp column, timezone-aware (SQLite returns it as text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None
