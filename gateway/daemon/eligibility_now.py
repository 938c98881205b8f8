"""Ask now (``gateway eligibility FILE``): queue requests, send them, wait for their answers.

Each round, when no daemon runs on the home, this takes the home's lock and does the daemon's
work for the partners concerned (build the 270s, upload, fetch, process replies, write the
outputs); between rounds it lets the lock go, so a daemon may start meanwhile. When a daemon
runs, it sends and receives; this only watches the ledger. Either way the requests go through
the ledger's doors, so an answer is never applied twice and never lost. It stops when every
request is answered or ``wait`` seconds have passed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.config import PartnerConfig, database_url, load_partners, load_settings
from gateway.daemon.eligibility_intake import request_partner
from gateway.daemon.eligibility_outbound import build_inquiries
from gateway.daemon.inbound import fetch, process_inbound
from gateway.daemon.outbound import send_outbound
from gateway.daemon.outputs import emit_outputs, output_places
from gateway.daemon.runner import AlreadyRunning, home_lock, worker_name
from gateway.daemon.transports import open_transport
from gateway.domain.eligibility import EligibilityRequest
from gateway.domain.problems import Problem
from gateway.ledger.db import open_ledger
from gateway.ledger.ledger import DuplicateRequest, Ledger
from gateway.ledger.schema import RequestState

POLL_SECONDS = 1.0


@dataclass
class AskResult:
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # request id → record
    pending: list[str] = field(default_factory=list)  # sent (or queued), no answer yet
    problems: list[Problem] = field(default_factory=list)
    daemon_running: bool = False
    trouble: list[str] = field(default_factory=list)  # a partner down, a failed step


def ask_now(
    home: Path,
    requests: list[EligibilityRequest],
    *,
    wait: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> AskResult:
    """Queue ``requests``, send them now, and collect what is answered within ``wait``."""
    settings = load_settings(home)
    partners = load_partners(home)
    result = AskResult()
    deadline = clock() + wait
    with open_ledger(database_url(home, settings)) as ledger:
        asked = _queue(ledger, requests, partners, result)
        involved = [p for p in partners if p.name in set(asked.values())]
        spool = home / settings.spool.root
        owner = worker_name(home)
        while True:
            try:
                with home_lock(home):
                    for partner in involved:
                        _exchange(home, spool, ledger, partner, owner,
                                  settings.daemon.lease_seconds, result)  # fmt: skip
                    emit_outputs(
                        spool, ledger, owner=owner, batch_size=settings.daemon.output_batch,
                        places=output_places(home, partners), partners=[p.name for p in partners],
                    )  # fmt: skip
            except AlreadyRunning:
                result.daemon_running = True  # it sends and receives: watch the ledger
            if _collect(ledger, asked, result) or clock() >= deadline:
                break
            sleep(POLL_SECONDS)
    return result


def _queue(
    ledger: Ledger,
    requests: list[EligibilityRequest],
    partners: list[PartnerConfig],
    result: AskResult,
) -> dict[str, str]:
    """Record the requests (one already there with the same content counts as asked)."""
    asked: dict[str, str] = {}
    for request in requests:
        partner = request_partner(request, partners)
        if partner is None:
            result.problems.append(Problem(
                f"no partner takes payer {request.payer.id!r}", "payer.id", request.request_id,
            ))  # fmt: skip
            continue
        record = json.loads(request.model_dump_json())
        try:
            ledger.add_eligibility_request(record, partner=partner, payer_id=request.payer.id)
        except DuplicateRequest as exc:
            result.problems.append(Problem(str(exc), "request_id", request.request_id))
            continue
        asked[request.request_id] = partner
    return asked


def _exchange(
    home: Path,
    spool: Path,
    ledger: Ledger,
    partner: PartnerConfig,
    owner: str,
    lease_seconds: float,
    result: AskResult,
) -> None:
    """One round with a partner: build and upload its 270s, fetch and process its replies."""
    build_inquiries(spool, ledger, partner, owner=owner, lease_seconds=lease_seconds, once=True)
    try:
        with open_transport(home, partner) as transport:
            send_outbound(spool, ledger, partner, transport)
            fetch(spool, ledger, partner, transport)
    except Exception as exc:  # a partner that is down: say so, keep waiting for the others
        message = f"partner {partner.name}: {exc}"
        if message not in result.trouble:
            result.trouble.append(message)
    process_inbound(spool, ledger, partner.name)


def _collect(ledger: Ledger, asked: dict[str, str], result: AskResult) -> bool:
    """Take in the answers that came; True when every request has one."""
    stored = ledger.eligibility_requests(list(asked))
    result.pending = []
    for s in stored:
        if s.state in (RequestState.ANSWERED, RequestState.REJECTED) and s.answer is not None:
            result.answers[s.request_id] = s.answer
        else:
            result.pending.append(s.request_id)
    return not result.pending
