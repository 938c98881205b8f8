"""Exchange, inbound: replies fetched from a partner, recognised, and processed once.

Fetching downloads into a hidden staging folder, then moves the file into
``spool/inbound/PARTNER/`` (never over another file), then tells the partner it is safe here
(leave, move or delete). Processing takes each file by content: a file whose hash the ledger
knows is a duplicate (archived, nothing applied); TA1, 999 and 277CA change claim states in one
ledger transaction with the file's record; an 835 posts payment by payment; anything else is
quarantined with the reason and the segment position. The file is archived last, so a crash
at any point either repeats nothing or redoes the whole file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from gateway.config import PartnerConfig
from gateway.daemon.ack_effects import ack_999_changes, status_277ca_changes, ta1_changes
from gateway.daemon.eligibility_replies import UnmatchedReply, request_updates
from gateway.daemon.recognize import recognize
from gateway.daemon.remittance_posting import RemittanceReport, post_remittance_file
from gateway.daemon.status_replies import apply_status_file
from gateway.files import archive, private_dir, sha256_of, write_atomic
from gateway.ledger.faults import is_unreachable, plain_text
from gateway.ledger.ledger import ClaimChange, Ledger
from gateway.transactions.remit_835 import transaction_headers
from gateway.transports.base import Transport
from gateway.transports.errors import PermanentTransportError, TransportError
from gateway.transports.retry import call_with_retries
from gateway.x12.errors import X12SyntaxError

log = structlog.get_logger("gateway.exchange")

EFFECTS: dict[str, Callable[[Path, Ledger, str, str, str], list[ClaimChange]]] = {
    "TA1": ta1_changes,
    "999": ack_999_changes,
    "277CA": status_277ca_changes,
    "271": lambda *_: [],  # answers eligibility requests (request_updates), no claims
}


@dataclass
class InboundReport:
    fetched: list[str] = field(default_factory=list)
    processed: dict[str, int] = field(default_factory=dict)  # kind -> files
    duplicates: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    claims_changed: int = 0
    payments_posted: int = 0
    payments_held: int = 0
    # partner -> files left for the next cycle; replies that could not be moved after download
    waiting: dict[str, list[str]] = field(default_factory=dict)
    not_moved: dict[str, list[str]] = field(default_factory=dict)
    payments_declined: int = 0  # the very content of a payment a review discarded
    payments_already: int = 0  # recorded before (the same content)


def fetch(
    spool: Path,
    ledger: Ledger,
    partner: PartnerConfig,
    transport: Transport,
    report: InboundReport | None = None,
    stop: Callable[[], bool] | None = None,
) -> InboundReport:
    """Download the partner's waiting files into ``spool/inbound/PARTNER/``."""
    report = report or InboundReport()
    folder = private_dir(spool / "inbound" / partner.name)
    staging = private_dir(folder / ".incoming")
    remote = call_with_retries(
        lambda: transport.list(tuple(partner.download.patterns)), partner.retry,
        partner=partner.name, operation="list",
    )  # fmt: skip
    for item in remote:
        if stop is not None and stop():
            break
        name = item.name
        if partner.download.after == "leave" and ledger.received_name_known(partner.name, name):
            continue  # left on the server after an earlier download
        try:
            local = call_with_retries(
                partial(transport.get, name, staging), partner.retry, partner=partner.name,
                operation="download",
            )  # fmt: skip
        except PermanentTransportError as exc:
            log.error("download_refused", partner=partner.name, file=name, why=str(exc))
            continue
        target = folder / name
        if target.exists():
            target = folder / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{name}"
        os.replace(local, target)
        try:
            call_with_retries(
                partial(transport.done, name, partner.download.after), partner.retry,
                partner=partner.name, operation=partner.download.after,
            )  # fmt: skip
        except TransportError as exc:  # the reply is here all the same: the others go on
            log.error("reply_left_on_server", partner=partner.name, file=name, why=str(exc))
            report.not_moved.setdefault(partner.name, []).append(f"{name}: {exc}")
        report.fetched.append(name)
        log.info("file_received", partner=partner.name, file=name, size=item.size)
    return report


class LedgerUnreachable(Exception):
    """The ledger does not answer: the partner's replies wait in its inbound folder."""


MAX_LEDGER_ATTEMPTS = 5  # cycles a file is retried while the ledger answers but refuses it
_INTERNAL_ERROR = (
    "the gateway failed on this file: an internal error, logged as reply_failed with its "
    "traceback (please report it)"
)


