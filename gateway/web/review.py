"""Held payments: what waits for a person, and exactly why; release (post it on purpose, with a
note) or discard (keep it unposted, with a reason).

Both go through the door ``gateway review release|discard`` uses (``settle_held``: postings,
balances, status records and claim states in one ledger transaction, written to ``spool/`` by
the daemon's next cycle). Only a coordinator or an admin may; each decision is audited with
its note and every claim it touched.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePosixPath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.ledger.ledger import StoredPayment
from gateway.ledger.schema import PaymentState
from gateway.ledger.users import Role
from gateway.replies.holds import hold_texts
from gateway.web.app import page, web_of
from gateway.web.auth import Posted, Viewer, allowed

router = APIRouter()


def file_name(p: StoredPayment) -> str:
    """The name a review knows a received file by (its unique name in the archive)."""
    return PurePosixPath(p.archived_as).name if p.archived_as else p.file_name


def held_files(payments: list[StoredPayment]) -> list[dict[str, Any]]:
    files: dict[str, list[StoredPayment]] = defaultdict(list)
    for p in payments:
        files[file_name(p)].append(p)
    return [
        {"file": name, "partner": items[0].partner, "payments": [
            {"p": p, "reasons": hold_texts(p.detail.get("reasons", []))} for p in items
        ]}
        for name, items in sorted(files.items())
    ]  # fmt: skip


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, session: Viewer, done: str = "") -> HTMLResponse:
    ledger = web_of(request).ledger
    files = held_files(ledger.held_payments())
    return page(request, "review.html", files=files, done=done[:200],
                may_settle=session.may(Role.COORDINATOR))  # fmt: skip


def _settle(request: Request, session: Any, verdict: PaymentState, file: str, note: str,
            claim_id: str) -> Response:  # fmt: skip
    from gateway.daemon.remittance_posting import settle_held
    from gateway.replies.posting_files import archive_review

    word = "release" if verdict == PaymentState.RELEASED else "discard"
    allowed(request, session, Role.COORDINATOR, f"{word} a held payment")
    if not note.strip():
        raise HTTPException(400, f"{word}: say why (a note is kept with the payment)")
    web = web_of(request)
    settled = settle_held(web.ledger, file, verdict=verdict, note=note.strip(),
                          claim_id=claim_id.strip() or None)  # fmt: skip
    if not settled:
        raise HTTPException(404, f"{file}: nothing of it is held (already settled?)")
    left = [p for p in web.ledger.held_payments() if file_name(p) == file]
    twice = sorted({
        p.claim_id for p, d in settled
        if verdict == PaymentState.RELEASED and not p.reversal
        and len(web.ledger.payments_in_force(p.claim_id, p.payer_id, d.sequence)) > 1
    })  # fmt: skip
    if not left and (web.home / "spool" / "review" / file).exists():
        archive_review(web.home, file, verdict.value, note.strip())
    claims = sorted({p.claim_id for p, _ in settled})
    web.cache.pop("worklist", None)  # the first page's worklist summary: its held items moved
    web.ledger.audit(session.username, f"payment_{verdict.value}",
                     detail={"file": file, "note": note.strip(), "payments": len(settled)},
                     claim_ids=claims)  # fmt: skip
    done = f"{file}: {verdict.value} {len(settled)} claim payment(s) ({', '.join(claims)})"
    if twice:
        done += f"; {', '.join(twice)} now paid more than once by the same payer, as you chose"
    return RedirectResponse("/review?" + urlencode({"done": done}), status_code=303)


Text = Annotated[str, Form(max_length=2000)]
Name = Annotated[str, Form(max_length=255)]


@router.post("/review/release")
def release(request: Request, session: Posted, file: Name, note: Text = "",
            claim_id: Name = "") -> Response:  # fmt: skip
    return _settle(request, session, PaymentState.RELEASED, file, note, claim_id)


@router.post("/review/discard")
def discard(request: Request, session: Posted, file: Name, note: Text = "",
            claim_id: Name = "") -> Response:  # fmt: skip
    return _settle(request, session, PaymentState.DISCARDED, file, note, claim_id)
