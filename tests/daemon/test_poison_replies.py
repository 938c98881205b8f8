"""Replies that broke the daemon (``tests/data/repro/daemon-*.x12``), on SQLite and PostgreSQL.

Each one used to stop its partner for good (a value the ledger's columns cannot hold, taken for
"ledger down") or to be quarantined with raw Python text. Now each ends in a plain outcome:
quarantined with the element and segment named, or held for review; and the reply behind it
is processed in the same cycle.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from gateway.daemon.runner import Daemon
from gateway.ledger.faults import is_unreachable, plain_text
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import ClaimState, RemittanceState, remittances
from tests.daemon.homes import drop_claims, drop_reply, make_home
from tests.daemon.payer import ack_999, envelope_of
from tests.daemon.test_daemon_replies import _professional
from tests.ledger.conftest import ledger as ledger  # the fixture, emptied per test

REPRO = Path(__file__).resolve().parent.parent / "data" / "repro"
DAEMON_REPROS = sorted(REPRO.glob("daemon-*.x12"))

# file -> (where it ends up, what the reason says, segment position named)
OUTCOMES = {
    "daemon-835-second-payment-crashes.x12": (
        "review", "segment 388, DTM: DTM01 is required but missing", None),
    "daemon-catchall-conversionsyntax-fuzz.x12": (
        "review", "segment 16, CAS: CAS04 '\xff\xfe0' is not a number", None),
    "daemon-catchall-indexerror-fuzz.x12": (
        "quarantine", "file ends inside interchange 000238388: no IEA segment", 1),
    "daemon-pg-poison-835-bpr02-trailing-zeros.x12": (
        "review", "segment 4, BPR: BPR02 '384.0000000000000000...' is not a number", None),
    "daemon-pg-poison-835-clp01-110chars.x12": (
        "quarantine", "CLP01 'CCCCCCCCCCCCCCCCCCCC...' is 110 characters long; the guide allows "
        "at most 38", 15),
    "daemon-pg-poison-835-st02-10chars.x12": (
        "quarantine", "ST02 '0001234567' is 10 characters long; the guide allows at most 9", 3),
    "daemon-pg-poison-835-trn02-81chars.x12": (
        "quarantine", "TRN02 '99999999999999999999...' is 81 characters long", 5),
    "daemon-pg-poison-999-ak102-2147483648.x12": (
        "quarantine", "AK102 '2147483648' is not a control number (1 to 9 digits)", 4),
    "daemon-pg-poison-found-by-fuzz-fz00747.x12": (
        "quarantine", "ST02 '000000000002' is 12 characters long", 25),
    "daemon-pg-poison-ta1-2147483648.x12": (
        "quarantine", "TA101 '2147483648' is not a control number (1 to 9 digits)", 2),
    "daemon-sqlite-999-ak102-40digits.x12": (
        "quarantine", "AK102 '99999999999999999999...' is not a control number", 4),
}  # fmt: skip


@pytest.fixture
def sent(tmp_path: Path, db_url: str, ledger: Ledger) -> Iterator[tuple[Path, Daemon, Path]]:
    """A home on the test's ledger whose two professional claims went out in one 837."""
    home = make_home(tmp_path, database=db_url)
    drop_claims(home, "prof.json", _professional())
    daemon = Daemon(home, ledger=ledger)
    assert daemon.run(once=True) == 0
    [sent] = (home / "exchange" / "in").iterdir()
    yield home, daemon, sent


def _waiting(home: Path, name: str, data: bytes) -> Path:
    """A reply already downloaded, older than anything fetched later (it is processed first)."""
    folder = home / "spool" / "inbound" / "acme"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    past = time.time() - 3600
    os.utime(path, (past, past))
    return path


def _plain(reason: str) -> None:
    for python in ("Traceback", "Error", "<class", "decimal.", "list index"):
        assert python not in reason, reason


def test_every_daemon_reproducer_is_listed() -> None:
    assert {p.name for p in DAEMON_REPROS} == set(OUTCOMES)


@pytest.mark.parametrize("repro", DAEMON_REPROS, ids=lambda p: p.name)
def test_a_poison_reply_is_set_aside_and_the_next_one_is_processed(
    sent: tuple[Path, Daemon, Path], repro: Path
) -> None:
    home, daemon, interchange = sent
    where, message, position = OUTCOMES[repro.name]
    _waiting(home, repro.name, repro.read_bytes())
    _isa, group = envelope_of(interchange)
    drop_reply(home, "z-accepted.999", ack_999(group))  # behind it: must not wait
    report = daemon.cycle(once=True)
    assert report.ok, report.failures
    states = {c.claim_id: c.state for c in daemon.ledger.list_claims()}
    assert set(states.values()) == {ClaimState.ACCEPTED}
    assert not [p for p in (home / "spool" / "inbound" / "acme").iterdir() if p.is_file()]
    health = json.loads((home / "state" / "partners.json").read_text())["acme"]
    assert (health["state"], health["replies"]) == ("ok", "ok")
    if where == "quarantine":
        folder = home / "spool" / "quarantine" / "acme"
        note = json.loads((folder / f"{repro.name}.reason.json").read_text())
        assert (folder / repro.name).read_bytes() == repro.read_bytes()
        assert message in note["reason"] and note["segment_position"] == position
        _plain(note["reason"])
        assert report.inbound.quarantined == [repro.name]
    else:
        review = json.loads((home / "spool" / "review" / f"{repro.name}.review.json").read_text())
        problems = [e["message"] for t in review["transactions"] for e in t["balance_errors"]]
        assert any(message in p for p in problems), problems
        for p in problems:
            _plain(p)
        assert report.inbound.payments_held == 1


