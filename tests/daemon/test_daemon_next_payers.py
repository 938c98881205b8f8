"""Next payers end to end through the real sshd: a claim with two next payers goes P → S → T.

The payer simulator answers each leg as the payer billed (CLP02 1, 2, 3; the secondary and
tertiary coordinate benefits from the 2320/2430 loops the gateway built). Each leg's 2320/2430
figures equal the earlier payers' 835s to the cent, each leg goes out once, and the one
``bill_patient`` balance is what the last payer's 835 left the patient.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from gateway.cli.main import cli
from gateway.daemon.runner import Daemon
from gateway.domain.claim import Claim
from gateway.home import init_home
from gateway.ledger.schema import LegState
from gateway.simulator.config import AdjudicationConfig, SimulatorConfig
from gateway.simulator.serve import Simulator
from gateway.transactions.claim_837_reader import read_837_claims
from gateway.transactions.ig_validation import validate_with_pyx12
from tests.cob_example import lopez_claim
from tests.daemon.homes import drop_claims, read_jsonl
from tests.outputs import assert_described
from tests.sshd import SFTP_PARTNER, Sshd

# three payers with their own allowed amounts: each later one pays part of what is left
CONFIG = SimulatorConfig(adjudication=AdjudicationConfig(
    deductible=Decimal(40),
    allowed_percent_by_payer={"LKSBP": Decimal(70), "SMAP1": Decimal(75)},
))  # fmt: skip


def sftp_home(sshd: Sshd, db_url: str) -> Path:
    home = sshd.home  # holds keys/ and the pinned known_hosts
    init_home(home)
    (home / "partners" / "example.toml").unlink()
    (home / "partners" / "clearinghouse.toml").write_text(
        SFTP_PARTNER.format(port=sshd.port, user=sshd.user, key="id_ed25519").replace(
            "max_claims = 40\n", ""
        )
    )
    settings = home / "gateway.toml"
    text = settings.read_text().replace("settle_seconds = 5", "settle_seconds = 0")
    if db_url:
        text = text.replace('url = "sqlite:///state/gateway.db"', f'url = "{db_url}"')
    settings.write_text(text)
    return home


def settled(folder: Path) -> None:
    """The simulator's replies as a server holds them once written (the SFTP transport skips a
    file modified in the last seconds: still being written), without waiting for the clock."""
    past = time.time() - 60
    for path in folder.glob("*.x12"):
        os.utime(path, (past, past))


def run_until_quiet(daemon: Daemon, simulator: Simulator, rounds: int = 40) -> int:
    """Daemon cycle, simulator step, until neither has anything left to do."""
    quiet = 0
    for n in range(1, rounds + 1):
        report = daemon.cycle(once=True)
        assert not report.failures, report.failures
        step = simulator.step()
        settled(simulator.download_dir)
        waiting = any(daemon.ledger.pending_outbox(k, limit=1) for k in ("postings", "balances",
                                                                          "status"))  # fmt: skip
        queued = daemon.ledger.count_claims().get("queued", 0)
        quiet = quiet + 1 if not (step.written or step.pending or waiting or queued) else 0
        if quiet >= 2:
            return n
    raise AssertionError(f"still busy after {rounds} rounds")


def uploaded(sshd: Sshd) -> list[Claim]:
    return [c for p in sorted((sshd.inbound / "processed").glob("*-837?-*.x12"))
            for c in read_837_claims(p)]  # fmt: skip


def by_sequence(records: list[dict[str, Any]], claim_id: str) -> dict[str, dict[str, Any]]:
    return {r["payer_sequence"]: r for r in records if r["claim_id"] == claim_id}


def test_a_claim_with_two_next_payers_goes_p_s_t(sshd: Sshd, db_url: str) -> None:
    home = sftp_home(sshd, db_url)
    drop_claims(home, "lopez.json", [lopez_claim()])
    daemon = Daemon(home)
    simulator = Simulator(sshd.inbound, sshd.outbound, CONFIG, home / "state" / "sim.json")
    try:
        run_until_quiet(daemon, simulator)
        legs = {leg.sequence: leg for leg in daemon.ledger.legs("RFM-25-0417")}
    finally:
        daemon.ledger.close()
    # each leg went out once, to the payer at its place
    sent = uploaded(sshd)
    assert Counter((c.claim_id, c.subscriber.sequence, c.payer.id) for c in sent) == Counter({
        ("RFM-25-0417", "P", "PMH01"): 1, ("RFM-25-0417", "S", "LKSBP"): 1,
        ("RFM-25-0417", "T", "SMAP1"): 1,
    })  # fmt: skip
    assert [legs[s].state for s in "PST"] == [LegState.OWN, LegState.SENT, LegState.SENT]
    postings = by_sequence(read_jsonl(home / "spool" / "postings"), "RFM-25-0417")
    assert set(postings) == {"P", "S", "T"}
    assert [postings[s]["status_code"] for s in "PST"] == ["1", "2", "3"]
    secondary = next(c for c in sent if c.subscriber.sequence == "S")
    tertiary = next(c for c in sent if c.subscriber.sequence == "T")
    # 2320/2430 of each leg = the earlier payers' 835s, to the cent
    for claim, earlier in ((secondary, "P"), (tertiary, "PS")):
        assert [o.sequence for o in claim.other_payers] == list(earlier)
        for op in claim.other_payers:
            posting = postings[op.sequence]
            assert op.paid_amount == Decimal(posting["paid"])
            assert op.payer_claim_number == posting["payer_claim_number"]
            lines = {ln["line_id"]: ln for ln in posting["lines"]}
            for la in op.line_adjudications:
                line = lines[la.line_id]
                assert la.paid_amount == Decimal(line["paid"])
                assert sorted((a.group, a.reason, a.amount) for a in la.adjustments) == sorted(
                    (a["group"], a["reason"], Decimal(a["amount"])) for a in line["adjustments"]
                )
    for path in (sshd.inbound / "processed").glob("*-837P-*.x12"):
        assert validate_with_pyx12(path) == [], path.name
    # the patient is billed once, after the last payer, what that payer's 835 says
    balances = [b for b in read_jsonl(home / "spool" / "balances")
                if b["claim_id"] == "RFM-25-0417"]  # fmt: skip
    actions = Counter(b["next_action"] for b in balances)
    assert actions["bill_patient"] == 1
    assert actions["bill_secondary"] == 2
    [final] = [b for b in balances if b["next_action"] == "bill_patient"]
    assert Decimal(final["patient_owes"]) == Decimal(postings["T"]["patient_responsibility"])
    assert [(e["sequence"], e["paid"]) for e in final["earlier_payers"]] == [
        ("P", postings["P"]["paid"]), ("S", postings["S"]["paid"])
    ]  # fmt: skip
    every_payer = sum((Decimal(postings[s]["paid"]) for s in "PST"), Decimal(0))
    assert Decimal(final["write_off"]) == Decimal("340.00") - every_payer - Decimal(
        final["patient_owes"]
    )
    for kind, folder in (("posting", "postings"), ("balance", "balances"), ("status", "status")):
        assert_described(kind, read_jsonl(home / "spool" / folder))  # as documented
    # and the secondary really coordinated: it never paid more than the primary left
    assert Decimal(postings["S"]["paid"]) <= Decimal(postings["P"]["patient_responsibility"])
    # gateway claim ID: one line per payer, with its file and money
    shown = CliRunner().invoke(cli, ["--home", str(home), "claim", "RFM-25-0417"])
    assert shown.exit_code == 0, shown.output
    payers = shown.output.split("payers:\n")[1].splitlines()
    assert [line.split()[0] for line in payers] == ["P", "S", "T"]
    assert "v2 in clearinghouse-837P-000000002.x12" in payers[1]
    assert f"bill the patient {final['patient_owes']}" in payers[2]
    print(shown.output)  # the README shows one such timeline