def process_inbound(
    spool: Path,
    ledger: Ledger,
    partner: str,
    report: InboundReport | None = None,
    stop: Callable[[], bool] | None = None,
    attempts: dict[str, int] | None = None,
) -> InboundReport:
    """Process every file waiting in ``spool/inbound/PARTNER/``, oldest first.

    A file the ledger refuses while it still answers (a lock, a timeout, a lost connection) stays
    for the next cycle and the files behind it go on; ``attempts`` counts its tries across
    cycles, and after :data:`MAX_LEDGER_ATTEMPTS` it is quarantined. When the ledger does not
    answer at all, :class:`LedgerUnreachable` is raised and every file stays.
    """
    report = report or InboundReport()
    attempts = {} if attempts is None else attempts
    folder = spool / "inbound" / partner
    if not folder.is_dir():
        return report
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    for path in sorted(files, key=lambda p: (p.stat().st_mtime, p.name)):
        if stop is not None and stop():
            break
        try:
            process_file(path, spool, ledger, partner, report, attempts)
        except LedgerUnreachable:
            raise
        except SQLAlchemyError as exc:  # around the file's own work: the file stays
            if is_unreachable(exc) and not ledger.reachable():
                raise LedgerUnreachable(f"the ledger is unreachable ({plain_text(exc)})") from exc
            log.exception("reply_failed", partner=partner, file=path.name, error=plain_text(exc))
            report.waiting.setdefault(partner, []).append(path.name)
        except Exception:  # one bad file never stops the loop
            log.exception("reply_failed", partner=partner, file=path.name)
            quarantine(spool, path, partner, _INTERNAL_ERROR, None)
            report.quarantined.append(path.name)
    return report


@dataclass
class _Fault:
    """Why a file is set aside, and where in it."""

    reason: str
    position: int | None = None


def archive_target(done: Path, path: Path, sha: str) -> Path:
    """Where a received file will be archived: under its own name, or, when a different file
    of that name was archived before, under the name prefixed with its hash. Decided before the
    file is processed, so the records and the claims' timelines name that one file."""
    target = done / path.name
    return done / f"{sha[:12]}-{path.name}" if target.exists() else target


def process_file(
    path: Path,
    spool: Path,
    ledger: Ledger,
    partner: str,
    report: InboundReport,
    attempts: dict[str, int] | None = None,
) -> None:
    sha = sha256_of(path)
    done = spool / "archive" / "inbound" / partner
    earlier = ledger.received_file_state(sha)
    if earlier is not None:
        archive(path, done / "duplicates")
        report.duplicates.append(path.name)
        if earlier == "processed":
            log.info("reply_duplicate", partner=partner, file=path.name, sha256=sha[:16])
        else:  # declined again: its payments wait for review, or it was quarantined
            log.warning("reply_duplicate", partner=partner, file=path.name, sha256=sha[:16],
                        earlier=earlier, why="this very file came before and was not posted "
                        "whole: see gateway review list, or spool/quarantine/")  # fmt: skip
        return
    found = recognize(path)
    if found.kind is None:
        _quarantine_and_record(spool, ledger, path, partner, sha, found.reason, found.position)
        report.quarantined.append(path.name)
        return
    target = archive_target(done, path, sha)
    archived_as = target.relative_to(spool).as_posix()
    payments = RemittanceReport()  # what an 835 applied, also when it stops half way
    fault: _Fault | None = None
    try:
        if found.kind == "835":
            post_remittance_file(path, spool, ledger, partner, archived_as=archived_as,
                                 report=payments)  # fmt: skip
            state = "held" if payments.held else "declined" if payments.declined else "processed"
            ledger.record_received_file(sha, partner=partner, name=path.name, kind="835",
                                        state=state)  # fmt: skip
        elif found.kind == "277":
            status = apply_status_file(path, ledger, partner, sha, archived_as)
            report.claims_changed += len(status.claims.applied) if status is not None else 0
        else:
            changes = EFFECTS[found.kind](path, ledger, partner, sha, archived_as)
            requests = request_updates(found.kind, path, ledger, partner, sha)
            applied = ledger.apply_reply(
                sha, partner=partner, name=path.name, kind=found.kind, changes=changes,
                requests=requests,
            )  # fmt: skip
            if applied is not None:
                report.claims_changed += len(applied.applied)
                for claim_id, why in applied.skipped:
                    log.info("claim_state_unchanged", partner=partner, file=path.name,
                             claim_id=claim_id, source=found.kind, why=why)  # fmt: skip
                for request_id, why in applied.requests_skipped:
                    log.warning("eligibility_request_unchanged", partner=partner, file=path.name,
                                request_id=request_id, source=found.kind, why=why)  # fmt: skip
    except UnmatchedReply as exc:
        fault = _Fault(str(exc), exc.segment_index)
    except X12SyntaxError as exc:
        fault = _Fault(f"broken X12: {exc}", exc.segment_index)
    except SQLAlchemyError as exc:
        fault = _ledger_fault(exc, path, ledger, partner, sha, attempts, report)
        if fault is None:
            return  # the file stays for the next cycle
    except Exception:  # a bug: its trace in the log, a plain reason beside the file
        log.exception("reply_failed", partner=partner, file=path.name, kind=found.kind)
        fault = _Fault(_INTERNAL_ERROR)
    finally:
        report.payments_posted += len(payments.posted)
        report.payments_held += len(payments.held)
        report.payments_declined += len(payments.declined)
        report.payments_already += len(payments.already)
        report.claims_changed += payments.claims
    if attempts is not None:
        attempts.pop(sha, None)  # done with it, one way or the other
    if fault is not None:
        _quarantine_and_record(spool, ledger, path, partner, sha, fault.reason, fault.position,
                               kind=found.kind, payments=payments)  # fmt: skip
        report.quarantined.append(path.name)
        return
    report.processed[found.kind] = report.processed.get(found.kind, 0) + 1
    log.info("reply_processed", partner=partner, file=path.name, kind=found.kind,
             archived_as=archived_as)  # fmt: skip
    if target.exists():  # only if the same name and content came in meanwhile (two daemons)
        archive(path, done)
    else:
        private_dir(done)
        os.replace(path, target)


