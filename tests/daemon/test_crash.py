"""Crash safety: the daemon is SIGKILLed at many points over a few hundred claims and their
replies, restarted each time, and in the end every claim was sent once, every payment posted
once, every output record emitted once, and nothing is lost.

The partner is played by this test between and during the daemon's runs: it answers each new
837 with a 999, a 277CA and an 835. It leaves the 837s where the gateway put them (a partner
that moved them away at once would make a crash between upload and ledger record invisible to
the daemon's "already there?" check; see the closing note of issue #4).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from gateway.ledger.db import open_ledger
from gateway.ledger.schema import ClaimState
from tests.conftest import REPO
from tests.daemon.homes import drop_claims, drop_reply, make_home, numbered_claims, read_jsonl
from tests.daemon.payer import ack_999, adjudicate, claims_of, envelope_of, remit_835, status_277ca

CLAIMS = 240
FILES = 24
KILLS = 55


class Partner:
    """Answers each 837 once: 999, 277CA (all accepted), 835 (all paid)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.answered: set[str] = set()

    def step(self, most: int | None = None) -> None:
        for path in sorted((self.home / "exchange" / "in").glob("*.x12")):
            if path.name in self.answered:
                continue
            if most is not None and len(self.answered) >= most:
                return
            isa, group = envelope_of(path)
            claims = claims_of(path)
            drop_reply(self.home, f"{isa:09d}.999", ack_999(group, control=isa))
            verdicts = [(c, "A2:20") for c in claims]
            drop_reply(self.home, f"{isa:09d}.277", status_277ca(verdicts, control=isa))
            remit = remit_835([adjudicate(c) for c in claims], trace=f"TR{isa:09d}", control=isa)
            drop_reply(self.home, f"{isa:09d}.835", remit)
            self.answered.add(path.name)


def _start(home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "--home", str(home), "run"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _wait_until_running(home: Path, process: subprocess.Popen[bytes]) -> None:
    """Until the daemon holds the home's lock (imports done, ledger open), 30 s at most."""
    lock = home / "state" / "gateway.lock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if lock.exists() and lock.read_text().strip() == str(process.pid):
            return
        time.sleep(0.02)


def _progress(home: Path) -> tuple[tuple[tuple[str, int], ...], int]:
    """Where the work stood when the daemon was killed: claims per state, output files."""
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        counts = tuple(sorted(ledger.count_claims().items()))
    return counts, len(list((home / "spool" / "archive").rglob("*.jsonl")))


def _done(home: Path) -> bool:
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        counts = ledger.count_claims()
        pending = any(ledger.pending_outbox(kind, limit=1) for kind in ("postings", "status"))
    return counts == {"paid": CLAIMS} and not pending


def test_sigkill_at_many_points_loses_and_repeats_nothing(tmp_path: Path) -> None:
    home = make_home(tmp_path, poll=1, max_claims=5)
    settings = home / "gateway.toml"
    text = settings.read_text()
    assert "tick_seconds = 2 " in text
    settings.write_text(text.replace("tick_seconds = 2 ", "tick_seconds = 0.05 "))
    records = numbered_claims("CR", CLAIMS, dental_every=3)
    per_file = CLAIMS // FILES
    partner = Partner(home)
    rng = random.Random(20261127)
    kills = 0  # of a daemon still running: one that died on its own would hide a bug
    seen = []
    for round_ in range(KILLS):
        if round_ < FILES:  # the work arrives over time, so the kills fall all along it
            batch = records[round_ * per_file : (round_ + 1) * per_file]
            drop_claims(home, f"batch-{round_:03d}.json", batch)
        process = _start(home)
        _wait_until_running(home, process)  # a loaded machine may take seconds to start it
        time.sleep(rng.uniform(0.6, 1.8))
        kills += process.poll() is None
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        seen.append(_progress(home))
        partner.step(most=len(partner.answered) + 2)
        if round_ % 5 == 4 and rng.random() < 0.5:  # also a partner that re-sends a reply
            sent = sorted((home / "exchange" / "out" / "processed").glob("*.835"))
            if sent:
                again = rng.choice(sent)
                drop_reply(home, f"resent-{round_}-{again.name}", again.read_text())
    # Then let it finish, and stop it the polite way once it runs (holds the home's lock).
    process = _start(home)
    _wait_until_running(home, process)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and not _done(home):
            assert process.poll() is None, f"the daemon exited with {process.returncode}"
            partner.step()
            time.sleep(0.5)
        assert _done(home), "the daemon did not finish the claims within 3 minutes"
        time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0
    assert kills == KILLS >= 50
    # the kills fell at many different stages of the work, not all at start-up
    assert len(set(seen)) >= 20, seen
    assert sum(1 for counts, _ in seen if len(counts) > 1) >= 10, seen

    spool = home / "spool"
    ids = [r["claim_id"] for r in records]
    # every claim sent exactly once
    sent = Counter(
        c.claim_id for p in (home / "exchange" / "in").glob("*.x12") for c in claims_of(p)
    )
    assert sent == Counter(ids)
    assert not list((home / "exchange" / "in").glob(".*"))  # no partial upload left over
    # every payment posted once, every output record emitted once
    postings = read_jsonl(spool / "postings")
    assert Counter(p["claim_id"] for p in postings) == Counter(ids)
    balances = read_jsonl(spool / "balances")
    assert Counter(b["claim_id"] for b in balances) == Counter(ids)
    status = read_jsonl(spool / "status")
    assert len({s["id"] for s in status}) == len(status)
    events = Counter((s["claim_id"], s["event"], s["source"]) for s in status)
    expected = Counter(
        (c, e, s) for c in ids for e, s in (
            ("queued", "intake"), ("submitted", "837"), ("accepted", "999"),
            ("accepted", "277CA"), ("paid", "835"),
        )
    )  # fmt: skip
    assert events == expected
    # the ledger agrees, and nothing waits or was lost on the way
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        assert ledger.count_claims() == {ClaimState.PAID.value: CLAIMS}
        for claim_id in ids[:: CLAIMS // 12]:
            assert [e.event.value for e in ledger.history(claim_id)] == [
                "queued", "submitted", "accepted", "accepted", "paid",
            ]  # fmt: skip
    assert not [p for p in (spool / "claims").iterdir() if not p.name.startswith(".")]
    assert not list((spool / "rejected").iterdir())
    assert not [p for p in (spool / "outbound" / "acme").iterdir() if p.is_file()]
    assert not [p for p in (spool / "inbound" / "acme").iterdir() if p.is_file()]
    assert not list((spool / "review").iterdir())
