"""The windows a claim is measured against, per partner and payer, and the payer's learned
time to pay (the 80th percentile of days from 277CA acceptance to the first 835 decision over
its recent claims, once there are enough of them)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from gateway.config import FollowupConfig
from gateway.ledger.followup import ClaimFacts
from gateway.ledger.ledger import Ledger

TIMELY_FILING_NOTICE_DAYS = 14  # a timely-filing item shows up this many days before the limit
MIN_DAYS_AFTER_277CA = 7  # never ask about a claim sooner than this after its 277CA
LEARN_MIN_CLAIMS = 10  # paid claims a payer needs before its own time to pay counts
LEARN_RECENT = 200  # the most recent paid claims looked at
SILENT_STATES = ("submitted", "accepted")  # a claim can be silent only in these


class Rules:
    """Follow-up settings of every partner, and what the ledger taught about each payer."""

    def __init__(
        self,
        settings: Mapping[str, FollowupConfig],
        facts: Iterable[ClaimFacts] = (),
        *,
        learned: Mapping[str, int] | None = None,
    ) -> None:
        """``learned``: each payer's time to pay when already known (``learned_from``),
        else learned from ``facts``."""
        self.settings = dict(settings)
        self._default = FollowupConfig()  # a partner with no settings (built once: not free)
        self.learned = dict(learned) if learned is not None else learned_payment_days(facts)

    def of(self, partner: str) -> FollowupConfig:
        return self.settings.get(partner) or self._default

    def filing_days(self, claim: ClaimFacts) -> int:
        days = self.of(claim.partner).timely_filing_days
        return days.get(claim.payer_id, days.get("*", 90))

    def filing_deadline(self, claim: ClaimFacts) -> date | None:
        """The last day the payer takes the claim (from its first date of service)."""
        if not claim.service_from:
            return None
        served = date.fromisoformat(claim.service_from[:10])
        return served + timedelta(days=self.filing_days(claim))

    def payment_days(self, claim: ClaimFacts) -> int:
        """Days from 277CA acceptance to payment: the payer's learned time once known."""
        return self.learned.get(claim.payer_id) or self.of(claim.partner).payment_days

    def silent_since(self, claim: ClaimFacts) -> tuple[str, datetime] | None:
        """Why and since when a submitted claim is silent (None: it is not, or not yet known
        to be): no 999, no 277CA, or no 835 past its window."""
        cfg = self.of(claim.partner)
        if claim.submitted_at is None or claim.adjudicated_at is not None:
            return None
        if claim.state not in SILENT_STATES:
            return None
        if claim.accepted_at is not None:
            return "no_payment", claim.accepted_at + timedelta(days=self.payment_days(claim))
        if claim.acked_at is None:
            return "no_999", claim.submitted_at + timedelta(hours=cfg.ack_999_hours)
        return "no_277ca", claim.submitted_at + timedelta(days=cfg.ack_277ca_days)


def learned_payment_days(facts: Iterable[ClaimFacts]) -> dict[str, int]:
    """Per payer, the 80th percentile of whole days from 277CA acceptance to the first 835
    decision over its most recent claims, when it has at least ``LEARN_MIN_CLAIMS``."""
    samples: dict[str, list[tuple[datetime, int]]] = {}
    for f in facts:
        if f.accepted_at is not None and f.adjudicated_at is not None:
            days = max(0, (f.adjudicated_at - f.accepted_at).days)
            samples.setdefault(f.payer_id, []).append((f.adjudicated_at, days))
    return _percentiles(samples)


def learned_from(ledger: Ledger) -> dict[str, int]:
    """``learned_payment_days`` of the ledger's claims, reading only each payer's latest
    ``LEARN_RECENT`` decided claims (the same days: the latest by decision time, the longer
    wait first among claims decided at the same time)."""
    samples = {
        payer: [(decided, max(0, (decided - accepted).days)) for decided, accepted in pairs]
        for payer, pairs in ledger.payment_day_samples(LEARN_RECENT).items()
    }
    return _percentiles(samples)


def _percentiles(samples: Mapping[str, list[tuple[datetime, int]]]) -> dict[str, int]:
    learned = {}
    for payer, found in samples.items():
        recent = [d for _, d in sorted(found)[-LEARN_RECENT:]]
        if len(recent) >= LEARN_MIN_CLAIMS:
            ordered = sorted(recent)
            learned[payer] = max(1, ordered[math.ceil(0.8 * len(ordered)) - 1])
    return learned
