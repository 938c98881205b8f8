"""Crash safety: the daemon is SIGKILLed at many points over a few hundred claims and their
replies, restarted each time, and in the end every claim was sent once, every payment posted
once, every output record emitted once, and nothing is lost. Eligibility requests arrive along
the claims: each is sent in one 270 once and answered once. Every eighth claim has a next payer
on file: its secondary claim is built from the 835 and sent once, and answered once.

The partner is played by this test between and during the daemon's runs: it answers each new
837 with a 999, a 277CA and an 835. It leaves the 837s where the gateway put them (a partner
that moved them away at once would make a crash between upload and ledger record invisible to
the daemon's "already there?" check; see the closing note of issue #4).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

from gateway.ledger.db import open_ledger
from gateway.ledger.schema import ClaimState
from gateway.transactions.eligibility_270_reader import read_270
from tests.conftest import REPO
from tests.daemon.eligibility_payer import answer_270, drop_requests, numbered_requests
from tests.daemon.homes import drop_claims, drop_reply, make_home, numbered_claims, read_jsonl
from tests.daemon.payer import ack_999, adjudicate, claims_of, envelope_of, remit_835, status_277ca

CLAIMS = 240
FILES = 24
KILLS = 55
REQUESTS = 48  # eligibility requests, two per claim file
NEXT_EVERY = 8  # claims n with n % NEXT_EVERY == 3 have a secondary payer on file


def with_next_payers(records: list[dict[str, object]]) -> list[str]:
    """Give every eighth claim a secondary payer (the short form); returns their ids."""
    chosen = []
    for n, record in enumerate(records):
        if n % NEXT_EVERY == 3:
            record["next_payers"] = [{"payer": {"id": "SECND1", "name": "SECOND PLAN"},
                                      "member_id": f"SEC{n:05d}", "sequence": "S"}]  # fmt: skip
            chosen.append(str(record["claim_id"]))
    return chosen


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
            if "-270-" in path.name:  # an eligibility inquiry: its 271
                drop_reply(self.home, f"{isa:09d}.271", answer_270(path, control=isa))
                self.answered.add(path.name)
                continue
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
    """Until the daemon holds the home's lock: it has started and opened its ledger."""
    lock = home / "state" / "gateway.lock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if lock.exists() and lock.read_text().strip() == str(process.pid):
            return
        time.sleep(0.02)


Progress = tuple[tuple[tuple[str, int], ...], tuple[int, ...]]
CURRENT = (
    "SELECT state, count(*) FROM claims c WHERE NOT EXISTS (SELECT 1 FROM claims n WHERE "
    "n.claim_id = c.claim_id AND n.version > c.version) GROUP BY state"
)


def _progress(home: Path) -> Progress:
    """Where the work stands: claims per state (read without taking the ledger's write lock)
    and the files archived so far (outputs, replies, 837s): it only ever grows."""
    db = home / "state" / "gateway.db"
    counts: list[tuple[str, int]] = []
    if db.exists():
        with closing(sqlite3.connect(db, timeout=30)) as connection:
            try:
                counts = [(str(s), int(n)) for s, n in connection.execute(CURRENT)]
            except sqlite3.OperationalError:  # the very first start: no tables yet
                counts = []
    archive = home / "spool" / "archive"
    files = tuple(
        sum(1 for p in (archive / part).rglob("*") if p.is_file())
        for part in ("outputs", "inbound", "outbound")
    )
    return tuple(sorted(counts)), files


