"""The payer's answer to a 270: who is covered, by which plan, and what is left to pay.

From the member table (``[eligibility] members``; a member not listed is known unless the
``[claims]`` edits call it unknown, as the 277CA does) and the payer's own accumulators: the
deductible and out-of-pocket amounts still open are those ``adjudication`` applies to the
member's next claim, and a dental frequency limit counts the paid lines of that procedure in
the year asked about. A member the payer does not know gets AAA 75, a birth date that does not
match AAA 71, a dependent it does not know AAA 77. Service types the payer does not answer
(not in its lists) get no row: a partial answer, as real payers give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from gateway.simulator.config import (
    DependentConfig,
    EligibilityConfig,
    MemberConfig,
    SimulatorConfig,
)
from gateway.simulator.edits import member_unknown
from gateway.simulator.model import ZERO, Accumulator
from gateway.simulator.state import State
from gateway.transactions.eligibility_270_reader import Inquiry
from gateway.x12.values import amount

Elements = list[str | list[str] | None]


@dataclass(slots=True)
class BenefitLine:
    """One EB segment (EB01 ... EB13) with the HSD and MSG segments after it."""

    eb: Elements
    hsd: list[Elements] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass(slots=True)
class InquiryAnswer:
    """What the 271 says about one inquiry."""

    inquiry: Inquiry
    payer_trace: str
    subscriber_rejection: str | None = None  # AAA03 at the subscriber level
    dependent_rejection: str | None = None  # AAA03 at the dependent level
    group_number: str = ""  # REF*6P, with the plan's name
    plan_name: str = ""
    plan_begin: date | None = None
    plan_end: date | None = None
    benefits: list[BenefitLine] = field(default_factory=list)

    @property
    def dependent(self) -> bool:
        return "patient" in self.inquiry.request


def answer(
    inquiry: Inquiry, config: SimulatorConfig, state: State, today: date, payer_trace: str
) -> InquiryAnswer:
    """The payer's answer about the person ``inquiry`` asks about."""
    request = inquiry.request
    out = InquiryAnswer(inquiry, payer_trace)
    cfg = config.eligibility
    subscriber = request.get("subscriber") or {}
    member_id = str(subscriber.get("member_id") or "")
    member = next((m for m in cfg.members if m.member_id == member_id), None)
    if member is None and (not member_id or member_unknown(member_id, config.claims)):
        out.subscriber_rejection = "75"  # subscriber not found
        return out
    member = member or MemberConfig(member_id=member_id)
    if _mismatch(member.birth_date, subscriber.get("birth_date")) and not out.dependent:
        out.subscriber_rejection = "71"  # birth date does not match
        return out
    active, ended = member.active, member.coverage_end
    patient = request.get("patient")
    if patient is not None:
        dependent = _dependent(member, patient)
        if dependent is None:
            out.dependent_rejection = "77"  # subscriber found, patient not found
            return out
        if not dependent.active:
            active, ended = False, dependent.coverage_end
    served = _day(request.get("service_date")) or today
    out.plan_begin = cfg.plan_begin or date(served.year, 1, 1)
    asked = [str(s) for s in request.get("service_types") or ["30"]]
    only_dental = all(s in cfg.dental_service_types for s in asked)
    out.group_number = cfg.group_number
    out.plan_name = cfg.dental_plan_name if only_dental else cfg.plan_name
    if not active:
        out.plan_end = ended
        message = f"COVERAGE TERMINATED {ended:%m/%d/%Y}" if ended else "COVERAGE NOT ACTIVE"
        out.benefits.append(BenefitLine(["6", None, "30"], messages=[message]))
        return out
    payer_id = str((request.get("payer") or {}).get("id") or "")
    totals = state.accumulators.get(f"{payer_id}|{member_id}", Accumulator())
    medical = [s for s in asked if s in cfg.medical_service_types]
    dental = [s for s in asked if s in cfg.dental_service_types]
    for code in medical:
        out.benefits.append(_active(code, cfg.plan_name, cfg))
    for code in dental:
        out.benefits.append(_active(code, cfg.dental_plan_name, cfg))
    if medical:
        out.benefits += _cost_sharing("30", config, totals)
    if dental:
        out.benefits += _cost_sharing("35", config, totals, out_of_pocket=False)
        person = patient.get("first_name") if patient else None
        out.benefits += _dental_limits(cfg, state, payer_id, member_id, person, served.year)
    return out


