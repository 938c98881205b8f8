"""Leases: queued claims (and eligibility requests) taken by one worker at a time.

A lease lasts ``ttl`` seconds; its worker renews it while it works (``renew_leases``, from a
heartbeat thread), so only a worker that died or stalled loses it, and another takes the work
over. Each take of a lease writes a new fencing token; the write that finishes the work (the
interchange that batches the claims, the 270 that carries the requests) checks in its own
transaction that the lease still has that owner and token (``hold_leases``). A worker that
stalled past its lease (a paused VM, SIGSTOP, a long GC) finds on waking that another took the
work, and writes nothing. The token is compared for equality with what the lease row holds now,
so it only has to be new at each take: a random 62-bit number, no shared counter.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, literal, select, update
from sqlalchemy.engine import Connection

from gateway.ledger.base import LedgerBase
from gateway.ledger.records import (
    CHUNK,
    CURRENT_VERSION,
    LedgerError,
    claim_key,
    utc_now,
)
from gateway.ledger.schema import (
    ClaimState,
    claims,
    leases,
)

_LEASE_ATTEMPTS = 5  # rounds of lease_queued when other workers took its candidates


class LeaseLost(LedgerError):
    """Work this write relied on is no longer leased to its worker with its token (the worker
    stalled past its lease and another took it over): nothing was written."""


class Leased(list[str]):
    """Ids of work leased together, with the lease's fencing token."""

    def __init__(self, ids: Iterable[str] = (), token: int = 0) -> None:
        super().__init__(ids)
        self.token = token


def new_token() -> int:
    """A fencing token: new at each take of a lease (compared for equality, never ordered)."""
    return 1 + secrets.randbits(62)


def hold_leases(connection: Connection, keys: Sequence[str], *, owner: str, token: int) -> None:
    """In the caller's transaction: every lease ``keys`` is still ``owner``'s with ``token``
    (rows locked until the end of the transaction); else :class:`LeaseLost`."""
    wanted = set(keys)
    held: set[str] = set()
    ordered = sorted(wanted)
    for start in range(0, len(ordered), CHUNK):
        held.update(
            connection.execute(
                select(leases.c.work_key)
                .where(
                    leases.c.work_key.in_(ordered[start : start + CHUNK]),
                    leases.c.owner == owner,
                    leases.c.token == token,
                )
                .order_by(leases.c.work_key)
                .with_for_update()
            ).scalars()
        )
    if held != wanted:
        lost = sorted(wanted - held)
        raise LeaseLost(
            f"{len(lost)} of {len(wanted)} leases are no longer held by {owner} (first: "
            f"{lost[0]}): another worker took the work over after the lease ran out"
        )


class LeaseBook(LedgerBase):
    """Work shared between workers through leases."""

    def lease_queued(
        self, partner: str, kind: str, owner: str, limit: int, ttl_seconds: float
    ) -> Leased:
        """Take up to ``limit`` queued claims of ``partner`` and ``kind`` for ``owner``.

        Two workers never get the same claim while its lease lasts (a claim under a live lease
        is not returned again, not even to its owner); an expired lease (a worker that died) is
        taken over. Only a claim's current version counts. The claim rows are locked with
        FOR UPDATE SKIP LOCKED on PostgreSQL, and a lease row is only written when free or
        expired, so a claim whose lease another worker committed meanwhile is not returned.
        """
        if limit <= 0:
            return Leased()
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

    def renew_leases(self, owner: str, ttl_seconds: float) -> int:
        """Push back the end of every lease ``owner`` holds (its heartbeat): a lease another
        worker has taken over is not ``owner``'s any more and stays as it is."""
        expires = utc_now() + timedelta(seconds=ttl_seconds)
        with self.engine.begin() as connection:
            result = connection.execute(
                update(leases).where(leases.c.owner == owner).values(expires_at=expires)
            )
        return int(result.rowcount)

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
) -> Leased:
    """Lease up to ``limit`` of the ids ``query`` selects (free of live leases, locked with
    SKIP LOCKED) for ``owner``, under one new fencing token; a lease row is only written when
    free or expired."""
    leased = Leased(token=new_token())
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
        rows = [
            {"work_key": key_of(c), "owner": owner, "expires_at": expires, "token": leased.token}
            for c in candidates
        ]
        # executemany of one statement (its compiled form cached; SQLAlchemy sends it as
        # multi-row INSERTs), RETURNING the rows written: those free or expired
        taken = {
            str(key) for key in connection.execute(_take(book, connection, now), rows).scalars()
        }
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


def _take(book: LedgerBase, connection: Connection, now: datetime) -> Any:
    """The lease rows' INSERT: a lease row is written when free, or taken over when expired
    at ``now``, each written row's key returned (the values are the rows': executemany)."""
    stmt = book._insert(connection, leases)
    return stmt.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=[leases.c.work_key],
        set_={
            "owner": stmt.excluded.owner,  # type: ignore[attr-defined]
            "expires_at": stmt.excluded.expires_at,  # type: ignore[attr-defined]
            "token": stmt.excluded.token,  # type: ignore[attr-defined]
        },
        where=leases.c.expires_at <= now,
    ).returning(leases.c.work_key)
