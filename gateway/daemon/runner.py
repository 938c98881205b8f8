"""``gateway run``: the daemon's cycle and its loop.

One cycle: take settled claim files, build and send interchanges, poll partners whose time has
come, process what came back, write the outputs. Every step is guarded: a failing partner or
file is logged and the cycle goes on (one partner down never blocks the others). Each partner's
exchange (build, upload, poll, download) runs in a thread of its own with a deadline
(``partner_jobs``): the cycle waits at most one tick for them, so a partner that hangs delays
the others by one tick at most. SIGTERM and SIGINT let the step in hand finish, then the daemon
exits. One daemon per home: the home's lock file says who runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import FrameType
from typing import IO, Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from gateway.config import (
    ConfigError,
    GatewaySettings,
    PartnerConfig,
    database_url,
    load_partners,
    load_settings,
)
from gateway.daemon.eligibility_steps import EligibilityReport, EligibilitySteps
from gateway.daemon.followup_steps import FollowupSteps
from gateway.daemon.inbound import InboundReport, LedgerUnreachable, fetch, process_inbound
from gateway.daemon.intake import take_claim_files
from gateway.daemon.lease_keeper import LeaseKeeper
from gateway.daemon.metrics import Metrics
from gateway.daemon.next_legs import open_next_legs
from gateway.daemon.outbound import SendReport, build_interchanges, send_outbound
from gateway.daemon.outputs import emit_outputs, output_places
from gateway.daemon.partner_jobs import PartnerJob, PartnerJobs
from gateway.daemon.probes import liveness, readiness
from gateway.daemon.status_outbound import StatusInquiryReport
from gateway.daemon.transports import open_transport
from gateway.files import private_dir, set_aside_unfinished, write_atomic
from gateway.intake.mappings import Mapping, MappingError, load_mappings
from gateway.ledger.db import open_ledger
from gateway.ledger.faults import plain_text
from gateway.ledger.ledger import Ledger
from gateway.transports.errors import TransportError

log = structlog.get_logger("gateway.daemon")
COUNT_CLAIMS_SECONDS = 30.0  # how often the claims-per-state gauge is refreshed
LEGS_MARGIN = timedelta(minutes=10)  # next payers: payments changed this long before a look
STOP_GRACE_SECONDS = 10.0  # how long a stopping daemon lets exchanges in flight finish


def _said(exc: BaseException | str) -> str:
    """An error for logs and partners.json: a ledger error without its SQL and parameters."""
    return plain_text(exc) if isinstance(exc, SQLAlchemyError) else str(exc)


class AlreadyRunning(Exception):
    """Another daemon holds this home's lock."""


@dataclass
class PartnerHealth:
    state: str = "unknown"  # ok, down
    failures: int = 0
    last_error: str = ""
    last_ok: str = ""
    replies: str = "ok"  # or why replies wait in spool/inbound/PARTNER/ (the ledger refused them)
    last_poll: float = 0.0  # monotonic time of the last successful poll
    retry_at: float = 0.0  # monotonic time before which a partner that is down is left alone


@dataclass
class CycleReport:
    ok: bool = True
    failures: list[str] = field(default_factory=list)
    claims_taken: int = 0
    files_rejected: int = 0
    files_waiting: dict[str, float] = field(default_factory=dict)  # not settled: seconds to go
    sent: SendReport = field(default_factory=SendReport)
    inbound: InboundReport = field(default_factory=InboundReport)
    outputs: dict[str, int] = field(default_factory=dict)
    eligibility: EligibilityReport = field(default_factory=EligibilityReport)
    followup: StatusInquiryReport = field(default_factory=StatusInquiryReport)

    def fail(self, what: str) -> None:
        self.ok = False
        self.failures.append(what)

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "failures": self.failures,
            "claims_taken": self.claims_taken,
            "claim_files_rejected": self.files_rejected,
            "claim_files_waiting": self.files_waiting,
            "interchanges_built": len(self.sent.built),
            "claims_batched": self.sent.claims,
            "claims_submitted": self.sent.submitted,
            "interchanges_sent": len(self.sent.sent) + len(self.sent.already_there),
            "replies_fetched": len(self.inbound.fetched),
            "replies_processed": self.inbound.processed,
            "replies_quarantined": len(self.inbound.quarantined),
            "payments_posted": self.inbound.payments_posted,
            "payments_held": self.inbound.payments_held,
            "payments_declined": self.inbound.payments_declined,
            "outputs_written": self.outputs,
            **self.eligibility.summary(),
            "status_inquiries_sent": self.followup.inquiries,
        }


