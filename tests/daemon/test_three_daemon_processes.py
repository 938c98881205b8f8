"""Three daemons as processes (three homes, as if on three machines) on one PostgreSQL ledger
and two shared partners, SIGKILLed at random while claims and replies flow.

Each home takes its own claim files. The partners, played by this test, are a folder pair every
home reaches (professional claims) and the real OpenSSH sshd over SFTP (dental claims); they
answer every 837 with a 999, a 277CA and an 835. Each partner's outputs go to its one outputs
folder. A killed daemon is started again at once, as systemd would. In the end:
every claim is in exactly one interchange, no ISA13 is used twice for a partner, every payment
is posted once, and every output record is written once, in its partner's folder and nowhere
else.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.ledger.db import open_ledger
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import ClaimState, claim_payments, interchange_claims, outbox
from tests.conftest import REPO
from tests.daemon.homes import PARTNER, drop_claims, make_home, numbered_claims, read_jsonl
from tests.daemon.payer import ack_999, adjudicate, claims_of, envelope_of, remit_835, status_277ca
from tests.sshd import Sshd

HOMES = 3
FILES = 3  # claim files per home, dropped along the run
PER_FILE = 10  # every third claim dental: it goes to the second partner
CLAIMS = HOMES * FILES * PER_FILE
KILLS = 10
LIMIT = 80  # seconds; about 30 on an idle machine of this kind, kills included
PARTNERS = ("acme", "beta")  # a folder pair; the sshd
SFTP = """name = "beta"
transport = "sftp"
payers = ["DELTA1"]

[interchange]
sender_id = "PRACTICE01"
receiver_id = "BETACH"

[submitter]
name = "Main Street Clinic"
receiver_name = "BETA CLEARINGHOUSE"

[sftp]
host = "127.0.0.1"
port = {port}
username = "{user}"
private_key = "{key}"
known_hosts = "{known_hosts}"
keepalive_seconds = 0

[schedule]
poll_seconds = 1

[batch]
max_claims = 7
max_wait_seconds = 0

