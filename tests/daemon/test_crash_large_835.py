"""Crash safety of a large 835: its one payment is recorded a chunk at a time in one ledger
transaction, its claim payments waiting in temporary files meanwhile. The daemon is SIGKILLed
while it posts, several times, then let finish: the payment is recorded once and whole, each
claim payment once, each output record emitted once, and no temporary file is left behind."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

from bench.gen_835 import write_835
from gateway.ledger.db import open_ledger
from gateway.ledger.records import CHUNK
from gateway.ledger.schema import PaymentState
from tests.daemon.homes import drop_reply, make_home, read_jsonl
from tests.daemon.test_crash import _start, _wait_until_running

CLAIMS = 6 * CHUNK  # six chunks
KILLS = 6


def _waiting(inbound: Path) -> bool:
    """A downloaded file waits there until it is done with."""
    return any(p.is_file() for p in inbound.glob("*"))


def _reading_back(pid: int) -> bool:
    """The daemon reads a payment's claim payments back from its temporary file (under
    ``spool/work/``, unlinked): the ledger transaction that records them is open."""
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            if "/spool/work/" not in os.readlink(fd):
                continue
            size = os.stat(fd).st_size  # before the position: a file being written is not read
            info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
        except OSError:  # closed meanwhile
            continue
        position = int(info.split("pos:", 1)[1].split()[0])
        if size - position > 1 << 16:  # far behind its end (writing, it is a buffer at most)
            return True
    return False


def _recorded(home: Path) -> bool:
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        return bool(ledger.claim_payments())


def _posted(home: Path) -> bool:
    """The payment is recorded and every output record written."""
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        if len(ledger.claim_payments()) != CLAIMS:
            return False
        return not any(ledger.pending_outbox(k, limit=1) for k in ("postings", "status"))


def test_sigkill_while_a_large_835_posts_records_it_once_and_whole(tmp_path: Path) -> None:
    home = make_home(tmp_path, poll=1)
    settings = home / "gateway.toml"
    settings.write_text(settings.read_text().replace("tick_seconds = 2 ", "tick_seconds = 0.05 "))
    source = tmp_path / "large.835"
    write_835(source, CLAIMS)
    drop_reply(home, "large.835", source.read_text())
    inbound = home / "spool" / "inbound" / "acme"
    rng = random.Random(20261203)
    inside = 0  # kills that fell inside the payment's ledger transaction
    for _ in range(KILLS):
        process = _start(home)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _reading_back(process.pid):
            time.sleep(0.01)  # until the ledger reads the payment back: its transaction runs
        time.sleep(rng.uniform(0.0, 0.4))
        killed_inside = _reading_back(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        if killed_inside:  # killed before its end: nothing of it is in the ledger
            inside += 1
            assert not _recorded(home)
    process = _start(home)
    _wait_until_running(home, process)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and not _posted(home):
            assert process.poll() is None, f"the daemon exited with {process.returncode}"
            time.sleep(0.5)
        assert _posted(home), "the daemon did not post the 835 within 5 minutes"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert inside >= KILLS // 2, inside

    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        payments = ledger.claim_payments()
        remittances = {p.remittance_id for p in payments}
    assert len(remittances) == 1 and len({p.posting_id for p in payments}) == CLAIMS
    spool = home / "spool"
    postings, status = read_jsonl(spool / "postings"), read_jsonl(spool / "status")
    posted = Counter(p.state for p in payments)[PaymentState.POSTED]
    assert len(postings) == len({p["id"] for p in postings}) == posted > CLAIMS * 0.9
    assert len(status) == len({s["id"] for s in status}) == CLAIMS
    assert not _waiting(inbound)
    assert not list((spool / "work").iterdir())  # the temporary files went with the daemons
