"""Hypothesis strategies for random valid claim records of every kind."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from gateway.domain.codes import npi_check_digit

TODAY = date(2026, 11, 27)
ICD10 = ["E119", "I10", "J069", "R079", "M545", "Z0000", "K0252", "E785", "F411", "S83511A"]
ICD10_DOTTED = ["E11.9", "J06.9", "R07.9", "M54.5", "K02.52", "S83.511A"]
CPT = ["99213", "99214", "36415", "87880", "93000", "J3420", "G0439", "0001A", "99281"]
CDT = ["D0120", "D0150", "D1110", "D2392", "D2740", "D7140", "D0274"]
MODIFIERS = ["25", "59", "QW", "LT", "RT", "GT", "95", "76"]
REVENUE = ["0450", "0300", "0250", "0320", "0636", "0120"]
POS = ["11", "12", "19", "21", "22", "23", "02", "10"]
STATES = ["TX", "CA", "NY", "FL", "WA", "IL"]
TAXONOMY = ["207Q00000X", "208D00000X", "1223G0001X", "282N00000X", "207P00000X"]
FILING = ["CI", "MB", "MC", "BL", "HM", "12"]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzéñüÅ"


@st.composite
def npis(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from("12")) + "".join(
        draw(st.lists(st.sampled_from("0123456789"), min_size=8, max_size=8))
    )
    return base + str(npi_check_digit(base))


def words(min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[str]:
    """A name: starts with a letter; may hold accents, apostrophes, hyphens and delimiters."""
    head = st.text(alphabet=LETTERS[:52], min_size=min_size, max_size=min_size)
    tail = st.text(alphabet=LETTERS + " '-.*~:^", max_size=max_size - min_size)
    return st.builds(lambda a, b: (a + b).strip(), head, tail)


def amounts(low: int = 1, high: int = 500_000) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda cents: Decimal(cents) / 100)


@st.composite
def addresses(draw: st.DrawFn, zip9: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "line1": f"{draw(st.integers(1, 9999))} {draw(words(1, 20))}",
        "city": draw(words(2, 20)),
        "state": draw(st.sampled_from(STATES)),
        "zip": "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9)))
        if zip9 or draw(st.booleans())
        else "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=5, max_size=5))),
    }
    if draw(st.booleans()):
        out["line2"] = f"SUITE {draw(st.integers(1, 999))}"
    return out


def dates(start: date, end: date) -> st.SearchStrategy[date]:
    return st.integers(0, (end - start).days).map(lambda d: start + timedelta(days=d))


@st.composite
def people(draw: st.DrawFn, born_before: date) -> dict[str, Any]:
    out: dict[str, Any] = {
        "first_name": draw(words(1, 15)),
        "last_name": draw(words(1, 20)),
        "birth_date": draw(dates(date(1930, 1, 1), born_before)).isoformat(),
        "sex": draw(st.sampled_from("FMU")),
        "address": draw(addresses()),
    }
    if draw(st.booleans()):
        out["middle_name"] = draw(words(1, 10))
    if draw(st.integers(0, 4)) == 0:
        out["suffix"] = draw(st.sampled_from(["JR", "SR", "III"]))
    return out


@st.composite
def providers(draw: st.DrawFn, taxonomy: bool | str = True, org: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"npi": draw(npis())}
    if org and draw(st.integers(0, 5)) == 0:
        out["organization_name"] = draw(words(1, 30))
    else:
        out["last_name"] = draw(words(1, 20))
        out["first_name"] = draw(words(1, 15))
    if taxonomy and (taxonomy == "always" or draw(st.booleans())):
        out["taxonomy"] = draw(st.sampled_from(TAXONOMY))
    return out


@st.composite
def claims(draw: st.DrawFn, kind: str, claim_id: str | None = None) -> dict[str, Any]:
    """One valid claim record (a dict, as a practice system would send it)."""
    service = draw(dates(date(2023, 1, 1), TODAY - timedelta(days=1)))
    diagnoses = draw(
        st.lists(
            st.sampled_from(ICD10 + ICD10_DOTTED),
            min_size=1,
            max_size=12,
            unique_by=lambda c: c.replace(".", ""),
        )
    )
    if kind == "dental":
        diagnoses = [] if draw(st.integers(0, 3)) == 0 else diagnoses[:4]
    billing: dict[str, Any] = {
        "npi": draw(npis()),
        "tax_id": draw(st.sampled_from(["741234567", "74-1234567", "123456789"])),
        "taxonomy": draw(st.sampled_from(TAXONOMY)),
        "address": draw(addresses(zip9=True)),
    }
    if kind == "institutional" or draw(st.integers(0, 3)) > 0:
        billing["organization_name"] = draw(words(1, 40))
    else:
        billing["last_name"] = draw(words(1, 20))
        billing["first_name"] = draw(words(1, 15))
    subscriber = draw(people(born_before=service))
    subscriber["member_id"] = draw(st.from_regex(r"[A-Z0-9]{2,20}", fullmatch=True))
    subscriber["filing_indicator"] = draw(st.sampled_from(FILING))
    if draw(st.booleans()):
        subscriber["group_number"] = draw(st.from_regex(r"[A-Z0-9-]{1,15}", fullmatch=True))
    claim: dict[str, Any] = {
        "claim_id": claim_id
        or draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,19}", fullmatch=True)),
        "kind": kind,
        "billing_provider": billing,
        "payer": {
            "id": draw(st.from_regex(r"[A-Z0-9]{2,10}", fullmatch=True)),
            "name": draw(words(1, 30)),
        },
        "subscriber": subscriber,
        "diagnoses": diagnoses,
    }
    if draw(st.booleans()):
        patient = draw(people(born_before=service))
        patient["relationship"] = draw(
            st.sampled_from(["01", "19", "20", "21", "39", "40", "53", "G8"])
        )
        claim["patient"] = patient
    frequency = draw(st.sampled_from(["1", "1", "1", "7", "8"]))
    if frequency != "1":
        claim["frequency"] = frequency
        claim["payer_claim_number"] = draw(st.from_regex(r"[A-Z0-9]{5,15}", fullmatch=True))
    for key in ("rendering_provider", "referring_provider"):
        if draw(st.booleans()):
            org = key == "rendering_provider" and kind != "institutional"
            taxonomy: bool | str = key == "rendering_provider" and kind != "institutional"
            if taxonomy and kind == "dental":
                taxonomy = "always"
            claim[key] = draw(providers(org=org, taxonomy=taxonomy))
    if kind == "institutional":
        claim["attending_provider"] = draw(providers())
    if draw(st.integers(0, 3)) == 0:
        facility: dict[str, Any] = {
            "name": draw(words(1, 30)),
            "address": draw(addresses(zip9=True)),
        }
        if draw(st.booleans()):
            facility["npi"] = draw(npis())
        claim["service_facility"] = facility
    if draw(st.booleans()):
        claim["prior_authorization"] = draw(st.from_regex(r"[A-Z0-9]{3,15}", fullmatch=True))
    if draw(st.booleans()):
        claim["referral_number"] = draw(st.from_regex(r"[A-Z0-9]{3,15}", fullmatch=True))
    if kind != "institutional":
        claim["place_of_service"] = draw(st.sampled_from(POS))
        if draw(st.booleans()):
            claim["patient_paid"] = str(draw(amounts(0, 5000)))
        if draw(st.booleans()):
            claim["signature_on_file"] = False
    if draw(st.booleans()):
        claim["service_date"] = service.isoformat()
    if draw(st.integers(0, 4)) == 0:
        claim["assignment_of_benefits"] = False
        claim["provider_accepts_assignment"] = draw(
            st.sampled_from("AC" if kind == "dental" else "ABC")
        )
    if draw(st.integers(0, 4)) == 0:
        claim["release_of_information"] = "I"
    n_lines = draw(st.integers(1, 8 if kind != "institutional" else 12))
    lines = [draw(service_lines(kind, n, len(diagnoses), service, claim)) for n in range(n_lines)]
    claim["lines"] = lines
    if draw(st.booleans()):
        claim["total_charge"] = str(sum(Decimal(str(line["charge"])) for line in lines))
    if kind == "institutional":
        claim["institutional"] = draw(institutional(service))
    if draw(st.integers(0, 3)) == 0:
        claim["subscriber"]["sequence"] = "S"
        claim["other_payers"] = [draw(other_payer(lines, service, kind))]
    return claim


@st.composite
def service_lines(
    draw: st.DrawFn, kind: str, n: int, dx_count: int, service: date, claim: dict[str, Any]
) -> dict[str, Any]:
    line: dict[str, Any] = {"line_id": f"L{n + 1}-{draw(st.integers(0, 999))}"}
    charge = draw(amounts())
    line["charge"] = draw(st.sampled_from([str(charge), charge]))
    if kind == "dental":
        line["procedure"] = draw(st.sampled_from(CDT))
    elif kind == "professional" or draw(st.booleans()):
        line["procedure"] = draw(st.sampled_from(CPT))
    if "procedure" in line and draw(st.booleans()):
        line["modifiers"] = draw(st.lists(st.sampled_from(MODIFIERS), max_size=4))
    if "procedure" in line and kind != "institutional" and draw(st.integers(0, 6)) == 0:
        line["description"] = draw(words(1, 40))
    if draw(st.booleans()):
        line["units"] = draw(st.sampled_from([2, 3, Decimal("1.5"), Decimal("0.25")]))
    if kind != "institutional" and dx_count:
        line["diagnosis_pointers"] = draw(
            st.lists(st.integers(1, dx_count), min_size=1, max_size=min(4, dx_count), unique=True)
        )
    if "service_date" not in claim or draw(st.booleans()):
        line["service_date"] = service.isoformat()
        if draw(st.integers(0, 4)) == 0:
            end = service + timedelta(days=draw(st.integers(0, 3)))
            if end < TODAY:
                line["service_date_end"] = end.isoformat()
    if kind != "institutional" and draw(st.integers(0, 5)) == 0:
        line["place_of_service"] = draw(st.sampled_from(POS))
    if kind == "dental":
        if draw(st.booleans()):
            line["tooth"] = draw(st.sampled_from(["1", "8", "14", "19", "30", "32", "A", "T"]))
            if draw(st.booleans()):
                line["surfaces"] = "".join(
                    draw(st.lists(st.sampled_from("MODBLIF"), min_size=1, max_size=5, unique=True))
                )
        elif draw(st.booleans()):
            line["oral_cavity"] = draw(
                st.lists(
                    st.sampled_from(["00", "01", "02", "10", "20", "30", "40"]),
                    min_size=1,
                    max_size=5,
                    unique=True,
                )
            )
    if kind == "institutional":
        line["revenue_code"] = draw(st.sampled_from(REVENUE))
        if draw(st.integers(0, 4)) == 0:
            line["non_covered_charge"] = str(draw(amounts(1, 1000)))
    return line


@st.composite
def institutional(draw: st.DrawFn, service: date) -> dict[str, Any]:
    end = min(service + timedelta(days=draw(st.integers(0, 5))), TODAY - timedelta(days=1))
    out: dict[str, Any] = {
        "facility_type": draw(st.sampled_from(["11", "13", "21", "71", "83", "85"])),
        "patient_status": draw(st.sampled_from(["01", "02", "03", "06", "20", "30"])),
        "statement_from": service.isoformat(),
        "statement_to": end.isoformat(),
        "admission_type": draw(st.sampled_from(["1", "2", "3", "9"])),
        "admission_source": draw(st.sampled_from(["1", "2", "4"])),
    }
    if draw(st.booleans()):
        out["admission_date"] = service.isoformat()
        if draw(st.booleans()):
            out["admission_hour"] = draw(st.sampled_from(["0000", "0830", "2359"]))
    if draw(st.booleans()):
        out["discharge_hour"] = draw(st.sampled_from(["1015", "1700"]))
    if draw(st.booleans()):
        out["admitting_diagnosis"] = draw(st.sampled_from(ICD10_DOTTED))
    if draw(st.booleans()):
        out["condition_codes"] = draw(
            st.lists(st.sampled_from(["01", "02", "39", "A1", "80"]), max_size=5, unique=True)
        )
    if draw(st.booleans()):
        out["occurrence_codes"] = [
            {"code": code, "date": service.isoformat()}
            for code in draw(
                st.lists(st.sampled_from(["01", "11", "24", "A1"]), max_size=14, unique=False)
            )
        ]
    if draw(st.booleans()):
        out["value_codes"] = [
            {"code": code, "amount": str(draw(amounts(0, 99999)))}
            for code in draw(st.lists(st.sampled_from(["01", "02", "80", "A1"]), max_size=3))
        ]
    if draw(st.booleans()):
        out["principal_procedure"] = {
            "code": draw(st.sampled_from(["0DTJ4ZZ", "02HV33Z", "0JH60DZ"])),
            "date": service.isoformat(),
        }
    if draw(st.booleans()):
        out["drg"] = draw(st.sampled_from(["470", "871", "292"]))
    return out


@st.composite
def other_payer(
    draw: st.DrawFn, lines: list[dict[str, Any]], service: date, kind: str
) -> dict[str, Any]:
    paid_date = service + timedelta(days=draw(st.integers(0, 30)))
    paid_date = min(paid_date, TODAY - timedelta(days=1))
    out: dict[str, Any] = {
        "payer": {
            "id": draw(st.from_regex(r"[A-Z0-9]{2,10}", fullmatch=True)),
            "name": draw(words(1, 30)),
        },
        "subscriber": {
            "member_id": draw(st.from_regex(r"[A-Z0-9]{2,20}", fullmatch=True)),
            "first_name": draw(words(1, 15)),
            "last_name": draw(words(1, 20)),
            "relationship": draw(st.sampled_from(["18", "01", "19"])),
        },
        "filing_indicator": draw(st.sampled_from(FILING)),
        "paid_amount": str(draw(amounts(0, 10000))),
        "paid_date": paid_date.isoformat(),
        "adjustments": [
            {"group": g, "reason": r, "amount": str(draw(amounts(1, 5000)))}
            for g, r in draw(
                st.lists(
                    st.sampled_from([("CO", "45"), ("PR", "1"), ("PR", "2"), ("OA", "23")]),
                    max_size=3,
                )
            )
        ],
    }
    if draw(st.booleans()):
        out["payer_claim_number"] = draw(st.from_regex(r"[A-Z0-9]{5,15}", fullmatch=True))
    adjudicated = [line for line in lines if "procedure" in line and draw(st.booleans())]
    out["line_adjudications"] = [
        {
            "line_id": line["line_id"],
            "paid_amount": str(draw(amounts(0, 5000))),
            "adjustments": [{"group": "CO", "reason": "45", "amount": str(draw(amounts(1, 500)))}],
        }
        for line in adjudicated
    ]
    return out
