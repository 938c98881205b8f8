"""``gateway eligibility FILE``: sent now, answered while it waits (the payer simulator serving
the partner's folders in a thread), printed in plain words; and ``gateway parse`` of 270/271."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner
from structlog.testing import capture_logs

from gateway.cli.main import cli
from gateway.daemon.runner import home_lock
from gateway.ledger.db import open_ledger
from gateway.ledger.schema import RequestState
from gateway.simulator import Simulator, SimulatorConfig, serve
from gateway.simulator.config import ClaimEditsConfig
from tests.daemon.eligibility_payer import TODAY, request
from tests.daemon.homes import make_home

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "x12-examples"


def run(*args: str) -> tuple[int, str, str]:
    """The command, its logs kept apart (``gateway`` itself sends them to stderr)."""
    with capture_logs():
        result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@contextmanager
def payer(home: Path) -> Iterator[None]:
    """The simulator answering the home's partner (exchange/in → exchange/out) every 0.1 s."""
    config = SimulatorConfig(claims=ClaimEditsConfig(unknown_member_prefixes=["XX"]))
    sim = Simulator(home / "exchange" / "in", home / "exchange" / "out", config,
                    home / "state" / "sim.json")  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(sim,), kwargs={"interval": 0.1, "stop": stop})
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def test_ask_now_and_read_the_answer(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    asked = tmp_path / "maria.json"
    asked.write_text(json.dumps([request("ASK-1", "M1"), request("ASK-2", "XX9")]))
    with payer(home):
        code, out, err = run("--home", str(home), "eligibility", str(asked), "--wait", "60")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"ASK-1: JANE DOE (member M1), visit {TODAY}: ACTIVE"
    assert lines[1] == (
        f"  JANE DOE is covered by ACME HEALTH, plan SIMULATED GOLD PPO, since {TODAY[:4]}-01-01"
    )
    assert (
        "  - Deductible, individual, in network (health benefit plan coverage): 250.00 remaining"
        in lines
    )
    assert f"ASK-2: JANE DOE (member XX9), visit {TODAY}: REJECTED" in lines
    assert (
        "  ! subscriber not found (code 75): check the member ID and birth date, and that this is "
        "the right payer (correct and resubmit)" in lines
    )
    # asked again: the stored answers, nothing sent twice
    code, out, _ = run("--home", str(home), "eligibility", str(asked), "--json", "--wait", "0")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["request_id"] for r in records] == ["ASK-1", "ASK-2"]
    assert len(list((home / "exchange" / "in").rglob("*270*.x12"))) == 1
    benefits = [json.loads(x) for p in (home / "spool" / "benefits").glob("*.jsonl")
                for x in p.read_text().splitlines()]  # fmt: skip
    assert sorted(r["request_id"] for r in benefits) == ["ASK-1", "ASK-2"]


def test_with_the_daemon_running_the_requests_wait_for_it(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    asked = tmp_path / "one.json"
    asked.write_text(json.dumps(request("ASK-9", "M1")))
    with home_lock(home):  # what a running daemon holds
        code, _, err = run("--home", str(home), "eligibility", str(asked), "--wait", "0")
    assert code == 1
    assert "no answer yet for ASK-9: the daemon will write it to spool/benefits/" in err
    with open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}") as ledger:
        stored = ledger.eligibility_request("ASK-9")
    assert stored is not None and stored.state == RequestState.QUEUED


def test_a_bad_request_file_says_what_and_where(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    asked = tmp_path / "bad.json"
    asked.write_text(
        json.dumps(request("BAD-1", "M1", provider={"npi": "1234567890", "name": "X"}))
    )
    code, out, err = run("--home", str(home), "eligibility", str(asked), "--wait", "0")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "bad.json: request BAD-1: provider.npi: NPI 1234567890 fails the check digit (the last "
        "digit should be 3)",
        f"{asked}: no request could be sent",
    ]


def test_parse_reads_270_and_271() -> None:
    code, out, _ = run("parse", str(EXAMPLES / "elig-270.x12"))
    parsed = json.loads(out)
    assert code == 0 and parsed["transaction"] == "270"
    assert [(i["request_id"], i["service_types"], i["originator"]) for i in parsed["inquiries"]] == [
        ("RFE0609-0001", ["30"], "1376104522"), ("RFE0609-0002", ["98"], "1376104522"),
    ]  # fmt: skip
    assert parsed["inquiries"][1]["patient"]["first_name"] == "EMMA"
    code, out, _ = run("parse", str(EXAMPLES / "elig-271.x12"))
    parsed = json.loads(out)
    assert code == 0 and parsed["transaction"] == "271" and parsed["refused_inquiries"] == []
    assert [(a["request_id"], a["status"]) for a in parsed["answers"]] == [
        ("RFE0609-0001", "active"), ("RFE0609-0002", "inactive"),
    ]  # fmt: skip
    code, out, _ = run("parse", str(EXAMPLES / "elig-271-aaa.x12"))
    [answer] = json.loads(out)["answers"]
    assert answer["errors"][0]["code"] == "72"


def test_schema_eligibility_is_the_request_record() -> None:
    code, out, _ = run("schema", "eligibility")
    schema = json.loads(out)
    assert code == 0 and schema["additionalProperties"] is False
    assert set(schema["required"]) == {"request_id", "payer", "provider", "subscriber"}
    assert schema["properties"]["service_types"]["default"] == ["30"]
