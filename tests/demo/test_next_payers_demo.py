"""The demo's patients with more than one coverage: each claim reaches every payer on file."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from gateway.demo.next_payers import print_next_payers, run_next_payers
from gateway.demo.run import PARTNER


def test_the_demo_bills_each_payer_in_turn(tmp_path: Path) -> None:
    summary = run_next_payers(tmp_path / "np", PARTNER)
    assert summary.finished
    money = {(claim, seq): (paid, left, action) for claim, seq, paid, left, action in summary.money}
    assert {k for k in money if k[0] == "NP-JANE"} == {("NP-JANE", s) for s in "PST"}
    assert money[("NP-JANE", "P")][2] == "bill_secondary"
    assert money[("NP-JANE", "T")][2] in ("bill_patient", "")  # the last payer bills the patient
    assert {k for k in money if k[0] == "NP-SOFIA"} == {("NP-SOFIA", "P"), ("NP-SOFIA", "S")}
    assert money[("NP-ANA", "P")][2] == "await_next_payer"  # forwarded: the gateway waits
    assert [line.split()[0] for line in summary.timeline.splitlines()] == ["P", "S", "T"]
    out = io.StringIO()
    print_next_payers(summary, Console(file=out, width=160))
    assert "money per payer" in out.getvalue() and "NP-JANE" in out.getvalue()
