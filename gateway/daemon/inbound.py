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

import structlog
from sqlalchemy.exc import SQLAlchemyError

from gateway.config import PartnerConfig
from gateway.daemon.ack_effects import ack_999_changes, status_277ca_changes, ta1_changes
from gateway.daemon.recognize import recognize
from gateway.daemon.remittance_posting import post_remittance_file
from gateway.files import archive, private_dir, sha256_of, write_atomic
from gateway.ledger.ledger import ClaimChange, Ledger
from gateway.transports.base import Transport
from gateway.transports.errors import PermanentTransportError
from gateway.transports.retry import call_with_retries
from gateway.x12.errors import X12SyntaxError

log = structlog.get_logger("gateway.exchange")

EFFECTS: dict[str, Callable[[Path, Ledger, str, str, str], list[ClaimChange]]] = {
    "TA1": ta1_changes,
    "999": ack_999_changes,
    "277CA": status_277ca_changes,
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
        call_with_retries(
            partial(transport.done, name, partner.download.after), partner.retry,
            partner=partner.name, operation=partner.download.after,
        )  # fmt: skip
        report.fetched.append(name)
        log.info("file_received", partner=partner.name, file=name, size=item.size)
    return report


def process_inbound(
    spool: Path,
    ledger: Ledger,
    partner: str,
    report: InboundReport | None = None,
    stop: Callable[[], bool] | None = None,
) -> InboundReport:
    """Process every file waiting in ``spool/inbound/PARTNER/``, oldest first."""
    report = report or InboundReport()
    folder = spool / "inbound" / partner
    if not folder.is_dir():
        return report
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    for path in sorted(files, key=lambda p: (p.stat().st_mtime, p.name)):
        if stop is not None and stop():
            break
        try:
            process_file(path, spool, ledger, partner, report)
        except SQLAlchemyError:
            raise  # the ledger is down: the file stays and is processed next cycle
        except Exception as exc:  # one bad file never stops the loop
            log.exception("reply_failed", partner=partner, file=path.name)
            quarantine(spool, path, partner, f"could not be processed: {exc}", None)
            report.quarantined.append(path.name)
    return report


def archive_target(done: Path, path: Path, sha: str) -> Path:
    """Where a received file will be archived: under its own name, or, when a different file
    of that name was archived before, under the name prefixed with its hash. Decided before the
    file is processed, so the records and the claims' timelines name that one file."""
    target = done / path.name
    return done / f"{sha[:12]}-{path.name}" if target.exists() else target


def process_file(
    path: Path, spool: Path, ledger: Ledger, partner: str, report: InboundReport
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
    try:
        if found.kind == "835":
            result = post_remittance_file(path, spool, ledger, partner, archived_as=archived_as)
            report.payments_posted += len(result.posted)
            report.payments_held += len(result.held)
            report.payments_declined += len(result.declined)
            report.payments_already += len(result.already)
            report.claims_changed += result.claims
            state = "held" if result.held else "declined" if result.declined else "processed"
            ledger.record_received_file(sha, partner=partner, name=path.name, kind="835",
                                        state=state)  # fmt: skip
        else:
            changes = EFFECTS[found.kind](path, ledger, partner, sha, archived_as)
            applied = ledger.apply_reply(
                sha, partner=partner, name=path.name, kind=found.kind, changes=changes
            )
            if applied is not None:
                report.claims_changed += len(applied.applied)
                for claim_id, why in applied.skipped:
                    log.info("claim_state_unchanged", partner=partner, file=path.name,
                             claim_id=claim_id, source=found.kind, why=why)  # fmt: skip
    except X12SyntaxError as exc:
        _quarantine_and_record(spool, ledger, path, partner, sha, f"broken X12: {exc}",
                               exc.segment_index)  # fmt: skip
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


def _quarantine_and_record(
    spool: Path,
    ledger: Ledger,
    path: Path,
    partner: str,
    sha: str,
    reason: str,
    position: int | None,
) -> None:
    ledger.record_received_file(sha, partner=partner, name=path.name, kind="unknown",
                                state="quarantined")  # fmt: skip
    quarantine(spool, path, partner, reason, position)


def quarantine(spool: Path, path: Path, partner: str, reason: str, position: int | None) -> Path:
    """Set a file aside in ``spool/quarantine/PARTNER/`` beside ``NAME.reason.json``."""
    folder = spool / "quarantine" / partner
    target = archive(path, folder)
    note = {
        "file": path.name,
        "partner": partner,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reason": reason,
        "segment_position": position,
        "what_next": "check the file with the partner; nothing in it was applied"
        if position is None or "broken" not in reason
        else "nothing after the fault was applied; ask the partner for a corrected file",
    }
    write_atomic(folder / f"{target.name}.reason.json", json.dumps(note, indent=2).encode())
    log.warning("reply_quarantined", partner=partner, file=path.name, reason=reason,
                segment_position=position)  # fmt: skip
    return target