def _ledger_fault(
    exc: SQLAlchemyError,
    path: Path,
    ledger: Ledger,
    partner: str,
    sha: str,
    attempts: dict[str, int] | None,
    report: InboundReport,
) -> _Fault | None:
    """A ledger error on one file: raise when the ledger is down, None when the file waits for
    the next cycle, else why it is quarantined (the ledger cannot hold what it says)."""
    why = plain_text(exc)
    if is_unreachable(exc):
        if not ledger.reachable():
            raise LedgerUnreachable(f"the ledger is unreachable ({why})") from exc
        tries = attempts.get(sha, 0) + 1 if attempts is not None else 1
        if attempts is not None:
            attempts[sha] = tries
        if tries < MAX_LEDGER_ATTEMPTS:
            report.waiting.setdefault(partner, []).append(path.name)
            log.warning("reply_waits", partner=partner, file=path.name, attempt=tries,
                        error=why)  # fmt: skip
            return None
        return _Fault(f"the ledger refused this file {tries} times ({why})")
    return _Fault(f"the ledger cannot hold a value of this file ({why})")


def _quarantine_and_record(
    spool: Path,
    ledger: Ledger,
    path: Path,
    partner: str,
    sha: str,
    reason: str,
    position: int | None,
    *,
    kind: str = "unknown",
    payments: RemittanceReport | None = None,
) -> None:
    ledger.record_received_file(sha, partner=partner, name=path.name, kind=kind,
                                state="quarantined")  # fmt: skip
    quarantine(spool, path, partner, reason, position, payments)


def quarantine(
    spool: Path,
    path: Path,
    partner: str,
    reason: str,
    position: int | None,
    payments: RemittanceReport | None = None,
) -> Path:
    """Set a file aside in ``spool/quarantine/PARTNER/`` beside ``NAME.reason.json``; for an
    835 that broke half way, the note says which payments were applied and which were not."""
    folder = spool / "quarantine" / partner
    note: dict[str, Any] = {
        "file": path.name,
        "partner": partner,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reason": reason,
        "segment_position": position,
        "what_next": "check the file with the partner; nothing in it was applied",
    }
    if payments is not None:
        note.update(_payments_note(path, partner, payments))
    target = archive(path, folder)
    write_atomic(folder / f"{target.name}.reason.json", json.dumps(note, indent=2).encode())
    log.warning("reply_quarantined", partner=partner, file=path.name, reason=reason,
                segment_position=position)  # fmt: skip
    return target


def _payments_note(path: Path, partner: str, payments: RemittanceReport) -> dict[str, Any]:
    """Which payments (transaction sets) of a broken 835 were applied, held or not applied."""
    headers, unreadable_from = transaction_headers(path)
    traces = dict(headers)
    seen = set(payments.posted) | set(payments.already) | set(payments.held)

    def listed(controls: list[str]) -> list[dict[str, str]]:
        return [{"transaction": c, "trace_number": traces.get(c, "")} for c in controls]

    not_applied = [c for c, _trace in headers if c not in seen]
    if not (seen or not_applied):
        return {}
    note: dict[str, Any] = {"payments_not_applied": listed(not_applied)}
    for key, controls in (("payments_posted", payments.posted),
                          ("payments_posted_before", payments.already),
                          ("payments_held_for_review", payments.held)):  # fmt: skip
        if controls:
            note[key] = listed(controls)
    if unreadable_from is not None:
        note["unreadable_from_segment"] = unreadable_from
    if seen:
        note["what_next"] = (
            "the payments listed as posted (now or before) are in the ledger and are never "
            "posted twice; those held wait in spool/review/; none of payments_not_applied was "
            "posted: ask the partner for a corrected file and drop it in "
            f"spool/inbound/{partner}/, only what was not applied will be posted"
        )
    return note
