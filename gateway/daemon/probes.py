"""What ``/healthz`` and ``/readyz`` answer, for a supervisor, a container engine or a balancer.

``/healthz``: the daemon's process is up and its loop has not been told to stop (restart it if
this fails). ``/readyz``: it can do its work: the ledger answers, and the last cycle ended less
than ``[metrics] max_cycle_age_seconds`` ago (a loop stuck on something does not pass). Each
answers 200 or 503 with a small JSON body saying which check failed; never a secret (a database
error is reduced to its first line, which names the host, not the password).
"""

from __future__ import annotations

from typing import Any

from gateway.ledger.ledger import Ledger


def ledger_problem(ledger: Ledger) -> str | None:
    """Why the ledger does not answer ``SELECT 1``, or None. A bare DBAPI connection: on SQLite
    no transaction is opened, so a probe never waits for the write lock."""
    try:
        raw = ledger.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            cursor.close()
        finally:
            raw.close()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        return f"{type(exc).__name__}: {first}"
    return None


def liveness(*, stopping: bool) -> tuple[int, dict[str, Any]]:
    if stopping:
        return 503, {"status": "stopping"}
    return 200, {"status": "alive"}


def readiness(
    ledger: Ledger, *, last_cycle_end: float | None, now: float, limit: float
) -> tuple[int, dict[str, Any]]:
    problems = []
    body: dict[str, Any] = {"max_cycle_age_seconds": limit}
    trouble = ledger_problem(ledger)
    body["ledger"] = trouble or "ok"
    if trouble:
        problems.append("the ledger does not answer")
    if last_cycle_end is None:
        body["last_cycle_age_seconds"] = None
        problems.append("no cycle has finished yet")
    else:
        age = round(now - last_cycle_end, 3)
        body["last_cycle_age_seconds"] = age
        if age > limit:
            problems.append(f"the last cycle ended {age:g} s ago (limit {limit:g} s)")
    body["status"] = "not ready" if problems else "ready"
    if problems:
        body["problems"] = problems
    return (503 if problems else 200), body
