"""The worklist: what needs a person today, most urgent first (the nearest deadline, then the
most money). Each item is computed from the ledger at ``now``, so it leaves the list by itself
once its cause is gone: the ack came, the claim was resent, the payment was released.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from gateway.config import FollowupConfig
from gateway.domain.claim_status import ACTIONS
from gateway.followup.rules import TIMELY_FILING_NOTICE_DAYS, Rules, learned_from
from gateway.ledger.followup import ClaimFacts, StoredInquiry
from gateway.ledger.ledger import Ledger

REASONS = (
    "rejected", "denied", "partially_denied", "no_999", "no_277ca", "no_payment",
    "timely_filing", "payment_held", "unmatched_payment", "next_payer_pending", "appeal_due",
)  # fmt: skip
OPEN_STATES = ("submitted", "accepted", "reversed")  # uploaded, no 835 settles it now
# A claim not yet accepted by a 277CA has no proof of timely filing.
_UNFILED = ("queued", "batched", "submitted", "accepted", "rejected")
# The states a claim's items can come from (``claim_items``); whatever its state, a claim with
# a line paid nothing or a payment held (the ledger's ``flagged``) may have some too.
_ITEM_STATES = (*_UNFILED, "denied")
_ACTIONS = {
    "rejected": "correct the claim and send it again",
    "denied": "read the denial reasons: appeal, or bill the patient",
    "no_999": "check the upload with the clearinghouse; resend the same file if it never came",
    "no_277ca": "wait for the payer's 277CA; call the clearinghouse if it does not come",
    "no_payment": "call the payer (a 276 status inquiry is sent when the partner allows it)",
    "timely_filing": "send the claim before the payer's filing limit",
    "payment_held": "review the held payment (gateway payments), then release or discard it",
    "unmatched_payment": "find the claim this payment belongs to and post it by hand",
    "partially_denied": "read why the lines were denied: correct and resend, appeal, or bill "
    "the patient",
}


@dataclass(frozen=True, slots=True)
class WorkItem:
    claim_id: str
    reason: str
    since: date
    due: date | None
    payer: str
    partner: str
    amount: Decimal
    detail: str
    action: str

    def to_json(self) -> dict[str, Any]:
        """The item as the contract's worklist JSON (amounts as strings, dates ISO)."""
        return {
            "claim_id": self.claim_id, "reason": self.reason, "since": self.since.isoformat(),
            "due": self.due.isoformat() if self.due else None, "payer": self.payer,
            "partner": self.partner, "amount": f"{self.amount:.2f}", "detail": self.detail,
            "action": self.action,
        }  # fmt: skip


def open_amount(claim: ClaimFacts) -> Decimal:
    """What insurers still owe on the claim: billed less paid while no 835 has settled it;
    nothing once an 835 decided it (the rest was adjusted, moved on or left to the patient),
    and nothing for a claim never filed (queued) or rejected (not filed either)."""
    if claim.state not in OPEN_STATES or claim.submitted_at is None:
        return Decimal("0.00")
    return max(claim.billed - claim.paid, Decimal("0.00"))


def build_worklist(
    ledger: Ledger,
    now: datetime,
    settings: Mapping[str, FollowupConfig] | None = None,
    *,
    reason: str | None = None,
    payer: str | None = None,
    partner: str | None = None,
) -> list[WorkItem]:
    """Every item that needs a person at ``now``, most urgent first (filters optional)."""
    items, _ = worklist_until(ledger, now, settings)
    return [
        i for i in items
        if reason in (None, i.reason) and payer in (None, i.payer) and partner in (None, i.partner)
    ]  # fmt: skip


def worklist_until(
    ledger: Ledger, now: datetime, settings: Mapping[str, FollowupConfig] | None = None
) -> tuple[list[WorkItem], datetime]:
    """Every item at ``now``, most urgent first, and until when the list stays the same if
    the ledger does not change (``horizon``)."""
    facts = ledger.followup_facts_where(_ITEM_STATES, flagged=True)  # the others have none
    rules = Rules(settings or {}, learned=learned_from(ledger))
    silent = [f.claim_id for f in facts if _silent_now(f, rules, now)]  # the answers' readers
    answered = ledger.status_inquiries(state="answered", claim_ids=silent) if silent else []
    answers = _latest_answers(answered)
    items = [i for f in facts for i in claim_items(f, rules, now, answers.get(f.claim_id))]
    items += _unmatched(ledger.unmatched_payments(), ledger.claims_billed)
    items.sort(key=lambda i: (i.due or date.max, -i.amount, i.since, i.claim_id))
    return items, horizon(facts, rules, now)