def _kill_point(home: Path, process: subprocess.Popen[bytes], last: Progress,
                rng: random.Random) -> None:  # fmt: skip
    """Wait until the daemon has moved the work on since the last kill (or has nothing left to
    do), then a random moment more, so the kill falls inside a step. Waiting for progress, not
    for a fixed time, keeps the kills spread along the work on a slow or loaded machine."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        now = _progress(home)
        if now != last or dict(now[0]) == {"paid": CLAIMS}:
            break
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.5))


def _done(home: Path) -> bool:
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        counts = ledger.count_claims()
        pending = any(ledger.pending_outbox(kind, limit=1)
                      for kind in ("postings", "status", "benefits"))  # fmt: skip
        asked = ledger.count_eligibility_requests()
    return counts == {"paid": CLAIMS} and asked == {"answered": REQUESTS} and not pending


def test_sigkill_at_many_points_loses_and_repeats_nothing(tmp_path: Path) -> None:
    home = make_home(tmp_path, poll=1, max_claims=5)
    settings = home / "gateway.toml"
    text = settings.read_text()
    assert "tick_seconds = 2 " in text
    settings.write_text(text.replace("tick_seconds = 2 ", "tick_seconds = 0.05 "))
    records = numbered_claims("CR", CLAIMS, dental_every=3)
    secondary = with_next_payers(records)
    requests = numbered_requests("EL", REQUESTS, dependent_every=5)
    per_file = CLAIMS // FILES
    partner = Partner(home)
    rng = random.Random(20261127)
    kills = 0  # of a daemon still running: one that died on its own would hide a bug
    seen: list[Progress] = []
    for round_ in range(KILLS):
        if round_ < FILES:  # the work arrives over time, so the kills fall all along it
            batch = records[round_ * per_file : (round_ + 1) * per_file]
            drop_claims(home, f"batch-{round_:03d}.json", batch)
            drop_requests(home, f"ask-{round_:03d}.json", requests[round_ * 2 : round_ * 2 + 2])
        before = _progress(home)
        process = _start(home)
        _kill_point(home, process, before, rng)
        kills += process.poll() is None
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        seen.append(_progress(home))
        partner.step(most=len(partner.answered) + 2)
        if round_ % 5 == 4 and rng.random() < 0.5:  # also a partner that re-sends a reply
            processed = home / "exchange" / "out" / "processed"
            sent = sorted(processed.glob("*.835")) + sorted(processed.glob("*.271"))
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
    # every claim sent exactly once, and each secondary claim once (as S, built from the 835)
    sent = Counter(
        (c.claim_id, c.subscriber.sequence)
        for p in (home / "exchange" / "in").glob("*-837?-*.x12")
        for c in claims_of(p)
    )
    assert sent == Counter([(c, "P") for c in ids] + [(c, "S") for c in secondary])
    legs = ids + secondary  # a claim per payer billed
    assert not list((home / "exchange" / "in").glob(".*"))  # no partial upload left over
    # every payment posted once, every output record emitted once
    postings = read_jsonl(spool / "postings")
    assert Counter(p["claim_id"] for p in postings) == Counter(legs)
    balances = read_jsonl(spool / "balances")
    assert Counter(b["claim_id"] for b in balances) == Counter(legs)
    actions = Counter((b["claim_id"], b["next_action"]) for b in balances)
    assert all(actions[(c, "bill_secondary")] == 1 for c in secondary)  # then the patient, once
    assert all(actions[(c, "bill_patient")] == 1 for c in ids)
    status = read_jsonl(spool / "status")
    assert len({s["id"] for s in status}) == len(status)
    assert {s["version"] for s in status} == {1, 2}  # each names the claim version it is about
    events = Counter((s["claim_id"], s["event"], s["source"]) for s in status)
    expected = Counter(
        (c, e, s) for c in ids for e, s in (
            ("queued", "intake"), ("submitted", "837"), ("accepted", "999"),
            ("accepted", "277CA"), ("paid", "835"),
        )
    ) + Counter(
        (c, e, s) for c in secondary for e, s in (
            ("queued", "835"), ("submitted", "837"), ("accepted", "999"),
            ("accepted", "277CA"), ("paid", "835"),
        )
    )  # fmt: skip
    assert events == expected
    # the ledger agrees, and nothing waits or was lost on the way
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        assert ledger.count_claims() == {ClaimState.PAID.value: CLAIMS}
        for claim_id in ids[:: CLAIMS // 12]:
            assert [e.event.value for e in ledger.history(claim_id)] == [
                "queued", "batched", "submitted", "accepted", "accepted", "paid",
            ]  # fmt: skip
        # one claim payment each, posted, and nothing held for review
        paid = Counter(p.claim_id for c in ids for p in ledger.payments_in_force(c))
        assert paid == Counter(legs)
        assert all([x.sequence for x in ledger.legs(c)] == ["P", "S"] for c in secondary)
        assert ledger.held_payments() == []
    assert not [p for p in (spool / "claims").iterdir() if not p.name.startswith(".")]
    assert not list((spool / "rejected").iterdir())
    # not even the temporary file of a killed daemon's 837 (removed when the next one starts)
    assert not [p for p in (spool / "outbound" / "acme").iterdir() if p.is_file()]
    assert not [p for p in (spool / "inbound" / "acme").iterdir() if p.is_file()]
    assert not list((spool / "review").iterdir())
    # every eligibility request asked in one 270 once, answered once
    request_ids = [r["request_id"] for r in requests]
    asked = Counter(
        i.request["request_id"]
        for p in (home / "exchange" / "in").glob("*-270-*.x12")
        for i in read_270(p)
    )
    assert asked == Counter(request_ids)
    benefits = read_jsonl(spool / "benefits")
    assert Counter(b["request_id"] for b in benefits) == Counter(request_ids)
    assert len({b["id"] for b in benefits}) == len(benefits)
    assert {b["status"] for b in benefits} == {"active"}
    assert not [p for p in (spool / "eligibility").iterdir() if not p.name.startswith(".")]
