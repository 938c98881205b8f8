"""The demo end to end: the daemon against the payer simulator, through a folder pair and
through a real OpenSSH SFTP server; every claim ends paid, denied or rejected, and every
claim's money reconciles to the cent."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from gateway.cli.main import cli
from gateway.demo.run import DemoSummary, run_demo
from gateway.ledger.db import open_ledger
from gateway.ledger.ledger import Ledger
from gateway.transactions.claim_837_reader import read_837_claims
from gateway.transactions.ig_validation import validate_with_pyx12
from tests.daemon.homes import read_jsonl
from tests.outputs import assert_described
from tests.sshd import SFTP_PARTNER, Sshd


def _postings_reconcile(home: Path) -> dict[str, Decimal]:
    """Per claim, billed - paid - every adjustment, over all its postings (must be 0)."""
    left: dict[str, Decimal] = {}
    for path in (home / "spool" / "postings").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            p = json.loads(line)
            adjustments = p["adjustments"] + [a for ln in p["lines"] for a in ln["adjustments"]]
            rest = Decimal(p["charge"]) - Decimal(p["paid"])
            rest -= sum((Decimal(a["amount"]) for a in adjustments), Decimal(0))
            left[p["claim_id"]] = left.get(p["claim_id"], Decimal(0)) + rest
    return left


def _check(summary: DemoSummary, claims: int) -> None:
    assert summary.finished
    for kind, folder in (("posting", "postings"), ("balance", "balances"), ("status", "status")):
        assert_described(kind, read_jsonl(summary.home / "spool" / folder))  # as documented
    assert summary.unreconciled == []
    assert sum(summary.states.values()) == claims
    assert set(summary.states) <= {"paid", "partially_paid", "denied", "rejected"}
    assert len(summary.claims_refused_at_intake) == 3
    assert summary.rejected_by_payer and all("A7:33" in why for _, why in summary.rejected_by_payer)
    left = {k: v for k, v in _postings_reconcile(summary.home).items() if k.startswith("DEMO-")}
    paid_or_denied = claims - summary.states["rejected"]
    assert len(left) == paid_or_denied
    assert set(left.values()) == {Decimal(0)}
    m = summary.money
    assert m["billed"] == m["paid"] + m["contractual"] + m["patient"] + m["other"]
    assert summary.patient_owes == m["patient"]
    # the front desk's eligibility checks: each answered once, every kind of answer shown
    answers = {c.request_id: c.status for c in summary.eligibility}
    assert answers == {
        "ELIG-001": "active", "ELIG-002": "active", "ELIG-003": "active", "ELIG-004": "active",
        "ELIG-CHILD": "active", "ELIG-ENDED": "inactive", "ELIG-UNKNOWN": "rejected",
    }  # fmt: skip
    assert all(c.deductible_left for c in summary.eligibility if c.status == "active")


def _check_followup(summary: DemoSummary) -> None:
    """Some claims kept silent were asked about; the aging total equals the ledger's open
    amounts (billed less paid of every claim no 835 has settled) to the cent."""
    result = summary.followup
    assert result is not None and result.aging is not None
    assert result.silent_before and result.inquiries_sent >= sum(result.silent_before.values())
    assert result.answers
    settings = (summary.home / "gateway.toml").read_text()
    assert "sqlite:///state/gateway.db" in settings
    with open_ledger(f"sqlite:///{summary.home / 'state' / 'gateway.db'}") as ledger:
        open_claims = [c for c in ledger.list_claims(limit=100_000)
                       if c.state in ("submitted", "accepted", "reversed")]  # fmt: skip
        owed = sum((Decimal(c.billed or "0") - _paid(ledger, c.claim_id) for c in open_claims),
                   Decimal("0.00"))  # fmt: skip
    assert result.aging.total.amount == owed == result.ledger_open
    assert result.aging.total.count == len(open_claims)
    assert sum((r.total.amount for r in result.aging.rows), Decimal(0)) == owed
    # a paid claim with a line denied outright (nothing left to the patient) is on the worklist
    last = {p["claim_id"]: p for p in read_jsonl(summary.home / "spool" / "postings")}
    denied = {  # the claim's last posting (a reversal is followed by the corrected payment)
        claim_id for claim_id, p in last.items()
        if p["status"] in ("paid", "partially_paid") and any(
            Decimal(ln["paid"]) == 0 and not any(a["group"] == "PR" for a in ln["adjustments"])
            for ln in p["lines"])
    }  # fmt: skip
    listed = {i.claim_id for i in result.worklist if i.reason == "partially_denied"}
    assert denied and listed == denied


def _paid(ledger: Ledger, claim_id: str) -> Decimal:
    return sum((Decimal(p.paid) for p in ledger.payments_in_force(claim_id)), Decimal(0))


def test_demo_through_a_folder_pair(tmp_path: Path) -> None:
    summary = run_demo(tmp_path / "home", claims=80, seed=3, console=Console(file=None, quiet=True))
    _check(summary, 80)
    _check_followup(summary)
    exchange = tmp_path / "home" / "exchange" / "clearinghouse"
    inquiries = list(exchange.rglob("*-270-*.x12"))
    answers = list(exchange.rglob("271-*.x12"))  # what the simulator wrote, taken by the daemon
    assert inquiries and answers
    assert [p.name for p in inquiries + answers if validate_with_pyx12(p)] == []


def test_demo_through_a_real_sftp_server(sshd: Sshd) -> None:
    partner = SFTP_PARTNER.format(port=sshd.port, user=sshd.user, key="id_ed25519")
    home = sshd.home  # holds keys/ and the pinned known_hosts
    summary = run_demo(home, claims=120, seed=5, partner=partner,
                       served=(sshd.inbound, sshd.outbound),
                       console=Console(quiet=True))  # fmt: skip
    _check(summary, 120)
    uploaded = list((sshd.inbound / "processed").glob("*-837?-*.x12"))
    inquiries = list((sshd.inbound / "processed").glob("*-270-*.x12"))
    assert inquiries and all(validate_with_pyx12(p) == [] for p in inquiries)
    sent = Counter(c.claim_id for path in uploaded for c in read_837_claims(path))
    assert summary.correction is not None  # the demo's replacement went out too
    corrected = Counter([summary.correction.claim_id])
    demo = Counter({claim_id: n for claim_id, n in sent.items() if claim_id.startswith("DEMO-")})
    assert demo == Counter(f"DEMO-{n:05d}" for n in range(1, 121)) + corrected  # each once
    assert max(len(read_837_claims(path)) for path in uploaded) == 40  # the batch limit


def test_gateway_demo_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path / "d"), "--claims", "30"])
    assert result.exit_code == 0, result.output
    assert "every claim reconciles" in result.output and "yes" in result.output
    assert "worklist (" in result.output and "aging: money insurers still owe" in result.output
    assert "aging total equals the ledger's open amounts to the cent: yes" in result.output
    again = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path / "d")])
    assert again.exit_code == 2 and "not empty" in again.output
