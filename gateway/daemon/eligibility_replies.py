"""What replies do to eligibility requests: a 271 answers them, a TA1 or 999 may refuse a 270.

Each function turns one reply file into :class:`RequestUpdate` records; the inbound step hands
them to ``Ledger.apply_reply`` with the file's hash, so they are applied once, in the same
transaction as the file's record, with each benefits record in the outbox. A 271 answer is
matched to its request by our trace number (``TRN*2``); a 271 none of whose answers matches a
request of ours raises :class:`UnmatchedReply` (the file is quarantined, nothing applied).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from gateway.daemon.ack_effects import _set_reasons
from gateway.domain import acknowledgments as ack
from gateway.domain.benefits import benefits_record, refusal_record, rejection
from gateway.ledger.ledger import Interchange, Ledger, RequestUpdate
from gateway.ledger.schema import RequestState
from gateway.transactions.ack_999 import read_999
from gateway.transactions.ack_ta1 import read_ta1
from gateway.transactions.eligibility_271 import read_271

log = structlog.get_logger("gateway.replies")
_RESEND = "the whole 270 was refused: ask again with a new request_id once the cause is fixed"


class UnmatchedReply(Exception):
    """A reply that answers nothing the gateway asked; ``segment_index`` says where."""

    def __init__(self, message: str, segment_index: int | None = None) -> None:
        super().__init__(message)
        self.segment_index = segment_index


def record_id(request_id: str, sha: str) -> str:
    """Stable: the same answer read again after a crash gets the same id (outbox keeps one)."""
    return f"benefits-{request_id}-{sha[:16]}"


def request_updates(
    kind: str, path: Path, ledger: Ledger, partner: str, sha: str
) -> list[RequestUpdate]:
    """The requests a reply of ``kind`` answers or refuses (none for other kinds)."""
    if kind == "271":
        return answer_updates(path, ledger, partner, sha)
    if kind == "TA1":
        return _ta1_refusals(path, ledger, partner, sha)
    if kind == "999":
        return _999_refusals(path, ledger, partner, sha)
    return []


def answer_updates(path: Path, ledger: Ledger, partner: str, sha: str) -> list[RequestUpdate]:
    """Every answer of a 271 matched to its request, as a benefits record."""
    responses = read_271(path)
    traces = [a.trace for r in responses for a in r.answers if a.trace]
    known = {s.request_id: s for s in ledger.eligibility_requests(traces) if s.partner == partner}
    updates: list[RequestUpdate] = []
    unmatched: list[tuple[str, int]] = []
    for response in responses:
        for answer in response.answers:
            request = known.get(answer.trace)
            if request is None:
                unmatched.append((answer.trace or "(no TRN*2)", answer.position))
                continue
            record = benefits_record(answer, request.record, record_id=record_id(answer.trace, sha),
                                     source_file=path.name)  # fmt: skip
            updates.append(RequestUpdate(answer.trace, RequestState.ANSWERED, record, path.name))
        if response.answers or not response.rejections:
            continue
        # The payer refused the whole inquiry: BHT03 names our 270 (its batch id).
        interchange = _inquiry(ledger, partner, response.reference)
        if interchange is None:
            unmatched.append((f"BHT03 {response.reference}", response.position))
            continue
        errors = [rejection(r) for r in response.rejections]
        updates += _refusals(ledger, interchange, errors, path.name, sha)
    for trace, position in unmatched:
        log.warning("eligibility_answer_unmatched", partner=partner, file=path.name, trace=trace,
                    segment_position=position)  # fmt: skip
    if not updates:
        where = unmatched[0][1] if unmatched else None
        names = ", ".join(t for t, _ in unmatched[:5]) or "none"
        raise UnmatchedReply(
            f"a 271 that answers no eligibility request of ours (trace numbers: {names}); "
            "nothing was applied",
            where,
        )
    return updates


def _inquiry(ledger: Ledger, partner: str, reference: str) -> Interchange | None:
    """The 270 whose BHT03 (``B`` + its ISA13) is ``reference``."""
    if not (reference[:1] == "B" and reference[1:].isdigit()):
        return None
    found = ledger.interchange(partner=partner, control_number=int(reference[1:]))
    return found if found is not None and found.kind == "270" else None


def _refusals(
    ledger: Ledger, interchange: Interchange, errors: list[dict[str, Any]], file: str, sha: str
) -> list[RequestUpdate]:
    requests = ledger.eligibility_requests(interchange_id=interchange.id)
    return [
        RequestUpdate(
            s.request_id, RequestState.REJECTED,
            refusal_record(s.record, errors, record_id=record_id(s.request_id, sha),
                           source_file=file),
            file,
        )
        for s in requests
        if s.state == RequestState.SENT
    ]  # fmt: skip


def _ta1_refusals(path: Path, ledger: Ledger, partner: str, sha: str) -> list[RequestUpdate]:
    updates: list[RequestUpdate] = []
    for reply in read_ta1(path):
        if reply.accepted or reply.note_code == "025":  # 025: a copy sent again; the first counts
            continue
        control = (
            int(reply.control_number)
            if reply.control_number.isascii() and reply.control_number.isdigit()
            else -1
        )
        interchange = ledger.interchange(partner=partner, control_number=control)
        if interchange is None or interchange.kind != "270":
            continue
        note = ack.text(ack.TA1_NOTES, reply.note_code, "TA1 note code")
        errors = [{"code": f"TA1-{reply.note_code}", "text": note, "action": _RESEND,
                   "level": "interchange"}]  # fmt: skip
        updates += _refusals(ledger, interchange, errors, path.name, sha)
    return updates


def _999_refusals(path: Path, ledger: Ledger, partner: str, sha: str) -> list[RequestUpdate]:
    updates: list[RequestUpdate] = []
    for group in read_999(path):
        control = (
            int(group.control_number)
            if group.control_number.isascii() and group.control_number.isdigit()
            else -1
        )
        interchange = ledger.interchange(partner=partner, group_control_number=control)
        if interchange is None or interchange.kind != "270":
            continue
        verdicts: list[tuple[bool, ack.SetAck | None]] = [(s.accepted, s) for s in group.sets]
        verdicts = verdicts or [(group.status in ("A", "E", "P"), None)]
        rejected = next((s for ok, s in verdicts if not ok), None)
        if all(ok for ok, _ in verdicts):
            continue
        errors = [{**reason, "action": _RESEND, "level": "transaction set"}
                  for reason in _set_reasons(group, rejected)]  # fmt: skip
        updates += _refusals(ledger, interchange, errors, path.name, sha)
    return updates


def warn_unanswered(
    ledger: Ledger, partner: str, answer_minutes: int, warned: set[str], now: datetime
) -> int:
    """Log each request still unanswered ``answer_minutes`` after its 270 went out (once per
    request and daemon run); the follow-up worklist reads the same ledger query."""
    late = ledger.unanswered_eligibility_requests(
        sent_before=now - timedelta(minutes=answer_minutes), partner=partner
    )
    for request, sent_at in late:
        if request.request_id in warned:
            continue
        warned.add(request.request_id)
        log.warning("eligibility_unanswered", partner=partner, request_id=request.request_id,
                    sent_at=sent_at.isoformat(timespec="seconds"),
                    waited_minutes=int((now - sent_at).total_seconds() // 60))  # fmt: skip
    return len(late)
