"""A daemon stalled past its lease cannot submit or post what another daemon has since taken.

Two real `gateway run` processes (two homes) on one PostgreSQL ledger and one partner. Daemon A
takes the claims (its leases) and is caught on its way to the interchange: the test holds the
partner's control-number row, A waits for it, and A is stopped with SIGSTOP. Its leases run out
(the test moves their end into the past instead of waiting the lease time: A's heartbeat is
stopped with it, so nothing renews them), daemon B starts and takes the claims over, and A is
woken with SIGCONT while B waits behind A's open transaction. A's batch is refused by its
fencing token (``lease_lost``), its file is removed, and B sends every claim, once.

Replies need no lease: a daemon stopped with an 835 it downloaded, while the partner sends the
file again and another daemon posts it, posts nothing when it wakes (the payments' identities
and the file's hash are recorded in the transaction that posts them).

The 276 leg is fenced the same way (in threads of one process: the test only needs the daemons
to wait, not to stop).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from gateway.daemon.runner import Daemon, worker_name
from gateway.daemon.status_outbound import StatusInquiryReport, build_status_inquiries
from gateway.ledger.db import open_ledger
from gateway.ledger.followup import InquiryIn
from gateway.ledger.records import utc_now
from gateway.ledger.schema import (
    ClaimState,
    OutboxKind,
    claim_payments,
    interchange_claims,
    leases,
    outbox,
)
from gateway.transactions.status_276_reader import read_276
from tests.conftest import REPO
from tests.daemon.homes import drop_claims, make_home, numbered_claims
from tests.daemon.payer import adjudicate, claims_of, envelope_of, remit_835

CLAIMS = 6


@pytest.fixture(scope="module")
def backend() -> str:
    return "postgresql"


def _home(root: Path, shared: Path, db_url: str) -> Path:
    home = make_home(root, database=db_url, max_claims=CLAIMS)
    partner = home / "partners" / "acme.toml"
    text_ = partner.read_text().replace('"exchange/in"', f'"{shared / "in"}"')
    partner.write_text(text_.replace('"exchange/out"', f'"{shared / "out"}"'))
    settings = home / "gateway.toml"
    settings.write_text(settings.read_text().replace("tick_seconds = 2 ", "tick_seconds = 0.05 "))
    return home


def _two_homes(tmp_path: Path, db_url: str) -> tuple[Path, Path, Path]:
    """The partner's folder pair, and homes A and B that share it and the ledger."""
    shared = tmp_path / "partner"
    for folder in ("in", "out"):
        (shared / folder).mkdir(parents=True)
    home_a, home_b = (_home(tmp_path / n, shared, db_url) for n in ("a", "b"))
    return shared, home_a, home_b


def _start(home: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway.cli.main", "--home", str(home), "run"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip


def _until(what: str, check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _leases_of(engine: Engine, owner: str) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).where(leases.c.owner == owner)).scalar_one())


def _lock_waiters(engine: Engine) -> int:
    """How many sessions of the test's database wait for a lock."""
    with engine.connect() as c:
        return int(c.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )).scalar_one())  # fmt: skip


