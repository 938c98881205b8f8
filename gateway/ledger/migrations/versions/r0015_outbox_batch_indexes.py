"""outbox indexes for writing batches

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 20:20:00

Writing the outputs asks, for each file, whether this worker has a batch assigned and not yet
emitted (``OutboxBook._own_open_batch``): with only the index on (kind, emitted_at) the database
walked every pending record of the kind, twice a file (at 5,000 claims on SQLite, 10 ms a
question). ``ix_outbox_open_batches`` holds only the records assigned and not emitted (a batch or
two). A batch's records are read a thousand at a time in id order (``batch_entries``): on
PostgreSQL the index on ``batch`` alone made each read fetch and sort the whole batch (its
payloads too); on (batch, id) it is a range. Plain ``create_index``: the table is not recreated.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None

_OPEN = sa.text("batch IS NOT NULL AND emitted_at IS NULL")


def upgrade() -> None:
    op.create_index(op.f("ix_outbox_batch_id"), "outbox", ["batch", "id"])
    op.drop_index(op.f("ix_outbox_batch"), table_name="outbox")
    op.create_index(
        "ix_outbox_open_batches",
        "outbox",
        ["kind", "owner", "id"],
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_open_batches", table_name="outbox")
    op.create_index(op.f("ix_outbox_batch"), "outbox", ["batch"])
    op.drop_index(op.f("ix_outbox_batch_id"), table_name="outbox")