def _day(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _mismatch(known: date | None, sent: object) -> bool:
    return known is not None and _day(sent) is not None and _day(sent) != known


def _dependent(member: MemberConfig, patient: dict[str, object]) -> DependentConfig | None:
    """The dependent asked about (any one is covered when the table lists none)."""
    first = str(patient.get("first_name") or "").upper()
    if not member.dependents:
        return DependentConfig(first_name=first or "?")
    for d in member.dependents:
        if d.first_name.upper() == first and not _mismatch(d.birth_date, patient.get("birth_date")):
            return d
    return None


def _active(code: str, plan: str, cfg: EligibilityConfig) -> BenefitLine:
    return BenefitLine(["1", "FAM", code, cfg.insurance_type, plan])


def _money_row(kind: str, code: str, period: str, value: Decimal) -> BenefitLine:
    """``EB*C*IND*30***23*250*****Y``: an amount, in network."""
    return BenefitLine([kind, "IND", code, None, None, period, amount(value), None, None, None,
                        None, "Y"])  # fmt: skip


def _cost_sharing(
    code: str, config: SimulatorConfig, totals: Accumulator, *, out_of_pocket: bool = True
) -> list[BenefitLine]:
    """Deductible and out-of-pocket (their amounts and what is left), coinsurance, copays: the
    figures ``adjudication`` will apply to the member's next claim."""
    a = config.adjudication
    rows = [
        _money_row("C", code, "23", a.deductible),
        _money_row("C", code, "29", max(a.deductible - totals.deductible_met, ZERO)),
    ]
    if out_of_pocket:
        rows += [
            _money_row("G", code, "23", a.out_of_pocket_max),
            _money_row("G", code, "29", max(a.out_of_pocket_max - totals.out_of_pocket_met, ZERO)),
        ]
    share = (a.coinsurance_percent / 100).normalize()
    rows.append(BenefitLine(["A", "IND", code, None, None, "27", None, f"{share:f}", None, None,
                             None, "Y"]))  # fmt: skip
    kind = "professional" if code == "30" else "dental"
    per_claim = a.copay_by_kind.get(kind)
    visit = "98" if code == "30" else "35"
    if per_claim:
        row = _money_row("B", visit, "27", per_claim)
        row.messages.append("COPAY ONCE PER CLAIM, NOT SUBJECT TO DEDUCTIBLE")
        rows.append(row)
    dental = code == "35"
    for procedure, copay in sorted(a.copays.items()):
        if procedure.startswith("D") == dental:
            row = _money_row("B", visit, "27", copay)
            row.eb.append(["AD" if dental else "HC", procedure])
            rows.append(row)
    return rows


def _dental_limits(
    cfg: EligibilityConfig,
    state: State,
    payer_id: str,
    member_id: str,
    patient_first_name: str | None,
    year: int,
) -> list[BenefitLine]:
    """Per limited procedure: how many a year (``HSD``) and how many are left this year."""
    rows = []
    for procedure, times in sorted(cfg.dental_limits.items()):
        used = _paid_lines(state, payer_id, member_id, patient_first_name, procedure, year)
        limit = BenefitLine(["F", "IND", "41", None, None, "23", None, None, "VS", str(times),
                             None, None, ["AD", procedure]])  # fmt: skip
        limit.hsd.append(["VS", str(times), None, None, "23", "1"])
        rows.append(limit)
        rows.append(
            BenefitLine(
                [
                    "F",
                    "IND",
                    "41",
                    None,
                    None,
                    "29",
                    None,
                    None,
                    "VS",
                    str(max(times - used, 0)),
                    None,
                    None,
                    ["AD", procedure],
                ]
            )
        )
    return rows


def _paid_lines(
    state: State,
    payer_id: str,
    member_id: str,
    patient_first_name: str | None,
    procedure: str,
    year: int,
) -> int:
    """Lines of ``procedure`` the payer paid for this person in ``year`` (denials not counted)."""
    count = 0
    for record in state.claims.values():
        claim, payment = record.claim, record.payment
        if record.status != "paid" or payment is None or claim.kind != "dental":
            continue
        if (claim.payer_id, claim.member_id) != (payer_id, member_id):
            continue
        patient = (claim.patient_first_name or "").upper() if claim.patient_last_name else None
        if patient != (patient_first_name.upper() if patient_first_name else None):
            continue
        for line in payment.lines:
            served = line.line.service_date
            if line.line.procedure == procedure and line.allowed and served and served.year == year:
                count += 1
    return count


def answer_all(
    inquiries: list[Inquiry], config: SimulatorConfig, state: State, today: date
) -> list[InquiryAnswer]:
    """The answers to one 270 transaction set, each with a trace of the payer's own."""
    out = []
    for inquiry in inquiries:
        state.counters.eligibility_trace += 1
        trace = f"SIMEL{state.counters.eligibility_trace:010d}"
        out.append(answer(inquiry, config, state, today, trace))
    return out
