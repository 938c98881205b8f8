"""Front-end claim edits: what the 277CA rejects before a claim reaches adjudication.

Pure functions of the claim, the configuration, the day and a random generator; the state
(is the claim a void of something we know?) is the caller's business.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from gateway.simulator.adjudication import chance
from gateway.simulator.config import ClaimEditsConfig
from gateway.simulator.model import ClaimIn


@dataclass(frozen=True, slots=True)
class StatusCode:
    """One STC01 composite: category, status code and (optionally) the entity it is about."""

    category: str
    code: str
    entity: str | None = None

    @classmethod
    def parse(cls, text: str) -> StatusCode:
        """``A7:33:IL`` → StatusCode("A7", "33", "IL") (the config has checked the shape)."""
        category, code, *entity = text.split(":")
        return cls(category, code, entity[0] if entity else None)

    def composite(self) -> list[str | None]:
        return [self.category, self.code, self.entity]

    @property
    def rejected(self) -> bool:
        return self.category in ("A3", "A4", "A6", "A7", "A8")


ACCEPTED = StatusCode("A2", "20", "PR")
RECEIVED = StatusCode("A1", "19", "PR")


def member_unknown(member_id: str, config: ClaimEditsConfig) -> bool:
    return member_id in config.unknown_members or any(
        member_id.startswith(prefix) for prefix in config.unknown_member_prefixes if prefix
    )


def claim_edits(
    claim: ClaimIn, config: ClaimEditsConfig, *, today: date, rng: random.Random
) -> list[StatusCode]:
    """The reasons to reject ``claim`` (empty: accept it), in the order a payer checks them."""
    out = []
    if member_unknown(claim.member_id, config):
        out.append(StatusCode.parse(config.unknown_member_status))
    if config.enrolled_npis and claim.billing_npi not in config.enrolled_npis:
        out.append(StatusCode.parse(config.not_enrolled_status))
    if config.timely_filing_days:
        first, _ = claim.service_dates()
        if first is not None and (today - first).days > config.timely_filing_days:
            out.append(StatusCode.parse(config.timely_filing_status))
    if chance(rng, config.random_reject_rate):
        out.append(StatusCode.parse(config.random_reject_status))
    return out
