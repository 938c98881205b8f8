"""Payments: the 835s received, the last recorded first, with their money and whether it adds
up, what ``gateway review list`` and ``gateway claim`` tell of them.

Read-only for everyone: each row links to its file (shown readably) and, when some of it waits
for review, to the held payments page, where a coordinator releases or discards it. Only page
numbers travel in the URL; opening a page is audited.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gateway.ledger.remittances import RemittanceRow
from gateway.ledger.schema import RemittanceState
from gateway.replies.holds import hold_texts
from gateway.web.app import page, web_of
from gateway.web.auth import Viewer
from gateway.web.files import file_link

router = APIRouter()
PAGE = 50


def verdict(row: RemittanceRow) -> dict[str, Any]:
    """Whether its money adds up, and why it is (or was) held."""
    r = row.remittance
    holds = r.detail.get("hold") or []
    balanced = not any(h.get("reason") == "unbalanced" for h in holds)
    why = hold_texts(holds)
    review = r.detail.get("review") or {}
    if review and r.state != RemittanceState.HELD:
        why.append(f"{review.get('verdict', r.state.value)} after review: {review.get('note')}")
    if row.held and r.state != RemittanceState.HELD:
        why.append(f"{row.held} claim payment(s) of it wait for review")
    return {"balanced": balanced, "waits": r.state == RemittanceState.HELD or row.held > 0,
            "why": why}  # fmt: skip


def money(amount: str) -> str:
    """``192`` as ``192.00``; text that is no amount as it is."""
    try:
        return f"{Decimal(amount):.2f}"
    except InvalidOperation:
        return amount


def _row(row: RemittanceRow) -> dict[str, Any]:
    r = row.remittance
    name = PurePosixPath(r.archived_as).name if r.archived_as else r.file_name
    return {"r": r, "amount": money(r.amount), "claims": row.claims, "held": row.held,
            **verdict(row),
            "file": file_link(r.archived_as or r.file_name, r.partner or ""),
            "review": f"/review#file-{name}" if row.held else None}  # fmt: skip


@router.get("/payments", response_class=HTMLResponse)
def payments_page(
    request: Request, session: Viewer, page_no: Annotated[int, Query(ge=0, le=100_000)] = 0
) -> HTMLResponse:
    ledger = web_of(request).ledger
    rows, more = ledger.remittance_rows(page=page_no, size=PAGE)
    ledger.audit(session.username, "view_payments",
                 detail={"page": page_no, "shown": [r.remittance.id for r in rows]})  # fmt: skip
    return page(request, "payments.html", rows=[_row(r) for r in rows], more=more,
                page_no=page_no)  # fmt: skip
