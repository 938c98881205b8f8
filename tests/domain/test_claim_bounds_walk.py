"""The planned walk of ``bound_problems`` finds what a plain walk over every field finds.

``bound_problems`` plans its walk once per record class from the field annotations (a field
that can hold nothing with a bound is never looked at). The plain walk below looks at every
value of every field, whatever its type: on claims whose texts, amounts and dates are pushed out
of bounds at random (every kind, every nested record), both give the same problems, with the
same fields, in the same order.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from gateway.domain.claim import Claim
from gateway.domain.claim_bounds import EARLIEST, MAX_AMOUNT, MAX_UNITS, TEXT, bound_problems
from gateway.domain.problems import Problem
from gateway.x12.delimiters import Delimiters
from gateway.x12.values import safe_text
from tests.conftest import SAMPLES


def plain_walk(record: BaseModel, path: str = "") -> Iterator[Problem]:
    """Every field of every record, each value by what it is (the walk before it was planned)."""
    for name, value in record:
        yield from _plain_value(name, value, f"{path}.{name}" if path else name)


def _plain_value(name: str, value: object, where: str) -> Iterator[Problem]:
    if isinstance(value, BaseModel):
        yield from plain_walk(value, where)
    elif isinstance(value, list):
        for n, item in enumerate(value, 1):
            yield from _plain_value(name, item, f"{where}[{n}]")
    elif isinstance(value, str) and name in TEXT:
        fewest, most = TEXT[name]
        sent = safe_text(value.upper(), Delimiters())
        if not fewest <= len(sent) <= most:
            yield Problem("text", where)
    elif isinstance(value, Decimal):
        limit = MAX_UNITS if name.endswith("units") else MAX_AMOUNT
        if not value.is_finite() or abs(value) >= limit:
            yield Problem("number", where)
    elif isinstance(value, date) and value < EARLIEST:
        yield Problem("date", where)


BAD_TEXT = ["*:^~", "\u0301", "Ø" * 70, "ß" * 40, "x", "  ", "Ab", "José", "A" * 90]
BAD_NUMBER = [Decimal("NaN"), Decimal("Infinity"), Decimal("1e9"), Decimal("-1e8"),
              Decimal("99999"), Decimal("100000"), Decimal("0.001")]  # fmt: skip


def _mutated(record: BaseModel, rnd: random.Random) -> Any:
    """``record`` with some of its texts, amounts and dates replaced (no validation: the walk
    must judge values the models would never let through, too)."""
    changes: dict[str, Any] = {}
    for name, value in record.__dict__.items():
        if isinstance(value, BaseModel):
            changes[name] = _mutated(value, rnd)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            changes[name] = [_mutated(item, rnd) for item in value]
        elif rnd.random() < 0.25:
            if isinstance(value, str):
                changes[name] = rnd.choice(BAD_TEXT)
            elif isinstance(value, Decimal):
                changes[name] = rnd.choice(BAD_NUMBER)
            elif isinstance(value, date):
                changes[name] = date(1899, 12, 31)
            elif isinstance(value, list) and value and isinstance(value[0], str):
                changes[name] = [rnd.choice(BAD_TEXT), *value[1:]]
    return record.model_copy(update=changes)


@pytest.mark.parametrize("kind", ["professional", "dental", "institutional"])
def test_planned_walk_finds_what_the_plain_walk_finds(kind: str) -> None:
    rnd = random.Random(f"bounds-{kind}")
    originals = [
        Claim.model_validate(c) for c in json.loads((SAMPLES / f"{kind}.json").read_text())
    ]
    found = 0
    for _ in range(300):
        claim = _mutated(rnd.choice(originals), rnd)
        planned = [(p.field, p.message.split(" ")[0]) for p in bound_problems(claim)]
        plain = [p.field for p in plain_walk(claim)]
        assert [field for field, _ in planned] == plain
        found += len(plain)
    assert found > 300  # the mutations did push values out of bounds


def test_clean_samples_have_no_bound_problems() -> None:
    for kind in ("professional", "dental", "institutional"):
        for record in json.loads((SAMPLES / f"{kind}.json").read_text()):
            assert bound_problems(Claim.model_validate(record)) == []
