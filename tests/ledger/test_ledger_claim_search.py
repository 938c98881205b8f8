"""The web view's claim search and state counts, on SQLite and PostgreSQL: current versions
only, the same counts as ``count_claims``, and plans that walk the search indexes."""

from __future__ import annotations

import copy
import json
from typing import Any

from gateway.ledger.claim_search import ClaimSearch
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import ClaimState
from tests.conftest import SAMPLES


def _record(claim_id: str, last: str, frequency: str = "1") -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(
        json.loads((SAMPLES / "professional.json").read_text())[0]
    )
    record["claim_id"], record["frequency"] = claim_id, frequency
    record["subscriber"]["last_name"] = last
    return record


def test_counts_and_search_see_only_each_claims_current_version(ledger: Ledger) -> None:
    for n, last in enumerate(["Doe", "Doering", "Roe"]):
        ledger.add_claim(_record(f"C-{n}", last), kind="professional", partner="acme",
                         payer_id="ACMEH")  # fmt: skip
    for state in (ClaimState.BATCHED, ClaimState.SUBMITTED, ClaimState.REJECTED):
        ledger.transition("C-0", state, source="test")
    ledger.add_claim(_record("C-0", "Doe"), kind="professional", partner="acme", payer_id="ACMEH")
    ledger.add_claim(_record("C-2", "Smith", frequency="7"), kind="professional", partner="acme",
                     payer_id="ACMEH")  # fmt: skip
    assert ledger.claim_state_counts() == ledger.count_claims() == {"queued": 3}
    rows, more = ledger.search_claims(ClaimSearch(patient="doe"))
    assert [(r.claim_id, r.version) for r in rows] == [("C-0", 2), ("C-1", 1)] and not more
    assert [r.claim_id for r in ledger.search_claims(ClaimSearch(patient="roe"))[0]] == []
    assert [r.claim_id for r in ledger.search_claims(ClaimSearch(patient="smi"))[0]] == ["C-2"]
    rows, more = ledger.search_claims(ClaimSearch(), size=2)
    assert len(rows) == 2 and more
    rows, more = ledger.search_claims(ClaimSearch(), page=1, size=2)
    assert len(rows) == 1 and not more


def test_the_search_by_patient_and_by_claim_id_walks_an_index(ledger: Ledger) -> None:
    by_patient = " ".join(ledger.explain_claim_search(ClaimSearch(patient="DOE, J")))
    by_claim = " ".join(ledger.explain_claim_search(ClaimSearch(claim_id="PCN-2025")))
    newest = " ".join(ledger.explain_claim_search(ClaimSearch()))
    assert "ix_claims_patient_last_name" in by_patient
    assert "pk_claims" in by_claim or "sqlite_autoindex_claims_1 (claim_id>" in by_claim
    if ledger.engine.dialect.name == "sqlite":  # PostgreSQL's planner scans a table this small
        assert "ix_claims_updated_at_claim_id" in newest


def test_a_claims_story_is_what_its_one_by_one_reads_give(ledger: Ledger) -> None:
    assert ledger.claim_story("nobody") is None
    ledger.add_claim(_record("C-1", "Doe"), kind="professional", partner="acme", payer_id="ACMEH")
    ledger.transition("C-1", ClaimState.BATCHED, source="test", detail={"file": "f.x12"})
    story = ledger.claim_story("C-1")
    assert story is not None
    assert story.claim == ledger.claim("C-1")
    assert story.events == ledger.history("C-1") and len(story.events) == 2
    assert story.interchanges == ledger.claim_interchanges("C-1")
    assert story.payments == ledger.claim_payments("C-1")


def test_money_since_a_day_is_added_up_exactly(ledger: Ledger) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from gateway.ledger.records import utc_now

    for n in range(7):
        record = _record(f"M-{n}", "Doe")
        record["lines"] = [dict(record["lines"][0], charge=c) for c in ("0.10", "0.20", "33.33")]
        ledger.add_claim(record, kind="professional", partner="acme", payer_id="ACMEH")
    now = utc_now()
    week, future = ledger.money_since(now - timedelta(days=7), now + timedelta(days=1))
    assert week.billed == Decimal("235.41") and str(week.billed) == "235.41"  # 7 x 33.63
    assert (week.paid, week.patient) == (Decimal("0.00"), Decimal("0.00"))
    assert (future.billed, future.paid) == (Decimal("0.00"), Decimal("0.00"))
