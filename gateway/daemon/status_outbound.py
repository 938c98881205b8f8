"""Queued claim status inquiries batched into 276 interchanges in ``spool/outbound/PARTNER/``.

The steps of the 270s (``eligibility_outbound``): inquiries are leased, control numbers
reserved, the 276 written under a temporary name and renamed, then one ledger transaction
records the interchange and moves its inquiries to ``sent``. The upload is ``send_outbound``'s,
unchanged: a 276 the ledger does not know is an orphan set aside, one the partner already has
is not sent again. One 276 asks one payer for one provider.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog

from gateway.config import PartnerConfig
from gateway.daemon.outbound import envelope_for
from gateway.domain.claim import Claim
from gateway.domain.claim_status import StatusInquiry, inquiry_for
from gateway.files import private_dir, sha256_of, write_atomic
from gateway.ledger.followup import inquiry_key
from gateway.ledger.ledger import LeaseLost, Ledger
from gateway.transactions.status_276 import batch_key, write_276

log = structlog.get_logger("gateway.exchange")


def status_inquiry_name(partner: str, control: int) -> str:
    return f"{partner}-276-{control:09d}.x12"


@dataclass
class StatusInquiryReport:
    queued: int = 0
    built: list[str] = field(default_factory=list)
    inquiries: int = 0
    # worked out with the plan (every PLAN_SECONDS): worklist items per reason, and how long
    # the oldest upload still without a 999 has waited (None: none waits)
    worklist: dict[str, int] | None = None
    oldest_unacknowledged_seconds: float | None = None


def build_status_inquiries(
    spool: Path,
    ledger: Ledger,
    partner: PartnerConfig,
    *,
    owner: str,
    lease_seconds: float,
    report: StatusInquiryReport,
    stop: Callable[[], bool] | None = None,
) -> StatusInquiryReport:
    """Batch every queued inquiry of the partner into 276s (at most ``max_inquiries`` each)."""
    limit = partner.followup.max_inquiries
    while not (stop is not None and stop()):
        traces = ledger.lease_queued_inquiries(partner.name, owner, limit, lease_seconds)
        if not traces:
            break
        stored = ledger.status_inquiries(traces)
        if len(stored) != len(traces):  # never ask about an inquiry the ledger does not hold
            ledger.release_leases(traces, owner, key_of=inquiry_key)
            raise RuntimeError(f"{len(traces) - len(stored)} leased inquiry(ies) vanished")
        batches: dict[object, list[StatusInquiry]] = {}
        for s in stored:
            found = ledger.claim(s.claim_id, s.version)
            if found is None:  # the foreign key keeps it: a claim version is never deleted
                raise RuntimeError(f"inquiry {s.trace}: claim version not in the ledger")
            claim = Claim.model_validate(found.record)
            inquiry = inquiry_for(claim, s.trace, found.payer_claim_number)
            batches.setdefault(batch_key(inquiry), []).append(inquiry)
        pending = list(traces)
        for inquiries in batches.values():
            try:
                name = _build_one(spool, ledger, partner, inquiries, owner, traces.token)
            except LeaseLost as exc:  # stalled past the lease: another daemon asks them
                log.warning("lease_lost", partner=partner.name, inquiries=len(pending),
                            why=str(exc))  # fmt: skip
                ledger.release_leases(pending, owner, key_of=inquiry_key)  # what is still ours
                return report
            except Exception:
                ledger.release_leases(pending, owner, key_of=inquiry_key)  # they stay queued
                raise
            done = {i.trace for i in inquiries}
            pending = [t for t in pending if t not in done]
            report.built.append(name)
            report.inquiries += len(inquiries)
    return report


def _build_one(
    spool: Path, ledger: Ledger, partner: PartnerConfig, inquiries: list[StatusInquiry],
    owner: str, token: int | None = None,
) -> str:  # fmt: skip
    control, group = ledger.reserve_control_numbers(partner.name)
    name = status_inquiry_name(partner.name, control)
    path = private_dir(spool / "outbound" / partner.name) / name
    text = io.StringIO()
    write_276(text, inquiries, envelope_for(partner, control, group, datetime.now()))
    write_atomic(path, text.getvalue().encode("ascii"))
    try:
        ledger.submit_status_interchange(
            partner.name, control, group, file_name=name, sha256=sha256_of(path),
            traces=[i.trace for i in inquiries], owner=owner, token=token,
        )  # fmt: skip
    except Exception:
        path.unlink(missing_ok=True)  # nothing recorded: the inquiries stay queued
        raise
    log.info("status_inquiry_built", partner=partner.name, file=name, claims=len(inquiries),
             control_number=f"{control:09d}")  # fmt: skip
    return name
