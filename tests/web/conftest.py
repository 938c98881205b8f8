"""Web view fixtures: a demo home with a payment held for review and three users, served by
uvicorn on a free port of 127.0.0.1 (the socket is bound before the server thread starts, so
no test waits for it)."""

from __future__ import annotations

import io
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from rich.console import Console

from gateway.config import database_url, load_settings
from gateway.demo.run import run_demo
from gateway.demo.web import resend_a_payment
from gateway.ledger.db import open_ledger
from gateway.ledger.users import Role, hash_password
from gateway.web.app import create_app
from tests.ledger.conftest import backend, make_database  # noqa: F401  (both backends)

PASSWORDS = {"maria": "maria's long password", "sam": "sam's long password!",
             "ada": "ada's long password!!"}  # fmt: skip
ROLES = {"maria": Role.COORDINATOR, "sam": Role.VIEWER, "ada": Role.ADMIN}


def add_users(url: str) -> None:
    with open_ledger(url) as ledger:
        for name, password in PASSWORDS.items():
            ledger.add_user(name, ROLES[name], hash_password(password))


def demo_home(root: Path, claims: int = 24) -> Path:
    """The demo's home after its run, with a re-sent 835 held for review, and the users."""
    home = root / "demo-home"
    summary = run_demo(home, claims=claims, seed=7, console=Console(file=io.StringIO()))
    assert summary.finished
    resend_a_payment(home)
    add_users(database_url(home, load_settings(home)))
    return home


@dataclass
class Site:
    url: str
    home: Path


@contextmanager
def serving(home: Path) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(home), log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo home served by ``gateway web``'s application (SQLite ledger)."""
    home = demo_home(tmp_path_factory.mktemp("web"))
    with serving(home) as url:
        yield Site(url, home)


def client(
    home: Path, *, https: bool = False, clock: Callable[[], datetime] | None = None
) -> TestClient:
    """An in-process client of the home's web view (no server, no redirects followed); its
    pages' "now" is ``clock`` when given (else the wall clock)."""
    base = "https://gateway.test" if https else "http://gateway.test"
    app = create_app(home, clock=clock) if clock is not None else create_app(home)
    return TestClient(app, base_url=base, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found[1]


def log_in(web: TestClient, user: str, password: str | None = None) -> str:
    """Log ``user`` in; the session's CSRF token."""
    page = web.get("/login")
    answer = web.post("/login", data={"username": user, "password": password or PASSWORDS[user],
                                      "csrf": csrf_of(page.text)})  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text[:300]
    return csrf_of(web.get("/").text)
