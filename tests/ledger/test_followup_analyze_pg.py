"""A young PostgreSQL ledger's first burst: the refresh analyzes the claim tables the planner
still believes much smaller than they are (PostgreSQL only: SQLite's planner keeps no such
counts, so this module's ``backend`` fixture says postgresql rather than skipping)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gateway.ledger.followup_store import analyze_grown_tables
from gateway.ledger.ledger import Ledger
from tests.ledger.conftest import ledger as ledger  # the fixture, emptied per test

ADD_CLAIMS = text(
    "INSERT INTO claims (claim_id, version, kind, frequency, partner, payer_id, state, record, "
    "created_at, updated_at) SELECT 'AN' || n, 1, 'professional', '1', 'acme', 'P1', 'queued', "
    "'{}', now(), now() FROM generate_series(1, :n) AS n"
)


@pytest.fixture(scope="module")
def backend() -> str:
    return "postgresql"


def _planned_rows(ledger: Ledger, table: str) -> float:
    with ledger.engine.begin() as connection:
        return float(connection.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}
        ).scalar_one())  # fmt: skip


def test_a_burst_of_claims_is_analyzed_once_and_small_changes_are_not(ledger: Ledger) -> None:
    with ledger.engine.begin() as connection:
        for table in ("claims", "claim_events", "claim_payments"):  # no race with autovacuum
            connection.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        connection.exec_driver_sql("ANALYZE claims")
        connection.execute(ADD_CLAIMS, {"n": 3000})
    with ledger.engine.begin() as connection:
        connection.exec_driver_sql("SELECT pg_stat_force_next_flush()")
    assert _planned_rows(ledger, "claims") < 100  # the planner still counts it empty
    with ledger.engine.begin() as connection:
        assert analyze_grown_tables(connection) == ["claims"]
    assert _planned_rows(ledger, "claims") == 3000
    with ledger.engine.begin() as connection:  # a few hundred more: autovacuum's business
        connection.execute(text(ADD_CLAIMS.text.replace("'AN'", "'AM'")), {"n": 500})
    with ledger.engine.begin() as connection:
        connection.exec_driver_sql("SELECT pg_stat_force_next_flush()")
    with ledger.engine.begin() as connection:
        assert analyze_grown_tables(connection) == []
