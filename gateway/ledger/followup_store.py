"""The follow-up facts kept as the claims change (migration 0013): ``followup_facts`` holds the
facts of every claim's current version as ``followup_query`` works them out, and
``followup_dirty`` the claims written since (the database's triggers append them).

``refresh`` recomputes exactly the claims marked, a few thousand marks a transaction, and
deletes the marks it read (by id: a mark committed meanwhile stays for the next refresh). On
PostgreSQL refreshes take turns (an advisory lock), so a slower one never writes older facts
over a newer one's; on SQLite every transaction is the only writer. Readers refresh first,
which costs one indexed probe when nothing changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, func, insert, select, text, type_coerce, update
from sqlalchemy.engine import Connection, Engine

from gateway.ledger import driver_rows
from gateway.ledger.followup_query import CENT, facts_query, unpaid_lines
from gateway.ledger.id_sets import one_of
from gateway.ledger.records import CHUNK, dumps, instant
from gateway.ledger.schema import (
    claim_events,
    claims,
    followup_dirty,
    followup_facts,
    followup_generation,
)

REFRESH_MARKS = 50_000  # marks read per refresh transaction (a claim marked often: computed once)
# Claims worked out a query at a time: with fewer, PostgreSQL scanned the events and payments
# once per few hundred claims (the facts of 5,000 claims: 0.17 s at once, 0.5 s in tens).
_REFRESH_CHUNK = 5_000
_BURST = 5_000  # claims changed at once that make a refresh check the planner's counts
_REFRESH_LOCK = 0x66616374  # pg_advisory_xact_lock key of the refresh ("fact")


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What follow-up needs to know of a claim's current version (times in UTC)."""

    claim_id: str
    version: int
    partner: str
    payer_id: str
    payer_name: str
    state: str
    billed: Decimal
    paid: Decimal  # what payments in force paid
    service_from: str | None  # YYYY-MM-DD
    created_at: datetime
    submitted_at: datetime | None  # its latest upload (the times below are after it)
    acked_at: datetime | None  # a 999 accepted its file
    accepted_at: datetime | None  # a 277CA (or a 277) accepted it: the proof of timely filing
    rejected: dict[str, Any] | None  # the rejecting event's detail (source and codes)
    adjudicated_at: datetime | None  # the first 835 decision
    last_event_at: datetime
    held_payments: int = 0
    # lines the payments in force paid nothing for, as posted (line_id, procedure, charge,
    # adjustments): the worklist tells a denied line from a deductible one
    unpaid_lines: tuple[Mapping[str, Any], ...] = ()


_ZERO = Decimal("0.00")


def money(text: str | None) -> Decimal:
    return Decimal(text) if text else _ZERO


