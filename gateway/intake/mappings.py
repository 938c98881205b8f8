"""Mappings: a practice system's CSV or JSON export read as claim records (contract section 5).

A mapping names, for each claim-record field path, where the value comes from (a CSV column or
a dotted JSON path) and how to transform it (date format, code table, split into a list, type,
constant, default). CSV rows are grouped into claims by a key column, one row per service line.
What comes out is raw claim dicts, checked afterwards like any claim file, each with where its
fields came from (``column charge, row 3``), so a problem found later names the column and row
too. Every problem of a record is reported at once: a value that cannot be transformed is left
out of the record and said, and the rest of the record is still checked. A CSV column that no
rule reads (and that ``[csv] ignore`` does not list) is an error, like an unknown field of a
claim record: a misspelt column must not drop its data silently.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import tomllib
from dataclasses import dataclass, field, replace
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
    ignore: list[str] = []  # columns of the export the claim record does not need


@dataclass
class MappedRecord:
    """One claim record read through a mapping: its label (the claim id, else its place), the
    raw record, where each field came from (``lines[2].charge`` → ``column charge, row 3``)
    and the problems of the mapping step (their fields left out of the record)."""

    label: str
    record: dict[str, Any]
    origin: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def locate(self, problem: Problem) -> Problem:
        """The problem with the column and row its field came from, when it came from one."""
        where = self.origin.get(problem.field or "")
        if where is None or where in problem.message:
            return problem
        return replace(problem, message=f"{problem.message} ({where})")


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
    rules: dict[str, FieldRule],
    source: Any,
    into: dict[str, Any],
    mapped: MappedRecord,
    *,
    prefix: str = "",
    row: int | None = None,
) -> None:
    """Every rule of one claim (or one line, ``prefix`` ``lines[N].``) from its source."""
    at = f", row {row}" if row is not None else ""
    for name, rule in rules.items():
        path = f"{prefix}{name}"
        if rule.const is not None:
            _set(into, name, rule.const)
            continue
        if rule.column is not None:
            raw = source.get(rule.column) if isinstance(source, dict) else None
            where = f"column {rule.column}{at}"
        else:
            raw = _get(source, rule.path or "")
            where = f"path {rule.path}"
        mapped.origin[path] = where
        try:
            value = _convert(rule, raw, where)
        except ValueError as exc:
            mapped.problems.append(Problem(str(exc), field=path))
            value = _stand_in(rule)
        if value is not None:
            _set(into, name, value)


def _stand_in(rule: FieldRule) -> Any:
    """A value of the right shape where one could not be read (its problem is said already),
    so the checks still look at the rest of the record and say every other problem at once.
    A record with a stand-in is never taken."""
    value: Any = None
    if rule.date is not None:
        value = "2000-01-01"
    elif rule.map:
        value = next(iter(rule.map.values()))
    elif rule.type == "int":
        value = 1
    elif rule.type == "decimal":
        value = Decimal(1)
    return [value] if rule.split is not None and value is not None else value


def read_mapped(path: Path, mapping: Mapping) -> tuple[list[MappedRecord], list[Problem]]:
    """Raw claim records from ``path`` through ``mapping``, each with its origins and the
    problems of its mapping step; and the problems of the whole file (unknown columns)."""
    claim_rules, line_rules = mapping.rules(mapping.fields), mapping.rules(mapping.line_fields)
    records: list[MappedRecord] = []
    sources, file_problems = _sources(path, mapping)
    for label, (claim_row, claim_source), line_sources in sources:
        mapped = MappedRecord(label, {})
        _apply(claim_rules, claim_source, mapped.record, mapped, row=claim_row)
        lines = []
        for n, (line_row, line_source) in enumerate(line_sources, 1):
            line: dict[str, Any] = {}
            _apply(line_rules, line_source, line, mapped, prefix=f"lines[{n}].", row=line_row)
            lines.append(line)
        if line_rules:
            mapped.record["lines"] = lines
        claim_id = mapped.record.get("claim_id")
        if isinstance(claim_id, str) and claim_id:
            mapped.label = claim_id
        mapped.problems = [p.located(file=path.name, claim=mapped.label) for p in mapped.problems]
        records.append(mapped)
    return records, [p.located(file=path.name) for p in file_problems]


Source = tuple[int | None, Any]  # (CSV row number, the row or JSON object)


def _sources(
    path: Path, mapping: Mapping
) -> tuple[list[tuple[str, Source, list[Source]]], list[Problem]]:
    if mapping.format == "json":
        data = json.loads(path.read_text(encoding="utf-8-sig"), parse_float=Decimal)
        items = _get(data, mapping.records or "")
        if not isinstance(items, list):
            raise MappingError(f"{path.name}: no list of claims at {mapping.records!r}")
        out: list[tuple[str, Source, list[Source]]] = []
        for n, item in enumerate(items, 1):
            lines = _get(item, mapping.lines) if mapping.lines else []
            lines = lines if isinstance(lines, list) else []
            out.append((f"#{n}", (None, item), [(None, line) for line in lines]))
        return out, []
    options = mapping.csv
    assert options is not None
    with path.open(newline="", encoding=options.encoding) as f:
        reader = csv.DictReader(f, delimiter=options.delimiter)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    groups: dict[str, list[Source]] = {}
    for n, row in enumerate(rows, 2):  # row 1 is the header
        key = (row.get(options.group_by) or "").strip() or f"row {n}"
        groups.setdefault(key, []).append((n, row))
    found = [(key, group[0], group) for key, group in groups.items()]
    return found, _unknown_columns(header, mapping)


def _unknown_columns(header: list[str], mapping: Mapping) -> list[Problem]:
    options = mapping.csv
    assert options is not None
    read = {options.group_by, *options.ignore}
    for rules in (mapping.rules(mapping.fields), mapping.rules(mapping.line_fields)):
        read.update(r.column for r in rules.values() if r.column is not None)
    unknown = [column for column in header if column not in read]
    if not unknown:
        return []
    return [Problem(
        f"column(s) {', '.join(repr(c) for c in unknown)} are read by no rule of mapping "
        f"{mapping.name} (a misspelt column? map them in [fields]/[line_fields], or list the "
        "columns the claim record does not need in [csv] ignore); no claim of this file was "
        "taken, so no data is lost"
    )]  # fmt: skip
