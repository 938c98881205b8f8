"""An 835 payment is posted in bounded memory: what the daemon holds does not grow with the
number of claims it pays, whether they post or are held as a whole (the review file is written
from disk), on SQLite and PostgreSQL.

The ledger takes a payment ``CHUNK`` claims at a time; with a small chunk, a payment of a few
hundred claims is already many chunks, so the test is short and tells "grows with the claims"
(the lists of the whole payment, about 27 KB a claim) from "flat" (one chunk's worth).
"""

from __future__ import annotations

import gc
import json
import re
import tracemalloc
from pathlib import Path

import pytest

import gateway.ledger.payments
from bench.gen_835 import write_835
from gateway.daemon.remittance_posting import RemittanceReport, post_remittance_file
from gateway.ledger.db import open_ledger
from gateway.ledger.schema import OutboxKind, PaymentState
from gateway.replies.remittances import post_835
from tests.ledger.conftest import MakeDatabase

SMALL, LARGE = 100, 400
CHUNK = 20
# Bytes a larger payment may add to the peak. What grows with the claims of a payment (the
# lists of the whole payment, about 27 KB a claim) adds 8.7-9.4 MiB from SMALL to LARGE; what
# is bounded adds 0.8 MiB alone and 1.2-1.4 MiB in the whole suite at these sizes (process-wide
# caches of element values and amounts, 16,384 entries each, and the claim look-up's windows,
# filling; measured flat beyond them: a 22-23 MiB peak at 8,000, 16,000 and 32,000 claims).
SLACK = 3 * 2**20


def _peak(path: Path, spool: Path, url: str) -> tuple[int, RemittanceReport]:
    """tracemalloc's peak while posting ``path`` into the ledger at ``url`` (bytes), the
    reader's cache of amount texts (bounded, 16,384) already filled with the file's."""
    for _ in post_835(path, source_file=path.name):
        pass
    with open_ledger(url) as ledger:
        gc.collect()  # garbage earlier tests left is not this payment's
        tracemalloc.start()
        try:
            report = post_remittance_file(path, spool, ledger, "acme")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(ledger.pending_outbox(OutboxKind.STATUS, limit=LARGE + 1)) == len(
            ledger.claim_payments(states=list(PaymentState))
        )  # one status record per claim payment, each once
    return peak, report


def _unbalanced(path: Path) -> Path:
    """The same payment whose BPR02 says one cent more: its money does not add up."""
    text = path.read_text()
    amount = re.search(r"~BPR\*I\*([0-9.]+)\*", text)
    assert amount is not None
    wrong = path.with_name(f"unbalanced-{path.name}")
    wrong.write_text(text.replace(f"~BPR*I*{amount[1]}*", f"~BPR*I*{amount[1]}1*", 1))
    return wrong


@pytest.mark.parametrize("held", [False, True], ids=["posted", "held-whole"])
def test_the_peak_does_not_grow_with_the_claims_of_a_payment(
    tmp_path: Path,
    make_database: MakeDatabase,
    monkeypatch: pytest.MonkeyPatch,
    held: bool,
) -> None:
    monkeypatch.setattr(gateway.ledger.payments, "CHUNK", CHUNK)
    peaks = []
    for n in (SMALL, LARGE):
        folder = tmp_path / str(n)
        spool = folder / "spool"
        spool.mkdir(parents=True)
        path = folder / f"{n}.835"
        write_835(path, n)
        if held:
            path = _unbalanced(path)
        peak, report = _peak(path, spool, make_database())
        if held:
            assert (report.posted, report.claims_held) == ([], n)
            review = json.loads((spool / "review" / f"{path.name}.review.json").read_text())
            [transaction] = review["transactions"]
            assert len(transaction["held"]) == n and transaction["claim_count"] == n
        else:  # the generator's reversals of payments the ledger never had wait for review
            assert report.posted == ["0001"] and report.claims + report.claims_held == n
        peaks.append(peak)
    small, large = peaks
    assert large - small < SLACK, f"peak {small / 2**20:.1f} MiB -> {large / 2**20:.1f} MiB"
