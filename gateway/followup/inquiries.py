"""Which silent claims to ask payers about (276), once per re-ask window.

A claim is asked about when it is silent past its window (no 277CA, or no 835) and its
partner allows inquiries; never when it was rejected (it was not filed), never sooner than
seven days after its 277CA, never twice within ``reask_days``, and never for a file with no 999
(the file is the question then, not the claim). Windows are ``reask_days`` long, counted from
a fixed day, so every daemon computes the same trace (``CLAIM.VERSION.WINDOW``) for the same
question and the ledger keeps it once, and a claim sent again is asked about afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from gateway.config import FollowupConfig
from gateway.followup.rules import MIN_DAYS_AFTER_277CA, SILENT_STATES, Rules, learned_from
from gateway.ledger.followup import InquiryIn
from gateway.ledger.ledger import Ledger

WINDOWS_FROM = datetime(2000, 1, 1, tzinfo=UTC)  # windows are counted from here, for every claim


def inquiries_due(
    ledger: Ledger, now: datetime, settings: Mapping[str, FollowupConfig]
) -> list[InquiryIn]:
    """The questions to ask at ``now`` (some may already be in the ledger for this window)."""
    facts = ledger.followup_facts_where(SILENT_STATES)  # only these can be silent
    rules = Rules(settings, learned=learned_from(ledger))
    asked: dict[tuple[str, int], datetime] = {}
    for inquiry in ledger.status_inquiries(claim_ids=[f.claim_id for f in facts]):
        key = (inquiry.claim_id, inquiry.version)
        asked[key] = max(asked.get(key, inquiry.asked_at), inquiry.asked_at)
    due = []
    for claim in facts:
        cfg = rules.of(claim.partner)
        silent = rules.silent_since(claim)
        if not cfg.status_inquiry or silent is None or silent[0] == "no_999":
            continue
        why, since = silent
        if now < since:
            continue
        if claim.accepted_at and now < claim.accepted_at + timedelta(days=MIN_DAYS_AFTER_277CA):
            continue
        last = asked.get((claim.claim_id, claim.version))
        if last is not None and now - last < timedelta(days=cfg.reask_days):
            continue  # asked within the window
        window = (now - WINDOWS_FROM).days // cfg.reask_days
        due.append(InquiryIn(claim.claim_id, claim.version, claim.partner, claim.payer_id,
                             window, why))  # fmt: skip
    return due


def queue_inquiries(
    ledger: Ledger, now: datetime, settings: Mapping[str, FollowupConfig]
) -> list[str]:
    """Queue the questions due at ``now`` that this window has not asked yet; their traces."""
    return ledger.queue_status_inquiries(inquiries_due(ledger, now, settings), now)