def rejections(connection: Connection, event_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The detail (and source) of each rejecting event, by event id."""
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(event_ids), CHUNK):
        chunk = event_ids[start : start + CHUNK]
        query = select(claim_events.c.id, claim_events.c.source, claim_events.c.detail)
        for e in connection.execute(query.where(claim_events.c.id.in_(chunk))):
            found[int(e.id)] = {"source": e.source, **json.loads(e.detail)}
    return found


def payer_names(connection: Connection, payer_ids: set[str]) -> dict[str, str]:
    """Each payer's name, from the newest claim record sent to it."""
    names = {}
    for payer_id in sorted(payer_ids):
        record = connection.execute(
            select(claims.c.record).where(claims.c.payer_id == payer_id)
            .order_by(claims.c.created_at.desc()).limit(1)
        ).scalar()  # fmt: skip
        name = (json.loads(record).get("payer") or {}).get("name") if record else None
        names[payer_id] = str(name or payer_id)
    return names


def fact_rows(
    connection: Connection, claim_ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The facts of every claim (or of ``claim_ids``) worked out from the ledger, as
    ``followup_facts`` keeps them: one grouped query (``facts_query``), the rejecting events'
    details and the postings with a line that paid nothing. Times stay as the driver gives
    them (SQLite: the text the ledger stored, which is what the kept row stores again)."""
    dialect = connection.dialect.name
    rows = connection.execute(facts_query(dialect, claim_ids)).all()
    rejecting = [int(r.rejected_id) for r in rows if r.state == "rejected" and r.rejected_id]
    why = rejections(connection, rejecting)
    unpaid = unpaid_lines(connection, claim_ids)
    scale = Decimal("0.01") if dialect == "sqlite" else Decimal(1)
    out = []
    for (claim_id, version, partner, payer_id, state, billed, service_from, created,
         updated, submitted_at, acked_999, accepted_at, adjudicated_at, last_event_at,
         rejected_id, paid, held) in rows:  # fmt: skip
        lines = unpaid.get((claim_id, int(version)))
        rejected = why.get(int(rejected_id)) if rejected_id is not None else None
        in_force = Decimal("0.00") if paid is None else (Decimal(paid) * scale).quantize(CENT)
        out.append({
            "claim_id": claim_id, "version": int(version), "partner": partner,
            "payer_id": payer_id, "state": state, "billed": billed, "paid": str(in_force),
            "service_from": service_from, "created_at": created, "submitted_at": submitted_at,
            # a 277CA (or a 277) accepting it says the payer has the claim, so its file too
            "acked_at": acked_999 or accepted_at, "accepted_at": accepted_at,
            "adjudicated_at": adjudicated_at, "last_event_at": last_event_at or updated,
            "rejected": None if rejected is None else dumps(rejected),
            "held": int(held or 0), "unpaid_lines": dumps(lines) if lines else None,
            "flagged": int(bool(lines) or bool(held)),
        })  # fmt: skip
    return out


_COLUMNS = [c.name for c in followup_facts.c]


def _insert_rows(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert the rows straight to the driver (``driver_rows``), their values as the driver gave
    them (SQLAlchemy's per-row parameter handling cost more than the rest of a refresh)."""
    values = [tuple(r[c] for c in _COLUMNS) for r in rows]
    driver_rows.insert_rows(connection, followup_facts, _COLUMNS, values)


def _refresh_some(connection: Connection) -> bool:
    """Recompute the claims of the oldest marks (up to ``REFRESH_MARKS``) and delete those
    marks; whether marks were left."""
    fd = followup_dirty.c
    if connection.execute(select(fd.id).limit(1)).first() is None:
        return False
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_REFRESH_LOCK)))
    marks = connection.execute(select(fd.id, fd.claim_id).order_by(fd.id).limit(REFRESH_MARKS))
    read = marks.all()
    if not read:  # another refresh took them while this one waited
        return False
    changed = sorted({m.claim_id for m in read})
    dialect = connection.dialect.name
    if dialect == "postgresql" and len(changed) >= _BURST:
        analyze_grown_tables(connection)
    ff = followup_facts.c
    for start in range(0, len(changed), _REFRESH_CHUNK):
        chunk = changed[start : start + _REFRESH_CHUNK]
        rows = fact_rows(connection, chunk)
        connection.execute(followup_facts.delete().where(one_of(dialect, ff.claim_id, chunk)))
        if rows:
            _insert_rows(connection, rows)
    bumped = connection.execute(
        update(followup_generation).where(followup_generation.c.id == 1)
        .values(value=followup_generation.c.value + 1)
    ).rowcount  # fmt: skip
    if not bumped:  # a new ledger (or its tables emptied): refreshes take turns, no race
        connection.execute(insert(followup_generation).values(id=1, value=1))
    ids = [int(m.id) for m in read]  # exactly these: not one committed since they were read
    connection.execute(followup_dirty.delete().where(one_of(dialect, fd.id, ids)))
    return len(read) == REFRESH_MARKS


# A table the planner still believes much smaller than it is (a young ledger's first burst:
# statistics that say claim_payments is empty) gets plans that test each row against every
# claim id of a refresh: 2.7 s a query at 25,000 claims, 147 s a refresh at 50,000. Autovacuum
# would analyze it within a minute or so; a refresh of thousands of claims does it first.
_GROWN = text(
    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
    "WHERE s.relname = ANY(:tables) AND s.schemaname = current_schema() "
    "AND s.n_mod_since_analyze > 1000 AND s.n_mod_since_analyze > 0.2 * greatest(c.reltuples, 0)"
)
_ANALYZED = ["claims", "claim_events", "claim_payments"]


def analyze_grown_tables(connection: Connection) -> list[str]:
    """ANALYZE the claim tables changed by more than a fifth since the planner last counted
    them (PostgreSQL); the tables analyzed."""
    grown = [str(name) for (name,) in connection.execute(_GROWN, {"tables": _ANALYZED})]
    for name in grown:
        connection.exec_driver_sql(f"ANALYZE {name}")
    return grown


