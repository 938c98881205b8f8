"""follow-up facts kept as the claims change

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-03 17:00:00

``followup_facts`` holds each claim's follow-up facts (gateway/ledger/followup_query.py: one
row per claim, its current version), so the worklist and aging read them instead of working
them out over the whole ledger at each request. ``followup_dirty`` lists the claims changed
since: triggers of the database append the claim id of every row inserted, updated or deleted
in ``claims``, ``claim_events``, ``claim_payments`` and ``status_inquiries`` (every write
path, batched or not), and ``FollowupBook.refresh_followup_facts`` recomputes those claims,
deletes the rows it read and counts one more ``followup_generation``: what was computed from
the kept facts (the web's worklist) holds while the generation is the same.
SQLite's triggers are per row; PostgreSQL's per statement (a transition table: one insert of
the statement's distinct claim ids). The log is appended, never upserted, so two writers never
wait on each other's row of it. Every claim of an existing ledger is marked changed here: the
first reader (or the daemon's next cycle) fills the table.

A later migration that recreates one of these tables (Alembic's batch mode on SQLite) drops its
triggers: it must create them again (``create_triggers``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

# what followup_query reads, and the inquiries' answers the worklist shows
WATCHED = ("claims", "claim_events", "claim_payments", "status_inquiries")
_OPS = ("insert", "update", "delete")


def _sqlite_trigger(table: str, op_name: str) -> str:
    rows = {
        "insert": "INSERT INTO followup_dirty (claim_id) VALUES (NEW.claim_id);",
        "update": "INSERT INTO followup_dirty (claim_id) VALUES (NEW.claim_id); "
        "INSERT INTO followup_dirty (claim_id) SELECT OLD.claim_id "
        "WHERE OLD.claim_id IS NOT NEW.claim_id;",
        "delete": "INSERT INTO followup_dirty (claim_id) VALUES (OLD.claim_id);",
    }[op_name]
    return (
        f"CREATE TRIGGER followup_dirty_{table}_{op_name} AFTER {op_name.upper()} ON {table} "
        f"FOR EACH ROW BEGIN {rows} END"
    )


_PG_FUNCTIONS = {
    "insert": "SELECT DISTINCT claim_id FROM new_rows",
    "update": "SELECT claim_id FROM new_rows UNION SELECT claim_id FROM old_rows",
    "delete": "SELECT DISTINCT claim_id FROM old_rows",
}
_PG_REFERENCING = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}


def create_triggers(dialect: str, tables: tuple[str, ...] = WATCHED) -> None:
    """The triggers that mark a claim changed, on ``tables`` (functions first on PostgreSQL)."""
    if dialect == "postgresql":
        for op_name, query in _PG_FUNCTIONS.items():
            op.execute(
                f"CREATE OR REPLACE FUNCTION followup_dirty_{op_name}() RETURNS trigger "
                f"LANGUAGE plpgsql AS $$ BEGIN "
                f"INSERT INTO followup_dirty (claim_id) {query} ORDER BY 1; "
                f"RETURN NULL; END $$"
            )
    for table in tables:
        for op_name in _OPS:
            if dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER followup_dirty_{table}_{op_name} AFTER {op_name.upper()} "
                    f"ON {table} REFERENCING {_PG_REFERENCING[op_name]} FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION followup_dirty_{op_name}()"
                )
            else:
                op.execute(_sqlite_trigger(table, op_name))


def upgrade() -> None:
    op.create_table(
        "followup_facts",
        sa.Column("claim_id", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("billed", sa.String(length=20), nullable=True),
        sa.Column("paid", sa.String(length=20), nullable=False),
        sa.Column("service_from", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("adjudicated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rejected", sa.Text(), nullable=True),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("unpaid_lines", sa.Text(), nullable=True),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_followup_facts")),
    )
    for columns in (["state"], ["flagged"], ["partner"], ["billed"]):
        name = op.f(f"ix_followup_facts_{columns[0]}")
        op.create_index(name, "followup_facts", columns, unique=False)
    op.create_index(
        op.f("ix_followup_facts_payer_id_adjudicated_at"),
        "followup_facts",
        ["payer_id", "adjudicated_at"],
        unique=False,
    )
    op.create_table(
        "followup_dirty",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("claim_id", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_dirty")),
    )
    op.create_table(
        "followup_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_generation")),
    )
    create_triggers(op.get_bind().dialect.name)
    op.execute("INSERT INTO followup_dirty (claim_id) SELECT DISTINCT claim_id FROM claims")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in WATCHED:
        for op_name in _OPS:
            on = f" ON {table}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS followup_dirty_{table}_{op_name}{on}")
    if dialect == "postgresql":
        for op_name in _OPS:
            op.execute(f"DROP FUNCTION IF EXISTS followup_dirty_{op_name}()")
    op.drop_table("followup_generation")
    op.drop_table("followup_dirty")
    op.drop_index(op.f("ix_followup_facts_payer_id_adjudicated_at"), table_name="followup_facts")
    for column in ("billed", "partner", "flagged", "state"):
        op.drop_index(op.f(f"ix_followup_facts_{column}"), table_name="followup_facts")
    op.drop_table("followup_facts")
