"""Eligibility answers: each request asked (a 270) and what the payer said (its 271), newest
first, and one answer's benefits in full. Opening an answer is audited (it names a patient)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from gateway.web.app import page, web_of
from gateway.web.auth import Viewer

router = APIRouter()
SHOWN = 50  # the newest; an answer's own page has the rest


@router.get("/eligibility", response_class=HTMLResponse)
def eligibility_page(request: Request, session: Viewer) -> HTMLResponse:
    ledger = web_of(request).ledger
    requests = ledger.eligibility_requests(limit=SHOWN)
    ledger.audit(session.username, "list_eligibility", detail={"shown": len(requests)})
    return page(request, "eligibility.html", requests=requests,
                counts=sorted(ledger.count_eligibility_requests().items()))  # fmt: skip


@router.get("/eligibility/{request_id}", response_class=HTMLResponse)
def answer_page(request: Request, request_id: str, session: Viewer) -> HTMLResponse:
    ledger = web_of(request).ledger
    found = ledger.eligibility_request(request_id)
    if found is None:
        raise HTTPException(404, f"eligibility request {request_id}: not in the ledger")
    ledger.audit(session.username, "view_eligibility", detail={"request_id": request_id})
    return page(request, "eligibility_answer.html", r=found, answer=found.answer or {})
