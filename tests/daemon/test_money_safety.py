"""Money safety at the claim level, end to end through the daemon, on SQLite and PostgreSQL:
a second payment of a paid claim is held (never a second patient bill) until a person releases
it; a discarded payment does not block its corrected copy; every posting, hold, release,
discard and reversal is in the claim's timeline and in status/; submitted means uploaded.

The partner is a folder pair; the replies come from the payer simulator or are made by hand
(tests/daemon/payer.py), as a billing admin would get or edit them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog
from click.testing import CliRunner

from gateway.cli.main import cli
from gateway.daemon.runner import Daemon
from gateway.ledger.schema import ClaimState, PaymentState
from gateway.simulator import Simulator, SimulatorConfig
from gateway.simulator.config import AdjudicationConfig
from tests.conftest import SAMPLES
from tests.daemon.homes import drop_claims, drop_reply, make_home, read_jsonl
from tests.daemon.payer import adjudicate, claims_of, remit_835
from tests.ledger.conftest import MakeDatabase
from tests.outputs import assert_described

CLAIMS = ["PCN-2025-0001", "PCN-2025-0002"]


def _professional() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((SAMPLES / "professional.json").read_text())
    return records


def _gateway(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), *args])
    return result.exit_code, result.output


def _once(daemon: Daemon) -> list[dict[str, Any]]:
    """One daemon cycle; the log events it said (for what it says at warning level)."""
    with structlog.testing.capture_logs() as logs:
        daemon.run(once=True)
    return logs


def _simulated_home(tmp_path: Path, make_database: MakeDatabase, **adjudication: Any) -> Any:
    home = make_home(tmp_path, database=make_database())
    config = SimulatorConfig(seed=3, adjudication=AdjudicationConfig(**adjudication))
    payer = Simulator(home / "exchange" / "in", home / "exchange" / "out", config,
                      home / "state" / "simulator.json")  # fmt: skip
    return home, Daemon(home), payer


def _events(home: Path) -> list[tuple[str, str, int | None]]:
    return [
        (s["claim_id"], s["event"], s["version"]) for s in read_jsonl(home / "spool" / "status")
    ]


def test_a_copy_of_a_paid_835_with_a_new_trace_bills_nobody_twice(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    home, daemon, payer = _simulated_home(tmp_path, make_database, deductible=Decimal(0))
    spool = home / "spool"
    drop_claims(home, "visits.json", _professional())
    daemon.run(once=True)
    payer.step()
    daemon.run(once=True)
    assert {c.claim_id: c.state for c in daemon.ledger.list_claims()} == dict.fromkeys(
        CLAIMS, ClaimState.PAID
    )
    balances = read_jsonl(spool / "balances")
    assert sorted(b["claim_id"] for b in balances) == CLAIMS
    # the admin copies the 835 and changes only its trace number (TRN02)
    [paid] = (home / "exchange" / "out" / "processed").glob("835-*.x12")
    original = re.search(r"TRN\*1\*([^*~]+)\*", paid.read_text())
    assert original is not None
    copy = paid.read_text().replace(f"TRN*1*{original[1]}*", "TRN*1*COPY-0001*")
    drop_reply(home, "835-copy.x12", copy)
    logs = _once(daemon)
    assert len(read_jsonl(spool / "balances")) == 2  # no second bill_patient record
    assert len(read_jsonl(spool / "postings")) == 2
    held = [s for s in read_jsonl(spool / "status") if s["event"] == "payment_held"]
    assert sorted(s["claim_id"] for s in held) == CLAIMS
    assert {s["version"] for s in held} == {1} and {s["source"] for s in held} == {"835"}
    assert held[0]["reasons"][0]["code"] == "possible_duplicate"
    assert f"trace {original[1]}" in held[0]["reasons"][0]["text"]
    warned = [e for e in logs if e["event"] == "payment_held_for_review"]
    assert {e["claim_id"] for e in warned} == set(CLAIMS)
    assert {e["log_level"] for e in warned} == {"warning"}
    # review list names the earlier payment: trace number, date, file
    code, out = _gateway(home, "review", "list", "--json")
    assert code == 0, out
    [entry] = json.loads(out)["held"]
    assert entry["file"] == "835-copy.x12" and entry["partner"] == "acme"
    [payment] = entry["payments"]
    assert payment["trace_number"] == "COPY-0001"
    reasons = [r for c in payment["claims"] for r in c["reasons"]]
    assert all(f"trace {original[1]} of 20" in r for r in reasons)
    assert all(f"file archive/inbound/acme/{paid.name}" in r for r in reasons)
    code, out = _gateway(home, "review", "list")
    assert "possible duplicate payment" in out and "gateway review release 835-copy.x12" in out
    # the claim's timeline shows the hold
    code, out = _gateway(home, "claim", CLAIMS[0])
    assert re.search(r"payment_held\s+835 .*trace COPY-0001", out), out
    assert "possible duplicate payment" in out
    # releasing one claim's payment is an explicit choice: posted then, marked so
    code, out = _gateway(home, "review", "release", "835-copy.x12", "--claim", CLAIMS[0],
                         "--note", "the payer confirmed a second payment")  # fmt: skip
    assert code == 0, out
    assert "released 1 claim payment(s) (PCN-2025-0001)" in out and "still held" in out
    code, out = _gateway(home, "review", "discard", "835-copy.x12", "--reason", "a copy")
    assert code == 0 and "discarded 1 claim payment(s) (PCN-2025-0002)" in out, out
    daemon.run(once=True)
    postings = read_jsonl(spool / "postings")
    again = [p for p in postings if p.get("released_after_review")]
    assert [(p["claim_id"], p["held_for"]) for p in again] == [(CLAIMS[0], ["possible_duplicate"])]
    assert again[0]["review_note"] == "the payer confirmed a second payment"
    assert Counter(b["claim_id"] for b in read_jsonl(spool / "balances")) == {
        CLAIMS[0]: 2, CLAIMS[1]: 1,
    }  # fmt: skip
    events = Counter((c, e) for c, e, _ in _events(home))
    assert events[(CLAIMS[0], "paid")] == 2 and events[(CLAIMS[1], "payment_discarded")] == 1
    history = [e.event.value for e in daemon.ledger.history(CLAIMS[1])]
    assert history[-2:] == ["payment_held", "payment_discarded"]
    # the copy once more, a line break apart: the claim's discarded payment is declined again
    drop_reply(home, "835-copy-again.x12", copy + "\n")
    logs = _once(daemon)
    [declined] = [e for e in logs if e["event"] == "remittance_discarded_before"]
    assert (declined["log_level"], declined["claims"]) == ("warning", [CLAIMS[1]])
    assert len(read_jsonl(spool / "postings")) == 3
    code, out = _gateway(home, "review", "list", "--json")
    found = json.loads(out)
    assert found["held"] == [] and found["not_posted"][0]["file"] == "835-copy.x12"
    [again] = found["not_posted"][0]["payments"][0]["seen_again"]
    assert again["file"] == "archive/inbound/acme/835-copy-again.x12"
    for kind, folder in (("posting", "postings"), ("balance", "balances"), ("status", "status")):
        assert_described(kind, read_jsonl(spool / folder))  # held, released: as documented


def test_a_reversal_after_a_replacement_is_in_the_timeline_and_status(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    home, daemon, payer = _simulated_home(tmp_path, make_database, deductible=Decimal(0))
    spool = home / "spool"
    [first, _] = _professional()
    drop_claims(home, "visit.json", [first])
    daemon.run(once=True)
    payer.step()
    daemon.run(once=True)
    [posting] = read_jsonl(spool / "postings")
    # the practice corrects the claim: a replacement, with the payer's claim number
    corrected = dict(first, frequency="7", payer_claim_number=posting["payer_claim_number"])
    corrected["lines"] = [dict(first["lines"][0], charge="160.00"), *first["lines"][1:]]
    corrected.pop("total_charge", None)
    drop_claims(home, "corrected.json", [corrected])
    daemon.run(once=True)
    payer.step()  # the payer reverses its payment of version 1 and pays version 2
    logs = _once(daemon)
    claim_id = first["claim_id"]
    stored = daemon.ledger.claim(claim_id)
    assert stored is not None and (stored.version, stored.state) == (2, ClaimState.PAID)
    v1 = daemon.ledger.claim(claim_id, version=1)
    assert v1 is not None and v1.state == ClaimState.REVERSED
    events = _events(home)
    assert (claim_id, "reversed", 1) in events and (claim_id, "paid", 2) in events
    reversal = next(p for p in read_jsonl(spool / "postings") if p["status_code"] == "22")
    assert reversal["reverses"] == posting["id"]
    assert [b["next_action"] for b in read_jsonl(spool / "balances")] == [
        "bill_patient", "reverse_previous", "bill_patient",
    ]  # fmt: skip
    # the normal path: nothing held, nothing said at warning level about the money
    assert daemon.ledger.held_payments() == []
    assert not [e for e in logs if e["log_level"] == "warning"]
    assert [p.state for p in daemon.ledger.claim_payments(claim_id)] == [
        PaymentState.REVERSED, PaymentState.POSTED, PaymentState.POSTED,
    ]  # fmt: skip
    code, out = _gateway(home, "claim", claim_id)
    assert code == 0
    assert re.search(rf"v1  reversed\s+835 .*reverses posting {posting['id']}", out), out
    assert re.search(r"v2  paid\s+835 ", out), out


def _unbalanced(text: str) -> str:
    """The 835 with one line's contractual adjustment off by a cent: the claim does not add
    up (the payment's total still does)."""
    found = re.search(r"CAS\*CO\*45\*(\d+\.\d\d)", text)
    assert found is not None
    wrong = f"{Decimal(found[1]) + Decimal('0.01'):.2f}"
    return text.replace(found[0], f"CAS*CO*45*{wrong}", 1)


def test_a_discarded_payment_does_not_block_its_corrected_copy(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    home = make_home(tmp_path, database=make_database())
    spool = home / "spool"
    drop_claims(home, "visits.json", _professional())
    daemon = Daemon(home)
    daemon.run(once=True)
    [sent] = (home / "exchange" / "in").iterdir()
    corrected = remit_835([adjudicate(c) for c in claims_of(sent)], trace="EFT-77")
    drop_reply(home, "835-X.x12", _unbalanced(corrected))
    daemon.run(once=True)
    assert read_jsonl(spool / "postings") == []
    code, out = _gateway(home, "review", "discard", "835-X.x12", "--reason",
                         "corrected 835 to follow")  # fmt: skip
    assert code == 0, out
    # the corrected 835: same trace number, payer, amount and date, other content
    (tmp_path / "corrected.835").write_text(corrected)
    with structlog.testing.capture_logs() as logs:
        code, out = _gateway(home, "post", str(tmp_path / "corrected.835"), "--partner", "acme")
    assert code == 1, out
    assert "posted 0 payment(s), held 1 for review" in out and "already received" not in out
    assert read_jsonl(spool / "postings") == []
    assert {e["log_level"] for e in logs if e["event"] == "payment_held_for_review"} == {"warning"}
    code, out = _gateway(home, "review", "list", "--json")
    [entry] = json.loads(out)["held"]
    assert entry["file"] == "corrected.835"
    reasons = [r for c in entry["payments"][0]["claims"] for r in c["reasons"]]
    assert all("same trace number, payer, amount and date as an earlier payment" in r
               for r in reasons)  # fmt: skip
    assert all("discarded" in r and "corrected 835 to follow" in r for r in reasons)
    # the admin checks it and releases it: posted
    code, out = _gateway(home, "review", "release", "corrected.835", "--note", "the correction")
    assert code == 0, out
    daemon.run(once=True)
    assert sorted(p["claim_id"] for p in read_jsonl(spool / "postings")) == CLAIMS
    assert {c.claim_id: c.state for c in daemon.ledger.list_claims()} == dict.fromkeys(
        CLAIMS, ClaimState.PAID
    )
    # the discarded payment once more (in another envelope): declined, said at warning level,
    # shown by review list
    resent = remit_835([adjudicate(c) for c in claims_of(sent)], trace="EFT-77", control=702)
    drop_reply(home, "835-X-again.x12", _unbalanced(resent))
    logs = _once(daemon)
    [declined] = [e for e in logs if e["event"] == "remittance_discarded_before"]
    assert declined["log_level"] == "warning"
    assert len(read_jsonl(spool / "postings")) == 2
    # the very file again (byte for byte): a duplicate, still said at warning level
    drop_reply(home, "835-X-copy.x12", _unbalanced(resent))
    logs = _once(daemon)
    [again] = [e for e in logs if e["event"] == "reply_duplicate"]
    assert (again["log_level"], again["earlier"]) == ("warning", "declined")
    code, out = _gateway(home, "review", "list")
    assert "Not posted (discarded after review)" in out
    assert "received again (not posted) in archive/inbound/acme/835-X-again.x12" in out
    # the timeline: held, discarded, held again (the correction), then paid on release
    events = [e.event.value for e in daemon.ledger.history(CLAIMS[0])]
    assert events[-4:] == ["payment_held", "payment_discarded", "payment_held", "paid"]


def test_claims_are_submitted_only_once_uploaded(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    home = make_home(tmp_path, database=make_database())
    upload = home / "exchange" / "in"
    upload.rename(home / "exchange" / "away")  # the partner's folder is gone: uploads fail
    drop_claims(home, "visits.json", _professional())
    daemon = Daemon(home)
    assert daemon.run(once=True) == 1
    assert {c.state for c in daemon.ledger.list_claims()} == {ClaimState.BATCHED}
    assert {e for _, e, _ in _events(home)} == {"queued"}  # no "submitted" record
    code, out = _gateway(home, "claims")
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("PCN-")]
    assert all(" batched " in r and "in acme-837P-000000001.x12, waiting to upload" in r
               for r in rows) and len(rows) == 2  # fmt: skip
    code, out = _gateway(home, "claim", CLAIMS[0])
    assert "batched: in acme-837P-000000001.x12, waiting to upload" in out.splitlines()[0]
    assert "not yet sent" in out
    code, out = _gateway(home, "claims", "--json")
    assert {json.loads(line)["waiting_in"] for line in out.splitlines()} == {
        "acme-837P-000000001.x12"
    }
    (home / "exchange" / "away").rename(upload)
    assert daemon.run(once=True) == 0
    assert {c.state for c in daemon.ledger.list_claims()} == {ClaimState.SUBMITTED}
    assert sorted(e for c, e, v in _events(home) if e == "submitted" and v == 1) == [
        "submitted", "submitted",
    ]  # fmt: skip
    assert daemon.run(once=True) == 0
    assert len([e for _, e, _ in _events(home) if e == "submitted"]) == 2  # once each


def test_two_835s_of_one_name_are_named_apart_in_the_timeline(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    drop_claims(home, "visits.json", _professional())
    daemon = Daemon(home)
    daemon.run(once=True)
    [sent] = (home / "exchange" / "in").iterdir()
    first, second = (adjudicate(c) for c in claims_of(sent))
    drop_reply(home, "835-ACMEH-000000004.x12", remit_835([first], trace="T-1"))
    daemon.run(once=True)
    drop_reply(home, "835-ACMEH-000000004.x12", remit_835([second], trace="T-2"))
    daemon.run(once=True)
    archived = sorted(p.name for p in (home / "spool/archive/inbound/acme").glob("*835-ACMEH*"))
    assert len(archived) == 2 and "835-ACMEH-000000004.x12" in archived
    [other] = [n for n in archived if n != "835-ACMEH-000000004.x12"]
    files = {
        c: daemon.ledger.history(c)[-1].detail["file"] for c in CLAIMS
    }  # fmt: skip
    assert files == {
        CLAIMS[0]: "archive/inbound/acme/835-ACMEH-000000004.x12",
        CLAIMS[1]: f"archive/inbound/acme/{other}",
    }
    _, out = _gateway(home, "claim", CLAIMS[1])
    assert f"file archive/inbound/acme/{other}" in out


def test_a_payment_all_to_the_deductible_says_so(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    home, daemon, payer = _simulated_home(tmp_path, make_database, deductible=Decimal(1000))
    drop_claims(home, "visits.json", _professional()[:1])
    daemon.run(once=True)
    payer.step()
    daemon.run(once=True)
    [balance] = read_jsonl(home / "spool" / "balances")
    owed = balance["patient_owes"]
    assert Decimal(balance["insurer_paid"]) == 0 and Decimal(owed) > 0
    _, out = _gateway(home, "claim", CLAIMS[0])
    assert f"paid 0.00: {owed} applied to the deductible" in out, out


def test_leftovers_of_a_killed_daemon_are_cleared_at_start(tmp_path: Path) -> None:
    """What SIGKILL leaves: an 837 written halfway, a download not yet moved in."""
    home = make_home(tmp_path)
    outbound = home / "spool" / "outbound" / "acme"
    staging = home / "spool" / "inbound" / "acme" / ".incoming"
    staging.mkdir(parents=True)
    outbound.mkdir(parents=True)
    (outbound / ".acme-837P-000000038.x12.tmp").write_text("ISA*half")
    (staging / ".835-1.x12.part").write_text("ISA*half")
    logs = _once(Daemon(home))
    assert not list(outbound.iterdir()) and not list(staging.iterdir())
    removed = sorted(e["file"] for e in logs if e["event"] == "leftover_removed")
    assert removed == ["inbound/acme/.incoming/.835-1.x12.part"]
    set_aside = [e["file"] for e in logs if e["event"] == "unfinished_file_set_aside"]
    assert set_aside == [".acme-837P-000000038.x12.tmp"]  # kept, never sent or deleted
    kept = home / "spool" / "archive" / "orphans" / "acme" / ".acme-837P-000000038.x12.tmp"
    assert kept.read_text() == "ISA*half"
