"""The claim record of the contract (section 2) as pydantic models.

The models check shape only: types, required fields, unknown fields (a typo must never drop data
silently). What a payer would reject (check digits, code shapes, dates, totals) is checked by
:mod:`gateway.domain.claim_checks`, which says it in plain words.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from gateway.domain.codes import normalize_ein

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: object) -> object:
    """Dates are YYYY-MM-DD strings; numbers are refused (pydantic would read them as epochs)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError(f"must be a date written YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a real calendar date") from None


def _amount(value: object) -> object:
    """Amounts are decimal strings or JSON numbers (read as Decimal, never float)."""
    if isinstance(value, (bool, float)):
        raise ValueError("must be an amount as a string or a JSON number, read as a decimal")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?\d+(\.\d+)?", text):
            raise ValueError(f"must be an amount like 125.50, got {value!r}")
        return Decimal(text)
    return value


def _digits(value: Decimal) -> str:
    """An amount in JSON as digits (``100``, never ``1E+2`` as ``str`` writes a JSON ``1e2``):
    what ``_amount`` reads back, so the record the ledger keeps validates again."""
    return format(value, "f")


def _surfaces(value: object) -> object:
    """A list of letters (``["M", "O"]``, the natural JSON) is the same surfaces as ``"MO"``."""
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise ValueError(
                f'must be letters of M O D B L I F, as "MO" or ["M", "O"], got {value!r}'
            )
        return "".join(v.strip() for v in value)
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Amount = Annotated[
    Decimal, BeforeValidator(_amount), PlainSerializer(_digits, return_type=str, when_used="json")
]
Surfaces = Annotated[
    str,
    BeforeValidator(_surfaces),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


class Record(BaseModel):
    """Base: unknown fields are errors; values are not coerced between unrelated types."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Address(Record):
    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(None, max_length=55)
    city: str = Field(min_length=2, max_length=30)
    state: str = Field(description="two-letter state code")
    zip: str = Field(description="5 or 9 digits (the billing provider needs 9)")


class BillingProvider(Record):
    npi: str
    tax_id: str = Field(description="EIN, 9 digits (a hyphen after the second digit is allowed)")
    taxonomy: str
    address: Address
    organization_name: str | None = Field(None, max_length=60)
    last_name: str | None = Field(None, max_length=60)
    first_name: str | None = Field(None, max_length=35)
    middle_name: str | None = Field(None, max_length=25)

    @field_validator("tax_id")
    @classmethod
    def _ein_digits(cls, value: str) -> str:
        return normalize_ein(value)


class Provider(Record):
    """Rendering, referring or attending provider (a person unless organization_name is set)."""

    npi: str
    last_name: str | None = Field(None, max_length=60)
    first_name: str | None = Field(None, max_length=35)
    middle_name: str | None = Field(None, max_length=25)
    organization_name: str | None = Field(None, max_length=60)
    taxonomy: str | None = None


class ServiceFacility(Record):
    name: str = Field(min_length=1, max_length=60)
    npi: str | None = None
    address: Address


class Payer(Record):
    id: str = Field(min_length=2, max_length=80, description="payer id (NM1*PR ... PI)")
    name: str = Field(min_length=1, max_length=60)


class Person(Record):
    """A subscriber or a patient: name, birth date, sex, address."""

    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    middle_name: str | None = Field(None, max_length=25)
    suffix: str | None = Field(None, max_length=10)
    birth_date: IsoDate
    sex: Literal["F", "M", "U"]
    address: Address


class Subscriber(Person):
    member_id: str = Field(min_length=2, max_length=80)
    group_number: str | None = Field(None, max_length=50)
    filing_indicator: str = "CI"
    sequence: Literal["P", "S", "T"] = "P"
    insurance_type: str | None = Field(
        None,
        description="SBR05: Medicare secondary payer type (12, 13, 14, ...) when Medicare "
        "is billed and is not primary",
    )


class Patient(Person):
    relationship: str = Field(description="X12 individual relationship code: 01, 19, 20, 21, ...")


class Adjustment(Record):
    group: Literal["CO", "CR", "OA", "PI", "PR"]
    reason: str
    amount: Amount


class OtherSubscriber(Record):
    member_id: str
    first_name: str
    last_name: str
    relationship: str = "18"
    group_number: str | None = Field(None, max_length=50)


class LineAdjudication(Record):
    line_id: str
    paid_amount: Amount
    paid_units: Decimal | None = None
    paid_date: IsoDate | None = None
    adjustments: list[Adjustment] = []
    procedure: str | None = Field(
        None, description="the code as that payer adjudicated it (835 SVC01), when it differs"
    )
    modifiers: list[str] | None = None
    remaining_patient_liability: Amount | None = Field(
        None, description="2430 AMT*EAF: what the patient still owes on this line after that payer"
    )


class OtherPayer(Record):
    """An earlier payer of a secondary or tertiary claim (837 loops 2320/2330/2430)."""

    payer: Payer
    subscriber: OtherSubscriber
    sequence: Literal["P", "S", "T"] = "P"
    filing_indicator: str = "CI"
    paid_amount: Amount
    paid_date: IsoDate
    payer_claim_number: str | None = None
    adjustments: list[Adjustment] = []
    line_adjudications: list[LineAdjudication] = []
    insurance_type: str | None = Field(None, description="SBR05 when this payer is Medicare")
    remarks: list[str] = Field([], description="claim-level remark codes of its 835 (2320 MOA)")
    remaining_patient_liability: Amount | None = Field(
        None, description="2320 AMT*EAF, only when that payer gave no line detail"
    )


class NextSubscriber(Record):
    """The person who holds a next payer's coverage (the patient's relationship to them)."""

    member_id: str = Field(min_length=2, max_length=80)
    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    middle_name: str | None = Field(None, max_length=25)
    suffix: str | None = Field(None, max_length=10)
    birth_date: IsoDate
    sex: Literal["F", "M", "U"]
    group_number: str | None = Field(None, max_length=50)
    address: Address | None = None
    relationship: str = Field(
        "18", description="the patient's relationship to this subscriber: 18 self, 01 spouse, ..."
    )


class NextPayer(Record):
    """A payer to bill after this claim's payer (secondary, tertiary coverage on file).

    The full form names the coverage's ``subscriber``; the old short form gives ``member_id``
    only, when the next coverage's subscriber is the claim's own subscriber.
    """

    payer: Payer
    member_id: str | None = None
    sequence: Literal["S", "T"] = "S"
    partner: str | None = None
    filing_indicator: str = "CI"
    insurance_type: str | None = Field(None, description="SBR05 when Medicare is this payer")
    subscriber: NextSubscriber | None = None


class DatedCode(Record):
    code: str
    date: IsoDate


class ValueCode(Record):
    code: str
    amount: Amount


class Institutional(Record):
    facility_type: str = Field(description="first two digits of the type of bill, e.g. 13")
    admission_type: str | None = Field(None, description="CL101, e.g. 1 emergency, 3 elective")
    admission_source: str | None = Field(None, description="CL102 point of origin")
    patient_status: str = Field(description="CL103 discharge status, e.g. 01 home")
    statement_from: IsoDate
    statement_to: IsoDate
    admission_date: IsoDate | None = None
    admission_hour: str | None = Field(None, description="HHMM, inpatient admission hour")
    discharge_hour: str | None = Field(None, description="HHMM, inpatient discharge hour")
    admitting_diagnosis: str | None = None
    condition_codes: list[str] = []
    occurrence_codes: list[DatedCode] = []
    value_codes: list[ValueCode] = []
    principal_procedure: DatedCode | None = Field(None, description="ICD-10-PCS code and date")
    drg: str | None = None


class Line(Record):
    line_id: str = Field(description="the practice's line id, sent as REF*6R")
    procedure: str | None = Field(None, description="CPT/HCPCS, CDT for dental")
    modifiers: list[str] = []
    charge: Amount
    units: Decimal = Decimal(1)
    diagnosis_pointers: list[int] = [1]
    service_date: IsoDate | None = None
    service_date_end: IsoDate | None = Field(None, description="last day of a date range")
    place_of_service: str | None = Field(None, description="only when it differs from the claim")
    description: str | None = Field(None, max_length=80, description="for unlisted codes")
    tooth: str | None = None
    surfaces: Surfaces | None = Field(
        None, description='letters of M O D B L I F: "MO" or ["M", "O"]'
    )
    oral_cavity: list[str] = []
    revenue_code: str | None = None
    non_covered_charge: Amount | None = None


ClaimKind = Literal["professional", "dental", "institutional"]


class Claim(Record):
    """One claim as a practice system hands it over."""

    claim_id: str = Field(description="1-20 characters of A-Z a-z 0-9 and -; CLM01")
    kind: ClaimKind
    frequency: Literal["1", "7", "8"] = "1"
    payer_claim_number: str | None = None
    partner: str | None = None
    billing_provider: BillingProvider
    rendering_provider: Provider | None = None
    referring_provider: Provider | None = None
    attending_provider: Provider | None = None
    service_facility: ServiceFacility | None = None
    payer: Payer
    subscriber: Subscriber
    patient: Patient | None = None
    diagnoses: list[str]
    place_of_service: str | None = None
    service_date: IsoDate | None = None
    prior_authorization: str | None = Field(None, max_length=50)
    referral_number: str | None = Field(None, max_length=50)
    signature_on_file: bool = True
    assignment_of_benefits: bool = True
    release_of_information: Literal["Y", "I"] = "Y"
    provider_accepts_assignment: Literal["A", "B", "C"] = "A"
    patient_paid: Amount | None = None
    total_charge: Amount | None = None
    other_payers: list[OtherPayer] = []
    next_payers: list[NextPayer] = Field(
        [],
        description="coverage to bill after this payer (the remittance then says bill_secondary)",
    )
    institutional: Institutional | None = None
    lines: list[Line]

    @property
    def line_total(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal(0))
