"""Read an 835 and post it: postings, patient balances and balancing, streamed.

Events come out in file order: ``payment`` (a transaction's header), one ``claim`` per CLP
with its posting and balance records, then ``end`` with the verdict on balancing. A caller
that writes postings must hold a transaction's claims until its ``end`` says it is balanced:
an unbalanced transaction is never auto-posted (field guide 5.4).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

from gateway.domain.claim import Claim
from gateway.domain.posting import (
    PaymentContext,
    money,
    payer_sequence,
    payment_summary,
    post_claim,
)
from gateway.domain.remittance import (
    BalanceError,
    ClaimPayment,
    PaymentInfo,
    transaction_balance_error,
)
from gateway.transactions.remit_835 import TransactionEnd, read_835

Lookup = Callable[[str], Claim | None]
LegLookup = Callable[[str, str | None], Claim | None]


@dataclass(slots=True)
class PaymentStarted:
    payment: PaymentInfo
    kind: Literal["payment"] = "payment"


@dataclass(slots=True)
class ClaimPosted:
    claim: ClaimPayment
    posting: dict[str, Any]
    balance: dict[str, Any] | None
    errors: list[BalanceError]
    kind: Literal["claim"] = "claim"


@dataclass(slots=True)
class PaymentFinished:
    payment: PaymentInfo
    end: TransactionEnd
    balanced: bool
    balance_errors: list[BalanceError] = field(default_factory=list)
    warnings: list[BalanceError] = field(default_factory=list)
    kind: Literal["end"] = "end"

    def provider_adjustments(self) -> list[dict[str, Any]]:
        return [
            {
                "provider_id": p.provider_id,
                "fiscal_period_end": p.fiscal_period_end.isoformat()
                if p.fiscal_period_end
                else None,
                "reason": p.reason,
                "reference": p.reference,
                "amount": money(p.amount),
            }
            for p in self.end.provider_adjustments
        ]

    def summary(self) -> dict[str, Any]:
        """The payment as ``gateway parse`` shows it, without its claims."""
        return {
            "payment": payment_summary(self.payment)
            | {
                "handling_code": self.payment.handling_code,
                "payee": {"name": self.payment.payee_name, "id": self.payment.payee_id},
                "control_number": self.payment.control_number,
            },
            "claim_count": self.end.claim_count,
            "claims_paid": money(self.end.paid_total),
            "provider_adjustments": self.provider_adjustments(),
            "balanced": self.balanced,
            "balance_errors": [e.as_dict() for e in self.balance_errors],
            "warnings": [e.as_dict() for e in self.warnings],
        }


RemittanceEvent = PaymentStarted | ClaimPosted | PaymentFinished


def post_835(
    source: str | os.PathLike[str] | BinaryIO | bytes,
    *,
    source_file: str,
    lookup: Lookup | None = None,
    content_hash: bool = False,
    leg_lookup: LegLookup | None = None,
) -> Iterator[RemittanceEvent]:
    """Parse, balance and post every 835 transaction in ``source``.

    ``lookup`` finds the submitted claim by claim id (the ledger); with it, lines are matched
    to submitted lines, unknown claims are flagged ``matched: false`` and a secondary payer on
    file makes the balance ``bill_secondary``. ``content_hash``: see ``read_835``.
    ``leg_lookup``: the claim as the payer at a sequence (P, S, T; from CLP02) got it, used
    instead of ``lookup`` when given (a claim billed to several payers in turn).
    """
    errors: list[BalanceError] = []
    warnings: list[BalanceError] = []
    ctx: PaymentContext | None = None
    for event in read_835(source, content_hash=content_hash):
        if isinstance(event, ClaimPayment):
            assert ctx is not None  # the reader sends the header first
            if leg_lookup is not None or lookup is not None:
                if leg_lookup is not None:
                    submitted = leg_lookup(event.claim_id, payer_sequence(event.status_code))
                else:
                    assert lookup is not None
                    submitted = lookup(event.claim_id)
                posted = post_claim(event, ctx, submitted=submitted, matched=submitted is not None)
            else:
                posted = post_claim(event, ctx)
            if posted.errors:
                errors.extend(posted.errors)
            if posted.warning is not None:
                warnings.append(posted.warning)
            yield ClaimPosted(event, posted.posting, posted.balance, posted.errors)
        elif isinstance(event, PaymentInfo):
            ctx = PaymentContext.of(event, source_file)
            errors, warnings = [], []
            yield PaymentStarted(event)
        else:
            total = transaction_balance_error(
                event.payment, event.paid_total, event.provider_adjustment_total
            )
            if total is not None:
                errors.append(total)
            errors.extend(BalanceError("format", problem) for problem in event.problems)
            yield PaymentFinished(event.payment, event, not errors, errors, warnings)


CSV_COLUMNS = [
    "source_file", "trace_number", "payment_date", "payer_id", "payer_name", "claim_id",
    "payer_claim_number", "status_code", "status", "claim_charge", "claim_paid",
    "patient_responsibility", "line_id", "procedure", "modifiers", "service_date", "line_charge",
    "line_paid", "allowed", "units", "adjustments", "remarks",
]  # fmt: skip


def csv_rows(posting: dict[str, Any]) -> list[list[str]]:
    """One row per service line (one row for a claim without lines), for spreadsheets."""
    pay = posting["payment"]
    head = [
        posting["source_file"], pay["trace_number"], pay["date"] or "", pay["payer_id"],
        pay["payer_name"], posting["claim_id"], posting["payer_claim_number"],
        posting["status_code"], posting["status"], posting["charge"], posting["paid"],
        posting["patient_responsibility"],
    ]  # fmt: skip
    claim_adjustments = ";".join(
        f"{a['group']}-{a['reason']}:{a['amount']}" for a in posting["adjustments"]
    )
    rows = []
    for line in posting["lines"] or [None]:
        if line is None:
            rows.append([*head, "", "", "", "", "", "", "", "", claim_adjustments, ""])
            continue
        adjustments = ";".join(
            f"{a['group']}-{a['reason']}:{a['amount']}" for a in line["adjustments"]
        )
        rows.append(
            [
                *head,
                line["line_id"] or "",
                line["procedure"],
                ":".join(line["modifiers"]),
                line["service_date"] or "",
                line["charge"],
                line["paid"],
                line["allowed"] or "",
                line["units"],
                adjustments,
                ";".join(r["code"] for r in line["remarks"]),
            ]
        )
    return rows
