"""The migrations build the schema of schema.py on an empty database, on both backends."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from gateway.ledger.db import alembic_config, create_ledger_engine, open_ledger
from gateway.ledger.schema import metadata

MakeDatabase = Callable[[], str]  # the make_database fixture (conftest.py)

TABLES = {
    "claims",
    "claim_legs",
    "leg_sources",
    "claim_events",
    "claim_notes",
    "control_numbers",
    "interchanges",
    "interchange_claims",
    "received_files",
    "remittances",
    "claim_payments",
    "outbox",
    "leases",
    "eligibility_requests",
    "status_inquiries",
    "users",  # the web view's (users.py)
    "web_sessions",
    "audit_events",
    "followup_facts",  # the kept follow-up facts (0013)
    "followup_dirty",
    "followup_generation",
}


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_open_ledger_migrates_an_empty_database_to_head(make_database: MakeDatabase) -> None:
    url = make_database()
    engine = create_ledger_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == set()
    finally:
        engine.dispose()
    with open_ledger(url) as ledger, ledger.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == TABLES | {"alembic_version"}
        assert MigrationContext.configure(connection).get_current_revision() == _head()
        # the migration and schema.py describe the same tables, columns, keys and indexes
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), metadata
        )
        assert diff == []
    with open_ledger(url) as again:  # opening a migrated database changes nothing
        assert again.reserve_control_numbers("acme") == (1, 1)


def test_downgrade_to_base_and_back(make_database: MakeDatabase) -> None:
    url = make_database()
    open_ledger(url).close()
    engine = create_ledger_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(make_database: MakeDatabase) -> None:
    url = make_database()
    with open_ledger(url) as ledger, ledger.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            return
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_the_search_columns_are_filled_for_claims_stored_before_them(
    make_database: MakeDatabase,
) -> None:
    import json

    from sqlalchemy import text

    url = make_database()
    engine = create_ledger_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")
            record = {"claim_id": "OLD-1", "subscriber": {"last_name": "Smith",
                      "first_name": "Al"}, "lines": [{"charge": "75", "service_date":
                      "2026-01-02"}]}  # fmt: skip
            connection.execute(
                text(
                    "INSERT INTO claims (claim_id, version, kind, frequency, partner, payer_id,"
                    " state, record, created_at, updated_at) VALUES ('OLD-1', 1, 'professional',"
                    " '1', 'acme', '87726', 'queued', :record, :now, :now)"
                ),
                {"record": json.dumps(record), "now": "2026-01-03 00:00:00+00:00"},
            )
            command.upgrade(alembic_config(connection), "head")
            row = connection.execute(
                text("SELECT patient_last_name, service_from, billed FROM claims")
            ).one()
        assert tuple(row) == ("SMITH", "2026-01-02", "75.00")
    finally:
        engine.dispose()


def test_claim_payments_are_filled_from_the_postings_posted_before_them(
    make_database: MakeDatabase,
) -> None:
    """A home upgraded with payments already posted: a duplicate of one is still caught."""
    import json

    from sqlalchemy import text

    from gateway.ledger.ledger import ClaimPaymentIn, PaymentEffects
    from gateway.ledger.schema import PaymentState

    url = make_database()
    engine = create_ledger_engine(url)
    now = "2026-11-27 00:00:00+00:00"
    pay = {"trace_number": "T-1", "payer_id": "87726", "amount": "90.00", "date": "2026-11-27"}
    posting = {"id": "p-abc-1", "claim_id": "OLD-1", "status_code": "1", "status": "paid",
               "charge": "120.00", "paid": "90.00", "patient_responsibility": "10.00",
               "payer_claim_number": "PCN9", "payment": pay}  # fmt: skip
    balance = {"id": "b-abc-1", "claim_id": "OLD-1", "patient_owes": "10.00"}
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0003")
            connection.execute(
                text(
                    "INSERT INTO claims (claim_id, version, kind, frequency, partner, payer_id,"
                    " state, record, created_at, updated_at) VALUES ('OLD-1', 1, 'professional',"
                    " '1', 'acme', '87726', 'paid', '{}', :now, :now)"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO remittances (trace_number, payer_id, amount, payment_date, "
                    "file_name, control_number, state, recorded_at, updated_at) VALUES ('T-1', "
                    "'87726', '90.00', '2026-11-27', 'old.835', '0001', 'posted', :now, :now)"
                ),
                {"now": now},
            )
            for kind, record in (("postings", posting), ("balances", balance)):
                connection.execute(
                    text(
                        "INSERT INTO outbox (record_id, kind, payload, created_at) VALUES "
                        "(:id, :kind, :payload, :now)"
                    ),
                    {"id": record["id"], "kind": kind, "payload": json.dumps(record), "now": now},
                )
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()
    with open_ledger(url) as ledger:
        [old] = ledger.claim_payments("OLD-1")
        assert (old.state, old.payer_sequence, old.paid, old.balance_id, old.version) == (
            PaymentState.POSTED, "P", "90.00", "b-abc-1", 1,
        )  # fmt: skip
        assert old.balance == balance and old.trace_number == "T-1"
        copy = ClaimPaymentIn("OLD-1", "87726", "1", "PCN9", "120.00", "90.00", "10.00",
                              {"id": "p-new-1"}, None, "P")  # fmt: skip
        outcome = ledger.record_remittance(
            ("T-2", "87726", "90.00", "2026-11-27"), "c", file_name="copy.835",
            control_number="0001", payments=[copy],
            effects=lambda p, d: PaymentEffects([], {}, None),
        )  # fmt: skip
        assert outcome is not None
        assert outcome.decisions[0][1].verdict == PaymentState.HELD
