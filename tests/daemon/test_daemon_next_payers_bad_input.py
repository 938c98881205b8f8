"""Next payers with bad input: answers out of order, for a leg never sent, a primary reversal
after the secondary was sent, and a crossover. Each is held or recorded with a plain reason;
nothing is lost, nothing is sent twice, and the patient is never billed before the last payer.

The replies are the field guide's own 835s for claim RFM-25-0417 (and variants of them).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from gateway.config import FollowupSettings, load_settings
from gateway.daemon.remittance_posting import settle_held
from gateway.daemon.runner import Daemon
from gateway.ledger.db import open_ledger
from gateway.ledger.schema import ClaimState, LegState, PaymentState, metadata
from gateway.simulator.config import AdjudicationConfig, SimulatorConfig
from gateway.simulator.serve import Simulator
from gateway.transactions.claim_837_reader import read_837_claims
from tests.cob_example import PRIMARY_835, SECONDARY_835, lopez_claim
from tests.daemon.homes import drop_claims, drop_reply, make_home, read_jsonl
from tests.daemon.test_daemon_next_payers import settled

CLAIM = "RFM-25-0417"


@pytest.fixture
def fresh_db(db_url: str) -> Iterator[str]:
    """The module's database with every table emptied (the tests reuse one claim id)."""
    with open_ledger(db_url) as opened, opened.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(table.name for table in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
    yield db_url


def sent(home: Path) -> Counter[tuple[str, str]]:
    """(claim, SBR01) of every claim uploaded to the partner."""
    files = sorted((home / "exchange" / "in").rglob("*-837?-*.x12"))
    return Counter((c.claim_id, c.subscriber.sequence) for p in files for c in read_837_claims(p))


def cycles(daemon: Daemon, n: int = 3) -> None:
    for _ in range(n):
        report = daemon.cycle(once=True)
        assert not report.failures, report.failures


def with_counts(segments: list[str]) -> str:
    """An 835 interchange from its segments, SE01 counted."""
    st = next(n for n, s in enumerate(segments) if s.startswith("ST*"))
    se = next(n for n, s in enumerate(segments) if s.startswith("SE*"))
    segments[se] = f"SE*{se - st + 1}*0001"
    return "~".join(segments) + "~"


def segments_of(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text().split("~") if s.strip()]


def _negate(segment: str, places: tuple[int, ...]) -> str:
    els = segment.split("*")
    for n in places:
        if n < len(els) and els[n] and els[n] != "0":
            els[n] = els[n][1:] if els[n].startswith("-") else f"-{els[n]}"
    return "*".join(els)


def primary_reversed_and_corrected() -> str:
    """The primary takes its payment back (CLP02 22) and pays again under a new number."""
    segs = segments_of(PRIMARY_835)
    clp = next(n for n, s in enumerate(segs) if s.startswith("CLP*"))
    se = next(n for n, s in enumerate(segs) if s.startswith("SE*"))
    block = segs[clp:se]
    reversal = []
    for s in block:
        sid = s.split("*")[0]
        if sid == "CLP":
            s = _negate(s.replace("*1*340", "*22*340", 1), (3, 4, 5))
        elif sid == "SVC":
            s = _negate(s, (2, 3))
        elif sid == "CAS":
            s = _negate(s, (3, 6))
        elif sid == "AMT":
            continue
        reversal.append(s)
    corrected = [s.replace("PMH25100048812", "PMH25100048899") for s in block]
    head = [s for s in segs[:clp]]
    head = [re.sub(r"^BPR\*.*", "BPR*H*0*C*NON************20250501", s) for s in head]
    head = [s.replace("EFT0000417730", "EFT0000417999") for s in head]
    return with_counts([*head, *reversal, *corrected, *segs[se:]])


def by_sequence(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r["claim_id"] == CLAIM:
            out.setdefault(r.get("payer_sequence") or "?", []).append(r)
    return out


def test_a_secondary_answer_before_the_primary_is_held_then_posted(
    tmp_path: Path, fresh_db: str
) -> None:
    home = make_home(tmp_path, database=fresh_db)
    drop_claims(home, "lopez.json", [lopez_claim()])
    daemon = Daemon(home)
    try:
        cycles(daemon, 1)
        assert sent(home) == Counter({(CLAIM, "P"): 1})
        # the secondary's 835 comes first: no secondary claim was sent yet
        drop_reply(home, "lakeshore.835", SECONDARY_835.read_text())
        cycles(daemon)
        [held] = daemon.ledger.held_payments()
        assert held.claim_id == CLAIM and held.payer_sequence == "S"
        assert held.detail["reasons"][0]["reason"] == "no_leg"
        status = [s for s in read_jsonl(home / "spool" / "status") if s["claim_id"] == CLAIM]
        [said] = [s for s in status if s["event"] == "payment_held"]
        assert "has not billed this claim to its secondary payer yet" in said["reasons"][0]["text"]
        assert daemon.ledger.claim(CLAIM) is not None
        assert daemon.ledger.claim(CLAIM).state == ClaimState.SUBMITTED  # type: ignore[union-attr]
        assert read_jsonl(home / "spool" / "balances") == []  # nothing billed to anyone
        # an answer as tertiary, a leg never sent: held the same way
        tertiary = SECONDARY_835.read_text().replace("*2*340*", "*3*340*").replace(
            "LKS0506-448812", "LKS0506-448813")  # fmt: skip
        drop_reply(home, "tertiary.835", tertiary)
        cycles(daemon)
        assert sorted(p.payer_sequence for p in daemon.ledger.held_payments()) == ["S", "T"]
        # then the primary's: posted, and the secondary claim goes out once
        drop_reply(home, "prairie.835", PRIMARY_835.read_text())
        cycles(daemon)
        assert sent(home) == Counter({(CLAIM, "P"): 1, (CLAIM, "S"): 1})
        # the held secondary answer, released on review, posts against the secondary's leg
        released = settle_held(daemon.ledger, "lakeshore.835", verdict=PaymentState.RELEASED,
                               note="the secondary claim is out now")  # fmt: skip
        assert [d.version for _, d in released] == [2]
        cycles(daemon)
        assert sent(home)[(CLAIM, "T")] == 1  # the secondary's answer opened the tertiary
        balances = by_sequence(read_jsonl(home / "spool" / "balances"))
        actions = [b["next_action"] for bs in balances.values() for b in bs]
        assert "bill_patient" not in actions  # the tertiary has not answered yet
    finally:
        daemon.ledger.close()


def test_a_primary_reversal_after_the_secondary_was_sent(tmp_path: Path, fresh_db: str) -> None:
    home = make_home(tmp_path, database=fresh_db)
    drop_claims(home, "lopez.json", [lopez_claim()])
    daemon = Daemon(home)
    try:
        cycles(daemon, 1)
        drop_reply(home, "prairie.835", PRIMARY_835.read_text())
        cycles(daemon)
        assert sent(home) == Counter({(CLAIM, "P"): 1, (CLAIM, "S"): 1})
        drop_reply(home, "prairie-again.835", primary_reversed_and_corrected())
        cycles(daemon)
        legs = {leg.sequence: leg for leg in daemon.ledger.legs(CLAIM)}
        assert legs["S"].state == LegState.HELD
        reasons = [n["reason"] for n in legs["S"].detail["notes"]]
        assert reasons == ["earlier_reversed", "earlier_answer_changed"]
        assert "was reversed by its payer" in legs["S"].detail["notes"][0]["text"]
        assert sent(home) == Counter({(CLAIM, "P"): 1, (CLAIM, "S"): 1})  # never sent twice
        actions = [b["next_action"] for b in read_jsonl(home / "spool" / "balances")]
        assert "bill_patient" not in actions  # the patient is not billed meanwhile
        events = [e.event for e in daemon.ledger.history(CLAIM)]
        assert "reversed" in events
        # the practice drops the same claim again: unchanged (not a new claim, not an error)
        drop_claims(home, "again.json", [lopez_claim()])
        cycles(daemon, 1)
        report = json.loads((home / "spool" / "rejected" / "again.json.errors.json").read_text())
        assert report["problems"] == []
        assert [c["why"] for c in report["claims_skipped"]] == ["unchanged"]
        assert sent(home) == Counter({(CLAIM, "P"): 1, (CLAIM, "S"): 1})
    finally:
        daemon.ledger.close()


def _crossover_home(tmp_path: Path, db_url: str, *, answers: bool) -> tuple[Path, Simulator]:
    home = make_home(tmp_path, database=db_url)
    record = lopez_claim()
    record["next_payers"] = record["next_payers"][:1]  # Prairie, then Lakeshore
    drop_claims(home, "lopez.json", [record])
    config = SimulatorConfig(adjudication=AdjudicationConfig(
        crossover={"PMH01": ("LKSBP", "LAKESHORE BENEFIT PLAN")}, crossover_answers=answers,
        allowed_percent_by_payer={"LKSBP": 70},
    ))  # fmt: skip
    exchange = home / "exchange"
    simulator = Simulator(exchange / "in", exchange / "out", config, home / "state" / "sim.json")
    return home, simulator


def _rounds(daemon: Daemon, simulator: Simulator, home: Path, n: int) -> None:
    for _ in range(n):
        cycles(daemon, 1)
        simulator.step()
        settled(home / "exchange" / "out")


def test_a_crossover_is_answered_by_the_next_payer_and_never_sent(
    tmp_path: Path, fresh_db: str
) -> None:
    home, simulator = _crossover_home(tmp_path, fresh_db, answers=True)
    daemon = Daemon(home)
    try:
        _rounds(daemon, simulator, home, 6)
        [leg] = [x for x in daemon.ledger.legs(CLAIM) if x.sequence == "S"]
        assert leg.state == LegState.ANSWERED  # Lakeshore's own 835 came
        assert sent(home) == Counter({(CLAIM, "P"): 1})  # forwarded by the payer: never by us
        postings = by_sequence(read_jsonl(home / "spool" / "postings"))
        assert [p["status_code"] for p in postings["P"]] == ["19"]
        assert [p["status_code"] for p in postings["S"]] == ["2"]
        balances = read_jsonl(home / "spool" / "balances")
        assert [b["next_action"] for b in balances] == ["await_next_payer", "bill_patient"]
        assert balances[1]["patient_owes"] == postings["S"][0]["patient_responsibility"]
    finally:
        daemon.ledger.close()
    # days later: still never sent (the payer answered)
    settings = load_settings(home)
    settings = settings.model_copy(update={"followup": FollowupSettings(crossover_days=0)})
    daemon = Daemon(home, settings=settings)
    try:
        _rounds(daemon, simulator, home, 2)
        assert sent(home) == Counter({(CLAIM, "P"): 1})
    finally:
        daemon.ledger.close()


def test_a_crossover_never_answered_is_sent_once_after_crossover_days(
    tmp_path: Path, fresh_db: str
) -> None:
    home, simulator = _crossover_home(tmp_path, fresh_db, answers=False)
    daemon = Daemon(home)
    try:
        _rounds(daemon, simulator, home, 4)
        [leg] = [x for x in daemon.ledger.legs(CLAIM) if x.sequence == "S"]
        assert leg.state == LegState.CROSSOVER and "forwarded the claim" in leg.detail["text"]
        assert sent(home) == Counter({(CLAIM, "P"): 1})  # the payer forwarded it: not sent
        [balance] = read_jsonl(home / "spool" / "balances")
        assert balance["next_action"] == "await_next_payer"
    finally:
        daemon.ledger.close()
    # no 835 from Lakeshore within crossover_days: the gateway sends its own, once
    settings = load_settings(home)
    settings = settings.model_copy(update={"followup": FollowupSettings(crossover_days=0)})
    daemon = Daemon(home, settings=settings)
    try:
        _rounds(daemon, simulator, home, 5)
        assert sent(home) == Counter({(CLAIM, "P"): 1, (CLAIM, "S"): 1})
        postings = by_sequence(read_jsonl(home / "spool" / "postings"))
        assert [p["status_code"] for p in postings["P"]] == ["19"]
        assert [p["status_code"] for p in postings["S"]] == ["2"]
        [final] = [b for b in read_jsonl(home / "spool" / "balances")
                   if b["next_action"] == "bill_patient"]  # fmt: skip
        assert final["patient_owes"] == postings["S"][0]["patient_responsibility"]
    finally:
        daemon.ledger.close()
