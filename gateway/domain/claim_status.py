"""Claim status inquiries (276) and the payer's answers (277, 005010X212) in domain words.

A 277 may carry several STC triplets per claim; each is kept with its raw codes (an unknown one
is shown as unknown, never dropped) and the claim's answer is read from the most severe of them
(field guide part 2, 2.3 and 2.5): a rejection or "not found" outweighs "pending".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from gateway.domain.acknowledgments import STC_CATEGORIES, STC_STATUS, LineStatus, Status, text
from gateway.domain.claim import Claim

# Categories a 277 answer uses beyond the 277CA's (code list 507, paraphrased).
CATEGORIES = {
    **STC_CATEGORIES,
    "F3F": "finalized: forwarded to a later payer",
    "F3N": "finalized: not forwarded",
    "E2": "response not possible: information holder not responding",
    "E3": "response not possible: relational fields in error",
    "E4": "response not possible: trading partner requirement not met",
    **{f"R{n}": "requests for additional information" for n in range(1, 18)},
}
# Status codes a 277 answer uses, where our 277CA table says otherwise or nothing (code list 508).
STATUSES = {
    **STC_STATUS,
    "2": "more detailed information in the letter",
    "6": "balance due from the subscriber",
    "17": "forwarded by a third party to entity",
    "35": "claim/encounter not found",
    "52": "investigating the existence of other insurance coverage",
    "65": "claim/line has been paid",
    "88": "entity not eligible for benefits for submitted dates of service",
    "101": "claim was processed as adjustment to previous claim",
    "107": "processed according to contract provisions",
}

# What a claim's answer comes to, from the STC category (most severe first).
OUTCOMES: tuple[tuple[str, frozenset[str], str], ...] = (
    ("rejected", frozenset({"A3", "A6", "A7", "A8"}), "correct the claim and send it again"),
    ("not_found", frozenset({"A4", "D0"}), "the payer has no record: resend the claim"),
    ("request_error", frozenset({"E0", "E3", "E4"}), "the inquiry itself was refused: check it"),
    (
        "info_requested",
        frozenset({"P3", "P4"} | {f"R{n}" for n in range(18)}),
        "send the payer the information it asks for",
    ),
    ("denied", frozenset({"F2", "F4"}), "look for the 835 and consider an appeal"),
    ("unknown", frozenset(), "read the raw codes and call the payer"),
    ("retry", frozenset({"E1", "E2"}), "the payer could not answer now: ask again later"),
    ("paid", frozenset({"F1"}), "expect the 835 (the remittance trace names it)"),
    ("finalized", frozenset({"F0", "F3", "F3F", "F3N"}), "expect the 835"),
    (
        "pending",
        frozenset({"A0", "A1", "A2", "A5", "P0", "P1", "P2", "P5"}),
        "wait: the payer is working on it",
    ),
)
_SEVERITY = {name: n for n, (name, _, _) in enumerate(OUTCOMES)}
ACTIONS = {name: action for name, _, action in OUTCOMES}


def outcome_of(category: str) -> str:
    """The outcome one STC category stands for ("unknown" for a category not in our table)."""
    for name, categories, _ in OUTCOMES:
        if category in categories:
            return name
    return "unknown"


def status_words(s: Status) -> dict[str, object]:
    """One STC triplet with its raw codes and their plain words (unknown codes say so)."""
    return {
        "category": s.category,
        "code": s.code,
        "entity": s.entity,
        "category_text": text(CATEGORIES, s.category, "status category"),
        "code_text": text(STATUSES, s.code, "status code"),
        "known": s.category in CATEGORIES and (not s.code or s.code in STATUSES),
    }


@dataclass(frozen=True, slots=True)
class InquiryPerson:
    last_name: str
    first_name: str
    member_id: str = ""
    birth_date: date | None = None
    sex: str = ""


@dataclass(frozen=True, slots=True)
class InquiryLine:
    """A service line asked about (2210D/E): the 277 answers it with its own STC."""

    line_id: str  # our REF*6R, sent as REF*FJ
    procedure: str  # HC:<code>
    charge: Decimal
    units: Decimal
    service_date: date


@dataclass(frozen=True, slots=True)
class StatusInquiry:
    """One claim asked about in a 276 (loop 2200D, or 2200E for a dependent)."""

    trace: str  # TRN02, unique per inquiry; the 277 returns it as TRN*2
    claim_id: str  # our CLM01, sent as REF*EJ
    payer_id: str
    payer_name: str
    provider_name: str
    provider_npi: str
    subscriber: InquiryPerson
    charge: Decimal
    service_from: date
    service_to: date
    patient: InquiryPerson | None = None  # a dependent (2000E)
    payer_claim_number: str = ""  # REF*1K, the best search key when known
    bill_type: str = ""  # REF*BLT for institutional claims
    lines: tuple[InquiryLine, ...] = ()


def inquiry_for(claim: Claim, trace: str, payer_claim_number: str | None = None) -> StatusInquiry:
    """The 276 question about ``claim`` (its dates from the lines, or the claim's own)."""
    dates = [d for line in claim.lines for d in (line.service_date, line.service_date_end) if d]
    if claim.institutional is not None:
        dates += [claim.institutional.statement_from, claim.institutional.statement_to]
    if claim.service_date is not None:
        dates.append(claim.service_date)
    if not dates:
        raise ValueError(f"claim {claim.claim_id}: no date of service to ask about")
    bp = claim.billing_provider
    name = bp.organization_name or " ".join(p for p in (bp.first_name, bp.last_name) if p)
    s = claim.subscriber
    subscriber = InquiryPerson(s.last_name, s.first_name, s.member_id, s.birth_date, s.sex)
    patient = None
    if claim.patient is not None and claim.patient.relationship != "18":
        p = claim.patient
        patient = InquiryPerson(p.last_name, p.first_name, "", p.birth_date, p.sex)
    bill_type = ""
    if claim.institutional is not None:
        bill_type = claim.institutional.facility_type + claim.frequency
    return StatusInquiry(
        trace=trace, claim_id=claim.claim_id, payer_id=claim.payer.id,
        payer_name=claim.payer.name, provider_name=name, provider_npi=bp.npi,
        subscriber=subscriber, charge=claim.total_charge or claim.line_total,
        service_from=min(dates), service_to=max(dates), patient=patient,
        payer_claim_number=payer_claim_number or claim.payer_claim_number or "",
        bill_type=bill_type,
    )  # fmt: skip


@dataclass(slots=True)
class StatusAnswer:
    """What a 277 says about one claim (2200D/E), matched to our inquiry by ``trace``."""

    trace: str = ""  # TRN*2: our TRN02
    claim_id: str = ""  # REF*EJ: our CLM01
    payer_claim_number: str = ""  # REF*1K
    statuses: list[Status] = field(default_factory=list)
    lines: list[LineStatus] = field(default_factory=list)
    charge: Decimal | None = None  # STC04
    paid: Decimal | None = None  # STC05
    finalized: date | None = None  # STC06
    remit_date: date | None = None  # STC08
    remit_trace: str = ""  # STC09 = the 835's TRN02
    payer_name: str = ""
    position: int = 0  # segment position of its HL

    @property
    def all_statuses(self) -> list[Status]:
        return self.statuses + [s for line in self.lines for s in line.statuses]

    @property
    def outcome(self) -> str:
        """The most severe outcome among its STC triplets ("unknown" when it has none)."""
        outcomes = [outcome_of(s.category) for s in self.all_statuses] or ["unknown"]
        return min(outcomes, key=_SEVERITY.__getitem__)

    def detail(self) -> dict[str, object]:
        """What the claim's timeline keeps of this answer: every code, in plain words."""
        out: dict[str, object] = {
            "outcome": self.outcome,
            "action": ACTIONS[self.outcome],
            "trace": self.trace,
            "statuses": [status_words(s) for s in self.statuses],
        }
        if self.lines:
            out["lines"] = [
                {"line_id": line.line_id, "statuses": [status_words(s) for s in line.statuses]}
                for line in self.lines
            ]
        if self.payer_claim_number:
            out["payer_claim_number"] = self.payer_claim_number
        for key in ("charge", "paid"):
            value = getattr(self, key)
            if value is not None:
                out[key] = f"{value:.2f}"
        for key in ("finalized", "remit_date"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.isoformat()
        if self.remit_trace:
            out["remit_trace"] = self.remit_trace
        return out
