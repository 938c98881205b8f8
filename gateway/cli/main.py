"""``gateway``: the command line (contract section 6).

Exit codes: 0 done, 1 the input had errors (reported), 2 usage or configuration error.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import click

from gateway.cli.output import dumps
from gateway.config import ConfigError, PartnerConfig, find_partner, load_partner
from gateway.domain.claim import Claim
from gateway.domain.problems import Problem
from gateway.files import private_dir, write_atomic
from gateway.intake.claim_files import CLAIM_SUFFIXES, read_claim_file
from gateway.intake.mappings import Mapping, MappingError, load_mappings
from gateway.transactions.claim_837 import Envelope, write_837
from gateway.transactions.claim_837_reader import read_837
from gateway.transactions.claim_837_rules import check_837

KIND_LABEL = {"professional": "837P", "dental": "837D", "institutional": "837I"}


def home_dir(ctx: click.Context) -> Path:
    home = ctx.obj.get("home") if ctx.obj else None
    return Path(home or os.environ.get("GATEWAY_HOME") or ".")


class _LazyGroup(click.Group):
    """Commands in modules loaded only when called: the daemon's (SQLAlchemy, the ledger) and
    the simulator's imports cost more than `gateway parse` itself."""

    LAZY: ClassVar[dict[str, str]] = {
        "run": "gateway.cli.daemon_commands:run",
        "claims": "gateway.cli.daemon_commands:claims",
        "claim": "gateway.cli.daemon_commands:claim_history",
        "partners": "gateway.cli.daemon_commands:partners",
        "demo": "gateway.cli.daemon_commands:demo",
        "simulate": "gateway.cli.simulate:simulate",
        "eligibility": "gateway.cli.eligibility_command:eligibility",
        "backup": "gateway.cli.ops_commands:backup",
        "archive": "gateway.cli.ops_commands:archive",
        **{
            c: f"gateway.cli.corrections_commands:{c}"
            for c in ("correct", "void", "note", "dispute", "explain")
        },
        "worklist": "gateway.cli.followup_commands:worklist",
        "aging": "gateway.cli.followup_commands:aging_report",
        "users": "gateway.cli.user_commands:users",
        "user": "gateway.cli.user_commands:user",  # the older name of users
        "web": "gateway.cli.web_commands:web",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.LAZY:
            return super().get_command(ctx, cmd_name)
        module, name = self.LAZY[cmd_name].split(":")
        command: click.Command = getattr(importlib.import_module(module), name)
        return command


@click.group(cls=_LazyGroup)
@click.option(
    "--home", type=click.Path(file_okay=False), help="gateway home (else $GATEWAY_HOME, else .)"
)
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """EDI gateway for medical and dental practices."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = home


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--upgrade",
    is_flag=True,
    help="an existing home: migrate its ledger to this version's schema and add the folders "
    "this version expects (settings and data are left alone)",
)
def init(directory: str, upgrade: bool) -> None:
    """Create a gateway home: gateway.toml, an example partner and mappings, spool folders."""
    from gateway.home import HomeExists, init_home

    if upgrade:
        _upgrade(Path(directory))
        return
    try:
        made = init_home(Path(directory))
    except HomeExists as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(
        f"created a gateway home in {directory} ({len(made)} folders and files, private: "
        f"0700/0600); edit {Path(directory) / 'partners' / 'example.toml'} for your "
        "clearinghouse (its folder pair exchange/example/ lets the daemon and `gateway "
        "simulate --partner example --config simulator.toml` run at once); see docs/"
    )


def _upgrade(home: Path) -> None:
    from gateway.config import database_url, load_settings
    from gateway.home import NotAHome, upgrade_home
    from gateway.ledger.db import create_ledger_engine, head_revision, upgrade

    try:
        made = upgrade_home(home)
        url = database_url(home, load_settings(home))
    except (NotAHome, ConfigError) as exc:
        raise click.UsageError(str(exc)) from exc
    for path in made:
        click.echo(f"made {path}")
    engine = create_ledger_engine(url)
    try:
        before = upgrade(engine)
    finally:
        engine.dispose()
    head = head_revision()
    click.echo(
        f"ledger schema: already at {head}"
        if before == head
        else f"ledger schema: migrated from {before or 'empty'} to {head}"
    )


@cli.command()
@click.argument("what", type=click.Choice(["claim", "posting", "balance", "status", "eligibility"]))
def schema(what: str) -> None:
    """Print the JSON Schema of a record: the claim record or an eligibility request (input),
    or one of the records the gateway writes (postings, balances, status events); docs/
    explains each field."""
    from gateway.domain.outputs import SCHEMAS

    if what == "claim":
        document = Claim.model_json_schema(mode="validation")
    elif what == "eligibility":
        from gateway.domain.eligibility import EligibilityRequest

        document = EligibilityRequest.model_json_schema(mode="validation")
    else:
        document = SCHEMAS[what].model_json_schema(mode="serialization")
    click.echo(json.dumps(document, indent=2))


# -- build ------------------------------------------------------------------------------------
def _is_x12(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"ISA")


def _report(problems: list[Problem]) -> None:
    for p in problems:
        click.echo(str(p), err=True)


def _partner_for(ctx: click.Context, partner: str | None) -> PartnerConfig | None:
    if partner is None:
        candidates = sorted((home_dir(ctx) / "partners").glob("*.toml"))
        for path in candidates:
            config = load_partner(path)
            if "*" in config.payers:
                return config
        return load_partner(candidates[0]) if len(candidates) == 1 else None
    return find_partner(home_dir(ctx), partner)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(), help="file (one kind) or folder (several kinds)")
@click.option(
    "--partner", help="a partner's name (or its file's name in partners/, or a .toml path)"
)
@click.option(
    "--control-number",
    type=click.IntRange(1, 999_999_999),
    default=1,
    show_default=True,
    help="ISA13/GS06 of the first interchange; further kinds take the next numbers",
)
@click.pass_context
def build(
    ctx: click.Context,
    files: tuple[str, ...],
    output: str | None,
    partner: str | None,
    control_number: int,
) -> None:
    """Claim files to 837 interchange(s), one per kind of claim, without touching the ledger."""
    try:
        config = _partner_for(ctx, partner)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    by_kind: dict[str, list[Claim]] = defaultdict(list)
    problems: list[Problem] = []
    seen: set[str] = set()
    mappings = _mappings(ctx)
    for name in files:
        result = read_claim_file(Path(name), mappings=mappings)
        problems += result.problems
        for claim in result.claims:
            if claim.claim_id in seen and claim.frequency == "1":
                problems.append(
                    Problem(
                        "appears in more than one input file (a duplicate)",
                        "claim_id",
                        claim.claim_id,
                        Path(name).name,
                    )
                )
                continue
            seen.add(claim.claim_id)
            by_kind[claim.kind].append(claim)
    _report(problems)
    if not by_kind:
        click.echo("no claim could be built", err=True)
        sys.exit(1)
    if len(by_kind) > 1 and output is None:
        raise click.UsageError("the claims are of several kinds: give -o FOLDER")
    out_dir: Path | None = None
    if output is not None and (len(by_kind) > 1 or Path(output).is_dir()):
        out_dir = Path(output)
        private_dir(out_dir)
    when = datetime.now()
    for n, (kind, claims) in enumerate(sorted(by_kind.items())):
        control = control_number + n
        env = _envelope(config, control, when)
        buf = io.StringIO()
        write_837(buf, kind, claims, env)  # type: ignore[arg-type]
        label = KIND_LABEL[kind]
        if output is None:
            click.echo(buf.getvalue(), nl=False)
            continue
        target = out_dir / f"{label}-{control:09d}.x12" if out_dir else Path(output)
        if out_dir is None:
            private_dir(target.parent)
        write_atomic(target, buf.getvalue().encode("ascii"))
        click.echo(
            f"{target}: {label} interchange {control:09d} with {len(claims)} claim(s)", err=True
        )
    if problems:
        sys.exit(1)


def _envelope(config: PartnerConfig | None, control: int, when: datetime) -> Envelope:
    from gateway.daemon.outbound import envelope_for

    return envelope_for(config, control, control, when)


def _mappings(ctx: click.Context) -> list[Mapping]:
    try:
        return load_mappings(home_dir(ctx) / "mappings")
    except MappingError as exc:
        raise click.UsageError(str(exc)) from exc


# -- validate ---------------------------------------------------------------------------------
def validate_file(
    path: Path, *, use_pyx12: bool = True, mappings: list[Mapping] | None = None
) -> list[Problem]:
    """Every problem in one claim file or X12 file, located."""
    if _is_x12(path):
        problems = check_837(path)
        if use_pyx12:
            from gateway.transactions.ig_validation import validate_with_pyx12

            for ig in validate_with_pyx12(path):
                problems.append(
                    Problem(ig.message, ig.element, None, None, ig.segment_index, ig.segment_id)
                )
        if _first_transaction(path) == "835":
            problems += balance_problems(path)
        return [p.located(file=path.name) for p in problems]
    if path.suffix.lower() in CLAIM_SUFFIXES:
        return read_claim_file(path, mappings=mappings).problems
    return [
        Problem(
            "is neither a claim file (.json, .jsonl, .csv) nor an X12 file (starts with ISA)",
            file=path.name,
        )
    ]


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="the report as JSON")
@click.option("--no-pyx12", is_flag=True, help="skip pyx12 (our own rules only)")
@click.pass_context
def validate(ctx: click.Context, files: tuple[str, ...], as_json: bool, no_pyx12: bool) -> None:
    """Claim files or X12 files against the implementation guides; exit 1 on any error."""
    report: dict[str, list[Problem]] = {}
    mappings = _mappings(ctx)
    for name in files:
        report[name] = validate_file(Path(name), use_pyx12=not no_pyx12, mappings=mappings)
    if as_json:
        click.echo(dumps({name: [p.as_dict() for p in ps] for name, ps in report.items()}))
    else:
        for name, problems in report.items():
            if not problems:
                click.echo(f"{name}: OK")
            for p in problems:
                click.echo(str(p) if p.file else f"{name}: {p}")
    if any(report.values()):
        sys.exit(1)


def balance_problems(path: Path) -> list[Problem]:
    """The 835's balancing errors, worded as ``gateway parse`` reports them."""
    from gateway.replies.remittances import PaymentFinished, post_835
    from gateway.x12.errors import X12SyntaxError

    problems = []
    try:
        for event in post_835(path, source_file=path.name):
            if isinstance(event, PaymentFinished):
                problems += [
                    Problem(f"not balanced: {e.message}", None, None, None, e.position)
                    for e in event.balance_errors
                ]
    except X12SyntaxError:
        pass  # a broken structure: check_837 has reported it with its position
    return problems


# -- parse ------------------------------------------------------------------------------------
def _first_transaction(path: Path) -> str:
    """The first transaction of the file (ST01, or TA1), read up to there only."""
    from gateway.x12.errors import X12SyntaxError
    from gateway.x12.reader import X12Reader

    try:
        for els in X12Reader(path, strict=False).element_lists():
            if els[0] == "ST":
                return els[1] if len(els) > 1 else ""
            if els[0] == "TA1":
                return "TA1"
    except X12SyntaxError:
        pass
    return ""


def _status_response(path: Path) -> bool:
    """A 277 claim status response (005010X212), not a 277CA."""
    from gateway.daemon.recognize import recognize

    return recognize(path).kind == "277"


def _envelope_faults(path: Path) -> list[Problem]:
    """The envelope faults (trailer counts, control numbers) of the whole file, in one lenient
    pass after its content was read (so a bad value is named first); a broken structure
    raises."""
    from gateway.x12.reader import X12Reader

    reader = X12Reader(path, strict=False)
    for _els in reader.element_lists():
        pass
    return [
        Problem(p.message, None, None, path.name, p.segment_index, p.segment_id)
        for p in reader.problems
    ]


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
    help="csv: one row per 835 service line",
)
def parse(file: str, fmt: str) -> None:
    """Any X12 file (835, 999, 277CA, TA1, 837, 270, 271, 276, 277) to JSON on stdout."""
    from gateway.x12.errors import X12SyntaxError

    path = Path(file)
    try:
        transaction = _first_transaction(path)
        if fmt == "csv" and transaction != "835":
            raise click.UsageError("--format csv is for 835 files")
        if transaction == "835":
            ok = _parse_835(path, fmt)
        elif transaction == "837":
            click.echo(dumps({"transaction": "837", "claims": list(read_837(path))}))
            ok = True
        elif transaction == "999":
            from gateway.replies.acknowledgments import group_acks, interchange_acks

            click.echo(
                dumps(
                    {
                        "transaction": "999",
                        "groups": group_acks(path),
                        "interchange_acks": interchange_acks(path),
                    }
                )
            )
            ok = True
        elif transaction == "276" or (transaction == "277" and _status_response(path)):
            from gateway.cli.followup_commands import parse_status

            ok = parse_status(path, transaction)
        elif transaction == "277":
            from gateway.replies.acknowledgments import claim_acks

            click.echo(dumps({"transaction": "277CA", "claims": claim_acks(path)}))
            ok = True
        elif transaction == "TA1":
            from gateway.replies.acknowledgments import interchange_acks

            click.echo(dumps({"transaction": "TA1", "interchange_acks": interchange_acks(path)}))
            ok = True
        elif transaction in ("270", "271"):
            from gateway.cli.eligibility_command import parse_eligibility

            ok = parse_eligibility(path, transaction)
        else:
            click.echo(
                f"{file}: transaction {transaction or '(none)'} is not one the gateway "
                "reads (835, 837, 999, 277CA, TA1, 270, 271, 276, 277)",
                err=True,
            )
            sys.exit(2)
        faults = _envelope_faults(path)
    except X12SyntaxError as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(1)
    _report(faults)  # the data was read, but the envelope does not add up: say so, exit 1
    if not ok or faults:
        sys.exit(1)