def horizon(facts: Iterable[ClaimFacts], rules: Rules, now: datetime) -> datetime:
    """The first moment after ``now`` the worklist of these facts can change by the clock
    alone: the next midnight (a timely-filing item counts the days left and starts on a
    day), or sooner the end of a claim's window of silence (``claim_items``: nothing else
    in it reads the clock)."""
    until = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=now.tzinfo)
    for claim in facts:
        silent = rules.silent_since(claim)
        if silent is not None and now < silent[1] < until:
            until = silent[1]
    return until


def _silent_now(claim: ClaimFacts, rules: Rules, now: datetime) -> bool:
    silent = rules.silent_since(claim)
    return silent is not None and now >= silent[1]


def _latest_answers(inquiries: Iterable[StoredInquiry]) -> dict[str, StoredInquiry]:
    latest: dict[str, StoredInquiry] = {}
    for i in inquiries:
        if i.claim_id not in latest or i.updated_at >= latest[i.claim_id].updated_at:
            latest[i.claim_id] = i
    return latest


def claim_items(
    claim: ClaimFacts, rules: Rules, now: datetime, answer: StoredInquiry | None = None
) -> list[WorkItem]:
    """The worklist items of one claim at ``now`` (none, one or several)."""
    deadline = rules.filing_deadline(claim)
    amount = open_amount(claim) or claim.billed - claim.paid

    def item(why: str, since: datetime | date, detail: str, due: date | None = None) -> WorkItem:
        day = since.date() if isinstance(since, datetime) else since
        return WorkItem(claim.claim_id, why, day, due, claim.payer_name, claim.partner,
                        max(amount, Decimal("0.00")), detail, _ACTIONS[why])  # fmt: skip

    out: list[WorkItem] = []
    if claim.state == "rejected":
        out.append(item("rejected", claim.last_event_at, _rejection(claim.rejected), deadline))
    elif claim.state == "denied":
        out.append(item("denied", claim.adjudicated_at or claim.last_event_at,
                        "the payer denied the claim (see its 835)"))  # fmt: skip
    if answer is not None and claim.submitted_at and answer.updated_at < claim.submitted_at:
        answer = None  # about an earlier upload of the claim
    silent = rules.silent_since(claim)
    if silent is not None and _silent_now(claim, rules, now):
        why, since = silent
        detail = _silent_detail(why, claim, rules)
        if answer is not None and answer.outcome and answer.answer:
            detail += f"; the payer's 277 said: {_answer_words(answer)}"
        work = item(why, since, detail, deadline if claim.accepted_at is None else None)
        if answer is not None and answer.outcome in ACTIONS and answer.outcome != "pending":
            work = _with_action(work, ACTIONS[answer.outcome])
        out.append(work)
    if claim.state in _UNFILED and claim.accepted_at is None and deadline is not None:
        left = (deadline - now.date()).days
        if left <= TIMELY_FILING_NOTICE_DAYS:
            words = f"{left} days left" if left >= 0 else f"{-left} days past the limit"
            detail = (f"the payer's filing limit ({rules.filing_days(claim)} days from the date "
                      f"of service) is {deadline.isoformat()}: {words}; no 277CA acceptance "
                      "proves the claim was filed")  # fmt: skip
            out.append(item("timely_filing", now, detail, deadline))
    denied = denied_lines(claim) if claim.state in ("paid", "partially_paid") else []
    if denied:
        words = "; ".join(
            f"line {line.get('line_id') or '?'} ({line.get('procedure', '')}, "
            f"{Decimal(str(line.get('charge') or 0)):.2f}): " + ", ".join(
                f"{a.get('group')}-{a.get('reason')} {a.get('text', '')}".strip()
                for a in line.get("adjustments") or []
            )
            for line in denied
        )  # fmt: skip
        lost = sum((Decimal(str(line.get("charge") or 0)) for line in denied), Decimal("0.00"))
        work = item("partially_denied", claim.adjudicated_at or claim.last_event_at,
                    f"{len(denied)} line(s) denied: {words}")  # fmt: skip
        out.append(_with_amount(work, lost))
    if claim.held_payments:
        held = f"{claim.held_payments} payment(s) of this claim wait for review"
        out.append(item("payment_held", claim.last_event_at, held))
    return out


