"""Claim files that used to stop all intake (``tests/data/repro/claims/``), SQLite and PostgreSQL.

Each one failed the intake step every cycle: the file stayed in ``spool/claims/`` and no file
after it was ever taken. Now each is rejected alone (its good claims still queued) with the
field named, and the file behind it is taken in the same pass.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gateway.daemon.runner import Daemon
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import ClaimState
from tests.daemon.homes import drop_claims, make_home, numbered_claims
from tests.ledger.conftest import ledger as ledger  # the fixture, emptied per test

CLAIMS = Path(__file__).resolve().parent.parent / "data" / "repro" / "claims"
# file -> (field of the first problem, claims of the file still queued)
REJECTED = {
    "deep-nesting.json": (None, []),
    "payer-claim-number-60-chars.json": ("payer_claim_number", ["PCN-2"]),
    "subscriber-last-name-tilde.json": ("subscriber.last_name", []),
    "units-1e30.csv": ("lines[1].units", ["CSVU-2"]),
    "units-1e30.json": ("lines[1].units", ["UN-2"]),
}


def test_bad_claim_files_are_rejected_alone(tmp_path: Path, db_url: str, ledger: Ledger) -> None:
    home = make_home(tmp_path, database=db_url)
    for name in REJECTED:
        shutil.copy(CLAIMS / name, home / "spool" / "claims" / name)
    drop_claims(home, "zz-after.json", numbered_claims("AFTER", 3))
    daemon = Daemon(home, ledger=ledger)
    report = daemon.cycle(once=True)
    assert report.ok, report.failures
    assert report.summary()["claim_files_rejected"] == len(REJECTED)
    assert not list((home / "spool" / "claims").iterdir())  # nothing left behind
    rejected = home / "spool" / "rejected"
    for name, (field, taken) in REJECTED.items():
        errors = json.loads((rejected / f"{name}.errors.json").read_text())
        assert errors["problems"][0].get("field") == field, errors
        assert errors["claims_taken"] == taken
        for problem in errors["problems"]:
            assert "Traceback" not in problem["message"] and "Error" not in problem["message"]
    queued = {c.claim_id for c in ledger.list_claims()}
    assert queued == {"PCN-2", "CSVU-2", "UN-2"} | {f"AFTER-{n:05d}" for n in range(3)}
    assert {c.state for c in ledger.list_claims()} == {ClaimState.SUBMITTED}
