"""Crash safety: the daemon is SIGKILLed at many points over a few hundred claims and their
replies, restarted each time, and in the end every claim was sent once, every payment posted
once, every output record emitted once, and nothing is lost. Eligibility requests arrive along
the claims: each is sent in one 270 once and answered once. Some claims the partner sits on
(999 and 277CA, no 835): the test plays the follow-up clock 40 days on (it queues the status
inquiries the daemon's planner would then) and each inquiry goes out in one 276 once, its 277
is applied once, and the partner pays the claims it was asked about. Every eighth claim has a
next payer on file: its secondary claim is built from the 835 and sent once, and answered once.
A few paid claims are corrected (replaced or voided) by the practice during the kills.

The partner is played by this test between and during the daemon's runs: it answers each new
837 with a 999, a 277CA and an 835. It leaves the 837s where the gateway put them (a partner
that moved them away at once would make a crash between upload and ledger record invisible to
the daemon's "already there?" check; see the closing note of issue #4).

Corrections ride along: once some claims are paid, the practice replaces a few (frequency 7)
and voids a few (8), leaving the payer's claim number out; the partner answers a replacement
with a reversal of the original payment and the corrected payment, a void with the reversal.
In the end each correction was sent once with its REF*F8, each reversal posted once, the
replaced claims are paid at version 2 and the voided ones voided.
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
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.config import FollowupConfig
from gateway.domain.claim import Claim
from gateway.followup.inquiries import queue_inquiries
from gateway.ledger.db import open_ledger
from gateway.ledger.records import utc_now
from gateway.ledger.schema import ClaimState
from gateway.transactions.eligibility_270_reader import read_270
from gateway.transactions.status_276_reader import read_276
from tests.conftest import REPO
from tests.daemon.eligibility_payer import answer_270, drop_requests, numbered_requests
from tests.daemon.homes import drop_claims, drop_reply, make_home, numbered_claims, read_jsonl
from tests.daemon.payer import (
    ack_999,
    adjudicate,
    claims_of,
    envelope_of,
    remit_835,
    reversal_of,
    status_277ca,
)
from tests.daemon.status_payer import answer_276

CLAIMS = 240
FILES = 24
KILLS = 55
REQUESTS = 48  # eligibility requests, two per claim file
REPLACED = [n for n in range(CLAIMS) if n % 40 == 7]  # replaced once paid (frequency 7)
VOIDED = [n for n in range(CLAIMS) if n % 40 == 13]  # voided once paid (frequency 8)
FINAL = {"paid": CLAIMS - len(VOIDED), "voided": len(VOIDED)}
QUIET_EVERY = 10  # claim n with n % QUIET_EVERY == 5 gets no 835 until a 276 asks about it
NEXT_EVERY = 8  # claims n with n % NEXT_EVERY == 3 have a secondary payer on file


def quiet(claim_id: str) -> bool:
    """Quiet claims are never corrected, and have no next payer (their legs are tested apart)."""
    n = int(claim_id.rsplit("-", 1)[1])
    return n % QUIET_EVERY == 5 and n % NEXT_EVERY != 3


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
    """Answers each 837 once: 999, 277CA (all accepted), 835 (all paid but the quiet claims,
    paid once a 276 asks about them); each 276 once: 999, then a 277."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.answered: set[str] = set()
        self.waiting: dict[str, Claim] = {}  # quiet claims not paid yet

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
            if "-276-" in path.name:  # a claim status inquiry: its 999, its 277, then pay
                self._status(path, isa, group)
                continue
            claims = claims_of(path)
            drop_reply(self.home, f"{isa:09d}.999", ack_999(group, control=isa))
            verdicts = [(c, "A2:20") for c in claims]
            drop_reply(self.home, f"{isa:09d}.277", status_277ca(verdicts, control=isa))
            self.waiting.update((c.claim_id, c) for c in claims if quiet(c.claim_id))
            results = []
            for c in claims:  # a correction has the original's content: its payment reversed
                if quiet(c.claim_id):
                    continue
                if c.frequency == "1":
                    results.append(adjudicate(c))
                    continue
                results.append(reversal_of(adjudicate(c)))
                if c.frequency == "7":  # the corrected payment, under a new payer number
                    results.append(adjudicate(c, deductible_due=Decimal("5.00"),
                                              payer_claim_number=f"NEW{c.claim_id}"))  # fmt: skip
            if results:
                remit = remit_835(results, trace=f"TR{isa:09d}", control=isa)
                drop_reply(self.home, f"{isa:09d}.835", remit)
            self.answered.add(path.name)

    def _status(self, path: Path, isa: int, group: int) -> None:
        drop_reply(self.home, f"{isa:09d}.999",
                   ack_999(group, control=isa, of=("HR", "276", "005010X212")))  # fmt: skip
        text, asked = answer_276(path, control=isa, pending=self.waiting)
        drop_reply(self.home, f"{isa:09d}.277", text)
        woken = [self.waiting.pop(c) for c in dict.fromkeys(asked) if c in self.waiting]
        if woken:
            remit = remit_835([adjudicate(c) for c in woken], trace=f"TW{isa:09d}", control=isa)
            drop_reply(self.home, f"{isa:09d}-woken.835", remit)
        self.answered.add(path.name)


