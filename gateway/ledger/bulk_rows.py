"""Many rows written in a few statements, their values handed straight to the driver.

SQLAlchemy's executemany processes every row's parameters (a time is converted twice per
row), and on PostgreSQL the driver sends a statement per row: a round trip and a plan each, and
the follow-up triggers of migration 0013, which fire once per statement, once per row (they
cost more than the row). Here PostgreSQL gets multi-row INSERTs and one UPDATE from arrays
(``unnest``); SQLite, in-process, the driver's executemany with the time bound once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, bindparam, text
from sqlalchemy.engine import Connection

from gateway.ledger.schema import claim_events, claims

_PARAMETERS = 10_000  # at most, a multi-row INSERT's (PostgreSQL allows 65,535)

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
    given; ``tail``: an ON CONFLICT clause. PostgreSQL: multi-row INSERTs of up to
    ``_PARAMETERS`` values; SQLite: executemany."""
    if not rows:
        return
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql(head + f"({', '.join(['?'] * len(columns))}){tail}", rows)
        return
    mark = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per = max(1, _PARAMETERS // len(columns))
    for start in range(0, len(rows), per):
        batch = rows[start : start + per]
        sql = head + ", ".join([mark] * len(batch)) + tail
        connection.exec_driver_sql(sql, tuple(v for row in batch for v in row))


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
