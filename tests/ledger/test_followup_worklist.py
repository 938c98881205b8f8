"""The worklist, the aging report and the 276 planner at an injected ``now`` (SQLite and
PostgreSQL): claims pass each window and show up with the right reason, leave the list when
the cause goes, timely-filing items come 14 days before the limit saying the days left, and
aging totals equal the ledger's open amounts to the cent."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from gateway.config import FollowupConfig
from gateway.followup.aging import aging, aging_until, bucket_of
from gateway.followup.inquiries import WINDOWS_FROM, inquiries_due, queue_inquiries
from gateway.followup.rules import Rules, learned_payment_days
from gateway.followup.worklist import build_worklist, claim_items, worklist_until
from gateway.ledger.followup import ClaimFacts
from gateway.ledger.ledger import Ledger
from gateway.ledger.records import utc_now
from gateway.ledger.schema import ClaimState as S

SENT = ((S.BATCHED, "837"), (S.SUBMITTED, "837"))
ACKED = (*SENT, (S.ACCEPTED, "999"))
ACCEPTED = (*ACKED, (S.ACCEPTED, "277CA"))


def claim(
    ledger: Ledger, claim_id: str, *path: tuple[S, str], served: date | None = None,
    charge: str = "100.00", payer: str = "87726",
) -> None:  # fmt: skip
    served = served or utc_now().date()
    record = {"claim_id": claim_id, "payer": {"id": payer, "name": f"Payer {payer}"},
              "lines": [{"charge": charge, "service_date": served.isoformat()}]}  # fmt: skip
    ledger.add_claim(record, kind="professional", partner="acme", payer_id=payer)
    for state, source in path:
        ledger.transition(
            claim_id,
            state,
            source=source,
            detail={
                "file": "x",
                "reasons": [{"code": "A7:562:85", "text": "rejected for invalid information; NPI"}],
            },
        )


def reasons(ledger: Ledger, now: datetime) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for item in build_worklist(ledger, now):
        out.setdefault(item.claim_id, set()).add(item.reason)
    return out


def test_claims_pass_each_window_and_show_up_with_the_right_reason(ledger: Ledger) -> None:
    claim(ledger, "SILENT", *SENT)
    claim(ledger, "ACKED", *ACKED)
    claim(ledger, "ACCEPTED", *ACCEPTED)
    claim(ledger, "PAID", *ACCEPTED, (S.PAID, "835"))
    claim(ledger, "REJECTED", *SENT, (S.REJECTED, "277CA"))
    start = utc_now()
    assert reasons(ledger, start) == {"REJECTED": {"rejected"}}
    after_a_day = reasons(ledger, start + timedelta(hours=25))
    assert after_a_day == {"SILENT": {"no_999"}, "REJECTED": {"rejected"}}
    after_3_days = reasons(ledger, start + timedelta(days=3))
    assert after_3_days["ACKED"] == {"no_277ca"} and "ACCEPTED" not in after_3_days
    after_31 = reasons(ledger, start + timedelta(days=31))
    assert after_31["ACCEPTED"] == {"no_payment"} and "PAID" not in after_31
    (rejected,) = build_worklist(ledger, start, reason="rejected")
    assert (
        rejected.detail == "rejected by the 277CA: A7:562:85 rejected for invalid information; NPI"
    )
    assert rejected.action == "correct the claim and send it again"
    assert rejected.to_json()["amount"] == "100.00"


def test_the_worklist_empties_as_causes_go(ledger: Ledger) -> None:
    claim(ledger, "C1", *SENT)
    claim(ledger, "C2", *SENT, (S.REJECTED, "277CA"))
    later = utc_now() + timedelta(days=3)
    assert reasons(ledger, later) == {"C1": {"no_999"}, "C2": {"rejected"}}
    ledger.transition("C1", S.ACCEPTED, source="999", detail={})  # the ack came
    ledger.transition("C1", S.ACCEPTED, source="277CA", detail={})
    claim(ledger, "C2")  # the corrected claim: a new version, queued
    assert reasons(ledger, later) == {}


def test_timely_filing_items_come_14_days_before_the_limit(ledger: Ledger) -> None:
    today = utc_now()
    claim(ledger, "OLD", *SENT, served=today.date() - timedelta(days=70))
    claim(ledger, "FILED", *ACCEPTED, served=today.date() - timedelta(days=85))
    settings = {"acme": FollowupConfig(timely_filing_days={"*": 90})}
    assert build_worklist(ledger, today, settings, reason="timely_filing") == []
    six_later = today + timedelta(days=6)  # 76 days after the service: 14 days left
    (item,) = build_worklist(ledger, six_later, settings, reason="timely_filing")
    assert (item.claim_id, item.due) == ("OLD", today.date() + timedelta(days=20))
    assert "14 days left" in item.detail
    (late,) = build_worklist(ledger, today + timedelta(days=23), settings, reason="timely_filing")
    assert "3 days past the limit" in late.detail
    per_payer = {"acme": FollowupConfig(timely_filing_days={"87726": 365, "*": 90})}
    assert build_worklist(ledger, six_later, per_payer, reason="timely_filing") == []


def test_the_most_urgent_come_first(ledger: Ledger) -> None:
    today = utc_now()
    claim(ledger, "SMALL", *SENT, (S.REJECTED, "999"), charge="10.00")
    claim(ledger, "BIG", *SENT, (S.REJECTED, "999"), charge="900.00")
    claim(ledger, "NEAR", *SENT, (S.REJECTED, "999"), served=today.date() - timedelta(days=80))
    order = [i.claim_id for i in build_worklist(ledger, today, reason="rejected")]
    assert order == ["NEAR", "BIG", "SMALL"]


def test_a_276_is_due_once_per_window_and_never_for_a_rejected_claim(ledger: Ledger) -> None:
    claim(ledger, "ACCEPTED", *ACCEPTED)
    claim(ledger, "ACKED", *ACKED)
    claim(ledger, "SILENT", *SENT)  # no 999: the file is the question, not the claim
    claim(ledger, "REJECTED", *SENT, (S.REJECTED, "277CA"))
    settings = {"acme": FollowupConfig(payment_days=3, reask_days=14)}
    start = utc_now()

    def window(days: int) -> int:
        return (start + timedelta(days=days) - WINDOWS_FROM).days // 14

    due = inquiries_due(ledger, start + timedelta(days=3), settings)
    assert [i.trace for i in due] == [f"ACKED.1.{window(3)}"]
    # payment window passed after 3 days, but never sooner than 7 days after the 277CA
    assert queue_inquiries(ledger, start + timedelta(days=4), settings) == [f"ACKED.1.{window(4)}"]
    assert queue_inquiries(ledger, start + timedelta(days=8), settings) == [
        f"ACCEPTED.1.{window(8)}"
    ]
    assert queue_inquiries(ledger, start + timedelta(days=10), settings) == []  # same window
    assert queue_inquiries(ledger, start + timedelta(days=17), settings) == []  # 13 days later
    later = queue_inquiries(ledger, start + timedelta(days=18), settings)
    assert later == [f"ACKED.1.{window(18)}"] and window(18) != window(4)
    off = {"acme": FollowupConfig(status_inquiry=False)}
    assert inquiries_due(ledger, start + timedelta(days=60), off) == []


def test_aging_totals_equal_the_ledgers_open_amounts(ledger: Ledger) -> None:
    claim(ledger, "A", *ACCEPTED, charge="100.10")
    claim(ledger, "B", *SENT, charge="0.20", payer="OTHER")
    claim(ledger, "C", *ACCEPTED, (S.PAID, "835"), charge="55.55")  # settled: not open
    claim(ledger, "D", *SENT, (S.REJECTED, "999"), charge="7.00")  # not filed: not open
    claim(ledger, "Q", charge="3.00")  # never sent
    now = utc_now() + timedelta(days=45)
    report = aging(ledger, now)
    assert report.total.amount == Decimal("100.30") and report.total.count == 2
    assert report.buckets["31-60"].amount == Decimal("100.30")
    assert [(r.key, r.total.amount) for r in report.rows] == [
        ("Payer 87726", Decimal("100.10")), ("Payer OTHER", Decimal("0.20"))
    ]  # fmt: skip
    open_in_ledger = sum(
        (Decimal(c.billed or "0") for c in ledger.list_claims()
         if c.state in (S.SUBMITTED, S.ACCEPTED)), Decimal(0)
    )  # fmt: skip
    assert report.total.amount == open_in_ledger
    assert report.to_json()["totals"]["total"] == {"count": 2, "amount": "100.30"}
    assert aging(ledger, now, by="partner").rows[0].key == "acme"


def test_buckets() -> None:
    assert [bucket_of(d) for d in (0, 30, 31, 60, 61, 90, 91, 120, 121, 999)] == [
        "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "91-120", "91-120", "120+", "120+"
    ]  # fmt: skip


def test_a_payers_real_time_to_pay_is_learned_once_there_are_enough_claims() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=utc_now().tzinfo)

    def paid_after(n: int, days: int) -> ClaimFacts:
        return ClaimFacts(
            f"C{n}", 1, "acme", "P1", "P1", "paid", Decimal(1), Decimal(1), None, t0, t0, t0,
            t0, None, t0 + timedelta(days=days), t0,
        )  # fmt: skip

    nine = [paid_after(n, 10 + n) for n in range(9)]
    assert learned_payment_days(nine) == {}
    ten = [paid_after(n, 10 + n) for n in range(10)]  # 10..19 days: the 80th percentile is 17
    assert learned_payment_days(ten) == {"P1": 17}


def test_a_paid_claim_with_denied_lines_is_partially_denied() -> None:
    t0 = utc_now()
    lines = (
        {"line_id": "L1", "procedure": "D1110", "charge": "110.00", "paid": "0.00",
         "adjustments": [{"group": "CO", "reason": "45", "amount": "22.00"},
                         {"group": "PR", "reason": "1", "amount": "88.00"}]},  # deductible
        {"line_id": "L3", "procedure": "D0274", "charge": "70.00", "paid": "0.00",
         "adjustments": [{"group": "CO", "reason": "119", "amount": "70.00",
                          "text": "Benefit maximum for this time period or occurrence has been "
                                  "reached"}]},
    )  # fmt: skip
    claim = ClaimFacts(
        "C1", 1, "acme", "P1", "Payer P1", "paid", Decimal("245.00"), Decimal("32.00"),
        t0.date().isoformat(), t0, t0, t0, t0, None, t0, t0, 0, lines,
    )  # fmt: skip
    (item,) = claim_items(claim, Rules({}, [claim]), t0)
    assert (item.reason, item.amount) == ("partially_denied", Decimal("70.00"))
    assert item.detail == (
        "1 line(s) denied: line L3 (D0274, 70.00): CO-119 Benefit maximum for this time period "
        "or occurrence has been reached"
    )
    assert claim_items(replace(claim, unpaid_lines=lines[:1]), Rules({}, [claim]), t0) == []


def test_the_worklist_and_aging_stay_the_same_until_the_moment_they_say(ledger: Ledger) -> None:
    """``worklist_until`` and ``aging_until``: at any moment before the horizon they give, the
    report is the one computed at the start (what lets the web show it again); past it, it
    changes here (a window of silence ends, a day goes by, a claim ages a bucket)."""
    today = utc_now()
    claim(ledger, "SILENT", *SENT)
    claim(ledger, "ACKED", *ACKED)
    claim(ledger, "ACCEPTED", *ACCEPTED)
    claim(ledger, "OLD", *SENT, served=today.date() - timedelta(days=70))
    claim(ledger, "REJ", *SENT, (S.REJECTED, "999"))
    settings = {"acme": FollowupConfig(timely_filing_days={"*": 90})}
    now, changed = today, 0
    for _ in range(16):
        items, until = worklist_until(ledger, now, settings)
        assert until > now
        for moment in (now + (until - now) / 2, until - timedelta(microseconds=1)):
            assert worklist_until(ledger, moment, settings)[0] == items
        changed += worklist_until(ledger, until, settings)[0] != items
        now = until
    assert changed >= 5  # the 999's window, the 277CA's, the timely filing notice, its days
    now, changed = today, 0
    while now.year < 9999:
        report, until = aging_until(ledger, now)
        assert until > now
        for moment in (now + (until - now) / 2, until - timedelta(microseconds=1)):
            assert aging_until(ledger, moment)[0].to_json() == report.to_json()
        changed += aging_until(ledger, until)[0].to_json() != report.to_json()
        now = until
    assert changed == 4 * 4  # each open claim: 0-30, 31-60, 61-90, 91-120, then 120+ for ever
