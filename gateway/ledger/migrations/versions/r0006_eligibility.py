"""eligibility: requests, the 270 that carried each, and the answer

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-03 12:00:00

One row per eligibility request (contract section 10): queued, sent in which interchange (a 270
is an ``interchanges`` row of kind 270), answered or rejected, with the benefits record. Written
to match gateway/ledger/schema.py; tests/ledger checks that they still agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "eligibility_requests",
        sa.Column("request_id", sa.String(length=30), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("interchange_id", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answer_file", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interchange_id"],
            ["interchanges.id"],
            name=op.f("fk_eligibility_requests_interchange_id_interchanges"),
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_eligibility_requests")),
    )
    op.create_index(
        op.f("ix_eligibility_requests_state_partner"),
        "eligibility_requests",
        ["state", "partner"],
        unique=False,
    )
    op.create_index(
        op.f("ix_eligibility_requests_interchange_id"),
        "eligibility_requests",
        ["interchange_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_eligibility_requests_interchange_id"), table_name="eligibility_requests")
    op.drop_index(op.f("ix_eligibility_requests_state_partner"), table_name="eligibility_requests")
    op.drop_table("eligibility_requests")
