"""835s posted through the ledger: each payment (transaction set) in one ledger transaction.

A payment's postings, balances and status records go to the outbox together with its claims'
state changes and its identity (trace number, payer, amount, date): the same payment again, in
the same file after a crash or re-sent under another name, posts nothing. A payment whose money
does not add up is recorded as held, posts nothing, and waits in ``spool/review/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

import structlog

from gateway.daemon.spilled import spilled_changes, spilled_records
from gateway.daemon.status import status_record
from gateway.domain.claim import Claim
from gateway.files import private_dir
from gateway.ledger.ledger import ClaimChange, Ledger, OutboxItem
from gateway.ledger.schema import ClaimState, OutboxKind, RemittanceState
from gateway.replies.posting_files import hold_for_review
from gateway.replies.remittances import ClaimPosted, PaymentFinished, PaymentStarted, post_835

log = structlog.get_logger("gateway.posting")
T = TypeVar("T", contravariant=True)

OUTCOME_STATE = {
    "paid": ClaimState.PAID,
    "partially_paid": ClaimState.PARTIALLY_PAID,
    "denied": ClaimState.DENIED,
    "reversed": ClaimState.REVERSED,
}


@dataclass
class RemittanceReport:
    posted: list[str] = field(default_factory=list)  # ST02 of the payments posted now
    already: list[str] = field(default_factory=list)  # posted before (same payment identity)
    held: list[str] = field(default_factory=list)
    claims: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # claim changes not applied


def _reasons(posting: dict[str, Any]) -> list[dict[str, str]]:
    """Claim and line adjustments (a denial is often told per line), and remarks, once each."""
    found: dict[str, str] = {}
    adjustments = posting["adjustments"] + [a for ln in posting["lines"] for a in ln["adjustments"]]
    for a in adjustments:
        found.setdefault(f"{a['group']}-{a['reason']}", a["text"])
    for remark in posting.get("remarks", []) + [
        r for ln in posting["lines"] for r in ln["remarks"]
    ]:
        if isinstance(remark, dict):
            found.setdefault(str(remark.get("code")), str(remark.get("text", "")))
    return [{"code": code, "text": text} for code, text in found.items()]


def _status(posting: dict[str, Any], partner: str) -> OutboxItem:
    return status_record(
        event=posting["status"], claim_id=posting["claim_id"], version=None, partner=partner,
        source="835", cause=posting["id"], reasons=_reasons(posting), paid=posting["paid"],
        payer_claim_number=posting["payer_claim_number"],
        trace_number=posting["payment"]["trace_number"], file=posting["source_file"],
    )  # fmt: skip


class _Appends(Protocol[T]):
    def append(self, item: T, /) -> None: ...


def _claim_effects(
    event: ClaimPosted,
    posting: dict[str, Any],
    file: str,
    partner: str,
    records: _Appends[OutboxItem],
    changes: _Appends[ClaimChange],
    **extra: str,
) -> None:
    """A claim payment's records (posting, balance, status) and its claim's state change."""
    records.append((OutboxKind.POSTINGS, posting))
    balance = event.balance
    if balance is not None:
        records.append((OutboxKind.BALANCES, balance))
    status = _status(posting, partner)
    state = OUTCOME_STATE.get(posting["status"])
    if state is None or not posting.get("matched", True):
        records.append(status)  # money for a claim we do not know: still reported
        return
    detail = {
        "file": file, "trace_number": posting["payment"]["trace_number"],
        "paid": posting["paid"], "charge": posting["charge"],
        "patient_responsibility": posting["patient_responsibility"],
        "payer_claim_number": posting["payer_claim_number"], "posting_id": posting["id"],
        "balance_id": balance["id"] if balance else None,
        "patient_owes": balance["patient_owes"] if balance else None,
        "next_action": balance["next_action"] if balance else None,
        **extra,
    }  # fmt: skip
    changes.append(ClaimChange(posting["claim_id"], state, "835", detail, [status]))


def _lookup(ledger: Ledger) -> Callable[[str], Claim | None]:
    @lru_cache(maxsize=4096)
    def lookup(claim_id: str) -> Claim | None:
        stored = ledger.claim(claim_id)
        return None if stored is None else Claim.model_validate(stored.record)

    return lookup


def post_remittance_file(
    path: Path, spool: Path, ledger: Ledger, partner: str, report: RemittanceReport | None = None
) -> RemittanceReport:
    """Post every payment of one 835 file through the ledger (raises X12SyntaxError).

    ``report`` fills in as each payment is posted or held, so a caller whose file broke half way
    knows exactly which payments were applied; those held so far wait in review all the same.
    """
    lookup = _lookup(ledger)
    report = RemittanceReport() if report is None else report
    folder = private_dir(spool / "inbound" / ".spill")
    records, changes = spilled_records(folder), spilled_changes(folder)  # flat memory
    held: list[dict[str, Any]] = []
    try:
        for event in post_835(path, source_file=path.name, lookup=lookup):
            if isinstance(event, PaymentStarted):
                records.close()
                changes.close()
                records, changes = spilled_records(folder), spilled_changes(folder)
            elif isinstance(event, ClaimPosted):
                _claim_effects(event, event.posting, path.name, partner, records, changes)
            elif isinstance(event, PaymentFinished):
                payment = event.payment
                control = payment.control_number
                ok = event.balanced
                result = ledger.apply_remittance(
                    payment.identity, file_name=path.name, control_number=control,
                    state=RemittanceState.POSTED if ok else RemittanceState.HELD,
                    outbox_records=records if ok else [], changes=changes if ok else [],
                )  # fmt: skip
                state = None if result is not None else ledger.remittance_state(payment.identity)
                if result is None and state != RemittanceState.HELD:
                    report.already.append(control)
                    log.info("remittance_already_posted", partner=partner, file=path.name,
                             transaction=control, trace_number=payment.trace_number)  # fmt: skip
                elif result is not None and ok:
                    report.posted.append(control)
                    report.claims += event.end.claim_count
                    report.skipped.extend(result.skipped)
                    for claim_id, why in result.skipped:
                        log.warning("claim_state_unchanged", partner=partner, file=path.name,
                                    claim_id=claim_id, source="835", why=why)  # fmt: skip
                    log.info("remittance_posted", partner=partner, file=path.name,
                             transaction=control, claims=event.end.claim_count,
                             trace_number=payment.trace_number)  # fmt: skip
                else:  # unbalanced now, or held before a crash: it must wait in review
                    report.held.append(control)
                    held.append({
                        "control_number": control, "trace_number": payment.trace_number,
                        "amount": str(payment.amount), "claim_count": event.end.claim_count,
                        "balance_errors": [e.as_dict() for e in event.balance_errors],
                    })  # fmt: skip
                    for error in event.balance_errors:
                        log.warning("remittance_held_for_review", partner=partner, file=path.name,
                                    transaction=control, rule=error.rule, claim_id=error.claim_id,
                                    discrepancy=error.message)  # fmt: skip
    finally:
        records.close()
        changes.close()
        if held:
            hold_for_review(spool, path, held, datetime.now(UTC).isoformat(timespec="seconds"))
    return report


def settle_held(path: Path, ledger: Ledger, *, verdict: RemittanceState, note: str) -> list[str]:
    """Release (post as it is, marked so) or discard the payments of ``path`` the ledger
    holds; returns their ST02s. Each is one ledger transaction, like a normal posting."""
    partner = ledger.received_file_partner(path.name) or ""
    settled: list[str] = []
    records: list[OutboxItem] = []
    changes: list[ClaimChange] = []
    lookup = _lookup(ledger)
    for event in post_835(path, source_file=path.name, lookup=lookup):
        if isinstance(event, PaymentStarted):
            records, changes = [], []
        elif isinstance(event, ClaimPosted):
            posting = dict(event.posting, released_unbalanced=True, review_note=note)
            _claim_effects(event, posting, path.name, partner, records, changes, review_note=note)
        elif isinstance(event, PaymentFinished):
            identity = event.payment.identity
            if ledger.remittance_state(identity) != RemittanceState.HELD:
                continue
            release = verdict == RemittanceState.RELEASED
            ledger.set_remittance_state(
                identity, verdict, outbox_records=records if release else (),
                changes=changes if release else (),
            )  # fmt: skip
            settled.append(event.payment.control_number)
            log.info(f"remittance_{verdict.value}", file=path.name, partner=partner,
                     transaction=event.payment.control_number, note=note)  # fmt: skip
    return settled
