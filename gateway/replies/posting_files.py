"""Post an 835 into a gateway home: balanced transactions out, unbalanced ones held for review.

For each transaction set the postings, balances and status events are first written to hidden
temporary files; only when its ``end`` says the money adds up are they renamed into
``spool/postings/``, ``spool/balances/`` and ``spool/status/`` (a reader never sees half a
file, and memory stays flat). An unbalanced transaction is never posted and never "fixed": the
835 is kept in ``spool/review/`` beside ``NAME.review.json`` with every discrepancy, until an
admin releases or discards it. Released and discarded files move to ``spool/archive/``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import structlog

from gateway.domain.claim import Claim
from gateway.files import open_private, private_dir
from gateway.replies.holds import WHAT_NEXT
from gateway.replies.remittances import ClaimPosted, PaymentFinished, PaymentStarted, post_835

log = structlog.get_logger("gateway.posting")
OUTPUTS = ("postings", "balances", "status")


@dataclass
class PostResult:
    """What happened to each transaction set of one 835."""

    posted: list[str] = field(default_factory=list)  # ST02 of the transactions posted
    held: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # posted by an earlier run
    records: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTPUTS, 0))


def _json(record: Any) -> str:
    return json.dumps(record, default=str, ensure_ascii=False) + "\n"


def post_remittance(
    home: Path,
    path: Path,
    *,
    lookup: Callable[[str], Claim | None] | None = None,
    partner: str | None = None,
    release: frozenset[str] = frozenset(),
    review_note: str = "",
) -> PostResult:
    """Post every balanced transaction of ``path``; hold the others (or post the ``release``d)."""
    spool = home / "spool"
    out_dirs = {name: private_dir(spool / name) for name in OUTPUTS}
    stem = path.name
    result = PostResult()
    files: dict[str, IO[str]] = {}
    temps: dict[str, Path] = {}
    held_errors: list[dict[str, Any]] = []
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        _post_events(path, stem, lookup, partner, release, review_note, now, out_dirs, result,
                     files, temps, held_errors)  # fmt: skip
    finally:  # a broken file leaves no half-written output behind
        for f in files.values():
            f.close()
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    if held_errors:
        hold_for_review(spool, path, held_errors, now)
    return result


def _post_events(
    path: Path,
    stem: str,
    lookup: Callable[[str], Claim | None] | None,
    partner: str | None,
    release: frozenset[str],
    review_note: str,
    now: str,
    out_dirs: dict[str, Path],
    result: PostResult,
    files: dict[str, IO[str]],
    temps: dict[str, Path],
    held_errors: list[dict[str, Any]],
) -> None:
    skip = False
    control = ""
    for event in post_835(path, source_file=stem, lookup=lookup):
        if isinstance(event, PaymentStarted):
            control = event.payment.control_number
            finals = {n: out_dirs[n] / f"{stem}.{control}.jsonl" for n in OUTPUTS}
            skip = finals["postings"].exists()
            if not skip:
                temps.clear()
                temps.update({n: out_dirs[n] / f".{stem}.{control}.jsonl.tmp" for n in OUTPUTS})
                files.clear()
                files.update({n: open_private(p) for n, p in temps.items()})
        elif isinstance(event, ClaimPosted):
            if skip:
                continue
            posting = event.posting
            if control in release:
                posting = dict(posting, released_unbalanced=True, review_note=review_note)
            files["postings"].write(_json(posting))
            if event.balance is not None:
                files["balances"].write(_json(event.balance))
            files["status"].write(_json({
                "id": f"{posting['id']}-status", "event": posting["status"],
                "claim_id": posting["claim_id"], "at": now, "partner": partner, "source": "835",
                "reasons": [{"code": f"{a['group']}-{a['reason']}", "text": a["text"]}
                            for a in posting["adjustments"]],
                "paid": posting["paid"], "payer_claim_number": posting["payer_claim_number"],
            }))  # fmt: skip
        elif isinstance(event, PaymentFinished):
            control = event.payment.control_number
            if skip:
                result.already.append(control)
                log.info("remittance_already_posted", file=stem, transaction=control)
                continue
            for f in files.values():
                f.flush()
                os.fsync(f.fileno())
                f.close()
            if event.balanced or control in release:
                for name, tmp in temps.items():
                    os.replace(tmp, out_dirs[name] / f"{stem}.{control}.jsonl")
                temps.clear()
                result.posted.append(control)
                result.records["postings"] += event.end.claim_count
                log.info("remittance_posted", file=stem, transaction=control,
                         claims=event.end.claim_count, partner=partner,
                         released=control in release)  # fmt: skip
            else:
                for tmp in temps.values():
                    tmp.unlink()
                temps.clear()
                result.held.append(control)
                held_errors.append({
                    "control_number": control,
                    "trace_number": event.payment.trace_number,
                    "amount": str(event.payment.amount),
                    "claim_count": event.end.claim_count,
                    "balance_errors": [e.as_dict() for e in event.balance_errors],
                })  # fmt: skip
                for error in event.balance_errors:
                    log.warning("remittance_held_for_review", file=stem, transaction=control,
                                rule=error.rule, claim_id=error.claim_id,
                                discrepancy=error.message, partner=partner)  # fmt: skip


def hold_for_review(
    spool: Path,
    path: Path,
    transactions: list[dict[str, Any]],
    now: str,
    *,
    name: str | None = None,
) -> None:
    """Keep a copy of ``path`` in ``spool/review/`` as ``name`` beside ``NAME.review.json``."""
    review = private_dir(spool / "review")
    name = name or path.name
    target = review / name
    if not target.exists():
        shutil.copy2(path, target)
        os.chmod(target, 0o600)
    report = {"file": name, "held_at": now, "transactions": transactions,
              "what_next": WHAT_NEXT.format(name=name)}  # fmt: skip
    tmp = review / f".{name}.review.json.tmp"
    with open_private(tmp) as f:
        dump_json(report, f)
    os.replace(tmp, review / f"{name}.review.json")


def dump_json(value: Any, f: IO[str], indent: str = "") -> None:
    """``json.dump(value, f, indent=2, default=str)``, except that an iterable other than a list
    (the held claim payments of a whole 835, read back from disk) is written item by item and
    never held whole."""
    inner = indent + "  "
    if isinstance(value, Mapping):
        for n, (key, item) in enumerate(value.items()):
            f.write(("{" if n == 0 else ",") + "\n" + inner + json.dumps(str(key)) + ": ")
            dump_json(item, f, inner)
        f.write("\n" + indent + "}" if value else "{}")
    elif isinstance(value, str | bytes) or not isinstance(value, Iterable):
        f.write(json.dumps(value, default=str))
    else:
        empty = True
        for item in value:
            f.write(("[" if empty else ",") + "\n" + inner)
            dump_json(item, f, inner)
            empty = False
        f.write("[]" if empty else "\n" + indent + "]")


def held(home: Path) -> list[dict[str, Any]]:
    """Every remittance waiting in ``spool/review/``, with its discrepancies."""
    review = home / "spool" / "review"
    if not review.is_dir():
        return []
    out = []
    for report in sorted(review.glob("*.review.json")):
        out.append(json.loads(report.read_text()))
    return out


def release(
    home: Path, name: str, *, note: str, lookup: Callable[[str], Claim | None] | None = None
) -> PostResult:
    """Post a held remittance as it is (its records say so), then archive the review."""
    review = home / "spool" / "review"
    report_path = review / f"{name}.review.json"
    if not report_path.exists():
        raise FileNotFoundError(f"no remittance {name!r} is held for review")
    report = json.loads(report_path.read_text())
    controls = frozenset(t["control_number"] for t in report["transactions"])
    result = post_remittance(home, review / name, lookup=lookup, release=controls,
                             review_note=note)  # fmt: skip
    archive_review(home, name, "released", note)
    log.info("remittance_released", file=name, note=note)
    return result


def discard(home: Path, name: str, *, reason: str) -> Path:
    """Keep a held remittance unposted for good: it moves to the archive with the reason."""
    if not (home / "spool" / "review" / f"{name}.review.json").exists():
        raise FileNotFoundError(f"no remittance {name!r} is held for review")
    target = archive_review(home, name, "discarded", reason)
    log.info("remittance_discarded", file=name, why=reason)
    return target


def archive_review(home: Path, name: str, verdict: str, why: str) -> Path:
    review = home / "spool" / "review"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = private_dir(home / "spool" / "archive" / "review" / f"{stamp}-{verdict}-{name}")
    for item in (review / name, review / f"{name}.review.json"):
        if item.exists():
            shutil.move(str(item), target / item.name)
    with open_private(target / "verdict.json") as f:
        json.dump({"file": name, "verdict": verdict, "why": why, "at": stamp}, f, indent=2)
    return target
