"""The ledger's cost is per batch, not per claim: a few hundred claims through the whole cycle
(intake, 837, upload, 999, 277CA, 835, outputs) take a few statements per claim file,
interchange, reply and payment, so the statements per claim fall as the batches grow.

Before the writes were batched the same cycle took about 19 statements per claim (issue #15);
a change that brings back a statement per claim fails here on both backends. Each cycle also
costs a few dozen statements whatever its size (the follow-up facts' refresh, the 276 planner).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from gateway.daemon.runner import Daemon
from gateway.ledger.schema import ClaimState
from tests.daemon.homes import drop_claims, drop_reply, make_home, numbered_claims, read_jsonl
from tests.daemon.payer import ack_999, adjudicate, claims_of, envelope_of, remit_835, status_277ca

CLAIMS = 300


def test_the_whole_cycle_costs_statements_per_batch_not_per_claim(
    tmp_path: Path, db_url: str
) -> None:
    home = make_home(tmp_path, database=db_url)
    for n in range(3):
        records = numbered_claims(f"ST{n}", CLAIMS // 3)
        drop_claims(home, f"claims-{n}.json", records)
    daemon = Daemon(home)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(daemon.ledger.engine, "before_cursor_execute", count)
    assert daemon.run(once=True) == 0  # intake, one 837, uploaded, status records out
    [sent] = sorted((home / "exchange" / "in").iterdir())
    claims = claims_of(sent)
    assert len(claims) == CLAIMS
    isa, group = envelope_of(sent)
    drop_reply(home, "r.999", ack_999(group, control=isa))
    drop_reply(home, "r.277", status_277ca([(c, "A2:20") for c in claims], control=isa))
    assert daemon.run(once=True) == 0
    results = [adjudicate(c) for c in claims]
    drop_reply(home, "r.835", remit_835(results, trace="T-1", control=isa + 1))
    assert daemon.run(once=True) == 0

    assert daemon.ledger.count_claims() == {ClaimState.PAID.value: CLAIMS}
    assert len(read_jsonl(home / "spool" / "postings")) == CLAIMS
    # 343 on SQLite at 300 claims: about 0.5 a claim in batches, and about 40 a cycle since the
    # follow-up facts are refreshed and the 276 planner reads them at each cycle (migration
    # 0013); one statement more per claim would make it 643.
    per_claim = len(statements) / CLAIMS
    assert per_claim < 1.5, f"{len(statements)} statements for {CLAIMS} claims"
