"""The demo's eligibility checks: a front desk asking before visits, and what the payer said.

Requests are made from the demo's own generated claims (so the deductible the payer reports is
the one its accumulators hold), plus a member the payer does not know, one whose coverage ended
and a dependent, so every kind of answer shows in the summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gateway.demo.claims import UNKNOWN_MEMBER_PREFIX

INACTIVE_MEMBER = "M000000042"  # the demo payer's member whose coverage ended
INACTIVE_SINCE = date(2025, 4, 30)


def eligibility_requests(claims: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """A handful of requests about the claims' patients (and three special cases)."""
    unknown_id = UNKNOWN_MEMBER_PREFIX
    known = [c for c in claims if not c["subscriber"]["member_id"].startswith(unknown_id)]
    medical = [c for c in known if c["kind"] == "professional"][:3]
    dental = [c for c in known if c["kind"] == "dental"][:1]
    out = []
    for n, claim in enumerate(medical + dental, 1):
        service_types = ["35", "41"] if claim["kind"] == "dental" else ["30", "98"]
        out.append(_request(f"ELIG-{n:03d}", claim, today, service_types))
    base = medical[0] if medical else known[0]
    unknown = _request("ELIG-UNKNOWN", base, today, ["30"])
    unknown["subscriber"]["member_id"] = f"{UNKNOWN_MEMBER_PREFIX}0000001"
    ended = _request("ELIG-ENDED", base, today, ["30"])
    ended["subscriber"]["member_id"] = INACTIVE_MEMBER
    child = _request("ELIG-CHILD", base, today, ["30"])
    child["patient"] = {"first_name": "Sam", "last_name": base["subscriber"]["last_name"],
                        "birth_date": date(today.year - 8, 6, 1).isoformat(),
                        "relationship": "19"}  # fmt: skip
    return [*out, unknown, ended, child]


def _request(
    request_id: str, claim: dict[str, Any], today: date, service_types: list[str]
) -> dict[str, Any]:
    s, b = claim["subscriber"], claim["billing_provider"]
    return {
        "request_id": request_id,
        "payer": dict(claim["payer"]),
        "provider": {"npi": b["npi"], "name": b.get("organization_name") or b.get("last_name")},
        "subscriber": {k: s[k] for k in ("member_id", "first_name", "last_name", "birth_date")},
        "service_date": today.isoformat(),
        "service_types": service_types,
    }


@dataclass
class Check:
    request_id: str
    status: str
    said: str  # the payer's answer in one sentence
    deductible_left: str  # the individual in-network deductible still open, or ""


def drop_requests(spool: Path, requests: list[dict[str, Any]]) -> None:
    (spool / "eligibility" / "front-desk.json").write_text(json.dumps(requests, indent=1))


def checks(benefits: list[dict[str, Any]]) -> list[Check]:
    """What the demo shows of each benefits record."""
    out = []
    for record in sorted(benefits, key=lambda r: str(r.get("request_id"))):
        left = next(
            (b["remaining"] for b in record["benefits"]
             if b["kind"] == "C" and b["coverage_level"] == "IND" and b["remaining"]),
            "",
        )  # fmt: skip
        out.append(Check(str(record["request_id"]), record["status"], record["summary"], left))
    return out


def print_checks(items: list[Check], console: Console) -> None:
    if not items:
        return
    table = Table(title="eligibility checks (spool/benefits/)")
    for column in ("request", "answer", "deductible left", "what the payer said"):
        table.add_column(column)
    for c in items:
        table.add_row(c.request_id, c.status, c.deductible_left, c.said)
    console.print(table)
