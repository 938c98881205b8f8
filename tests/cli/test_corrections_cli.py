"""``gateway note``, ``dispute``, ``void``, ``correct``, ``explain`` on a home whose claims went
through the daemon: what they print, their exit codes, and that a refused command writes
nothing to the ledger."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from gateway.cli.main import cli
from gateway.ledger.db import open_ledger
from gateway.ledger.schema import ClaimState, claim_events, claim_notes, claims
from tests.daemon import homes
from tests.daemon.payer import (
    adjudicate,
    claims_of,
    remit_835,
    reversal_of,
)

ONE, TWO = "PCN-2025-0001", "PCN-2025-0002"


def _run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--home", str(home), *args], obj={})


def _rows(home: Path) -> tuple[int, int, int]:
    """Claim versions, events and notes in the ledger: a refused command changes none."""
    with (
        open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger,
        ledger.engine.begin() as c,
    ):
        return tuple(  # type: ignore[return-value]
            int(c.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (claims, claim_events, claim_notes)
        )


@pytest.fixture(scope="module")
def paid_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two claims sent, acknowledged (REF*1K PCN<id>), a stray reversal held, then paid."""
    home = homes.make_home(tmp_path_factory.mktemp("corrections"))
    homes.drop_claims(home, "prof.json", homes.sample_claims())
    homes.run_once(home)
    [sent] = (home / "exchange" / "in").iterdir()
    found = claims_of(sent)
    homes.acknowledge(home, sent, "a")
    homes.run_once(home)
    # a reversal of a payment never posted: held, exit 1, no claim changes
    before = _rows(home)
    stray = home.parent / "stray.835"
    stray.write_text(remit_835([reversal_of(adjudicate(found[0]))], trace="TR-STRAY"))
    result = _run(home, "post", str(stray))
    assert result.exit_code == 1, result.output
    assert "held 1 for review" in result.output
    assert _rows(home)[0] == before[0]
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        assert ledger.claim(ONE).state == ClaimState.ACCEPTED  # type: ignore[union-attr]
        assert ledger.payments_in_force(ONE) == []
    homes.drop_reply(home, "pay.835", remit_835([adjudicate(c) for c in found], trace="TR-1"))
    homes.run_once(home)
    return home


def test_notes_show_in_the_claims_timeline(paid_home: Path) -> None:
    result = _run(paid_home, "note", ONE, "Patient called about the deductible", "--by", "alice")
    assert result.exit_code == 0, result.output
    assert f"claim {ONE}: note kept" in result.output and "alice" in result.output
    shown = _run(paid_home, "claim", ONE)
    assert "notes:" in shown.output
    assert "alice: Patient called about the deductible" in shown.output
    as_json = json.loads(_run(paid_home, "claim", ONE, "--json").output)
    assert as_json["notes"][-1]["author"] == "alice"
    assert as_json["notes"][-1]["text"] == "Patient called about the deductible"


def test_disputes_open_and_close_once(paid_home: Path) -> None:
    opened = _run(paid_home, "dispute", "open", TWO, "--reason", "patient disputes the bill",
                  "--by", "bob")  # fmt: skip
    assert opened.exit_code == 0, opened.output
    before = _rows(paid_home)
    again = _run(paid_home, "dispute", "open", TWO, "--reason", "twice")
    assert again.exit_code == 1 and "already open" in again.output
    explained = json.loads(_run(paid_home, "explain", TWO, "--json").output)
    assert explained["dispute"]["text"] == "patient disputes the bill"
    closed = _run(paid_home, "dispute", "close", TWO, "--reason", "explained the EOB")
    assert closed.exit_code == 0, closed.output
    none = _run(paid_home, "dispute", "close", TWO, "--reason", "twice")
    assert none.exit_code == 1 and "no dispute is open" in none.output
    assert _rows(paid_home)[2] == before[2] + 1  # the close alone
    assert json.loads(_run(paid_home, "explain", TWO, "--json").output)["dispute"] is None


