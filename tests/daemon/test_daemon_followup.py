"""The daemon follows up silent claims: with the simulator keeping some claims silent, time is
moved (an injected clock, never a sleep) past each window; a 276 goes out once per window,
valid under our 276 map; the simulator's 277 answers move the claims on and the worklist
empties. Bad 277s: unknown claims and malformed files quarantined with their position,
unknown codes kept raw and shown as unknown."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from gateway.daemon.runner import Daemon
from gateway.followup.aging import aging
from gateway.followup.worklist import build_worklist
from gateway.ledger.ledger import Ledger
from gateway.ledger.records import utc_now
from gateway.simulator import Simulator, SimulatorConfig
from gateway.simulator.config import ClearinghouseConfig, SilenceConfig
from gateway.transactions.ig_validation import validate_with_pyx12
from gateway.transactions.status_276_reader import read_276
from tests.daemon.homes import drop_claims, drop_reply, make_home, numbered_claims
from tests.daemon.payer import adjudicate, claims_of, remit_835

SILENCE = SilenceConfig(no_277ca_rate=Decimal("0.25"), no_payment_rate=Decimal("0.25"))


def recent_claims(prefix: str, count: int) -> list[dict[str, Any]]:
    """Sample claims served today (well within every filing limit)."""
    claims = numbered_claims(prefix, count)
    today = utc_now().date().isoformat()
    for claim in claims:
        for line in claim["lines"]:
            if line.get("service_date"):
                line["service_date"] = today
        if claim.get("service_date"):
            claim["service_date"] = today
    return claims


def simulator(home: Path) -> Simulator:
    config = SimulatorConfig(seed=7, silence=SILENCE,
                             clearinghouse=ClearinghouseConfig(ig_validation=True))  # fmt: skip
    exchange = home / "exchange"
    return Simulator(exchange / "in", exchange / "out", config, home / "state" / "sim.json")


def run(home: Path, now: datetime) -> Daemon:
    daemon = Daemon(home)
    daemon.followup.clock = lambda: now
    assert daemon.run(once=True) == 0
    return daemon


def sent_276s(home: Path) -> list[Path]:
    return sorted((home / "exchange" / "in").rglob("acme-276-*.x12"))


def groups(ledger: Ledger) -> tuple[set[str], set[str], set[str]]:
    """Claims lost (no 277CA), quiet (accepted, no 835) and paid."""
    facts = ledger.followup_facts()
    lost = {f.claim_id for f in facts if f.state == "accepted" and f.accepted_at is None}
    quiet = {f.claim_id for f in facts if f.state == "accepted" and f.accepted_at is not None}
    paid = {f.claim_id for f in facts if f.state in ("paid", "partially_paid", "denied")}
    return lost, quiet, paid


def test_silent_claims_are_asked_about_once_per_window_and_move_on(
    tmp_path: Path, db_url: str
) -> None:
    """On SQLite and on PostgreSQL (``db_url``: a fresh database of each)."""
    home = make_home(tmp_path, database=db_url)
    drop_claims(home, "claims.json", recent_claims("FU", 12))
    sim = simulator(home)
    start = utc_now()
    ledger = run(home, start).ledger
    sim.step()
    run(home, start)
    lost, quiet, paid = groups(ledger)
    assert lost and quiet and paid and len(lost | quiet | paid) == 12
    assert build_worklist(ledger, start) == []
    # -- 3 days on: the lost claims have no 277CA; one 276 asks about them ---------------
    in3 = start + timedelta(days=3)
    assert {i.claim_id for i in build_worklist(ledger, in3)} == lost
    assert {i.reason for i in build_worklist(ledger, in3)} == {"no_277ca"}
    with capture_logs() as logs:
        daemon = run(home, in3)
    listed = {e["claim_id"] for e in logs if e["event"] == "worklist_item"}
    assert listed == lost  # a log line when a claim enters the worklist (its id, no names)
    gauge = daemon.metrics.registry.get_sample_value
    assert gauge("gateway_worklist_items", {"reason": "no_277ca"}) == len(lost)
    assert gauge("gateway_worklist_items", {"reason": "timely_filing"}) == 0
    assert gauge("gateway_oldest_unacknowledged_seconds") == 0
    (first,) = sent_276s(home)
    assert validate_with_pyx12(first) == []
    assert {a.claim_id for a in read_276(first)} == lost
    run(home, in3 + timedelta(days=1))  # the same window: nothing asked again
    assert len(sent_276s(home)) == 1
    # -- the payer has never heard of them: they go out again -----------------------------
    sim.step()  # answers the 276 with a 277 (D0:35)
    run(home, in3)  # the 277 applied: back to queued
    run(home, in3)  # and sent again
    for claim_id in lost:
        events = [(e.event, e.source) for e in ledger.history(claim_id)]
        assert ("queued", "277") in events
        assert events.index(("queued", "277")) < len(events) - 1  # and was sent again after
    answered = ledger.status_inquiries(state="answered")
    assert {i.outcome for i in answered} == {"not_found"}
    # -- 40 days on: the quiet claims are asked about; the payer finds them and pays -------
    for _ in range(3):  # resent claims: their 277CA, maybe lost again; then 835s
        sim.step()
        run(home, in3)
    in40 = start + timedelta(days=40)
    quiet_now = groups(ledger)[1]
    assert quiet <= quiet_now
    assert {i.claim_id for i in build_worklist(ledger, in40, reason="no_payment")} == quiet_now
    run(home, in40)
    asked = {i.claim_id for i in ledger.status_inquiries() if i.reason == "no_payment"}
    assert asked == quiet_now
    assert {a.claim_id for p in sent_276s(home) for a in read_276(p)} >= quiet_now
    sim.step()  # the 277 (P1:20) and the 835s of the claims it woke
    run(home, in40)
    sim.step()
    run(home, in40)
    assert not quiet_now & groups(ledger)[1]  # every quiet claim moved on
    assert build_worklist(ledger, in40, reason="no_payment") == []
    for inquiry in ledger.status_inquiries(state="answered"):
        assert inquiry.answer is not None and inquiry.answer["statuses"]
    # aging at the end: the open claims' billed amounts, to the cent
    report = aging(ledger, in40)
    open_claims = [c for c in ledger.list_claims() if c.state in ("submitted", "accepted")]
    expected = sum((Decimal(c.billed or "0") for c in open_claims), Decimal("0.00"))
    assert report.total.amount == expected and report.total.count == len(open_claims)


def _277(trace: str, stc: str, *, extra: str = "") -> str:
    segments = [
        "ST*277*0001*005010X212", "BHT*0010*08*X1*20251201*0900*DG",
        "HL*1**20*1", "NM1*PR*2*ACME HEALTH*****PI*87726",
        "HL*2*1*21*1", "NM1*41*2*CLINIC*****46*PRACTICE01",
        "HL*3*2*19*1", "NM1*1P*2*CLINIC*****XX*1234567893",
        "HL*4*3*22*0", "NM1*IL*1*DOE*JANE****MI*M1", f"TRN*2*{trace}", stc, *filter(None, [extra]),
    ]  # fmt: skip
    body = "~".join([*segments, f"SE*{len(segments) + 1}*0001"])
    return (
        "ISA*00*          *00*          *ZZ*ACMECH         *ZZ*PRACTICE01     *251201*0900*^*"
        f"00501*000000901*0*T*:~GS*HN*ACMECH*PRACTICE01*20251201*0900*901*X*005010X212~"
        f"{body}~GE*1*901~IEA*1*000000901~"
    )


def _asked(tmp_path: Path) -> tuple[Path, Daemon, str]:
    """A home with one claim accepted by its 277CA and asked about 40 days later."""
    home = make_home(tmp_path)
    drop_claims(home, "claims.json", recent_claims("BAD", 1))
    start = utc_now()
    run(home, start)
    sim = Simulator(home / "exchange" / "in", home / "exchange" / "out",
                    SimulatorConfig(silence=SilenceConfig(no_payment_rate=Decimal(1))),
                    home / "state" / "sim.json")  # fmt: skip
    sim.step()
    run(home, start)
    daemon = run(home, start + timedelta(days=40))
    (inquiry,) = daemon.ledger.status_inquiries()
    assert inquiry.state == "sent"
    return home, daemon, inquiry.trace


def _note(home: Path, name: str) -> dict[str, object]:
    path = home / "spool" / "quarantine" / "acme" / f"{name}.reason.json"
    note: dict[str, object] = json.loads(path.read_text())
    return note


def test_a_277_for_unknown_claims_is_quarantined(tmp_path: Path) -> None:
    home, daemon, _ = _asked(tmp_path)
    drop_reply(home, "unknown.277", _277("NOT-OURS.1.1", "STC*P1:20*20251201"))
    assert daemon.run(once=True) == 0
    note = _note(home, "unknown.277")
    assert note["reason"] == ("a 277 that answers no claim status inquiry of ours (trace "
                              "numbers: NOT-OURS.1.1); nothing was applied")  # fmt: skip
    assert note["segment_position"] == 13
    assert [i.state for i in daemon.ledger.status_inquiries()] == ["sent"]


def test_a_malformed_277_is_quarantined_with_its_position(tmp_path: Path) -> None:
    home, daemon, trace = _asked(tmp_path)
    drop_reply(home, "broken.277", _277(trace, "STC*F1:65*20251201**1OO"))
    assert daemon.run(once=True) == 0
    note = _note(home, "broken.277")
    assert note["reason"] == "broken X12: segment 14, STC: STC04 '1OO' is not a number"
    assert note["segment_position"] == 14
    assert [i.state for i in daemon.ledger.status_inquiries()] == ["sent"]


def test_unknown_codes_are_kept_with_the_raw_code_and_shown_as_unknown(tmp_path: Path) -> None:
    home, daemon, trace = _asked(tmp_path)
    claim_id = trace.split(".")[0]
    drop_reply(home, "odd.277", _277(trace, "STC*Z9:8888*20251201"))
    assert daemon.run(once=True) == 0
    (inquiry,) = daemon.ledger.status_inquiries()
    assert (inquiry.state, inquiry.outcome) == ("answered", "unknown")
    assert inquiry.answer is not None and inquiry.answer["unknown_codes"] == ["Z9:8888"]
    (status,) = inquiry.answer["statuses"]
    assert status["category_text"] == "unknown status category Z9 (not in our table)"
    assert status["known"] is False
    (item,) = build_worklist(daemon.ledger, utc_now() + timedelta(days=40), reason="no_payment")
    assert item.claim_id == claim_id
    assert "Z9:8888 unknown status category Z9" in item.detail
    assert item.action == "read the raw codes and call the payer"


def test_a_payment_for_no_claim_of_ours_is_a_worklist_item_with_candidates(
    tmp_path: Path,
) -> None:
    home = make_home(tmp_path)
    drop_claims(home, "claims.json", recent_claims("UN", 1))
    daemon = run(home, utc_now())
    (sent,) = (home / "exchange" / "in").glob("*-837P-*.x12")
    (claim,) = claims_of(sent)
    ghost = claim.model_copy(update={"claim_id": "GHOST-1"})
    drop_reply(home, "ghost.835", remit_835([adjudicate(ghost)], trace="TRGHOST", control=990))
    assert daemon.run(once=True) == 0
    (item,) = build_worklist(daemon.ledger, utc_now(), reason="unmatched_payment")
    assert item.claim_id == "GHOST-1" and item.amount == adjudicate(ghost).paid
    assert "which is not in the ledger; claims billed the same: UN-00000" in item.detail
    assert item.action == "find the claim this payment belongs to and post it by hand"


def test_a_277_refusing_the_whole_inquiry_is_quarantined_with_the_reason(tmp_path: Path) -> None:
    home, daemon, trace = _asked(tmp_path)
    refused = (
        _277(trace, "STC*E0:24:85*20251201")
        .replace(
            f"~NM1*IL*1*DOE*JANE****MI*M1~TRN*2*{trace}~STC*E0:24:85*20251201",
            "~STC*E0:24:85*20251201",
        )
        .replace("HL*4*3*22*0~", "")
        .replace("SE*13*0001", "SE*10*0001")
    )
    drop_reply(home, "refused.277", refused)
    assert daemon.run(once=True) == 0
    note = _note(home, "refused.277")
    assert str(note["reason"]).startswith(
        "a 277 refusing our inquiry as a whole: E0:24 response not possible: error on submitted "
        "request data, entity not approved as an electronic submitter (provider level)"
    )
    assert note["segment_position"] == 11
    assert [i.state for i in daemon.ledger.status_inquiries()] == ["sent"]
