"""Ledger fixtures: every ledger test runs on SQLite and on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (trust auth, user postgres), or the one named by
``$GATEWAY_TEST_PG_URL`` (a URL of its maintenance database). Each test module gets its own
fresh database ``ledger_test_<random>``, dropped at the end; each test starts from empty tables.
When the server is not reachable the PostgreSQL tests fail (they never skip): run
``scripts/ensure-postgres.sh``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gateway.ledger.db import open_ledger
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import metadata

PG_ADMIN_URL = os.environ.get(
    "GATEWAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]

MakeDatabase = Callable[[], str]


def _pg_admin_check() -> None:
    engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    problem = ""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        problem = str(error.orig)
    finally:
        engine.dispose()
    if problem:
        pytest.fail(
            f"PostgreSQL is not reachable at {make_url(PG_ADMIN_URL).render_as_string()}: "
            f"{problem}\nThe ledger tests need it: run scripts/ensure-postgres.sh "
            "(or set GATEWAY_TEST_PG_URL to a reachable server's maintenance database).",
            pytrace=False,
        )


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def make_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeDatabase]:
    """A factory of empty databases of ``backend``; PostgreSQL ones are dropped afterwards."""
    created: list[str] = []
    if backend == "postgresql":
        _pg_admin_check()
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def make() -> str:
        if backend == "sqlite":
            folder: Path = tmp_path_factory.mktemp("ledger")
            return f"sqlite:///{folder / 'state' / 'gateway.db'}"
        name = f"ledger_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        if created:
            with admin.connect() as connection:
                for name in created:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def db_url(make_database: MakeDatabase) -> str:
    """The test module's database (one per backend)."""
    return make_database()


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    """An open ledger on the module's database, with every table emptied first."""
    with open_ledger(db_url) as opened:
        with opened.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(table.name for table in metadata.sorted_tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(metadata.sorted_tables):
                    connection.execute(table.delete())
        yield opened
