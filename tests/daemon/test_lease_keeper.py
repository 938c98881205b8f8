"""The daemon's heartbeat renews its leases while it works, and only its own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from gateway.daemon.lease_keeper import LeaseKeeper
from gateway.ledger.db import open_ledger
from gateway.ledger.records import utc_now
from gateway.ledger.schema import leases


def test_the_keeper_renews_its_owners_leases(db_url: str) -> None:
    with open_ledger(db_url) as ledger:
        for n in range(2):
            ledger.add_claim({"claim_id": f"K-{n}"}, kind="professional", partner="acme",
                             payer_id="87726")  # fmt: skip
        assert ledger.lease_queued("acme", "professional", "me", 1, 30) == ["K-0"]
        assert ledger.lease_queued("acme", "professional", "other", 1, 30) == ["K-1"]
        with ledger.engine.begin() as connection:  # 25 of the 30 seconds have gone by
            connection.execute(update(leases).values(expires_at=utc_now() + timedelta(seconds=5)))
        keeper = LeaseKeeper(ledger, "me", 30)
        assert keeper.interval == 10  # a third of the lease: two beats may fail before it ends
        assert keeper.beat() == 1
        with ledger.engine.begin() as connection:
            ends = dict(connection.execute(select(leases.c.work_key, leases.c.expires_at)).all())
        assert ends["claim:K-0"] > utc_now() + timedelta(seconds=25)
        assert ends["claim:K-1"] < utc_now() + timedelta(seconds=6)
        keeper.start()
        keeper.stop()  # the thread ends when the daemon stops
        assert keeper._thread is not None and not keeper._thread.is_alive()