def test_a_daemon_stopped_past_its_lease_cannot_submit_what_another_took(
    tmp_path: Path, db_url: str
) -> None:
    shared, home_a, home_b = _two_homes(tmp_path, db_url)
    owner_a, owner_b = worker_name(home_a), worker_name(home_b)
    drop_claims(home_a, "claims.json", numbered_claims("STL", CLAIMS))
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    ledger = open_ledger(db_url)
    ledger.reserve_control_numbers("acme")  # the row the test will hold

    daemons: list[subprocess.Popen[bytes]] = []
    holder = create_engine(db_url).connect()
    try:
        hold = holder.begin()
        holder.execute(text("SELECT * FROM control_numbers WHERE partner = 'acme' FOR UPDATE"))
        daemons.append(_start(home_a, tmp_path / "a.log"))
        _until("A holds the claims' leases and waits for a control number",
               lambda: _leases_of(engine, owner_a) == CLAIMS
               and _lock_waiters(engine) > 0)  # fmt: skip
        os.kill(daemons[0].pid, signal.SIGSTOP)
        with engine.connect() as c:  # A's lease time goes by while it is stopped
            c.execute(update(leases).where(leases.c.owner == owner_a)
                      .values(expires_at=func.now() - text("interval '1 second'")))  # fmt: skip
        hold.commit()  # A's reservation completes in the server; A cannot commit it, stopped
        daemons.append(_start(home_b, tmp_path / "b.log"))
        _until("B took the claims over", lambda: _leases_of(engine, owner_b) == CLAIMS)
        os.kill(daemons[0].pid, signal.SIGCONT)
        _until("B submitted every claim",
               lambda: ledger.count_claims() == {ClaimState.SUBMITTED.value: CLAIMS})  # fmt: skip
        for process in daemons:
            assert process.poll() is None, "a daemon exited"
    finally:
        holder.close()
        for process in daemons:
            os.kill(process.pid, signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in daemons]
        ledger.close()
        engine.dispose()
    assert codes == [0, 0]

    sent = [p for p in (shared / "in").glob("*.x12")]
    assert len(sent) == 1, "one interchange, B's"
    assert Counter(c.claim_id for c in claims_of(sent[0])) == dict.fromkeys(
        (r["claim_id"] for r in numbered_claims("STL", CLAIMS)), 1
    )
    with open_ledger(db_url) as check, check.engine.connect() as c:
        links = c.execute(select(interchange_claims.c.claim_id)).scalars().all()
    assert sorted(links) == sorted(r["claim_id"] for r in numbered_claims("STL", CLAIMS))
    events = [json.loads(line) for line in (tmp_path / "a.log").read_text().splitlines()
              if line.startswith("{")]  # fmt: skip
    assert [e["claims"] for e in events if e["event"] == "lease_lost"] == [CLAIMS]
    assert not list((home_a / "spool" / "outbound" / "acme").glob("*.x12"))  # removed
    assert not list((home_a / "spool" / "archive" / "outbound").rglob("*.x12"))  # never sent


def test_a_daemon_stopped_with_a_reply_posts_nothing_another_posted(
    tmp_path: Path, make_database: Callable[[], str]
) -> None:
    db_url = make_database()  # a ledger of its own
    shared, home_a, home_b = _two_homes(tmp_path, db_url)
    drop_claims(home_a, "claims.json", numbered_claims("PST", CLAIMS))
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    ledger = open_ledger(db_url)

    def drop_835(text_: str) -> None:  # the partner sends it (again)
        (shared / "out" / ".000000001.835.part").write_text(text_)
        (shared / "out" / ".000000001.835.part").rename(shared / "out" / "000000001.835")

    daemons: list[subprocess.Popen[bytes]] = []
    holder = create_engine(db_url).connect()
    inbound_a = home_a / "spool" / "inbound" / "acme"
    try:
        daemons.append(_start(home_a, tmp_path / "a.log"))
        _until("A submitted the claims",
               lambda: ledger.count_claims() == {ClaimState.SUBMITTED.value: CLAIMS})  # fmt: skip
        [sent] = (shared / "in").glob("*.x12")
        isa, _ = envelope_of(sent)
        remit = remit_835([adjudicate(c) for c in claims_of(sent)], trace="TRSTOP", control=isa)
        hold = holder.begin()  # A will download the 835 and wait to look it up
        holder.execute(text("LOCK TABLE received_files IN ACCESS EXCLUSIVE MODE"))
        drop_835(remit)
        _until("A holds the 835 and waits for the ledger",
               lambda: any(inbound_a.glob("*.835")) and _lock_waiters(engine) > 0)  # fmt: skip
        os.kill(daemons[0].pid, signal.SIGSTOP)
        hold.commit()  # A's look-up answers "never seen" in the server; A is stopped
        drop_835(remit)
        daemons.append(_start(home_b, tmp_path / "b.log"))
        _until("B posted the 835",
               lambda: ledger.count_claims() == {ClaimState.PAID.value: CLAIMS})  # fmt: skip
        os.kill(daemons[0].pid, signal.SIGCONT)
        _until("A went through the 835 it held", lambda: not any(inbound_a.glob("*.835")))
        for process in daemons:
            assert process.poll() is None, "a daemon exited"
    finally:
        holder.close()
        for process in daemons:
            os.kill(process.pid, signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in daemons]
        ledger.close()
    assert codes == [0, 0]
    ids = [r["claim_id"] for r in numbered_claims("PST", CLAIMS)]
    with engine.connect() as c:
        paid = Counter(c.execute(select(claim_payments.c.claim_id, claim_payments.c.state)).all())
        postings = c.execute(select(outbox.c.record_id)
                             .where(outbox.c.kind == OutboxKind.POSTINGS.value)).all()  # fmt: skip
    engine.dispose()
    assert paid == {(claim, "posted"): 1 for claim in ids}  # posted once, by B
    assert len(postings) == CLAIMS
    assert list((home_a / "spool" / "archive" / "inbound" / "acme").rglob("*.835"))  # A's copy
    events = [json.loads(line) for line in (tmp_path / "a.log").read_text().splitlines()
              if line.startswith("{")]  # fmt: skip
    assert "remittance_already_posted" in {e["event"] for e in events}  # A found B's posting


