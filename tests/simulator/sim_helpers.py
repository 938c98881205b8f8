"""Building 837s with the gateway's own writer and running the simulator on temporary folders."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.domain.claim import Claim, ClaimKind
from gateway.domain.remittance import ClaimPayment
from gateway.replies.remittances import ClaimPosted, PaymentFinished, post_835
from gateway.simulator import Simulator, SimulatorConfig, StepReport
from gateway.transactions.claim_837 import Envelope, write_837
from gateway.transactions.ig_validation import validate_with_pyx12
from tests.conftest import SAMPLES

NOW = datetime(2025, 4, 15, 9, 0)


def sample(kind: str = "professional", n: int = 0, **changes: Any) -> dict[str, Any]:
    """A sample claim record (gateway/samples), with top-level fields replaced."""
    record: dict[str, Any] = copy.deepcopy(json.loads((SAMPLES / f"{kind}.json").read_text())[n])
    record.update(changes)
    return record


def build_837(records: list[dict[str, Any]], control: int = 101, *, ack: bool = True) -> str:
    """One interchange (one kind) from claim records, as the gateway would upload it."""
    models = [Claim.model_validate(r) for r in records]
    kind: ClaimKind = models[0].kind
    env = Envelope(
        sender_id="PRACTICE01",
        receiver_id="ACMECH",
        interchange_control=control,
        group_control=control,
        batch_id=f"BATCH{control}",
        submitter_name="Main Street Clinic",
        receiver_name="ACME CLEARINGHOUSE",
        ack_requested=ack,
        when=datetime(2025, 4, 10, 12, 0),
    )
    buf = io.StringIO()
    write_837(buf, kind, models, env)
    return buf.getvalue()


@dataclass
class Run:
    """A simulator on its own folder pair; ``drop`` plays the gateway uploading a file."""

    sim: Simulator
    up: Path
    down: Path
    state: Path

    def drop(self, text: str | bytes, name: str = "837P-000000101.x12") -> Path:
        path = self.up / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path

    def step(self, now: datetime = NOW) -> StepReport:
        return self.sim.step(now)

    def written(self, report: StepReport, kind: str) -> list[Path]:
        return [self.down / name for name in report.written if name.startswith(f"{kind}-")]

    def one(self, report: StepReport, kind: str) -> Path:
        [path] = self.written(report, kind)
        return path


def make_run(root: Path, config: dict[str, Any] | SimulatorConfig | None = None) -> Run:
    if not isinstance(config, SimulatorConfig):
        config = SimulatorConfig.model_validate(config or {})
    up, down = root / "up", root / "down"
    up.mkdir(parents=True)
    state = root / "state.json"
    return Run(Simulator(up, down, config, state), up, down, state)


def posted(path: Path) -> tuple[list[ClaimPosted], list[PaymentFinished]]:
    """The 835 through the gateway's own posting: claims and transaction verdicts."""
    claims, ends = [], []
    for event in post_835(path.read_bytes(), source_file=path.name):
        if isinstance(event, ClaimPosted):
            claims.append(event)
        elif isinstance(event, PaymentFinished):
            ends.append(event)
    return claims, ends


def assert_balanced(path: Path) -> list[ClaimPosted]:
    """No balancing error at line, claim or transaction level, CLP05 = Σ PR, and pyx12 clean."""
    claims, ends = posted(path)
    assert ends and all(end.balanced and not end.balance_errors for end in ends), [
        e.as_dict() for end in ends for e in end.balance_errors
    ]
    assert all(not end.warnings for end in ends), [
        e.as_dict() for end in ends for e in end.warnings
    ]
    assert_valid(path)
    return claims


def assert_valid(path: Path) -> None:
    """pyx12 finds nothing."""
    problems = validate_with_pyx12(path)
    text = path.read_text().replace("~", "~\n")
    assert problems == [], "\n".join(map(str, problems)) + "\n" + text


def money_by_group(claim: ClaimPayment) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for a in claim.all_adjustments():
        out[a.group] = out.get(a.group, Decimal(0)) + a.amount
    return out


def cas(claim: ClaimPayment) -> list[tuple[str | None, str, str, Decimal]]:
    """Every adjustment as (line id, group, reason, amount), claim-level ones with line None."""
    out: list[tuple[str | None, str, str, Decimal]] = [
        (None, a.group, a.reason, a.amount) for a in claim.adjustments
    ]
    for line in claim.lines:
        out.extend((line.line_id, a.group, a.reason, a.amount) for a in line.adjustments)
    return out
