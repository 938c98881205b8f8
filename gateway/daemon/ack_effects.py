"""TA1, 999 and 277CA replies as claim state changes (with their status records).

Replies may arrive out of order (a 277CA before its 999, an 835 before both), so a change
applies only from the states where it still means something, and is otherwise skipped.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from gateway.daemon.status import status_record
from gateway.domain import acknowledgments as ack
from gateway.ledger.ledger import ClaimChange, Ledger
from gateway.ledger.schema import ClaimState
from gateway.transactions.ack_999 import read_999
from gateway.transactions.ack_ta1 import read_ta1
from gateway.transactions.status_277ca import read_277ca

log = structlog.get_logger("gateway.replies")

_S = ClaimState
_SENT = frozenset({_S.SUBMITTED, _S.BATCHED})  # batched: uploaded, not yet confirmed
_OPEN = frozenset({_S.SUBMITTED, _S.BATCHED, _S.ACCEPTED})


def _change(
    claim_id: str,
    version: int | None,
    state: ClaimState,
    *,
    source: str,
    partner: str,
    cause: str,
    file: str,
    reasons: list[dict[str, str]],
    only_from: frozenset[ClaimState],
    **extra: str,
) -> ClaimChange:
    detail = {"file": file, "reasons": reasons, **extra}
    return ClaimChange(
        claim_id, state, source, detail,
        outbox_records=[status_record(
            event=state.value, claim_id=claim_id, version=version, partner=partner,
            source=source, cause=cause, reasons=reasons, file=file, **extra,
        )],
        only_from=only_from, version=version,
    )  # fmt: skip


def ta1_changes(
    path: Path, ledger: Ledger, partner: str, sha: str, file: str = ""
) -> list[ClaimChange]:
    """A rejected interchange rejects every claim it carried; an accepted one changes nothing."""
    changes = []
    for reply in read_ta1(path):
        control = (
            int(reply.control_number)
            if reply.control_number.isascii() and reply.control_number.isdigit()
            else -1
        )
        interchange = ledger.interchange(partner=partner, control_number=control)
        if interchange is None:
            log.warning("ta1_for_unknown_interchange", partner=partner, file=path.name,
                        control_number=reply.control_number)  # fmt: skip
            continue
        note = ack.text(ack.TA1_NOTES, reply.note_code, "TA1 note code")
        log.info("interchange_acknowledged", partner=partner, file=path.name,
                 interchange=interchange.file_name, accepted=reply.accepted, note=note)  # fmt: skip
        if reply.accepted:
            continue
        if reply.note_code == "025":  # a copy sent again after a crash: the first one counts
            log.warning("partner_saw_interchange_twice", partner=partner, file=path.name,
                        interchange=interchange.file_name)  # fmt: skip
            continue
        reasons = [{"code": f"TA1-{reply.note_code}", "text": note}]
        for claim_id, version in ledger.interchange_claims(interchange.id):
            changes.append(_change(
                claim_id, version, _S.REJECTED, source="TA1", partner=partner,
                cause=f"{sha[:16]}", file=file or path.name, reasons=reasons, only_from=_SENT,
                interchange=interchange.file_name,
            ))  # fmt: skip
    return changes


def _set_reasons(group: ack.GroupAck, set_ack: ack.SetAck | None) -> list[dict[str, str]]:
    reasons: list[dict[str, str]] = []
    if set_ack is not None:
        reasons += [
            {"code": f"IK5-{c}", "text": ack.text(ack.SET_ERRORS, c, "999 set error")}
            for c in set_ack.codes
        ]
        for seg in set_ack.segment_errors:
            where = f"segment {seg.segment_id} at position {seg.position}"
            if seg.context:
                where += f" ({', '.join(seg.context)})"
            reasons.append({"code": f"IK3-{seg.code}",
                            "text": f"{ack.text(ack.SEGMENT_ERRORS, seg.code, 'segment error')}: "
                                    f"{where}"})  # fmt: skip
            for el in seg.elements:
                meaning = ack.text(ack.ELEMENT_ERRORS, el.code, "element error")
                value = f" value {el.bad_value!r}" if el.bad_value else ""
                reasons.append({
                    "code": f"IK4-{el.code}",
                    "text": f"{meaning}: element {seg.segment_id}{el.position}{value}",
                })  # fmt: skip
    reasons += [
        {"code": f"AK9-{c}", "text": ack.text(ack.GROUP_ERRORS, c, "999 group error")}
        for c in group.codes
    ]
    return reasons or [{"code": "999-R", "text": "the transaction set was rejected"}]


def ack_999_changes(
    path: Path, ledger: Ledger, partner: str, sha: str, file: str = ""
) -> list[ClaimChange]:
    """An accepted set accepts its claims (syntax checked); a rejected one rejects them."""
    changes = []
    for group in read_999(path):
        control = (
            int(group.control_number)
            if group.control_number.isascii() and group.control_number.isdigit()
            else -1
        )
        interchange = ledger.interchange(partner=partner, group_control_number=control)
        if interchange is None:
            log.warning("999_for_unknown_group", partner=partner, file=path.name,
                        group_control_number=group.control_number)  # fmt: skip
            continue
        # Our interchanges hold one transaction set; a group verdict without sets covers it.
        verdicts: list[tuple[bool, ack.SetAck | None]] = [(s.accepted, s) for s in group.sets]
        verdicts = verdicts or [(group.status in ("A", "E", "P"), None)]
        accepted = all(ok for ok, _ in verdicts)
        rejected_set = next((s for ok, s in verdicts if not ok), None)
        reasons = [] if accepted else _set_reasons(group, rejected_set)
        log.info("group_acknowledged", partner=partner, file=path.name,
                 interchange=interchange.file_name, accepted=accepted)  # fmt: skip
        for claim_id, version in ledger.interchange_claims(interchange.id):
            changes.append(_change(
                claim_id, version, _S.ACCEPTED if accepted else _S.REJECTED, source="999",
                partner=partner, cause=sha[:16], file=file or path.name, reasons=reasons,
                only_from=_SENT, interchange=interchange.file_name,
            ))  # fmt: skip
    return changes


def status_277ca_changes(
    path: Path, ledger: Ledger, partner: str, sha: str, file: str = ""
) -> list[ClaimChange]:
    """The payer's verdict per claim: accepted into adjudication, or rejected with reasons.

    Each is about the newest version of the claim that went out (the one the payer saw).
    """
    replies = [r for r in read_277ca(path) if r.outcome != "received" and r.claim_id]
    versions = ledger.sent_versions([r.claim_id for r in replies])
    voids = _voids_without_money(ledger, versions)
    changes = []
    for reply in replies:
        outcome = reply.outcome
        statuses = list(reply.statuses) + [s for line in reply.lines for s in line.statuses]
        reasons = [
            {"code": f"{s.category}:{s.code}" + (f":{s.entity}" if s.entity else ""),
             "text": "; ".join(t for t in (
                 ack.text(ack.STC_CATEGORIES, s.category, "claim status category"),
                 ack.text(ack.STC_STATUS, s.code, "claim status code"),
                 ack.ENTITIES.get(s.entity, ""), s.free_text) if t)}
            for s in statuses
            if outcome != "accepted" or not s.rejected
        ]  # fmt: skip
        state = _S.ACCEPTED if outcome == "accepted" else _S.REJECTED
        if state == _S.ACCEPTED and reply.claim_id in voids:
            state = _S.VOIDED  # nothing to take back: the accepted void is the end
            reasons = [*reasons, {"code": "void", "text": "the payer accepted the void; the "
                                  "original had no payment to take back"}]  # fmt: skip
        changes.append(_change(
            reply.claim_id, versions.get(reply.claim_id), state, source="277CA",
            partner=partner, cause=sha[:16], file=file or path.name, reasons=reasons,
            only_from=_OPEN,
            payer_claim_number=reply.payer_claim_number,
        ))  # fmt: skip
    return changes


def _voids_without_money(ledger: Ledger, versions: dict[str, int]) -> set[str]:
    """Claims whose version sent is a void (frequency 8) while the payer has no money in force
    for the claim: the 277CA accepting the void ends them voided (no 835 will follow)."""
    out = set()
    for stored in ledger.current_claims(list(versions), frequency="8"):
        if versions.get(stored.claim_id) != stored.version:
            continue
        sequence = str(stored.record.get("subscriber", {}).get("sequence") or "P")
        paid = ledger.payments_in_force(stored.claim_id, sequence=sequence)  # the 835's payer
        # id is the 835's own (TRN03, N1*PR), not always the claim's: the leg is its sequence
        if not any(p.moves_money for p in paid):
            out.add(stored.claim_id)
    return out
