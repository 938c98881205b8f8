"""Logging in and out, the session every page needs, roles, and the CSRF check of every form.

A login opens a session in the ledger; its cookie (random, HttpOnly, SameSite=Strict, Secure
when served over TLS) is the only key to it. Every POST carries the session's CSRF token in a
hidden field and is refused (403, audited) without it; the login form, before any session, is
protected the same way by a token in a short-lived cookie (double submit). Who may change
things is the role's business: a viewer's attempt is refused and audited. Five wrong passwords
for a user name in 15 minutes make its logins wait out the 15 minutes (counted in the audit
trail, so it holds across processes and restarts).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.ledger.records import utc_now
from gateway.ledger.users import Role, WebSession
from gateway.web.app import LoginRequired, web_of

router = APIRouter()
log = structlog.get_logger("gateway.web")

COOKIE = "gateway_session"
LOGIN_COOKIE = "gateway_login"
TRIES = 5  # failed logins of a user name in WINDOW before its logins wait
WINDOW = timedelta(minutes=15)
CSRF_REFUSED = "the form's security token (CSRF) is missing or wrong: reload the page and try again"


def signed_in(request: Request) -> WebSession:
    """The live session of the request's cookie (else the login page)."""
    token = request.cookies.get(COOKIE)
    session = web_of(request).ledger.session(token) if token else None
    if session is None:
        raise LoginRequired
    request.state.session = session
    return session


Viewer = Annotated[WebSession, Depends(signed_in)]


def _refuse_csrf(request: Request, who: str, given: str = "") -> None:
    detail = {"path": request.url.path, **({"user_given": given[:64]} if given else {})}
    web_of(request).ledger.audit(who, "csrf_refused", detail=detail)
    log.warning("web_csrf_refused", user=who, path=request.url.path)
    raise HTTPException(403, CSRF_REFUSED)


async def form_checked(request: Request, session: Viewer) -> WebSession:
    """A POST of the signed-in user whose form carries the session's CSRF token."""
    token = (await request.form()).get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
        _refuse_csrf(request, session.username)
    return session


Posted = Annotated[WebSession, Depends(form_checked)]


def allowed(request: Request, session: WebSession, role: Role, action: str) -> None:
    """Refuse (403, audited) what ``session``'s role may not do."""
    if not session.may(role):
        web_of(request).ledger.audit(session.username, "refused", detail={"action": action,
                                     "role": session.role.value})  # fmt: skip
        raise HTTPException(403, f"{action}: a {session.role.value} may not do this "
                            f"(it needs a {role.value} or more)")  # fmt: skip


def _cookie(request: Request, response: Response, name: str, value: str, seconds: int) -> None:
    response.set_cookie(
        name, value, max_age=seconds, httponly=True, samesite="strict", path="/",
        secure=request.url.scheme == "https",
    )  # fmt: skip


def _login_form(request: Request, message: str = "", status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = web_of(request).templates.TemplateResponse(
        request, "login.html", {"csrf": token, "message": message, "me": None, "nav": []},
        status_code=status_code,
    )  # fmt: skip
    _cookie(request, response, LOGIN_COOKIE, token, 1800)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return _login_form(request)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    web = web_of(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not csrf or not expected or not hmac.compare_digest(csrf, expected):
        _refuse_csrf(request, "-", username)  # nobody is signed in yet
    if web.ledger.failed_logins(username, utc_now() - WINDOW) >= TRIES:
        web.ledger.audit(username or "-", "login_locked")
        log.warning("web_login_locked", user=username)
        return _login_form(request, f"{TRIES} wrong passwords for this user name: try again in "
                           f"{int(WINDOW.total_seconds() // 60)} minutes, or ask an admin",
                           status_code=429)  # fmt: skip
    user = web.ledger.check_login(username, password)
    if user is None:
        web.ledger.audit(username or "-", "login_failed")
        log.warning("web_login_failed", user=username)
        return _login_form(request, "wrong user name or password", status_code=401)
    token, form_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    lifetime = timedelta(hours=web.session_hours)
    web.ledger.open_session(user.username, token, form_token, lifetime)
    web.ledger.audit(user.username, "login", detail={"role": user.role.value})
    log.info("web_login", user=user.username)
    response = RedirectResponse("/", status_code=303)
    _cookie(request, response, COOKIE, token, int(lifetime.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, session: Posted) -> Response:
    web = web_of(request)
    web.ledger.close_session(request.cookies.get(COOKIE, ""))
    web.ledger.audit(session.username, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
