"""Eligibility for daemon tests: request files as a practice drops them, and a payer answering
a 270 with the simulator's own 271 (every inquiry answered, active coverage)."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from gateway.simulator.config import SimulatorConfig
from gateway.simulator.eligibility import answer_all
from gateway.simulator.eligibility_replies import write_271
from gateway.simulator.model import Route
from gateway.simulator.state import State
from gateway.transactions.eligibility_270_reader import read_270

ROUTE = Route(practice_qualifier="ZZ", practice_id="PRACTICE01", clearinghouse_qualifier="ZZ",
              clearinghouse_id="ACMECH", practice_code="PRACTICE01", clearinghouse_code="ACMECH",
              usage="T")  # fmt: skip


TODAY = datetime.now(UTC).date().isoformat()


def request(request_id: str, member: str, **changes: Any) -> dict[str, Any]:
    """A request to the acme partner's payer about JANE DOE (fields replaced by ``changes``)."""
    base: dict[str, Any] = {
        "request_id": request_id, "payer": {"id": "87726", "name": "Acme Health"},
        "provider": {"npi": "1234567893", "name": "Main Street Clinic"},
        "subscriber": {"member_id": member, "first_name": "Jane", "last_name": "Doe",
                       "birth_date": "1980-05-14"},
        "service_date": TODAY, "service_types": ["30", "98"],
    }  # fmt: skip
    base.update(changes)
    return base


def child(first: str) -> dict[str, Any]:
    return {"first_name": first, "last_name": "Doe", "birth_date": "2015-03-04",
            "relationship": "19"}  # fmt: skip


def numbered_requests(prefix: str, count: int, *, dependent_every: int = 0) -> list[dict[str, Any]]:
    """``count`` requests PREFIX-00000..., about the subscriber or (every n-th) a child."""
    return [
        request(f"{prefix}-{n:05d}", f"M{n:08d}",
                **({"patient": child("Bo")} if dependent_every and n % dependent_every == 0
                   else {}))
        for n in range(count)
    ]  # fmt: skip


def drop_requests(home: Path, name: str, records: list[dict[str, Any]]) -> Path:
    """A request file written the way a practice system should: temporary name, then rename."""
    target = home / "spool" / "eligibility" / name
    tmp = target.with_name(f".{name}.tmp")
    tmp.write_text(json.dumps(records))
    os.replace(tmp, target)
    return target


def answer_270(path: Path, *, control: int) -> str:
    """The 271 answering every inquiry of a 270 (a fresh payer: nothing met yet)."""
    inquiries = read_270(path)
    out = io.StringIO()
    answers = answer_all(inquiries, SimulatorConfig(), State(), date.today())
    write_271(out, route=ROUTE, control=control, when=datetime.now(UTC).replace(tzinfo=None),
              answers=[answers], payer=SimulatorConfig().payer)  # fmt: skip
    return out.getvalue()
