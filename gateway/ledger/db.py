"""Open a ledger: build the engine, upgrade the database to head, hand back a ``Ledger``.

``sqlite:///state/gateway.db`` (the default of a home) or ``postgresql+psycopg://...``
(``database.url``). SQLite runs in WAL mode with foreign keys on and a busy timeout, and every
transaction is ``BEGIN IMMEDIATE``: one writer at a time, so a read-then-write never races.
Several processes may open the same database at once: on PostgreSQL the upgrade holds an
advisory lock, on SQLite the write lock.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import StaticPool

from gateway.files import private_dir
from gateway.ledger.ledger import Ledger, LedgerError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_SECONDS = 30
SQLITE_CACHE_KIB = 32 * 1024  # per connection, filled as pages are read
SQLITE_CHECKPOINT_PAGES = 4000
PG_IDLE_IN_TRANSACTION_MS = 300_000  # longer than any pause of the daemon's own inside one
_UPGRADE_LOCK = 0x6C656467  # pg_advisory_xact_lock key for the schema upgrade ("ledg")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config built in code: script_location inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    database = parsed.database or ""
    kwargs: dict[str, Any] = {}
    if database in ("", ":memory:"):
        kwargs["poolclass"] = StaticPool  # one shared connection, else each sees its own DB
        connect_args: dict[str, Any] = {"check_same_thread": False}
    else:
        private_dir(Path(database).parent)
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))  # patient data: 0600
        connect_args = {}
    connect_args["timeout"] = SQLITE_BUSY_SECONDS
    engine = create_engine(url, connect_args=connect_args, hide_parameters=True, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A 32 MiB page cache (2 MiB by default) and a checkpoint every 4,000 pages (1,000):
        # a 5,000-claim cycle (bench daemon) read 357,000 pages back from the file, wrote
        # 650,000 and synced it 149 times; with these 114,000, 484,000 and 65, about a tenth
        # less CPU, 23 MiB more resident.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_ledger_engine(url: str) -> Engine:
    """An engine set up for the ledger (SQLite pragmas and locking, PostgreSQL pre-ping); its
    errors never show their SQL parameters (claim records hold patient data)."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        # A process stopped inside a transaction (SIGSTOP, a paused VM) would hold its row locks
        # until it wakes: the server ends such a session after a while, so the other daemons go
        # on (the stopped one finds its connection gone and its leases taken).
        options = f"-c idle_in_transaction_session_timeout={PG_IDLE_IN_TRANSACTION_MS}"
        return create_engine(url, pool_pre_ping=True, hide_parameters=True,
                             connect_args={"options": options})  # fmt: skip
    raise ValueError(f"database.url {url!r}: the ledger supports sqlite and postgresql")


class SchemaTooNew(LedgerError):
    """The database was migrated by a newer gateway than this one."""


def head_revision() -> str:
    """The newest schema revision this gateway knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to ``revision`` in one transaction; the revision it was at before.

    A database at a revision this gateway does not know (a newer gateway migrated it) is left
    alone: :class:`SchemaTooNew`.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        before = MigrationContext.configure(connection).get_current_revision()
        script = ScriptDirectory.from_config(alembic_config())
        if before is not None and before not in {s.revision for s in script.walk_revisions()}:
            raise SchemaTooNew(
                f"the ledger's schema is at revision {before}, newer than this gateway knows "
                f"(up to {script.get_current_head()}): run the gateway version that migrated "
                "it, or a newer one"
            )
        command.upgrade(alembic_config(connection), revision)
    return before


def open_ledger(url: str) -> Ledger:
    """The ledger at ``url``, its database upgraded to the newest schema."""
    engine = create_ledger_engine(url)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Ledger(engine)
