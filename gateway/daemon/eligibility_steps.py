"""The daemon's eligibility steps, in one place the run loop calls: take request files, build
270s per partner, and say which requests are still unanswered after the partner's window.

Uploads, replies (271, and TA1/999 that refuse a 270) and the benefits outputs go through the
daemon's own steps: ``send_outbound``, ``process_inbound`` and ``emit_outputs``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gateway.config import GatewaySettings, PartnerConfig
from gateway.daemon.eligibility_intake import take_request_files
from gateway.daemon.eligibility_outbound import InquiryReport, build_inquiries
from gateway.daemon.eligibility_replies import warn_unanswered
from gateway.daemon.intake import IntakeReport
from gateway.intake.mappings import Mapping
from gateway.ledger.ledger import Ledger

OVERDUE_CHECK_SECONDS = 60.0  # how often the unanswered requests are looked for


@dataclass
class EligibilityReport:
    intake: IntakeReport = field(default_factory=IntakeReport)
    sent: InquiryReport = field(default_factory=InquiryReport)
    unanswered: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "eligibility_requests_taken": len(self.intake.taken),
            "eligibility_files_rejected": len(self.intake.rejected_files),
            "inquiries_built": len(self.sent.built),
            "eligibility_requests_sent": self.sent.requests,
        }


class EligibilitySteps:
    """The eligibility work of one daemon (its ledger, partners, mappings and worker name)."""

    def __init__(
        self,
        spool: Path,
        ledger: Ledger,
        partners: list[PartnerConfig],
        settings: GatewaySettings,
        mappings: list[Mapping],
        owner: str,
    ) -> None:
        self.spool = spool
        self.ledger = ledger
        self.partners = partners
        self.settings = settings
        self.mappings = mappings
        self.owner = owner
        self.warned: set[str] = set()  # requests already logged as unanswered
        self._checked_at = -OVERDUE_CHECK_SECONDS

    def intake(self, report: EligibilityReport) -> None:
        take_request_files(
            self.spool, self.ledger, self.partners, mappings=self.mappings,
            settle_seconds=self.settings.intake.settle_seconds, report=report.intake,
        )  # fmt: skip

    def build(
        self,
        partner: PartnerConfig,
        report: EligibilityReport,
        *,
        once: bool = False,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        build_inquiries(
            self.spool, self.ledger, partner, owner=self.owner,
            lease_seconds=self.settings.daemon.lease_seconds, once=once, report=report.sent,
            stop=stop,
        )  # fmt: skip

    def overdue(self, report: EligibilityReport, now: datetime | None = None) -> None:
        """Log requests unanswered after their partner's ``answer_minutes`` (every minute)."""
        started = time.monotonic()
        if now is None and started - self._checked_at < OVERDUE_CHECK_SECONDS:
            return
        self._checked_at = started
        when = now or datetime.now(UTC)
        report.unanswered = sum(
            warn_unanswered(self.ledger, p.name, p.eligibility.answer_minutes, self.warned, when)
            for p in self.partners
        )