def _parse_835(path: Path, fmt: str) -> bool:
    """Stream the payments out; say on stderr which transactions do not balance."""
    import csv

    from gateway.replies.remittances import (
        CSV_COLUMNS,
        ClaimPosted,
        PaymentStarted,
        csv_rows,
        post_835,
    )

    out = sys.stdout
    balanced = True
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    else:
        out.write('{"transaction": "835", "payments": [')
    first_payment = True
    first_claim = True
    for event in post_835(path, source_file=path.name):
        if isinstance(event, PaymentStarted):
            if writer is None:
                out.write(("" if first_payment else ", ") + '{"claims": [')
            first_payment, first_claim = False, True
        elif isinstance(event, ClaimPosted):
            if writer is not None:
                writer.writerows(csv_rows(event.posting))
            else:
                record = dict(event.posting, balance=event.balance)
                out.write(("" if first_claim else ", ") + dumps(record, indent=None))
                first_claim = False
        else:
            summary = event.summary()
            if writer is None:
                out.write("], " + dumps(summary, indent=None)[1:])
            if not event.balanced:
                balanced = False
                for error in event.balance_errors:
                    what = "cannot be posted" if error.rule == "format" else "not balanced"
                    click.echo(f"{path.name}: {what}: {error.message}", err=True)
    if writer is None:
        out.write("]}\n")
    return balanced


