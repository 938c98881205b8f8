"""`gateway explain` agrees with the postings to the cent on every claim of a demo run (one
of them corrected: replaced, its payment reversed, the corrected claim paid)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from gateway.daemon.explanations import explanation_of
from gateway.demo.followup import late_claims
from gateway.demo.run import run_demo
from gateway.ledger.db import open_ledger
from tests.daemon.homes import read_jsonl

ZERO = Decimal(0)


def test_explain_agrees_with_the_postings_on_every_demo_claim(tmp_path: Path) -> None:
    summary = run_demo(tmp_path / "home", claims=30, seed=11, console=Console(quiet=True))
    assert summary.finished and summary.unreconciled == []
    spool = summary.home / "spool"
    paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in read_jsonl(spool / "postings"):
        paid[p["claim_id"]] += Decimal(p["paid"])
    owed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    balances = read_jsonl(spool / "balances")
    for b in balances:
        owed[b["claim_id"]] += Decimal(b["patient_owes"])
    replaced = {b["replaces"] for b in balances if b.get("replaces")}
    current: dict[str, list[str]] = defaultdict(list)
    for b in balances:
        if b["next_action"] != "reverse_previous" and b["id"] not in replaced:
            current[b["claim_id"]].append(b["patient_owes"])
    correction = summary.correction
    assert correction is not None and correction.version == 2
    assert correction.state in ("paid", "partially_paid", "denied")
    seen = 0
    with open_ledger(f"sqlite:///{summary.home / 'state' / 'gateway.db'}") as ledger:
        for claim in ledger.list_claims(limit=10_000):
            found = explanation_of(ledger, claim.claim_id)
            assert found is not None
            seen += 1
            payers_paid = sum((Decimal(p["paid"]) for p in found["payers"]), ZERO)
            assert payers_paid == paid[claim.claim_id], claim.claim_id
            lines_paid = sum(
                (Decimal(v) for ln in found["lines"] for v in ln["paid"].values()), ZERO
            )
            assert lines_paid == payers_paid, claim.claim_id
            if claim.state.value in ("rejected", "submitted", "accepted"):  # no payer's word yet
                assert found["patient_owes"] is None
                assert "not yet known" in " ".join(found["explanation"])
                continue
            assert found["patient_owes"] is not None, claim.claim_id
            assert Decimal(found["patient_owes"]) == owed[claim.claim_id], claim.claim_id
            assert len(current[claim.claim_id]) <= 1, claim.claim_id  # one current balance
            if current[claim.claim_id]:
                assert current[claim.claim_id] == [found["patient_owes"]], claim.claim_id
            if found["breakdown"]:
                assert sum(Decimal(v) for v in found["breakdown"].values()) == Decimal(
                    found["patient_owes"]
                )
        fixed = explanation_of(ledger, correction.claim_id)
    # the claims the run summed up, and the follow-up's late claims (some still silent)
    assert summary.followup is not None
    assert seen == sum(summary.states.values()) + len(late_claims(11))
    assert fixed is not None
    assert any("took back its earlier payment" in s for s in fixed["explanation"])
    assert any(c["said"].startswith("a corrected claim (version 2) was sent")
               for c in fixed["chronology"])  # fmt: skip


def test_a_void_through_the_payer_simulator_ends_voided_and_nets_to_zero(tmp_path: Path) -> None:
    """After a demo run, the billing office voids a paid claim; the simulator reverses its
    payment; the claim ends voided and its balances sum to 0.00."""
    from click.testing import CliRunner

    from gateway.cli.main import cli
    from gateway.daemon.runner import Daemon
    from gateway.demo.run import demo_simulator_config
    from gateway.simulator.serve import Simulator

    home = tmp_path / "home"
    summary = run_demo(home, claims=12, seed=5, console=Console(quiet=True))
    assert summary.finished
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        paid = sorted(c.claim_id for c in ledger.list_claims("paid") if c.version == 1)
    target = paid[-1]
    result = CliRunner().invoke(cli, ["--home", str(home), "void", target, "--reason",
                                      "billed in error"], obj={})  # fmt: skip
    assert result.exit_code == 0, result.output
    exchange = home / "exchange" / "clearinghouse"
    simulator = Simulator(exchange / "in", exchange / "out", demo_simulator_config(5),
                          home / "state" / "simulator.json")  # fmt: skip
    daemon = Daemon(home)
    try:
        for _ in range(20):
            daemon.cycle(once=True)
            simulator.step()
            stored = daemon.ledger.claim(target)
            if stored is not None and stored.state.value == "voided":
                break
        daemon.cycle(once=True)  # the outputs of the last replies
    finally:
        daemon.ledger.close()
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        stored = ledger.claim(target)
        assert stored is not None and (stored.version, stored.state.value) == (2, "voided")
        found = explanation_of(ledger, target)
    assert found is not None and found["patient_owes"] == "0.00"
    assert found["payers"] == []  # nothing in force
    owed = sum((Decimal(b["patient_owes"]) for b in read_jsonl(home / "spool" / "balances")
                if b["claim_id"] == target), ZERO)  # fmt: skip
    paid_net = sum((Decimal(p["paid"]) for p in read_jsonl(home / "spool" / "postings")
                    if p["claim_id"] == target), ZERO)  # fmt: skip
    assert owed == ZERO and paid_net == ZERO
    assert any(s["event"] == "voided" and s["claim_id"] == target
               for s in read_jsonl(home / "spool" / "status"))  # fmt: skip
