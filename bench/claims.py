"""Deterministic, varied, valid professional claims for the benchmarks.

Several billing providers (organizations and individuals), a pool of subscribers that grows with
the number of claims (so most subscribers have several claims under one 2000B), about a quarter
of the claims for a dependant (patient ≠ subscriber, loop 2000C), 1-4 lines with modifiers,
1-6 diagnoses, rendering/referring providers, service facilities, prior authorizations, some
secondary claims with an earlier payer's adjudication (loops 2320/2430), a few accented names.

Shared parties (providers, subscribers, patients, payers) are validated once and reused as model
instances, as a practice system would hand over many claims of the same people.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from gateway.domain.claim import (
    BillingProvider,
    Claim,
    OtherSubscriber,
    Patient,
    Payer,
    Provider,
    ServiceFacility,
    Subscriber,
)
from gateway.domain.codes import npi_check_digit

SEED = 837

FIRST = ["JAMES", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
         "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
         "Sarah", "Carlos", "Karen", "Chen", "Nancy", "Daniel", "Lisa", "Matthew", "Betty",
         "Anthony", "Margaret", "Mark", "Sandra", "José", "Zoë", "Renée", "Ana"]  # fmt: skip
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
        "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
        "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
        "Harris", "O'Brien", "Nguyen", "Doe-Muñoz", "Kim", "Walker", "Young", "Allen"]  # fmt: skip
STREETS = ["Main Street", "Elm Street", "Oak Avenue", "Pine Road", "Maple Drive", "Cedar Lane",
           "Lakeview Boulevard", "Park Place", "Washington Avenue", "Hillcrest Court"]  # fmt: skip
CITIES = [("Austin", "TX", "787"), ("Dallas", "TX", "752"), ("Houston", "TX", "770"),
          ("Phoenix", "AZ", "850"), ("Denver", "CO", "802"), ("Portland", "OR", "972"),
          ("Columbus", "OH", "432"), ("Atlanta", "GA", "303"), ("Tampa", "FL", "336")]  # fmt: skip
PAYERS = [("ACMEH", "Acme Health Plan"), ("BCBS01", "Blue Shield of Somewhere"),
          ("UHC87726", "United Health"), ("AETNA60054", "Aetna"), ("CIGNA62308", "Cigna"),
          ("MCR04412", "Medicare Part B"), ("HUMANA61101", "Humana")]  # fmt: skip
FILING = {"MCR04412": "MB"}
TAXONOMIES = ["207Q00000X", "208D00000X", "207R00000X", "208000000X", "207X00000X",
              "363LF0000X", "261QP2300X"]  # fmt: skip
PROCEDURES = ["99213", "99214", "99212", "99215", "99203", "36415", "87880", "81002",
              "90471", "90686", "93000", "71046", "J3420", "G0439", "97110", "20610"]  # fmt: skip
MODIFIERS = ["25", "59", "QW", "LT", "RT", "26", "TC", "GT", "95", "XU"]
DIAGNOSES = ["E11.9", "I10", "J06.9", "Z00.00", "M54.5", "E78.5", "R05.9", "Z23", "K21.9",
             "F41.1", "J45.909", "N39.0", "M25.561", "R51.9", "E66.9", "G43.909", "Z79.4",
             "L30.9", "H10.9", "B34.9"]  # fmt: skip
PLACES = ["11", "11", "11", "22", "02", "10", "19"]
FIRST_DAY = date(2024, 1, 2)


def npi(rng: random.Random, first: str = "1") -> str:
    """A random NPI with a valid check digit."""
    body = first + "".join(rng.choice("0123456789") for _ in range(8))
    return f"{body}{npi_check_digit(body)}"


def _address(rng: random.Random, zip9: bool = False) -> dict[str, Any]:
    city, state, prefix = rng.choice(CITIES)
    zip5 = f"{prefix}{rng.randrange(100):02d}"
    out: dict[str, Any] = {
        "line1": f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}",
        "city": city,
        "state": state,
        "zip": zip5 + (f"{rng.randrange(10000):04d}" if zip9 else ""),
    }
    if rng.random() < 0.15:
        out["line2"] = f"Suite {rng.randrange(1, 500)}"
    return out


def _person(rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {"first_name": rng.choice(FIRST), "last_name": rng.choice(LAST)}
    if rng.random() < 0.2:
        out["middle_name"] = rng.choice("ABCDEFGHJKLMNPRSTW")
    return out


def _birth(rng: random.Random, lo: int, hi: int) -> str:
    return (date(2024, 1, 1) - timedelta(days=rng.randrange(lo * 365, hi * 365))).isoformat()


class _Pools:
    """The shared parties, sized from the number of claims."""

    def __init__(self, rng: random.Random, n: int) -> None:
        self.billing: list[BillingProvider] = []
        for i in range(8):
            bp: dict[str, Any] = {
                "npi": npi(rng, "1"),
                "tax_id": f"{rng.randrange(10, 99)}-{rng.randrange(1000000, 9999999)}",
                "taxonomy": TAXONOMIES[i % len(TAXONOMIES)],
                "address": _address(rng, zip9=True),
            }
            if i % 3 == 2:
                bp.update(_person(rng))
            else:
                bp["organization_name"] = f"{rng.choice(LAST)} {rng.choice(STREETS)} Clinic"
            self.billing.append(BillingProvider.model_validate(bp))
        self.rendering = [
            Provider.model_validate(
                {"npi": npi(rng), **_person(rng), "taxonomy": rng.choice(TAXONOMIES)}
            )
            for _ in range(40)
        ]
        self.referring = [
            Provider.model_validate({"npi": npi(rng), **_person(rng)}) for _ in range(30)
        ]
        self.facilities = [
            ServiceFacility.model_validate(
                {
                    "name": f"{rng.choice(LAST)} Outpatient Center",
                    "npi": npi(rng, "1"),
                    "address": _address(rng, zip9=True),
                }
            )
            for _ in range(6)
        ]
        self.payers = [Payer.model_validate({"id": i, "name": nm}) for i, nm in PAYERS]
        # Subscribers: about one per three claims; each has a payer and maybe dependants.
        self.subscribers: list[tuple[Subscriber, Payer, list[Patient], dict[str, Any] | None]] = []
        for k in range(max(20, n // 3)):
            payer = rng.choice(self.payers)
            secondary = rng.random() < 0.06
            sub: dict[str, Any] = {
                "member_id": f"M{rng.randrange(10**9, 10**10)}",
                **_person(rng),
                "birth_date": _birth(rng, 20, 85),
                "sex": rng.choice("FM"),
                "address": _address(rng),
                "filing_indicator": FILING.get(payer.id, "CI"),
                "sequence": "S" if secondary else "P",
            }
            if rng.random() < 0.7:
                sub["group_number"] = f"GRP{rng.randrange(1000, 99999)}"
            if rng.random() < 0.05:
                sub["suffix"] = rng.choice(["JR", "SR", "III"])
            subscriber = Subscriber.model_validate(sub)
            patients = []
            if rng.random() < 0.3:
                for _ in range(rng.randint(1, 3)):
                    p = {
                        "relationship": rng.choice(["19", "19", "01", "G8"]),
                        **_person(rng),
                        "last_name": subscriber.last_name,
                        "birth_date": _birth(rng, 1, 18),
                        "sex": rng.choice("FM"),
                        "address": sub["address"],
                    }
                    patients.append(Patient.model_validate(p))
            other = None
            if secondary:
                first_payer = self.payers[(k + 1) % len(self.payers)]
                other = {
                    "payer": first_payer,
                    "subscriber": OtherSubscriber(
                        member_id=f"P{rng.randrange(10**8, 10**9)}",
                        first_name=subscriber.first_name,
                        last_name=subscriber.last_name,
                    ),
                    "paid_amount": "0",
                    "paid_date": "2024-06-28",
                }
            self.subscribers.append((subscriber, payer, patients, other))


def _claim(rng: random.Random, pools: _Pools, i: int) -> Claim:
    subscriber, payer, dependants, other = rng.choice(pools.subscribers)
    patient = rng.choice(dependants) if dependants and rng.random() < 0.8 else None
    day = FIRST_DAY + timedelta(days=rng.randrange(170))
    pos = rng.choice(PLACES)
    dx = rng.sample(DIAGNOSES, rng.randint(1, 6))
    lines = []
    for k in range(rng.randint(1, 4)):
        cents = rng.randrange(1500, 45000)
        line: dict[str, Any] = {
            "line_id": f"L{i:08d}-{k + 1}",
            "procedure": rng.choice(PROCEDURES),
            "charge": f"{cents // 100}.{cents % 100:02d}",
            "diagnosis_pointers": sorted(
                rng.sample(range(1, len(dx) + 1), min(len(dx), rng.randint(1, 4)))
            ),
        }
        r = rng.random()
        if r < 0.45:
            line["modifiers"] = rng.sample(MODIFIERS, rng.randint(1, 2))
        if rng.random() < 0.15:
            line["units"] = str(rng.randint(2, 4))
        if rng.random() < 0.3:
            line["service_date"] = (day + timedelta(days=rng.randrange(3))).isoformat()
            if rng.random() < 0.2:
                line["service_date_end"] = (day + timedelta(days=rng.randrange(3, 6))).isoformat()
        if rng.random() < 0.05:
            line["place_of_service"] = "11" if pos != "11" else "22"
        lines.append(line)
    claim: dict[str, Any] = {
        "claim_id": f"BN{i:08d}",
        "kind": "professional",
        "billing_provider": pools.billing[i % 7 if rng.random() < 0.9 else 7],
        "payer": payer,
        "subscriber": subscriber,
        "patient": patient,
        "diagnoses": dx,
        "place_of_service": pos,
        "service_date": day.isoformat(),
        "lines": lines,
    }
    if rng.random() < 0.7:
        claim["rendering_provider"] = rng.choice(pools.rendering)
    if rng.random() < 0.2:
        claim["referring_provider"] = rng.choice(pools.referring)
    if rng.random() < 0.1:
        claim["service_facility"] = rng.choice(pools.facilities)
    if rng.random() < 0.1:
        claim["prior_authorization"] = f"AUTH{rng.randrange(10**6)}"
    if rng.random() < 0.05:
        claim["referral_number"] = f"REF{rng.randrange(10**6)}"
    if rng.random() < 0.15:
        claim["patient_paid"] = f"{rng.choice([10, 20, 25, 40])}.00"
    if rng.random() < 0.03:
        claim["frequency"] = "7"
        claim["payer_claim_number"] = f"PCN{rng.randrange(10**9)}"
    if other is not None:
        claim["other_payers"] = [
            {
                **other,
                "adjustments": [{"group": "OA", "reason": "23", "amount": "0"}],
                "line_adjudications": [
                    {
                        "line_id": ln["line_id"],
                        "paid_amount": "0",
                        "adjustments": [{"group": "PR", "reason": "1", "amount": ln["charge"]}],
                    }
                    for ln in lines
                ],
            }
        ]
    return Claim.model_validate(claim)


def make_claims(n: int, seed: int = SEED) -> list[Claim]:
    """``n`` professional claims, the same for the same ``n`` and ``seed``."""
    rng = random.Random(seed)
    pools = _Pools(rng, n)
    return [_claim(rng, pools, i) for i in range(1, n + 1)]
