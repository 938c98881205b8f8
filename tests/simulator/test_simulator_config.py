"""The configuration file and the pure adjudication functions."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.simulator import SimulatorConfig
from gateway.simulator.adjudication import adjudicate, chance, release, reverse, rng_for
from gateway.simulator.config import AdjudicationConfig
from gateway.simulator.model import Accumulator, ClaimIn, LineIn
from gateway.transactions.ack_999 import read_999
from tests.simulator.sim_helpers import assert_valid, build_837, make_run, sample

TEMPLATE = Path(__file__).resolve().parents[2] / "gateway" / "templates" / "simulator.toml"
D = Decimal


def test_the_template_documents_the_defaults() -> None:
    assert SimulatorConfig.from_file(TEMPLATE) == SimulatorConfig()
    text = TEMPLATE.read_text()
    for section, model in SimulatorConfig().model_dump().items():
        if isinstance(model, dict):
            assert f"[{section}]" in text
            for key in model:
                assert key in text, f"{section}.{key} is not documented in the template"


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ("[adjudication]\ncoinsurance_percent = 20.5\n", "adjudication.coinsurance_percent"),
        ('[claims]\nrandom_reject_rate = "1.5"\n', "claims.random_reject_rate"),
        ('[claims]\nunknown_member_status = "reject"\n', "A7:33:IL"),
        ('[adjudication.copay_by_kind]\nvision = "10"\n', "vision"),
        ('[payer]\ncolour = "blue"\n', "payer.colour"),
        ("seed = ", "not valid TOML"),
    ],
)
def test_configuration_mistakes_are_one_sentence(tmp_path: Path, toml: str, says: str) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=str(path)) as info:
        SimulatorConfig.from_file(path)
    assert says in str(info.value)
    with pytest.raises(ConfigError, match="no such"):
        SimulatorConfig.from_file(tmp_path / "missing.toml")


def _claim(*charges: str, procedure: str = "99213") -> ClaimIn:
    lines = [
        LineIn(line_id=f"L{n}", qualifier="HC", procedure=procedure, charge=D(c), units=D(2))
        for n, c in enumerate(charges, 1)
    ]
    return ClaimIn(claim_id="C1", kind="professional", payer_id="P", payer_name="PAYER",
                   billing_npi="1234567893", billing_name="CLINIC", member_id="M1",
                   subscriber_last_name="DOE", lines=lines)  # fmt: skip


def test_fee_schedule_is_per_unit_and_never_above_the_charge() -> None:
    config = AdjudicationConfig(fee_schedule={"99213": D("40")}, deductible=D(0))
    payment, _ = adjudicate(_claim("100", "70"), config, Accumulator(), random.Random(1),
                            payer_claim_number="X1", received=date(2025, 1, 1))  # fmt: skip
    assert [r.allowed for r in payment.lines] == [D("80"), D("70")]
    assert [r.paid for r in payment.lines] == [D("64"), D("56")]


def test_reverse_and_release_undo_a_payment_exactly() -> None:
    config = AdjudicationConfig(deductible=D("50"), out_of_pocket_max=D("60"))
    before = Accumulator(deductible_met=D("10"), out_of_pocket_met=D("10"))
    payment, after = adjudicate(_claim("100.01", "33.33"), config, before, random.Random(2),
                                payer_claim_number="X1", received=date(2025, 1, 1))  # fmt: skip
    assert after == Accumulator(deductible_met=D("50"), out_of_pocket_met=D("60"))
    for r in payment.lines:
        assert r.charge == r.paid + sum((a.amount for a in r.adjustments), D(0))
    back = reverse(payment)
    assert (back.status_code, back.charge, back.paid) == ("22", -payment.charge, -payment.paid)
    assert release(after, payment) == before


def test_chance_and_generators_are_deterministic() -> None:
    draws = [chance(rng_for(7, "x", f"C{n}"), D("0.5")) for n in range(200)]
    assert draws == [chance(rng_for(7, "x", f"C{n}"), D("0.5")) for n in range(200)]
    assert 60 < sum(draws) < 140
    assert not chance(random.Random(1), D(0)) and chance(random.Random(1), D(1))


def test_pyx12_findings_reach_the_999_when_asked(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"clearinghouse": {"ig_validation": True}})
    run.drop(build_837([sample()]).replace("*11:B:1*", "*AB:B:1*"), "bad.x12")  # no such POS
    run.drop(build_837([sample()], 102), "good.x12")
    report = run.step()
    bad, good = (read_999(p)[0] for p in run.written(report, "999"))
    for path in run.written(report, "999"):
        assert_valid(path)
    assert (good.status, bad.status) == ("A", "R")
    [error] = bad.sets[0].segment_errors
    assert (error.segment_id, error.position, error.code) == ("CLM", "19", "8")
    assert [(e.position, e.code) for e in error.elements] == [("5:1", "7")]