def test_a_daemon_stalled_past_its_lease_cannot_send_a_276_another_took(
    tmp_path: Path, make_database: Callable[[], str]
) -> None:
    """The 276 leg is fenced like the 837's: daemon A leases the queued inquiries and waits for
    a control number (the test holds the row); its leases run out and B takes them over and
    waits too; once the row is free A's 276 is refused by its token, its file removed, and the
    partner gets one 276, B's, asking about every claim once."""
    db_url = make_database()
    shared, home_a, home_b = _two_homes(tmp_path, db_url)
    daemon_a, daemon_b = Daemon(home_a), Daemon(home_b)
    drop_claims(home_a, "claims.json", numbered_claims("ASK", CLAIMS))
    assert daemon_a.cycle(once=True).ok  # the claims go out (the control-number row exists)
    ledger = daemon_a.ledger
    wanted = [InquiryIn(c.claim_id, c.version, "acme", c.payer_id, 1, "no_payment")
              for c in ledger.list_claims()]  # fmt: skip
    assert len(ledger.queue_status_inquiries(wanted, utc_now())) == CLAIMS
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")

    reports = {"a": StatusInquiryReport(), "b": StatusInquiryReport()}

    def build(daemon: Daemon, name: str) -> threading.Thread:
        steps = daemon.followup
        thread = threading.Thread(target=lambda: build_status_inquiries(
            steps.spool, steps.ledger, steps.partners[0], owner=steps.owner,
            lease_seconds=60, report=reports[name],
        ))  # fmt: skip
        thread.start()
        return thread

    holder = create_engine(db_url).connect()
    threads: list[threading.Thread] = []
    try:
        with capture_logs() as logs:
            hold = holder.begin()
            holder.execute(text("SELECT * FROM control_numbers WHERE partner = 'acme' FOR UPDATE"))
            threads.append(build(daemon_a, "a"))
            _until("A holds the inquiries' leases and waits for a control number",
                   lambda: _leases_of(engine, daemon_a.owner) == CLAIMS
                   and _lock_waiters(engine) == 1)  # fmt: skip
            with engine.connect() as c:  # A's lease time goes by while it waits
                c.execute(update(leases).where(leases.c.owner == daemon_a.owner)
                          .values(expires_at=func.now() - text("interval '1 second'")))  # fmt: skip
            threads.append(build(daemon_b, "b"))
            _until("B took the inquiries over and waits for a control number",
                   lambda: _leases_of(engine, daemon_b.owner) == CLAIMS
                   and _lock_waiters(engine) == 2)  # fmt: skip
            hold.commit()
            for thread in threads:
                thread.join(timeout=60)
    finally:
        holder.close()
        engine.dispose()
    assert not any(t.is_alive() for t in threads)
    assert reports["a"].built == [] and len(reports["b"].built) == 1
    assert [e["inquiries"] for e in logs if e["event"] == "lease_lost"] == [CLAIMS]
    assert not list((home_a / "spool" / "outbound" / "acme").glob("*-276-*.x12"))  # removed
    assert daemon_a.cycle(once=True).ok and daemon_b.cycle(once=True).ok  # the uploads
    (sent,) = shared.joinpath("in").glob("*-276-*.x12")
    assert sent.name == reports["b"].built[0]
    asked = Counter(a.claim_id for a in read_276(sent))
    assert asked == dict.fromkeys((c.claim_id for c in wanted), 1)
    stored = ledger.status_inquiries()
    assert {i.state for i in stored} == {"sent"} and len({i.interchange_id for i in stored}) == 1
