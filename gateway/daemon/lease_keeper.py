"""The daemon's heartbeat: its leases renewed while it works.

A lease must outlive the longest step done under it (a big 837 built, a slow ledger), yet run
out soon after its daemon dies or stalls, so another daemon takes the work over. The keeper
renews every lease of the daemon every third of the lease time, from a thread of its own, so a
long step never loses its lease while the process runs. A stopped process (SIGSTOP, a paused
VM) stops its keeper too: its leases run out, and the fencing token checked when the work is
written keeps it from writing what another daemon has since taken.
"""

from __future__ import annotations

import threading

import structlog
from sqlalchemy.exc import SQLAlchemyError

from gateway.ledger.faults import plain_text
from gateway.ledger.ledger import Ledger

log = structlog.get_logger("gateway.daemon")


class LeaseKeeper:
    """Renews ``owner``'s leases to ``lease_seconds`` from now, every third of that."""

    def __init__(self, ledger: Ledger, owner: str, lease_seconds: float) -> None:
        self.ledger = ledger
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.interval = lease_seconds / 3
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.beats = 0

    def beat(self) -> int:
        """Renew now; how many leases were renewed (a ledger that does not answer: logged,
        tried again at the next beat, while the leases still have two thirds to run)."""
        try:
            renewed = self.ledger.renew_leases(self.owner, self.lease_seconds)
        except SQLAlchemyError as exc:
            log.warning("leases_not_renewed", worker=self.owner, error=plain_text(exc))
            return 0
        self.beats += 1
        return renewed

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
