"""``gateway explain``: a claim's explanation printed like a good explanation of benefits (a
table per line, then plain sentences, then what happened when)."""

from __future__ import annotations

from typing import Any

import click

from gateway.domain.explanation import SEQUENCES


def print_explanation(found: dict[str, Any]) -> None:
    person = found["patient"]
    name = " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p)
    click.echo(f"Claim {found['claim_id']} for {name or 'the patient'} ({found['state']})")
    click.echo(found["explanation"][0])
    click.echo("")
    sequences = [p["sequence"] for p in found["payers"]]
    paid_heads = "".join(f" {'paid (' + s + ')':>10}" for s in sequences)
    click.echo(f"  {'date':<10}  {'service':<44} {'billed':>9} {'allowed':>9}{paid_heads}")
    for line in found["lines"]:
        service = f"{line['procedure'] or ''} {line['description'] or ''}".strip()
        paid = "".join(f" {line['paid'].get(s, '-'):>10}" for s in sequences)
        click.echo(f"  {line['date'] or '':<10}  {service[:44]:<44} {line['billed']:>9} "
                   f"{line['allowed'] or 'not yet':>9}{paid}")  # fmt: skip
        for a in line["adjustments"]:
            who = SEQUENCES.get(a["sequence"], a["sequence"])
            click.echo(f"      {a['code']:<7} {a['amount']:>9}  {a['meaning']} ({who}): "
                       f"{a['text']}")  # fmt: skip
    click.echo("")
    for sentence in found["explanation"][1:]:
        click.echo(sentence)
    if found["chronology"]:
        click.echo("")
        click.echo("What happened:")
        for item in found["chronology"]:
            click.echo(f"  {item['at'][:10]}  {item['said']}")
    if found["dispute"]:
        d = found["dispute"]
        click.echo("")
        click.echo(f"In dispute since {d['at'][:10]} ({d['author']}): {d['text']}")
    if found["notes"]:
        click.echo("")
        click.echo("Notes:")
        for n in found["notes"]:
            kind = {"dispute_opened": "dispute opened: ", "dispute_closed": "dispute closed: "}
            click.echo(f"  {n['at'][:16].replace('T', ' ')}  {n['author']}: "
                       f"{kind.get(n['kind'], '')}{n['text']}")  # fmt: skip