def generation(connection: Connection) -> int:
    """How many refreshes changed the kept facts (read after a refresh)."""
    query = select(followup_generation.c.value).where(followup_generation.c.id == 1)
    return int(connection.execute(query).scalar() or 0)


def refresh(engine: Engine, connection: Connection | None = None) -> None:
    """Bring the kept facts up to date: in transactions of their own, or in ``connection``'s."""
    if connection is not None:
        while _refresh_some(connection):
            pass
        return
    more = True
    while more:
        with engine.begin() as own:
            more = _refresh_some(own)


_TIMES = ("created_at", "submitted_at", "acked_at", "accepted_at", "adjudicated_at",
          "last_event_at")  # fmt: skip
_READ = [type_coerce(c, String).label(c.name) if c.name in _TIMES else c
         for c in followup_facts.c]  # fmt: skip


def stored_facts(connection: Connection, *where: Any) -> list[ClaimFacts]:
    """The kept facts (of the claims ``where`` selects), in claim id order. Times are read
    raw and parsed by ``instant`` (a tenth of SQLAlchemy's cost on SQLite)."""
    query = select(*_READ).order_by(followup_facts.c.claim_id)
    rows = connection.execute(query.where(*where) if where else query).all()
    names = payer_names(connection, {r.payer_id for r in rows})
    return [claim_facts(r, names) for r in rows]


def recomputed_facts(connection: Connection) -> list[ClaimFacts]:
    """Every claim's facts worked out from the ledger now, without the kept ones (what the
    kept facts must equal)."""
    rows = fact_rows(connection)
    names = payer_names(connection, {r["payer_id"] for r in rows})
    return [claim_facts([r[c.name] for c in followup_facts.c], names) for r in rows]


def _when(value: Any) -> datetime | None:
    """``instant``, with SQLite's text (most rows) parsed inline: thousands of rows a page."""
    if value is None:
        return None
    if type(value) is str:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return instant(value)


def claim_facts(values: Sequence[Any], names: Mapping[str, str]) -> ClaimFacts:
    """A kept row (its columns in the table's order) as ClaimFacts."""
    (claim_id, version, partner, payer_id, state, billed, paid, service_from, created,
     submitted, acked, accepted, adjudicated, last, rejected, held, lines, _) = values  # fmt: skip
    created_at, last_event_at = _when(created), _when(last)
    assert created_at is not None and last_event_at is not None
    return ClaimFacts(
        claim_id, int(version), partner, payer_id, names.get(payer_id) or payer_id, state,
        Decimal(billed) if billed else _ZERO, Decimal(paid), service_from, created_at,
        _when(submitted), _when(acked), _when(accepted),
        None if rejected is None else json.loads(rejected), _when(adjudicated), last_event_at,
        int(held), tuple(json.loads(lines)) if lines else (),
    )  # fmt: skip


def payment_samples(
    connection: Connection, recent: int
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Per payer, (adjudicated_at, accepted_at) of its ``recent`` claims last decided by an
    835 after a 277CA acceptance, the latest first (for each payer, a walk of the index on
    payer and adjudication time)."""
    ff = followup_facts.c
    payers = connection.execute(select(ff.payer_id).group_by(ff.payer_id)).scalars().all()
    found: dict[str, list[tuple[datetime, datetime]]] = {}
    for payer in payers:
        query = (
            select(type_coerce(ff.adjudicated_at, String), type_coerce(ff.accepted_at, String))
            .where(
                ff.payer_id == payer, ff.adjudicated_at.is_not(None), ff.accepted_at.is_not(None)
            )
            .order_by(ff.adjudicated_at.desc(), ff.accepted_at)
            .limit(recent)
        )
        pairs = []
        for adjudicated, accepted in connection.execute(query):
            decided, acked = instant(adjudicated), instant(accepted)
            assert decided is not None and acked is not None
            pairs.append((decided, acked))
        if pairs:
            found[payer] = pairs
    return found


def claims_billed(connection: Connection, amount: Decimal, limit: int) -> list[str]:
    """The first ``limit`` claims (by id) whose kept total billed equals ``amount``."""
    if amount != amount.quantize(CENT):
        return []
    ff = followup_facts.c
    same = ff.billed == f"{amount:.2f}"
    if amount == 0:
        same = same | ff.billed.is_(None)  # no lines: billed 0.00
    query = select(ff.claim_id).where(same).order_by(ff.claim_id).limit(limit)
    return list(connection.execute(query).scalars())
