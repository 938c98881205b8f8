"""claim payments: a claim's money payer by payer; remittances known by their content too

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-03 12:00:00

- ``claim_payments``: one row per claim payment (CLP) posted or held, so the ledger can tell
  a second payment of a claim from its first (held as a possible duplicate), a reversal from
  what it reverses, and answer "what was this claim paid, by whom".
- ``remittances``: the unique identity adds the hash of the transaction set's content, so a
  corrected 835 that keeps the trace number, payer, amount and date of a discarded one is taken
  in (and held for review) instead of being dropped as "already posted"; the partner, the
  file's unique archived name and a JSON detail.
- ``claim_events.event`` holds payment events too (``payment_discarded`` is 17 characters).

Claim payments posted before this revision are filled in from the outbox's posting and balance
records (the outbox keeps every record it was given), so a duplicate of an old payment is held
as well; their remittances keep an empty content hash.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_SEQUENCE = {"1": "P", "19": "P", "2": "S", "20": "S", "3": "T", "21": "T"}


def upgrade() -> None:
    with op.batch_alter_table("claim_events") as batch:
        batch.alter_column(
            "event", existing_type=sa.String(length=16), type_=sa.String(length=24),
            existing_nullable=False,
        )  # fmt: skip
    with op.batch_alter_table("remittances") as batch:
        batch.add_column(
            sa.Column("content_sha256", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("partner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("archived_as", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("detail", sa.Text(), nullable=True))
        batch.drop_constraint(
            "uq_remittances_trace_number_payer_id_amount_payment_date", type_="unique"
        )
        batch.create_unique_constraint(
            "uq_remittances_identity_content",
            ["trace_number", "payer_id", "amount", "payment_date", "content_sha256"],
        )
        batch.create_index(batch.f("ix_remittances_archived_as"), ["archived_as"], unique=False)
    with op.batch_alter_table("remittances") as batch:  # the default only filled old rows
        batch.alter_column("content_sha256", existing_type=sa.String(length=64),
                           server_default=None, existing_nullable=False)  # fmt: skip
    op.create_table(
        "claim_payments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("remittance_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("payer_sequence", sa.String(length=1), nullable=False),
        sa.Column("payer_claim_number", sa.String(length=50), nullable=True),
        sa.Column("status_code", sa.String(length=8), nullable=False),
        sa.Column("charge", sa.String(length=20), nullable=False),
        sa.Column("paid", sa.String(length=20), nullable=False),
        sa.Column("patient_responsibility", sa.String(length=20), nullable=False),
        sa.Column("posting_id", sa.String(length=128), nullable=False),
        sa.Column("balance_id", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reverses", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("posting", sa.Text(), nullable=False),
        sa.Column("balance", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["remittances.id"],
            name=op.f("fk_claim_payments_remittance_id_remittances"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses"],
            ["claim_payments.id"],
            name=op.f("fk_claim_payments_reverses_claim_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_payments")),
        sa.UniqueConstraint("posting_id", name=op.f("uq_claim_payments_posting_id")),
    )
    op.create_index(
        op.f("ix_claim_payments_claim_id_payer_id"), "claim_payments", ["claim_id", "payer_id"]
    )
    op.create_index(op.f("ix_claim_payments_remittance_id"), "claim_payments", ["remittance_id"])
    op.create_index(op.f("ix_claim_payments_state"), "claim_payments", ["state"])
    _fill_claim_payments(op.get_bind())


def _fill_claim_payments(connection: sa.Connection) -> None:
    """Claim payments of the postings in the outbox, in the order they were posted."""
    outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("record_id", sa.String),
                      sa.column("kind", sa.String), sa.column("payload", sa.Text))  # fmt: skip
    remittances = sa.table(
        "remittances", sa.column("id", sa.Integer), sa.column("trace_number", sa.String),
        sa.column("payer_id", sa.String), sa.column("amount", sa.String),
        sa.column("payment_date", sa.String),
    )  # fmt: skip
    links = sa.table("interchange_claims", sa.column("claim_id", sa.String),
                     sa.column("version", sa.Integer))  # fmt: skip
    claims = sa.table("claims", sa.column("claim_id", sa.String), sa.column("version", sa.Integer))
    payments = sa.table(
        "claim_payments", *(sa.column(name) for name in (
            "id", "remittance_id", "claim_id", "version", "payer_id", "payer_sequence",
            "payer_claim_number", "status_code", "charge", "paid", "patient_responsibility",
            "posting_id", "balance_id", "state", "reverses", "posting", "balance",
            "recorded_at", "updated_at",
        )),
    )  # fmt: skip
    rows = connection.execute(
        sa.select(outbox.c.kind, outbox.c.record_id, outbox.c.payload)
        .where(outbox.c.kind.in_(("postings", "balances")))
        .order_by(outbox.c.id)
    ).all()
    balances = {r.record_id: r.payload for r in rows if r.kind == "balances"}
    now = datetime.now(UTC)
    in_force: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        if row.kind != "postings":
            continue
        posting: dict[str, Any] = json.loads(row.payload)
        pay = posting.get("payment") or {}
        remittance = connection.execute(
            sa.select(remittances.c.id).where(
                remittances.c.trace_number == (pay.get("trace_number") or ""),
                remittances.c.payer_id == (pay.get("payer_id") or ""),
                remittances.c.amount == (pay.get("amount") or ""),
                remittances.c.payment_date == (pay.get("date") or ""),
            )
        ).scalar()
        if remittance is None:  # identity recorded otherwise (TRN03 as the payer): not matched
            continue
        claim_id = str(posting["claim_id"])
        version = None  # the newest version sent, else the newest (as the ledger decides now)
        for table in (links, claims):
            if version is None:
                version = connection.execute(
                    sa.select(sa.func.max(table.c.version)).where(table.c.claim_id == claim_id)
                ).scalar()
        code = str(posting.get("status_code") or "")
        key = (claim_id, str(pay.get("payer_id") or ""))
        balance_id = "b-" + str(posting["id"])[2:]
        reverses = None
        if code == "22" and in_force.get(key):
            reverses = in_force[key].pop()
            connection.execute(
                sa.update(payments).where(payments.c.id == reverses).values(state="reversed")
            )
        new_id = connection.execute(
            sa.insert(payments)
            .values(
                remittance_id=remittance, claim_id=claim_id, version=version, payer_id=key[1],
                payer_sequence=_SEQUENCE.get(code, "P"),
                payer_claim_number=posting.get("payer_claim_number"), status_code=code,
                charge=posting.get("charge", "0.00"), paid=posting.get("paid", "0.00"),
                patient_responsibility=posting.get("patient_responsibility", "0.00"),
                posting_id=posting["id"],
                balance_id=balance_id if balance_id in balances else None,
                state="released" if posting.get("released_unbalanced") else "posted",
                reverses=reverses, posting=row.payload, balance=balances.get(balance_id),
                recorded_at=now, updated_at=now,
            )
            .returning(payments.c.id)
        ).scalar_one()  # fmt: skip
        if code != "22":
            in_force.setdefault(key, []).append(int(new_id))


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_payments_state"), table_name="claim_payments")
    op.drop_index(op.f("ix_claim_payments_remittance_id"), table_name="claim_payments")
    op.drop_index(op.f("ix_claim_payments_claim_id_payer_id"), table_name="claim_payments")
    op.drop_table("claim_payments")
    with op.batch_alter_table("remittances") as batch:
        batch.drop_index(batch.f("ix_remittances_archived_as"))
        batch.drop_constraint("uq_remittances_identity_content", type_="unique")
        batch.create_unique_constraint(
            "uq_remittances_trace_number_payer_id_amount_payment_date",
            ["trace_number", "payer_id", "amount", "payment_date"],
        )
        for name in ("detail", "archived_as", "partner", "content_sha256"):
            batch.drop_column(name)
    with op.batch_alter_table("claim_events") as batch:
        batch.alter_column(
            "event", existing_type=sa.String(length=24), type_=sa.String(length=16),
            existing_nullable=False,
        )  # fmt: skip
