"""Each partner's exchange in a thread of its own, with a deadline.

A partner whose server hangs (a frozen sshd accepts the connection and never says a word) holds
up only its own thread. The loop starts at most one job per partner, waits at most one tick for
the jobs it started, and collects a job that is still running in a later cycle. A job past its
deadline is cut: its transports refuse every further call (:class:`ExchangeCut`, which is not
retried) and are closed under the call in hand, which ends that call. What the job did before
is kept: every leg of an exchange is crash-safe, so a cut is one more crash it survives.

Each job runs in a copy of the starting thread's context, so context bound for structured logs
(``structlog.contextvars``) follows it into its thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from gateway.transports.base import ClosesOnExit, RemoteFile, Transport, TransportCheck
from gateway.transports.errors import PermanentTransportError

T = TypeVar("T")
CUT_GRACE_SECONDS = 5.0  # how long a cut job may take to notice before it is left to itself
POLL_SECONDS = 0.05  # how often a wait looks at deadlines


class ExchangeCut(PermanentTransportError):
    """The exchange ran past its deadline; its connection was closed."""


class CuttableTransport(ClosesOnExit):
    """A transport that a supervisor can cut from another thread."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.cut_reason: str | None = None

    def cut(self, why: str) -> None:
        self.cut_reason = why
        with contextlib.suppress(Exception):  # closing under a call in hand may fail any way
            self.inner.close()

    def _check(self) -> None:
        if self.cut_reason is not None:
            raise ExchangeCut(self.cut_reason)

    def put(self, local: Path, name: str) -> None:
        self._check()
        self.inner.put(local, name)

    def exists(self, name: str) -> bool:
        self._check()
        return self.inner.exists(name)

    def list(self, patterns: tuple[str, ...] = ("*",)) -> list[RemoteFile]:
        self._check()
        return self.inner.list(patterns)

    def get(self, name: str, folder: Path) -> Path:
        self._check()
        return self.inner.get(name, folder)

    def done(self, name: str, how: str) -> None:
        self._check()
        self.inner.done(name, how)

    def check(self) -> TransportCheck:
        self._check()
        return self.inner.check()

    def close(self) -> None:
        self.inner.close()


@dataclass(eq=False)
class PartnerJob(Generic[T]):
    """One partner's exchange in flight."""

    partner: str
    started: float
    deadline: float
    future: Future[T] = field(default_factory=Future)
    cut_reason: str | None = None
    cut_at: float = 0.0
    transports: list[CuttableTransport] = field(default_factory=list)

    def guard(self, transport: Transport) -> CuttableTransport:
        """``transport``, cuttable by the supervisor (cut at once if the job already is)."""
        guarded = CuttableTransport(transport)
        self.transports.append(guarded)
        if self.cut_reason is not None:
            guarded.cut(self.cut_reason)
        return guarded

    def cut(self, why: str, now: float) -> None:
        self.cut_reason, self.cut_at = why, now
        for transport in self.transports:
            transport.cut(why)

    @property
    def was_cut(self) -> bool:
        return self.cut_reason is not None


class PartnerJobs(Generic[T]):
    """At most one job per partner, each in its own daemon thread (a hung one never blocks the
    process from exiting). Only the supervising thread calls these methods."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.running: dict[str, PartnerJob[T]] = {}
        self._cut: list[PartnerJob[T]] = []

    def busy(self, partner: str) -> bool:
        return partner in self.running

    def start(
        self, partner: str, seconds: float, work: Callable[[PartnerJob[T]], T]
    ) -> PartnerJob[T]:
        """Run ``work(job)`` in a new thread; the job is cut ``seconds`` from now."""
        if partner in self.running:
            raise RuntimeError(f"partner {partner} already has an exchange in flight")
        now = self.clock()
        job: PartnerJob[T] = PartnerJob(partner, now, now + seconds)
        context = contextvars.copy_context()

        def body() -> None:
            try:
                result = context.run(work, job)
            except BaseException as exc:  # handed to the supervisor, who reports it
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)

        self.running[partner] = job
        job.future.set_running_or_notify_cancel()
        threading.Thread(target=body, name=f"exchange-{partner}", daemon=True).start()
        return job

    def cut_overdue(self) -> None:
        now = self.clock()
        for job in self.running.values():
            if not job.was_cut and not job.future.done() and now >= job.deadline:
                seconds = job.deadline - job.started
                job.cut(f"the exchange with {job.partner} took longer than {seconds:g} s "
                        "([daemon] exchange_seconds): its connection was closed", now)  # fmt: skip
                self._cut.append(job)

    def cut_all(self, why: str) -> None:
        now = self.clock()
        for job in self.running.values():
            if not job.was_cut and not job.future.done():
                job.cut(why, now)
                self._cut.append(job)

    def wait(self, jobs: Iterable[PartnerJob[T]], until: float | None = None) -> None:
        """Until ``jobs`` are done, or ``until`` (on :attr:`clock`) has come; jobs are cut at
        their deadlines meanwhile, and a cut job that does not end within the grace is left."""
        pending = [job for job in jobs if not job.future.done()]
        while pending:
            self.cut_overdue()
            now = self.clock()
            if until is not None and now >= until:
                return
            pending = [
                job
                for job in pending
                if not job.future.done()
                and not (job.was_cut and now >= job.cut_at + CUT_GRACE_SECONDS)
            ]
            if pending:  # short sleeps: a deadline or ``until`` may come first
                wait_futures([j.future for j in pending], POLL_SECONDS, FIRST_COMPLETED)

    def take_cut(self) -> list[PartnerJob[T]]:
        """Jobs cut since the last call (still running or not)."""
        self.cut_overdue()
        cut, self._cut = self._cut, []
        return cut

    def take_finished(self) -> list[PartnerJob[T]]:
        """Jobs that ended since the last call; their partners are free again."""
        done = [job for job in self.running.values() if job.future.done()]
        for job in done:
            del self.running[job.partner]
        return done
