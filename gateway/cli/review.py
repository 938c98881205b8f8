"""``gateway review`` in a home: what the ledger holds for review, released or discarded
through the ledger (postings, balances, status records and claim states in one transaction,
written to ``spool/`` by the daemon's next cycle)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

import click

from gateway.config import ConfigError, database_url, load_settings
from gateway.ledger.ledger import Ledger, StoredPayment
from gateway.ledger.schema import PaymentState
from gateway.replies.holds import WHAT_NEXT, hold_texts


def _ledger(home: Path) -> Ledger:
    from gateway.ledger.db import open_ledger

    try:
        return open_ledger(database_url(home, load_settings(home)))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _name(p: StoredPayment) -> str:
    """The name a review knows a received file by (its unique name in the archive)."""
    return PurePosixPath(p.archived_as).name if p.archived_as else p.file_name


def _claim(p: StoredPayment) -> dict[str, Any]:
    review = p.detail.get("review") or {}
    return {
        "claim_id": p.claim_id, "version": p.version, "payer_id": p.payer_id,
        "payer_sequence": p.payer_sequence, "status_code": p.status_code, "paid": p.paid,
        "patient_responsibility": p.patient_responsibility, "posting_id": p.posting_id,
        "held_at": p.recorded_at.isoformat(timespec="seconds"),
        "reasons": hold_texts(p.detail.get("reasons", [])),
        **({"note": review.get("note"), "settled_at": review.get("at")} if review else {}),
    }  # fmt: skip


def _by_file(payments: list[StoredPayment], ledger: Ledger) -> list[dict[str, Any]]:
    files: dict[str, dict[int, list[StoredPayment]]] = defaultdict(lambda: defaultdict(list))
    for p in payments:
        files[_name(p)][p.remittance_id].append(p)
    out = []
    for name, remittances in files.items():
        first = next(iter(remittances.values()))[0]
        entry: dict[str, Any] = {
            "file": name, "archived_as": first.archived_as, "partner": first.partner,
            "payments": [],
        }  # fmt: skip
        for remittance_id, items in remittances.items():
            detail = ledger.remittance_detail(remittance_id)
            entry["payments"].append({
                "trace_number": items[0].trace_number,
                "payment_date": items[0].payment_date or None,
                "claims": [_claim(p) for p in items],
                "seen_again": detail.get("seen_again", []),
            })  # fmt: skip
        out.append(entry)
    return out


def ledger_review(home: Path) -> dict[str, Any]:
    """``{"held": [...], "not_posted": [...]}``: files with payments waiting for a decision,
    and those a review kept unposted (with the copies received again since)."""
    with _ledger(home) as ledger:
        held = _by_file(ledger.held_payments(), ledger)
        for entry in held:
            entry["what_next"] = WHAT_NEXT.format(name=entry["file"])
        discarded = _by_file(ledger.claim_payments(states=[PaymentState.DISCARDED]), ledger)
    return {"held": held, "not_posted": discarded}


def print_review(found: dict[str, Any]) -> None:
    if not found["held"]:
        click.echo("nothing is held for review")
    else:
        click.echo("Held for review (nothing of these was posted, and no patient was billed):")
    for entry in found["held"]:
        _print_file(entry)
        click.echo(f"    what next: {entry['what_next']}")
    if found["not_posted"]:
        click.echo("Not posted (discarded after review):")
    for entry in found["not_posted"]:
        _print_file(entry)


def _print_file(entry: dict[str, Any]) -> None:
    click.echo(f"  {entry['file']} (partner {entry['partner']}, {entry['archived_as']}):")
    for payment in entry["payments"]:
        when = f" of {payment['payment_date']}" if payment["payment_date"] else ""
        click.echo(f"    payment trace {payment['trace_number']}{when}:")
        for c in payment["claims"]:
            click.echo(
                f"      claim {c['claim_id']} v{c['version']} paid {c['paid']}, patient "
                f"{c['patient_responsibility']} (held {c['held_at']})"
                + (f", discarded {c['settled_at'][:19]}: {c['note']}" if c.get("note") else "")
            )
            for reason in c["reasons"]:
                click.echo(f"        - {reason}")
        for again in payment["seen_again"]:
            click.echo(f"      received again (not posted) in {again['file']} at {again['at']}")


def settle(home: Path, name: str, verdict: str, note: str, claim_id: str | None) -> bool:
    """Release or discard what the ledger holds of ``name``; False when it holds nothing."""
    from gateway.daemon.remittance_posting import settle_held
    from gateway.replies.posting_files import archive_review

    with _ledger(home) as ledger:
        settled = settle_held(
            ledger, name, verdict=PaymentState(verdict), note=note, claim_id=claim_id
        )
        left = [p for p in ledger.held_payments() if _name(p) == name]
        twice = [
            p for p, d in settled
            if verdict == "released" and not p.reversal
            and len(ledger.payments_in_force(p.claim_id, p.payer_id, d.sequence)) > 1
        ]  # fmt: skip
    if not settled:
        return False
    if not left and (home / "spool" / "review" / name).exists():
        archive_review(home, name, verdict, note)
    claims = ", ".join(sorted({p.claim_id for p, _ in settled}))
    what = "posted through the ledger" if verdict == "released" else "kept unposted"
    click.echo(f"{name}: {verdict} {len(settled)} claim payment(s) ({claims}), {what}; the "
               "daemon's next cycle writes the records to spool/")  # fmt: skip
    for p in twice:
        click.echo(f"note: claim {p.claim_id} now has more than one payment in force from "
                   f"payer {p.payer_id}, as you chose", err=True)  # fmt: skip
    if left:
        click.echo(f"{name}: {len(left)} claim payment(s) still held (see gateway review list)")
    return True
