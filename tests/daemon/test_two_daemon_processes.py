"""Two daemon processes (two homes) on one ledger and one partner write each record once.

An independent run found 108 to 372 status records and 3 balances written twice, some twice in
one home, because an output batch could be adopted by the other daemon and assigned twice. Here
two real `gateway run` processes share the ledger and the partner's folders while the partner
answers every 837 with a 999, a 277CA and an 835: every claim is sent once, and every output
record is in exactly one output file of one home.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from gateway.ledger.db import open_ledger
from tests.conftest import REPO
from tests.daemon.homes import drop_claims, make_home, numbered_claims, read_jsonl
from tests.daemon.payer import ack_999, adjudicate, claims_of, envelope_of, remit_835, status_277ca

CLAIMS = 60


def _home(root: Path, shared: Path, db_url: str) -> Path:
    home = make_home(root, database=db_url)
    partner = home / "partners" / "acme.toml"
    text = partner.read_text().replace('"exchange/in"', f'"{shared / "in"}"')
    text = text.replace('"exchange/out"', f'"{shared / "out"}"')
    partner.write_text(text.replace("max_claims = 5000", "max_claims = 7"))
    settings = home / "gateway.toml"
    text = settings.read_text().replace("tick_seconds = 2 ", "tick_seconds = 0.05 ")
    settings.write_text(text.replace("output_batch = 10000", "output_batch = 5"))
    return home


def _answer(shared: Path, answered: set[str]) -> None:
    """The partner: a 999, a 277CA and an 835 for each new 837."""
    for path in sorted((shared / "in").glob("*.x12")):
        if path.name in answered:
            continue
        isa, group = envelope_of(path)
        claims = claims_of(path)
        replies = {
            f"{isa:09d}.999": ack_999(group, control=isa),
            f"{isa:09d}.277": status_277ca([(c, "A2:20") for c in claims], control=isa),
            f"{isa:09d}.835": remit_835(
                [adjudicate(c) for c in claims], trace=f"TR{isa:09d}", control=isa
            ),
        }
        for name, text in replies.items():
            tmp = shared / "out" / f".{name}.part"
            tmp.write_text(text)
            tmp.rename(shared / "out" / name)
        answered.add(path.name)


def test_two_daemon_processes_write_each_output_record_once(tmp_path: Path, db_url: str) -> None:
    shared = tmp_path / "partner"
    for folder in ("in", "out"):
        (shared / folder).mkdir(parents=True)
    homes = [_home(tmp_path / name, shared, db_url) for name in ("a", "b")]
    drop_claims(homes[0], "first.json", numbered_claims("TWO", CLAIMS // 2))
    drop_claims(homes[1], "second.json", numbered_claims("TWB", CLAIMS // 2))
    daemons = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway.cli.main", "--home", str(home), "run"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for home in homes
    ]
    answered: set[str] = set()
    done = False
    deadline = time.monotonic() + 240
    try:
        with open_ledger(db_url) as ledger:
            while time.monotonic() < deadline and not done:
                for process in daemons:
                    assert process.poll() is None, f"a daemon exited with {process.returncode}"
                _answer(shared, answered)
                time.sleep(0.3)
                pending = any(
                    ledger.pending_outbox(kind, limit=1)
                    for kind in ("postings", "balances", "status")
                )
                done = ledger.count_claims() == {"paid": CLAIMS} and not pending
    finally:
        for process in daemons:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in daemons]
    assert done, "the two daemons did not finish the claims within 4 minutes"
    assert codes == [0, 0]

    sent = Counter(c.claim_id for p in (shared / "in").glob("*.x12") for c in claims_of(p))
    assert set(sent.values()) == {1} and len(sent) == CLAIMS
    ids = {r["claim_id"] for r in numbered_claims("TWO", CLAIMS // 2)}
    ids |= {r["claim_id"] for r in numbered_claims("TWB", CLAIMS // 2)}
    for kind in ("postings", "balances", "status"):
        records = [r for home in homes for r in read_jsonl(home / "spool" / kind)]
        assert len({r["id"] for r in records}) == len(records), f"{kind}: a record written twice"
        if kind != "status":
            assert Counter(r["claim_id"] for r in records) == dict.fromkeys(ids, 1), kind
    status = [r for home in homes for r in read_jsonl(home / "spool" / "status")]
    events = Counter((s["claim_id"], s["event"], s["source"]) for s in status)
    assert set(events.values()) == {1}  # no event twice, whichever daemon applied it
    for event, source in (("queued", "intake"), ("submitted", "837"), ("paid", "835")):
        assert {c for c, e, s in events if (e, s) == (event, source)} == ids, event
    # (a claim's 999 and 277CA may come after its 835 when the other daemon took that one:
    # its "accepted" events are then skipped, as for replies out of order)
