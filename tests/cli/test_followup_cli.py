"""``gateway worklist`` and ``gateway aging``: the contract's JSON, the filters, the table, and
time moved with ``--as-of`` (never a sleep). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from structlog.testing import capture_logs

from gateway.cli.main import cli
from gateway.ledger.ledger import Ledger
from gateway.ledger.records import utc_now
from gateway.ledger.schema import ClaimState as S
from tests.daemon.homes import make_home

SENT = ((S.BATCHED, "837"), (S.SUBMITTED, "837"))
ACCEPTED = (*SENT, (S.ACCEPTED, "999"), (S.ACCEPTED, "277CA"))


def run(*args: str) -> tuple[int, str]:
    with capture_logs():
        result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
    return result.exit_code, result.stdout


def claim(ledger: Ledger, claim_id: str, *path: tuple[S, str], charge: str, payer: str,
          served: date) -> None:  # fmt: skip
    record = {"claim_id": claim_id, "payer": {"id": payer, "name": f"Payer {payer}"},
              "lines": [{"charge": charge, "service_date": served.isoformat()}]}  # fmt: skip
    ledger.add_claim(record, kind="professional", partner="acme", payer_id=payer)
    for state, source in path:
        ledger.transition(claim_id, state, source=source, detail={"file": "x"})


def home_with_claims(tmp_path: Path, ledger: Ledger, db_url: str) -> Path:
    """``ledger``: the module's database, emptied (the fixture of tests/ledger)."""
    home = make_home(tmp_path, database=db_url)
    today = utc_now().date()
    claim(ledger, "ACC-1", *ACCEPTED, charge="100.10", payer="P1", served=today)
    claim(ledger, "ACC-2", *ACCEPTED, charge="0.25", payer="P2", served=today)
    claim(ledger, "REJ-1", *SENT, (S.REJECTED, "999"), charge="40.00", payer="P1",
          served=today - timedelta(days=80))  # fmt: skip
    return home


def test_worklist_json_and_filters(tmp_path: Path, ledger: Ledger, db_url: str) -> None:
    home = home_with_claims(tmp_path, ledger, db_url)
    code, out = run("--home", str(home), "worklist", "--json")
    assert code == 0
    items: list[dict[str, Any]] = json.loads(out)
    assert [(i["claim_id"], i["reason"]) for i in items] == [
        ("REJ-1", "rejected"), ("REJ-1", "timely_filing")
    ]  # fmt: skip
    assert set(items[0]) == {"claim_id", "reason", "since", "due", "payer", "partner", "amount",
                             "detail", "action"}  # fmt: skip
    assert items[0]["amount"] == "40.00" and items[0]["partner"] == "acme"
    assert "days left" in items[1]["detail"]
    later = (utc_now() + timedelta(days=31)).date().isoformat()
    code, out = run("--home", str(home), "worklist", "--json", "--as-of", later,
                    "--reason", "no_payment")  # fmt: skip
    assert {i["claim_id"] for i in json.loads(out)} == {"ACC-1", "ACC-2"}
    code, out = run("--home", str(home), "worklist", "--json", "--as-of", later,
                    "--payer", "Payer P2")  # fmt: skip
    assert [i["claim_id"] for i in json.loads(out)] == ["ACC-2"]
    code, out = run("--home", str(home), "worklist", "--as-of", later)
    assert code == 0 and "ACC-1" in out and "why: no 835 30 days after" in out
    assert "do:  call the payer" in out


def test_aging_totals_are_the_ledgers_open_amounts(
    tmp_path: Path, ledger: Ledger, db_url: str
) -> None:
    home = home_with_claims(tmp_path, ledger, db_url)
    later = (utc_now() + timedelta(days=45)).date().isoformat()
    code, out = run("--home", str(home), "aging", "--json", "--as-of", later)
    assert code == 0
    report = json.loads(out)
    assert report["buckets"] == ["0-30", "31-60", "61-90", "91-120", "120+"]
    assert report["totals"]["total"] == {"count": 2, "amount": "100.35"}
    assert report["totals"]["31-60"] == {"count": 2, "amount": "100.35"}
    assert [(r["payer"], r["total"]["amount"]) for r in report["rows"]] == [
        ("Payer P1", "100.10"), ("Payer P2", "0.25")
    ]  # fmt: skip
    assert sum(Decimal(r["total"]["amount"]) for r in report["rows"]) == Decimal("100.35")
    code, out = run("--home", str(home), "aging", "--by", "partner", "--json")
    assert [r["partner"] for r in json.loads(out)["rows"]] == ["acme"]
    code, out = run("--home", str(home), "aging")
    assert code == 0 and "Payer P1" in out and "100.35" in out.splitlines()[-1]


def test_parse_reads_276_and_277() -> None:
    examples = Path(__file__).resolve().parent.parent / "data" / "x12-examples"
    code, out = run("parse", str(examples / "status-277.x12"))
    assert code == 0
    parsed = json.loads(out)
    assert parsed["transaction"] == "277"
    assert [(a["claim_id"], a["outcome"]) for a in parsed["answers"]] == [
        ("RFM-25-0388", "paid"), ("RFM-25-0402", "not_found"), ("RFM-25-0417", "pending")
    ]  # fmt: skip
    code, out = run("parse", str(examples / "status-276.x12"))
    assert code == 0
    assert [c["claim_id"] for c in json.loads(out)["claims"]] == [
        "RFM-25-0388", "RFM-25-0402", "RFM-25-0417"
    ]  # fmt: skip
    code, out = run("parse", str(examples / "example-277ca.x12"))  # a 277CA is still one
    assert code == 0 and json.loads(out)["transaction"] == "277CA"
