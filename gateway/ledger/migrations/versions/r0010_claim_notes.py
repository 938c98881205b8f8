"""claim notes: notes on a claim and its disputes, opened and closed

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-03 14:00:00

One row per note (a call, an appeal), dispute opened or dispute closed, with its author and
time; append-only. The claim state ``voided`` (a void the payer accepted) needs no change of
the tables: states are text. Written to match gateway/ledger/schema.py; tests/ledger checks
that they still agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "claim_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("claim_id", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_notes")),
    )
    op.create_index(op.f("ix_claim_notes_claim_id"), "claim_notes", ["claim_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_notes_claim_id"), table_name="claim_notes")
    op.drop_table("claim_notes")
