"""The ledger: what the gateway did and must still do, in SQLite or PostgreSQL.

``schema`` holds the tables (SQLAlchemy Core) and the claim state machine, ``migrations`` the
Alembic revisions that create them, ``db.open_ledger`` upgrades a database to head and returns
a ``ledger.Ledger``, the one door through which every write goes.
"""
