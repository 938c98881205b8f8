"""The web view's application: one ``Web`` (home, ledger, templates) shared by every page.

Every page is behind a login (``auth``); every answer carries headers that keep it out of
caches, frames and other sites' scripts. Every page that depends on the day (the money of
this week, the worklist's deadlines, aging) reads the time from ``Web.clock``, so a test can
fix it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import database_url, load_settings
from gateway.ledger.ledger import Ledger
from gateway.ledger.records import utc_now
from gateway.ledger.users import Role

HERE = Path(__file__).resolve().parent

# The menu: path, label, the least role that sees it.
NAV: list[tuple[str, str, Role]] = [
    ("/", "Needs attention", Role.VIEWER),
    ("/worklist", "Worklist", Role.VIEWER),
    ("/aging", "Aging", Role.VIEWER),
    ("/claims", "Claims", Role.VIEWER),
    ("/payments", "Payments", Role.VIEWER),
    ("/review", "Held payments", Role.VIEWER),
    ("/eligibility", "Eligibility", Role.VIEWER),
    ("/partners", "Partners", Role.VIEWER),
    ("/audit", "Audit trail", Role.ADMIN),
]

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # patient data: never kept by a browser or a proxy
}


@dataclass
class Web:
    home: Path
    spool: Path
    ledger: Ledger
    templates: Jinja2Templates
    session_hours: float = 8.0
    clock: Callable[[], datetime] = utc_now  # "now" of the pages (UTC); tests fix it
    cache: dict[str, Any] = field(default_factory=dict)  # (monotonic time, value) by name


class SafeHeaders:
    """Adds ``HEADERS`` to every answer, and how long the application took (``Server-Timing``,
    read by ``python -m bench web``); plain ASGI, so it costs next to nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoginRequired(Exception):
    """No live session: the page answers with the login form."""


def create_app(
    home: Path,
    ledger: Ledger | None = None,
    *,
    session_hours: float = 8.0,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The web view of ``home``; it opens (and closes) the home's ledger unless given one."""
    from gateway.web import (
        attention,
        audit,
        auth,
        claims,
        eligibility,
        files,
        notes,
        partners,
        payments,
        review,
        worklist,
    )

    settings = load_settings(home)
    owned = ledger is None
    if ledger is None:
        from gateway.ledger.db import open_ledger

        ledger = open_ledger(database_url(home, settings))
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    web = Web(home, home / settings.spool.root, ledger, templates, session_hours, clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            web.ledger.close()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.web = web
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (auth, attention, worklist, claims, notes, payments, review, eligibility,
                   partners, audit, files):  # fmt: skip
        app.include_router(module.router)

    app.add_middleware(SafeHeaders)

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def error_page(request: Request, exc: StarletteHTTPException) -> Response:
        context = {"status": exc.status_code, "message": exc.detail}
        if getattr(request.state, "session", None) is not None:
            return page(request, "error.html", exc.status_code, **context)
        return templates.TemplateResponse(request, "error.html", {**context, "me": None,
                                          "nav": []}, status_code=exc.status_code)  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def bad_form(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
        return await error_page(request, StarletteHTTPException(400, f"not a form this page "
                                f"sends (look at: {fields})"))  # fmt: skip

    return app


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page for the signed-in user (its menu, its CSRF token for the forms)."""
    me = request.state.session
    nav = [(path, label) for path, label, role in NAV if me.may(role)]
    response: HTMLResponse = web_of(request).templates.TemplateResponse(
        request, template, {"me": me, "nav": nav, "csrf": me.csrf, **context},
        status_code=status_code,
    )  # fmt: skip
    return response
