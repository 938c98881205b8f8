"""What the simulator remembers about a claim and what it decided, in JSON-ready models.

These live in the state file between steps (a payment may be due hours after the 837 came),
so they are pydantic models with Decimal amounts (written as strings, never floats).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

ZERO = Decimal(0)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Route(_Model):
    """Who talks to whom: the identities of an inbound 837, from which replies are addressed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    practice_qualifier: str
    practice_id: str  # inbound ISA06: the gateway
    clearinghouse_qualifier: str
    clearinghouse_id: str  # inbound ISA08: us
    practice_code: str  # inbound GS02
    clearinghouse_code: str  # inbound GS03
    usage: str  # ISA15, echoed


class LineIn(_Model):
    """One submitted service line, as much as adjudication and the 835 need."""

    line_id: str
    qualifier: str  # HC, AD or NU (revenue code only)
    procedure: str  # the code, or the revenue code when qualifier is NU
    modifiers: list[str] = []
    revenue_code: str | None = None
    charge: Decimal
    units: Decimal = Decimal(1)
    service_date: date | None = None
    service_date_end: date | None = None


class ClaimIn(_Model):
    """One submitted claim (from the 837 reader's record)."""

    claim_id: str
    kind: str
    frequency: str = "1"
    original_reference: str | None = None  # REF*F8 of a replacement or void
    prior_authorization: str | None = None
    sequence: str = "P"  # SBR01
    facility_code: str = ""  # POS, or the first two digits of the bill type
    filing_indicator: str = "CI"
    payer_id: str
    payer_name: str
    billing_npi: str
    billing_name: str
    billing_person: bool = False
    billing_first_name: str | None = None
    billing_tax_id: str = ""
    member_id: str
    subscriber_last_name: str
    subscriber_first_name: str | None = None
    patient_last_name: str | None = None  # only when the patient is not the subscriber
    patient_first_name: str | None = None
    statement_from: date | None = None
    statement_to: date | None = None
    lines: list[LineIn]
    # what earlier payers did (2320/2430 of a secondary or tertiary claim), per line id: all
    # of them paid, and what the last of them left the patient (coordination of benefits)
    prior_paid: dict[str, Decimal] = {}
    prior_share: dict[str, Decimal] = {}

    @property
    def charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), ZERO)

    def service_dates(self) -> tuple[date | None, date | None]:
        """First and last service day over the lines (the statement period if none)."""
        days = [d for line in self.lines for d in (line.service_date, line.service_date_end) if d]
        if not days:
            return self.statement_from, self.statement_to or self.statement_from
        return min(days), max(days)


class Adj(_Model):
    """One CAS reason: a positive amount reduces the payment."""

    group: str
    reason: str
    amount: Decimal


class LineResult(_Model):
    """What the payer decided for one line (an 835 2110 loop)."""

    line: LineIn
    paid: Decimal
    allowed: Decimal | None = None
    adjustments: list[Adj] = []
    remarks: list[str] = []

    @property
    def charge(self) -> Decimal:
        return self.line.charge


class Adjudication(_Model):
    """One CLP loop: a payment, or the reversal of one (status 22, amounts negated)."""

    status_code: str  # 1/2/3 processed as primary/secondary/tertiary, 22 reversal
    payer_claim_number: str
    received: date
    lines: list[LineResult]
    crossover_to: tuple[str, str] | None = None  # (payer id, name) it was forwarded to (19)

    @property
    def charge(self) -> Decimal:
        return sum((r.charge for r in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((r.paid for r in self.lines), ZERO)

    def total(self, group: str, reason: str | None = None) -> Decimal:
        return sum(
            (
                a.amount
                for r in self.lines
                for a in r.adjustments
                if a.group == group and (reason is None or a.reason == reason)
            ),
            ZERO,
        )

    @property
    def patient_responsibility(self) -> Decimal:
        return self.total("PR")


class Accumulator(_Model):
    """A member's deductible and out-of-pocket totals met so far (persisted across claims)."""

    deductible_met: Decimal = ZERO
    out_of_pocket_met: Decimal = ZERO
