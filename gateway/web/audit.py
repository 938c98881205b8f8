"""The audit trail, for admins: who logged in, who viewed which claim, who released or
discarded which payment, what was refused; by user or by claim."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.ledger.users import Role
from gateway.web.app import page, web_of
from gateway.web.auth import Viewer, allowed

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, session: Viewer, user: str = "", claim: str = "", limit: int = 200
) -> HTMLResponse:
    allowed(request, session, Role.ADMIN, "read the audit trail")
    ledger = web_of(request).ledger
    events = ledger.audit_trail(username=user[:64] or None, claim_id=claim[:80] or None,
                                limit=max(1, min(limit, 2000)))  # fmt: skip
    return page(request, "audit.html", events=events, user=user, claim=claim)
