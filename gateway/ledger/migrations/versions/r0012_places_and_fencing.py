"""output places and lease tokens: several daemons as processes

Revision ID: 0012
Revises: 0005
Create Date: 2026-12-03 14:00:00

``outbox.place`` is the output stream a record belongs to (the partner whose exchange it came
from): each daemon writes a place's records into that partner's configured outputs folder (or
its own spool when none is configured), so one stream has one place whichever daemon produced
it. ``leases.token`` is the fencing token of a lease, new each time the lease is taken: a write
made under a lease checks, in its own transaction, that the lease still holds that token, so a
daemon that stalled past its lease cannot write what another has since taken.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("place", sa.String(length=64), nullable=True))
    with op.batch_alter_table("leases") as batch:
        batch.add_column(sa.Column("token", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("token")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("place")
