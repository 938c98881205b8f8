"""Queued eligibility requests batched into 270 interchanges in ``spool/outbound/PARTNER/``.

The same steps as for 837s (see ``outbound``): requests are leased, control numbers reserved,
the 270 written under a temporary name and renamed, then one ledger transaction records the
interchange and moves its requests to ``sent``. The upload is ``send_outbound``'s, unchanged:
a 270 the ledger does not know is an orphan set aside, one the partner already has is not sent
again. One 270 asks one payer for one provider, about at most one dependent
(``eligibility_270.inquiry_files``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from gateway.config import PartnerConfig
from gateway.daemon.outbound_inquiries import build_file, build_leased, held_in_full
from gateway.domain.eligibility import EligibilityRequest
from gateway.ledger.ledger import Ledger
from gateway.ledger.records import request_key
from gateway.transactions.eligibility_270 import batch_key, inquiry_files, write_270

log = structlog.get_logger("gateway.exchange")


def inquiry_name(partner: str, control: int) -> str:
    return f"{partner}-270-{control:09d}.x12"


@dataclass
class InquiryReport:
    built: list[str] = field(default_factory=list)
    requests: int = 0


def build_inquiries(
    spool: Path,
    ledger: Ledger,
    partner: PartnerConfig,
    *,
    owner: str,
    lease_seconds: float,
    once: bool = False,
    now: datetime | None = None,
    report: InquiryReport | None = None,
    stop: Callable[[], bool] | None = None,
) -> InquiryReport:
    """Batch the partner's queued requests into 270s: when ``max_requests`` wait, when the
    oldest has waited ``max_wait_seconds``, or always with ``once``."""
    report = report or InquiryReport()
    now = now or datetime.now(UTC)
    settings = partner.eligibility
    max_wait = timedelta(seconds=settings.max_wait_seconds)
    while not (stop is not None and stop()):
        count, oldest = ledger.queued_request_summary(partner.name)
        if count == 0:
            break
        waited = oldest is not None and now - oldest >= max_wait
        if not (once or count >= settings.max_requests or waited):
            break
        ids = ledger.lease_queued_requests(partner.name, owner, settings.max_requests,
                                           lease_seconds)  # fmt: skip
        if not ids:
            break
        stored = ledger.eligibility_requests(ids)
        held_in_full(ledger, ids, len(stored), owner, request_key, "request(s)")
        batches: dict[object, list[EligibilityRequest]] = {}
        for s in stored:
            request = EligibilityRequest.model_validate(s.record)
            batches.setdefault(batch_key(request), []).append(request)
        files = [f for b in batches.values() for f in inquiry_files(b, settings.max_requests)]

        def built(name: str, count: int) -> None:
            report.built.append(name)
            report.requests += count

        if not build_leased(
            ledger, partner.name, owner, ids, files, id_of=lambda r: r.request_id,
            key_of=request_key, built=built, counted="requests",
            build=lambda requests, token: _build_one(spool, ledger, partner, requests, owner,
                                                     token),
        ):  # fmt: skip
            break
    return report


def _build_one(
    spool: Path,
    ledger: Ledger,
    partner: PartnerConfig,
    requests: Sequence[EligibilityRequest],
    owner: str,
    token: int | None = None,
) -> str:
    def record(control: int, group: int, name: str, sha256: str) -> None:
        ledger.submit_eligibility_interchange(
            partner.name, control, group, file_name=name, sha256=sha256,
            request_ids=[r.request_id for r in requests], owner=owner, token=token,
        )  # fmt: skip

    name, control = build_file(
        spool, ledger, partner, name_of=inquiry_name,
        write=lambda out, envelope: write_270(out, requests, envelope), record=record,
    )  # fmt: skip
    log.info("inquiry_built", partner=partner.name, file=name, requests=len(requests),
             control_number=f"{control:09d}")  # fmt: skip
    return name
