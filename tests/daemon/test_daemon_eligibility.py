"""The daemon asks and reads back: request files in, 270s out through the same doors as 837s,
271s (and refusals) in, benefits records out; bad input rejected or quarantined with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from gateway.daemon.runner import Daemon
from gateway.ledger.schema import RequestState
from gateway.simulator import Simulator, SimulatorConfig
from gateway.simulator.config import ClaimEditsConfig, EligibilityConfig, MemberConfig
from gateway.transactions.eligibility_270_reader import read_270
from gateway.transactions.ig_validation import validate_with_pyx12
from tests.daemon.eligibility_payer import TODAY, child, drop_requests, request
from tests.daemon.homes import drop_reply, make_home, read_jsonl
from tests.daemon.payer import ack_999, ta1

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "x12-examples"


def simulator(home: Path) -> Simulator:
    config = SimulatorConfig(
        claims=ClaimEditsConfig(unknown_member_prefixes=["XX"]),
        eligibility=EligibilityConfig(members=[
            MemberConfig(member_id="M-OLD", active=False, coverage_end=datetime(2025, 3, 31).date()),
        ]),
    )  # fmt: skip
    exchange = home / "exchange"
    return Simulator(exchange / "in", exchange / "out", config, home / "state" / "sim.json")


def test_requests_to_benefits_end_to_end(tmp_path: Path, db_url: str) -> None:
    """On SQLite and on PostgreSQL (``db_url``: a fresh database of each)."""
    home = make_home(tmp_path, database=db_url)
    spool = home / "spool"
    asked = [
        request("E-1", "M1", service_types=["30", "98", "BZ"]),
        request("E-2", "XX77", service_types=["30"]),
        request("E-3", "M-OLD", service_types=["30"]),
        request("E-4", "M2", patient=child("Bo"), service_types=["35", "41"]),
        request("E-5", "M3", patient=child("Cy"), service_types=["30"]),
        request("E-BAD", "M4", provider={"npi": "1234567890", "name": "X"}),
    ]
    drop_requests(home, "front-desk.json", asked)
    daemon = Daemon(home)
    sim = simulator(home)
    assert daemon.run(once=True) == 0
    # -- the 270s: one payer and provider, at most one dependent each, last ---------------
    sent = sorted((home / "exchange" / "in").glob("*.x12"))
    assert [p.name for p in sent] == ["acme-270-000000001.x12", "acme-270-000000002.x12"]
    for path in sent:
        assert validate_with_pyx12(path) == []
    assert [[i.request["request_id"] for i in read_270(p)] for p in sent] == [
        ["E-1", "E-2", "E-3", "E-4"], ["E-5"],
    ]  # fmt: skip
    rejected = json.loads((spool / "rejected" / "front-desk.json.errors.json").read_text())
    assert rejected["problems"] == [{"request": "E-BAD", "field": "provider.npi",
                                     "message": "NPI 1234567890 fails the check digit (the last "
                                                "digit should be 3)"}]  # fmt: skip
    assert rejected["requests_taken"] == ["E-1", "E-2", "E-3", "E-4", "E-5"]
    ledger = daemon.ledger
    interchange = ledger.interchange(partner="acme", file_name="acme-270-000000001.x12")
    assert interchange is not None and interchange.kind == "270" and interchange.sent_at
    assert ledger.count_eligibility_requests() == {"sent": 5}
    # -- the payer answers; the next cycle reads the 271 -------------------------------
    report = sim.step()
    answers = [name for name in report.written if name.startswith("271-")]
    assert len(answers) == 2
    for name in answers:
        assert validate_with_pyx12(home / "exchange" / "out" / name) == []
    assert Daemon(home).run(once=True) == 0
    records = {r["request_id"]: r for r in read_jsonl(spool / "benefits")}
    assert sorted(records) == ["E-1", "E-2", "E-3", "E-4", "E-5"]
    assert {k: r["status"] for k, r in records.items()} == {
        "E-1": "active", "E-2": "rejected", "E-3": "inactive", "E-4": "active", "E-5": "active",
    }  # fmt: skip
    one = records["E-1"]
    assert one["not_answered"] == ["BZ"] and one["service_date"] == TODAY
    assert [b["service_type"] for b in one["benefits"] if b["kind"] == "1"] == ["30", "98"]
    assert one["id"].startswith("benefits-E-1-") and one["source_file"].startswith("271-")
    assert records["E-2"]["errors"][0]["code"] == "75"
    assert records["E-4"]["patient"]["first_name"] == "BO"
    assert {(b["procedure"], b["period"]) for b in records["E-4"]["benefits"]
            if b["kind"] == "F"} >= {("AD:D1110", "23"), ("AD:D1110", "29")}  # fmt: skip
    assert ledger.count_eligibility_requests() == {"answered": 5}
    stored = ledger.eligibility_request("E-3")
    assert stored is not None and stored.answer == records["E-3"]
    # -- the same file again (a pass that died before moving it): taken, nothing sent ----
    drop_requests(home, "again.json", asked[:5])
    assert Daemon(home).run(once=True) == 0
    assert (spool / "archive" / "eligibility").is_dir()
    assert len(list((home / "exchange" / "in").rglob("*.x12"))) == 2  # the simulator's processed/
    assert len(read_jsonl(spool / "benefits")) == 5


def _sent(home: Path, *asked: dict[str, Any]) -> Daemon:
    drop_requests(home, "asked.json", list(asked))
    daemon = Daemon(home)
    assert daemon.run(once=True) == 0
    return daemon


def test_a_271_that_answers_nothing_of_ours_is_quarantined(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    daemon = _sent(home, request("E-1", "M1"))
    drop_reply(home, "elig-271.x12", (EXAMPLES / "elig-271.x12").read_text())
    assert daemon.run(once=True) == 0
    folder = home / "spool" / "quarantine" / "acme"
    note = json.loads((folder / "elig-271.x12.reason.json").read_text())
    assert note["reason"] == (
        "a 271 that answers no eligibility request of ours (trace numbers: RFE0609-0001, "
        "RFE0609-0002); nothing was applied"
    )
    assert note["segment_position"] == 9
    assert daemon.ledger.count_eligibility_requests() == {"sent": 1}
    assert read_jsonl(home / "spool" / "benefits") == []


def _answer_271(trace: str, eb07: str = "250", reference: str = "B000000001") -> str:
    segments = [
        "ST*271*0001*005010X279A1", f"BHT*0022*11*{reference}*20251201*0900",
        "HL*1**20*1", "NM1*PR*2*ACME HEALTH*****PI*87726",
        "HL*2*1*21*1", "NM1*1P*2*MAIN STREET CLINIC*****XX*1234567893",
        "HL*3*2*22*0", f"TRN*2*{trace}*9234567893", "NM1*IL*1*DOE*JANE****MI*M1",
        "EB*1*IND*30", f"EB*C*IND*30***23*{eb07}*****Y",
    ]  # fmt: skip
    body = "~".join([*segments, f"SE*{len(segments) + 1}*0001"])
    return (
        "ISA*00*          *00*          *ZZ*ACMECH         *ZZ*PRACTICE01     *251201*0900*^*"
        f"00501*000000901*0*T*:~GS*HB*ACMECH*PRACTICE01*20251201*0900*901*X*005010X279A1~"
        f"{body}~GE*1*901~IEA*1*000000901~"
    )


def test_a_malformed_271_is_quarantined_with_its_position(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    daemon = _sent(home, request("E-1", "M1"))
    drop_reply(home, "broken.271", _answer_271("E-1", eb07="2O0"))
    assert daemon.run(once=True) == 0
    note = json.loads(
        (home / "spool" / "quarantine" / "acme" / "broken.271.reason.json").read_text()
    )
    assert note["reason"] == "broken X12: segment 13, EB: EB07 '2O0' is not a number"
    assert note["segment_position"] == 13
    assert daemon.ledger.count_eligibility_requests() == {"sent": 1}
    # the partner's corrected file is applied
    drop_reply(home, "fixed.271", _answer_271("E-1"))
    assert daemon.run(once=True) == 0
    [record] = read_jsonl(home / "spool" / "benefits")
    assert (record["request_id"], record["status"]) == ("E-1", "active")


def test_a_refused_270_rejects_its_requests_with_the_reason(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    daemon = _sent(home, request("E-1", "M1"), request("E-2", "M2"))
    drop_requests(home, "later.json", [request("E-3", "M3")])
    assert daemon.run(once=True) == 0  # a second 270 (control 2)
    drop_reply(home, "ta1.x12", ta1(1, accepted=False, note="006"))
    drop_reply(home, "999.x12", ack_999(2, accepted=False, of=("HS", "270", "005010X279A1")))
    assert daemon.run(once=True) == 0
    records = {r["request_id"]: r for r in read_jsonl(home / "spool" / "benefits")}
    assert {k: (r["status"], r["errors"][0]["code"]) for k, r in records.items()} == {
        "E-1": ("rejected", "TA1-006"), "E-2": ("rejected", "TA1-006"),
        "E-3": ("rejected", "IK5-5"),
    }  # fmt: skip
    assert "ask again with a new request_id" in records["E-1"]["errors"][0]["action"]
    assert daemon.ledger.count_eligibility_requests() == {"rejected": 3}


def test_a_payer_that_refuses_the_whole_inquiry(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    daemon = _sent(home, request("E-1", "M1"), request("E-2", "M2"))
    refusal = _answer_271("x").replace("HL*1**20*1~", "HL*1**20*0~AAA*Y**42*R~")
    refusal = refusal.split("~HL*2*")[0] + "~SE*6*0001~GE*1*901~IEA*1*000000901~"
    drop_reply(home, "busy.271", refusal)
    assert daemon.run(once=True) == 0
    records = read_jsonl(home / "spool" / "benefits")
    assert sorted(r["request_id"] for r in records) == ["E-1", "E-2"]
    assert {(r["status"], r["errors"][0]["code"], r["errors"][0]["action"]) for r in records} == {
        ("rejected", "42", "ask again later (resubmission allowed)")
    }


def test_unanswered_requests_are_logged_after_the_partners_window(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    daemon = _sent(home, request("E-1", "M1"))
    steps, report = daemon.eligibility, daemon.cycle(once=True).eligibility
    window = daemon.partners[0].eligibility.answer_minutes
    with capture_logs() as logs:
        steps.overdue(report, now=datetime.now(UTC) + timedelta(minutes=window - 1))
        assert report.unanswered == 0
        later = datetime.now(UTC) + timedelta(minutes=window + 1)
        steps.overdue(report, now=later)
        steps.overdue(report, now=later + timedelta(minutes=5))  # logged once, counted again
    warnings = [e for e in logs if e["event"] == "eligibility_unanswered"]
    assert [(e["log_level"], e["request_id"], e["partner"]) for e in warnings] == [
        ("warning", "E-1", "acme")
    ]
    assert report.unanswered == 1
    [(stored, sent_at)] = daemon.ledger.unanswered_eligibility_requests(sent_before=later)
    assert stored.state == RequestState.SENT and sent_at < later


def test_a_270_cut_short_by_a_kill_is_set_aside_at_start_never_sent(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    outbound = home / "spool" / "outbound" / "acme"
    outbound.mkdir(parents=True)
    (outbound / ".acme-270-000000007.x12.tmp").write_text("ISA*00*")  # write_atomic's temporary
    drop_requests(home, "asked.json", [request("E-1", "M1")])
    with capture_logs() as logs:
        assert Daemon(home).run(once=True) == 0
    assert [p.name for p in outbound.iterdir()] == []
    kept = home / "spool" / "archive" / "orphans" / "acme" / ".acme-270-000000007.x12.tmp"
    assert kept.read_text() == "ISA*00*"
    assert [e["file"] for e in logs if e["event"] == "unfinished_file_set_aside"] == [kept.name]
    assert [p.name for p in (home / "exchange" / "in").iterdir()] == ["acme-270-000000001.x12"]
