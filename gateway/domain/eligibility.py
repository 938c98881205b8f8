"""The eligibility request of the contract (section 10): who to ask about, for which services.

A practice system drops these before a visit; the gateway sends them as 270 inquiries. Like a
claim, the model checks shape (unknown fields are refused) and :func:`check_request` says in
plain words what a payer would refuse (an NPI that fails its check digit, a birth date after the
visit, a service type code that does not exist), naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Literal

from pydantic import Field

from gateway.domain import codes
from gateway.domain.adjustment_codes import code_table
from gateway.domain.claim import Address, IsoDate, Payer, Record
from gateway.domain.problems import Problem

REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{1,30}$")
MAX_SERVICE_TYPES = 99  # loop 2110C repeats at most 99 times
DEPENDENT_RELATIONSHIPS = {"01": "spouse", "19": "child", "34": "other adult"}  # 2100D INS02
INQUIRY_MONTHS_BACK = 12  # CORE: payers answer up to 12 months back, to the end of this month


class RequestProvider(Record):
    """The provider asking (270 loop 2100B): an organization (``name``) or a person."""

    npi: str
    name: str | None = Field(None, max_length=60, description="organization name")
    last_name: str | None = Field(None, max_length=60)
    first_name: str | None = Field(None, max_length=35)
    tax_id: str | None = Field(
        None, description="EIN, 9 digits: sent in the trace number (TRN03) when given"
    )
    taxonomy: str | None = None


class RequestSubscriber(Record):
    """The subscriber as on a claim; the address and sex are optional here, and so is the
    birth date when the question is about a dependent (``patient``)."""

    member_id: str = Field(min_length=2, max_length=80)
    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    middle_name: str | None = Field(None, max_length=25)
    suffix: str | None = Field(None, max_length=10)
    birth_date: IsoDate | None = None
    sex: Literal["F", "M", "U"] | None = None
    group_number: str | None = Field(None, max_length=50)
    address: Address | None = None
    filing_indicator: str | None = None  # accepted so a claim's subscriber can be copied
    sequence: Literal["P", "S", "T"] | None = None


class RequestPatient(Record):
    """A dependent on the subscriber's plan (270 loop 2000D)."""

    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    middle_name: str | None = Field(None, max_length=25)
    suffix: str | None = Field(None, max_length=10)
    birth_date: IsoDate
    sex: Literal["F", "M", "U"] | None = None
    relationship: str | None = Field(None, description="01 spouse, 19 child, 34 other adult")
    address: Address | None = None


class EligibilityRequest(Record):
    """One question to one payer about one person (the subscriber, or ``patient``)."""

    request_id: str = Field(description="1-30 characters of A-Z a-z 0-9 and -; the 270 TRN02")
    partner: str | None = None
    payer: Payer
    provider: RequestProvider
    subscriber: RequestSubscriber
    patient: RequestPatient | None = None
    service_date: IsoDate | None = Field(None, description="the visit (default: the day sent)")
    service_types: list[str] = Field(
        ["30"], description="X12 service type codes: 30 health plan coverage, 35 dental, ..."
    )

    @property
    def person(self) -> RequestSubscriber | RequestPatient:
        """Whom the question is about."""
        return self.patient or self.subscriber


def check_request(request: EligibilityRequest, *, today: date) -> list[Problem]:
    """Every rule a well-formed request can still break; empty when it is fit to send."""
    return list(_checks(request, today))


def _checks(r: EligibilityRequest, today: date) -> Iterator[Problem]:
    if not REQUEST_ID.match(r.request_id):
        yield Problem(
            f"must be 1-30 characters of A-Z, a-z, 0-9 and '-', got {r.request_id!r}",
            "request_id",
        )
    p = r.provider
    if why := codes.npi_problem(p.npi):
        yield Problem(why, "provider.npi")
    if not p.name and not p.last_name:
        yield Problem("needs name (an organization) or last_name and first_name", "provider")
    if p.tax_id is not None and not _is_ein(codes.normalize_ein(p.tax_id)):
        yield Problem(
            f"must be an EIN of 9 digits (like 741234567 or 74-1234567), got {p.tax_id!r}",
            "provider.tax_id",
        )
    if p.taxonomy is not None and not codes.TAXONOMY.match(p.taxonomy):
        yield Problem(
            f"{p.taxonomy!r} is not a provider taxonomy code (10 characters ending in X, "
            "like 207Q00000X)",
            "provider.taxonomy",
        )
    if r.subscriber.birth_date is None and r.patient is None:
        yield Problem(
            "is required: the payer finds the member by ID, name and birth date",
            "subscriber.birth_date",
        )
    yield from _person(r.subscriber.birth_date, r.subscriber.address, "subscriber", r, today)
    if r.patient is not None:
        yield from _person(r.patient.birth_date, r.patient.address, "patient", r, today)
        relationship = r.patient.relationship
        if relationship is not None and relationship not in DEPENDENT_RELATIONSHIPS:
            yield Problem(
                f"{relationship!r} is not a dependent relationship an inquiry can carry "
                "(01 spouse, 19 child, 34 other adult)",
                "patient.relationship",
            )
    if r.service_date is not None:
        last_day = _month_end(today)
        if r.service_date > last_day:
            yield Problem(
                f"{r.service_date} is after the end of this month: payers answer for dates up to "
                f"{last_day} (ask again closer to the visit)",
                "service_date",
            )
        earliest = _months_back(today, INQUIRY_MONTHS_BACK)
        if r.service_date < earliest:
            yield Problem(
                f"{r.service_date} is more than {INQUIRY_MONTHS_BACK} months ago: payers answer "
                f"for dates from {earliest} on",
                "service_date",
            )
    yield from _service_types(r.service_types)


def _person(
    born: date | None, address: Address | None, name: str, r: EligibilityRequest, today: date
) -> Iterator[Problem]:
    visit = r.service_date or today
    if born is None:
        pass
    elif born > today:
        yield Problem(f"{born} is in the future", f"{name}.birth_date")
    elif born > visit:
        yield Problem(f"{born} is after the date of service {visit}", f"{name}.birth_date")
    if address is not None:
        if address.state not in codes.STATES:
            yield Problem(f"{address.state!r} is not a US state code", f"{name}.address.state")
        if not codes.ZIP.match(address.zip):
            yield Problem(f"must be 5 or 9 digits, got {address.zip!r}", f"{name}.address.zip")


def _service_types(service_types: list[str]) -> Iterator[Problem]:
    known = code_table("service_types")
    if not service_types:
        yield Problem("needs at least one service type code (30: health plan coverage)",
                      "service_types")  # fmt: skip
    if len(service_types) > MAX_SERVICE_TYPES:
        yield Problem(f"at most {MAX_SERVICE_TYPES} service types fit in one inquiry, got "
                      f"{len(service_types)}", "service_types")  # fmt: skip
    seen: set[str] = set()
    for n, code in enumerate(service_types, 1):
        if code not in known:
            yield Problem(
                f"{code!r} is not an X12 service type code (30 health plan coverage, 35 dental "
                "care, 98 office visit, ...)",
                f"service_types[{n}]",
            )
        elif code in seen:
            yield Problem(f"{code} is asked twice", f"service_types[{n}]")
        seen.add(code)


def _is_ein(text: str) -> bool:
    return len(text) == 9 and text.isdigit()


def _month_end(day: date) -> date:
    first_next = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first_next - timedelta(days=1)


def _months_back(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))
