"""What the 270 and 276 legs share: questions leased together, built into files, one per
batch, each recorded under the lease's fencing token.

Per file (``build_file``): control numbers are reserved, the interchange written under a
temporary name and renamed into ``spool/outbound/PARTNER/``, then recorded by the ledger in one
transaction (a file whose record fails is removed: its questions stay queued). Per lease
(``build_leased``): a lease lost to another daemon (this one stalled past it) stops the leg
with ``lease_lost``; any other failure gives back what was not built yet and is raised.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO, TypeVar

import structlog

from gateway.config import PartnerConfig
from gateway.daemon.outbound import envelope_for
from gateway.files import private_dir, sha256_of, write_atomic
from gateway.ledger.ledger import Leased, LeaseLost, Ledger
from gateway.transactions.claim_837 import Envelope

log = structlog.get_logger("gateway.exchange")

Question = TypeVar("Question")


def held_in_full(
    ledger: Ledger, leased: Leased, found: int, owner: str, key_of: Callable[[str], str],
    what: str,
) -> None:  # fmt: skip
    """Every leased question was read back (``found`` of them): never send one the ledger
    does not hold; else the leases are given back and RuntimeError raised."""
    if found != len(leased):
        ledger.release_leases(leased, owner, key_of=key_of)
        raise RuntimeError(f"{len(leased) - found} leased {what} vanished")


def build_file(
    spool: Path,
    ledger: Ledger,
    partner: PartnerConfig,
    *,
    name_of: Callable[[str, int], str],
    write: Callable[[TextIO, Envelope], None],
    record: Callable[[int, int, str, str], object],
) -> tuple[str, int]:
    """Write one interchange (``write``) and record it (``record(isa13, gs06, name, sha256)``);
    its file name and ISA13. The file is removed when the record fails."""
    control, group = ledger.reserve_control_numbers(partner.name)
    name = name_of(partner.name, control)
    path = private_dir(spool / "outbound" / partner.name) / name
    text = io.StringIO()
    write(text, envelope_for(partner, control, group, datetime.now()))
    write_atomic(path, text.getvalue().encode("ascii"))
    try:
        record(control, group, name, sha256_of(path))
    except Exception:
        path.unlink(missing_ok=True)  # nothing recorded: the questions stay queued
        raise
    return name, control


def build_leased(
    ledger: Ledger,
    partner: str,
    owner: str,
    leased: Leased,
    files: Sequence[Sequence[Question]],
    *,
    id_of: Callable[[Question], str],
    key_of: Callable[[str], str],
    build: Callable[[Sequence[Question], int], str],
    built: Callable[[str, int], None],
    counted: str,
) -> bool:
    """Build ``files`` (each the questions of one file, all of ``leased``): ``build(questions,
    token)`` writes and records one, its name, told to ``built(name, count)``. False when the
    lease was lost (logged ``lease_lost`` with the ``counted`` questions not built)."""
    pending = list(leased)
    for questions in files:
        try:
            name = build(questions, leased.token)
        except LeaseLost as exc:  # stalled past the lease: another daemon sends them
            log.warning("lease_lost", partner=partner, why=str(exc), **{counted: len(pending)})
            ledger.release_leases(pending, owner, key_of=key_of)  # what is still ours
            return False
        except Exception:
            ledger.release_leases(pending, owner, key_of=key_of)  # they stay queued
            raise
        done = {id_of(q) for q in questions}
        pending = [p for p in pending if p not in done]
        built(name, len(questions))
    return True
