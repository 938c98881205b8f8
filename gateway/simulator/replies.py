"""The answers: TA1, 999 (005010X231A1), 277CA (005010X214) and 835 (005010X221A1).

Written with the gateway's own :class:`X12Writer`, so counts and trailers are computed, never
typed. Replies go from the clearinghouse (the inbound ISA08/GS03) back to the practice (ISA06/
GS02) with the inbound usage indicator. Shapes follow the validated examples of field guide 9.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TextIO

from gateway.simulator.config import PayerConfig
from gateway.simulator.edits import ACCEPTED, RECEIVED, StatusCode
from gateway.simulator.intake import InboundGroup
from gateway.simulator.model import ZERO, Adj, Adjudication, ClaimIn, LineResult, Route
from gateway.x12.values import amount, d8, quantity, rd8
from gateway.x12.writer import X12Writer

ACK_999 = "005010X231A1"
ACK_277CA = "005010X214"
REMIT_835 = "005010X221A1"
# CLP06 takes a subset of the SBR09 list (field guide 5.2): others are reported as 12 (PPO).
_CLP06 = frozenset("12 13 14 15 16 17 AM CH DS HM LM MA MB MC OF TV VA WC ZZ".split())  # noqa: SIM905
_CAS_PER_SEGMENT = 6
_PLB_PER_SEGMENT = 6


@contextmanager
def _interchange(
    w: X12Writer, route: Route, control: int, when: datetime, group: tuple[str, str] | None
) -> Iterator[None]:
    """ISA (and GS when ``group`` = (functional id, version)) from us back to the practice."""
    with w.interchange(
        sender_qualifier=route.clearinghouse_qualifier,
        sender_id=route.clearinghouse_id,
        receiver_qualifier=route.practice_qualifier,
        receiver_id=route.practice_id,
        control_number=control,
        usage=route.usage,
        when=when,
    ):
        if group is None:
            yield
            return
        with w.group(
            functional_id=group[0],
            sender=route.clearinghouse_code,
            receiver=route.practice_code,
            control_number=control,
            version=group[1],
            when=when,
        ):
            yield


# ------------------------------------------------------------------------------- TA1
def write_ta1(
    out: TextIO,
    *,
    route: Route,
    control: int,
    when: datetime,
    acknowledged: str,
    interchange_date: str,
    interchange_time: str,
    note: str,
    line_breaks: bool = False,
) -> None:
    """``TA1*000000101*250310*1200*A*000~`` alone in its interchange (IEA01 = 0)."""
    w = X12Writer(out, line_breaks=line_breaks)
    with _interchange(w, route, control, when, None):
        status = "A" if note == "000" else "R"
        w.segment("TA1", acknowledged, interchange_date, interchange_time, status, note)


# ------------------------------------------------------------------------------- 999
def write_999(
    out: TextIO,
    *,
    route: Route,
    control: int,
    when: datetime,
    groups: Sequence[InboundGroup],
    line_breaks: bool = False,
) -> None:
    """One 999 transaction set per functional group received (field guide 6)."""
    w = X12Writer(out, line_breaks=line_breaks)
    with _interchange(w, route, control, when, ("FA", ACK_999)):
        for n, group in enumerate(groups, 1):
            with w.transaction("999", f"{n:04d}", ACK_999):
                _ack_group(w, group)


def _ack_group(w: X12Writer, group: InboundGroup) -> None:
    w.segment("AK1", group.get(1), group.get(6), group.get(8))
    received = len(group.sets)
    accepted = len(group.accepted_sets)
    if not group.codes:
        for st in group.sets:
            w.segment("AK2", st.st[1], st.control, st.st[3] if len(st.st) > 3 else None)
            for issue in st.issues:
                w.segment("IK3", issue.segment_id, str(issue.position), issue.loop, issue.code)
                if issue.claim_id:
                    w.segment("CTX", ["CLM01", issue.claim_id])
                e = issue.element
                if e is not None:
                    w.segment("IK4", e.position.split(":"), e.reference, e.code, e.bad_value)
            w.segment("IK5", "A" if st.accepted else "R", *_unique(st.codes)[:5])
    rejected = bool(group.codes) or accepted == 0
    status = "R" if rejected else ("A" if accepted == received else "P")
    included = group.included if group.included is not None else received
    w.segment("AK9", status, str(included), str(received), str(accepted), *_unique(group.codes)[:5])


def _unique(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(codes))


# ------------------------------------------------------------------------------- 277CA
@dataclass(slots=True)
class ClaimStatus:
    """What the 277CA says about one claim."""

    claim: ClaimIn
    statuses: list[StatusCode]  # rejections; empty means accepted
    payer_claim_number: str | None  # REF*1K, accepted claims only
    trace: str  # REF*D9: the clearinghouse's own number for the claim

    @property
    def accepted(self) -> bool:
        return not self.statuses


@dataclass(slots=True)
class SetStatus:
    """The claims of one accepted 837 transaction set: one 277CA transaction set."""

    batch_id: str  # BHT03 of the 837, echoed in 2200B TRN02
    submitter_name: str
    submitter_id: str
    claims: list[ClaimStatus] = field(default_factory=list)


def write_277ca(
    out: TextIO,
    *,
    route: Route,
    control: int,
    when: datetime,
    sets: Sequence[SetStatus],
    line_breaks: bool = False,
) -> None:
    """Per 837 set, the HL tree payer → submitter → billing provider → one patient per claim."""
    w = X12Writer(out, line_breaks=line_breaks)
    today = when.date()
    with _interchange(w, route, control, when, ("HN", ACK_277CA)):
        for n, status in enumerate(sets, 1):
            with w.transaction("277", f"{n:04d}", ACK_277CA):
                w.segment(
                    "BHT", "0085", "08", f"CA{control:09d}{n:04d}", d8(when), when.strftime("%H%M"),
                    "TH",
                )  # fmt: skip
                _claim_ack_tree(w, status, today, f"{control:09d}{n:04d}")


def _claim_ack_tree(w: X12Writer, status: SetStatus, today: date, trace: str) -> None:
    hl = 0
    by_payer: dict[tuple[str, str], list[ClaimStatus]] = {}
    for c in status.claims:
        by_payer.setdefault((c.claim.payer_id, c.claim.payer_name), []).append(c)
    for p, ((payer_id, payer_name), claims) in enumerate(by_payer.items(), 1):
        hl += 1
        source = hl
        w.segment("HL", str(hl), None, "20", "1")
        w.segment("NM1", "PR", "2", payer_name, None, None, None, None, "PI", payer_id)
        w.segment("TRN", "1", f"{trace}{p:03d}")
        w.segment("DTP", "050", "D8", d8(today))
        w.segment("DTP", "009", "D8", d8(today))
        hl += 1
        receiver = hl
        w.segment("HL", str(hl), str(source), "21", "1")
        w.segment("NM1", "41", "2", status.submitter_name or "SUBMITTER", None, None, None, None,
                  "46", status.submitter_id or "UNKNOWN")  # fmt: skip
        w.segment("TRN", "2", status.batch_id or "0")
        w.segment("STC", RECEIVED.composite(), d8(today), "WQ", amount(_total(claims)))
        _counts(w, claims, ("90", "AA"))
        by_provider: dict[tuple[str, str], list[ClaimStatus]] = {}
        for c in claims:
            by_provider.setdefault((c.claim.billing_npi, c.claim.billing_name), []).append(c)
        for q, group in enumerate(by_provider.values(), 1):
            hl += 1
            provider = hl
            first = group[0].claim
            w.segment("HL", str(hl), str(receiver), "19", "1")
            w.segment(
                "NM1", "85", "1" if first.billing_person else "2", first.billing_name,
                first.billing_first_name, None, None, None, "XX", first.billing_npi,
            )  # fmt: skip
            w.segment("TRN", "1", f"{trace}{p:03d}{q:03d}")
            w.segment("STC", RECEIVED.composite(), None, "WQ", amount(_total(group)))
            _counts(w, group, ("QA", "QC"))
            for c in group:
                hl += 1
                _claim_ack(w, c, hl, provider, today)


def _total(claims: Sequence[ClaimStatus]) -> Decimal:
    return sum((c.claim.charge for c in claims), ZERO)


def _counts(w: X12Writer, claims: Sequence[ClaimStatus], qualifiers: tuple[str, str]) -> None:
    """QTY accepted / rejected counts, then AMT*YU / AMT*YY amounts (only the non-zero ones)."""
    accepted = [c for c in claims if c.accepted]
    rejected = [c for c in claims if not c.accepted]
    if accepted:
        w.segment("QTY", qualifiers[0], str(len(accepted)))
    if rejected:
        w.segment("QTY", qualifiers[1], str(len(rejected)))
    if accepted:
        w.segment("AMT", "YU", amount(_total(accepted)))
    if rejected:
        w.segment("AMT", "YY", amount(_total(rejected)))


def _claim_ack(w: X12Writer, c: ClaimStatus, hl: int, parent: int, today: date) -> None:
    claim = c.claim
    w.segment("HL", str(hl), str(parent), "PT")
    last, first = _patient_name(claim)
    w.segment("NM1", "QC", "1", last, first, None, None, None, "MI", claim.member_id)
    w.segment("TRN", "2", claim.claim_id)
    charge = amount(claim.charge)
    for status in c.statuses or [ACCEPTED]:
        action = "U" if status.rejected else "WQ"
        w.segment("STC", status.composite(), d8(today), action, charge)
    if c.payer_claim_number:
        w.segment("REF", "1K", c.payer_claim_number)
    w.segment("REF", "D9", c.trace)
    if claim.kind == "institutional" and claim.facility_code:
        w.segment("REF", "BLT", f"{claim.facility_code}{claim.frequency}")
    start, end = claim.service_dates()
    start = start or today
    end = end or start
    if end != start:
        w.segment("DTP", "472", "RD8", rd8(start, end))
    else:
        w.segment("DTP", "472", "D8", d8(start))


def _patient_name(claim: ClaimIn) -> tuple[str, str | None]:
    if claim.patient_last_name:
        return claim.patient_last_name, claim.patient_first_name
    return claim.subscriber_last_name, claim.subscriber_first_name


# ------------------------------------------------------------------------------- 835
@dataclass(slots=True)
class ProviderAdjustment:
    """One PLB reason/amount pair: positive takes money back, negative pays more."""

    reason: str
    reference: str
    amount: Decimal


@dataclass(slots=True)
class Remittance:
    """One 835 transaction set: one payer paying one payee (billing provider)."""

    payer_id: str
    payer_name: str
    payee_name: str
    payee_npi: str
    payee_tax_id: str
    trace: str  # TRN02
    claims: list[tuple[ClaimIn, Adjudication]] = field(default_factory=list)
    adjustments: list[ProviderAdjustment] = field(default_factory=list)

    @property
    def paid(self) -> Decimal:
        return sum((a.paid for _, a in self.claims), ZERO)

    @property
    def amount(self) -> Decimal:
        """BPR02 = Σ CLP04 − Σ PLB (field guide 5.4, rule 3)."""
        return self.paid - sum((p.amount for p in self.adjustments), ZERO)


def write_835(
    out: TextIO,
    *,
    route: Route,
    control: int,
    when: datetime,
    remittances: Sequence[Remittance],
    payer: PayerConfig,
    line_breaks: bool = False,
) -> None:
    """One interchange holding one 835 transaction set per payee."""
    w = X12Writer(out, line_breaks=line_breaks)
    with _interchange(w, route, control, when, ("HP", REMIT_835)):
        for n, r in enumerate(remittances, 1):
            with w.transaction("835", f"{n:04d}", None):
                _remittance(w, r, payer, when.date())


def _remittance(w: X12Writer, r: Remittance, payer: PayerConfig, today: date) -> None:
    total = r.amount
    payer_ein = f"1{payer.tax_id}"
    if total == 0:
        w.segment("BPR", "H", "0", "C", "NON", *[None] * 11, d8(today))
    elif payer.payment_method == "ACH":
        w.segment(
            "BPR", "I", amount(total), "C", "ACH", "CCP", "01", payer.sender_dfi, "DA",
            payer.sender_account, payer_ein, None, "01", payer.receiver_dfi, "DA",
            payer.receiver_account, d8(today),
        )  # fmt: skip
    else:
        w.segment("BPR", "I", amount(total), "C", "CHK", *[None] * 11, d8(today))
    w.segment("TRN", "1", r.trace, payer_ein)
    w.segment("DTM", "405", d8(today))
    w.segment("N1", "PR", payer.name or r.payer_name)
    w.segment("N3", payer.address)
    w.segment("N4", payer.city, payer.state, payer.zip)
    w.segment("REF", "2U", r.payer_id)
    w.segment("PER", "BL", payer.contact, "TE", payer.phone)
    w.segment("N1", "PE", r.payee_name, "XX", r.payee_npi)
    if len(r.payee_tax_id) == 9 and r.payee_tax_id.isdigit():
        w.segment("REF", "TJ", r.payee_tax_id)
    if r.claims:
        w.segment("LX", "1")
        for claim, adjudication in r.claims:
            _claim_payment(w, claim, adjudication)
    items = r.adjustments
    for start in range(0, len(items), _PLB_PER_SEGMENT):
        pairs: list[str | list[str | None] | None] = []
        for p in items[start : start + _PLB_PER_SEGMENT]:
            pairs += [[p.reason, p.reference or None], amount(p.amount)]
        w.segment("PLB", r.payee_npi, f"{today.year}1231", *pairs)


def _claim_payment(w: X12Writer, claim: ClaimIn, a: Adjudication) -> None:
    """CLP, patient and insured, dates, then one SVC loop per line (field guide 9.4)."""
    filing = claim.filing_indicator if claim.filing_indicator in _CLP06 else "12"
    w.segment(
        "CLP", claim.claim_id, a.status_code, amount(a.charge), amount(a.paid),
        amount(a.patient_responsibility), filing, a.payer_claim_number, claim.facility_code or None,
        claim.frequency,
    )  # fmt: skip
    last, first = _patient_name(claim)
    w.segment("NM1", "QC", "1", last, first, None, None, None, "MI", claim.member_id)
    if claim.patient_last_name:
        w.segment("NM1", "IL", "1", claim.subscriber_last_name, claim.subscriber_first_name,
                  None, None, None, "MI", claim.member_id)  # fmt: skip
    if a.crossover_to is not None:
        w.segment("NM1", "TT", "2", a.crossover_to[1], None, None, None, None, "PI",
                  a.crossover_to[0])  # fmt: skip
    if claim.statement_from:
        w.segment("DTM", "232", d8(claim.statement_from))
        w.segment("DTM", "233", d8(claim.statement_to or claim.statement_from))
    w.segment("DTM", "050", d8(a.received))
    for result in a.lines:
        _service_payment(w, result)


def _service_payment(w: X12Writer, r: LineResult) -> None:
    line = r.line
    procedure = [line.qualifier, line.procedure, *line.modifiers[:4]]
    revenue = line.revenue_code if line.qualifier == "HC" else None
    w.segment("SVC", procedure, amount(line.charge), amount(r.paid), revenue, quantity(line.units))
    start, end = line.service_date, line.service_date_end
    if start is not None and end is not None and end != start:
        w.segment("DTM", "150", d8(start))
        w.segment("DTM", "151", d8(end))
    elif start is not None:
        w.segment("DTM", "472", d8(start))
    for group, adjs in _by_group(r.adjustments).items():
        for i in range(0, len(adjs), _CAS_PER_SEGMENT):
            triplets: list[str | None] = []
            for a in adjs[i : i + _CAS_PER_SEGMENT]:
                triplets += [a.reason, amount(a.amount), None]
            w.segment("CAS", group, *triplets)
    if line.line_id:
        w.segment("REF", "6R", line.line_id)
    if r.allowed is not None:
        w.segment("AMT", "B6", amount(r.allowed))
    for remark in r.remarks:
        w.segment("LQ", "HE", remark)


def _by_group(adjustments: list[Adj]) -> dict[str, list[Adj]]:
    out: dict[str, list[Adj]] = {}
    for a in adjustments:
        out.setdefault(a.group, []).append(a)
    return out
