"""A claim's notes, disputes, payers (legs) and plain-language explanation on its page, and
a coordinator's new note.

Everything here is read through what the CLI reads (``ledger.notes``, ``leg_lines`` of
``gateway claim``, ``explanation_of`` of ``gateway explain``); a note is kept through the same
ledger door as ``gateway note`` (``add_note``), by a coordinator or an admin, and audited.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

import structlog
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from gateway.daemon.explanations import explanation_of
from gateway.daemon.legs_view import leg_lines
from gateway.ledger.claim_search import ClaimStory
from gateway.ledger.corrections import MAX_NOTE
from gateway.ledger.ledger import Ledger, LedgerError
from gateway.ledger.users import Role
from gateway.web.app import web_of
from gateway.web.auth import Posted, allowed

router = APIRouter()
log = structlog.get_logger("gateway.web")
KINDS = {"dispute_opened": "dispute opened", "dispute_closed": "dispute closed", "note": "note"}


def _explained(ledger: Ledger, claim_id: str) -> dict[str, Any] | None:
    """``gateway explain``'s answer; None (the page says so) when a stored posting lacks what
    an explanation needs, so the rest of the claim's page still shows."""
    try:
        return explanation_of(ledger, claim_id)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        log.warning("web_explanation_failed", claim_id=claim_id, error=type(exc).__name__)
        return None


def claim_story_extras(ledger: Ledger, story: ClaimStory) -> dict[str, Any]:
    """What the claim page adds to the timeline: notes, open dispute, payers, explanation."""
    claim_id = story.claim.claim_id
    legs = ledger.legs(claim_id)
    notes = [
        {"at": n.at, "kind": KINDS.get(n.kind, n.kind), "author": n.author, "text": n.text}
        for n in ledger.notes(claim_id)
    ]
    return {
        "notes": notes,
        "payers": [line.strip() for line in leg_lines(legs, story.events, story.payments)],
        "explained": _explained(ledger, claim_id),
        "max_note": MAX_NOTE,
    }


@router.post("/claims/{claim_id}/notes")
def add_note(
    request: Request,
    claim_id: str,
    session: Posted,
    text: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> Response:
    """Keep a dated note on the claim, signed by the signed-in user (``gateway note``)."""
    allowed(request, session, Role.COORDINATOR, "add a note to a claim")
    if not text.strip():
        raise HTTPException(400, "a note needs some text")
    ledger = web_of(request).ledger
    try:
        kept = ledger.add_note(claim_id, text, author=session.username)
    except LedgerError as exc:  # an unknown claim
        raise HTTPException(404, str(exc)) from exc
    ledger.audit(session.username, "note_added", claim_id, {"note_id": kept.id})
    done = f"note kept ({kept.at:%Y-%m-%d %H:%M:%S} UTC, {kept.author})"
    return RedirectResponse(f"/claims/{quote(claim_id, safe='')}?" + urlencode({"done": done})
                            + "#notes", status_code=303)  # fmt: skip
