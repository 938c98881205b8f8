"""outbox owner: which worker an output batch was assigned to

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:00:00

Two daemons on one ledger each write the outbox to their own home. A batch assigned but not yet
marked emitted (a crash between the two) must be finished by the worker that assigned it, never
adopted by another, or its records are written in two homes. ``outbox.owner`` says whose it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("owner")
