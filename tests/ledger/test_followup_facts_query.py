"""The follow-up facts the database adds up (``Ledger.followup_facts``) are exactly what the
former implementation computed by reading every event and payment in Python (kept below as
the reference), on a varied ledger: claims sent twice, rejected, accepted by a 999, a 277CA or
a 277, paid, partially paid with lines paying nothing, held, reversed, replaced by a new
version, and payments matching no claim (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from gateway.ledger.followup import ClaimFacts, _money, _payer_names, _rejections
from gateway.ledger.ledger import ClaimPaymentIn, Ledger, PaymentDecision, PaymentEffects
from gateway.ledger.records import CURRENT_VERSION
from gateway.ledger.schema import (
    IN_FORCE,
    ClaimState,
    OutboxKind,
    PaymentState,
    claim_events,
    claim_payments,
    claims,
)

S = ClaimState
PAYERS = ("87726", "60054")
_ZERO_PAID = '"paid": "0.00"'


def reference_facts(connection: Connection) -> list[ClaimFacts]:
    """``Ledger.followup_facts`` as it was before the database did the work (commit 90d7a62)."""
    columns = [c for c in claims.c if c.name != "record"]
    rows = connection.execute(select(*columns).where(CURRENT_VERSION)).all()
    firsts: dict[tuple[str, int], dict[tuple[str, str], datetime]] = {}
    last: dict[tuple[str, int], datetime] = {}
    rejected: dict[tuple[str, int], int] = {}
    events = connection.execute(
        select(claim_events.c.id, claim_events.c.claim_id, claim_events.c.version,
               claim_events.c.event, claim_events.c.source, claim_events.c.at)
        .order_by(claim_events.c.id)
    )  # fmt: skip
    for e in events:
        key = (e.claim_id, e.version)
        if e.event == "submitted" and e.source == "837":
            firsts[key] = {}
        firsts.setdefault(key, {}).setdefault((e.event, e.source), e.at)
        last[key] = max(last.get(key, e.at), e.at)
        if e.event == "rejected":
            rejected[key] = int(e.id)
    why = _rejections(connection, [rejected[(r.claim_id, r.version)] for r in rows
                                   if r.state == "rejected" and (r.claim_id, r.version)
                                   in rejected])  # fmt: skip
    names = _payer_names(connection, {r.payer_id for r in rows})
    paid: dict[tuple[str, int], Decimal] = {}
    held: dict[tuple[str, int], int] = {}
    unpaid: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    in_force = {s.value for s in IN_FORCE}
    for p in connection.execute(
        select(claim_payments.c.claim_id, claim_payments.c.version, claim_payments.c.paid,
               claim_payments.c.state, claim_payments.c.status_code,
               claim_payments.c.posting)
        .where(claim_payments.c.version.is_not(None)).order_by(claim_payments.c.id)
    ):  # fmt: skip
        key = (p.claim_id, int(p.version))
        if p.state in in_force and p.status_code != "22":
            paid[key] = paid.get(key, Decimal("0.00")) + Decimal(p.paid)
            if _ZERO_PAID not in p.posting:
                continue
            lines = json.loads(p.posting).get("lines") or []
            unpaid.setdefault(key, []).extend(
                line for line in lines if Decimal(str(line.get("paid") or "0")) == 0
            )
        elif p.state == "held":
            held[key] = held.get(key, 0) + 1
    out = []
    for r in rows:
        key = (r.claim_id, int(r.version))
        first = firsts.get(key, {})
        adjudicated = [first.get((state, "835")) for state in ("paid", "partially_paid",
                                                                "denied")]  # fmt: skip
        proofs = [first.get(("accepted", source)) for source in ("277CA", "277")]
        accepted = min((p for p in proofs if p), default=None)
        event_id = rejected.get(key)
        out.append(
            ClaimFacts(
                claim_id=r.claim_id, version=key[1], partner=r.partner,
                payer_id=r.payer_id, payer_name=names.get(r.payer_id) or r.payer_id,
                state=r.state, billed=_money(r.billed), paid=paid.get(key, Decimal("0.00")),
                service_from=r.service_from, created_at=r.created_at,
                submitted_at=first.get(("submitted", "837")),
                acked_at=first.get(("accepted", "999")) or accepted,
                accepted_at=accepted,
                rejected=why.get(event_id) if event_id is not None else None,
                adjudicated_at=min((a for a in adjudicated if a), default=None),
                last_event_at=last.get(key, r.updated_at),
                held_payments=held.get(key, 0),
                unpaid_lines=tuple(unpaid.get(key, ())),
            )
        )  # fmt: skip
    return out


def add(ledger: Ledger, claim_id: str, *path: tuple[S, str], payer: str = PAYERS[0]) -> None:
    record = {"claim_id": claim_id, "payer": {"id": payer, "name": f"Payer {payer}"},
              "lines": [{"charge": "100.00", "service_date": "2026-10-01"},
                        {"charge": "20.50", "service_date": "2026-10-02"}]}  # fmt: skip
    ledger.add_claim(record, kind="professional", partner="acme", payer_id=payer)
    for state, source in path:
        ledger.transition(claim_id, state, source=source,
                          detail={"file": "x", "reasons": [{"code": f"A7:{claim_id}"}]})  # fmt: skip


def payment(claim_id: str, n: int, *, code: str = "1", paid: str = "120.50",
            lines: tuple[str, ...] = ("100.00", "20.50"), payer: str = PAYERS[0],
            number: str | None = None) -> ClaimPaymentIn:  # fmt: skip
    posting = {"id": f"p{n}", "claim_id": claim_id, "paid": paid, "status_code": code,
               "lines": [{"line_id": str(i + 1), "procedure": "D0120", "charge": "1.00",
                          "paid": line} for i, line in enumerate(lines)]}  # fmt: skip
    return ClaimPaymentIn(claim_id, payer, code, number or f"PCN-{claim_id}", "120.50", paid,
                          "0.00", posting, None, "P")  # fmt: skip


def effects(payment: ClaimPaymentIn, decision: PaymentDecision) -> PaymentEffects:
    records: list[Any] = [(OutboxKind.STATUS, {"id": f"s-{payment.posting['id']}-{decision.verdict}",
                                               "version": decision.version})]  # fmt: skip
    if decision.verdict in (PaymentState.POSTED, PaymentState.RELEASED):
        records.insert(0, (OutboxKind.POSTINGS, payment.posting))
    state = (S.REVERSED if payment.reversal else S.DENIED if payment.status_code == "4"
             else S.PARTIALLY_PAID if Decimal(payment.paid) < Decimal("120.50") else S.PAID)  # fmt: skip
    return PaymentEffects(records, {"paid": payment.paid}, state)


def remit(ledger: Ledger, trace: str, *payments: ClaimPaymentIn) -> None:
    total = sum((Decimal(p.paid) for p in payments), Decimal("0.00"))
    ledger.record_remittance(
        (trace, payments[0].payer_id, f"{total:.2f}", "2026-11-27"), f"content-of-{trace}",
        file_name=f"{trace}.835", control_number="0001", payments=list(payments),
        effects=effects, partner="acme",
    )  # fmt: skip


SENT = ((S.BATCHED, "837"), (S.SUBMITTED, "837"))
ACKED = (*SENT, (S.ACCEPTED, "999"))
ACCEPTED = (*ACKED, (S.ACCEPTED, "277CA"))


def varied_ledger(ledger: Ledger) -> None:
    add(ledger, "QUEUED")
    add(ledger, "SENT", *SENT)
    # sent, acknowledged, sent again: what came before the second upload no longer counts
    add(ledger, "TWICE", *ACKED, (S.QUEUED, "daemon"), *SENT, (S.ACCEPTED, "277CA"))
    add(ledger, "REJ999", *SENT, (S.REJECTED, "999"))
    add(ledger, "REJ277", *ACKED, (S.REJECTED, "277CA"))
    add(ledger, "BY277", *ACKED, (S.ACCEPTED, "277"), (S.ACCEPTED, "277CA"))
    add(ledger, "OLDVER", *SENT, (S.REJECTED, "277CA"))
    add(ledger, "OLDVER", *SENT)  # the corrected claim: its version 2 is current
    for name in ("PAID", "PART", "HELD", "REV", "DENIED", "TWOPAY"):
        add(ledger, name, *ACCEPTED, payer=PAYERS[1] if name == "DENIED" else PAYERS[0])
    remit(ledger, "T1", payment("PAID", 1))
    remit(ledger, "T2", payment("PART", 2, paid="100.00", lines=("100.00", "0.00")))
    remit(ledger, "T3", payment("HELD", 3))
    remit(ledger, "T4", payment("HELD", 4))  # the same leg paid again: held
    remit(ledger, "T5", payment("REV", 5, paid="90.00", lines=("90.00", "0.00")))
    remit(ledger, "T6", payment("REV", 6, code="22", paid="-90.00", lines=("-90.00", "0.00")))
    remit(ledger, "T7", payment("DENIED", 7, code="4", paid="0.00", lines=("0.00", "0.00"),
                                payer=PAYERS[1]))  # fmt: skip
    remit(ledger, "T8", payment("TWOPAY", 8, paid="0.01", lines=("0.01", "0.00"), number="A"))
    remit(ledger, "T9", payment("NOSUCH", 9))  # matches no claim
    rng = random.Random(7)
    paths: list[tuple[tuple[S, str], ...]] = [
        (), SENT, ACKED, ACCEPTED, (*SENT, (S.REJECTED, "999")), (*ACKED, (S.ACCEPTED, "277")),
        (*ACKED, (S.QUEUED, "daemon"), *SENT), (*ACCEPTED, (S.DENIED, "835")),
    ]  # fmt: skip
    for n in range(40):
        add(ledger, f"R{n:03d}", *rng.choice(paths), payer=rng.choice(PAYERS))


def test_the_facts_are_the_former_implementations(ledger: Ledger) -> None:
    varied_ledger(ledger)
    with ledger.engine.begin() as connection:
        expected = {(f.claim_id, f.version): f for f in reference_facts(connection)}
    facts = ledger.followup_facts()
    assert len(facts) == len(expected) == 53
    assert {(f.claim_id, f.version): f for f in facts} == expected
    by_id = {f.claim_id: f for f in facts}
    # the ledger is as varied as it says
    assert by_id["TWICE"].acked_at == by_id["TWICE"].accepted_at  # the first 999 was before
    assert by_id["PART"].paid == Decimal("100.00") and len(by_id["PART"].unpaid_lines) == 1
    assert by_id["HELD"].held_payments == 1 and by_id["REV"].paid == Decimal("0.00")
    assert by_id["REV"].state == "reversed" and by_id["OLDVER"].version == 2
    assert by_id["REJ277"].rejected is not None and by_id["REJ277"].rejected["source"] == "277CA"
    assert by_id["TWOPAY"].paid == Decimal("0.01") and by_id["DENIED"].payer_name == "Payer 60054"
