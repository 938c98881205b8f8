"""status inquiries: claim status questions (276), the 276 that carried each, and the answer

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03 14:00:00

One row per claim status inquiry: its trace (the 276's TRN02, ``CLAIM.VERSION.WINDOW``, so a
claim is asked once per re-ask window), queued, sent in which interchange (a 276 is an
``interchanges`` row of kind 276), answered by which 277 with which outcome. Written to match
gateway/ledger/followup.py; tests/ledger checks that they still agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "status_inquiries",
        sa.Column("trace", sa.String(length=50), nullable=False),
        sa.Column("claim_id", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("ask_window", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("interchange_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answer_file", sa.String(length=255), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id", "version"],
            ["claims.claim_id", "claims.version"],
            name=op.f("fk_status_inquiries_claim_id_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["interchange_id"],
            ["interchanges.id"],
            name=op.f("fk_status_inquiries_interchange_id_interchanges"),
        ),
        sa.PrimaryKeyConstraint("trace", name=op.f("pk_status_inquiries")),
    )
    op.create_index(
        op.f("ix_status_inquiries_state_partner"), "status_inquiries", ["state", "partner"]
    )
    op.create_index(op.f("ix_status_inquiries_claim_id"), "status_inquiries", ["claim_id"])
    op.create_index(
        op.f("ix_status_inquiries_interchange_id"), "status_inquiries", ["interchange_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_status_inquiries_interchange_id"), table_name="status_inquiries")
    op.drop_index(op.f("ix_status_inquiries_claim_id"), table_name="status_inquiries")
    op.drop_index(op.f("ix_status_inquiries_state_partner"), table_name="status_inquiries")
    op.drop_table("status_inquiries")
