"""Prometheus metrics of a running daemon (``[metrics] port`` in gateway.toml, 0 = off).

Served on 127.0.0.1 only: the numbers say nothing about patients, but an admin decides who may
read them (a reverse proxy, an SSH tunnel). Each daemon has its own registry. The same port
answers the probes the daemon hands in (``/healthz``, ``/readyz``: see ``probes``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from gateway.followup.worklist import REASONS
from gateway.ledger.schema import ClaimState

if TYPE_CHECKING:
    from gateway.daemon.runner import CycleReport

Probe = Callable[[], tuple[int, dict[str, Any]]]  # HTTP status, JSON body


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.claims_taken = Counter("gateway_claims_taken", "claims queued from claim files",
                                    registry=r)  # fmt: skip
        self.files_rejected = Counter("gateway_claim_files_rejected",
                                      "claim files sent to spool/rejected", registry=r)  # fmt: skip
        self.claims_submitted = Counter("gateway_claims_submitted",
                                        "claims uploaded in 837s (confirmed)",
                                        registry=r)  # fmt: skip
        self.interchanges_sent = Counter("gateway_interchanges_sent", "837 files uploaded",
                                         registry=r)  # fmt: skip
        self.replies = Counter("gateway_replies_processed", "replies applied", ["kind"],
                               registry=r)  # fmt: skip
        self.quarantined = Counter("gateway_replies_quarantined", "files set aside",
                                   registry=r)  # fmt: skip
        self.payments_posted = Counter("gateway_payments_posted", "835 payments posted",
                                       registry=r)  # fmt: skip
        self.payments_held = Counter("gateway_payments_held", "835 payments held for review",
                                     registry=r)  # fmt: skip
        self.outputs = Counter("gateway_output_records", "records written to the spool",
                               ["kind"], registry=r)  # fmt: skip
        self.failures = Counter("gateway_cycle_failures", "failed steps", registry=r)
        self.partner_up = Gauge("gateway_partner_up", "1 when the last exchange worked",
                                ["partner"], registry=r)  # fmt: skip
        self.claims = Gauge("gateway_claims", "claims in the ledger per state", ["state"],
                            registry=r)  # fmt: skip
        self.cycle_seconds = Histogram("gateway_cycle_seconds", "time of one cycle",
                                       registry=r)  # fmt: skip
        self.worklist = Gauge("gateway_worklist_items", "worklist items per reason", ["reason"],
                              registry=r)  # fmt: skip
        self.oldest_unacknowledged = Gauge(
            "gateway_oldest_unacknowledged_seconds",
            "age of the oldest upload with no 999 yet (0: none waits)", registry=r,
        )  # fmt: skip

    def serve(self, port: int, probes: dict[str, Probe] | None = None) -> ThreadingHTTPServer:
        """Serve /metrics and ``probes`` (path: probe) on 127.0.0.1:``port`` from a thread of
        its own; returns the server (``shutdown()`` stops it)."""
        registry, routes = self.registry, dict(probes or {})

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
                elif path in routes:
                    status, body = routes[path]()
                    self._send(status, "application/json", json.dumps(body).encode() + b"\n")
                else:
                    self._send(404, "text/plain", b"not found: /metrics, " +
                               ", ".join(routes).encode() + b"\n")  # fmt: skip

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Probes every few seconds would drown the daemon's own log lines."""

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
        return server

    def record(
        self,
        report: CycleReport,
        seconds: float,
        health: dict[str, str],
        claims: dict[str, int] | None,
    ) -> None:
        """One cycle's numbers; ``claims``: the claims per state, None when not counted now."""
        self.claims_taken.inc(report.claims_taken)
        self.files_rejected.inc(report.files_rejected)
        self.claims_submitted.inc(report.sent.submitted)
        self.interchanges_sent.inc(len(report.sent.sent))
        for kind, n in report.inbound.processed.items():
            self.replies.labels(kind).inc(n)
        self.quarantined.inc(len(report.inbound.quarantined))
        self.payments_posted.inc(report.inbound.payments_posted)
        self.payments_held.inc(report.inbound.payments_held)
        for kind, n in report.outputs.items():
            self.outputs.labels(kind).inc(n)
        self.failures.inc(len(report.failures))
        for partner, state in health.items():
            if state != "unknown":
                self.partner_up.labels(partner).set(1 if state == "ok" else 0)
        if claims is not None:  # every state: one that dropped to no claims says 0, not its last
            for state in {s.value for s in ClaimState} | set(claims):
                self.claims.labels(state).set(claims.get(state, 0))
        self.cycle_seconds.observe(seconds)
        followup = report.followup
        if followup.worklist is not None:  # counted with the follow-up plan, not every cycle
            for reason in {*REASONS, *followup.worklist}:
                self.worklist.labels(reason).set(followup.worklist.get(reason, 0))
            self.oldest_unacknowledged.set(followup.oldest_unacknowledged_seconds or 0)
