"""The partner jobs' supervisor: one job per partner, deadlines on an injected clock, cuts that
stop a transport for good. (The real thing, a frozen sshd, is in test_partner_isolation.py.)"""

from __future__ import annotations

import contextvars
import threading
import time
from pathlib import Path

import pytest
import structlog

from gateway.config import RetryConfig
from gateway.daemon.partner_jobs import ExchangeCut, PartnerJob, PartnerJobs
from gateway.transports.directory import DirectoryTransport
from gateway.transports.errors import PermanentTransportError
from gateway.transports.retry import call_with_retries


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _until_cut(job: PartnerJob[str]) -> str:
    while not job.was_cut:
        time.sleep(0.005)
    return "noticed"


def test_a_job_is_cut_at_its_deadline_not_before() -> None:
    clock = Clock()
    jobs: PartnerJobs[str] = PartnerJobs(clock)
    job = jobs.start("acme", 10, _until_cut)
    assert jobs.busy("acme") and job.deadline == 1010.0
    with pytest.raises(RuntimeError, match="already has an exchange in flight"):
        jobs.start("acme", 10, _until_cut)
    clock.now = 1009.9
    jobs.wait([job], until=clock.now)  # the wait's own bound, not the deadline
    assert jobs.take_cut() == [] and not job.was_cut
    clock.now = 1010.0
    assert jobs.take_cut() == [job]
    assert job.cut_reason is not None and "took longer than 10 s" in job.cut_reason
    jobs.wait([job])
    assert job.future.result(timeout=5) == "noticed"
    assert jobs.take_finished() == [job] and not jobs.busy("acme")
    assert jobs.take_cut() == []  # reported once


def test_a_wait_returns_when_the_jobs_end_or_the_bound_comes() -> None:
    jobs: PartnerJobs[str] = PartnerJobs()
    gate = threading.Event()
    slow = jobs.start("slow", 600, lambda job: "late" if gate.wait(30) else "never")
    fast = jobs.start("fast", 600, lambda job: "done")
    jobs.wait([fast])
    assert fast.future.result() == "done" and not slow.future.done()
    jobs.wait([slow, fast], until=time.monotonic() + 0.1)
    assert not slow.future.done()
    assert jobs.take_finished() == [fast] and jobs.busy("slow") and not jobs.busy("fast")
    gate.set()
    jobs.wait([slow])
    assert [j.future.result() for j in jobs.take_finished()] == ["late"]


def test_an_error_in_a_job_reaches_the_supervisor() -> None:
    jobs: PartnerJobs[str] = PartnerJobs()

    def broken(job: PartnerJob[str]) -> str:
        raise ValueError("a bug")

    job = jobs.start("acme", 60, broken)
    jobs.wait([job])
    [done] = jobs.take_finished()
    with pytest.raises(ValueError, match="a bug"):
        done.future.result()


def test_a_job_runs_in_the_context_of_the_thread_that_started_it() -> None:
    request = contextvars.ContextVar[str]("request", default="none")
    request.set("cycle-7")
    structlog.contextvars.bind_contextvars(cycle=7)
    try:
        jobs: PartnerJobs[str] = PartnerJobs()

        def seen(job: PartnerJob[str]) -> str:
            bound = structlog.contextvars.get_contextvars()
            return f"{request.get()} {bound.get('cycle')} {threading.current_thread().name}"

        job = jobs.start("acme", 60, seen)
        jobs.wait([job])
        assert job.future.result() == "cycle-7 7 exchange-acme"
    finally:
        structlog.contextvars.unbind_contextvars("cycle")


def test_a_cut_transport_refuses_every_call_and_is_not_retried(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "reply.x12").write_text("ISA")
    jobs: PartnerJobs[str] = PartnerJobs()
    gate = threading.Event()
    job = jobs.start("acme", 600, lambda job: "kept" if gate.wait(30) else "never")
    transport = job.guard(DirectoryTransport(tmp_path / "in", tmp_path / "out", settle_seconds=0))
    assert [f.name for f in transport.list()] == ["reply.x12"]  # a live transport passes through
    jobs.cut_all("the daemon is stopping")
    calls = []

    def listing() -> object:
        calls.append(1)
        return transport.list()

    quick = RetryConfig(attempts=5, initial_seconds=0.01, max_seconds=0.01)
    with pytest.raises(ExchangeCut, match="the daemon is stopping"):
        call_with_retries(listing, quick, partner="acme", operation="list")
    assert len(calls) == 1 and issubclass(ExchangeCut, PermanentTransportError)
    late = job.guard(DirectoryTransport(tmp_path / "in", tmp_path / "out"))
    with pytest.raises(ExchangeCut):  # a transport opened after the cut is cut at once
        late.exists("reply.x12")
    gate.set()
    jobs.wait([job])
    assert job.future.result() == "kept"