# -- posting and review -----------------------------------------------------------------------
@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--partner", help="the partner the files came from (for status events and logs)")
@click.pass_context
def post(ctx: click.Context, files: tuple[str, ...], partner: str | None) -> None:
    """Post 835 files into the home's spool; unbalanced transactions are held for review.

    In a gateway home the files go through the ledger, like the daemon's downloads: a payment
    posted here is never posted again when the partner's copy arrives (and the reverse).
    """
    from gateway.replies.posting_files import post_remittance

    home = home_dir(ctx)
    if (home / "gateway.toml").exists():
        _post_through_ledger(home, [Path(f) for f in files], partner or "manual")
        return
    held_any = False
    for name in files:
        result = post_remittance(home, Path(name), partner=partner)
        held_any = held_any or bool(result.held)
        click.echo(
            f"{name}: posted {len(result.posted)} transaction(s) ({result.records['postings']}"
            f" claim payments), held {len(result.held)} for review, "
            f"{len(result.already)} already posted"
        )
    if held_any:
        click.echo("some payments do not add up and were held: see `gateway review list`", err=True)
        sys.exit(1)


def _post_through_ledger(home: Path, files: list[Path], partner: str) -> None:
    import shutil

    from gateway.config import database_url, load_partners, load_settings
    from gateway.daemon.inbound import process_inbound
    from gateway.daemon.outputs import emit_outputs, output_places
    from gateway.daemon.runner import AlreadyRunning, home_lock, worker_name
    from gateway.ledger.db import open_ledger

    settings = load_settings(home)
    spool = home / settings.spool.root
    inbound = private_dir(spool / "inbound" / partner)
    trouble = False
    with open_ledger(database_url(home, settings)) as ledger:
        for path in files:
            shutil.copyfile(path, inbound / f".{path.name}.part")
            os.replace(inbound / f".{path.name}.part", inbound / path.name)
            report = process_inbound(spool, ledger, partner)
            click.echo(
                f"{path.name}: posted {report.payments_posted} payment(s), held "
                f"{report.payments_held} for review"
                + (", already received" if report.duplicates else "")
                + (", quarantined (see spool/quarantine/)" if report.quarantined else "")
            )
            trouble = trouble or bool(report.payments_held or report.quarantined)
        try:  # the home's daemon writes the outputs when it runs; else they are written here
            with home_lock(home):
                partners = load_partners(home)
                emit_outputs(spool, ledger, owner=worker_name(home),
                             batch_size=settings.daemon.output_batch,
                             places=output_places(home, partners),
                             partners=[p.name for p in partners])  # fmt: skip
        except AlreadyRunning:
            click.echo("the daemon running on this home writes the outputs", err=True)
    if trouble:
        click.echo("some files were held or quarantined: see `gateway review list`", err=True)
        sys.exit(1)


