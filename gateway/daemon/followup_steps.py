"""The daemon's follow-up step: ask payers about silent claims (276), once per window.

Which claims to ask about is worked out from the whole ledger (``followup.inquiries``), so it is
done at most every ``PLAN_SECONDS`` (and on every ``run --once``); queued inquiries are built
into 276s per partner on every cycle. Uploads and the 277 answers go through the daemon's own
steps (``send_outbound``, ``process_inbound``). ``clock`` is the follow-up's idea of now:
tests replace it to move time past each window without waiting.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog

from gateway.config import GatewaySettings, PartnerConfig
from gateway.daemon.status_outbound import StatusInquiryReport, build_status_inquiries
from gateway.followup.inquiries import queue_inquiries
from gateway.followup.worklist import build_worklist
from gateway.ledger.ledger import Ledger

log = structlog.get_logger("gateway.followup")
PLAN_SECONDS = 300.0


def utc_clock() -> datetime:
    return datetime.now(UTC)


class FollowupSteps:
    """The follow-up work of one daemon."""

    def __init__(
        self,
        spool: Path,
        ledger: Ledger,
        partners: list[PartnerConfig],
        settings: GatewaySettings,
        owner: str,
        clock: Callable[[], datetime] = utc_clock,
    ) -> None:
        self.spool = spool
        self.ledger = ledger
        self.partners = partners
        self.settings = settings
        self.owner = owner
        self.clock = clock
        self._planned_at = -PLAN_SECONDS
        self._listed: set[tuple[str, str]] = set()  # worklist items already logged

    def run(
        self, report: StatusInquiryReport, *, once: bool = False,
        stop: Callable[[], bool] | None = None,
    ) -> None:  # fmt: skip
        started = time.monotonic()
        if once or started - self._planned_at >= PLAN_SECONDS:
            self._planned_at = started
            self._plan(report)
        asking = [p for p in self.partners if p.followup.status_inquiry]
        for partner in asking:
            if stop is not None and stop():
                break
            build_status_inquiries(
                self.spool, self.ledger, partner, owner=self.owner,
                lease_seconds=self.settings.daemon.lease_seconds, report=report, stop=stop,
            )  # fmt: skip

    def _plan(self, report: StatusInquiryReport) -> None:
        """Queue the inquiries due now; count the worklist (a log line per new item)."""
        now = self.clock()
        settings = {p.name: p.followup for p in self.partners}
        queued = queue_inquiries(self.ledger, now, settings)
        report.queued += len(queued)
        if queued:
            log.info("status_inquiries_queued", count=len(queued))
        items = build_worklist(self.ledger, now, settings)
        report.worklist = dict(Counter(i.reason for i in items))
        for item in items:  # claim ids and reasons only: never a patient's name
            if (item.claim_id, item.reason) not in self._listed:
                due = item.due.isoformat() if item.due else None
                log.info("worklist_item", claim_id=item.claim_id, reason=item.reason,
                         partner=item.partner, due=due)  # fmt: skip
        self._listed = {(i.claim_id, i.reason) for i in items}
        waiting = [
            f.submitted_at for f in self.ledger.followup_facts_where(("submitted",))
            if f.state == "submitted" and f.submitted_at is not None and f.acked_at is None
        ]  # fmt: skip
        report.oldest_unacknowledged_seconds = (
            (now - min(waiting)).total_seconds() if waiting else None
        )
