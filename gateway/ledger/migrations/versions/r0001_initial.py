"""initial ledger schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 04:39:09

Written to match gateway/ledger/schema.py; tests/ledger checks that they still agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("claim_id", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("frequency", sa.String(length=1), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("payer_claim_number", sa.String(length=50), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("claim_id", "version", name=op.f("pk_claims")),
    )
    op.create_index(
        op.f("ix_claims_state_partner_kind"), "claims", ["state", "partner", "kind"], unique=False
    )

    op.create_table(
        "control_numbers",
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("last_interchange", sa.Integer(), nullable=False),
        sa.Column("last_group", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partner", name=op.f("pk_control_numbers")),
    )
    op.create_table(
        "interchanges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("control_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("claim_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interchanges")),
        sa.UniqueConstraint(
            "partner", "control_number", name=op.f("uq_interchanges_partner_control_number")
        ),
    )
    op.create_table(
        "leases",
        sa.Column("work_key", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("work_key", name=op.f("pk_leases")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("emitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("record_id", name=op.f("uq_outbox_record_id")),
    )
    op.create_index(
        op.f("ix_outbox_kind_emitted_at"), "outbox", ["kind", "emitted_at"], unique=False
    )

    op.create_table(
        "received_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_received_files_sha256")),
    )
    op.create_table(
        "remittances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trace_number", sa.String(length=80), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("amount", sa.String(length=20), nullable=False),
        sa.Column("payment_date", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("control_number", sa.String(length=9), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittances")),
        sa.UniqueConstraint(
            "trace_number",
            "payer_id",
            "amount",
            "payment_date",
            name=op.f("uq_remittances_trace_number_payer_id_amount_payment_date"),
        ),
    )
    op.create_table(
        "claim_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("claim_id", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id", "version"],
            ["claims.claim_id", "claims.version"],
            name=op.f("fk_claim_events_claim_id_version_claims"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_events")),
    )
    op.create_index(op.f("ix_claim_events_claim_id"), "claim_events", ["claim_id"], unique=False)

    op.create_table(
        "interchange_claims",
        sa.Column("interchange_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id", "version"],
            ["claims.claim_id", "claims.version"],
            name=op.f("fk_interchange_claims_claim_id_version_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["interchange_id"],
            ["interchanges.id"],
            name=op.f("fk_interchange_claims_interchange_id_interchanges"),
        ),
        sa.PrimaryKeyConstraint("interchange_id", "claim_id", name=op.f("pk_interchange_claims")),
    )


def downgrade() -> None:
    op.drop_table("interchange_claims")
    op.drop_index(op.f("ix_claim_events_claim_id"), table_name="claim_events")

    op.drop_table("claim_events")
    op.drop_table("remittances")
    op.drop_table("received_files")
    op.drop_index(op.f("ix_outbox_kind_emitted_at"), table_name="outbox")

    op.drop_table("outbox")
    op.drop_table("leases")
    op.drop_table("interchanges")
    op.drop_table("control_numbers")
    op.drop_index(op.f("ix_claims_state_partner_kind"), table_name="claims")

    op.drop_table("claims")