@cli.group()
def review() -> None:
    """Payments held for review (possible duplicates, money that does not add up, a corrected
    copy of a discarded payment): list, release or discard."""


@review.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def review_list(ctx: click.Context, as_json: bool) -> None:
    """What is held, and exactly why; and what a review kept unposted."""
    from gateway.replies.posting_files import held

    home = home_dir(ctx)
    if not (home / "gateway.toml").exists():  # a folder that is no home: gateway post's files
        items = held(home)
        if as_json:
            click.echo(dumps(items))
            return
        _print_review_files(items)
        return
    from gateway.cli.review import ledger_review, print_review

    found = ledger_review(home)
    if as_json:
        click.echo(dumps(found))
        return
    print_review(found)


def _print_review_files(items: list[dict[str, object]]) -> None:
    if not items:
        click.echo("nothing is held for review")
    for item in items:
        click.echo(f"{item['file']} (held {item['held_at']}):")
        for t in item["transactions"]:  # type: ignore[attr-defined]
            click.echo(
                f"  transaction {t['control_number']} trace {t['trace_number']} amount "
                f"{t['amount']}, {t['claim_count']} claim(s):"
            )
            for error in t["balance_errors"]:
                click.echo(f"    - {error['message']}")


@review.command("release")
@click.argument("name")
@click.option("--note", required=True, help="why it may be posted as it is (kept in the records)")
@click.option("--claim", "claim_id", help="only this claim's held payment in the file")
@click.pass_context
def review_release(ctx: click.Context, name: str, note: str, claim_id: str | None) -> None:
    """Post a held payment on purpose, after review (postings, balances, claim states)."""
    from gateway.replies.posting_files import release

    home = home_dir(ctx)
    if (home / "gateway.toml").exists():
        from gateway.cli.review import settle

        if settle(home, name, "released", note, claim_id):
            return
    try:
        result = release(home, name, note=note)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"{name}: released, {result.records['postings']} claim payment(s) posted")


@review.command("discard")
@click.argument("name")
@click.option("--reason", required=True, help="why it will not be posted (kept in the archive)")
@click.option("--claim", "claim_id", help="only this claim's held payment in the file")
@click.pass_context
def review_discard(ctx: click.Context, name: str, reason: str, claim_id: str | None) -> None:
    """Keep a held payment unposted (a later corrected copy is still taken in)."""
    from gateway.replies.posting_files import discard

    home = home_dir(ctx)
    if (home / "gateway.toml").exists():
        from gateway.cli.review import settle

        if settle(home, name, "discarded", reason, claim_id):
            return
    try:
        target = discard(home, name, reason=reason)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"{name}: discarded, kept in {target}")


def main() -> None:
    from gateway.logs import configure

    configure()
    try:
        cli(obj={})
    except Exception as exc:
        db = sys.modules.get("gateway.ledger.db")  # not imported: not a ledger's error
        if db is None or not isinstance(exc, db.SchemaTooNew):
            raise
        click.echo(f"gateway: {exc}", err=True)  # an older gateway on a newer ledger
        sys.exit(2)


if __name__ == "__main__":
    main()
