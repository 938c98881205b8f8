"""The follow-up's two pages: the worklist (what needs a person, most urgent first) and aging
(money insurers still owe, by days since submission).

Both call what ``gateway worklist`` and ``gateway aging`` call (``build_worklist``, ``aging``),
at the web's clock, so a page and the command agree to the cent. Read-only for every role.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from gateway.config import ConfigError, FollowupConfig, load_partners
from gateway.followup.aging import BUCKETS, Aging, aging
from gateway.followup.worklist import REASONS, WorkItem, build_worklist
from gateway.web.app import Web, page, web_of
from gateway.web.auth import Viewer

router = APIRouter()
PAGE_ITEMS = 100  # worklist items a page (the list can hold thousands)
CHART_W, CHART_H = 520, 180  # the aging chart's drawing area, in SVG units


def followup_settings(web: Web) -> dict[str, FollowupConfig]:
    """Each partner's follow-up settings (as the CLI reads them); none when a file is broken."""
    try:
        return {p.name: p.followup for p in load_partners(web.home)}
    except ConfigError:
        return {}


def work_items(web: Web, reason: str | None = None) -> list[WorkItem]:
    return build_worklist(web.ledger, web.clock(), followup_settings(web), reason=reason)


def item_rows(web: Web, items: list[WorkItem]) -> list[dict[str, Any]]:
    today = web.clock().date()
    return [{"i": i, "days_left": (i.due - today).days if i.due else None} for i in items]


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request, session: Viewer, reason: str = "", page_number: int = Query(1, alias="page")
) -> HTMLResponse:
    """The worklist (or its items of one reason), ``PAGE_ITEMS`` a page, with the count of
    each reason and the total of the whole list."""
    if reason and reason not in REASONS:
        raise HTTPException(400, f"reason {reason[:40]!r}: not a worklist reason")
    web = web_of(request)
    everything = work_items(web)
    counts = Counter(i.reason for i in everything)
    items = [i for i in everything if i.reason == reason] if reason else everything
    pages = max(1, -(-len(items) // PAGE_ITEMS))
    if not 1 <= page_number <= pages:
        raise HTTPException(400, f"page {page_number}: the list has {pages} page(s)")
    first = (page_number - 1) * PAGE_ITEMS
    total = sum((i.amount for i in items), Decimal("0.00"))
    shown = item_rows(web, items[first : first + PAGE_ITEMS])
    return page(request, "worklist.html", rows=shown, reason=reason, reasons=REASONS,
                total=total, count=len(items), first=first, page_number=page_number,
                pages=pages, counts=[(r, counts[r]) for r in REASONS if counts[r]],
                as_of=web.clock())  # fmt: skip


def chart(report: Aging) -> list[dict[str, Any]]:
    """The bars of the aging chart (one per bucket), scaled to the largest amount."""
    top = max((report.buckets[b].amount for b in BUCKETS), default=Decimal(0)) or Decimal(1)
    width = CHART_W // len(BUCKETS)
    bars = []
    for n, name in enumerate(BUCKETS):
        cell = report.buckets[name]
        height = int(cell.amount / top * (CHART_H - 40))  # room for the label above
        bars.append({"name": name, "x": n * width + 10, "w": width - 20, "h": height,
                     "y": CHART_H - 20 - height, "cell": cell})  # fmt: skip
    return bars


@router.get("/aging", response_class=HTMLResponse)
def aging_page(request: Request, session: Viewer, by: str = "payer") -> HTMLResponse:
    if by not in ("payer", "partner"):
        raise HTTPException(400, "by: payer or partner")
    web = web_of(request)
    key: Literal["payer", "partner"] = "payer" if by == "payer" else "partner"
    report = aging(web.ledger, web.clock(), key)
    return page(request, "aging.html", report=report, buckets=BUCKETS, bars=chart(report),
                chart_w=CHART_W, chart_h=CHART_H, as_of=web.clock())  # fmt: skip