def ask_about_silent_claims(home: Path) -> None:
    """What the daemon's follow-up planner queues 40 days from now (the test moves the clock;
    the daemon runs as its own process with the real one)."""
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        queue_inquiries(ledger, utc_now() + timedelta(days=40), {"acme": FollowupConfig()})


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
        if now != last or dict(now[0]) == FINAL:
            break
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.5))


def _done(home: Path) -> bool:
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        counts = ledger.count_claims()
        pending = any(ledger.pending_outbox(kind, limit=1)
                      for kind in ("postings", "status", "benefits"))  # fmt: skip
        asked = ledger.count_eligibility_requests()
        unanswered = [i for i in ledger.status_inquiries() if i.state != "answered"]
    return (counts == FINAL and asked == {"answered": REQUESTS} and not pending
            and not unanswered)  # fmt: skip


def _drop_corrections(home: Path, records: list[dict[str, Any]], dropped: set[str]) -> None:
    """The practice corrects the chosen claims once the payer has paid them (read without
    taking the ledger's write lock); payer_claim_number is left for the gateway to fill."""
    chosen = {records[n]["claim_id"]: "7" for n in REPLACED}
    chosen.update({records[n]["claim_id"]: "8" for n in VOIDED})
    db = home / "state" / "gateway.db"
    if not db.exists():
        return
    with closing(sqlite3.connect(db, timeout=30)) as connection:
        try:
            paid = {c for (c,) in connection.execute(
                "SELECT claim_id FROM claims WHERE version = 1 AND state = 'paid'")}  # fmt: skip
        except sqlite3.OperationalError:
            return
    ready = [r for r in records if r["claim_id"] in paid and r["claim_id"] in chosen
             and r["claim_id"] not in dropped]  # fmt: skip
    if ready:
        fixes = [dict(r, frequency=chosen[r["claim_id"]]) for r in ready]
        drop_claims(home, f"fix-{len(dropped):03d}.json", fixes)
        dropped.update(r["claim_id"] for r in ready)


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
    dropped: set[str] = set()  # claims whose correction the practice sent
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
        _drop_corrections(home, records, dropped)
        if round_ >= FILES // 2 and round_ % 3 == 0:
            ask_about_silent_claims(home)
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
            _drop_corrections(home, records, dropped)
            ask_about_silent_claims(home)
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
    replaced = [ids[n] for n in REPLACED]
    voided = [ids[n] for n in VOIDED]
    assert dropped == set(replaced + voided)
    assert not set(secondary) & set(replaced + voided)
    # every claim sent exactly once, each secondary claim once (as S, built from the 835),
    # every correction once, with the payer's number
    sent = Counter(
        (c.claim_id, c.subscriber.sequence)
        for p in (home / "exchange" / "in").glob("*-837?-*.x12")
        for c in claims_of(p)
    )
    assert sent == Counter(
        [(c, "P") for c in ids]
        + [(c, "S") for c in secondary]
        + [(c, "P") for c in replaced + voided]
    )
    legs = ids + secondary  # a claim per payer billed
    corrections = {
        c.claim_id: (c.frequency, c.payer_claim_number)
        for p in (home / "exchange" / "in").glob("*-837?-*.x12") for c in claims_of(p)
        if c.frequency != "1"
    }  # fmt: skip
    assert corrections == {c: ("7" if c in replaced else "8", f"PCN{c}")
                           for c in replaced + voided}  # fmt: skip
    assert not list((home / "exchange" / "in").glob(".*"))  # no partial upload left over
    # every payment posted once, every output record emitted once
    postings = read_jsonl(spool / "postings")
    money_moves = Counter(legs) + Counter(replaced * 2 + voided)  # + reversals, corrected
    assert Counter(p["claim_id"] for p in postings) == money_moves
    balances = read_jsonl(spool / "balances")
    assert Counter(b["claim_id"] for b in balances) == money_moves
    actions = Counter((b["claim_id"], b["next_action"]) for b in balances)
    assert all(actions[(c, "bill_secondary")] == 1 for c in secondary)  # then the patient, once
    assert all(actions[(c, "bill_patient")] == (2 if c in replaced else 1) for c in ids)
    for claim_id in replaced + voided:  # the money nets: one current balance, to the cent
        mine = [b for b in balances if b["claim_id"] == claim_id]
        owed = sum((Decimal(b["patient_owes"]) for b in mine), Decimal(0))
        assert owed == (Decimal("5.00") if claim_id in replaced else Decimal(0))
    status = read_jsonl(spool / "status")
    assert len({s["id"] for s in status}) == len(status)
    assert {s["version"] for s in status} == {1, 2}  # each names the claim version it is about
    events = Counter((s["claim_id"], s["event"], s["source"]) for s in status
                     if s["source"] != "277")  # fmt: skip
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
    expected += Counter(
        (c, e, s) for c in replaced + voided for e, s in (
            ("queued", "intake"), ("submitted", "837"), ("accepted", "999"),
            ("accepted", "277CA"), ("reversed", "835"),
        )
    )  # fmt: skip
    expected += Counter((c, "paid", "835") for c in replaced)
    expected += Counter((c, "voided", "835") for c in voided)
    assert events == expected
    # the ledger agrees, and nothing waits or was lost on the way
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        assert ledger.count_claims() == FINAL
        for claim_id in replaced + voided:
            current = ledger.claim(claim_id)
            assert current is not None and current.version == 2
            assert current.state == (ClaimState.PAID if claim_id in replaced
                                     else ClaimState.VOIDED)  # fmt: skip
        for claim_id in ids[:: CLAIMS // 12]:
            assert [e.event.value for e in ledger.history(claim_id) if e.source != "277"] == [
                "queued", "batched", "submitted", "accepted", "accepted", "paid",
            ]  # fmt: skip
        # one claim payment each, posted, and nothing held for review
        in_force = Counter(p.claim_id for c in ids for p in ledger.payments_in_force(c))
        assert in_force == Counter(legs) - Counter(voided)
        assert all([x.sequence for x in ledger.legs(c)] == ["P", "S"] for c in secondary)
        assert ledger.held_payments() == []
    assert not [p for p in (spool / "claims").iterdir() if not p.name.startswith(".")]
    assert not list((spool / "rejected").iterdir())
    # not even the temporary file of a killed daemon's 837 (removed when the next one starts)
    assert not [p for p in (spool / "outbound" / "acme").iterdir() if p.is_file()]
    assert not [p for p in (spool / "inbound" / "acme").iterdir() if p.is_file()]
    assert not list((spool / "review").iterdir())
    # every status inquiry in one 276 once, its 277 applied once; every quiet claim asked
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        inquiries = ledger.status_inquiries()
        from_277 = Counter(
            (e.claim_id, e.event.value) for c in ids for e in ledger.history(c) if e.source == "277"
        )
    assert {i.claim_id for i in inquiries} >= {c for c in ids if quiet(c)}
    assert {i.state for i in inquiries} == {"answered"}
    in_276s = Counter(a.trace for p in (home / "exchange" / "in").glob("*-276-*.x12")
                      for a in read_276(p))  # fmt: skip
    assert in_276s == Counter(i.trace for i in inquiries)
    assert Counter((s["claim_id"], s["event"]) for s in status if s["source"] == "277") == from_277
    assert partner.waiting == {}
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
