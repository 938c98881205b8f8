"""daemon: group control numbers of interchanges, output batches of the outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:20:00

- ``interchanges.group_control_number``: a 999 names our GS06 (AK102), not our ISA13.
- ``outbox.batch``: the output file a record was assigned to before it is written, so a crash
  between writing the file and marking it emitted neither loses nor repeats a record.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("interchanges") as batch:
        batch.add_column(sa.Column("group_control_number", sa.Integer(), nullable=True))
        batch.create_index(
            batch.f("ix_interchanges_partner_group_control_number"),
            ["partner", "group_control_number"],
            unique=False,
        )
        batch.create_index(batch.f("ix_interchanges_file_name"), ["file_name"], unique=False)
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("batch", sa.String(length=128), nullable=True))
        batch.create_index(batch.f("ix_outbox_batch"), ["batch"], unique=False)
    op.create_index(
        op.f("ix_interchange_claims_claim_id"), "interchange_claims", ["claim_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_interchange_claims_claim_id"), table_name="interchange_claims")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(batch.f("ix_outbox_batch"))
        batch.drop_column("batch")
    with op.batch_alter_table("interchanges") as batch:
        batch.drop_index(batch.f("ix_interchanges_file_name"))
        batch.drop_index(batch.f("ix_interchanges_partner_group_control_number"))
        batch.drop_column("group_control_number")
