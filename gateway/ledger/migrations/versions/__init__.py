"""Ledger revisions, oldest first."""
