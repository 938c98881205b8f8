"""``gateway correct``, ``gateway void``, ``gateway note``, ``gateway dispute``,
``gateway explain``: correcting claims and answering a patient's question about one.

Exit codes as everywhere: 0 done, 1 the input was refused (the message says why; nothing was
written to the ledger), 2 usage or configuration error.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from gateway.cli.output import dumps


def _home(ctx: click.Context) -> Path:
    from gateway.cli.main import home_dir

    return home_dir(ctx)


def _ledger(home: Path) -> Any:
    from gateway.config import ConfigError, database_url, load_settings
    from gateway.ledger.db import open_ledger

    try:
        return open_ledger(database_url(home, load_settings(home)))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _refuse(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


def _author(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "unknown"


# -- corrections ------------------------------------------------------------------------------


@click.command("correct")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--by", help="who sends it (default: the OS user)")
@click.pass_context
def correct(ctx: click.Context, files: tuple[str, ...], by: str | None) -> None:
    """Queue replacements (frequency 7) and voids (8) from claim files, checked now.

    ``payer_claim_number`` may be left out: it is taken from the payer's 277CA or 835. Every
    claim is checked first; if one is refused, none is queued (exit 1).
    """
    from gateway.daemon.corrections import WHAT, CorrectionRefused, prepare, queue
    from gateway.domain.problems import Problem
    from gateway.intake.claim_files import read_claim_file

    home = _home(ctx)
    problems: list[str] = []
    ready = []
    with _ledger(home) as ledger:
        for name in files:
            result = read_claim_file(Path(name), ledger_fills_payer_number=True)
            problems += [str(p) for p in result.problems]
            for claim in result.claims:
                if claim.frequency not in WHAT:
                    problems.append(str(Problem(
                        f"is {claim.frequency}: `gateway correct` takes replacements (7) and "
                        "voids (8); new claims go to spool/claims/", "frequency",
                        claim.claim_id, Path(name).name,
                    )))  # fmt: skip
                    continue
                try:
                    ready.append((name, prepare(ledger, claim)))
                except CorrectionRefused as exc:
                    problems.append(str(Problem(str(exc), exc.field, claim.claim_id,
                                                Path(name).name)))  # fmt: skip
        if problems:
            for problem in problems:
                click.echo(problem, err=True)
            _refuse(f"nothing queued: {len(problems)} problem(s)")
        for name, correction in ready:
            claim = correction.claim
            if correction.already is not None:
                click.echo(f"claim {claim.claim_id}: already in the ledger with this very content "
                           f"(version {correction.already.version}, "
                           f"{correction.already.state.value})")  # fmt: skip
                continue
            partner = claim.partner or correction.partner or ""
            version = queue(ledger, correction, partner, source=Path(name).name,
                            by=_author(by))  # fmt: skip
            click.echo(_queued_line(claim.claim_id, claim.frequency, version, correction.detail))


def _queued_line(claim_id: str, frequency: str, version: int, detail: dict[str, Any]) -> str:
    what = {"7": "replacement", "8": "void"}[frequency]
    where = detail.get("payer_claim_number_from")
    number = detail.get("payer_claim_number")
    source = f" (from the payer's {where} of {detail.get('payer_claim_number_of')})" if (
        number and where in ("277CA", "835")) else ""  # fmt: skip
    said = f", REF*F8 {number}{source}" if number else ""
    return (f"claim {claim_id}: {what} queued as version {version}{said}; the daemon sends it "
            "on its next cycle")  # fmt: skip


@click.command("void")
@click.argument("claim_id")
@click.option("--reason", required=True, help="why it is voided (kept as a note on the claim)")
@click.option("--by", help="who voids it (default: the OS user)")
@click.pass_context
def void(ctx: click.Context, claim_id: str, reason: str, by: str | None) -> None:
    """Void a claim the payer has: its current version sent again with frequency 8 and the
    payer's claim number (REF*F8) from the payer's 277CA or 835."""
    from gateway.daemon.corrections import CorrectionRefused, prepare, queue
    from gateway.domain.claim import Claim

    with _ledger(_home(ctx)) as ledger:
        stored = ledger.claim(claim_id)
        if stored is None:
            _refuse(f"claim {claim_id}: not in the ledger; nothing to void")
        record = dict(stored.record, frequency="8")
        record.pop("payer_claim_number", None)  # the payer's latest number is used
        try:
            correction = prepare(ledger, Claim.model_validate(record))
        except CorrectionRefused as exc:
            _refuse(f"claim {claim_id}: {exc}")
        if correction.already is not None:
            _refuse(f"claim {claim_id}: a void of it is already in the ledger (version "
                    f"{correction.already.version}, {correction.already.state.value})")  # fmt: skip
        author = _author(by)
        version = queue(ledger, correction, correction.partner or stored.partner,
                        source="gateway void", by=author, reason=reason)  # fmt: skip
        ledger.add_note(claim_id, f"voided: {reason}", author=author)
    click.echo(_queued_line(claim_id, "8", version, correction.detail))


# -- notes and disputes -----------------------------------------------------------------------


@click.command("note")
@click.argument("claim_id")
@click.argument("text")
@click.option("--by", help="who writes it (default: the OS user)")
@click.pass_context
def note(ctx: click.Context, claim_id: str, text: str, by: str | None) -> None:
    """Keep a dated note on a claim (a call, an appeal); `gateway claim ID` lists them."""
    from gateway.ledger.ledger import LedgerError

    with _ledger(_home(ctx)) as ledger:
        try:
            kept = ledger.add_note(claim_id, text, author=_author(by))
        except LedgerError as exc:
            _refuse(str(exc))
    click.echo(f"claim {claim_id}: note kept ({kept.at:%Y-%m-%d %H:%M:%S} UTC, {kept.author})")


@click.group("dispute")
def dispute() -> None:
    """A claim in dispute (with the payer or the patient): open it, close it, with a reason."""


def _dispute(ctx: click.Context, claim_id: str, reason: str, by: str | None, kind: str) -> None:
    from gateway.ledger.ledger import LedgerError, NoteKind

    with _ledger(_home(ctx)) as ledger:
        try:
            kept = ledger.add_note(claim_id, reason, author=_author(by), kind=NoteKind(kind))
        except LedgerError as exc:
            _refuse(str(exc))
    word = "opened" if kind == "dispute_opened" else "closed"
    click.echo(f"claim {claim_id}: dispute {word} ({kept.at:%Y-%m-%d %H:%M:%S} UTC, "
               f"{kept.author}): {reason}")  # fmt: skip


@dispute.command("open")
@click.argument("claim_id")
@click.option("--reason", required=True)
@click.option("--by", help="who opens it (default: the OS user)")
@click.pass_context
def dispute_open(ctx: click.Context, claim_id: str, reason: str, by: str | None) -> None:
    """Open a dispute on a claim (one at a time)."""
    _dispute(ctx, claim_id, reason, by, "dispute_opened")


@dispute.command("close")
@click.argument("claim_id")
@click.option("--reason", required=True)
@click.option("--by", help="who closes it (default: the OS user)")
@click.pass_context
def dispute_close(ctx: click.Context, claim_id: str, reason: str, by: str | None) -> None:
    """Close the claim's open dispute."""
    _dispute(ctx, claim_id, reason, by, "dispute_closed")


# -- explain ----------------------------------------------------------------------------------


@click.command("explain")
@click.argument("claim_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def explain(ctx: click.Context, claim_id: str, as_json: bool) -> None:
    """A claim's money in plain words, for a patient's question: per line and per payer,
    billed, allowed, paid, every adjustment with its code, and what the patient owes and why."""
    from gateway.cli.explain_text import print_explanation
    from gateway.daemon.explanations import explanation_of

    with _ledger(_home(ctx)) as ledger:
        found = explanation_of(ledger, claim_id)
    if found is None:
        _refuse(f"claim {claim_id}: not in the ledger; nothing to explain")
    if as_json:
        click.echo(dumps(found))
        return
    print_explanation(found)
