"""Read claim files (``.json``: one claim or a list; ``.jsonl``: one claim a line; ``.csv`` and
exports with their own field names through a mapping).

Numbers are read as Decimal, never float. Every claim is checked on its own, so the good claims of
a file with bad ones are still returned; each problem names the file, the claim and the field.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.domain.claim import Claim
from gateway.domain.claim_checks import check_claim, problems_from_validation_error
from gateway.domain.problems import Problem
from gateway.intake.mappings import (
    MappedRecord,
    Mapping,
    MappingError,
    mapping_for,
    read_mapped,
)

CLAIM_SUFFIXES = (".json", ".jsonl", ".csv")


@dataclass
class ClaimFile:
    """What one file gave: the claims fit to send and every problem found."""

    path: Path
    claims: list[Claim] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rejected_claims: int = 0


def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not a number")


_TOO_DEEP = "nested too deeply to be a claim record"


def _loads(text: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None


def read_claim_file(
    path: Path,
    *,
    today: date | None = None,
    mappings: list[Mapping] | None = None,
    ledger_fills_payer_number: bool = False,
) -> ClaimFile:
    """Parse and check every claim in ``path`` (through a mapping when one takes the file)."""
    result = ClaimFile(path)
    name = path.name
    mapping = mapping_for(path, mappings or [])
    if mapping is not None:
        try:
            mapped, problems = read_mapped(path, mapping)
        except (MappingError, json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
            result.problems.append(
                Problem(f"could not be read with mapping {mapping.name}: {exc}", file=name)
            )
            return result
        except RecursionError:
            result.problems.append(
                Problem(f"could not be read with mapping {mapping.name}: {_TOO_DEEP}", file=name)
            )
            return result
        if problems:  # the file as a whole (unknown columns): none of its claims is taken
            result.problems.extend(problems)
            return result
        return _check_mapped(result, mapped, today or date.today(), ledger_fills_payer_number)
    if path.suffix.lower() == ".csv":
        result.problems.append(
            Problem(
                "no mapping in mappings/ takes this CSV file (add one: see docs/mappings.md)",
                file=name,
            )
        )
        return result
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        result.problems.append(
            Problem(f"is not UTF-8 text (byte {exc.start}): is it a claim file?", file=name)
        )
        return result
    records: list[tuple[str, Any]] = []  # (label, raw object)
    if path.suffix.lower() == ".jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append((f"line {number}", _loads(line)))
            except (json.JSONDecodeError, ValueError) as exc:
                result.problems.append(
                    Problem(f"line {number} is not valid JSON: {_json_reason(exc)}", file=name)
                )
    else:
        try:
            data = _loads(text)
        except (json.JSONDecodeError, ValueError) as exc:
            result.problems.append(Problem(f"is not valid JSON: {_json_reason(exc)}", file=name))
            return result
        if isinstance(data, list):
            records = [(f"#{n}", item) for n, item in enumerate(data, 1)]
        else:
            records = [("#1", data)]
    if not records and not result.problems:
        result.problems.append(Problem("holds no claims", file=name))
    return _check_records(result, records, today or date.today(), fills=ledger_fills_payer_number)


def check_records(
    records: list[tuple[str, Any]], *, source: str, today: date | None = None
) -> ClaimFile:
    """Check raw claim objects that came from elsewhere (a mapping, a test)."""
    return _check_records(ClaimFile(Path(source)), records, today or date.today())


def _check_mapped(
    result: ClaimFile, mapped: list[MappedRecord], today: date, fills: bool = False
) -> ClaimFile:
    """Check records read through a mapping: every problem of a claim at once (those of the
    mapping step and those of the checks, minus a check's complaint about a field the mapping
    step already explained), each naming the column and row its field came from."""
    for item in mapped:
        if not item.problems:
            _check_records(result, [(item.label, item.record)], today, locate=item.locate,
                           fills=fills)  # fmt: skip
            continue
        explained = {p.field for p in item.problems}
        checked = _check_records(ClaimFile(result.path), [(item.label, item.record)], today,
                                 locate=item.locate, fills=fills)  # fmt: skip
        more = [p for p in checked.problems if p.field not in explained]
        result.problems.extend(item.problems + more)
        result.rejected_claims += 1
    return result


def _check_records(
    result: ClaimFile,
    records: list[tuple[str, Any]],
    today: date,
    *,
    locate: Callable[[Problem], Problem] | None = None,
    fills: bool = False,
) -> ClaimFile:
    """``fills``: the ledger fills a replacement's or void's missing payer claim number."""
    name = result.path.name
    seen: set[str] = set()
    for label, raw in records:
        claim_label = label
        if isinstance(raw, dict) and isinstance(raw.get("claim_id"), str) and raw["claim_id"]:
            claim_label = raw["claim_id"]
        if not isinstance(raw, dict):
            result.problems.append(
                Problem(
                    f"is not a claim object (got {type(raw).__name__})",
                    file=name,
                    claim=claim_label,
                )
            )
            result.rejected_claims += 1
            continue
        try:
            claim = Claim.model_validate(raw)
        except ValidationError as exc:
            found = problems_from_validation_error(exc)
        else:
            found = check_claim(claim, today=today, ledger_fills_payer_number=fills)
            if claim.claim_id in seen:
                found.append(
                    Problem(
                        "appears twice in this file (the same claim id is a duplicate)",
                        field="claim_id",
                    )
                )
            seen.add(claim.claim_id)
        if found:
            found = [locate(p) for p in found] if locate is not None else found
            result.problems.extend(p.located(file=name, claim=claim_label) for p in found)
            result.rejected_claims += 1
        else:
            result.claims.append(claim)
    return result


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    return str(exc)
