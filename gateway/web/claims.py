"""Claims: a search (claim id, patient, payer, state, dates of service) and a claim's page with
its whole timeline, what ``gateway claim ID`` shows.

The search is a POST form, so a patient's name never appears in a URL (nor in a proxy's or a
browser's history); its pages are further POSTs of the same form. Each search and each claim
opened is in the audit trail.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse

from gateway.ledger.claim_search import ClaimSearch
from gateway.ledger.ledger import ClaimEvent
from gateway.ledger.schema import ClaimState
from gateway.ledger.users import Role
from gateway.web.app import page, web_of
from gateway.web.auth import Posted, Viewer
from gateway.web.files import file_link
from gateway.web.notes import claim_story_extras

router = APIRouter()
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
Field = Annotated[str, Form(max_length=80)]

# What a timeline line says of an event, from its detail, in this order (as `gateway claim`).
FACTS = (
    ("file", "file {}"), ("control_number", "ISA13 {}"), ("trace_number", "trace {}"),
    ("money", "{}"), ("next_action", "next: {}"),
    ("payer_claim_number", "payer claim {}"), ("reverses", "reverses posting {}"),
    ("note", "note: {}"), ("claim_state", "the claim stays {}"),
)  # fmt: skip


def event_facts(event: ClaimEvent, partner: str) -> dict[str, Any]:
    d = event.detail
    facts = [form.format(d[key]) for key, form in FACTS if d.get(key)]
    if d.get("trace_number") and d.get("payment_date"):
        trace = f"trace {d['trace_number']}"
        facts[facts.index(trace)] = f"{trace} of {d['payment_date']}"
    if event.event == ClaimState.BATCHED:
        facts.append("built, waiting to upload")
    reasons = [
        r.get("text", "")
        if str(r.get("text", "")).startswith(str(r.get("code", "")).replace("_", " "))
        else f"{r.get('code', '')} {r.get('text', '')}"
        for r in d.get("reasons") or [] if isinstance(r, dict)
    ]  # fmt: skip
    return {"at": event.at, "version": event.version, "event": event.event.value,
            "source": event.source, "facts": ", ".join(facts), "reasons": reasons,
            "link": file_link(d.get("file"), partner)}  # fmt: skip


def _results(
    request: Request, search: ClaimSearch, page_no: int, message: str = ""
) -> HTMLResponse:
    web = web_of(request)
    rows, more = web.ledger.search_claims(search, page=page_no) if not message else ([], False)
    me = request.state.session
    web.ledger.audit(me.username, "search_claims",
                     detail={"asked": sorted(search.asked()), "page": page_no,
                             "shown": [r.claim_id for r in rows]})  # fmt: skip
    return page(request, "claims.html", search=search, rows=rows, more=more, page_no=page_no,
                states=[s.value for s in ClaimState], message=message)  # fmt: skip


@router.get("/claims", response_class=HTMLResponse)
def claims_page(request: Request, session: Viewer) -> HTMLResponse:
    """The newest claims, and the search form."""
    return _results(request, ClaimSearch(), 0, "")


@router.post("/claims", response_class=HTMLResponse)
def search(
    request: Request,
    session: Posted,
    claim_id: Field = "",
    patient: Field = "",
    payer_id: Field = "",
    state: Field = "",
    served_from: Field = "",
    served_to: Field = "",
    page_no: Annotated[int, Form(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    asked = ClaimSearch(claim_id, patient, payer_id, state, served_from, served_to)
    message = ""
    if state and state not in ClaimState._value2member_map_:
        message = f"state {state!r}: not a claim state"
    for day in (served_from, served_to):
        if day and not DAY.match(day):
            message = f"date {day!r}: use YYYY-MM-DD"
    return _results(request, asked, page_no, message)


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
def claim_page(request: Request, claim_id: str, session: Viewer, done: str = "") -> HTMLResponse:
    """One claim's whole story: versions, files, replies, payments, lines."""
    ledger = web_of(request).ledger
    story = ledger.claim_story(claim_id)
    if story is None:
        raise HTTPException(404, f"claim {claim_id}: not in the ledger")
    stored = story.claim
    ledger.audit(session.username, "view_claim", claim_id, {"version": stored.version})
    record = stored.record
    lines = [
        {"line_id": ln.get("line_id"), "procedure": ln.get("procedure"),
         "service_date": ln.get("service_date") or record.get("service_date"),
         "charge": ln.get("charge"), "units": ln.get("units")}
        for ln in record.get("lines") or [] if isinstance(ln, dict)
    ]  # fmt: skip
    return page(request, "claim.html", claim=stored, lines=lines,
                events=[event_facts(e, stored.partner) for e in story.events], file_link=file_link,
                interchanges=story.interchanges, payments=story.payments,
                may_note=session.may(Role.COORDINATOR), done=done[:200],
                **claim_story_extras(ledger, story))  # fmt: skip
