"""What the gateway writes is private, a stray file does not break polling, and a re-send after
a crash is the same bytes, which the receiver's TA1 025 then closes without a change.

Permissions: the ledger, the spool and its archives, claim files dropped in with another mode,
uploaded 837s and the simulator's replies are 0600 in 0700 folders, whatever the umask.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from gateway.cli.main import cli
from gateway.daemon.runner import Daemon
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import ClaimState, interchanges
from tests.daemon.homes import drop_claims, drop_reply, make_home
from tests.daemon.payer import ack_999, envelope_of, ta1
from tests.daemon.test_daemon_replies import _professional
from tests.ledger.conftest import ledger as ledger  # the fixture, emptied per test


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # what most shells hand a process
    try:
        yield
    finally:
        os.umask(previous)


def _modes(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` whose mode is not 0600 (files) or 0700 (folders)."""
    wrong = {}
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            wrong[str(path.relative_to(root.parent))] = oct(mode)
    return wrong


def test_everything_the_gateway_writes_is_private(tmp_path: Path, loose_umask: None) -> None:
    home = tmp_path / "home"
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(home)], obj={}).exit_code == 0
    claims = home / "spool" / "claims" / "visits.json"
    claims.write_text(json.dumps(_professional()))
    claims.chmod(0o644)  # as a practice system drops it
    past = claims.stat().st_mtime - 60
    os.utime(claims, (past, past))
    result = runner.invoke(cli, ["--home", str(home), "run", "--once"], obj={})
    assert result.exit_code == 0, result.output
    sim = runner.invoke(cli, ["--home", str(home), "simulate", "--partner", "example", "--once"],
                        obj={})  # fmt: skip
    assert sim.exit_code == 0, sim.output
    result = runner.invoke(cli, ["--home", str(home), "run", "--once"], obj={})
    assert result.exit_code == 0, result.output
    uploaded = list((home / "exchange" / "example" / "in").rglob("*.x12"))
    replies = [p for p in (home / "exchange" / "example" / "out").rglob("*") if p.is_file()]
    assert uploaded and replies  # the cycle really ran: an 837 out, replies back
    assert list((home / "spool" / "archive" / "claims").iterdir())
    assert (home / "state" / "gateway.db").exists()
    wrong = {**_modes(home / "spool"), **_modes(home / "state")}
    for path in uploaded + [p for p in replies if not p.name.startswith(".simulator")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode != 0o600:
            wrong[str(path)] = oct(mode)
    assert wrong == {}


def test_a_file_named_processed_does_not_stop_polling(tmp_path: Path) -> None:
    """A plain file where the processed/ folder belongs: the replies are still all fetched,
    and partners.json says why they stay on the server."""
    home = make_home(tmp_path)
    drop_claims(home, "prof.json", _professional())
    daemon = Daemon(home)
    assert daemon.run(once=True) == 0
    [sent] = (home / "exchange" / "in").iterdir()
    _isa, group = envelope_of(sent)
    (home / "exchange" / "out" / "processed").write_text("not a folder")
    drop_reply(home, "a.999", ack_999(group))
    drop_reply(home, "b.ta1", ta1(1, accepted=True))
    report = daemon.cycle(once=True)
    assert sorted(report.inbound.fetched) == ["a.999", "b.ta1"]
    assert {c.state for c in daemon.ledger.list_claims()} == {ClaimState.ACCEPTED}
    health = json.loads((home / "state" / "partners.json").read_text())["acme"]
    assert health["state"] == "ok" and "could not be moved after download" in health["last_error"]
    report = daemon.cycle(once=True)  # the next poll: fetched again, known, nothing changes
    assert sorted(report.inbound.duplicates) == ["a.999", "b.ta1"]
    assert (home / "exchange" / "out" / "processed").read_text() == "not a folder"


def test_a_resend_after_a_crash_is_byte_identical_and_ta1_025_changes_nothing(
    tmp_path: Path, db_url: str, ledger: Ledger
) -> None:
    """Killed after the upload but before it was recorded as sent, with the partner having
    taken the file away already: the daemon sends it again (at least once, not exactly once),
    the very same bytes and ISA13; the receiver's TA1 025 (duplicate) then changes nothing."""
    home = make_home(tmp_path, database=db_url)
    drop_claims(home, "prof.json", _professional())
    daemon = Daemon(home, ledger=ledger)
    assert daemon.run(once=True) == 0
    [first] = (home / "exchange" / "in").iterdir()
    original = first.read_bytes()
    taken = tmp_path / "taken-by-partner"
    taken.mkdir()
    first.rename(taken / first.name)  # the partner took it away
    # the state a SIGKILL right after the upload leaves: the file in outbound, not marked sent
    archived = home / "spool" / "archive" / "outbound" / "acme" / first.name
    archived.rename(home / "spool" / "outbound" / "acme" / first.name)
    with ledger.engine.begin() as connection:
        connection.execute(update(interchanges).values(sent_at=None))
    assert daemon.run(once=True) == 0
    [again] = (home / "exchange" / "in").iterdir()
    assert again.read_bytes() == original  # same bytes, same ISA13
    isa, _group = envelope_of(again)
    drop_reply(home, "dup.ta1", ta1(isa, accepted=False, note="025"))
    before = [
        (e.claim_id, e.event) for c in ledger.list_claims() for e in ledger.history(c.claim_id)
    ]
    assert daemon.run(once=True) == 0
    after = [
        (e.claim_id, e.event) for c in ledger.list_claims() for e in ledger.history(c.claim_id)
    ]
    assert after == before and {c.state for c in ledger.list_claims()} == {ClaimState.SUBMITTED}
    status = [json.loads(line) for p in (home / "spool" / "status").glob("*.jsonl")
              for line in p.read_text().splitlines()]  # fmt: skip
    assert not [s for s in status if s["event"] == "rejected"]
