"""Many claim states and events written on PostgreSQL in one statement each, their values as
arrays (``unnest``), not one statement per row (``executemany``).

On PostgreSQL a statement is a round trip and a plan, and the follow-up triggers on ``claims``
and ``claim_events`` (migration 0013) fire once per statement: per row, they cost more than the
row itself (0.14 ms a claim for the new states of a 999's claims). One set-based statement
fires them once, for all its rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from gateway.ledger.schema import claims

_PARAMETERS = 10_000  # at most a multi-row INSERT's (PostgreSQL allows 65,535)
_AT = claims.c.updated_at.type  # UTCDateTime: the time bound as every other write binds it

# A claim version appears once (the last state of it wins, as when each row was its own UPDATE).
_SET_STATES = text(
    "UPDATE claims SET state = v.state, updated_at = :at "
    "FROM unnest(CAST(:ids AS VARCHAR[]), CAST(:versions AS INTEGER[]), "
    "CAST(:states AS VARCHAR[])) AS v(claim_id, version, state) "
    "WHERE claims.claim_id = v.claim_id AND claims.version = v.version"
).bindparams(bindparam("at", type_=_AT))

# Inserted in the order given (ORDINALITY): event ids keep the order the events happened in.
_ADD_EVENTS = text(
    "INSERT INTO claim_events (claim_id, version, event, at, source, detail) "
    "SELECT v.claim_id, v.version, v.event, :at, v.source, v.detail "
    "FROM unnest(CAST(:ids AS VARCHAR[]), CAST(:versions AS INTEGER[]), "
    "CAST(:events AS VARCHAR[]), CAST(:sources AS VARCHAR[]), CAST(:details AS TEXT[])) "
    "WITH ORDINALITY AS v(claim_id, version, event, source, detail, n) ORDER BY v.n"
).bindparams(bindparam("at", type_=_AT))


def set_states(connection: Connection, states: list[dict[str, Any]], now: datetime) -> None:
    """``bulk._SET_STATE``'s rows (all of time ``now``) in one UPDATE."""
    last = {(s["b_id"], s["b_version"]): s["b_state"] for s in states}
    connection.execute(_SET_STATES, {
        "at": now, "ids": [k[0] for k in last], "versions": [k[1] for k in last],
        "states": list(last.values()),
    })  # fmt: skip


def add_events(connection: Connection, events: list[dict[str, Any]], now: datetime) -> None:
    """``claim_events`` rows (all of time ``now``) in one INSERT."""
    connection.execute(_ADD_EVENTS, {
        "at": now, "ids": [e["claim_id"] for e in events],
        "versions": [e["version"] for e in events], "events": [e["event"] for e in events],
        "sources": [e["source"] for e in events], "details": [e["detail"] for e in events],
    })  # fmt: skip


def insert_values(
    connection: Connection, head: str, rows: list[tuple[Any, ...]], tail: str = ""
) -> None:
    """``head`` (``INSERT INTO t (columns) VALUES``) with ``rows`` as multi-row VALUES, as
    many rows a statement as ``_PARAMETERS`` allows (``tail``: an ON CONFLICT):
    the driver's executemany sends a statement per row."""
    if not rows:
        return
    width = len(rows[0])
    mark = "(" + ", ".join(["%s"] * width) + ")"
    per = max(1, _PARAMETERS // width)
    for start in range(0, len(rows), per):
        batch = rows[start : start + per]
        sql = f"{head} {', '.join([mark] * len(batch))}{tail}"
        connection.exec_driver_sql(sql, tuple(v for row in batch for v in row))
