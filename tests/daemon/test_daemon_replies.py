"""The daemon's edges: rejections, quarantine, review, crash leftovers, batching, exit codes."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli.main import cli
from gateway.config import load_partners
from gateway.daemon.outbound import build_interchanges
from gateway.daemon.outputs import _publish, emit_outputs
from gateway.daemon.runner import AlreadyRunning, Daemon, home_lock
from gateway.ledger.ledger import OutboxEntry
from gateway.ledger.schema import ClaimState, OutboxKind
from tests.conftest import SAMPLES
from tests.daemon.homes import PARTNER, drop_claims, drop_reply, make_home, read_jsonl
from tests.daemon.payer import (
    ack_999,
    adjudicate,
    claims_of,
    envelope_of,
    remit_835,
    status_277ca,
    ta1,
)


def _professional() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((SAMPLES / "professional.json").read_text())
    return records


@pytest.fixture
def sent_home(tmp_path: Path) -> tuple[Path, Daemon, Path]:
    """A home whose two professional claims went out in one 837."""
    home = make_home(tmp_path)
    drop_claims(home, "prof.json", _professional())
    daemon = Daemon(home)
    assert daemon.run(once=True) == 0
    [sent] = (home / "exchange" / "in").iterdir()
    return home, daemon, sent


def _states(daemon: Daemon) -> dict[str, ClaimState]:
    return {c.claim_id: c.state for c in daemon.ledger.list_claims()}


def test_a_rejected_interchange_rejects_its_claims(sent_home: tuple[Path, Daemon, Path]) -> None:
    home, daemon, sent = sent_home
    isa, _group = envelope_of(sent)
    drop_reply(home, "reply.ta1", ta1(isa, accepted=False, note="006"))
    assert daemon.run(once=True) == 0
    assert set(_states(daemon).values()) == {ClaimState.REJECTED}
    events = [s for s in read_jsonl(home / "spool" / "status") if s["event"] == "rejected"]
    assert sorted(s["claim_id"] for s in events) == ["PCN-2025-0001", "PCN-2025-0002"]
    assert events[0]["source"] == "TA1"
    assert events[0]["reasons"][0]["code"] == "TA1-006"
    assert events[0]["reasons"][0]["text"]  # the note code explained


def test_a_999_rejection_names_segment_and_element(sent_home: tuple[Path, Daemon, Path]) -> None:
    home, daemon, sent = sent_home
    _isa, group = envelope_of(sent)
    drop_reply(home, "reply.999", ack_999(group, accepted=False))
    assert daemon.run(once=True) == 0
    assert set(_states(daemon).values()) == {ClaimState.REJECTED}
    [event, _] = [s for s in read_jsonl(home / "spool" / "status") if s["event"] == "rejected"]
    codes = [r["code"] for r in event["reasons"]]
    assert codes == ["IK5-5", "IK3-8", "IK4-1"]
    assert "NM1" in event["reasons"][1]["text"] and "position 12" in event["reasons"][1]["text"]


def test_a_payment_before_its_277ca_wins(sent_home: tuple[Path, Daemon, Path]) -> None:
    home, daemon, sent = sent_home
    claims = claims_of(sent)
    drop_reply(home, "pay.835", remit_835([adjudicate(c) for c in claims], trace="T-1"))
    assert daemon.run(once=True) == 0
    drop_reply(home, "late.277", status_277ca([(c, "A2:20") for c in claims]))
    assert daemon.run(once=True) == 0
    assert set(_states(daemon).values()) == {ClaimState.PAID}
    events = read_jsonl(home / "spool" / "status")
    assert not [s for s in events if s["source"] == "277CA"]  # no state change, no event


def test_files_that_are_not_replies_are_quarantined_with_the_reason(
    sent_home: tuple[Path, Daemon, Path],
) -> None:
    home, daemon, sent = sent_home
    drop_reply(home, "notes.txt", "hello, this is not X12")
    drop_reply(home, "echo.x12", sent.read_text())  # our own 837 sent back
    _isa, group = envelope_of(sent)
    broken = ack_999(group).split("GE*")[0]  # cut off after the SE: no GE, no IEA
    drop_reply(home, "broken.999", broken)
    assert daemon.run(once=True) == 0
    folder = home / "spool" / "quarantine" / "acme"
    reasons = {
        p.name.removesuffix(".reason.json"): json.loads(p.read_text())
        for p in folder.glob("*.reason.json")
    }
    assert set(reasons) == {"notes.txt", "echo.x12", "broken.999"}
    assert "not an X12 file" in reasons["notes.txt"]["reason"]
    assert "an 837 claim file" in reasons["echo.x12"]["reason"]
    assert "no IEA segment" in reasons["broken.999"]["reason"]
    assert reasons["broken.999"]["segment_position"] == 1  # the ISA left open
    assert (folder / "broken.999").exists()
    assert set(_states(daemon).values()) == {ClaimState.SUBMITTED}  # nothing applied
    # the same content again is known: not quarantined twice, archived as a duplicate
    drop_reply(home, "notes-again.txt", "hello, this is not X12")
    assert daemon.run(once=True) == 0
    duplicates = home / "spool" / "archive" / "inbound" / "acme" / "duplicates"
    assert [p.name for p in duplicates.iterdir()] == ["notes-again.txt"]


def test_an_unbalanced_835_is_held_for_review_and_posts_nothing(
    sent_home: tuple[Path, Daemon, Path],
) -> None:
    home, daemon, sent = sent_home
    text = remit_835([adjudicate(c) for c in claims_of(sent)], trace="T-9")
    text = text.replace("BPR*I*", "BPR*I*1", 1)  # BPR02 no longer the sum of the claims
    drop_reply(home, "odd.835", text)
    assert daemon.run(once=True) == 0
    assert read_jsonl(home / "spool" / "postings") == []
    assert set(_states(daemon).values()) == {ClaimState.SUBMITTED}
    review = json.loads((home / "spool" / "review" / "odd.835.review.json").read_text())
    assert [e["rule"] for t in review["transactions"] for e in t["balance_errors"]] == [
        "transaction"
    ]
    # an admin checks with the payer and releases it: posted through the ledger, once
    runner = CliRunner()
    args = ["--home", str(home), "review", "release", "odd.835", "--note", "payer confirmed"]
    released = runner.invoke(cli, args)
    assert released.exit_code == 0, released.output
    assert "through the ledger" in released.output
    assert daemon.run(once=True) == 0
    postings = read_jsonl(home / "spool" / "postings")
    assert sorted(p["claim_id"] for p in postings) == ["PCN-2025-0001", "PCN-2025-0002"]
    assert all(p["released_unbalanced"] and p["review_note"] == "payer confirmed" for p in postings)
    assert set(_states(daemon).values()) == {ClaimState.PAID}
    assert not (home / "spool" / "review" / "odd.835").exists()
    again = runner.invoke(cli, args)
    assert again.exit_code == 2  # nothing held any more


def test_a_discarded_835_never_posts(sent_home: tuple[Path, Daemon, Path]) -> None:
    home, daemon, sent = sent_home
    text = remit_835([adjudicate(c) for c in claims_of(sent)], trace="T-8")
    drop_reply(home, "odd.835", text.replace("BPR*I*", "BPR*I*1", 1))
    assert daemon.run(once=True) == 0
    args = ["--home", str(home), "review", "discard", "odd.835", "--reason", "wrong payee"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert daemon.run(once=True) == 0
    assert read_jsonl(home / "spool" / "postings") == []
    assert set(_states(daemon).values()) == {ClaimState.SUBMITTED}


def test_an_orphan_837_is_set_aside_and_its_claims_go_out_in_a_new_file(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    drop_claims(home, "prof.json", _professional())
    daemon = Daemon(home)
    [partner] = daemon.partners
    ledger = daemon.ledger
    # a daemon that died after writing the 837 but before recording it
    from gateway.daemon.intake import take_claim_files

    take_claim_files(home, ledger, [partner], settle_seconds=0)
    outbound = home / "spool" / "outbound" / "acme"
    outbound.mkdir(parents=True)
    (outbound / "acme-837P-000000001.x12").write_text("ISA*half a file")
    ledger.reserve_control_numbers("acme")
    assert daemon.run(once=True) == 0
    assert [p.name for p in (home / "exchange" / "in").iterdir()] == ["acme-837P-000000002.x12"]
    orphans = home / "spool" / "archive" / "orphans" / "acme"
    assert [p.name for p in orphans.iterdir()] == ["acme-837P-000000001.x12"]
    assert set(_states(daemon).values()) == {ClaimState.SUBMITTED}


def test_an_interchange_already_at_the_partner_is_not_sent_again(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    drop_claims(home, "prof.json", _professional())
    daemon = Daemon(home)
    [partner] = daemon.partners
    from gateway.daemon.intake import take_claim_files

    take_claim_files(home, daemon.ledger, [partner], settle_seconds=0)
    report = build_interchanges(home / "spool", daemon.ledger, partner, owner="t", lease_seconds=60,
                                once=True)  # fmt: skip
    [name] = report.built
    # the upload happened, then the daemon died before recording it
    shutil.copy(home / "spool" / "outbound" / "acme" / name, home / "exchange" / "in" / name)
    past = datetime.now().timestamp() - 3600
    os.utime(home / "exchange" / "in" / name, (past, past))
    assert daemon.run(once=True) == 0
    there = home / "exchange" / "in" / name
    assert there.stat().st_mtime == past  # not written again
    interchange = daemon.ledger.interchange(partner="acme", file_name=name)
    assert interchange is not None and interchange.sent_at is not None


def test_max_wait_holds_a_small_batch_until_it_is_due(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    partner_file = home / "partners" / "acme.toml"
    partner_file.write_text(partner_file.read_text().replace("max_wait_seconds = 0",
                                                             "max_wait_seconds = 600"))  # fmt: skip
    drop_claims(home, "prof.json", _professional())
    daemon = Daemon(home)
    [partner] = daemon.partners
    from gateway.daemon.intake import take_claim_files

    take_claim_files(home, daemon.ledger, [partner], settle_seconds=0)
    spool = home / "spool"
    kwargs: dict[str, Any] = {"owner": "t", "lease_seconds": 60}
    assert build_interchanges(spool, daemon.ledger, partner, **kwargs).built == []
    later = datetime.now(UTC) + timedelta(seconds=601)
    assert len(build_interchanges(spool, daemon.ledger, partner, now=later, **kwargs).built) == 1


def test_once_exits_1_when_a_partner_is_down_and_still_serves_the_others(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    down = PARTNER.format(poll=1, max_claims=10).replace('name = "acme"', 'name = "down"')
    down = down.replace('payers = ["*"]', 'payers = ["DELTA1"]').replace("exchange/", "nowhere/")
    (home / "partners" / "down.toml").write_text(down)
    drop_claims(home, "prof.json", _professional())
    drop_claims(home, "dental.json", json.loads((SAMPLES / "dental.json").read_text()))
    daemon = Daemon(home)
    assert daemon.run(once=True) == 1
    assert [p.name for p in (home / "exchange" / "in").iterdir()] == ["acme-837P-000000001.x12"]
    assert daemon.health["down"].state == "down" and daemon.health["acme"].state == "ok"
    waiting = list((home / "spool" / "outbound" / "down").iterdir())
    assert [p.name for p in waiting] == ["down-837D-000000001.x12"]  # kept until it is back
    health = json.loads((home / "state" / "partners.json").read_text())
    assert health["down"]["state"] == "down" and "nowhere" in health["down"]["last_error"]
    # in the loop, a partner that is down waits out its own backoff instead of being retried
    # every tick (and holding up the others)
    daemon.cycle()
    assert daemon.health["down"].failures == 1
    daemon.health["down"].retry_at = 0
    daemon.cycle()
    assert daemon.health["down"].failures == 2


def test_one_daemon_per_home(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    with home_lock(home), pytest.raises(AlreadyRunning, match="already runs"):
        Daemon(home).run(once=True)


def test_output_files_survive_a_crash_at_every_step(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    entries = [
        OutboxEntry(f"r{n}", OutboxKind.POSTINGS, {"id": f"r{n}"}, datetime.now(UTC))
        for n in range(3)
    ]
    out, kept = spool / "postings", spool / "archive" / "outputs" / "postings"
    # 1. died before anything: written whole
    _publish(spool, "postings", "a.jsonl", entries)
    assert [json.loads(x)["id"] for x in (out / "a.jsonl").read_text().splitlines()] == [
        "r0", "r1", "r2",
    ]  # fmt: skip
    # 2. died after the archive copy, before publishing: published, not rewritten
    _publish(spool, "postings", "b.jsonl", entries)
    (out / "b.jsonl").rename(out / ".b.jsonl.tmp")
    _publish(spool, "postings", "b.jsonl", entries[:1])
    assert len((out / "b.jsonl").read_text().splitlines()) == 3
    # 3. died after publishing, and the consumer already took the file: not written again
    _publish(spool, "postings", "c.jsonl", entries)
    (out / "c.jsonl").unlink()
    _publish(spool, "postings", "c.jsonl", entries)
    assert not (out / "c.jsonl").exists() and (kept / "c.jsonl").exists()
    assert oct((kept / "c.jsonl").stat().st_mode & 0o777) == "0o600"


def test_emitted_records_are_not_emitted_again(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    daemon = Daemon(home)
    daemon.ledger.add_outbox([(OutboxKind.BALANCES, {"id": "b1", "x": 1})])
    assert emit_outputs(home / "spool", daemon.ledger, owner=daemon.owner) == {"balances": 1}
    assert emit_outputs(home / "spool", daemon.ledger, owner=daemon.owner) == {}
    assert read_jsonl(home / "spool" / "balances") == [{"id": "b1", "x": 1}]


def test_partners_load_from_the_home(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    [partner] = load_partners(home)
    assert partner.name == "acme" and partner.batch.max_wait_seconds == 0


def test_gateway_post_in_a_home_goes_through_the_ledger(
    sent_home: tuple[Path, Daemon, Path], tmp_path: Path
) -> None:
    home, daemon, sent = sent_home
    remit = tmp_path / "by-hand.835"
    remit.write_text(remit_835([adjudicate(c) for c in claims_of(sent)], trace="T-HAND"))
    runner = CliRunner()
    posted = runner.invoke(cli, ["--home", str(home), "post", str(remit), "--partner", "acme"])
    assert posted.exit_code == 0, posted.output
    assert "posted 1 payment(s)" in posted.output
    assert remit.exists()  # the admin's file stays where it was
    assert set(_states(daemon).values()) == {ClaimState.PAID}
    assert len(read_jsonl(home / "spool" / "postings")) == 2
    # the partner's copy of the same payment, under another ISA13, posts nothing more
    drop_reply(home, "partner.835", remit_835([adjudicate(c) for c in claims_of(sent)],
                                              trace="T-HAND", control=909))  # fmt: skip
    assert daemon.run(once=True) == 0
    assert len(read_jsonl(home / "spool" / "postings")) == 2