[retry]
attempts = 3
initial_seconds = 0.05
max_seconds = 0.2
"""
KINDS = ("status", "postings", "balances", "benefits")


@pytest.fixture(scope="module")
def backend() -> str:
    return "postgresql"


def _home(root: Path, shared: Path, sshd: Sshd, db_url: str) -> Path:
    home = make_home(root, database=db_url)
    acme = PARTNER.format(poll=1, max_claims=7)
    acme = acme.replace('"exchange/in"', f'"{shared / "acme" / "in"}"')
    acme = acme.replace('"exchange/out"', f'"{shared / "acme" / "out"}"')
    beta = SFTP.format(port=sshd.port, user=sshd.user, key=sshd.home / "keys" / "id_ed25519",
                       known_hosts=sshd.known_hosts)  # fmt: skip
    for name, text in (("acme", acme), ("beta", beta)):
        text += f'\n[outputs]\nfolder = "{shared / "outputs" / name}"\n'
        (home / "partners" / f"{name}.toml").write_text(text)
    settings = home / "gateway.toml"
    text = settings.read_text().replace("tick_seconds = 2 ", "tick_seconds = 0.05 ")
    settings.write_text(text.replace("output_batch = 10000", "output_batch = 5"))
    return home


class Partners:
    """Each partner answers each new 837 once: 999, 277CA (accepted), 835 (paid). It leaves
    the 837s where they were put (see tests/daemon/test_crash.py)."""

    def __init__(self, folders: dict[str, tuple[Path, Path]]) -> None:
        self.folders = folders  # partner -> (its upload folder, its download folder)
        self.answered: set[Path] = set()

    def step(self) -> None:
        for name, (uploads, out) in self.folders.items():
            for path in sorted(uploads.glob("*.x12")):
                if path in self.answered:
                    continue
                isa, group = envelope_of(path)
                claims = claims_of(path)
                guide = "005010X224A2" if "-837D-" in path.name else "005010X222A1"
                trace = f"TR{name.upper()}{isa:09d}"  # trace numbers differ between partners
                replies = {
                    f"{isa:09d}.999": ack_999(group, control=isa, of=("HC", "837", guide)),
                    f"{isa:09d}.277": status_277ca([(c, "A2:20") for c in claims], control=isa),
                    f"{isa:09d}.835": remit_835(
                        [adjudicate(c) for c in claims], trace=trace, control=isa
                    ),
                }
                for reply, text in replies.items():
                    (out / f".{reply}.part").write_text(text)
                    (out / f".{reply}.part").rename(out / reply)
                self.answered.add(path)


def _start(home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "--home", str(home), "run"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _running(home: Path, since: float) -> None:
    """Wait until the daemon of ``home`` started at ``since`` (wall clock) is running: its first
    cycle wrote ``state/partners.json``, so its SIGTERM handler is in place. The work can be
    done right after a kill, and a SIGTERM to a daemon still starting up ends it by the signal
    (-15), which says nothing of how a running daemon stops."""
    health = home / "state" / "partners.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if health.exists() and health.stat().st_mtime >= since:
            return
        time.sleep(0.1)


def _done(ledger: Ledger) -> bool:
    pending = any(ledger.pending_outbox(kind, limit=1) for kind in KINDS)
    return ledger.count_claims() == {ClaimState.PAID.value: CLAIMS} and not pending


def test_three_daemons_killed_at_random_lose_and_repeat_nothing(
    tmp_path: Path, sshd: Sshd, db_url: str
) -> None:
    shared = tmp_path / "shared"
    for folder in ("in", "out"):
        (shared / "acme" / folder).mkdir(parents=True)
    folders = {"acme": (shared / "acme" / "in", shared / "acme" / "out"),
               "beta": (sshd.inbound, sshd.outbound)}  # fmt: skip
    homes = [_home(tmp_path / f"home{n}", shared, sshd, db_url) for n in range(HOMES)]
    watch = open_ledger(db_url)  # migrated once before three daemons start
    partners = Partners(folders)
    rng = random.Random(15)
    starts = [time.time()] * HOMES  # wall clock (file times) of each daemon's last start
    daemons = [_start(home) for home in homes]
    started = time.monotonic()
    dropped = kills = 0
    next_kill = started + rng.uniform(0.5, 2.0)
    try:
        while time.monotonic() - started < LIMIT:
            now = time.monotonic()
            for n, process in enumerate(daemons):  # a killed one was started again
                assert process.poll() is None, f"daemon {n} exited on its own"
            if dropped < FILES and now - started >= dropped * 3:  # the work arrives over time
                for n, home in enumerate(homes):
                    records = numbered_claims(f"H{n}F{dropped}", PER_FILE, dental_every=3)
                    drop_claims(home, f"claims-{dropped}.json", records)
                dropped += 1
            if kills < KILLS and now >= next_kill:
                n = rng.randrange(HOMES)
                daemons[n].send_signal(signal.SIGKILL)
                daemons[n].wait()
                starts[n] = time.time()
                daemons[n] = _start(homes[n])  # restarted at once, as systemd would
                kills += 1
                next_kill = now + rng.uniform(0.5, 2.0)
            partners.step()
            if dropped == FILES and kills == KILLS and _done(watch):
                break
            time.sleep(0.1)
    finally:
        for home, since in zip(homes, starts, strict=True):
            _running(home, since)
        for process in daemons:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in daemons]
        done = _done(watch)
        watch.close()
    assert kills == KILLS
    assert done, f"the claims were not all paid and written within {LIMIT} s"
    assert codes == [0] * HOMES
    ids = {
        r["claim_id"]
        for n in range(HOMES)
        for f in range(FILES)
        for r in numbered_claims(f"H{n}F{f}", PER_FILE, dental_every=3)
    }
    dental = {c for c in ids if int(c.split("-")[1]) % 3 == 0}

    # every claim in exactly one interchange, at the partner of its payer
    for name, mine in (("acme", ids - dental), ("beta", dental)):
        files = sorted(folders[name][0].glob("*.x12"))
        sent = Counter(c.claim_id for path in files for c in claims_of(path))
        assert sent == dict.fromkeys(mine, 1), name
        controls = [envelope_of(path)[0] for path in files]
        assert len(set(controls)) == len(controls), f"{name}: an ISA13 used twice"
    with open_ledger(db_url) as ledger, ledger.engine.connect() as c:
        links = Counter(c.execute(select(interchange_claims.c.claim_id)).scalars())
        paid = Counter(c.execute(select(claim_payments.c.claim_id, claim_payments.c.state)).all())
        emitted = dict(c.execute(select(outbox.c.record_id, outbox.c.place)).all())
        unemitted = c.execute(select(outbox.c.id).where(outbox.c.emitted_at.is_(None))).all()
    assert links == dict.fromkeys(ids, 1)
    assert paid == {(claim, "posted"): 1 for claim in ids}  # every payment posted once
    assert not unemitted

    # every output record once, in its partner's folder, and in no home's spool
    found: Counter[tuple[str, str]] = Counter()
    for name in PARTNERS:
        for kind in KINDS:
            found.update((r["id"], name) for r in read_jsonl(shared / "outputs" / name / kind))
    assert set(found.values()) == {1}, "an output record written twice"
    assert dict.fromkeys(found, 1) == {(record, place): 1 for record, place in emitted.items()}
    for home in homes:
        for kind in KINDS:
            assert not list((home / "spool" / kind).glob("*.jsonl")), f"{home}: {kind}"
    postings = Counter(
        (r["claim_id"], name)
        for name in PARTNERS
        for r in read_jsonl(shared / "outputs" / name / "postings")
    )
    assert postings == {(c, "beta" if c in dental else "acme"): 1 for c in ids}
