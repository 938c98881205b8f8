"""Serve the web view with uvicorn (``gateway web``, or beside the daemon: ``gateway run
--web``): bound to 127.0.0.1 unless told otherwise, no access log (paths name claims; the
audit trail in the ledger says who opened what), TLS when given a certificate (then the session
cookie is Secure), or behind a TLS proxy on this machine (its X-Forwarded-Proto is trusted from
127.0.0.1 only)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn

from gateway.web.app import create_app


def serve(
    home: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM."""
    uvicorn.run(
        create_app(home), host=host, port=port, access_log=False, log_config=None,
        proxy_headers=True, forwarded_allow_ips="127.0.0.1", server_header=False,
        ssl_certfile=certfile, ssl_keyfile=keyfile,
    )  # fmt: skip


def serve_beside(home: Path, host: str = "127.0.0.1", port: int = 8080) -> Callable[[], None]:
    """Serve the web view from a thread of this process (``gateway run --web``); returns what
    stops it. The daemon keeps its own signal handling: uvicorn installs none off the main
    thread."""
    server = uvicorn.Server(uvicorn.Config(
        create_app(home), host=host, port=port, access_log=False, log_config=None,
        proxy_headers=True, forwarded_allow_ips="127.0.0.1", server_header=False,
    ))  # fmt: skip
    thread = threading.Thread(target=server.run, name="gateway-web", daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)

    return stop
