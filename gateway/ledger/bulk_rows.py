"""Many rows written in a few statements, their values handed straight to the driver.

SQLAlchemy's executemany processes every row's parameters (a time is converted twice per
row); here the time is bound once and the rows go to the driver's executemany, except the new
claim states on PostgreSQL: one UPDATE from arrays (``unnest``), which fires the follow-up
triggers of migration 0013 once rather than once per row, and costs the client a quarter of
the CPU (5,000 claims: 0.85 s of the server's time instead of 1.05-1.3 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, bindparam, text
from sqlalchemy.engine import Connection

from gateway.ledger.schema import claim_events, claims

# A claim version appears once in the arrays (the last state of it wins, as when each row was
# its own UPDATE: an UPDATE ... FROM updates a row once, with any of its matches).
_PG_SET_STATES = text(
    "UPDATE claims SET state = v.state, updated_at = :at "
    "FROM unnest(CAST(:ids AS VARCHAR[]), CAST(:versions AS INTEGER[]), "
    "CAST(:states AS VARCHAR[])) AS v(claim_id, version, state) "
    "WHERE claims.claim_id = v.claim_id AND claims.version = v.version"
).bindparams(bindparam("at", type_=claims.c.updated_at.type))
_SQLITE_SET_STATE = "UPDATE claims SET state = ?, updated_at = ? WHERE claim_id = ? AND version = ?"
_EVENT_COLUMNS = ("claim_id", "version", "event", "at", "source", "detail")


def bound_time(connection: Connection, column: Column[Any], when: datetime) -> Any:
    """``when`` as SQLAlchemy binds it for ``column`` (its type's own processors, once)."""
    dialect = connection.dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(when) if process is not None else when


def insert_rows(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    tail: str = "",
) -> None:
    """Insert ``rows`` (values in ``columns``' order, as the driver takes them) in the order
    given, with the driver's executemany; ``tail``: an ON CONFLICT clause. (On PostgreSQL the
    driver pipelines the rows of one prepared statement: faster than multi-row INSERTs, whose
    thousands of parameters it and the server parse for each statement.)"""
    if not rows:
        return
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    connection.exec_driver_sql(sql + tail, rows)


def set_states(connection: Connection, states: list[dict[str, Any]], now: datetime) -> None:
    """New claim states (``bulk.ClaimWrites.states``, all of time ``now``), in order."""
    if connection.dialect.name == "postgresql":
        last = {(s["b_id"], s["b_version"]): s["b_state"] for s in states}
        connection.execute(_PG_SET_STATES, {
            "at": now, "ids": [k[0] for k in last], "versions": [k[1] for k in last],
            "states": list(last.values()),
        })  # fmt: skip
        return
    at = bound_time(connection, claims.c.updated_at, now)
    rows = [(s["b_state"], at, s["b_id"], s["b_version"]) for s in states]
    connection.exec_driver_sql(_SQLITE_SET_STATE, rows)


def add_events(connection: Connection, events: list[dict[str, Any]], now: datetime) -> None:
    """Claim events (``bulk.ClaimWrites.events``, all of time ``now``), in order: their ids
    keep the order they happened in."""
    at = bound_time(connection, claim_events.c.at, now)
    rows = [(e["claim_id"], e["version"], e["event"], at, e["source"], e["detail"])
            for e in events]  # fmt: skip
    insert_rows(connection, "claim_events", _EVENT_COLUMNS, rows)