def test_unknown_claims_are_refused_and_change_nothing(paid_home: Path) -> None:
    before = _rows(paid_home)
    for args in (("note", "NOPE-1", "hello"), ("explain", "NOPE-1"),
                 ("void", "NOPE-1", "--reason", "x"),
                 ("dispute", "open", "NOPE-1", "--reason", "x")):  # fmt: skip
        result = _run(paid_home, *args)
        assert result.exit_code == 1, (args, result.output)
        assert "NOPE-1" in result.output and "not in the ledger" in result.output
    unknown = homes.sample_claims()[0]
    unknown.update(claim_id="NOPE-2", frequency="7")
    path = paid_home.parent / "unknown.json"
    path.write_text(json.dumps(unknown))
    result = _run(paid_home, "correct", str(path))
    assert result.exit_code == 1
    assert "NOPE-2" in result.output and "no claim of that id" in result.output
    assert "nothing queued" in result.output
    assert _rows(paid_home) == before


def test_explain_agrees_with_the_postings(paid_home: Path) -> None:
    balances = {b["claim_id"]: b for b in homes.read_jsonl(paid_home / "spool" / "balances")}
    postings = homes.read_jsonl(paid_home / "spool" / "postings")
    for claim_id in (ONE, TWO):
        found = json.loads(_run(paid_home, "explain", claim_id, "--json").output)
        assert found["patient_owes"] == balances[claim_id]["patient_owes"]
        assert found["breakdown"]["deductible"] == balances[claim_id]["breakdown"]["deductible"]
        [payer] = found["payers"]
        paid = sum((Decimal(p["paid"]) for p in postings if p["claim_id"] == claim_id),
                   Decimal(0))  # fmt: skip
        assert Decimal(payer["paid"]) == paid
        assert sum((Decimal(v) for ln in found["lines"] for v in ln["paid"].values()),
                   Decimal(0)) == paid  # fmt: skip
        assert found["explanation"][0].startswith("Your visit of ")
    text = _run(paid_home, "explain", ONE).output
    assert "99213 office visit, returning patient" in text
    assert "You owe 10.00: 10.00 applied to the deductible" in text
    assert "PR-1" in text and "Deductible amount" in text


def test_void_and_correct_from_the_command_line(paid_home: Path) -> None:
    result = _run(paid_home, "void", TWO, "--reason", "billed in error", "--by", "carol")
    assert result.exit_code == 0, result.output
    assert f"claim {TWO}: void queued as version 2, REF*F8 PCN{TWO}" in result.output
    before = _rows(paid_home)
    again = _run(paid_home, "void", TWO, "--reason", "again")
    assert again.exit_code == 1 and "already in the ledger" in again.output
    assert _rows(paid_home) == before
    with open_ledger(f"sqlite:///{paid_home / 'state' / 'gateway.db'}") as ledger:
        stored = ledger.claim(TWO)
        assert stored is not None and (stored.version, stored.frequency) == (2, "8")
        assert stored.payer_claim_number == f"PCN{TWO}"
        assert ledger.notes(TWO)[-1].text == "voided: billed in error"
    replacement = homes.sample_claims()[0]
    replacement.update(frequency="7", total_charge="185.00")
    replacement["lines"][1]["charge"] = "35.00"
    path = paid_home.parent / "replace.json"
    path.write_text(json.dumps(replacement))
    result = _run(paid_home, "correct", str(path))
    assert result.exit_code == 0, result.output
    assert f"claim {ONE}: replacement queued as version 2, REF*F8 PCN{ONE}" in result.output
    # the daemon sends both: CLM05-3 7 and 8, each with its REF*F8
    homes.run_once(paid_home)
    newest = sorted((paid_home / "exchange" / "in").glob("*-837P-*.x12"))[-1]
    text = newest.read_text()
    assert f"REF*F8*PCN{ONE}~" in text and f"REF*F8*PCN{TWO}~" in text
    assert f"CLM*{ONE}*185*" in text
    shown = _run(paid_home, "claim", TWO).output
    assert "version 1: original (frequency 1), paid" in shown
    assert f"version 2: void (frequency 8, REF*F8 PCN{TWO}), submitted" in shown
    versions = json.loads(_run(paid_home, "claim", TWO, "--json").output)["versions"]
    assert [(v["version"], v["frequency"]) for v in versions] == [(1, "1"), (2, "8")]
