"""Every value of a claim record bounded by the 837 element it becomes (and the ledger column).

The 837 writers make text safe: accents spelled out (``Ø`` → ``O``, ``ß`` → ``SS``), delimiters
and control characters taken out, upper case. A name made only of delimiters, or of a lone
combining accent, would become an empty element; one of letters that spell out longer could
outgrow its element. So each text is measured as the writer will send it. Amounts, quantities
and dates are kept in ranges an 837 (and the ledger) can carry, so that a claim the checks pass
always builds an 837 the implementation guide accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from pydantic import BaseModel

from gateway.domain.problems import Problem
from gateway.x12.delimiters import Delimiters
from gateway.x12.values import safe_text

_SENT_WITH = Delimiters()  # the writers' delimiters
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


def bound_problems(record: BaseModel, path: str = "") -> Iterator[Problem]:
    """Every text, amount, quantity and date of ``record`` (and the records in it) that would
    not fit its 837 element, with its field path (``lines[2].units``)."""
    for name, value in record:
        where = f"{path}.{name}" if path else name
        yield from _value(name, value, where)


def _value(name: str, value: object, where: str) -> Iterator[Problem]:
    if isinstance(value, BaseModel):
        yield from bound_problems(value, where)
    elif isinstance(value, list):
        for n, item in enumerate(value, 1):
            yield from _value(name, item, f"{where}[{n}]")
    elif isinstance(value, str) and name in TEXT:
        yield from _text(value, where, *TEXT[name])
    elif isinstance(value, Decimal):
        limit = MAX_UNITS if name.endswith("units") else MAX_AMOUNT
        if not value.is_finite() or abs(value) >= limit:
            yield Problem(f"is out of range: {value} (it must be below {limit:,})", where)
    elif isinstance(value, date) and value < EARLIEST:
        yield Problem(f"{value} is not a real date here (before {EARLIEST})", where)


def _text(value: str, where: str, fewest: int, most: int) -> Iterator[Problem]:
    sent = safe_text(value.upper(), _SENT_WITH)
    if len(sent) < fewest:
        yield Problem(
            f"{value!r} has {'nothing' if not sent else f'only {sent!r}'} left once written in "
            f"the 837 (delimiters * : ^ ~ and control characters are taken out, accents spelled "
            f"out); it needs at least {fewest} letter(s) or digit(s)",
            where,
        )
    elif len(sent) > most:
        yield Problem(
            f"is {len(sent)} characters as the 837 carries it (accents spelled out), at most "
            f"{most} fit",
            where,
        )
