"""CLI tests of ledger commands reuse the ledger's database fixtures (SQLite and PostgreSQL)."""

from tests.ledger.conftest import backend, db_url, ledger, make_database  # noqa: F401
