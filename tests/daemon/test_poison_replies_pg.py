"""A reply the ledger refuses while it answers (a lock held elsewhere): PostgreSQL only.

SQLite locks the whole file, so there a held lock is an unreachable ledger, which
``test_poison_replies.py`` tests on both databases; this module runs on PostgreSQL alone (its
``backend`` fixture says so) rather than skipping on SQLite.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from gateway.daemon.runner import Daemon
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import ClaimState
from tests.daemon.homes import drop_claims, make_home
from tests.daemon.payer import ack_999, envelope_of
from tests.daemon.test_daemon_replies import _professional
from tests.daemon.test_poison_replies import _plain, _waiting
from tests.ledger.conftest import ledger as ledger  # the fixture, emptied per test


@pytest.fixture(scope="module")
def backend() -> str:
    return "postgresql"


def test_a_reply_the_ledger_refuses_waits_without_holding_up_the_next(
    tmp_path: Path, db_url: str, ledger: Ledger
) -> None:
    """A lock held elsewhere on one claim makes its reply time out while the ledger answers:
    that reply waits (partners.json says so), the reply behind it goes on, and after
    MAX_LEDGER_ATTEMPTS cycles the refused one is quarantined with a plain reason."""
    from sqlalchemy import select

    from gateway.daemon.inbound import MAX_LEDGER_ATTEMPTS
    from gateway.ledger.schema import claims

    home = make_home(tmp_path, database=db_url)
    records = _professional()
    drop_claims(home, "one.json", records[:1])
    patient = Ledger(create_engine(db_url, connect_args={"options": "-c lock_timeout=300"}))
    daemon = Daemon(home, ledger=patient)
    assert daemon.run(once=True) == 0
    drop_claims(home, "two.json", records[1:])
    assert daemon.run(once=True) == 0
    first, second = sorted((home / "exchange" / "in").iterdir())
    _waiting(home, "a-first.999", ack_999(envelope_of(first)[1]).encode())
    later = _waiting(home, "b-second.999", ack_999(envelope_of(second)[1]).encode())
    os.utime(later, (time.time() - 60, time.time() - 60))
    try:
        with ledger.engine.connect() as holder:
            holder.begin()
            holder.execute(
                select(claims.c.claim_id).where(claims.c.claim_id == "PCN-2025-0001")
                .with_for_update()
            ).all()  # fmt: skip
            for cycle in range(1, MAX_LEDGER_ATTEMPTS + 1):
                report = daemon.cycle(once=True)
                health = json.loads((home / "state" / "partners.json").read_text())["acme"]
                if cycle < MAX_LEDGER_ATTEMPTS:
                    assert report.inbound.waiting == {"acme": ["a-first.999"]}
                    assert health["replies"].startswith("waiting: the ledger refused a-first.999")
            holder.rollback()
        states = {c.claim_id: c.state for c in ledger.list_claims()}
        assert states == {"PCN-2025-0001": ClaimState.SUBMITTED,
                          "PCN-2025-0002": ClaimState.ACCEPTED}  # fmt: skip
        note = json.loads(
            (home / "spool/quarantine/acme/a-first.999.reason.json").read_text()
        )  # fmt: skip
        assert note["reason"].startswith(
            f"the ledger refused this file {MAX_LEDGER_ATTEMPTS} times (OperationalError: "
        )
        _plain(note["reason"].split("(", 1)[0])
    finally:
        patient.close()
