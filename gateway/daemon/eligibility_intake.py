"""Intake of eligibility requests: settled files from ``spool/eligibility/`` into the ledger.

As for claims: a file is taken once settled, its good requests are queued even when others in
it are bad, a file with any problem goes to ``spool/rejected/`` beside ``NAME.errors.json``
(request, field, message, and which requests were taken), a clean one to
``spool/archive/eligibility/``. Requests are written to the ledger before the file moves; after
a crash in between the same requests are found already queued and count as taken.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import structlog

from gateway.config import PartnerConfig
from gateway.daemon.intake import IntakeReport, _move, _stamp, settled
from gateway.domain.eligibility import EligibilityRequest
from gateway.domain.problems import Problem
from gateway.files import private_dir, write_atomic
from gateway.intake.eligibility_files import problem_dict, read_request_file
from gateway.intake.mappings import Mapping
from gateway.ledger.ledger import DuplicateRequest, Ledger

log = structlog.get_logger("gateway.intake")


def request_partner(request: EligibilityRequest, partners: list[PartnerConfig]) -> str | None:
    """Its own ``partner``, else the one whose ``payers`` list the payer id, else ``*``."""
    if request.partner is not None:
        return request.partner if any(p.name == request.partner for p in partners) else None
    by_payer = next((p.name for p in partners if request.payer.id in p.payers), None)
    return by_payer or next((p.name for p in partners if "*" in p.payers), None)


def take_request_files(
    spool: Path,
    ledger: Ledger,
    partners: list[PartnerConfig],
    *,
    mappings: list[Mapping] | None = None,
    settle_seconds: float = 5.0,
    today: date | None = None,
    report: IntakeReport | None = None,
) -> IntakeReport:
    """One intake pass over ``spool/eligibility/`` (``report.taken``: request ids)."""
    report = report or IntakeReport()
    found = settled(spool / "eligibility", settle_seconds)
    report.waiting = {p.name: round(left, 1) for p, left in found.waiting.items()}
    for path in found.ready:
        result = read_request_file(path, today=today, mappings=mappings)
        problems = list(result.problems)
        taken: list[str] = []
        for request in result.requests:
            partner = request_partner(request, partners)
            if partner is None:
                problems.append(Problem(
                    f"no partner takes payer {request.payer.id!r} (add it to a partner's payers, "
                    "or mark one partner with \"*\")", "payer.id", request.request_id, path.name,
                ))  # fmt: skip
                continue
            record = json.loads(request.model_dump_json())
            try:
                new = ledger.add_eligibility_request(record, partner=partner,
                                                     payer_id=request.payer.id)  # fmt: skip
            except DuplicateRequest as exc:
                problems.append(Problem(str(exc), "request_id", request.request_id, path.name))
                continue
            taken.append(request.request_id)
            if new:
                log.info("eligibility_request_queued", request_id=request.request_id,
                         file=path.name, partner=partner)  # fmt: skip
        report.taken.extend(taken)
        if problems:
            _reject(spool, path, problems, taken)
            report.rejected_files.append(path.name)
            log.warning("eligibility_file_rejected", file=path.name, problems=len(problems),
                        requests_taken=len(taken))  # fmt: skip
        else:
            _move(path, spool / "archive" / "eligibility")
            report.archived_files.append(path.name)
    return report


def _reject(spool: Path, path: Path, problems: list[Problem], taken: list[str]) -> None:
    folder = private_dir(spool / "rejected")
    name = path.name if not (folder / path.name).exists() else f"{_stamp()}-{path.name}"
    note = {
        "file": path.name,
        "rejected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "problems": [problem_dict(p) for p in problems],
        "requests_taken": taken,
        "note": (
            "the requests in requests_taken were queued and will be sent; fix the others and "
            "drop only those in spool/eligibility/ again"
            if taken
            else "no request of this file was taken; fix the problems and drop it in again"
        ),
    }
    write_atomic(folder / f"{name}.errors.json", json.dumps(note, indent=2).encode("utf-8"))
    os.replace(path, folder / name)
