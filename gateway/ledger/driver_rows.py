"""Many rows of one table written straight to the driver, past SQLAlchemy's processing of each
row's parameters: an 835 of thousands of claims writes thousands of rows of a dozen columns,
and binding them one value at a time cost more than the database's own work.

The caller hands plain tuples of values the driver takes as they are (strings, integers,
None); a time is bound once, by its column's own SQLAlchemy processor (``bound``). On
PostgreSQL all the rows go in one short statement (one array per column): one round trip, one
parse by the driver (a multi-row VALUES of thousands of placeholders is parsed again each
time), one firing of the table's statement triggers (the follow-up marks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, String, Table
from sqlalchemy.engine import Connection


def bound(connection: Connection, column: Column[Any], value: Any) -> Any:
    """``value`` as SQLAlchemy would bind it to ``column`` (a UTC time as SQLite stores it)."""
    dialect = connection.dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return value if process is None else process(value)


def insert_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    tail: str = "",
) -> None:
    """Insert ``rows`` (values in the order of ``columns``, in that order): ``executemany`` on
    SQLite; on PostgreSQL one INSERT ... SELECT from ``unnest`` of one array per column (a
    short statement, parsed once by the driver, however many rows). ``tail``: an ON CONFLICT
    clause."""
    if not rows:
        return
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) "
    if connection.dialect.name != "postgresql":
        marks = ", ".join("?" * len(columns))
        connection.exec_driver_sql(head + f"VALUES ({marks}){tail}", list(rows))
        return
    connection.exec_driver_sql(
        head + f"SELECT * FROM {_unnest(connection, table, columns)}{tail}", _arrays(rows)
    )


def update_rows(
    connection: Connection,
    table: Table,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Set ``columns`` of the rows named by ``keys``, each row's values being the keys' then the
    columns'. When two rows name one row of the table the last wins, as with one UPDATE after
    the other: ``executemany`` on SQLite; on PostgreSQL one UPDATE ... FROM ``unnest``, each
    table row once (the last values given for it)."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        sets = ", ".join(f"{c} = ?" for c in columns)
        where = " AND ".join(f"{k} = ?" for k in keys)
        n = len(keys)
        connection.exec_driver_sql(
            f"UPDATE {table.name} SET {sets} WHERE {where}",
            [(*row[n:], *row[:n]) for row in rows],
        )
        return
    last = list({row[: len(keys)]: row for row in rows}.values())
    names = [*keys, *columns]
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    where = " AND ".join(f"{table.name}.{k} = v.{k}" for k in keys)
    connection.exec_driver_sql(
        f"UPDATE {table.name} SET {sets} FROM {_unnest(connection, table, names)} "
        f"AS v ({', '.join(names)}) WHERE {where}",
        _arrays(last),
    )


def _unnest(connection: Connection, table: Table, columns: Sequence[str]) -> str:
    """``unnest`` of one array parameter per column, each cast to its column's type (a string
    as TEXT: a CAST to VARCHAR(n) would cut a longer value silently)."""
    types = [
        "TEXT" if isinstance(table.c[name].type, String)
        else table.c[name].type.compile(connection.dialect)
        for name in columns
    ]  # fmt: skip
    return f"unnest({', '.join(f'CAST(%b AS {t}[])' for t in types)})"


def _arrays(rows: Sequence[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """The rows' values column by column."""
    return tuple(list(column) for column in zip(*rows, strict=True))
