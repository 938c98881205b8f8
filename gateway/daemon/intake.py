"""Intake: settled claim files from ``spool/claims/`` into the ledger, queued.

A file is taken once it has settled (contract section 1). Its good claims are queued even when
others in it are bad; a file with any problem goes to ``spool/rejected/`` beside
``NAME.errors.json`` (every problem: claim, field, message, and which claims were taken), a clean
one to ``spool/archive/claims/``. Nothing is deleted.

Crash safety: claims are written to the ledger before the file moves. If the gateway dies in
between, the next pass reads the file again and finds its claims already there with the same
content: they count as taken, not as duplicates.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from gateway.config import PartnerConfig
from gateway.daemon.status import status_record
from gateway.domain.claim import Claim
from gateway.domain.problems import Problem
from gateway.files import private_dir, write_atomic
from gateway.intake.claim_files import CLAIM_SUFFIXES, ClaimFile, read_claim_file
from gateway.intake.mappings import Mapping
from gateway.ledger.faults import is_unreachable, plain_text
from gateway.ledger.ledger import DuplicateClaim, Ledger, OutboxItem

log = structlog.get_logger("gateway.intake")
_INTERNAL_ERROR = (
    "could not be taken: an internal error, logged as claim_file_failed with its traceback "
    "(please report it)"
)


@dataclass
class IntakeReport:
    taken: list[str] = field(default_factory=list)  # claim ids queued (or found queued)
    rejected_files: list[str] = field(default_factory=list)
    archived_files: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # not settled yet


def route(claim: Claim, partners: list[PartnerConfig]) -> str | None:
    """The partner a claim goes to: its own ``partner``, else by payer id, else the ``*`` one."""
    if claim.partner is not None:
        return claim.partner if any(p.name == claim.partner for p in partners) else None
    for p in partners:
        if claim.payer.id in p.payers:
            return p.name
    return next((p.name for p in partners if "*" in p.payers), None)


def settled(
    folder: Path, settle_seconds: float, now: float | None = None
) -> tuple[list[Path], list[Path]]:
    """Claim files ready to take, and those still being written (changed too recently)."""
    now = time.time() if now is None else now
    ready: list[Path] = []
    waiting: list[Path] = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        name = path.name
        if name.startswith(".") or name.endswith((".tmp", ".part")) or not path.is_file():
            continue
        if path.suffix.lower() not in CLAIM_SUFFIXES:
            continue
        (ready if now - path.stat().st_mtime >= settle_seconds else waiting).append(path)
    return ready, waiting


def _queued_status(claim: Claim, partner: str, file: str) -> Callable[[int], list[OutboxItem]]:
    def records(version: int) -> list[OutboxItem]:
        return [status_record(
            event="queued", claim_id=claim.claim_id, version=version, partner=partner,
            source="intake", cause="intake", file=file, kind=claim.kind,
            frequency=claim.frequency,
        )]  # fmt: skip

    return records


def _record(claim: Claim) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(claim.model_dump_json())
    return data


def take_claim_files(
    home: Path,
    ledger: Ledger,
    partners: list[PartnerConfig],
    *,
    mappings: list[Mapping] | None = None,
    settle_seconds: float = 5.0,
    today: date | None = None,
    spool: Path | None = None,
) -> IntakeReport:
    """One intake pass over ``spool/claims/``."""
    spool = spool or home / "spool"
    report = IntakeReport()
    ready, waiting = settled(spool / "claims", settle_seconds)
    report.waiting = [p.name for p in waiting]
    for path in ready:
        try:
            result = read_claim_file(path, today=today, mappings=mappings)
        except Exception:  # a bug: this file is rejected alone, the others are still taken
            log.exception("claim_file_failed", file=path.name)
            result = ClaimFile(path, problems=[Problem(_INTERNAL_ERROR, file=path.name)])
        problems = list(result.problems)
        taken: list[str] = []
        for claim in result.claims:
            partner = route(claim, partners)
            if partner is None:
                problems.append(Problem(
                    f"no partner takes payer {claim.payer.id!r} (add it to a partner's payers, "
                    "or mark one partner with \"*\")", "payer.id", claim.claim_id, path.name,
                ))  # fmt: skip
                continue
            try:
                version = ledger.add_claim(
                    _record(claim), kind=claim.kind, partner=partner, payer_id=claim.payer.id,
                    outbox_records=_queued_status(claim, partner, path.name),
                )  # fmt: skip
            except DuplicateClaim as exc:
                stored = ledger.claim(claim.claim_id)
                if stored is not None and stored.record == _record(claim):
                    taken.append(claim.claim_id)  # ours, from a pass that died before the move
                    continue
                problems.append(Problem(str(exc), "claim_id", claim.claim_id, path.name))
                continue
            except SQLAlchemyError as exc:
                if is_unreachable(exc) and not ledger.reachable():
                    raise  # the ledger is down: the file stays for the next cycle
                problems.append(Problem(f"the ledger cannot hold this claim ({plain_text(exc)})",
                                        None, claim.claim_id, path.name))  # fmt: skip
                continue
            taken.append(claim.claim_id)
            log.info("claim_queued", claim_id=claim.claim_id, version=version, file=path.name,
                     partner=partner)  # fmt: skip
        report.taken.extend(taken)
        if problems:
            _reject(spool, path, problems, taken)
            report.rejected_files.append(path.name)
            log.warning("claim_file_rejected", file=path.name, problems=len(problems),
                        claims_taken=len(taken))  # fmt: skip
        else:
            _move(path, spool / "archive" / "claims")
            report.archived_files.append(path.name)
    return report


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _move(path: Path, folder: Path) -> Path:
    target = private_dir(folder) / f"{_stamp()}-{path.name}"
    os.replace(path, target)
    os.chmod(target, 0o600)  # dropped in with any mode: private once the gateway keeps it
    return target


def _reject(spool: Path, path: Path, problems: list[Problem], taken: list[str]) -> None:
    folder = private_dir(spool / "rejected")
    name = path.name if not (folder / path.name).exists() else f"{_stamp()}-{path.name}"
    report = {
        "file": path.name,
        "rejected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "problems": [
            {k: v for k, v in p.as_dict().items() if k != "file"} for p in problems
        ],
        "claims_taken": taken,
        "note": (
            "the claims in claims_taken were queued and will be sent; fix the problems of the "
            "others and drop only those claims in spool/claims/ again"
            if taken
            else "no claim of this file was taken; fix the problems and drop it in again"
        ),
    }  # fmt: skip
    explanation = json.dumps(report, indent=2, default=str).encode("utf-8")
    write_atomic(
        folder / f"{name}.errors.json", explanation
    )  # the explanation first, then the file
    os.replace(path, folder / name)
    os.chmod(folder / name, 0o600)
