"""The follow-up's two pages: the worklist (what needs a person, most urgent first) and aging
(money insurers still owe, by days since submission).

Both call what ``gateway worklist`` and ``gateway aging`` call (``build_worklist``, ``aging``),
at the web's clock, so a page and the command agree to the cent. Read-only for every role.
A report is computed again only when it can differ from the last one (``kept``): the ledger's
kept follow-up facts changed, the settings did, or the clock reached the moment the report
said it would change by itself; otherwise the last one is shown, as it would be computed now.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from gateway.config import ConfigError, FollowupConfig, load_partners
from gateway.followup.aging import BUCKETS, Aging, aging_until
from gateway.followup.worklist import REASONS, WorkItem, worklist_until
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


@dataclass(frozen=True, slots=True)
class Kept:
    """A page's report as computed from the kept follow-up facts, and what it holds for."""

    generation: int  # the ledger's followup_generation it was computed at
    settings: str  # the partners' follow-up settings it was computed with
    since: datetime  # the web clock's now it was computed at
    until: datetime  # when the clock alone can change it (``worklist_until``)
    value: Any


def kept(web: Web, name: str, settings: Mapping[str, FollowupConfig],
         compute: Callable[[datetime], tuple[Any, datetime]]) -> Any:  # fmt: skip
    """``compute(now)``'s report, computed again only when it can differ: the ledger changed
    (its follow-up generation moved), the settings changed, or the clock passed the moment
    the report said it would change. Never older than the ledger: not a cache with an age."""
    now = web.clock()
    generation = web.ledger.followup_generation()
    said = json.dumps({k: v.model_dump(mode="json") for k, v in settings.items()}, sort_keys=True)
    found = web.cache.get(name)
    if (
        isinstance(found, Kept) and (found.generation, found.settings) == (generation, said)
        and found.since <= now < found.until
    ):  # fmt: skip
        return found.value
    value, until = compute(now)
    web.cache[name] = Kept(generation, said, now, until, value)
    return value


def work_items(web: Web, reason: str | None = None) -> list[WorkItem]:
    """The worklist at the web's clock, what ``gateway worklist`` shows (``kept``)."""
    settings = followup_settings(web)
    items: list[WorkItem] = kept(
        web, "worklist", settings, lambda now: worklist_until(web.ledger, now, settings)
    )
    return [i for i in items if reason in (None, i.reason)]


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
    report: Aging = kept(web, f"aging by {key}", {}, lambda now: aging_until(web.ledger, now, key))
    return page(request, "aging.html", report=report, buckets=BUCKETS, bars=chart(report),
                chart_w=CHART_W, chart_h=CHART_H, as_of=web.clock())  # fmt: skip
