"""Posting into a home: balanced payments out, unbalanced ones held until an admin decides."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gateway.logs import mask, mask_patient_data
from gateway.replies.posting_files import discard, held, post_remittance, release


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def unbalanced(examples: Path, tmp_path: Path) -> Path:
    path = tmp_path / "in" / "off-by-five.835"
    path.parent.mkdir()
    path.write_text((examples / "example-835.x12").read_text().replace("BPR*I*90*", "BPR*I*95*"))
    return path


def test_balanced_payment_is_posted_once(examples: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    source = examples / "example-835-reversal.x12"
    result = post_remittance(home, source, partner="acme")
    assert (result.posted, result.held, result.records["postings"]) == (["0001"], [], 3)
    postings = home / "spool/postings/example-835-reversal.x12.0001.jsonl"
    assert [p["claim_id"] for p in _lines(postings)] == [
        "PCN-2025-0001",
        "PCN-2025-0001",
        "PCN-2025-0002",
    ]
    balances = _lines(home / "spool/balances/example-835-reversal.x12.0001.jsonl")
    assert [b["next_action"] for b in balances] == [
        "reverse_previous",
        "bill_patient",
        "bill_patient",
    ]
    status = _lines(home / "spool/status/example-835-reversal.x12.0001.jsonl")
    assert [(s["event"], s["source"], s["partner"]) for s in status] == [
        ("reversed", "835", "acme"),
        ("paid", "835", "acme"),
        ("paid", "835", "acme"),
    ]
    assert stat.S_IMODE(postings.stat().st_mode) == 0o600
    assert stat.S_IMODE(postings.parent.stat().st_mode) == 0o700
    again = post_remittance(home, source)
    assert (again.posted, again.already) == ([], ["0001"])
    assert len(_lines(postings)) == 3
    assert not list(home.rglob("*.tmp"))


def test_unbalanced_payment_is_held_with_the_exact_discrepancy(
    tmp_path: Path, unbalanced: Path
) -> None:
    home = tmp_path / "home"
    with capture_logs() as logs:
        result = post_remittance(home, unbalanced)
    assert (result.posted, result.held) == ([], ["0001"])
    assert not list((home / "spool/postings").iterdir())
    [item] = held(home)
    [transaction] = item["transactions"]
    assert transaction["balance_errors"] == [{
        "rule": "transaction", "position": 3, "expected": "90", "actual": "95", "difference": "5",
        "message": "transaction 0001: claims pay 90 - provider adjustments 0 = 90, but BPR02 says 95 (off by 5)",
    }]  # fmt: skip
    assert (home / "spool/review/off-by-five.835").read_bytes() == unbalanced.read_bytes()
    assert [(e["event"], e["rule"]) for e in logs] == [
        ("remittance_held_for_review", "transaction")
    ]


def test_release_posts_it_as_it_is_and_archives_the_review(
    tmp_path: Path, unbalanced: Path
) -> None:
    home = tmp_path / "home"
    post_remittance(home, unbalanced)
    result = release(home, "off-by-five.835", note="the payer sent 5.00 interest by check")
    assert result.posted == ["0001"]
    [posting] = _lines(home / "spool/postings/off-by-five.835.0001.jsonl")
    assert posting["released_unbalanced"] is True
    assert posting["review_note"] == "the payer sent 5.00 interest by check"
    assert held(home) == []
    [archived] = (home / "spool/archive/review").iterdir()
    assert sorted(p.name for p in archived.iterdir()) == [
        "off-by-five.835",
        "off-by-five.835.review.json",
        "verdict.json",
    ]
    assert json.loads((archived / "verdict.json").read_text())["verdict"] == "released"


def test_discard_keeps_it_unposted_and_loses_nothing(tmp_path: Path, unbalanced: Path) -> None:
    home = tmp_path / "home"
    post_remittance(home, unbalanced)
    target = discard(home, "off-by-five.835", reason="payer will resend a corrected 835")
    assert not list((home / "spool/postings").iterdir())
    assert (target / "off-by-five.835").read_bytes() == unbalanced.read_bytes()
    assert (
        json.loads((target / "verdict.json").read_text())["why"]
        == "payer will resend a corrected 835"
    )
    with pytest.raises(FileNotFoundError, match=r"no remittance 'off-by-five\.835' is held"):
        discard(home, "off-by-five.835", reason="again")


def test_patient_data_is_masked_in_logs() -> None:
    event = {"event": "x", "claim_id": "PCN-1", "last_name": "DOE", "member_id": "XYZ123456789",
             "birth_date": "1980-05-14", "file": "a.835"}  # fmt: skip
    masked = mask_patient_data(None, "info", dict(event))
    assert masked == {"event": "x", "claim_id": "PCN-1", "last_name": "D*E",
                      "member_id": "X**********9", "birth_date": "1********4", "file": "a.835"}  # fmt: skip
    assert mask("AB") == "**"
