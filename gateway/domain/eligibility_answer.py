"""What a 271 says, element by element, before it is put into plain words (``benefits``).

The 271 reader fills these; nothing here knows X12 syntax. Codes are kept as sent, so a code no
table knows still reaches the benefits record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class RequestRejection:
    """An AAA segment: the payer could not answer (all of it, or one service type)."""

    valid_request: str  # AAA01: Y the request was valid, N it was not
    reason: str  # AAA03
    follow_up: str  # AAA04
    level: str  # payer, provider, subscriber, dependent or benefit
    position: int  # segment position in the file


@dataclass(frozen=True, slots=True)
class Name:
    """An NM1: a person or an organization, with its identifier."""

    entity: str  # NM101
    last_name: str
    first_name: str = ""
    middle_name: str = ""
    suffix: str = ""
    id_qualifier: str = ""
    id: str = ""


@dataclass(frozen=True, slots=True)
class DatedFact:
    """A DTP: a date or a range (``end`` equals ``start`` for one day)."""

    qualifier: str
    start: date | None
    end: date | None
    raw: str


@dataclass(frozen=True, slots=True)
class Reference:
    qualifier: str
    value: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """An HSD: how often a service may be delivered (a frequency limit)."""

    quantity_qualifier: str  # HSD01
    quantity: Decimal | None  # HSD02
    unit: str  # HSD03
    sample: Decimal | None  # HSD04: per how many units
    period: str  # HSD05 time period
    periods: Decimal | None  # HSD06
    frequency: str  # HSD07
    pattern: str  # HSD08


@dataclass(slots=True)
class RelatedEntity:
    """A 2120 loop: another payer, a primary care provider, whom to call."""

    name: Name | None = None
    contact: list[str] = field(default_factory=list)  # PER communication numbers


@dataclass(slots=True)
class BenefitRow:
    """One EB segment with what follows it in its 2110 loop."""

    position: int
    kind: str  # EB01
    coverage_level: str = ""  # EB02
    service_types: list[str] = field(default_factory=list)  # EB03, split on repetition
    insurance_type: str = ""  # EB04
    plan_name: str = ""  # EB05
    period: str = ""  # EB06
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08, a fraction (0.2 = 20%)
    quantity_qualifier: str = ""  # EB09
    quantity: Decimal | None = None  # EB10
    authorization: str = ""  # EB11
    network: str = ""  # EB12
    procedure: list[str] = field(default_factory=list)  # EB13 components
    deliveries: list[Delivery] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    dates: list[DatedFact] = field(default_factory=list)
    rejections: list[RequestRejection] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    entities: list[RelatedEntity] = field(default_factory=list)


@dataclass(slots=True)
class Member:
    """A subscriber or a dependent as the payer knows them (loop 2100C or 2100D)."""

    name: Name
    references: list[Reference] = field(default_factory=list)
    address_lines: list[str] = field(default_factory=list)
    city: str = ""
    state: str = ""
    zip: str = ""
    birth_date: date | None = None
    sex: str = ""
    relationship: str = ""  # INS02
    dates: list[DatedFact] = field(default_factory=list)
    rejections: list[RequestRejection] = field(default_factory=list)

    def reference(self, qualifier: str) -> Reference | None:
        return next((r for r in self.references if r.qualifier == qualifier), None)


@dataclass(slots=True)
class EligibilityAnswer:
    """The payer's answer about one person: one 2000C (or 2000D) with our trace number."""

    trace: str  # TRN*2 TRN02: our request id
    position: int  # the HL segment's position
    payer: Name
    provider: Name | None
    subscriber: Member
    dependent: Member | None = None
    payer_traces: list[str] = field(default_factory=list)  # the payer's own TRN*1
    rejections: list[RequestRejection] = field(default_factory=list)  # payer/provider level
    benefits: list[BenefitRow] = field(default_factory=list)

    @property
    def member(self) -> Member:
        """Whom the answer is about."""
        return self.dependent or self.subscriber


@dataclass(slots=True)
class Response271:
    """One 271 transaction set."""

    reference: str  # BHT03: the 270's BHT03, echoed
    control: str  # ST02
    position: int
    answers: list[EligibilityAnswer] = field(default_factory=list)
    # AAA at the payer or provider level with no subscriber to hang them on: the payer refused
    # the whole inquiry (BHT03 says which).
    rejections: list[RequestRejection] = field(default_factory=list)
