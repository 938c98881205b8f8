"""Exchange, outbound: queued claims batched into 837 interchanges, then handed to the partner.

Crash safety, step by step:

1. Claims are leased (a restarted daemon drops its own old leases and takes them again). The
   lease is renewed while the daemon lives; the transaction of step 4 checks that the lease is
   still this daemon's with its fencing token, so a daemon that stalled past its lease while
   another took the claims over writes nothing (``lease_lost``) and its file is removed.
2. Control numbers are reserved (a crash only leaves a gap; a number is never reused).
3. The 837 is written to ``spool/outbound/PARTNER/NAME`` (temporary name, then rename). The
   name carries the ISA13.
4. One ledger transaction records the interchange and moves every claim to ``batched`` (in the
   file, waiting to be uploaded). A file in ``outbound/`` that the ledger does not know is an
   orphan of a crash between 3 and 4: it is moved to ``archive/orphans/`` and never sent (its
   claims are still queued and go out in a new file).
5. Upload: unless the partner already has the name (a crash after the upload), put it; then one
   ledger transaction marks the interchange sent and its claims ``submitted`` (with their status
   records: submitted means uploaded), and the file is archived.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import get_args

import structlog

from gateway.config import PartnerConfig
from gateway.daemon.claim_memo import MEMO
from gateway.daemon.status import status_record
from gateway.domain.claim import ClaimKind
from gateway.files import archive, private_dir, sha256_of, write_atomic
from gateway.ledger.ledger import Interchange, Leased, LeaseLost, Ledger, OutboxItem
from gateway.transactions.claim_837 import Envelope, write_837
from gateway.transports.base import Transport
from gateway.transports.retry import call_with_retries

log = structlog.get_logger("gateway.exchange")

KIND_LABEL = {"professional": "837P", "dental": "837D", "institutional": "837I"}
KINDS: tuple[ClaimKind, ...] = get_args(ClaimKind)


def envelope_for(
    partner: PartnerConfig | None, control: int, group: int, when: datetime
) -> Envelope:
    """ISA/GS and 1000A/B identities of ``partner`` (placeholders without one)."""
    if partner is None:
        return Envelope(
            sender_id="SENDER", receiver_id="RECEIVER", interchange_control=control,
            group_control=group, batch_id=f"B{control:09d}", submitter_name="SUBMITTER",
            receiver_name="RECEIVER", when=when,
        )  # fmt: skip
    i, s = partner.interchange, partner.submitter
    return Envelope(
        sender_id=i.sender_id, receiver_id=i.receiver_id, sender_qualifier=i.sender_qualifier,
        receiver_qualifier=i.receiver_qualifier, interchange_control=control,
        group_control=group, batch_id=f"B{control:09d}", submitter_name=s.name,
        submitter_contact=s.contact, submitter_phone=s.phone, receiver_name=s.receiver_name,
        usage=partner.usage, ack_requested=i.ack_requested, line_breaks=i.line_breaks,
        when=when,
    )  # fmt: skip


def interchange_name(partner: str, kind: str, control: int) -> str:
    return f"{partner}-{KIND_LABEL[kind]}-{control:09d}.x12"


@dataclass
class SendReport:
    built: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    claims: int = 0  # claims built into interchanges (batched)
    submitted: int = 0  # claims whose interchange was confirmed uploaded


def build_interchanges(
    spool: Path,
    ledger: Ledger,
    partner: PartnerConfig,
    *,
    owner: str,
    lease_seconds: float,
    once: bool = False,
    now: datetime | None = None,
    report: SendReport | None = None,
    stop: Callable[[], bool] | None = None,
) -> SendReport:
    """Batch the partner's queued claims per kind into interchanges in ``outbound/``.

    A batch goes when it is full (``batch.max_claims``), when its oldest claim has waited
    ``batch.max_wait_seconds``, or always with ``once``.
    """
    report = report or SendReport()
    now = now or datetime.now(UTC)
    limit = partner.batch.max_claims
    max_wait = timedelta(seconds=partner.batch.max_wait_seconds)
    for kind in KINDS:
        while not (stop is not None and stop()):
            count, oldest = ledger.queued_summary(partner.name, kind)
            if count == 0:
                break
            waited = oldest is not None and now - oldest >= max_wait
            if not (once or count >= limit or waited):
                break
            claim_ids = ledger.lease_queued(partner.name, kind, owner, limit, lease_seconds)
            if not claim_ids:
                break
            try:
                name = _build_one(spool, ledger, partner, kind, claim_ids, owner)
            except LeaseLost as exc:  # stalled past the lease: another daemon sends them
                log.warning("lease_lost", partner=partner.name, kind=KIND_LABEL[kind],
                            claims=len(claim_ids), why=str(exc))  # fmt: skip
                break
            report.built.append(name)
            report.claims += len(claim_ids)
    return report


def _build_one(
    spool: Path,
    ledger: Ledger,
    partner: PartnerConfig,
    kind: ClaimKind,
    claim_ids: Leased,
    owner: str,
) -> str:
    stored = ledger.current_records(claim_ids)
    if len(stored) != len(claim_ids):  # leased claims exist; never submit one not in the file
        ledger.release_leases(claim_ids, owner)
        raise RuntimeError(
            f"{len(claim_ids) - len(stored)} leased claim(s) vanished from the ledger"
        )
    claims = [MEMO.take(stored[c]) for c in claim_ids]  # in the leased order, validated
    control, group = ledger.reserve_control_numbers(partner.name)
    name = interchange_name(partner.name, kind, control)
    path = private_dir(spool / "outbound" / partner.name) / name
    text = io.StringIO()
    write_837(text, kind, claims, envelope_for(partner, control, group, datetime.now()))
    write_atomic(path, text.getvalue().encode("ascii"))
    try:
        ledger.batch_interchange(
            partner.name, control, group, kind=kind, file_name=name, sha256=sha256_of(path),
            claim_ids=claim_ids, owner=owner, token=claim_ids.token,
        )  # fmt: skip
    except Exception:
        path.unlink(missing_ok=True)  # nothing recorded: the claims stay queued
        ledger.release_leases(claim_ids, owner)
        raise
    log.info("interchange_built", partner=partner.name, file=name, kind=KIND_LABEL[kind],
             claims=len(claim_ids), control_number=f"{control:09d}")  # fmt: skip
    return name


def _submitted(
    partner: str, interchange: Interchange, claim_id: str, version: int
) -> list[OutboxItem]:
    """The ``submitted`` status record of a claim whose interchange was uploaded."""
    control = f"{interchange.control_number:09d}"
    return [status_record(
        event="submitted", claim_id=claim_id, version=version, partner=partner, source="837",
        cause=control, file=interchange.file_name, control_number=control,
    )]  # fmt: skip


def send_outbound(
    spool: Path,
    ledger: Ledger,
    partner: PartnerConfig,
    transport: Transport,
    report: SendReport | None = None,
) -> SendReport:
    """Upload every interchange waiting in ``outbound/PARTNER/``; raises TransportError."""
    report = report or SendReport()
    folder = spool / "outbound" / partner.name
    if not folder.is_dir():
        return report
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        name = path.name
        interchange = ledger.interchange(partner=partner.name, file_name=name)
        if interchange is None:
            archive(path, spool / "archive" / "orphans" / partner.name)
            report.orphans.append(name)
            log.warning("outbound_orphan_set_aside", partner=partner.name, file=name,
                        why="not recorded in the ledger (built before a crash); its claims "
                            "are still queued and go out in a new file")  # fmt: skip
            continue
        if interchange.sent_at is None:
            if sha256_of(path) != interchange.sha256:
                log.error(
                    "outbound_file_changed", partner=partner.name, file=name,
                    why="its content differs from what the ledger recorded; not sent",
                )  # fmt: skip
                continue
            there = call_with_retries(
                partial(transport.exists, name), partner.retry, partner=partner.name,
                operation="exists",
            )  # fmt: skip
            if there:
                report.already_there.append(name)
                log.info("interchange_already_at_partner", partner=partner.name, file=name)
            else:
                call_with_retries(
                    partial(transport.put, path, name), partner.retry, partner=partner.name,
                    operation="upload",
                )  # fmt: skip
                report.sent.append(name)
            events = ledger.mark_interchange_sent(
                interchange.id, status_records=partial(_submitted, partner.name, interchange)
            )
            report.submitted += len(events)
            log.info("interchange_sent", partner=partner.name, file=name,
                     claims=interchange.claim_count,
                     control_number=f"{interchange.control_number:09d}")  # fmt: skip
        archive(path, spool / "archive" / "outbound" / partner.name)
    return report
