"""The daemon end to end through the directory transport: claims in, 837 out, replies back,
postings, balances and status events out, each checked field by field."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from gateway.cli.main import cli
from gateway.daemon.runner import Daemon
from gateway.domain.claim import Claim
from gateway.ledger.schema import ClaimState
from tests.conftest import SAMPLES
from tests.daemon.homes import drop_claims, drop_reply, make_home, read_jsonl
from tests.daemon.payer import ack_999, adjudicate, claims_of, envelope_of, remit_835, status_277ca


def _samples(kind: str) -> list[dict[str, Any]]:
    data = json.loads((SAMPLES / f"{kind}.json").read_text())
    return data if isinstance(data, list) else [data]


def _once(home: Path) -> Daemon:
    daemon = Daemon(home)
    assert daemon.run(once=True) == 0
    return daemon


def _by(records: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    out = {tuple(r[k] for k in keys): r for r in records}
    assert len(out) == len(records), f"duplicate records by {keys}"
    return out


def test_claims_to_payments_end_to_end(tmp_path: Path, db_url: str) -> None:
    """On SQLite and on PostgreSQL (``db_url``: a fresh database of each)."""
    home = make_home(tmp_path, database=db_url)
    spool = home / "spool"
    drop_claims(home, "prof.json", _samples("professional"))
    drop_claims(home, "dental.json", _samples("dental"))
    drop_claims(home, "inst.json", _samples("institutional"))
    bad = dict(_samples("professional")[0], claim_id="BAD-1")
    bad["billing_provider"] = dict(bad["billing_provider"], npi="1234567890")
    drop_claims(home, "bad.json", [bad])

    # -- cycle 1: intake, one 837 per kind, uploaded ------------------------------------
    daemon = _once(home)
    sent = sorted((home / "exchange" / "in").iterdir())
    assert [p.name for p in sent] == [
        "acme-837D-000000002.x12", "acme-837I-000000003.x12", "acme-837P-000000001.x12",
    ]  # fmt: skip
    by_file = {p.name: [c.claim_id for c in claims_of(p)] for p in sent}
    assert by_file == {
        "acme-837P-000000001.x12": ["PCN-2025-0001", "PCN-2025-0002"],
        "acme-837D-000000002.x12": ["DEN-2025-0001"],
        "acme-837I-000000003.x12": ["PCN-I-0001"],
    }
    assert not list((spool / "outbound" / "acme").iterdir())
    assert sorted(p.name for p in (spool / "archive" / "outbound" / "acme").iterdir()) == [
        p.name for p in sent
    ]
    assert (spool / "rejected" / "bad.json").exists()
    errors = json.loads((spool / "rejected" / "bad.json.errors.json").read_text())
    assert [(p["claim"], p["field"]) for p in errors["problems"]] == [
        ("BAD-1", "billing_provider.npi")
    ]
    ledger = daemon.ledger
    good = ["DEN-2025-0001", "PCN-2025-0001", "PCN-2025-0002", "PCN-I-0001"]
    assert {c.claim_id: c.state for c in ledger.list_claims()} == dict.fromkeys(
        good, ClaimState.SUBMITTED
    )
    status = read_jsonl(spool / "status")
    assert sorted((s["claim_id"], s["event"], s["source"]) for s in status) == sorted(
        [(c, "queued", "intake") for c in good] + [(c, "submitted", "837") for c in good]
    )
    submitted = _by([s for s in status if s["event"] == "submitted"], "claim_id")
    assert submitted[("DEN-2025-0001",)]["file"] == "acme-837D-000000002.x12"
    assert submitted[("DEN-2025-0001",)]["control_number"] == "000000002"
    assert all(s["partner"] == "acme" for s in status)

    # -- cycle 2: 999 accepts every file, the 277CA rejects the institutional claim --------
    claims = {c.claim_id: c for p in sent for c in claims_of(p)}
    for n, path in enumerate(sent, 1):
        _isa, group = envelope_of(path)
        drop_reply(home, f"ack-{n}.999", ack_999(group, control=500 + n))
    _once(home)
    assert {c.claim_id: c.state for c in ledger.list_claims()} == dict.fromkeys(
        good, ClaimState.ACCEPTED
    )
    verdicts = [(claims[c], "A7:33" if c == "PCN-I-0001" else "A2:20") for c in good]
    drop_reply(home, "status.277", status_277ca(verdicts))
    _once(home)
    states = {c.claim_id: c.state for c in ledger.list_claims()}
    assert states == {**dict.fromkeys(good, ClaimState.ACCEPTED), "PCN-I-0001": ClaimState.REJECTED}
    [rejected] = [s for s in read_jsonl(spool / "status") if s["event"] == "rejected"]
    assert rejected["claim_id"] == "PCN-I-0001" and rejected["source"] == "277CA"
    assert rejected["reasons"][0]["code"] == "A7:33:PR"
    assert "rejected" in rejected["reasons"][0]["text"]

    # -- cycle 3: two 835s pay the accepted claims ---------------------------------------
    acme = [adjudicate(claims[c]) for c in ("PCN-2025-0001", "PCN-2025-0002")]
    delta = [adjudicate(claims["DEN-2025-0001"])]
    drop_reply(home, "acme.835", remit_835(acme, trace="TRACE-ACME-1", control=701))
    drop_reply(home, "delta.835", remit_835(delta, trace="TRACE-DELTA-1", control=702))
    _once(home)
    paid = ["DEN-2025-0001", "PCN-2025-0001", "PCN-2025-0002"]
    assert {c.claim_id: c.state for c in ledger.list_claims()} == {
        **dict.fromkeys(paid, ClaimState.PAID),
        "PCN-I-0001": ClaimState.REJECTED,
    }
    postings = _by(read_jsonl(spool / "postings"), "claim_id")
    balances = _by(read_jsonl(spool / "balances"), "claim_id")
    assert sorted(k[0] for k in postings) == paid
    assert sorted(k[0] for k in balances) == paid
    for result in acme + delta:
        claim: Claim = result.claim
        posting = postings[(claim.claim_id,)]
        assert posting["status"] == "paid" and posting["status_code"] == "1"
        assert Decimal(posting["charge"]) == result.charge
        assert Decimal(posting["paid"]) == result.paid
        assert Decimal(posting["patient_responsibility"]) == result.patient == Decimal("10.00")
        assert posting["payer_claim_number"] == f"PCN{claim.claim_id}"
        trace = "TRACE-DELTA-1" if claim.kind == "dental" else "TRACE-ACME-1"
        assert posting["payment"]["trace_number"] == trace
        assert [ln["line_id"] for ln in posting["lines"]] == [x.line_id for x in result.lines]
        for line, expected in zip(posting["lines"], result.lines, strict=True):
            assert Decimal(line["paid"]) == expected.paid
            assert Decimal(line["allowed"]) == expected.allowed
            assert [
                (a["group"], a["reason"], Decimal(a["amount"])) for a in line["adjustments"]
            ] == [("CO", "45", expected.contractual)] + (
                [("PR", "1", expected.deductible)] if expected.deductible else []
            )
        balance = balances[(claim.claim_id,)]
        assert balance["next_action"] == "bill_patient"
        assert Decimal(balance["billed"]) == result.charge
        assert Decimal(balance["insurer_paid"]) == result.paid
        assert Decimal(balance["contractual_adjustment"]) == result.contractual
        assert Decimal(balance["patient_owes"]) == Decimal("10.00")
        assert Decimal(balance["breakdown"]["deductible"]) == Decimal("10.00")
        assert balance["remittance"]["trace_number"] == trace
        # billed = paid + contractual + patient owes, to the cent
        assert result.charge == result.paid + result.contractual + result.patient
    paid_events = [s for s in read_jsonl(spool / "status") if s["event"] == "paid"]
    assert sorted(s["claim_id"] for s in paid_events) == paid
    assert all(s["source"] == "835" for s in paid_events)

    # -- cycle 4: the same payment again (same file, then rebuilt under a new ISA13) --------
    before = {k: read_jsonl(spool / k) for k in ("postings", "balances", "status")}
    drop_reply(home, "acme-again.835", remit_835(acme, trace="TRACE-ACME-1", control=701))
    drop_reply(home, "acme-resent.835", remit_835(acme, trace="TRACE-ACME-1", control=777))
    _once(home)
    assert {k: read_jsonl(spool / k) for k in before} == before
    duplicates = home / "spool" / "archive" / "inbound" / "acme" / "duplicates"
    assert [p.name for p in duplicates.iterdir()] == ["acme-again.835"]

    # -- the ledger's view ---------------------------------------------------------------
    history = ledger.history("PCN-2025-0001")
    assert [(e.event.value, e.source) for e in history] == [
        ("queued", "intake"), ("batched", "837"), ("submitted", "837"), ("accepted", "999"),
        ("accepted", "277CA"), ("paid", "835"),
    ]  # fmt: skip
    assert history[1].detail["file"] == history[2].detail["file"] == "acme-837P-000000001.x12"
    assert history[-1].detail["patient_owes"] == "10.00"
    assert history[-1].detail["file"] == "archive/inbound/acme/acme.835"  # unique, archived
    # every status record names the claim version it is about (replies too)
    every = read_jsonl(spool / "status")
    assert {(s["source"], s["version"]) for s in every} == {
        (source, 1) for source in ("intake", "837", "999", "277CA", "835")
    }
    runner = CliRunner()
    shown = runner.invoke(cli, ["--home", str(home), "claim", "PCN-2025-0001"])
    assert shown.exit_code == 0, shown.output
    assert "acme-837P-000000001.x12" in shown.output and "TRACE-ACME-1" in shown.output
    assert "filed: the payer's 277CA accepted it on" in shown.output  # proof of timely filing
    listed = runner.invoke(cli, ["--home", str(home), "claims", "--status", "paid", "--json"])
    assert sorted(json.loads(line)["claim_id"] for line in listed.output.splitlines()) == paid
