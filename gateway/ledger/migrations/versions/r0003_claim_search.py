"""claim search: patient names, dates of service and amount billed on each claim version

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:00:00

Staff look a claim up by the patient's last name, a date of service or the payer ("why do I
owe for my visit of March 3?"). These columns copy those facts out of the claim record, with
indexes, so a search never reads every record. Existing rows are filled from their records.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from gateway.ledger.records import search_fields

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS = (
    ("patient_last_name", 60),
    ("patient_first_name", 35),
    ("service_from", 10),
    ("service_to", 10),
    ("billed", 20),
)


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        for name, length in _COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        for name in ("patient_last_name", "service_from", "payer_id"):
            batch.create_index(batch.f(f"ix_claims_{name}"), [name], unique=False)
    claims = sa.table(
        "claims",
        sa.column("claim_id", sa.String),
        sa.column("version", sa.Integer),
        sa.column("record", sa.Text),
        *(sa.column(name, sa.String) for name, _ in _COLUMNS),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(claims.c.claim_id, claims.c.version, claims.c.record))
    for claim_id, version, record in rows.all():
        connection.execute(
            sa.update(claims)
            .where(claims.c.claim_id == claim_id, claims.c.version == version)
            .values(**search_fields(json.loads(record)))
        )


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        for name in ("patient_last_name", "service_from", "payer_id"):
            batch.drop_index(batch.f(f"ix_claims_{name}"))
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
