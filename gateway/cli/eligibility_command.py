"""``gateway eligibility FILE``: ask the payers now, print the answers in plain words; and the
eligibility part of ``gateway parse`` (270 and 271 files).

Exit codes: 0 every request answered (an answer may say the patient is not covered), 1 the
file had errors or some requests were not answered within ``--wait`` (they are still answered
later, through the daemon, into ``spool/benefits/``), 2 usage or configuration error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from gateway.cli.output import dumps
from gateway.config import ConfigError
from gateway.domain import benefit_codes as bc


@click.command("eligibility")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
    help="seconds to wait for the answers (0: send and return)",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="the benefits records, one JSON a line")
@click.pass_context
def eligibility(ctx: click.Context, file: str, wait: float, as_json: bool) -> None:
    """Ask whether patients are covered and what they will owe (270 now, 271 read back)."""
    from gateway.cli.main import _mappings, home_dir
    from gateway.daemon.eligibility_now import ask_now
    from gateway.intake.eligibility_files import describe, read_request_file

    home = home_dir(ctx)
    read = read_request_file(Path(file), mappings=_mappings(ctx))
    for problem in read.problems:
        click.echo(describe(problem), err=True)
    if not read.requests:
        click.echo(f"{file}: no request could be sent", err=True)
        sys.exit(1)
    try:
        result = ask_now(home, read.requests, wait=wait)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    for problem in result.problems:
        click.echo(describe(problem.located(file=Path(file).name)), err=True)
    for trouble in result.trouble:
        click.echo(trouble, err=True)
    order = [r.request_id for r in read.requests if r.request_id in result.answers]
    for request_id in order:
        record = result.answers[request_id]
        click.echo(dumps(record, indent=None) if as_json else "\n".join(summary_lines(record)))
    if result.pending:
        where = "the daemon" if result.daemon_running else "the next `gateway run`"
        click.echo(
            f"no answer yet for {', '.join(result.pending)}: {where} will write it to "
            "spool/benefits/ when it comes",
            err=True,
        )
    sys.exit(1 if read.problems or result.problems or result.pending else 0)


def summary_lines(record: dict[str, Any]) -> list[str]:
    """A benefits record as a coordinator reads it: the verdict, then each benefit."""
    person = record.get("patient") or record.get("subscriber") or {}
    who = " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p)
    member = (record.get("subscriber") or {}).get("member_id")
    visit = f", visit {record['service_date']}" if record.get("service_date") else ""
    head = f"{record.get('request_id')}: {who}" + (f" (member {member})" if member else "")
    lines = [f"{head}{visit}: {str(record.get('status', 'unknown')).upper()}",
             f"  {record.get('summary', '')}"]  # fmt: skip
    lines += [f"  - {b['text']}" for b in record.get("benefits", [])]
    for b in record.get("benefits", []):
        if b.get("warning"):
            lines.append(f"  ! {b['warning']}")
    for e in record.get("errors", []):
        lines.append(f"  ! {e['text']} (code {e['code']}): {e['action']}")
    missing = record.get("not_answered") or []
    if missing:
        names = ", ".join(f"{s} {bc.service_type_text(s)}" for s in missing)
        lines.append(f"  not answered by the payer: {names} (ask the payer, or see the 30 rows)")
    for c in record.get("corrections") or []:
        lines.append(
            f"  the payer's records differ: {c['field']} sent {c['sent']}, payer says "
            f"{c['payer_says']}"
        )
    return lines


def parse_eligibility(path: Path, transaction: str) -> bool:
    """``gateway parse`` of a 270 (the inquiries) or a 271 (one benefits record per answer)."""
    if transaction == "270":
        from gateway.transactions.eligibility_270_reader import read_270

        inquiries = [
            {**i.request, "originator": i.originator, "segment_position": i.position}
            for i in read_270(path)
        ]
        click.echo(dumps({"transaction": "270", "inquiries": inquiries}))
        return True
    from gateway.daemon.eligibility_replies import record_id
    from gateway.domain.benefits import benefits_record, rejection
    from gateway.files import sha256_of
    from gateway.transactions.eligibility_271 import read_271

    sha = sha256_of(path)
    responses = read_271(path)
    answers = [
        benefits_record(a, None, record_id=record_id(a.trace, sha), source_file=path.name)
        for r in responses
        for a in r.answers
    ]
    refused = [
        {"reference": r.reference, "errors": [rejection(x) for x in r.rejections]}
        for r in responses
        if not r.answers and r.rejections
    ]
    click.echo(dumps({"transaction": "271", "answers": answers, "refused_inquiries": refused}))
    return True
