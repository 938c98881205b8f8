"""What the simulated clearinghouse and payer do, read from a TOML file.

Every field has a default, so an empty file (or none) gives a clearinghouse that accepts every
well-formed claim and a payer that allows 80% of the charge with a 250.00 deductible and 20%
coinsurance, paying at once. ``gateway/templates/simulator.toml`` documents each field.
Amounts and rates are Decimal: TOML floats are refused (write ``"0.25"`` or ``25``).
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.config import ConfigError
from gateway.domain.claim import Amount

_STATUS = re.compile(r"^[A-Z][0-9]:[0-9]{1,5}(:[0-9A-Z]{2,3})?$")
Rate = Annotated[Amount, Field(ge=0, le=1)]
Percent = Annotated[Amount, Field(ge=0, le=100)]
Money = Annotated[Amount, Field(ge=0)]
Group = Literal["CO", "PR", "OA", "PI"]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _status(value: str) -> str:
    if not _STATUS.match(value):
        raise ValueError(f"{value!r} is not a 277CA status like A7:33:IL (category:code:entity)")
    return value


class ClearinghouseConfig(_Config):
    """Envelope-level behaviour: TA1 and 999."""

    id: str = Field("ACMECH", min_length=1, max_length=15)
    name: str = "ACME CLEARINGHOUSE"
    gateway_id: str = Field("PRACTICE01", min_length=1, max_length=15)
    accepted_receiver_ids: list[str] = []
    reject_duplicate_interchanges: bool = True
    ig_validation: bool = False
    line_breaks: bool = False
    settle_seconds: float = Field(0, ge=0)


class ClaimEditsConfig(_Config):
    """Front-end claim edits: what the 277CA rejects, and with which status code."""

    unknown_members: list[str] = []
    unknown_member_prefixes: list[str] = []
    unknown_member_status: str = "A7:33:IL"
    enrolled_npis: list[str] = []
    not_enrolled_status: str = "A7:562:85"
    timely_filing_days: int = Field(0, ge=0)
    timely_filing_status: str = "A7:187"
    unknown_original_status: str = "A7:464"
    random_reject_rate: Rate = Decimal(0)
    random_reject_status: str = "A7:21"

    _check_status = field_validator(
        "unknown_member_status",
        "not_enrolled_status",
        "timely_filing_status",
        "unknown_original_status",
        "random_reject_status",
    )(_status)


class DenialRule(_Config):
    """A procedure this payer does not pay: each line with it is denied with these codes."""

    procedure: str = Field(min_length=1)
    group: Group = "CO"
    reason: str = Field("50", min_length=1, max_length=5)
    remark: str | None = "M127"


class Denial(_Config):
    group: Group = "CO"
    reason: str = Field("50", min_length=1, max_length=5)
    remark: str | None = "N130"


class AdjudicationConfig(_Config):
    """How the payer prices and pays a claim (the 835)."""

    delay_seconds: int = Field(0, ge=0)
    allowed_percent: Percent = Decimal(80)
    fee_schedule: dict[str, Money] = {}
    deductible: Money = Decimal(250)
    out_of_pocket_max: Money = Decimal(3000)
    coinsurance_percent: Percent = Decimal(20)
    copays: dict[str, Money] = {}
    copay_by_kind: dict[str, Money] = {}
    auth_required: list[str] = []
    auth_denial: Denial = Denial(reason="197", remark="N706")
    denials: list[DenialRule] = []
    random_denial_rate: Rate = Decimal(0)
    random_denial: Denial = Denial()
    # payer id -> its own allowed_percent, when one simulator plays several payers (COB)
    allowed_percent_by_payer: dict[str, Percent] = {}
    # payer id -> [id, name] of the payer it forwards its claims to (crossover: CLP02 19,
    # NM1*TT); the gateway then waits for that payer's own 835
    crossover: dict[str, tuple[str, str]] = {}
    crossover_answers: bool = True  # the payer forwarded to answers it (false: it never does)

    @field_validator("copay_by_kind")
    @classmethod
    def _kinds(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        unknown = sorted(set(value) - {"professional", "dental", "institutional"})
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: use professional, dental or institutional")
        return value


class AdjustmentsConfig(_Config):
    """What happens after a payment: provider-level adjustments and reversals."""

    plb_rate: Rate = Decimal(0)
    interest_percent: Percent = Decimal(1)
    recoupment_percent: Percent = Decimal(10)
    reversal_rate: Rate = Decimal(0)
    reversal_delay_seconds: int = Field(0, ge=0)
    correction_increase_percent: Percent = Decimal(5)


class PayerConfig(_Config):
    """The payer's side of the 835: its address, contact, bank and numbering."""

    name: str | None = None
    address: str = "PO BOX 1000"
    city: str = "DALLAS"
    state: str = Field("TX", pattern=r"^[A-Z]{2}$")
    zip: str = Field("752010000", pattern=r"^[0-9]{5}([0-9]{4})?$")
    contact: str = "EDI SUPPORT"
    phone: str = Field("8005550199", pattern=r"^[0-9]{10,15}$")
    tax_id: str = Field("512345678", pattern=r"^[0-9]{9}$")
    payment_method: Literal["ACH", "CHK"] = "ACH"
    sender_dfi: str = Field("999999992", pattern=r"^[0-9]{9}$")
    sender_account: str = Field("123456789", min_length=1, max_length=35)
    receiver_dfi: str = Field("111000025", pattern=r"^[0-9]{9}$")
    receiver_account: str = Field("987654321", min_length=1, max_length=35)
    claim_number_prefix: str = Field("SIM", pattern=r"^[A-Z0-9]{0,10}$")


