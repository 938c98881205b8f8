"""The first page: what needs someone today, from what the gateway knows now.

Payments held for review, claim files refused at intake (``spool/rejected/``), replies set
aside (``spool/quarantine/``), partners the daemon sees down (``state/partners.json``), claims
the payer rejected or denied, the money billed and paid this week and this month (UTC days of
the web's clock), a count of claims per state, and the most urgent items of the follow-up's
worklist (the whole list on its own page, computed again only when it can differ).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.config import ConfigError, load_partners
from gateway.followup.worklist import WorkItem
from gateway.ledger.schema import ClaimState
from gateway.web.app import Web, page, web_of
from gateway.web.auth import Viewer
from gateway.web.worklist import item_rows, work_items

router = APIRouter()
SHOWN = 50  # newest files of each folder
URGENT = 10  # worklist items shown here


def _notes(folder: Path, pattern: str) -> list[dict[str, Any]]:
    """The newest JSON notes of ``folder`` (e.g. ``*.errors.json``), unreadable ones named."""
    paths = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    notes = []
    for path in paths[:SHOWN]:
        try:
            note = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            note = {"file": path.name, "reason": "its note cannot be read"}
        note.setdefault("folder", path.parent.name)
        notes.append(note)
    return notes


def partner_health(web: Web) -> list[dict[str, Any]]:
    """Each configured partner with what the daemon last saw of it."""
    health_file = web.home / "state" / "partners.json"
    try:
        health = json.loads(health_file.read_text()) if health_file.exists() else {}
    except (OSError, ValueError):
        health = {}
    try:
        names = [p.name for p in load_partners(web.home)]
    except ConfigError:
        names = []
    rows = []
    for name in sorted(set(names) | set(health)):
        seen = health.get(name) or {}
        rows.append({"name": name, "state": seen.get("state", "not polled yet"),
                     "failures": seen.get("failures", 0), "last_error": seen.get("last_error"),
                     "last_ok": seen.get("last_ok"), "replies": seen.get("replies")})  # fmt: skip
    return rows


def recent_work(web: Web) -> list[WorkItem]:
    """The worklist, as the Worklist page shows it (computed again only when it can differ)."""
    return work_items(web)


def week_and_month(now: datetime) -> tuple[datetime, datetime]:
    """The first moments (UTC) of ``now``'s week (Monday) and month."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday()), today.replace(day=1)


def needs_attention(web: Web) -> dict[str, Any]:
    held = web.ledger.held_payments()
    files = Counter(PurePosixPath(p.archived_as or p.file_name).name for p in held)
    counts = web.ledger.claim_state_counts()
    partners = partner_health(web)
    week, month = web.ledger.money_since(*week_and_month(web.clock()))
    work = recent_work(web)
    return {
        "money": [("this week (since Monday)", week), ("this month", month)],
        "work_count": len(work),
        "work_reasons": sorted(Counter(i.reason for i in work).items()),
        "urgent": item_rows(web, work[:URGENT]),
        "held_files": sorted(files.items()),
        "held_count": len(held),
        "rejected_files": _notes(web.spool / "rejected", "*.errors.json"),
        "quarantined": _notes(web.spool / "quarantine", "*/*.reason.json"),
        "partners": partners,
        "partners_down": [p for p in partners if p["state"] == "down"],
        "counts": [(s.value, counts.get(s.value, 0)) for s in ClaimState],
        "total": sum(counts.values()),
        "rejected_claims": counts.get(ClaimState.REJECTED.value, 0),
        "denied_claims": counts.get(ClaimState.DENIED.value, 0),
    }


@router.get("/", response_class=HTMLResponse)
def attention(request: Request, session: Viewer) -> HTMLResponse:
    return page(request, "attention.html", **needs_attention(web_of(request)))
