"""What an insurer paid (an 835, in domain words) and whether its money adds up.

Plain dataclasses, not pydantic: a remittance can hold hundreds of thousands of claims and these
objects are made on the hot path. Amounts are Decimal; dates are ``datetime.date``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal(0)

CLAIM_STATUS = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only, no payment",
}
FORWARDED = frozenset({"19", "20", "21"})


@dataclass(slots=True)
class Adjustment:
    """One CAS reason: group (CO, PR, OA, PI, CR), reason code, amount (positive reduces pay)."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(slots=True)
class ServicePayment:
    """One SVC loop (2110)."""

    qualifier: str
    procedure: str
    modifiers: list[str]
    charge: Decimal
    paid: Decimal
    revenue_code: str | None = None
    units: Decimal | None = None
    submitted_procedure: str | None = None  # SVC06 when the payer changed the code
    service_date: date | None = None
    service_date_end: date | None = None
    line_id: str | None = None  # REF*6R echoed from the 837
    allowed: Decimal | None = None  # AMT*B6
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # LQ*HE
    position: int = 0  # segment index of the SVC


@dataclass(slots=True)
class Party:
    """A person or organization named in a claim payment (NM1)."""

    last_name: str = ""
    first_name: str = ""
    id_qualifier: str = ""
    id: str = ""


@dataclass(slots=True)
class ClaimPayment:
    """One CLP loop (2100) with its service lines."""

    claim_id: str
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None
    filing_indicator: str = ""
    payer_claim_number: str = ""
    facility_code: str = ""
    frequency: str = ""
    adjustments: list[Adjustment] = field(default_factory=list)
    lines: list[ServicePayment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # MOA/MIA remark codes
    patient: Party | None = None
    insured: Party | None = None
    crossover_carrier: Party | None = None  # NM1*TT: the claim was sent on to this payer
    priority_payer: Party | None = None  # NM1*PR: another payer is primary
    statement_from: date | None = None
    statement_to: date | None = None
    received: date | None = None
    amounts: dict[str, Decimal] = field(default_factory=dict)  # AMT qualifier → amount
    header_number: str = ""  # LX01
    position: int = 0  # segment index of the CLP

    @property
    def status(self) -> str:
        return CLAIM_STATUS.get(self.status_code, f"unknown claim status code {self.status_code}")

    def all_adjustments(self) -> list[Adjustment]:
        """Claim-level and line-level adjustments together."""
        out = list(self.adjustments)
        for line in self.lines:
            out.extend(line.adjustments)
        return out


@dataclass(slots=True)
class ProviderAdjustment:
    """One PLB reason/amount pair; a positive amount reduces the payment."""

    provider_id: str
    fiscal_period_end: date | None
    reason: str
    reference: str
    amount: Decimal
    position: int = 0


@dataclass(slots=True)
class PaymentInfo:
    """The header of one 835 transaction: the money (BPR), its trace (TRN), who pays whom."""

    control_number: str  # ST02
    handling_code: str = ""  # BPR01
    amount: Decimal = ZERO  # BPR02
    credit_debit: str = ""
    method: str = ""  # BPR04: ACH, CHK, NON, ...
    payment_date: date | None = None  # BPR16
    trace_number: str = ""  # TRN02
    trace_originator: str = ""  # TRN03
    production_date: date | None = None  # DTM*405
    payer_name: str = ""
    payer_id: str = ""
    payee_name: str = ""
    payee_id_qualifier: str = ""
    payee_id: str = ""
    interchange_control: str = ""
    position: int = 0  # segment index of the ST

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What makes a remittance unique (field guide 5.5): trace, payer, amount, date."""
        when = self.payment_date.isoformat() if self.payment_date else ""
        return (self.trace_number, self.trace_originator or self.payer_id, str(self.amount), when)


@dataclass(frozen=True, slots=True)
class BalanceError:
    """One rule of field guide 5.4 that does not hold, with the amounts and the difference."""

    rule: str  # "line", "claim", "transaction", "patient_responsibility"
    message: str
    claim_id: str | None = None
    line: int | None = None  # 1-based service line within the claim
    position: int | None = None  # segment index
    expected: Decimal | None = None
    actual: Decimal | None = None

    @property
    def difference(self) -> Decimal | None:
        if self.expected is None or self.actual is None:
            return None
        return self.actual - self.expected

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"rule": self.rule, "message": self.message}
        for key in ("claim_id", "line", "position"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.expected is not None and self.actual is not None:
            out.update(expected=self.expected, actual=self.actual, difference=self.difference)
        return out


def line_balance_error(
    claim: ClaimPayment, n: int, line: ServicePayment, adjusted: Decimal
) -> BalanceError:
    expected = line.charge - adjusted
    return BalanceError(
        "line",
        f"claim {claim.claim_id} line {n}: charge {line.charge} - adjustments {adjusted} = "
        f"{expected}, but the line pays {line.paid} (off by {line.paid - expected})",
        claim.claim_id, n, line.position, expected, line.paid,
    )  # fmt: skip


def claim_balance_error(
    claim: ClaimPayment, claim_adjusted: Decimal, line_adjusted: Decimal, expected: Decimal
) -> BalanceError:
    return BalanceError(
        "claim",
        f"claim {claim.claim_id}: charge {claim.charge} - claim adjustments {claim_adjusted} - "
        f"line adjustments {line_adjusted} = {expected}, but the claim pays {claim.paid} (off by "
        f"{claim.paid - expected})",
        claim.claim_id, None, claim.position, expected, claim.paid,
    )  # fmt: skip


def responsibility_warning(claim: ClaimPayment, share: Decimal) -> BalanceError:
    return BalanceError(
        "patient_responsibility",
        f"claim {claim.claim_id}: CLP05 says the patient owes {claim.patient_responsibility} "
        f"but its PR adjustments add up to {share}; the PR adjustments are used",
        claim.claim_id, None, claim.position, share, claim.patient_responsibility,
    )  # fmt: skip


def patient_share(claim: ClaimPayment) -> Decimal:
    """Σ PR adjustments, claim and lines."""
    return sum((a.amount for a in claim.all_adjustments() if a.group == "PR"), ZERO)


def transaction_balance_error(
    payment: PaymentInfo, paid_total: Decimal, plb_total: Decimal
) -> BalanceError | None:
    """Rule 3: BPR02 = Σ CLP04 - Σ PLB."""
    expected = paid_total - plb_total
    if expected == payment.amount:
        return None
    return BalanceError(
        "transaction",
        f"transaction {payment.control_number}: claims pay {paid_total} - provider "
        f"adjustments {plb_total} = {expected}, but BPR02 says {payment.amount} (off by "
        f"{payment.amount - expected})",
        None,
        None,
        payment.position,
        expected,
        payment.amount,
    )
