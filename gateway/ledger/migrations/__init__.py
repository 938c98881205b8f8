"""Alembic migrations of the ledger (``db.open_ledger`` runs them to head)."""
