"""The follow-up facts the ledger keeps (``followup_facts``, migration 0013) are at every step
what working them out from the ledger gives (``recomputed_followup_facts``), whatever wrote:
one claim or a batch, transitions, a corrected claim's new version, 835 payments posted, held,
released and reversed, a 277's answers and claim changes (SQLite and PostgreSQL). The refresh
deletes only the marks it read, an existing ledger gets its facts at the upgrade, and a reader
leaves nothing marked."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from gateway.ledger import followup_store
from gateway.ledger.claim_batches import NewClaim
from gateway.ledger.db import alembic_config, create_ledger_engine, open_ledger
from gateway.ledger.followup import InquiryAnswer, InquiryIn
from gateway.ledger.ledger import ClaimChange, Ledger
from gateway.ledger.records import utc_now
from gateway.ledger.schema import ClaimState as S
from gateway.ledger.schema import (
    PaymentState,
    claim_events,
    claim_payments,
    claims,
    followup_dirty,
)
from tests.ledger.test_followup_facts_query import (
    ACCEPTED,
    ACKED,
    PAYERS,
    SENT,
    add,
    effects,
    payment,
    remit,
)
from tests.ledger.test_ledger_followup import send, sha

MakeDatabase = Callable[[], str]  # the make_database fixture (conftest.py)


def kept_equal_recomputed(ledger: Ledger) -> int:
    """Assert the kept facts are the recomputed ones; how many claims they cover."""
    recomputed = ledger.recomputed_followup_facts()
    assert ledger.followup_facts() == recomputed
    return len(recomputed)


def marks(ledger: Ledger) -> int:
    with ledger.engine.begin() as connection:
        return int(
            connection.execute(select(func.count()).select_from(followup_dirty)).scalar_one()
        )


def record(claim_id: str, charge: str = "75.00") -> dict[str, object]:
    return {"claim_id": claim_id, "payer": {"id": PAYERS[0], "name": f"Payer {PAYERS[0]}"},
            "lines": [{"charge": charge, "service_date": "2026-10-01"}]}  # fmt: skip


def test_the_kept_facts_follow_every_write(ledger: Ledger) -> None:
    assert kept_equal_recomputed(ledger) == 0
    add(ledger, "ONE", *ACKED)
    assert marks(ledger) > 0
    assert kept_equal_recomputed(ledger) == 1
    assert marks(ledger) == 0  # the reader refreshed them all
    # a batch of claims queued in one statement, then moved on one by one
    ledger.add_claims([NewClaim(record(f"B{n}"), "professional", "acme", PAYERS[0])
                       for n in range(5)])  # fmt: skip
    assert kept_equal_recomputed(ledger) == 6
    for n in range(5):
        for state, source in ACCEPTED if n % 2 else SENT:
            ledger.transition(f"B{n}", state, source=source, detail={"file": "x"})
    ledger.transition("B0", S.REJECTED, source="277CA", detail={"reasons": [{"code": "A7"}]})
    assert kept_equal_recomputed(ledger) == 6
    # corrected and sent again: version 2 is current, its upload the latest
    add(ledger, "B0", *SENT)
    facts = {f.claim_id: f for f in ledger.followup_facts()}
    assert facts["B0"].version == 2 and facts["B0"].rejected is None
    assert kept_equal_recomputed(ledger) == 6
    # 835s: paid, partly paid with a line paid nothing, paid twice (held), reversed, denied
    for name in ("PAID", "PART", "HELD", "REV", "DENIED"):
        add(ledger, name, *ACCEPTED)
    remit(ledger, "T1", payment("PAID", 1))
    remit(ledger, "T2", payment("PART", 2, paid="100.00", lines=("100.00", "0.00")))
    remit(ledger, "T3", payment("HELD", 3))
    remit(ledger, "T4", payment("HELD", 4))
    remit(ledger, "T5", payment("REV", 5, paid="90.00", lines=("90.00", "0.00")))
    remit(ledger, "T9", payment("NOSUCH", 9))  # matches no claim: marks a claim id that is none
    facts = {f.claim_id: f for f in ledger.followup_facts()}
    assert facts["HELD"].held_payments == 1 and len(facts["PART"].unpaid_lines) == 1
    assert kept_equal_recomputed(ledger) == 11
    remit(ledger, "T6", payment("REV", 6, code="22", paid="-90.00", lines=("-90.00", "0.00")))
    remit(ledger, "T7", payment("DENIED", 7, code="4", paid="0.00", lines=("0.00", "0.00")))
    # the held payment released by a person: posted, the claim paid twice over
    ledger.settle_payments("T4.835", PaymentState.RELEASED, note="checked", effects=effects)
    facts = {f.claim_id: f for f in ledger.followup_facts()}
    assert facts["HELD"].held_payments == 0 and facts["REV"].state == "reversed"
    assert kept_equal_recomputed(ledger) == 11
    # a 277 answers an inquiry and moves a claim
    ledger.queue_status_inquiries([InquiryIn("B2", 1, "acme", PAYERS[0], 1, "no_277ca")],
                                  utc_now())  # fmt: skip
    send(ledger, ["B2.1.1"])
    change = ClaimChange("B2", S.ACCEPTED, "277", {"outcome": "pending"},
                         only_from=frozenset({S.SUBMITTED}))  # fmt: skip
    applied = ledger.apply_status_reply(
        sha("277-1"), partner="acme", name="r1.277", changes=[change],
        answers=[InquiryAnswer("B2.1.1", "pending", {"statuses": [{"category": "A2"}]})],
    )  # fmt: skip
    assert applied is not None and [e.claim_id for e in applied.claims.applied] == ["B2"]
    facts = {f.claim_id: f for f in ledger.followup_facts()}
    assert facts["B2"].accepted_at is not None
    assert kept_equal_recomputed(ledger) == 11
    assert marks(ledger) == 0


def test_a_refresh_takes_several_transactions_and_deletes_only_what_it_read(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(followup_store, "REFRESH_MARKS", 3)
    for n in range(4):
        add(ledger, f"C{n}", *SENT)  # 3 marks a claim at least: a refresh of 4 transactions
    assert marks(ledger) >= 12
    ledger.refresh_followup_facts()
    assert marks(ledger) == 0
    assert kept_equal_recomputed(ledger) == 4
    # a mark written while a refresh works (after it read the marks) stays for the next one
    ledger.transition("C1", S.ACCEPTED, source="999", detail={"file": "x"})
    compute = followup_store.fact_rows

    def meanwhile(connection: Connection, claim_ids: Sequence[str] | None = None) -> Any:
        if connection.execute(select(func.count()).select_from(followup_dirty)).scalar_one() < 5:
            connection.execute(insert(followup_dirty), [{"claim_id": "C2"}])
        return compute(connection, claim_ids)

    monkeypatch.setattr(followup_store, "fact_rows", meanwhile)
    ledger.refresh_followup_facts()
    assert marks(ledger) == 1
    monkeypatch.setattr(followup_store, "fact_rows", compute)
    assert kept_equal_recomputed(ledger) == 4
    assert marks(ledger) == 0


def test_a_refresh_works_out_its_claims_a_chunk_at_a_time(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(followup_store, "_REFRESH_CHUNK", 2)
    for n in range(5):
        add(ledger, f"K{n}", *SENT)
    ledger.refresh_followup_facts()
    assert marks(ledger) == 0
    assert kept_equal_recomputed(ledger) == 5


def test_an_existing_ledger_gets_its_facts_at_the_upgrade(make_database: MakeDatabase) -> None:
    url = make_database()
    open_ledger(url).close()
    engine = create_ledger_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0008")  # before the kept facts
        bare = Ledger(engine)  # claims written with no trigger to see them
        add(bare, "OLD1", *ACCEPTED)
        add(bare, "OLD2", *SENT, (S.REJECTED, "999"))
    finally:
        engine.dispose()
    with open_ledger(url) as ledger:  # the upgrade marks every claim
        assert marks(ledger) == 2
        assert kept_equal_recomputed(ledger) == 2


def test_any_write_to_what_the_facts_read_marks_its_claim(ledger: Ledger) -> None:
    """Whatever wrote it (a path written later, or by hand): an update or a delete alone."""
    add(ledger, "W", *ACCEPTED)
    remit(ledger, "T1", payment("W", 1, paid="100.00", lines=("100.00", "0.00")))
    assert kept_equal_recomputed(ledger) == 1
    writes = (
        update(claims).where(claims.c.claim_id == "W").values(billed="99.00"),
        update(claim_events).where(claim_events.c.source == "835").values(source="x"),
        update(claim_payments).values(paid="50.00"),
        delete(claim_payments).where(claim_payments.c.claim_id == "W"),
    )
    for write in writes:
        with ledger.engine.begin() as connection:
            connection.execute(write)
            marked = set(connection.execute(select(followup_dirty.c.claim_id)).scalars())
        assert marked == {"W"}, write
        assert kept_equal_recomputed(ledger) == 1
    (facts,) = ledger.followup_facts()
    assert facts.paid == 0 and facts.adjudicated_at is None and str(facts.billed) == "99.00"


def test_refreshes_and_writers_at_once_leave_the_facts_right(ledger: Ledger, db_url: str) -> None:
    """Two processes' refreshes (two ledgers on the database) while claims are written: the
    kept facts end as the recomputed ones, nothing left marked."""
    for n in range(6):
        add(ledger, f"K{n}")
    stop = threading.Event()
    failures: list[BaseException] = []

    def refresher() -> None:
        with open_ledger(db_url) as other:
            try:
                while not stop.is_set():
                    other.refresh_followup_facts()
            except BaseException as error:  # reported below
                failures.append(error)

    threads = [threading.Thread(target=refresher) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for n in range(6):
            for state, source in ACCEPTED:
                ledger.transition(f"K{n}", state, source=source, detail={"file": "x"})
            remit(ledger, f"TK{n}", payment(f"K{n}", 100 + n))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert kept_equal_recomputed(ledger) == 6
    assert marks(ledger) == 0
    assert {f.state for f in ledger.followup_facts()} == {"paid"}
