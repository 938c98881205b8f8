"""Pre-submission checks: what a clearinghouse or payer would reject, said before we send it.

Each rule gives a plain sentence naming the field (``lines[2].charge``: lists count from 1, like
the line numbers on a claim form). :func:`problems_from_validation_error` turns pydantic's shape
errors into the same form, so a billing office reads one kind of message.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from gateway.domain import codes
from gateway.domain.claim import Address, Claim, Line, Provider
from gateway.domain.claim_bounds import MAX_AMOUNT, MAX_UNITS, bound_problems
from gateway.domain.next_payer_checks import next_payer_problems
from gateway.domain.problems import Problem

MAX_LINES = {"professional": 50, "dental": 50, "institutional": 999}
MAX_DIAGNOSES = {"professional": 12, "dental": 4, "institutional": 12}  # 837D HI has 4 slots
FREQUENCY_NAMES = {"7": "replacement", "8": "void"}


def field_path(loc: tuple[int | str, ...]) -> str:
    """('lines', 0, 'charge') → 'lines[1].charge' (list positions count from 1)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def problems_from_validation_error(
    exc: ValidationError, *, record: str = "the claim record"
) -> list[Problem]:
    """Plain-language problems from pydantic's errors (one per error, with its field);
    ``record`` names what was read (an unknown field "is not a field of" it)."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        path = field_path(loc)
        out.append(Problem(_plain(err, record), field=path or None))
    return out


def _plain(err: Any, record: str) -> str:
    kind, given = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return f"is not a field of {record} (a typo? unknown fields are refused so no data is lost)"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}, got {given!r}"
    if kind == "string_too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else (f"must be at least {ctx.get('min_length')} characters")
        )
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters, got {len(str(given))}"
    if kind in ("string_type",):
        return f"must be text, got {given!r}"
    if kind in ("list_type",):
        return f"must be a list, got {given!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be an object with fields, got {given!r}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {given!r}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, got {given!r}"
    if kind.startswith("decimal"):
        return f"must be a number, got {given!r}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return str(err["msg"])


def check_claim(
    claim: Claim, *, today: date, ledger_fills_payer_number: bool = False
) -> list[Problem]:
    """Every rule a well-formed claim record can still break; empty when it is fit to send.

    ``ledger_fills_payer_number``: a replacement or void may leave ``payer_claim_number`` out,
    the ledger fills it from the payer's replies (it refuses the claim when it knows none)."""
    return list(_ClaimChecker(claim, today, ledger_fills_payer_number).run())


