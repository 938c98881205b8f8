"""Partners: each partner's settings as the daemon reads them (never a secret: a key's file and
its passphrase's variable are named, not read), what the daemon last saw of it, and what went
to and came from it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway.config import ConfigError, PartnerConfig, load_partners
from gateway.web.app import page, web_of
from gateway.web.attention import partner_health
from gateway.web.auth import Viewer

router = APIRouter()


def settings(p: PartnerConfig) -> list[tuple[str, str]]:
    """What a page may show of a partner's file: an allowlist, so a new secret never leaks."""
    shown = [("transport", p.transport), ("payers", ", ".join(p.payers) or "(none)"),
             ("usage", "test" if p.usage == "T" else "production"),
             ("sender / receiver", f"{p.interchange.sender_id} / {p.interchange.receiver_id}"),
             ("poll every", f"{p.schedule.poll_seconds} s"),
             ("batch", f"{p.batch.max_claims} claims or {p.batch.max_wait_seconds} s")]  # fmt: skip
    if p.sftp is not None:
        shown += [("server", f"{p.sftp.username}@{p.sftp.host}:{p.sftp.port}"),
                  ("folders", f"up {p.sftp.upload_dir}, down {p.sftp.download_dir}"),
                  ("key", p.sftp.private_key + (f" (passphrase from ${p.sftp.passphrase_env})"
                                                if p.sftp.passphrase_env else ""))]  # fmt: skip
    if p.directory is not None:
        shown.append(("folders", f"up {p.directory.upload_dir}, down {p.directory.download_dir}"))
    return shown


@router.get("/partners", response_class=HTMLResponse)
def partners_page(request: Request, session: Viewer) -> HTMLResponse:
    web = web_of(request)
    try:
        configured = {p.name: p for p in load_partners(web.home)}
        problem = ""
    except ConfigError as exc:
        configured, problem = {}, str(exc)
    traffic = web.ledger.partner_traffic()
    rows: list[dict[str, Any]] = []
    for health in partner_health(web):
        config = configured.get(health["name"])
        rows.append({**health, "settings": settings(config) if config else [],
                     "traffic": traffic.get(health["name"])})  # fmt: skip
    return page(request, "partners.html", partners=rows, problem=problem)
