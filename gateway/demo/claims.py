"""A realistic mix of claim records for the demo, built from the shipped samples.

Professional, dental and institutional claims with varied patients, procedures, charges and
dates, a few members the payer does not know (the simulator rejects them), and a few records
with mistakes the gateway's checks catch before anything is sent.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import date, timedelta
from decimal import Decimal
from importlib.resources import files
from typing import Any

Record = dict[str, Any]

FIRST = ["Maria", "James", "Ana", "Robert", "Linh", "David", "Fatima", "John", "Grace", "Omar"]
LAST = ["Garcia", "Smith", "Nguyen", "Johnson", "Okafor", "Brown", "Haddad", "Miller", "Lee"]
PROFESSIONAL = [("99213", "150.00"), ("99214", "210.00"), ("36415", "25.00"),
                ("87880", "35.50"), ("93000", "80.00"), ("99203", "185.00")]  # fmt: skip
DENTAL = [("D0120", "65.00"), ("D1110", "110.00"), ("D0274", "70.00"), ("D2392", "185.00")]
UNKNOWN_MEMBER_PREFIX = "XX"  # the demo payer does not know these members (277CA A7:33)


def _template(kind: str) -> Record:
    data = json.loads(files("gateway.samples").joinpath(f"{kind}.json").read_text())
    record: Record = (data if isinstance(data, list) else [data])[0]
    return record


def _person(rng: random.Random, person: Record, today: date) -> None:
    person["first_name"] = rng.choice(FIRST)
    person["last_name"] = rng.choice(LAST)
    born = today - timedelta(days=rng.randint(20 * 365, 70 * 365))
    person["birth_date"] = born.isoformat()


def _claim(rng: random.Random, n: int, kind: str, today: date) -> Record:
    record = copy.deepcopy(_template(kind))
    claim_id = f"DEMO-{n:05d}"
    record["claim_id"] = claim_id
    record.pop("patient", None)
    record.pop("total_charge", None)
    subscriber = record["subscriber"]
    _person(rng, subscriber, today)
    subscriber["member_id"] = f"M{rng.randint(10**8, 10**9 - 1)}"
    served = today - timedelta(days=rng.randint(3, 60))
    if kind == "institutional":
        inst = record["institutional"]
        inst["statement_from"] = inst["statement_to"] = served.isoformat()
        inst.pop("admission_date", None)
        inst.pop("occurrence_codes", None)
        for i, existing in enumerate(record["lines"]):
            scaled = Decimal(existing["charge"]) * Decimal(rng.randint(80, 120)) / 100
            existing.update(line_id=f"{claim_id}-{i + 1}", charge=f"{scaled:.2f}",
                            service_date=served.isoformat())  # fmt: skip
        return record
    record["service_date"] = served.isoformat()
    catalog = DENTAL if kind == "dental" else PROFESSIONAL
    lines = []
    for i, (code, charge) in enumerate(rng.sample(catalog, rng.randint(1, 3))):
        line: Record = {"line_id": f"{claim_id}-{i + 1}", "procedure": code, "charge": charge}
        if kind == "professional":
            line["diagnosis_pointers"] = [1]
        lines.append(line)
    record["lines"] = lines
    return record


def generate_claims(
    count: int, *, seed: int = 7, today: date | None = None
) -> tuple[list[Record], list[Record]]:
    """``count`` good claims (about 1 in 25 for an unknown member), and 3 with mistakes."""
    rng = random.Random(seed)
    today = today or date.today()
    kinds = ["professional"] * 6 + ["dental"] * 3 + ["institutional"]
    good = [_claim(rng, n, rng.choice(kinds), today) for n in range(1, count + 1)]
    for record in good[7::25]:
        record["subscriber"]["member_id"] = f"{UNKNOWN_MEMBER_PREFIX}{rng.randint(10**6, 10**7)}"
    bad = [_claim(rng, count + n, "professional", today) for n in range(1, 4)]
    bad[0]["billing_provider"]["npi"] = "1234567890"  # fails the NPI check digit
    bad[1]["service_date"] = (today + timedelta(days=30)).isoformat()  # in the future
    bad[1]["lines"][0].pop("service_date", None)
    bad[2]["total_charge"] = "1.00"  # not the sum of its lines
    return good, bad
