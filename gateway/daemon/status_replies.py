"""What a 277 claim status response (005010X212) does: answers our inquiries and moves claims on.

Each answer is matched to its inquiry by our trace (``TRN*2``) and kept whole (every STC with
its raw codes and plain words; a code we do not know is shown as unknown, never dropped).
Status moves the claim on where the state machine allows it, with a ``277`` event:

- pending, finalized, paid, denied, information requested: the payer has the claim, so a claim
  still waiting for its acknowledgement is ``accepted`` (an accepted one gets the event only);
  money is posted from the 835 alone;
- rejected (A3, A6-A8): ``rejected``, to be corrected and sent again;
- not found (A4, D0) for a claim asked about because no 277CA came: back to ``queued``, so it
  is sent again as it is; one a 277CA accepted stays on the worklist (call the payer);
- an error in our inquiry, "try later", unknown codes: nothing changes; the worklist shows it.

The answers and the claim changes are applied in one transaction with the file's record
(``Ledger.apply_status_reply``). A 277 that answers no inquiry of ours is quarantined
(:class:`UnmatchedReply`), one that cannot be read as a 277 too, with the segment position.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from gateway.daemon.eligibility_replies import UnmatchedReply
from gateway.daemon.status import status_record
from gateway.domain.claim_status import StatusAnswer, status_words
from gateway.ledger.followup import InquiryAnswer, StatusApplied
from gateway.ledger.ledger import ClaimChange, Ledger
from gateway.ledger.schema import ClaimState
from gateway.transactions.status_277 import read_277

log = structlog.get_logger("gateway.replies")

_S = ClaimState
_HAS_IT = frozenset({"pending", "finalized", "paid", "denied", "info_requested"})
_WAITING = frozenset({_S.BATCHED, _S.SUBMITTED})


def apply_status_file(
    path: Path, ledger: Ledger, partner: str, sha: str, archived_as: str
) -> StatusApplied | None:
    """Apply one 277 (None: this very file was applied before)."""
    response = read_277(path)
    for problem in response.request_statuses:
        log.warning("status_inquiry_refused", partner=partner, file=path.name,
                    level=problem.level, code=f"{problem.status.category}:{problem.status.code}",
                    segment_position=problem.position)  # fmt: skip
    known = {i.trace: i for i in ledger.status_inquiries([a.trace for a in response.answers])}
    answers: list[InquiryAnswer] = []
    changes: list[ClaimChange] = []
    unmatched: list[StatusAnswer] = []
    for answer in response.answers:
        inquiry = known.get(answer.trace)
        if inquiry is None or inquiry.partner != partner:
            unmatched.append(answer)
            continue
        detail = {**answer.detail(), "file": archived_as, "unknown_codes": _unknown(answer)}
        answers.append(InquiryAnswer(answer.trace, answer.outcome, detail))
        change = _change(inquiry.claim_id, inquiry.version, answer, detail, partner, sha,
                         acknowledged=inquiry.reason != "no_277ca")  # fmt: skip
        if change is not None:
            changes.append(change)
        if detail["unknown_codes"]:
            log.warning("status_codes_unknown", partner=partner, file=path.name,
                        claim_id=inquiry.claim_id, codes=detail["unknown_codes"])  # fmt: skip
    for answer in unmatched:
        log.warning("status_answer_unmatched", partner=partner, file=path.name,
                    trace=answer.trace, segment_position=answer.position)  # fmt: skip
    if not answers and response.request_statuses and not unmatched:
        said = "; ".join(
            f"{r.status.category}:{r.status.code} {status_words(r.status)['category_text']}, "
            f"{status_words(r.status)['code_text']} ({r.level} level)"
            for r in response.request_statuses[:5]
        )  # fmt: skip
        raise UnmatchedReply(
            f"a 277 refusing our inquiry as a whole: {said}; nothing was applied (the claims "
            "are asked about again in their next window)",
            response.request_statuses[0].position,
        )
    if not answers:
        names = ", ".join(a.trace for a in unmatched[:5]) or "none"
        raise UnmatchedReply(
            f"a 277 that answers no claim status inquiry of ours (trace numbers: {names}); "
            "nothing was applied",
            unmatched[0].position if unmatched else None,
        )
    return ledger.apply_status_reply(sha, partner=partner, name=path.name, answers=answers,
                                     changes=changes)  # fmt: skip


def _unknown(answer: StatusAnswer) -> list[str]:
    """The raw codes of its STC triplets that our tables do not know."""
    return [
        f"{w['category']}:{w['code']}"
        for w in map(status_words, answer.all_statuses)
        if not w["known"]
    ]


def _change(
    claim_id: str, version: int, answer: StatusAnswer, detail: dict[str, object], partner: str,
    sha: str, *, acknowledged: bool,
) -> ClaimChange | None:  # fmt: skip
    outcome = answer.outcome
    if outcome in _HAS_IT:
        state, only_from = _S.ACCEPTED, frozenset(_WAITING | {_S.ACCEPTED})
    elif outcome == "rejected":
        state, only_from = _S.REJECTED, frozenset(_WAITING | {_S.ACCEPTED})
    elif outcome == "not_found" and not acknowledged:  # asked because no 277CA came
        state, only_from = _S.QUEUED, frozenset({_S.SUBMITTED, _S.ACCEPTED})
    else:
        return None
    reasons = [
        {"code": f"{s['category']}:{s['code']}" + (f":{s['entity']}" if s["entity"] else ""),
         "text": f"{s['category_text']}; {s['code_text']}"}
        for s in map(status_words, answer.statuses)
    ]  # fmt: skip
    record = status_record(
        event=state.value, claim_id=claim_id, version=version, partner=partner, source="277",
        cause=f"{sha[:16]}-{answer.trace}", reasons=reasons, file=str(detail["file"]),
        outcome=outcome,
    )  # fmt: skip
    return ClaimChange(claim_id, state, "277", detail, outbox_records=[record],
                       only_from=only_from, version=version)  # fmt: skip
