"""Read eligibility request files (``.json``: one request or a list; ``.jsonl``: one a line;
``.csv`` and other exports through a mapping whose ``record`` is ``eligibility``).

Read like claim files: numbers as Decimal, unknown fields refused, every request checked on its
own so the good ones of a file with bad ones are still returned, each problem naming the file,
the request and the field.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.domain.claim_checks import problems_from_validation_error
from gateway.domain.eligibility import EligibilityRequest, check_request
from gateway.domain.problems import Problem
from gateway.intake.claim_files import _json_reason, _loads
from gateway.intake.mappings import Mapping, MappingError, mapping_for, read_mapped

REQUEST_SUFFIXES = (".json", ".jsonl", ".csv")


@dataclass
class RequestFile:
    """What one file gave: the requests fit to send and every problem found (``claim`` of a
    problem holds the request's id, or its place in the file)."""

    path: Path
    requests: list[EligibilityRequest] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rejected: int = 0


def describe(p: Problem) -> str:
    """``visits.csv: request R-7: provider.npi: NPI 1234567890 fails the check digit ...``."""
    where = [w for w in (p.file, f"request {p.claim}" if p.claim else None, p.field) if w]
    return ": ".join([*where, p.message])


def problem_dict(p: Problem) -> dict[str, str]:
    """A problem for ``NAME.errors.json``, the request named as a request."""
    out = {"request": p.claim, "field": p.field, "message": p.message}
    return {k: v for k, v in out.items() if v}


def read_request_file(
    path: Path, *, today: date | None = None, mappings: list[Mapping] | None = None
) -> RequestFile:
    """Parse and check every request in ``path`` (through a mapping when one takes the file)."""
    result = RequestFile(path)
    name = path.name
    mapping = mapping_for(path, mappings or [], record="eligibility")
    records: list[tuple[str, Any]] = []
    if mapping is not None:
        try:
            mapped, problems = read_mapped(path, mapping)
        except (MappingError, json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
            result.problems.append(
                Problem(f"could not be read with mapping {mapping.name}: {exc}", file=name)
            )
            return result
        if problems:  # the file as a whole (unknown columns): none of its requests is taken
            result.problems.extend(problems)
            return result
        for item in mapped:
            if item.problems:  # named by the column and row the field came from
                result.problems.extend(item.locate(p) for p in item.problems)
                result.rejected += 1
            else:
                records.append((item.label, item.record))
    elif path.suffix.lower() == ".csv":
        result.problems.append(Problem(
            "no mapping in mappings/ with record = \"eligibility\" takes this CSV file (add one, "
            "like the shipped eligibility-csv.toml)", file=name,
        ))  # fmt: skip
        return result
    else:
        try:
            records = _json_records(path, result)
        except UnicodeDecodeError as exc:
            result.problems.append(Problem(
                f"is not UTF-8 text (byte {exc.start}): is it a request file?", file=name,
            ))  # fmt: skip
            return result
    if not records and not result.problems:
        result.problems.append(Problem("holds no eligibility requests", file=name))
    _check(result, records, today or date.today())
    return result


def _json_records(path: Path, result: RequestFile) -> list[tuple[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append((f"line {number}", _loads(line)))
            except (json.JSONDecodeError, ValueError) as exc:
                result.problems.append(Problem(
                    f"line {number} is not valid JSON: {_json_reason(exc)}", file=path.name,
                ))  # fmt: skip
        return records
    try:
        data = _loads(text)
    except (json.JSONDecodeError, ValueError) as exc:
        result.problems.append(Problem(f"is not valid JSON: {_json_reason(exc)}", file=path.name))
        return []
    items = data if isinstance(data, list) else [data]
    return [(f"#{n}", item) for n, item in enumerate(items, 1)]


def _check(result: RequestFile, records: list[tuple[str, Any]], today: date) -> None:
    name = result.path.name
    seen: set[str] = set()
    for label, raw in records:
        request_id = raw.get("request_id") if isinstance(raw, dict) else None
        who = request_id if isinstance(request_id, str) and request_id else label
        if not isinstance(raw, dict):
            found = [Problem(f"is not a request object (got {type(raw).__name__})")]
        else:
            try:
                request = EligibilityRequest.model_validate(raw)
            except ValidationError as exc:
                found = problems_from_validation_error(exc, record="the eligibility request")
            else:
                found = check_request(request, today=today)
                if request.request_id in seen:
                    found.append(Problem("appears twice in this file", field="request_id"))
                seen.add(request.request_id)
        if found:
            result.problems.extend(p.located(file=name, claim=who) for p in found)
            result.rejected += 1
        else:
            result.requests.append(request)
