"""Queued claim status inquiries batched into 276 interchanges in ``spool/outbound/PARTNER/``.

The steps of the 270s (``eligibility_outbound``): inquiries are leased, control numbers
reserved, the 276 written under a temporary name and renamed, then one ledger transaction
records the interchange and moves its inquiries to ``sent``. The upload is ``send_outbound``'s,
unchanged: a 276 the ledger does not know is an orphan set aside, one the partner already has
is not sent again. One 276 asks one payer for one provider.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from gateway.config import PartnerConfig
from gateway.daemon.outbound_inquiries import build_file, build_leased, held_in_full
from gateway.domain.claim import Claim
from gateway.domain.claim_status import StatusInquiry, inquiry_for
from gateway.ledger.followup import inquiry_key
from gateway.ledger.ledger import Ledger
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
        held_in_full(ledger, traces, len(stored), owner, inquiry_key, "inquiry(ies)")
        batches: dict[object, list[StatusInquiry]] = {}
        for s in stored:
            found = ledger.claim(s.claim_id, s.version)
            if found is None:  # the foreign key keeps it: a claim version is never deleted
                raise RuntimeError(f"inquiry {s.trace}: claim version not in the ledger")
            claim = Claim.model_validate(found.record)
            inquiry = inquiry_for(claim, s.trace, found.payer_claim_number)
            batches.setdefault(batch_key(inquiry), []).append(inquiry)

        def built(name: str, count: int) -> None:
            report.built.append(name)
            report.inquiries += count

        if not build_leased(
            ledger, partner.name, owner, traces, list(batches.values()), id_of=lambda i: i.trace,
            key_of=inquiry_key, built=built, counted="inquiries",
            build=lambda inquiries, token: _build_one(spool, ledger, partner, inquiries, owner,
                                                      token),
        ):  # fmt: skip
            break
    return report


def _build_one(
    spool: Path, ledger: Ledger, partner: PartnerConfig, inquiries: Sequence[StatusInquiry],
    owner: str, token: int | None = None,
) -> str:  # fmt: skip
    def record(control: int, group: int, name: str, sha256: str) -> None:
        ledger.submit_status_interchange(
            partner.name, control, group, file_name=name, sha256=sha256,
            traces=[i.trace for i in inquiries], owner=owner, token=token,
        )  # fmt: skip

    name, control = build_file(
        spool, ledger, partner, name_of=status_inquiry_name,
        write=lambda out, envelope: write_276(out, inquiries, envelope), record=record,
    )  # fmt: skip
    log.info("status_inquiry_built", partner=partner.name, file=name, claims=len(inquiries),
             control_number=f"{control:09d}")  # fmt: skip
    return name