class DependentConfig(_Config):
    """A dependent on a member's plan, found by first name (and birth date when given)."""

    first_name: str = Field(min_length=1)
    last_name: str | None = None
    birth_date: date | None = None
    active: bool = True
    coverage_end: date | None = None


class MemberConfig(_Config):
    """A member the payer knows; one not listed is known unless ``[claims]`` says otherwise."""

    member_id: str = Field(min_length=1)
    birth_date: date | None = None  # when given, a 270 with another one gets AAA 71
    active: bool = True
    coverage_end: date | None = None  # an inactive member's coverage ended this day
    dependents: list[DependentConfig] = []  # [] = any dependent asked about is covered


MEDICAL_SERVICE_TYPES = ["30", "1", "33", "47", "48", "50", "86", "88", "98", "AL", "MH", "UC"]
DENTAL_SERVICE_TYPES = ["35", "23", "24", "25", "26", "36", "38", "39", "40", "41"]


class EligibilityConfig(_Config):
    """How the payer answers 270s (the 271): its plans, what it answers, its members."""

    plan_name: str = "SIMULATED GOLD PPO"
    dental_plan_name: str = "SIMULATED DENTAL PLUS"
    insurance_type: str = Field("PR", min_length=1, max_length=3)  # EB04: PR is a PPO
    group_number: str = Field("SIM100", min_length=1, max_length=50)
    plan_begin: date | None = None  # default: January 1 of the year asked about
    medical_service_types: list[str] = MEDICAL_SERVICE_TYPES  # answered; others are not
    dental_service_types: list[str] = DENTAL_SERVICE_TYPES
    dental_limits: dict[str, int] = {"D0120": 2, "D1110": 2}  # procedure: times per year
    members: list[MemberConfig] = []


class SilenceConfig(_Config):
    """Claims the payer keeps quiet about: no 277CA (lost: a 276 gets "not found"), or no 835
    until a 276 asks (then "in process", and the 835 follows)."""

    no_277ca_rate: Rate = Decimal(0)
    no_payment_rate: Rate = Decimal(0)


class SimulatorConfig(_Config):
    """Everything ``gateway simulate`` can be told; see ``templates/simulator.toml``."""

    seed: int = 0
    clearinghouse: ClearinghouseConfig = ClearinghouseConfig()
    claims: ClaimEditsConfig = ClaimEditsConfig()
    adjudication: AdjudicationConfig = AdjudicationConfig()
    adjustments: AdjustmentsConfig = AdjustmentsConfig()
    payer: PayerConfig = PayerConfig()
    eligibility: EligibilityConfig = EligibilityConfig()
    silence: SilenceConfig = SilenceConfig()

    @classmethod
    def from_file(cls, path: Path) -> SimulatorConfig:
        """Read a TOML file; every mistake comes back as one ConfigError sentence."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such simulator configuration file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"{path}: {details}") from None
