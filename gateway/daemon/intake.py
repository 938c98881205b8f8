"""Intake: settled claim files from ``spool/claims/`` into the ledger, queued.

A file is taken once it has settled (size and mtime unchanged for ``intake.settle_seconds``). Its
good claims are queued even when others in it are bad; a file with any problem, or with claims
it could not queue (already in the ledger), goes to ``spool/rejected/`` beside
``NAME.errors.json`` (every problem: claim, field, message; which claims were queued, which were
skipped and why), a clean one to ``spool/archive/claims/``. A settled file that is no claim file
(``visits.txt``) is rejected with the reason. Nothing is deleted.

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
from gateway.daemon.claim_memo import MEMO
from gateway.daemon.corrections import WHAT, CorrectionRefused, prepare
from gateway.daemon.status import status_record
from gateway.domain.claim import Claim
from gateway.domain.problems import Problem
from gateway.files import private_dir, write_atomic
from gateway.intake.claim_files import CLAIM_SUFFIXES, ClaimFile, read_claim_file
from gateway.intake.mappings import Mapping
from gateway.ledger.faults import is_unreachable, plain_text
from gateway.ledger.ledger import DuplicateClaim, Ledger, NewClaim, OutboxItem, StoredClaim
from gateway.ledger.schema import ClaimState, LegState

log = structlog.get_logger("gateway.intake")
_INTERNAL_ERROR = (
    "could not be taken: an internal error, logged as claim_file_failed with its traceback "
    "(please report it)"
)


@dataclass
class IntakeReport:
    taken: list[str] = field(default_factory=list)  # claim ids queued (or found queued)
    skipped: list[dict[str, str]] = field(default_factory=list)  # claim_id, why, message
    rejected_files: list[str] = field(default_factory=list)
    archived_files: list[str] = field(default_factory=list)
    waiting: dict[str, float] = field(default_factory=dict)  # not settled yet: seconds to go


def _as_sent_by_the_practice(ledger: Ledger, claim_id: str, stored: StoredClaim) -> StoredClaim:
    """The version the practice sent, when the claim went on to next payers since (each of
    those a later version): the same file again is then "unchanged", not a new claim."""
    own = next((leg for leg in ledger.legs(claim_id) if leg.state == LegState.OWN), None)
    if own is None or own.version is None:
        return stored
    return ledger.claim(claim_id, own.version) or stored


def route(claim: Claim, partners: list[PartnerConfig]) -> str | None:
    """The partner a claim goes to: its own ``partner``, else by payer id, else the ``*`` one."""
    if claim.partner is not None:
        return claim.partner if any(p.name == claim.partner for p in partners) else None
    for p in partners:
        if claim.payer.id in p.payers:
            return p.name
    return next((p.name for p in partners if "*" in p.payers), None)


@dataclass
class Settled:
    """The files of ``spool/claims/`` as intake sees them now."""

    ready: list[Path] = field(default_factory=list)  # claim files to take
    waiting: dict[Path, float] = field(default_factory=dict)  # still written: seconds to go
    strangers: list[Path] = field(default_factory=list)  # settled, but no claim file


def settled(folder: Path, settle_seconds: float, now: float | None = None) -> Settled:
    """Claim files ready to take, those still being written (changed too recently), and
    settled files that are no claim files (names starting with ``.`` or ending in ``.tmp`` or
    ``.part`` are a writer's and never looked at)."""
    now = time.time() if now is None else now
    found = Settled()
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        name = path.name
        if name.startswith(".") or name.endswith((".tmp", ".part")) or not path.is_file():
            continue
        age = now - path.stat().st_mtime
        if age < settle_seconds:
            found.waiting[path] = settle_seconds - age
        elif path.suffix.lower() in CLAIM_SUFFIXES:
            found.ready.append(path)
        else:
            found.strangers.append(path)
    return found


def _queued_status(claim: Claim, partner: str, file: str) -> Callable[[int], list[OutboxItem]]:
    def records(version: int) -> list[OutboxItem]:
        return [status_record(
            event="queued", claim_id=claim.claim_id, version=version, partner=partner,
            source="intake", cause="intake", file=file, kind=claim.kind,
            frequency=claim.frequency, payer_sequence=claim.subscriber.sequence,
            payer_id=claim.payer.id,
        )]  # fmt: skip

    return records


def _new_claim(claim: Claim, partner: str, file: str, said: dict[str, Any]) -> NewClaim:
    """What ``add_claims`` queues; ``said``: what a correction's timeline says of it."""
    text = claim.model_dump_json()  # stored as it is: the ledger need not write it again
    return NewClaim(  # the record: what json.loads(text) gives, without parsing text again
        claim.model_dump(mode="json"), kind=claim.kind, partner=partner, payer_id=claim.payer.id,
        outbox_records=_queued_status(claim, partner, file), detail={"file": file, **said},
        text=text,
    )  # fmt: skip


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
    found = settled(spool / "claims", settle_seconds)
    report.waiting = {p.name: round(left, 1) for p, left in found.waiting.items()}
    for path, left in found.waiting.items():
        log.info("claim_file_not_settled", file=path.name, settles_in_seconds=round(left, 1),
                 why="changed too recently (still written?): taken once it settles")  # fmt: skip
    for path in found.strangers:
        _reject(spool, path, [Problem(
            f"is not a claim file: the gateway takes {', '.join(CLAIM_SUFFIXES)} files (a CSV "
            "through a mapping in mappings/); rename or convert it and drop it in again",
            file=path.name,
        )], [], [])  # fmt: skip
        report.rejected_files.append(path.name)
        log.warning("claim_file_rejected", file=path.name, problems=1, claims_taken=0,
                    why="not a claim file")  # fmt: skip
    for path in found.ready:
        try:
            result = read_claim_file(path, today=today, mappings=mappings,
                                     ledger_fills_payer_number=True)  # fmt: skip
        except Exception:  # a bug: this file is rejected alone, the others are still taken
            log.exception("claim_file_failed", file=path.name)
            result = ClaimFile(path, problems=[Problem(_INTERNAL_ERROR, file=path.name)])
        problems = list(result.problems)
        taken: list[str] = []
        skipped: list[dict[str, str]] = []
        routed: list[tuple[Claim, NewClaim]] = []
        for claim in result.claims:
            said: dict[str, Any] = {}
            # a replacement or void: checked, F8 filled (before the file's claims are queued:
            # the reader refuses a claim id twice in one file, so none of them is its original)
            if claim.frequency in WHAT:
                try:
                    correction = prepare(ledger, claim)
                except CorrectionRefused as exc:
                    problems.append(Problem(str(exc), exc.field, claim.claim_id, path.name))
                    continue
                if correction.already is not None:
                    _already(correction.already, taken, skipped)
                    continue
                claim, said = correction.claim, correction.detail
                if claim.partner is None and correction.partner is not None:
                    claim = claim.model_copy(update={"partner": correction.partner})
            partner = route(claim, partners)
            if partner is None:
                problems.append(Problem(
                    f"no partner takes payer {claim.payer.id!r} (add it to a partner's payers, "
                    "or mark one partner with \"*\")", "payer.id", claim.claim_id, path.name,
                ))  # fmt: skip
                continue
            routed.append((claim, _new_claim(claim, partner, path.name, said)))
        _settle(ledger, routed, path.name, problems, taken, skipped)
        report.taken.extend(taken)
        report.skipped.extend(skipped)
        for skip in skipped:
            log.warning("claim_skipped", file=path.name, claim_id=skip["claim_id"],
                        why=skip["why"], message=skip["message"])  # fmt: skip
        if problems or skipped:
            _reject(spool, path, problems, taken, skipped)
            report.rejected_files.append(path.name)
            log.warning("claim_file_rejected", file=path.name, problems=len(problems),
                        claims_taken=len(taken), claims_skipped=len(skipped))  # fmt: skip
        else:
            _move(path, spool / "archive" / "claims")
            report.archived_files.append(path.name)
    return report


def _settle(
    ledger: Ledger,
    routed: list[tuple[Claim, NewClaim]],
    file: str,
    problems: list[Problem],
    taken: list[str],
    skipped: list[dict[str, str]],
) -> None:
    """Queue the routed claims of a file (one transaction) and note each one's outcome."""
    for claim, new, outcome in _queue(ledger, routed, file):
        if isinstance(outcome, DuplicateClaim):
            stored = ledger.claim(claim.claim_id)
            if stored is not None and stored.record != new.record:
                stored = _as_sent_by_the_practice(ledger, claim.claim_id, stored)
            if stored is None or stored.record != new.record:
                problems.append(Problem(str(outcome), "claim_id", claim.claim_id, file))
                skipped.append({"claim_id": claim.claim_id, "why": "needs_frequency_7",
                                "message": str(outcome)})  # fmt: skip
            else:
                _already(stored, taken, skipped)
            continue
        if isinstance(outcome, Problem):
            problems.append(outcome)
            continue
        taken.append(claim.claim_id)
        if new.text is not None:  # the build finds it validated (claim_memo)
            MEMO.keep(new.text, claim)
        log.info("claim_queued", claim_id=claim.claim_id, version=outcome, file=file,
                 partner=new.partner)  # fmt: skip


Outcome = int | DuplicateClaim | Problem  # the version queued, or why not


def _queue(
    ledger: Ledger, routed: list[tuple[Claim, NewClaim]], file: str
) -> list[tuple[Claim, NewClaim, Outcome]]:
    """Queue a file's claims in one ledger transaction; when the ledger refuses the batch for
    another reason than a duplicate (a claim it cannot hold), one at a time, so that only the
    claims at fault are left out. Raises when the ledger is down: the file stays."""
    try:
        outcomes: list[Outcome] = list(ledger.add_claims([new for _, new in routed]))
    except SQLAlchemyError as exc:
        if is_unreachable(exc) and not ledger.reachable():
            raise
        outcomes = [_queue_one(ledger, claim, new, file) for claim, new in routed]
    return [(claim, new, outcome) for (claim, new), outcome in zip(routed, outcomes, strict=True)]


def _queue_one(ledger: Ledger, claim: Claim, new: NewClaim, file: str) -> Outcome:
    try:
        return ledger.add_claim(
            new.record, kind=new.kind, partner=new.partner, payer_id=new.payer_id,
            outbox_records=new.outbox_records, detail=new.detail,
        )  # fmt: skip
    except DuplicateClaim as exc:
        return exc
    except SQLAlchemyError as exc:
        if is_unreachable(exc) and not ledger.reachable():
            raise  # the ledger is down: the file stays for the next cycle
        return Problem(f"the ledger cannot hold this claim ({plain_text(exc)})", None,
                       claim.claim_id, file)  # fmt: skip


def _already(stored: StoredClaim, taken: list[str], skipped: list[dict[str, str]]) -> None:
    """A claim the ledger holds with this very content: taken (queued by a pass that died
    before the move) or skipped as unchanged."""
    if stored.state == ClaimState.QUEUED:
        taken.append(stored.claim_id)
        return
    skipped.append({
        "claim_id": stored.claim_id, "why": "unchanged",
        "message": f"already in the ledger with this very content (version "
                   f"{stored.version}, {stored.state}): not sent again",
    })  # fmt: skip


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _move(path: Path, folder: Path) -> Path:
    target = private_dir(folder) / f"{_stamp()}-{path.name}"
    os.replace(path, target)
    os.chmod(target, 0o600)  # dropped in with any mode: private once the gateway keeps it
    return target


def _reject(
    spool: Path,
    path: Path,
    problems: list[Problem],
    taken: list[str],
    skipped: list[dict[str, str]],
) -> None:
    folder = private_dir(spool / "rejected")
    name = path.name if not (folder / path.name).exists() else f"{_stamp()}-{path.name}"
    notes = []
    if taken:
        notes.append("the claims in claims_taken are queued and will be sent")
    if skipped:
        notes.append(
            "the claims in claims_skipped were not queued, each says why (unchanged: already "
            "in the ledger, nothing to do; needs_frequency_7: other content under a claim id "
            "the ledger has, send it with frequency 7 to replace the claim or 8 to void it)"
        )
    if problems:
        notes.append(
            "fix the problems and drop only those claims in spool/claims/ again"
            if taken
            else "no claim of this file was taken; fix the problems and drop it in again"
        )
    report = {
        "file": path.name,
        "rejected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "problems": [
            {k: v for k, v in p.as_dict().items() if k != "file"} for p in problems
        ],
        "claims_taken": taken,
        "claims_skipped": skipped,
        "note": "; ".join(notes),
    }  # fmt: skip
    explanation = json.dumps(report, indent=2, default=str).encode("utf-8")
    write_atomic(
        folder / f"{name}.errors.json", explanation
    )  # the explanation first, then the file
    os.replace(path, folder / name)
    os.chmod(folder / name, 0o600)