def test_a_partly_posted_835_says_which_payments_were_applied(
    sent: tuple[Path, Daemon, Path],
) -> None:
    """The first payment posts, the second breaks the file: the note names both; the corrected
    file posts only what was not applied."""
    home, daemon, _ = sent
    repro = REPRO / "daemon-pg-poison-found-by-fuzz-fz00747.x12"
    _waiting(home, "remit.835", repro.read_bytes())
    report = daemon.cycle(once=True)
    assert report.summary()["payments_posted"] == 1
    note = json.loads((home / "spool/quarantine/acme/remit.835.reason.json").read_text())
    assert note["payments_posted"] == [{"transaction": "0001", "trace_number": "100004762"}]
    assert note["payments_not_applied"] == [
        {"transaction": "000000000002", "trace_number": "100004765"},
        {"transaction": "0003", "trace_number": "000012382"},
    ]
    assert "never posted twice" in note["what_next"] and "spool/inbound/acme/" in note["what_next"]
    with daemon.ledger.engine.connect() as connection:
        states = connection.execute(select(remittances.c.trace_number, remittances.c.state)).all()
    assert [tuple(s) for s in states] == [("100004762", RemittanceState.POSTED.value)]

    corrected = repro.read_bytes().replace(b"ST*835*000000000002~", b"ST*835*0002~")
    _waiting(home, "remit-corrected.835", corrected)
    report = daemon.cycle(once=True)
    assert report.ok and report.summary()["payments_posted"] == 2  # 0002 and 0003, not 0001
    assert report.inbound.processed == {"835": 1}


def test_replies_wait_while_the_ledger_is_unreachable(sent: tuple[Path, Daemon, Path]) -> None:
    """A ledger that does not answer is not the file's fault: every reply stays, partners.json
    says why, and they are processed once the ledger is back."""
    home, daemon, interchange = sent
    _isa, group = envelope_of(interchange)
    waiting = _waiting(home, "accepted.999", ack_999(group).encode())
    working = daemon.ledger.engine
    if working.dialect.name == "postgresql":  # a real server address where nothing listens
        down = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/gone",
                             connect_args={"connect_timeout": 2})  # fmt: skip
    else:  # the ledger's folder is gone
        down = create_engine(f"sqlite:///{home / 'gone' / 'gateway.db'}")
    daemon.ledger.engine = down
    try:
        report = daemon.cycle(once=True)
    finally:
        daemon.ledger.engine = working
        down.dispose()
    assert not report.ok
    assert any(f.startswith("replies of acme: the ledger is unreachable (OperationalError: ")
               for f in report.failures), report.failures  # fmt: skip
    assert waiting.exists()  # not quarantined, not archived
    health = json.loads((home / "state" / "partners.json").read_text())["acme"]
    assert health["replies"].startswith("waiting: the ledger is unreachable (OperationalError: ")
    assert "SELECT" not in health["replies"] and "parameters" not in health["replies"]

    assert daemon.cycle(once=True).ok
    assert not waiting.exists()
    assert {c.state for c in daemon.ledger.list_claims()} == {ClaimState.ACCEPTED}
    health = json.loads((home / "state" / "partners.json").read_text())["acme"]
    assert health["replies"] == "ok"


def test_ledger_errors_are_told_apart(ledger: Ledger) -> None:
    """A value a column cannot hold is the data's fault; a refused connection is the ledger's."""
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.ledger.schema import remittances

    with pytest.raises(SQLAlchemyError) as too_big, ledger.engine.begin() as connection:
        connection.execute(remittances.insert().values(
            trace_number="T", payer_id="P", amount="1", payment_date="", file_name="f",
            control_number="0001", state="posted", recorded_at=None, updated_at=None,
        ))  # fmt: skip
    assert not is_unreachable(too_big.value)  # a NOT NULL column left empty
    assert "[parameters" not in plain_text(too_big.value) and "INSERT" not in plain_text(
        too_big.value
    )
    gone = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/gone",
                         connect_args={"connect_timeout": 2})  # fmt: skip
    with pytest.raises(SQLAlchemyError) as refused, gone.connect():
        pass
    gone.dispose()
    assert is_unreachable(refused.value)
    assert ledger.reachable()
    assert not Ledger(create_engine("postgresql+psycopg://postgres@127.0.0.1:1/gone")).reachable()
