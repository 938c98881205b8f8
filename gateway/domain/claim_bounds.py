"""Every value of a claim record bounded by the 837 element it becomes (and the ledger column).

The 837 writers make text safe: accents spelled out (``Ø`` → ``O``, ``ß`` → ``SS``), delimiters
and control characters taken out, upper case. A name made only of delimiters, or of a lone
combining accent, would become an empty element; one of letters that spell out longer could
outgrow its element. So each text is measured as the writer will send it. Amounts, quantities
and dates are kept in ranges an 837 (and the ledger) can carry, so that a claim the checks pass
always builds an 837 the implementation guide accepts.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from gateway.domain.problems import Problem
from gateway.x12.delimiters import Delimiters
from gateway.x12.values import _unsafe_pattern, safe_text

_SENT_WITH = Delimiters()  # the writers' delimiters
_UNSAFE = _unsafe_pattern(_SENT_WITH)  # what safe_text changes
EARLIEST = date(1900, 1, 1)  # no date of a claim (a birth, a service) is older
MAX_AMOUNT = Decimal(100_000_000)  # amounts below a hundred million (R 1/18 with cents)
MAX_UNITS = Decimal(100_000)  # service units (SV104, SV205, SV306) below a hundred thousand

# Free text by field name: (fewest, most) characters of its element (837 5010 guides).
TEXT = {
    "organization_name": (1, 60), "last_name": (1, 60), "first_name": (1, 35),
    "middle_name": (1, 25), "suffix": (1, 10), "name": (1, 60),  # NM103-NM107
    "id": (2, 80), "member_id": (2, 80),  # NM109
    "line1": (1, 55), "line2": (1, 55), "city": (2, 30),  # N301, N302, N401
    "group_number": (1, 50), "payer_claim_number": (1, 50), "prior_authorization": (1, 50),
    "referral_number": (1, 50),  # SBR03, REF02
    "description": (1, 80),  # SV101-7
    "reason": (1, 5), "drg": (1, 30),  # CAS02, HI01-2
}  # fmt: skip


def bound_problems(record: BaseModel, path: str = "") -> list[Problem]:
    """Every text, amount, quantity and date of ``record`` (and the records in it) that would
    not fit its 837 element, with its field path (``lines[2].units``)."""
    found: list[Problem] = []
    _record(record, path, found)
    return found


# The walk is planned once per record class, from its fields' annotations: a field that can
# hold nothing with a bound (a code, a flag, a count, a list of codes) is never looked at; a
# text, amount or date field is tested directly, its path spelled out only for a problem; any
# other (records, lists of them) goes through ``_value``, which looks at what it finds.
Test = Callable[[str, Any, str, list[Problem]], None]  # (field, value, record's path, found)
_PLANS: dict[type[BaseModel], tuple[tuple[str, Test], ...]] = {}


def _record(record: BaseModel, path: str, found: list[Problem]) -> None:
    cls = type(record)
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _plan(cls)
    values = record.__dict__
    for name, test in plan:
        value = values.get(name)
        if value is not None:
            test(name, value, path, found)


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _value(name: str, value: object, where: str, found: list[Problem]) -> None:
    """Any value, by what it is (``where``: its own path)."""
    if isinstance(value, BaseModel):
        _record(value, where, found)
    elif isinstance(value, list):
        for n, item in enumerate(value, 1):
            _value(name, item, f"{where}[{n}]", found)
    elif isinstance(value, str) and name in TEXT:
        if (why := _text(value, *TEXT[name])) is not None:
            found.append(Problem(why, where))
    elif isinstance(value, Decimal):
        if (why := _number(name, value)) is not None:
            found.append(Problem(why, where))
    elif isinstance(value, date) and value < EARLIEST:
        found.append(Problem(_old_date(value), where))


def _any(name: str, value: object, path: str, found: list[Problem]) -> None:
    _value(name, value, _at(path, name), found)


def _text_field(name: str, value: object, path: str, found: list[Problem]) -> None:
    if not isinstance(value, str):
        _any(name, value, path, found)
    elif (why := _text(value, *TEXT[name])) is not None:
        found.append(Problem(why, _at(path, name)))


def _number_field(name: str, value: object, path: str, found: list[Problem]) -> None:
    if not isinstance(value, Decimal):
        _any(name, value, path, found)
    elif (why := _number(name, value)) is not None:
        found.append(Problem(why, _at(path, name)))


def _date_field(name: str, value: object, path: str, found: list[Problem]) -> None:
    if not isinstance(value, date):
        _any(name, value, path, found)
    elif value < EARLIEST:
        found.append(Problem(_old_date(value), _at(path, name)))


def _plan(cls: type[BaseModel]) -> tuple[tuple[str, Test], ...]:
    plan = []
    for name, info in cls.model_fields.items():
        kinds = _kinds(info.annotation)
        if kinds <= {"code"} or (kinds <= {"code", "text"} and name not in TEXT):
            continue  # nothing there can break a bound
        test: Test = _any
        if kinds == {"text"}:
            test = _text_field
        elif kinds == {"number"}:
            test = _number_field
        elif kinds == {"date"}:
            test = _date_field
        plan.append((name, test))
    return tuple(plan)


def _kinds(annotation: Any) -> set[str]:
    """What a value of this annotation (or the items of a list of them) can be: ``text``,
    ``code`` (bool, int, a literal), ``number``, ``date`` or ``other`` (a record, anything
    unplanned); None drops out."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kinds(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return set().union(*(_kinds(arg) for arg in get_args(annotation)))
    if origin is Literal:
        return {"code"} if all(isinstance(a, str) for a in get_args(annotation)) else {"other"}
    if origin is list:  # its items' kinds: a test given a list hands it to ``_value``
        return _kinds(get_args(annotation)[0]) if get_args(annotation) else {"other"}
    if annotation is type(None):
        return set()
    if annotation in (bool, int):
        return {"code"}
    if annotation is str:
        return {"text"}
    if annotation is Decimal:
        return {"number"}
    if annotation is date:
        return {"date"}
    return {"other"}


def _number(name: str, value: Decimal) -> str | None:
    limit = MAX_UNITS if name.endswith("units") else MAX_AMOUNT
    if not value.is_finite() or abs(value) >= limit:
        return f"is out of range: {value} (it must be below {limit:,})"
    return None


def _old_date(value: date) -> str:
    return f"{value} is not a real date here (before {EARLIEST})"


def _text(value: str, fewest: int, most: int) -> str | None:
    if _UNSAFE.search(value) is None and fewest <= len(value) <= most:
        return None  # plain ASCII, no delimiter: sent as it is, in upper case (as long)
    sent = safe_text(value.upper(), _SENT_WITH)
    if len(sent) < fewest:
        return (
            f"{value!r} has {'nothing' if not sent else f'only {sent!r}'} left once written in "
            f"the 837 (delimiters * : ^ ~ and control characters are taken out, accents spelled "
            f"out); it needs at least {fewest} letter(s) or digit(s)"
        )
    if len(sent) > most:
        return (
            f"is {len(sent)} characters as the 837 carries it (accents spelled out), at most "
            f"{most} fit"
        )
    return None
