"""The simulator end to end: an 837 in, TA1/999/277CA/835 out, read back by the gateway's readers."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from gateway.cli.simulate import simulate
from gateway.simulator.state import load_state
from gateway.transactions.ack_999 import read_999
from gateway.transactions.ack_ta1 import read_ta1
from gateway.transactions.status_277ca import read_277ca
from tests.simulator.sim_helpers import (
    NOW,
    assert_balanced,
    assert_valid,
    build_837,
    make_run,
    sample,
)

CHAOS = {
    "seed": 7,
    "claims": {"random_reject_rate": "0.3"},
    "adjudication": {"random_denial_rate": "0.3", "copays": {"99214": "30"}},
    "adjustments": {"plb_rate": "0.5", "reversal_rate": "0.5"},
}


def test_sample_claims_get_every_reply_and_the_gateway_reads_them(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    run.drop(build_837([sample(n=0), sample(n=1)]))
    report = run.step()
    assert [name.split("-")[0] for name in report.written] == ["TA1", "999", "277CA", "835"]
    assert (report.sets_accepted, report.claims_accepted, report.payments) == (1, 2, 2)
    for path in map(run.down.joinpath, report.written):
        assert_valid(path)

    [ta1] = read_ta1(run.one(report, "TA1"))
    assert (ta1.control_number, ta1.status, ta1.note_code, ta1.interchange_date) == (
        "000000101", "A", "000", "250410",
    )  # fmt: skip
    [group] = read_999(run.one(report, "999"))
    assert (group.functional_id, group.control_number, group.version, group.status) == (
        "HC", "101", "005010X222A1", "A",
    )  # fmt: skip
    assert [(s.control_number, s.status) for s in group.sets] == [("0001", "A")]
    acks = read_277ca(run.one(report, "277CA"))
    assert [(a.claim_id, a.outcome, a.payer_claim_number, a.payer_name) for a in acks] == [
        ("PCN-2025-0001", "accepted", "SIM0000000001", "ACME HEALTH PLAN"),
        ("PCN-2025-0002", "accepted", "SIM0000000002", "ACME HEALTH PLAN"),
    ]
    assert [(s.category, s.code, s.entity, s.action) for s in acks[0].statuses] == [
        ("A2", "20", "PR", "WQ")
    ]

    claims = assert_balanced(run.one(report, "835"))
    assert [(c.claim.claim_id, c.claim.status_code, c.claim.payer_claim_number) for c in claims] == [
        ("PCN-2025-0001", "1", "SIM0000000001"), ("PCN-2025-0002", "1", "SIM0000000002"),
    ]  # fmt: skip
    lines = [(line.line_id, line.procedure, line.service_date) for line in claims[0].claim.lines]
    assert [(i, p, d.isoformat() if d else None) for i, p, d in lines] == [
        ("LN0001A", "99213", "2025-03-03"), ("LN0001B", "36415", "2025-03-03"),
    ]  # fmt: skip
    # Defaults: 80% allowed (150 → 120, 25 → 20), 250 deductible, 20% coinsurance.
    first = claims[0].claim
    assert (first.charge, first.paid, first.patient_responsibility) == (
        Decimal("175"), Decimal("0"), Decimal("140"),
    )  # fmt: skip
    # The second claim meets the remaining 110 of the deductible: 160 - 110 - 10 + 28.40 - 5.68.
    assert claims[1].claim.paid == Decimal("62.72")
    assert "~BPR*I*62.72*C*ACH*" in run.one(report, "835").read_text()
    assert sorted(p.name for p in (run.up / "processed").iterdir()) == ["837P-000000101.x12"]


def test_every_kind_is_answered_and_paid_in_balance(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"adjudication": {"deductible": "0"}})
    run.drop(build_837([sample("dental")], 201), "837D-1.x12")
    run.drop(build_837([sample("institutional")], 202), "837I-1.x12")
    report = run.step()
    assert report.claims_accepted == 2 and report.payments == 2
    for path in map(run.down.joinpath, report.written):
        assert_valid(path)
    paid = {}
    for path in run.written(report, "835"):
        for posted in assert_balanced(path):
            paid[posted.claim.claim_id] = posted.claim
    dental, inst = paid["DEN-2025-0001"], paid["PCN-I-0001"]
    assert [line.qualifier for line in dental.lines] == ["AD", "AD", "AD"]
    assert [(line.qualifier, line.procedure, line.revenue_code) for line in inst.lines] == [
        ("HC", "99284", "0450"), ("HC", "80053", "0300"), ("NU", "0250", None),
    ]  # fmt: skip
    assert inst.facility_code == "13" and inst.statement_from is not None
    assert inst.paid == Decimal("794.94")  # allowed 720 + 240 + 33.68, less 20% coinsurance


def test_same_seed_and_input_give_byte_identical_replies(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        run = make_run(tmp_path / name, CHAOS)
        run.drop(build_837([sample(n=0), sample(n=1)] * 3, 101))
        first = run.step()
        run.drop(build_837([sample(n=1, claim_id="PCN-X")], 102), "837P-000000102.x12")
        second = run.step(NOW + timedelta(hours=1))
        names = first.written + second.written
        outputs.append([(n, (run.down / n).read_bytes()) for n in names])
    assert outputs[0] == outputs[1]
    assert any(n.startswith("835") for n, _ in outputs[0])


def test_an_835_waits_for_its_delay(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"adjudication": {"delay_seconds": 3600}})
    run.drop(build_837([sample()]))
    report = run.step()
    assert [n.split("-")[0] for n in report.written] == ["TA1", "999", "277CA"]
    assert report.pending == 1
    assert run.step(NOW + timedelta(seconds=3599)).written == []
    later = run.step(NOW + timedelta(seconds=3600))
    assert [n.split("-")[0] for n in later.written] == ["835"] and later.pending == 0
    assert_balanced(run.one(later, "835"))


def test_a_file_is_taken_once_and_half_written_files_are_left_alone(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    text = build_837([sample()])
    run.drop(text, ".837P-2.x12.part")
    run.drop(text, "837P-3.x12.tmp")
    run.drop(text, ".hidden")
    path = run.drop(text)
    first = run.step()
    assert first.files == ["837P-000000101.x12"]
    assert not path.exists() and (run.up / "processed" / path.name).exists()
    run.drop(text)  # the same name and bytes again: already answered
    again = run.step()
    assert (again.files, again.duplicates, again.written) == ([], [path.name], [])
    assert sorted(p.name for p in run.up.iterdir() if p.is_file()) == [
        ".837P-2.x12.part",
        ".hidden",
        "837P-3.x12.tmp",
    ]
    state = load_state(run.state)
    assert [f.name for f in state.files] == [path.name]


def test_no_half_written_reply_is_ever_visible(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    run.drop(build_837([sample()]))
    report = run.step()
    assert sorted(p.name for p in run.down.iterdir()) == sorted(report.written)
    assert len(set(report.written)) == len(report.written)


def test_cli_runs_one_step_with_a_fixed_clock(tmp_path: Path) -> None:
    up, down = tmp_path / "in", tmp_path / "out"
    up.mkdir()
    (up / "837P-1.x12").write_text(build_837([sample()]))
    config = tmp_path / "sim.toml"
    config.write_text('[adjudication]\ndeductible = "0"\n')
    args = ["--upload-dir", str(up), "--download-dir", str(down), "--config", str(config),
            "--once", "--now", "2025-04-15T09:00", "--seed", "3"]  # fmt: skip
    result = CliRunner().invoke(simulate, args, obj={})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.splitlines()[-1])  # log lines come first here
    assert report["claims_accepted"] == 1 and report["payments"] == 1
    assert sorted(p.name for p in down.iterdir()) == sorted(report["written"])
    assert (up / ".simulator-state.json").exists()
    [remit] = [down / n for n in report["written"] if n.startswith("835")]
    [claim] = assert_balanced(remit)
    assert claim.claim.paid == Decimal("112")  # 120 + 20 allowed, 20% coinsurance, no deductible


def test_cli_says_what_is_wrong_with_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "sim.toml"
    config.write_text("[adjudication]\nallowed_percent = 80.5\n")
    args = ["--upload-dir", str(tmp_path), "--download-dir", str(tmp_path / "o"), "--config",
            str(config), "--once"]  # fmt: skip
    result = CliRunner().invoke(simulate, args, obj={})
    assert result.exit_code == 2
    assert "adjudication.allowed_percent" in result.output
    missing = CliRunner().invoke(simulate, ["--once"], obj={})
    assert missing.exit_code == 2 and "--upload-dir" in missing.output


def test_cli_takes_the_folders_from_a_partner_of_the_home(tmp_path: Path) -> None:
    from gateway.home import init_home

    home = tmp_path / "home"
    init_home(home)
    inbound, outbound = home / "exchange/example/in", home / "exchange/example/out"
    inbound.mkdir(parents=True, exist_ok=True)
    (inbound / "837P-1.x12").write_text(build_837([sample()], ack=False))
    args = ["--partner", "example", "--once", "--now", "2025-04-15"]
    result = CliRunner().invoke(simulate, args, obj={"home": str(home)})
    assert result.exit_code == 0, result.output
    assert sorted(p.name.split("-")[0] for p in outbound.iterdir()) == ["277CA", "835", "999"]
