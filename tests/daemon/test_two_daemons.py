"""Two daemons (two homes) sharing one ledger and one partner never send a claim twice."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from gateway.daemon.intake import take_claim_files
from gateway.daemon.runner import Daemon
from gateway.ledger.schema import ClaimState
from tests.daemon.homes import drop_claims, make_home, numbered_claims
from tests.daemon.payer import claims_of

CLAIMS = 200


def _shared_partner(home: Path, shared: Path) -> None:
    partner = home / "partners" / "acme.toml"
    text = partner.read_text().replace('"exchange/in"', f'"{shared / "in"}"')
    text = text.replace('"exchange/out"', f'"{shared / "out"}"')
    partner.write_text(text.replace("max_claims = 5000", "max_claims = 7"))


def test_two_daemons_on_one_ledger_send_each_claim_once(tmp_path: Path, db_url: str) -> None:
    shared = tmp_path / "partner"
    for folder in ("in", "out"):
        (shared / folder).mkdir(parents=True)
    homes = [make_home(tmp_path / name, database=db_url) for name in ("a", "b")]
    for home in homes:
        _shared_partner(home, shared)
    daemons = [Daemon(home) for home in homes]
    drop_claims(homes[0], "many.json", numbered_claims("TWO", CLAIMS))
    take_claim_files(homes[0], daemons[0].ledger, daemons[0].partners, settle_seconds=0)

    barrier = threading.Barrier(2)
    codes: list[int] = []

    def run(daemon: Daemon) -> None:
        barrier.wait()
        for _ in range(3):  # lease, build and send, side by side
            report = daemon.cycle(once=True)
            codes.append(0 if report.ok else 1)

    threads = [threading.Thread(target=run, args=(d,)) for d in daemons]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert codes == [0] * 6
    sent = Counter(c.claim_id for p in (shared / "in").glob("*.x12") for c in claims_of(p))
    assert sent == Counter(r["claim_id"] for r in numbered_claims("TWO", CLAIMS))
    built_by = {home.parent.name: len(list((home / "spool" / "archive" / "outbound").rglob("*.x12")))
                for home in homes}  # fmt: skip
    assert sum(built_by.values()) == len(list((shared / "in").glob("*.x12")))
    counts = daemons[0].ledger.count_claims()
    assert counts == {ClaimState.SUBMITTED.value: CLAIMS}
    # control numbers came from one sequence: no two files share an ISA13
    names = [p.name for p in (shared / "in").glob("*.x12")]
    assert len({n.split("-")[-1] for n in names}) == len(names)
