"""Claims this process validated at intake, found again by the text the ledger keeps of them.

Intake validates and checks each claim record before it queues it, and the ledger stores the
record as the validated claim dumped it (``model_dump_json``). The build reads that very text back
moments later, in the same process, to write the 837: validating it again cost a quarter of the
build (some 80 µs a claim) and could find nothing new, since a claim validated from its own dump
equals it (tests/daemon/test_claim_memo.py). So intake leaves the claims it queued here, keyed by
the exact text stored, and the build takes them out; a text not found here (another daemon's
claim, one queued before a restart, a record written by another path) is validated as before.
The key is a 128-bit BLAKE2 digest of the whole text, so a claim is never taken for another
content, and the texts themselves (some 3 KiB a claim) are not held.

At most ``LIMIT`` claims wait (the oldest are dropped first: they are validated again if built
later), and the build takes each one out: a claim is held from its intake to its build only.
"""

from __future__ import annotations

import hashlib
import threading

from gateway.domain.claim import Claim

LIMIT = 10_000  # two full 837s (5,000 claims each); some 5 KiB a claim


class ClaimMemo:
    """Validated claims by the JSON text they were stored as (thread-safe: intake runs in the
    daemon's thread, the builds in the partners' threads)."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._claims: dict[bytes, Claim] = {}
        self._lock = threading.Lock()

    def keep(self, text: str, claim: Claim) -> None:
        """``claim`` was stored as ``text`` (its ``model_dump_json()``)."""
        with self._lock:
            self._claims[_key(text)] = claim
            while len(self._claims) > self.limit:
                del self._claims[next(iter(self._claims))]

    def take(self, text: str) -> Claim:
        """The claim stored as ``text``: the one kept for it (taken out), else validated."""
        with self._lock:
            claim = self._claims.pop(_key(text), None)
        return Claim.model_validate_json(text) if claim is None else claim

    def __len__(self) -> int:
        return len(self._claims)


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


MEMO = ClaimMemo()  # the process's: intake keeps, the build takes
