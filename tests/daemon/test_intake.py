"""Intake: settled files in, good claims queued, bad files rejected with every reason."""

from __future__ import annotations

import json
import os
import time
from datetime import date
from pathlib import Path

import pytest

from gateway.config import load_partner
from gateway.daemon.intake import take_claim_files
from gateway.home import init_home
from gateway.ledger.db import open_ledger
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import ClaimState
from tests.conftest import SAMPLES

TODAY = date(2026, 11, 27)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    init_home(home)
    return home


@pytest.fixture
def ledger(home: Path) -> Ledger:
    return open_ledger(f"sqlite:///{home / 'state' / 'gateway.db'}")


def _drop(home: Path, name: str, records: list[dict], *, age: float = 60) -> Path:  # type: ignore[type-arg]
    path = home / "spool" / "claims" / name
    path.write_text(json.dumps(records))
    past = time.time() - age
    os.utime(path, (past, past))
    return path


def _partners(home: Path) -> list:  # type: ignore[type-arg]
    return [load_partner(home / "partners" / "example.toml")]


def test_good_file_is_queued_and_archived(home: Path, ledger: Ledger) -> None:
    records = json.loads((SAMPLES / "professional.json").read_text())
    _drop(home, "batch.json", records)
    report = take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    assert report.taken == ["PCN-2025-0001", "PCN-2025-0002"]
    assert report.archived_files == ["batch.json"]
    assert not list((home / "spool" / "claims").iterdir())
    [archived] = (home / "spool" / "archive" / "claims").iterdir()
    assert archived.name.endswith("-batch.json")
    stored = ledger.claim("PCN-2025-0001")
    assert stored is not None and stored.state == ClaimState.QUEUED and stored.partner == "example"
    assert [e.event for e in ledger.history("PCN-2025-0001")] == [ClaimState.QUEUED]


def test_unsettled_files_wait(home: Path, ledger: Ledger) -> None:
    _drop(home, "fresh.json", json.loads((SAMPLES / "professional.json").read_text()), age=0)
    report = take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    assert (report.taken, list(report.waiting)) == ([], ["fresh.json"])
    assert 0 < report.waiting["fresh.json"] <= 5  # seconds until it counts as settled


def test_mixed_file_takes_the_good_claims_and_explains_the_bad(home: Path, ledger: Ledger) -> None:
    good, bad = json.loads((SAMPLES / "professional.json").read_text())
    bad["billing_provider"]["npi"] = "1234567890"
    _drop(home, "mixed.json", [good, bad])
    report = take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    assert (report.taken, report.rejected_files) == (["PCN-2025-0001"], ["mixed.json"])
    rejected = home / "spool" / "rejected"
    errors = json.loads((rejected / "mixed.json.errors.json").read_text())
    assert errors["problems"] == [{
        "claim": "PCN-2025-0002", "field": "billing_provider.npi",
        "message": "NPI 1234567890 fails the check digit (the last digit should be 3)",
    }]  # fmt: skip
    assert errors["claims_taken"] == ["PCN-2025-0001"]
    assert (rejected / "mixed.json").exists()
    assert ledger.claim("PCN-2025-0002") is None


def test_duplicates_are_refused_but_a_rerun_after_a_crash_is_not_a_duplicate(
    home: Path, ledger: Ledger
) -> None:
    records = json.loads((SAMPLES / "professional.json").read_text())
    first = _drop(home, "a.json", records)
    take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    # the same content again, as if the gateway died after queueing but before archiving
    _drop(home, first.name, records)
    report = take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    assert report.taken == ["PCN-2025-0001", "PCN-2025-0002"] and report.rejected_files == []
    # a different claim under a used id is a duplicate
    changed = dict(records[0], place_of_service="12")
    _drop(home, "b.json", [changed])
    report = take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    assert report.rejected_files == ["b.json"]
    errors = json.loads((home / "spool/rejected/b.json.errors.json").read_text())
    assert errors["problems"][0]["field"] == "claim_id"
    assert "already in the ledger" in errors["problems"][0]["message"]
    # a replacement (frequency 7) of a claim still queued: refused, the payer has none yet
    replacement = dict(changed, frequency="7", payer_claim_number="ACMCLM0000123")
    _drop(home, "c.json", [replacement])
    report = take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    assert report.rejected_files == ["c.json"] and report.taken == []
    errors = json.loads((home / "spool/rejected/c.json.errors.json").read_text())
    assert "still in flight" in errors["problems"][0]["message"]
    # once the payer has acknowledged the claim, the replacement becomes version 2
    for state in (ClaimState.BATCHED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
        ledger.transition("PCN-2025-0001", state, source="test")
    _drop(home, "d.json", [replacement])
    report = take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    stored = ledger.claim("PCN-2025-0001")
    assert report.taken == ["PCN-2025-0001"] and stored is not None and stored.version == 2


def test_a_file_that_is_no_claim_file_is_rejected_with_the_reason(
    home: Path, ledger: Ledger
) -> None:
    stranger = home / "spool" / "claims" / "visits.txt"
    stranger.write_text("name,date\nDoe,03/03/2025\n")
    past = time.time() - 60
    os.utime(stranger, (past, past))
    report = take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    assert report.rejected_files == ["visits.txt"]
    rejected = home / "spool" / "rejected"
    assert (rejected / "visits.txt").exists() and not list((home / "spool/claims").iterdir())
    [problem] = json.loads((rejected / "visits.txt.errors.json").read_text())["problems"]
    assert problem["message"].startswith("is not a claim file: the gateway takes .json, .jsonl")


def test_a_dropped_again_export_says_which_claims_were_skipped_and_why(
    home: Path, ledger: Ledger
) -> None:
    first, second = json.loads((SAMPLES / "professional.json").read_text())
    _drop(home, "monday.json", [first, second])
    take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    ledger.transition("PCN-2025-0001", ClaimState.BATCHED, source="837")  # on its way
    # the export again, with one claim changed and one new claim
    changed = dict(second, place_of_service="12")
    new = dict(first, claim_id="PCN-2025-0003")
    _drop(home, "monday-again.json", [first, changed, new])
    report = take_claim_files(home, ledger, _partners(home), settle_seconds=5, today=TODAY)
    assert report.taken == ["PCN-2025-0003"]
    errors = json.loads((home / "spool/rejected/monday-again.json.errors.json").read_text())
    assert errors["claims_taken"] == ["PCN-2025-0003"]
    assert [(s["claim_id"], s["why"]) for s in errors["claims_skipped"]] == [
        ("PCN-2025-0001", "unchanged"), ("PCN-2025-0002", "needs_frequency_7"),
    ]  # fmt: skip
    assert "version 1, batched" in errors["claims_skipped"][0]["message"]
    assert "frequency 7" in errors["claims_skipped"][1]["message"]
    assert "were queued and will be sent" not in errors["note"]
    assert "claims_skipped were not queued" in errors["note"]


def test_a_file_still_being_written_is_said_by_run_once(home: Path) -> None:
    from gateway.daemon.runner import Daemon

    settings = home / "gateway.toml"
    settings.write_text(settings.read_text().replace("settle_seconds = 5", "settle_seconds = 60"))
    _drop(home, "fresh.json", json.loads((SAMPLES / "professional.json").read_text()), age=0)
    daemon = Daemon(home)
    report = daemon.cycle(once=True)
    assert list(report.summary()["claim_files_waiting"]) == ["fresh.json"]
    assert 0 < report.summary()["claim_files_waiting"]["fresh.json"] <= 60