@dataclass
class ExchangeOutcome:
    """What one partner's job did, handed from its thread to the loop."""

    sent: SendReport = field(default_factory=SendReport)
    inbound: InboundReport = field(default_factory=InboundReport)
    failures: list[str] = field(default_factory=list)
    error: BaseException | None = None  # the exchange with the partner failed
    exchanged: bool = False  # talked to the partner, and it went well
    polled_at: float | None = None


def merge_report(into: Any, part: Any) -> None:
    """Add a job's SendReport or InboundReport to the cycle's: lists, counts and tallies."""
    for f in fields(into):
        mine, theirs = getattr(into, f.name), getattr(part, f.name)
        if isinstance(mine, list):
            mine.extend(theirs)
        elif isinstance(mine, dict):  # kind -> count, or partner -> file names
            for key, value in theirs.items():
                if isinstance(value, list):
                    mine.setdefault(key, []).extend(value)
                else:
                    mine[key] = mine.get(key, 0) + value
        else:
            setattr(into, f.name, mine + theirs)


def worker_name(home: Path) -> str:
    """Stable across restarts of the daemon of this home on this host (its leases' owner)."""
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    return f"{socket.gethostname()}:{digest}"


def remove_leftovers(spool: Path) -> list[Path]:
    """Downloads a daemon killed at work left in ``inbound/PARTNER/.incoming/`` (run under the
    home's lock, so none is in use): the partner still has them, they are fetched again. (An
    837 or 270 written halfway is set aside in ``archive/orphans/``, never deleted.)"""
    found = list(spool.glob("inbound/*/.incoming/*"))
    removed = []
    for path in found:
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """Hold ``state/gateway.lock`` while running; a second daemon on the home is refused."""
    path = private_dir(home / "state") / "gateway.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    handle: IO[str] = os.fdopen(fd, "r+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = handle.read().strip() or "another process"
            raise AlreadyRunning(f"a gateway already runs on {home} (pid {holder})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


class Daemon:
    """The gateway of one home."""

    def __init__(
        self,
        home: Path,
        *,
        settings: GatewaySettings | None = None,
        partners: list[PartnerConfig] | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.home = home
        self.settings = settings or load_settings(home)
        self.partners = partners if partners is not None else load_partners(home)
        if not self.partners:
            raise ConfigError(f"{home / 'partners'}: no partner is configured")
        self.spool = home / self.settings.spool.root
        self.ledger = ledger or open_ledger(database_url(home, self.settings))
        self.owner = worker_name(home)
        self.places = output_places(home, self.partners)  # partners' shared outputs folders
        self.health = {p.name: PartnerHealth() for p in self.partners}
        self._health_written: dict[str, dict[str, Any]] = {}
        self.stopping = False
        self.mappings = self._mappings()
        self.metrics = Metrics()
        self._counted_at = -COUNT_CLAIMS_SECONDS
        self.eligibility = EligibilitySteps(self.spool, self.ledger, self.partners, self.settings,
                                            self.mappings, self.owner)  # fmt: skip
        self.followup = FollowupSteps(self.spool, self.ledger, self.partners, self.settings,
                                      self.owner)  # fmt: skip
        self._reply_attempts: dict[str, int] = {}  # file hash -> cycles the ledger refused it
        self.jobs: PartnerJobs[ExchangeOutcome] = PartnerJobs()
        self.last_cycle_end: float | None = None  # monotonic; /readyz says how long ago
        self._legs_since: datetime | None = None  # next payers: payments changed since then

    def _mappings(self) -> list[Mapping]:
        try:
            found = load_mappings(self.home / "mappings")
        except MappingError as exc:
            raise ConfigError(str(exc)) from exc
        wanted = set(self.settings.intake.mappings)
        return [m for m in found if not wanted or m.name in wanted]

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        """Finish the step in hand, then leave (SIGTERM, SIGINT)."""
        if not self.stopping:
            log.info("daemon_stopping", signal=signum)
        self.stopping = True

    def _stop_requested(self) -> bool:
        return self.stopping

    # -- one cycle -------------------------------------------------------------------------

    def cycle(self, *, once: bool = False) -> CycleReport:
        started = time.monotonic()
        report = self._cycle(once)
        claims: dict[str, int] | None = None
        if started - self._counted_at >= COUNT_CLAIMS_SECONDS:  # a full count is not free
            self._counted_at = started
            try:
                claims = self.ledger.count_claims()
            except Exception:  # the ledger is down: the step failures already say so
                claims = None
        health = {name: h.state for name, h in self.health.items()}
        self.last_cycle_end = time.monotonic()
        self.metrics.record(report, self.last_cycle_end - started, health, claims)
        return report

    def _cycle(self, once: bool) -> CycleReport:
        report = CycleReport()
        started = self.jobs.clock()
        self._step(report, "intake", self._intake, report)
        self._step(report, "eligibility intake", self.eligibility.intake, report.eligibility)
        for partner in self.partners:  # 270s are built here; their partner's job uploads them
            if self.stopping:
                break
            self._step(report, f"270s for {partner.name}", self.eligibility.build, partner,
                       report.eligibility, once=once, stop=self._stop_requested)  # fmt: skip
        self._step(report, "276s", self.followup.run, report.followup, once=once,
                   stop=self._stop_requested)  # fmt: skip
        jobs = [
            self._start_exchange(partner, once=once)
            for partner in self.partners
            if not self.stopping and not self.jobs.busy(partner.name)
        ]  # a partner whose job of an earlier cycle still runs is left to it
        self.jobs.wait(jobs, until=None if once else started + self.settings.daemon.tick_seconds)
        self._collect(report)
        for partner in self.partners:
            if self.stopping:
                break
            self._step(report, f"replies of {partner.name}", self._replies, partner.name, report)
        legs_from = datetime.now(UTC) - LEGS_MARGIN  # a slow transaction commits late
        if self._step(report, "next payers", open_next_legs, self.ledger, self.partners,
                      crossover_days=self.settings.followup.crossover_days,
                      since=self._legs_since) is not None:  # fmt: skip
            self._legs_since = legs_from  # then only what changed since: all of it at start
        batch = self.settings.daemon.output_batch
        outputs = self._step(report, "outputs", emit_outputs, self.spool, self.ledger,
                             owner=self.owner, batch_size=batch, places=self.places,
                             partners=[p.name for p in self.partners])  # fmt: skip
        report.outputs = outputs or {}
        self._step(report, "unanswered requests", self.eligibility.overdue, report.eligibility)
        # what this cycle wrote, into the kept follow-up facts (the pages then read them as is)
        self._step(report, "follow-up facts", self.ledger.refresh_followup_facts)
        self._write_health()
        return report

    def _step(self, report: CycleReport, what: str, func: Callable[..., Any], *args: Any,
              **kwargs: Any) -> Any:  # fmt: skip
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            log.exception("step_failed", step=what, error=_said(exc))
            report.fail(f"{what}: {_said(exc)}")
            return None

    def _intake(self, report: CycleReport) -> None:
        result = take_claim_files(
            self.home, self.ledger, self.partners, mappings=self.mappings,
            settle_seconds=self.settings.intake.settle_seconds, spool=self.spool,
        )  # fmt: skip
        report.claims_taken += len(result.taken)
        report.files_rejected += len(result.rejected_files)
        report.files_waiting.update(result.waiting)

    def _replies(self, partner: str, report: CycleReport) -> None:
        """Process the partner's replies; partners.json says when some wait for the ledger."""
        health = self.health[partner]
        try:
            process_inbound(self.spool, self.ledger, partner, report.inbound,
                            self._stop_requested, self._reply_attempts)  # fmt: skip
        except LedgerUnreachable as exc:
            health.replies = f"waiting: {exc}"
            log.error("replies_wait", partner=partner, why=str(exc))
            report.fail(f"replies of {partner}: {exc}")
            return
        waiting = report.inbound.waiting.get(partner, [])
        health.replies = (
            f"waiting: the ledger refused {', '.join(waiting)} this cycle (tried again next cycle)"
            if waiting
            else "ok"
        )

    def _start_exchange(self, partner: PartnerConfig, *, once: bool) -> PartnerJob[ExchangeOutcome]:
        health, now = self.health[partner.name], time.monotonic()
        may_connect = once or now >= health.retry_at  # down: its own backoff, in its own job
        poll_due = once or now - health.last_poll >= partner.schedule.poll_seconds
        work = partial(self._exchange, partner, once=once, may_connect=may_connect,
                       poll_due=poll_due)  # fmt: skip
        return self.jobs.start(partner.name, self.settings.daemon.exchange_seconds, work)

    def _exchange(self, partner: PartnerConfig, job: PartnerJob[ExchangeOutcome], *, once: bool,
                  may_connect: bool, poll_due: bool) -> ExchangeOutcome:  # fmt: skip
        """One partner's job, in its own thread: build its interchanges, then (when it is not
        waiting out a backoff) upload them and, when its poll is due, download its replies."""
        out = ExchangeOutcome()

        def stop() -> bool:
            return self.stopping or job.was_cut

        try:
            build_interchanges(self.spool, self.ledger, partner, owner=self.owner,
                               lease_seconds=self.settings.daemon.lease_seconds, once=once,
                               report=out.sent, stop=stop)  # fmt: skip
        except Exception as exc:
            log.exception("step_failed", step=f"build for {partner.name}", error=_said(exc))
            out.failures.append(f"build for {partner.name}: {_said(exc)}")
        outbound = self.spool / "outbound" / partner.name
        has_outbound = outbound.is_dir() and any(
            not p.name.startswith(".") for p in outbound.iterdir()
        )
        if not may_connect or not (poll_due or has_outbound) or stop():
            return out
        try:
            with job.guard(open_transport(self.home, partner)) as transport:
                send_outbound(self.spool, self.ledger, partner, transport, out.sent)
                if poll_due and not stop():
                    fetch(self.spool, self.ledger, partner, transport, out.inbound, stop)
                    out.polled_at = time.monotonic()
        except Exception as exc:
            if not isinstance(exc, (TransportError, ConfigError, OSError)):  # a bug: its trace
                log.exception("step_failed", step=f"exchange with {partner.name}",
                              error=_said(exc))  # fmt: skip
            out.error = exc
            return out
        out.exchanged = True
        return out

    def _collect(self, report: CycleReport) -> None:
        """Take in the jobs that ended and the ones cut at their deadline (in this thread, the
        only one that changes the partners' health)."""
        for job in self.jobs.take_cut():
            log.warning("exchange_cut", partner=job.partner, why=job.cut_reason)
            self._partner_failed(job.partner, job.cut_reason or "cut", report)
        for job in self.jobs.take_finished():
            try:
                out = job.future.result()
            except Exception as exc:  # a bug outside the guarded steps
                log.error("step_failed", step=f"exchange with {job.partner}", error=repr(exc))
                report.fail(f"exchange with {job.partner}: {_said(exc)}")
                continue
            merge_report(report.sent, out.sent)
            merge_report(report.inbound, out.inbound)
            for failure in out.failures:
                report.fail(failure)
            health = self.health[job.partner]
            if out.polled_at is not None:
                health.last_poll = out.polled_at
            if job.was_cut:
                continue  # reported when it was cut
            if out.error is not None:
                self._partner_failed(job.partner, out.error, report)
            elif out.exchanged:
                self._partner_ok(job.partner, out.inbound.not_moved.get(job.partner, []))

    def _partner_ok(self, partner: str, not_moved: list[str]) -> None:
        health = self.health[partner]
        if health.state != "ok":
            log.info("partner_health", partner=partner, state="ok", previous=health.state)
        health.state, health.failures = "ok", 0
        health.last_error = (  # replies still come in: said, but the partner is not down
            f"{len(not_moved)} reply(ies) could not be moved after download, "
            f"so they are fetched again: {not_moved[0]}"
            if not_moved
            else ""
        )
        health.last_ok = datetime.now(UTC).isoformat(timespec="seconds")

    def _partner_failed(self, partner: str, exc: BaseException | str, report: CycleReport) -> None:
        health = self.health[partner]
        health.failures += 1
        health.last_error = _said(exc)
        retry = next(p.retry for p in self.partners if p.name == partner)
        pause = min(retry.max_seconds, retry.initial_seconds * 2 ** min(health.failures, 16))
        health.retry_at = time.monotonic() + pause
        if health.state != "down":
            log.warning("partner_health", partner=partner, state="down", previous=health.state,
                        error=_said(exc))  # fmt: skip
        health.state = "down"
        report.fail(f"partner {partner}: {_said(exc)}")

    def _write_health(self) -> None:
        shown = ("state", "failures", "last_error", "last_ok", "replies")
        document = {name: {k: getattr(h, k) for k in shown} for name, h in self.health.items()}
        if document != self._health_written:  # most ticks change nothing: no write
            write_atomic(self.home / "state" / "partners.json",
                         json.dumps(document, indent=2, default=str).encode())  # fmt: skip
            self._health_written = document

    # -- running ---------------------------------------------------------------------------

    def run(self, *, once: bool = False) -> int:
        """Run until stopped (or one cycle with ``once``); the exit code."""
        with home_lock(self.home):
            for path in remove_leftovers(self.spool):
                log.info("leftover_removed", file=str(path.relative_to(self.spool)),
                         why="a temporary file of a daemon that was stopped at work")  # fmt: skip
            dropped = self.ledger.release_owner_leases(self.owner)
            if dropped:
                log.info("leases_taken_back", count=dropped, worker=self.owner)
            for partner in self.partners:  # 837s and 270s whose writing a kill cut short
                for path in set_aside_unfinished(
                    self.spool / "outbound" / partner.name,
                    self.spool / "archive" / "orphans" / partner.name,
                ):
                    log.warning("unfinished_file_set_aside", partner=partner.name, file=path.name)
            main = threading.current_thread() is threading.main_thread()
            signals = (signal.SIGTERM, signal.SIGINT) if main else ()  # embedded: call stop()
            previous = {s: signal.signal(s, self.stop) for s in signals}
            keeper = LeaseKeeper(self.ledger, self.owner, self.settings.daemon.lease_seconds)
            keeper.start()  # leases renewed while this daemon works, whatever the step
            try:
                return self._run(once)
            finally:
                keeper.stop()
                for s, handler in previous.items():
                    signal.signal(s, handler)

    def _run(self, once: bool) -> int:
        log.info("daemon_started", home=str(self.home), partners=[p.name for p in self.partners],
                 once=once, worker=self.owner)  # fmt: skip
        port = self.settings.metrics.port
        probes = {"/healthz": self._healthz, "/readyz": self._readyz}
        server = self.metrics.serve(port, probes) if port and not once else None
        if server is not None:
            log.info("metrics_served", url=f"http://127.0.0.1:{port}/metrics")
        try:
            return self._loop(once)
        finally:
            if server is not None:
                server.shutdown()

    def _healthz(self) -> tuple[int, dict[str, Any]]:
        return liveness(stopping=self.stopping)

    def _readyz(self) -> tuple[int, dict[str, Any]]:
        return readiness(self.ledger, last_cycle_end=self.last_cycle_end, now=time.monotonic(),
                         limit=self.settings.metrics.max_cycle_age_seconds)  # fmt: skip

    def _loop(self, once: bool) -> int:
        if once:
            report = self.cycle(once=True)
            log.info("cycle_done", **report.summary())
            return 0 if report.ok or self.stopping else 1
        while not self.stopping:
            report = self.cycle()
            if not report.ok or report.sent.built or report.inbound.fetched:
                log.info("cycle_done", **report.summary())
            deadline = time.monotonic() + self.settings.daemon.tick_seconds
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.1)
        self._finish_jobs()
        log.info("daemon_stopped")
        return 0

    def _finish_jobs(self) -> None:
        """Let the exchanges in flight finish their step (a while), then cut what is left."""
        running = list(self.jobs.running.values())
        self.jobs.wait(running, until=self.jobs.clock() + STOP_GRACE_SECONDS)
        self.jobs.cut_all("the daemon is stopping")
        self.jobs.wait(running)
        self._collect(CycleReport())
        self._write_health()
