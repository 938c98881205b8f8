"""A partner that hangs holds up only itself: the real sshd frozen (SIGSTOP) beside a folder pair.

The SFTP partner's server accepts connections and then says nothing, with timeouts of a minute:
a daemon that exchanged with its partners one after the other would stall for that minute at
each attempt. Each partner's exchange runs in its own thread, so the folder partner's claims
go out and its replies are applied while the SFTP exchange hangs; each cycle lasts about a
tick. When the hung exchange passes its deadline it is cut (its connection closed), the
partner is reported down, and once the server is back its claims go out exactly once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.daemon.runner import CycleReport, Daemon
from gateway.ledger.schema import ClaimState
from tests.conftest import SAMPLES
from tests.daemon.homes import drop_claims, drop_reply, make_home, read_jsonl, running
from tests.daemon.payer import claims_of, status_277ca
from tests.sshd import Sshd

TICK = 0.2
SLOW = """name = "slow"
transport = "sftp"
payers = ["DELTA1"]

[interchange]
sender_id = "PRACTICE01"
receiver_id = "SLOWCH"

[submitter]
name = "Main Street Clinic"
receiver_name = "SLOW CLEARINGHOUSE"

[sftp]
host = "127.0.0.1"
port = {port}
username = "{user}"
private_key = "{key}"
known_hosts = "{known_hosts}"
connect_timeout = 60
timeout = 60
keepalive_seconds = 0

[schedule]
poll_seconds = 1

[batch]
max_wait_seconds = 0

[retry]
attempts = 2
initial_seconds = 0.05
max_seconds = 0.1
"""


def _wait_for(what: str, condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.02)


@contextmanager
def _resumed_at_the_end(sshd: Sshd) -> Iterator[None]:
    try:
        yield
    finally:
        sshd.resume()  # a frozen server would hold the daemon's last exchange


def _home(tmp_path: Path, sshd: Sshd, db_url: str) -> Path:
    home = make_home(tmp_path, database=db_url)
    slow = SLOW.format(port=sshd.port, user=sshd.user, key=sshd.home / "keys" / "id_ed25519",
                       known_hosts=sshd.known_hosts)  # fmt: skip
    (home / "partners" / "slow.toml").write_text(slow)
    settings = home / "gateway.toml"
    settings.write_text(
        settings.read_text().replace("tick_seconds = 2 ", f"tick_seconds = {TICK} ")
    )
    return home


def _claims(kind: str, prefix: str) -> list[dict[str, object]]:
    records = json.loads((SAMPLES / f"{kind}.json").read_text())
    for n, record in enumerate(records):
        record["claim_id"] = f"{prefix}-{n}"
    return list(records)


def test_a_frozen_sftp_partner_never_holds_up_a_folder_partner(
    tmp_path: Path, sshd: Sshd, db_url: str
) -> None:
    home = _home(tmp_path, sshd, db_url)
    daemon = Daemon(home)
    assert daemon.settings.daemon.tick_seconds == TICK
    cycles: list[tuple[float, float]] = []  # (end, seconds) of each cycle
    real_cycle = daemon.cycle

    def timed_cycle(*, once: bool = False) -> CycleReport:
        started = time.monotonic()
        report = real_cycle(once=once)
        cycles.append((time.monotonic(), time.monotonic() - started))
        return report

    daemon.cycle = timed_cycle  # type: ignore[method-assign]
    with running(daemon) as codes, _resumed_at_the_end(sshd):
        _wait_for("both partners up", lambda: {h.state for h in daemon.health.values()} == {"ok"})

        # -- the SFTP server freezes; claims for both partners arrive ----------------------
        sshd.pause()
        frozen_at = time.monotonic()
        drop_claims(home, "dental.json", _claims("dental", "SLOW"))
        drop_claims(home, "prof.json", _claims("professional", "FAST"))
        sent = home / "exchange" / "in"
        _wait_for("the folder partner's 837", lambda: any(sent.glob("acme-*.x12")))
        assert daemon.jobs.busy("slow"), "the SFTP exchange should hang on the frozen server"
        [interchange] = sent.glob("acme-*.x12")  # (not the .part of an upload in progress)
        fast_claims = claims_of(interchange)
        assert sorted(c.claim_id for c in fast_claims) == ["FAST-0", "FAST-1"]

        drop_reply(home, "status.277", status_277ca([(c, "A2:20") for c in fast_claims]))

        def fast_accepted() -> bool:
            states = {c.claim_id: c.state for c in daemon.ledger.list_claims()}
            return all(states.get(f"FAST-{n}") == ClaimState.ACCEPTED for n in (0, 1))

        _wait_for("the folder partner's reply applied", fast_accepted)
        _wait_for(
            "the status events written",
            lambda: (
                Counter(e["event"] for e in read_jsonl(home / "spool" / "status"))["accepted"] == 2
            ),
        )
        assert daemon.jobs.busy("slow"), "still hanging: the folder partner went on without it"
        assert list(sshd.inbound.iterdir()) == []
        while_frozen = [seconds for end, seconds in cycles if end > frozen_at]
        assert len(while_frozen) >= 2  # the 837 went out in one, the reply came in another
        assert max(while_frozen) < TICK + 5, while_frozen  # a tick, not the minute of a timeout

        # -- the hung exchange passes its deadline: cut, the partner reported down ---------
        daemon.jobs.running["slow"].deadline = 0.0  # as if exchange_seconds had passed
        _wait_for("the slow partner down", lambda: daemon.health["slow"].state == "down")
        assert "took longer than" in daemon.health["slow"].last_error
        _wait_for("the cut exchange ended", lambda: not daemon.jobs.busy("slow"), seconds=10)

        def written() -> dict[str, dict[str, object]]:
            return json.loads((home / "state" / "partners.json").read_text())  # type: ignore[no-any-return]

        # partners.json is written at the end of the cycle that saw the cut: wait for that write
        _wait_for("partners.json says the slow partner is down",
                  lambda: written()["slow"]["state"] == "down")  # fmt: skip
        assert written()["acme"]["state"] == "ok"

        # -- the server is back: its claims go out, once ------------------------------------
        sshd.resume()
        _wait_for("the slow partner back", lambda: daemon.health["slow"].state == "ok")
        _wait_for("the slow partner's 837", lambda: any(sshd.inbound.glob("*.x12")))
        _wait_for(
            "the slow claims submitted",
            lambda: (
                {c.state for c in daemon.ledger.list_claims() if c.partner == "slow"}
                == {ClaimState.SUBMITTED}
            ),
        )
    assert codes == [0]
    uploaded = [p for p in sshd.inbound.iterdir() if p.suffix == ".x12"]
    sent_claims = Counter(c.claim_id for p in uploaded for c in claims_of(p))
    assert sent_claims == Counter({"SLOW-0": 1}), sent_claims  # each claim in one file, sent once
    assert len(uploaded) == 1 and uploaded[0].name == "slow-837D-000000001.x12"
    assert Counter(c.claim_id for c in claims_of(interchange)) == Counter(["FAST-0", "FAST-1"])
    assert not daemon.jobs.running