def denied_lines(claim: ClaimFacts) -> list[Mapping[str, Any]]:
    """Lines paid nothing with nothing left to the patient: the payer denied them (a line the
    deductible took is not denied: the patient owes it)."""
    out = []
    for line in claim.unpaid_lines:
        adjustments = line.get("adjustments") or []
        to_patient = sum((Decimal(str(a.get("amount") or 0)) for a in adjustments
                          if a.get("group") == "PR"), Decimal(0))  # fmt: skip
        if to_patient == 0 and Decimal(str(line.get("charge") or 0)) > 0:
            out.append(line)
    return out


def _with_amount(work: WorkItem, amount: Decimal) -> WorkItem:
    return WorkItem(work.claim_id, work.reason, work.since, work.due, work.payer, work.partner,
                    amount, work.detail, work.action)  # fmt: skip


def _with_action(work: WorkItem, action: str) -> WorkItem:
    return WorkItem(work.claim_id, work.reason, work.since, work.due, work.payer, work.partner,
                    work.amount, work.detail, action)  # fmt: skip


def _silent_detail(why: str, claim: ClaimFacts, rules: Rules) -> str:
    cfg = rules.of(claim.partner)
    if why == "no_999":
        return f"no 999 for the file {cfg.ack_999_hours} hours after the upload"
    if why == "no_277ca":
        return f"no 277CA {cfg.ack_277ca_days} days after the upload"
    learned = claim.payer_id in rules.learned
    how = "this payer's usual time to pay" if learned else "the configured time to pay"
    accepted = claim.accepted_at.date().isoformat() if claim.accepted_at else "?"
    return (f"no 835 {rules.payment_days(claim)} days after the 277CA acceptance of {accepted} "
            f"({how})")  # fmt: skip


def _rejection(detail: Mapping[str, Any] | None) -> str:
    if not detail:
        return "rejected"
    reasons = detail.get("reasons") or []
    words = "; ".join(
        f"{r.get('code', '')} {r.get('text', '')}".strip() for r in reasons if isinstance(r, dict)
    )
    return f"rejected by the {detail.get('source', 'partner')}" + (f": {words}" if words else "")


def _answer_words(answer: StoredInquiry) -> str:
    statuses = (answer.answer or {}).get("statuses") or []
    words = "; ".join(
        f"{s.get('category')}:{s.get('code')} {s.get('category_text')}, {s.get('code_text')}"
        for s in statuses
        if isinstance(s, dict)
    )
    return f"{answer.outcome} ({words})" if words else str(answer.outcome)


def _unmatched(
    payments: Iterable[Mapping[str, Any]], billed: Callable[[Decimal, int], list[str]]
) -> list[WorkItem]:
    """Each unmatched claim payment, with the claims it may belong to (the same charge:
    ``billed(amount, limit)``, the first claim ids billed that amount)."""
    items = []
    for p in payments:
        detail = (f"an 835 paid {p['paid']:.2f} of {p['charge']:.2f} for claim {p['claim_id']}, "
                  "which is not in the ledger")  # fmt: skip
        candidates = billed(p["charge"], 5)
        if candidates:
            detail += f"; claims billed the same: {', '.join(candidates)}"
        why = _ACTIONS["unmatched_payment"]
        payer = str(p["payer_id"])
        day = p["recorded_at"].date()
        items.append(WorkItem(str(p["claim_id"]), "unmatched_payment", day, None, payer, "",
                              Decimal(p["paid"]), detail, why))  # fmt: skip
    return items
