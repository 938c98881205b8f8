"""The build takes the claims intake validated (claim_memo) instead of validating them again.

That is only right if a claim validated from the text the ledger keeps of it (its
``model_dump_json``) is the claim intake validated: the same fields and the same 837, for the
sample claims and for random ones of every kind, amounts written with an exponent included.
"""

from __future__ import annotations

import io
import json
import os
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import load_partner
from gateway.daemon.claim_memo import MEMO, ClaimMemo
from gateway.daemon.intake import take_claim_files
from gateway.daemon.outbound import envelope_for
from gateway.domain.claim import Claim, ClaimKind
from gateway.home import init_home
from gateway.intake.claim_files import read_claim_file
from gateway.ledger.db import open_ledger
from gateway.transactions.claim_837 import write_837
from tests.conftest import SAMPLES
from tests.strategies import claims

KINDS: list[ClaimKind] = ["professional", "dental", "institutional"]


def _837(claim: Claim) -> str:
    out = io.StringIO()
    write_837(out, claim.kind, [claim], envelope_for(None, 7, 7, datetime(2025, 3, 10, 12)))
    return out.getvalue()


def assert_stored_text_gives_the_same_claim(claim: Claim) -> None:
    text = claim.model_dump_json()
    again = Claim.model_validate_json(text)
    assert again == claim
    assert again.model_dump_json() == text
    assert _837(again) == _837(claim)


@pytest.mark.parametrize("kind", KINDS)
def test_sample_claims_validate_again_from_their_stored_text(kind: str) -> None:
    for record in json.loads((SAMPLES / f"{kind}.json").read_text()):
        assert_stored_text_gives_the_same_claim(Claim.model_validate(record))


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_claims_validate_again_from_their_stored_text(
    kind: ClaimKind, data: st.DataObject
) -> None:
    record = data.draw(claims(kind, claim_id="MEMO-1"))
    assert_stored_text_gives_the_same_claim(Claim.model_validate(record))


def test_an_amount_written_with_an_exponent_validates_again(tmp_path: Path) -> None:
    """A JSON ``1.5e2`` is read as Decimal('1.5E+2'); stored as ``150``, not ``1.5E+2`` (which
    the amount validator refuses: the build of that claim failed at every cycle)."""
    record = json.loads((SAMPLES / "professional.json").read_text())[0]
    record["lines"] = record["lines"][:1]
    record.pop("total_charge", None)
    path = tmp_path / "claims.json"
    path.write_text(json.dumps([record]).replace('"charge": "150.00"', '"charge": 1.5e2'))
    read = read_claim_file(path, today=date(2026, 11, 27))
    assert read.problems == []
    [claim] = read.claims
    assert claim.lines[0].charge == Decimal("150")
    assert '"charge":"150"' in claim.model_dump_json()
    assert_stored_text_gives_the_same_claim(claim)


def test_the_memo_gives_back_the_claim_kept_for_that_very_text_once() -> None:
    memo = ClaimMemo()
    claim = Claim.model_validate(json.loads((SAMPLES / "dental.json").read_text())[0])
    text = claim.model_dump_json()
    memo.keep(text, claim)
    assert memo.take(text) is claim
    assert len(memo) == 0
    again = memo.take(text)  # not kept any more: validated from the text
    assert again == claim and again is not claim
    other = text.replace(claim.claim_id, "OTHER-1")
    memo.keep(text, claim)
    assert memo.take(other).claim_id == "OTHER-1"  # another text is never the kept claim
    assert len(memo) == 1


def test_the_memo_drops_its_oldest_claims_past_its_limit() -> None:
    memo = ClaimMemo(limit=2)
    base = Claim.model_validate(json.loads((SAMPLES / "professional.json").read_text())[0])
    kept = [base.model_copy(update={"claim_id": f"LIM-{n}"}) for n in range(3)]
    for claim in kept:
        memo.keep(claim.model_dump_json(), claim)
    assert len(memo) == 2
    assert memo.take(kept[0].model_dump_json()) is not kept[0]  # dropped: validated again
    assert memo.take(kept[2].model_dump_json()) is kept[2]


def test_intake_leaves_the_claims_it_queued_for_the_build(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init_home(home)
    records = json.loads((SAMPLES / "professional.json").read_text())
    path = home / "spool" / "claims" / "claims.json"
    path.write_text(json.dumps(records))
    os.utime(path, (time.time() - 60, time.time() - 60))
    ledger = open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}")
    partners = [load_partner(home / "partners" / "example.toml")]
    report = take_claim_files(home, ledger, partners, settle_seconds=0, today=date(2026, 11, 27))
    assert sorted(report.taken) == sorted(r["claim_id"] for r in records)
    stored = ledger.current_records(report.taken)
    try:
        for claim_id, text in stored.items():
            claim = MEMO.take(text)
            assert claim.claim_id == claim_id
            assert claim.model_dump_json() == text
    finally:
        ledger.close()
