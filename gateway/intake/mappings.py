"""Mappings: a practice system's CSV or JSON export read as claim records (contract section 5).

A mapping names, for each claim-record field path, where the value comes from (a CSV column or
a dotted JSON path) and how to transform it (date format, code table, split into a list, type,
constant, default). CSV rows are grouped into claims by a key column, one row per service line.
What comes out is raw claim dicts, checked afterwards like any claim file.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import tomllib
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from gateway.domain.problems import Problem


class MappingError(Exception):
    """A mapping file itself is wrong (a configuration error)."""


class FieldRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None  # CSV
    path: str | None = None  # JSON, dotted
    const: Any = None
    default: Any = None
    date: str | None = None  # strptime format; the record gets YYYY-MM-DD
    split: str | None = None
    map: dict[str, str] | None = None
    type: Literal["str", "int", "decimal"] = "str"

    @model_validator(mode="after")
    def _has_a_source(self) -> FieldRule:
        if self.column is None and self.path is None and self.const is None:
            raise ValueError("needs column, path or const")
        return self


class CsvOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str = ","
    encoding: str = "utf-8-sig"
    group_by: str


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    format: Literal["csv", "json"]
    record: Literal["claim", "eligibility"] = "claim"  # what the file holds
    match: list[str] = []
    csv: CsvOptions | None = None
    records: str | None = None  # JSON: dotted path to the list of claims ("" = the file itself)
    lines: str | None = None  # JSON: path to each claim's lines
    fields: dict[str, str | FieldRule]
    line_fields: dict[str, str | FieldRule] = {}

    @model_validator(mode="after")
    def _format_options(self) -> Mapping:
        if self.format == "csv" and self.csv is None:
            raise ValueError("a csv mapping needs a [csv] table with group_by")
        return self

    def rules(self, which: dict[str, str | FieldRule]) -> dict[str, FieldRule]:
        key = "column" if self.format == "csv" else "path"
        return {f: FieldRule(**{key: r}) if isinstance(r, str) else r for f, r in which.items()}


def load_mapping(path: Path) -> Mapping:
    try:
        return Mapping.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise MappingError(f"{path}: {exc}") from None


def load_mappings(folder: Path) -> list[Mapping]:
    return [load_mapping(p) for p in sorted(folder.glob("*.toml"))] if folder.is_dir() else []


def mapping_for(path: Path, mappings: list[Mapping], record: str = "claim") -> Mapping | None:
    """The first mapping of ``record`` files whose ``match`` patterns take this file name."""
    return next(
        (
            m
            for m in mappings
            if m.record == record and any(fnmatch.fnmatch(path.name, pat) for pat in m.match)
        ),
        None,
    )


def _set(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = record
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _get(data: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _convert(rule: FieldRule, raw: Any, where: str) -> Any:
    """One value through the rule's transforms; raises ValueError with a plain sentence."""
    if isinstance(raw, str):
        raw = raw.strip()
    if raw in (None, "", []):
        return rule.default
    if rule.split is not None and isinstance(raw, str):
        return [
            _scalar(rule, part.strip(), where) for part in raw.split(rule.split) if part.strip()
        ]
    if isinstance(raw, list):
        return [_scalar(rule, part, where) for part in raw]
    return _scalar(rule, raw, where)


def _scalar(rule: FieldRule, raw: Any, where: str) -> Any:
    if rule.map is not None:
        if str(raw) not in rule.map:
            raise ValueError(f"{where}: {raw!r} is not in the mapping's code table")
        raw = rule.map[str(raw)]
    if rule.date is not None:
        try:
            return datetime.strptime(str(raw), rule.date).date().isoformat()
        except ValueError:
            raise ValueError(
                f"{where}: {raw!r} does not match the date format {rule.date}"
            ) from None
    if rule.type == "int":
        try:
            return int(str(raw))
        except ValueError:
            raise ValueError(f"{where}: {raw!r} is not a whole number") from None
    if rule.type == "decimal":
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            raise ValueError(f"{where}: {raw!r} is not a number") from None
    return raw if isinstance(raw, (int, Decimal)) and rule.type == "str" else str(raw)


def _apply(
    rules: dict[str, FieldRule], source: Any, into: dict[str, Any], problems: list[Problem]
) -> None:
    for field, rule in rules.items():
        if rule.const is not None:
            _set(into, field, rule.const)
            continue
        if rule.column is not None:
            raw = source.get(rule.column) if isinstance(source, dict) else None
            where = f"column {rule.column}"
        else:
            raw = _get(source, rule.path or "")
            where = f"path {rule.path}"
        try:
            value = _convert(rule, raw, where)
        except ValueError as exc:
            problems.append(Problem(str(exc), field=field))
            continue
        if value is not None:
            _set(into, field, value)


def read_mapped(path: Path, mapping: Mapping) -> tuple[list[tuple[str, Any]], list[Problem]]:
    """Raw claim records from ``path`` through ``mapping``, and the problems of the mapping step.

    A record whose values could not be transformed is left out; its problems name the claim.
    """
    claim_rules, line_rules = mapping.rules(mapping.fields), mapping.rules(mapping.line_fields)
    records: list[tuple[str, Any]] = []
    problems: list[Problem] = []
    for label, claim_source, line_sources in _sources(path, mapping):
        record: dict[str, Any] = {}
        found: list[Problem] = []
        _apply(claim_rules, claim_source, record, found)
        lines = []
        for line_source in line_sources:
            line: dict[str, Any] = {}
            _apply(line_rules, line_source, line, found)
            lines.append(line)
        if line_rules:
            record["lines"] = lines
        claim_label = record.get("claim_id") if isinstance(record.get("claim_id"), str) else label
        if found:
            problems.extend(p.located(file=path.name, claim=str(claim_label)) for p in found)
        else:
            records.append((str(claim_label), record))
    return records, problems


def _sources(path: Path, mapping: Mapping) -> list[tuple[str, Any, list[Any]]]:
    if mapping.format == "json":
        data = json.loads(path.read_text(encoding="utf-8-sig"), parse_float=Decimal)
        items = _get(data, mapping.records or "")
        if not isinstance(items, list):
            raise MappingError(f"{path.name}: no list of claims at {mapping.records!r}")
        out = []
        for n, item in enumerate(items, 1):
            lines = _get(item, mapping.lines) if mapping.lines else []
            out.append((f"#{n}", item, lines if isinstance(lines, list) else []))
        return out
    options = mapping.csv
    assert options is not None
    with path.open(newline="", encoding=options.encoding) as f:
        rows = list(csv.DictReader(f, delimiter=options.delimiter))
    groups: dict[str, list[dict[str, str]]] = {}
    for n, row in enumerate(rows, 2):  # row 1 is the header
        key = (row.get(options.group_by) or "").strip() or f"row {n}"
        groups.setdefault(key, []).append(row)
    return [(key, group[0], group) for key, group in groups.items()]
