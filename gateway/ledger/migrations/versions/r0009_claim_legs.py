"""claim legs: a claim's leg per payer (P, S, T), and the payments that opened them

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-03 14:00:00

One row per payer a claim is billed to, with the claim record as that payer gets it and the
claim version that carried it; and one row per claim payment the next-payer step acted on
(its exactly-once door); claim payments indexed by their last change, so the step reads only
what changed lately. Written to match gateway/ledger/schema.py; tests/ledger checks that
they still agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_claim_payments_updated_at"), "claim_payments", ["updated_at"], unique=False
    )
    op.create_table(
        "claim_legs",
        sa.Column("claim_id", sa.String(length=20), nullable=False),
        sa.Column("sequence", sa.String(length=1), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["opened_by"],
            ["claim_payments.id"],
            name=op.f("fk_claim_legs_opened_by_claim_payments"),
        ),
        sa.PrimaryKeyConstraint("claim_id", "sequence", name=op.f("pk_claim_legs")),
    )
    op.create_index(op.f("ix_claim_legs_state"), "claim_legs", ["state"], unique=False)
    op.create_table(
        "leg_sources",
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["claim_payments.id"],
            name=op.f("fk_leg_sources_payment_id_claim_payments"),
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_leg_sources")),
    )


def downgrade() -> None:
    op.drop_table("leg_sources")
    op.drop_index(op.f("ix_claim_legs_state"), table_name="claim_legs")
    op.drop_table("claim_legs")
    op.drop_index(op.f("ix_claim_payments_updated_at"), table_name="claim_payments")