class _ClaimChecker:
    def __init__(self, claim: Claim, today: date, fills: bool = False) -> None:
        self.c = claim
        self.today = today
        self.fills = fills

    def run(self) -> Iterator[Problem]:
        c = self.c
        if not codes.CLAIM_ID.match(c.claim_id):
            yield Problem(
                f"must be 1-20 characters of A-Z, a-z, 0-9 and '-', got {c.claim_id!r}",
                "claim_id",
            )
        if c.frequency in FREQUENCY_NAMES and not c.payer_claim_number and not self.fills:
            yield Problem(
                f"frequency {c.frequency} ({FREQUENCY_NAMES[c.frequency]}) needs the payer's "
                "claim number of the original claim",
                "payer_claim_number",
            )
        yield from self.billing_provider()
        for name in ("rendering_provider", "referring_provider", "attending_provider"):
            provider = getattr(c, name)
            if provider is not None:
                yield from self.provider(provider, name)
                org_allowed = name == "rendering_provider" and c.kind != "institutional"
                taxonomy_sent = name == "attending_provider" or (
                    name == "rendering_provider" and c.kind != "institutional"
                )
                if provider.taxonomy is not None and not taxonomy_sent:
                    yield Problem(
                        "has no place in this claim's 837 (only billing, rendering and attending "
                        "providers carry a taxonomy); leave it out",
                        f"{name}.taxonomy",
                    )
                if name == "rendering_provider" and c.kind == "dental" and not provider.taxonomy:
                    yield Problem(
                        "is required for a dental rendering provider (837D PRV segment)",
                        f"{name}.taxonomy",
                    )
                if provider.organization_name and not org_allowed:
                    yield Problem(
                        "must be a person (last_name, first_name) here, not an organization",
                        f"{name}.organization_name",
                    )
        if c.kind == "institutional" and c.attending_provider is None:
            yield Problem("is required for an institutional claim", "attending_provider")
        if c.service_facility is not None:
            f = c.service_facility
            if f.npi is not None and (why := codes.npi_problem(f.npi)):
                yield Problem(why, "service_facility.npi")
            yield from self.address(f.address, "service_facility.address", zip9=True)
        if len(c.payer.id) > 80 or not c.payer.id.strip():
            yield Problem("must not be empty", "payer.id")
        yield from self.subscriber()
        yield from self.diagnoses()
        yield from self.kind_rules()
        yield from self.amounts()
        yield from self.lines()
        yield from self.dates()
        yield from self.other_payers()
        yield from next_payer_problems(c, self.today, self.address)
        yield from bound_problems(c)

    # -- parties ----------------------------------------------------------------------------
    def billing_provider(self) -> Iterator[Problem]:
        b = self.c.billing_provider
        if why := codes.npi_problem(b.npi):
            yield Problem(why, "billing_provider.npi")
        ein = codes.normalize_ein(b.tax_id)
        if not (len(ein) == 9 and ein.isdigit()):
            yield Problem(
                f"must be an EIN of 9 digits (like 741234567 or 74-1234567), got {b.tax_id!r}",
                "billing_provider.tax_id",
            )
        if not codes.TAXONOMY.match(b.taxonomy):
            yield Problem(
                f"{b.taxonomy!r} is not a provider taxonomy code (10 characters ending in X, "
                "like 207Q00000X)",
                "billing_provider.taxonomy",
            )
        if self.c.kind == "institutional" and not b.organization_name:
            yield Problem(
                "an institutional claim's billing provider must be an organization "
                "(organization_name)",
                "billing_provider.organization_name",
            )
        elif not b.organization_name and not (b.last_name and b.first_name):
            yield Problem(
                "needs organization_name, or last_name and first_name", "billing_provider"
            )
        yield from self.address(b.address, "billing_provider.address", zip9=True)

    def provider(self, p: Provider, name: str) -> Iterator[Problem]:
        if why := codes.npi_problem(p.npi):
            yield Problem(why, f"{name}.npi")
        if not p.organization_name and not p.last_name:
            yield Problem("needs last_name (or organization_name)", name)
        if p.taxonomy is not None and not codes.TAXONOMY.match(p.taxonomy):
            yield Problem(
                f"{p.taxonomy!r} is not a provider taxonomy code (10 characters ending in X, "
                "like 207Q00000X)",
                f"{name}.taxonomy",
            )

    def address(self, a: Address, name: str, *, zip9: bool = False) -> Iterator[Problem]:
        if a.state not in codes.STATES:
            yield Problem(f"{a.state!r} is not a US state code", f"{name}.state")
        if not codes.ZIP.match(a.zip):
            yield Problem(f"must be 5 or 9 digits, got {a.zip!r}", f"{name}.zip")
        elif zip9 and len(a.zip) != 9:
            yield Problem(f"must have 9 digits (ZIP+4) here, got {a.zip!r}", f"{name}.zip")

    def subscriber(self) -> Iterator[Problem]:
        s = self.c.subscriber
        if s.filing_indicator not in codes.FILING_INDICATORS:
            yield Problem(
                f"{s.filing_indicator!r} is not a claim filing indicator code (CI commercial, "
                "MB Medicare Part B, MC Medicaid, ...)",
                "subscriber.filing_indicator",
            )
        yield from self.address(s.address, "subscriber.address")
        p = self.c.patient
        if p is not None:
            if p.relationship not in codes.PATIENT_RELATIONSHIPS:
                yield Problem(
                    f"{p.relationship!r} is not a patient relationship code (01 spouse, 19 "
                    "child, 20 employee, 21 unknown, 39 organ donor, 40 cadaver donor, 53 life "
                    "partner, G8 other)",
                    "patient.relationship",
                )
            yield from self.address(p.address, "patient.address")
        wanted = {"P": 0, "S": 1, "T": 2}[s.sequence]
        if len(self.c.other_payers) < wanted:
            yield Problem(
                f"sequence {s.sequence} needs the {wanted} earlier payer(s) in other_payers",
                "subscriber.sequence",
            )

    # -- clinical ---------------------------------------------------------------------------
    def diagnoses(self) -> Iterator[Problem]:
        dx = self.c.diagnoses
        if not dx and self.c.kind != "dental":
            yield Problem("needs at least one ICD-10-CM code", "diagnoses")
        limit = MAX_DIAGNOSES[self.c.kind]
        if len(dx) > limit:
            yield Problem(
                f"a {self.c.kind} claim has at most {limit} codes, got {len(dx)}", "diagnoses"
            )
        for i, code in enumerate(dx, 1):
            if not codes.ICD10_CM.match(codes.normalize_icd10(code)):
                yield Problem(
                    f"{code!r} is not an ICD-10-CM code (a letter, a digit, then 1 to 5 letters "
                    "or digits, like E11.9)",
                    f"diagnoses[{i}]",
                )
        seen: set[str] = set()
        for i, code in enumerate(dx, 1):
            norm = codes.normalize_icd10(code)
            if norm in seen:
                yield Problem(f"{code!r} is listed twice", f"diagnoses[{i}]")
            seen.add(norm)

    def kind_rules(self) -> Iterator[Problem]:
        c = self.c
        if c.kind in ("professional", "dental"):
            if c.place_of_service is None:
                yield Problem(f"is required for a {c.kind} claim", "place_of_service")
            elif c.place_of_service not in codes.PLACES_OF_SERVICE:
                yield Problem(
                    f"{c.place_of_service!r} is not a place of service code (two digits, like "
                    "11 office)",
                    "place_of_service",
                )
            if c.institutional is not None:
                yield Problem(f"is only for institutional claims, not {c.kind}", "institutional")
            if c.kind == "dental" and c.provider_accepts_assignment == "B":
                yield Problem(
                    "B (clinical lab services only) is not used on dental claims: use A or C",
                    "provider_accepts_assignment",
                )
        else:
            if c.institutional is None:
                yield Problem("is required for an institutional claim", "institutional")
            else:
                yield from self.institutional()
            if c.place_of_service is not None:
                yield Problem(
                    "is not used on institutional claims (the type of bill says where)",
                    "place_of_service",
                )

    def institutional(self) -> Iterator[Problem]:
        i = self.c.institutional
        assert i is not None
        if i.facility_type not in codes.FACILITY_TYPES:
            yield Problem(
                f"{i.facility_type!r} is not a type of bill (the first two digits, like 13 "
                "hospital outpatient)",
                "institutional.facility_type",
            )
        if i.admission_source is not None and i.admission_source not in codes.ADMISSION_SOURCES:
            yield Problem(
                f"{i.admission_source!r} is not a point of origin code (1 non-health-care, "
                "2 clinic or physician, 4 hospital transfer, 5 SNF, 6 other facility, 8 court, "
                "9 unknown, D, E, F, G)",
                "institutional.admission_source",
            )
        if i.admission_type is not None and i.admission_type not in codes.ADMISSION_TYPES:
            yield Problem(
                f"{i.admission_type!r} is not an admission type code (1 emergency, 2 urgent, "
                "3 elective, 4 newborn, 5 trauma, 9 unknown)",
                "institutional.admission_type",
            )
        if not (len(i.patient_status) == 2 and i.patient_status.isdigit()):
            yield Problem(
                f"must be a two-digit discharge status code (01 home, 30 still a patient, ...), "
                f"got {i.patient_status!r}",
                "institutional.patient_status",
            )
        if i.statement_to < i.statement_from:
            yield Problem(
                f"statement_to {i.statement_to} is before statement_from {i.statement_from}",
                "institutional.statement_to",
            )
        for name in ("admission_hour", "discharge_hour"):
            value = getattr(i, name)
            if value is not None and not codes.HOUR.match(value):
                yield Problem(f"must be a time HHMM, got {value!r}", f"institutional.{name}")
        if i.admitting_diagnosis is not None and not codes.ICD10_CM.match(
            codes.normalize_icd10(i.admitting_diagnosis)
        ):
            yield Problem(
                f"{i.admitting_diagnosis!r} is not an ICD-10-CM code",
                "institutional.admitting_diagnosis",
            )
        if i.principal_procedure is not None and not codes.ICD10_PCS.match(
            i.principal_procedure.code
        ):
            yield Problem(
                f"{i.principal_procedure.code!r} is not an ICD-10-PCS code (7 letters or digits, "
                "no I or O)",
                "institutional.principal_procedure.code",
            )
        for n, code in enumerate(i.condition_codes, 1):
            if not (len(code) == 2 and code.isalnum()):
                yield Problem(
                    f"{code!r} is not a condition code (2 characters)",
                    f"institutional.condition_codes[{n}]",
                )
        if len(i.condition_codes) > 24:
            yield Problem("at most 24 condition codes", "institutional.condition_codes")
        for n, occ in enumerate(i.occurrence_codes, 1):
            if not (len(occ.code) == 2 and occ.code.isalnum()):
                yield Problem(
                    f"{occ.code!r} is not an occurrence code (2 characters)",
                    f"institutional.occurrence_codes[{n}].code",
                )
        for n, val in enumerate(i.value_codes, 1):
            if not (len(val.code) == 2 and val.code.isalnum()):
                yield Problem(
                    f"{val.code!r} is not a value code (2 characters)",
                    f"institutional.value_codes[{n}].code",
                )
            yield from self.money(val.amount, f"institutional.value_codes[{n}].amount")

    # -- money ------------------------------------------------------------------------------
    def money(self, value: Decimal, name: str) -> Iterator[Problem]:
        if value < 0:
            yield Problem(f"must not be negative, got {value}", name)
        if abs(value) >= MAX_AMOUNT:
            return  # out of range: bound_problems says so
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
            yield Problem(f"has more than two decimals: {value}", name)

    def amounts(self) -> Iterator[Problem]:
        c = self.c
        for i, line in enumerate(c.lines, 1):
            yield from self.money(line.charge, f"lines[{i}].charge")
            if line.non_covered_charge is not None:
                yield from self.money(line.non_covered_charge, f"lines[{i}].non_covered_charge")
        if c.patient_paid is not None:
            yield from self.money(c.patient_paid, "patient_paid")
        if c.total_charge is not None:
            yield from self.money(c.total_charge, "total_charge")
            if c.lines and c.total_charge != c.line_total:
                yield Problem(
                    f"{c.total_charge} does not equal the sum of the line charges {c.line_total}",
                    "total_charge",
                )

    # -- lines ------------------------------------------------------------------------------
    def lines(self) -> Iterator[Problem]:
        c = self.c
        limit = MAX_LINES[c.kind]
        if not c.lines:
            yield Problem("needs at least one service line", "lines")
        if len(c.lines) > limit:
            yield Problem(
                f"a {c.kind} claim has at most {limit} lines, this one has {len(c.lines)}",
                "lines",
            )
        seen: set[str] = set()
        for i, line in enumerate(c.lines, 1):
            name = f"lines[{i}]"
            if not codes.LINE_ID.match(line.line_id):
                yield Problem(
                    f"must be 1-30 characters of A-Z, a-z, 0-9 and '-', got {line.line_id!r}",
                    f"{name}.line_id",
                )
            if line.line_id in seen:
                yield Problem(
                    f"{line.line_id!r} is used by an earlier line of this claim",
                    f"{name}.line_id",
                )
            seen.add(line.line_id)
            yield from self.line(line, name)

    def line(self, line: Line, name: str) -> Iterator[Problem]:
        kind = self.c.kind
        if line.procedure is None:
            if kind != "institutional":
                yield Problem(f"is required on a {kind} line", f"{name}.procedure")
        elif not codes.procedure_shape_ok(line.procedure, kind):
            what = (
                "a CDT code (D and four digits, like D2392)"
                if kind == "dental"
                else "a CPT or HCPCS code (like 99213 or J3420)"
            )
            yield Problem(f"{line.procedure!r} is not {what}", f"{name}.procedure")
        if len(line.modifiers) > 4:
            yield Problem(f"at most 4 modifiers, got {len(line.modifiers)}", f"{name}.modifiers")
        for m, mod in enumerate(line.modifiers, 1):
            if not codes.MODIFIER.match(mod):
                yield Problem(
                    f"{mod!r} is not a modifier (two letters or digits)",
                    f"{name}.modifiers[{m}]",
                )
        if line.units <= 0:
            yield Problem(f"must be greater than zero, got {line.units}", f"{name}.units")
        elif line.units < MAX_UNITS and line.units != line.units.quantize(Decimal("0.001")):
            yield Problem(f"has more than three decimals: {line.units}", f"{name}.units")
        dx_count = len(self.c.diagnoses)
        pointers = line.diagnosis_pointers
        if kind != "dental" and not pointers:
            yield Problem("needs at least one pointer", f"{name}.diagnosis_pointers")
        if len(pointers) > 4:
            yield Problem(f"at most 4 pointers, got {len(pointers)}", f"{name}.diagnosis_pointers")
        for p in pointers if dx_count or kind != "dental" else []:
            if not 1 <= p <= dx_count:
                yield Problem(
                    f"pointer {p} points outside the {dx_count} diagnoses (use 1 to {dx_count})",
                    f"{name}.diagnosis_pointers",
                )
        if line.place_of_service is not None:
            if kind == "institutional":
                yield Problem("is not used on institutional lines", f"{name}.place_of_service")
            elif line.place_of_service not in codes.PLACES_OF_SERVICE:
                yield Problem(
                    f"{line.place_of_service!r} is not a place of service code",
                    f"{name}.place_of_service",
                )
        if kind == "dental":
            if line.tooth is not None and not codes.TOOTH.match(line.tooth):
                yield Problem(
                    f"{line.tooth!r} is not a tooth number (1-32 permanent, A-T primary)",
                    f"{name}.tooth",
                )
            if line.surfaces is not None:
                if line.tooth is None:
                    yield Problem("need a tooth", f"{name}.surfaces")
                if not codes.SURFACES.match(line.surfaces) or len(set(line.surfaces)) != len(
                    line.surfaces
                ):
                    yield Problem(
                        f"{line.surfaces!r} is not a set of tooth surfaces (up to 5 of the "
                        "letters M O D B L I F, each once)",
                        f"{name}.surfaces",
                    )
            if len(line.oral_cavity) > 5:
                yield Problem("at most 5 oral cavity codes", f"{name}.oral_cavity")
            for code in line.oral_cavity:
                if code not in codes.ORAL_CAVITY:
                    yield Problem(
                        f"{code!r} is not an oral cavity code (00, 01, 02, 09, 10, 20, 30, 40)",
                        f"{name}.oral_cavity",
                    )
        else:
            for field in ("tooth", "surfaces"):
                if getattr(line, field) is not None:
                    yield Problem("is only for dental claims", f"{name}.{field}")
            if line.oral_cavity:
                yield Problem("is only for dental claims", f"{name}.oral_cavity")
        if kind == "institutional":
            if line.revenue_code is None:
                yield Problem("is required on an institutional line", f"{name}.revenue_code")
            elif not codes.REVENUE_CODE.match(line.revenue_code):
                yield Problem(
                    f"{line.revenue_code!r} is not a revenue code (four digits, like 0450)",
                    f"{name}.revenue_code",
                )
        elif line.revenue_code is not None:
            yield Problem("is only for institutional claims", f"{name}.revenue_code")
        if line.non_covered_charge is not None and kind != "institutional":
            yield Problem("is only for institutional claims", f"{name}.non_covered_charge")

    # -- dates ------------------------------------------------------------------------------
    def dates(self) -> Iterator[Problem]:
        c = self.c
        births = [("subscriber.birth_date", c.subscriber.birth_date)]
        if c.patient is not None:
            births.append(("patient.birth_date", c.patient.birth_date))
        for name, born in births:
            if born > self.today:
                yield Problem(f"{born} is in the future", name)
        patient_birth = births[-1]
        seen: set[tuple[str, str]] = set()  # the claim's own date is judged once, not per line
        for i, line in enumerate(c.lines, 1):
            start = line.service_date or c.service_date
            if start is None and c.institutional is not None:
                start = c.institutional.statement_from
            if start is None:
                yield Problem(
                    "has no date of service: give service_date on the line or on the claim",
                    f"lines[{i}].service_date",
                )
                continue
            field = f"lines[{i}].service_date" if line.service_date else "service_date"
            if start > self.today and (field, "future") not in seen:
                seen.add((field, "future"))
                yield Problem(f"{start} is in the future", field)
            if start < patient_birth[1] and (field, "birth") not in seen:
                seen.add((field, "birth"))
                yield Problem(
                    f"{start} is before the patient's birth date {patient_birth[1]}", field
                )
            if line.service_date_end is not None and line.service_date_end < start:
                yield Problem(
                    f"{line.service_date_end} is before the start of service {start}",
                    f"lines[{i}].service_date_end",
                )
            if line.service_date_end is not None and line.service_date_end > self.today:
                yield Problem(
                    f"{line.service_date_end} is in the future", f"lines[{i}].service_date_end"
                )
        inst = c.institutional
        if inst is not None:
            if inst.statement_to > self.today:
                yield Problem(f"{inst.statement_to} is in the future", "institutional.statement_to")
            if inst.statement_from < patient_birth[1]:
                yield Problem(
                    f"{inst.statement_from} is before the patient's birth date {patient_birth[1]}",
                    "institutional.statement_from",
                )

    def other_payers(self) -> Iterator[Problem]:
        c = self.c
        line_ids = {line.line_id for line in c.lines}
        for n, op in enumerate(c.other_payers, 1):
            name = f"other_payers[{n}]"
            yield from self.money(op.paid_amount, f"{name}.paid_amount")
            if op.filing_indicator not in codes.FILING_INDICATORS:
                yield Problem(
                    f"{op.filing_indicator!r} is not a claim filing indicator code",
                    f"{name}.filing_indicator",
                )
            if op.subscriber.relationship not in codes.OTHER_SUBSCRIBER_RELATIONSHIPS:
                yield Problem(
                    f"{op.subscriber.relationship!r} is not a relationship code",
                    f"{name}.subscriber.relationship",
                )
            if op.paid_date > self.today:
                yield Problem(f"{op.paid_date} is in the future", f"{name}.paid_date")
            for k, la in enumerate(op.line_adjudications, 1):
                if la.line_id not in line_ids:
                    yield Problem(
                        f"{la.line_id!r} is not a line of this claim",
                        f"{name}.line_adjudications[{k}].line_id",
                    )
