"""Code sets and identifier rules a claim is checked against (field guide section 7)."""

from __future__ import annotations

import re

ICD10_CM = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")
ICD10_PCS = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")
CPT = re.compile(r"^[0-9]{4}[0-9AFMTU]$")
HCPCS = re.compile(r"^[A-Z][0-9]{4}$")
CDT = re.compile(r"^D[0-9]{4}$")
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
REVENUE_CODE = re.compile(r"^[0-9]{4}$")
TAXONOMY = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X$")
ZIP = re.compile(r"^[0-9]{5}([0-9]{4})?$")
CLAIM_ID = re.compile(r"^[A-Za-z0-9-]{1,20}$")
LINE_ID = re.compile(r"^[A-Za-z0-9-]{1,30}$")
HOUR = re.compile(r"^([01][0-9]|2[0-3])[0-5][0-9]$")
# Universal National Tooth Designation: permanent 1-32, primary A-T, supernumerary 51-82, AS-TS.
TOOTH = re.compile(r"^([1-9]|[12][0-9]|3[0-2]|5[1-9]|[67][0-9]|8[0-2]|[A-T]|[A-T]S)$")
SURFACES = re.compile(r"^[MODBLIF]{1,5}$")

PLACES_OF_SERVICE = frozenset(
    [f"{n:02d}" for n in range(1, 28)]
    + ["31", "32", "33", "34", "41", "42"]
    + [f"{n:02d}" for n in range(49, 59)]
    + ["60", "61", "62", "65", "66", "71", "72", "81", "99"]
)
FILING_INDICATORS = frozenset(
    "11 12 13 14 15 16 17 AM BL CH CI DS FI HM LM MA MB MC OF TV VA WC ZZ".split()  # noqa: SIM905
)
PATIENT_RELATIONSHIPS = {
    "01": "spouse",
    "19": "child",
    "20": "employee",
    "21": "unknown",
    "39": "organ donor",
    "40": "cadaver donor",
    "53": "life partner",
    "G8": "other relationship",
}
OTHER_SUBSCRIBER_RELATIONSHIPS = frozenset(["01", "18", "19", "20", "21", "39", "40", "53", "G8"])
ORAL_CAVITY = frozenset(["00", "01", "02", "09", "10", "20", "30", "40"])
STATES = frozenset(
    """AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH
    NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR VI GU AS MP AA AE
    AP""".split()  # noqa: SIM905
)
FACILITY_TYPES = frozenset(
    ["11", "12", "13", "14", "18", "21", "22", "23", "28", "32", "33", "34", "41", "43", "65",
     "66", "71", "72", "73", "74", "75", "76", "77", "79", "81", "82", "83", "84", "85", "86",
     "89"]
)  # fmt: skip
ADMISSION_TYPES = frozenset(["1", "2", "3", "4", "5", "9"])
ADMISSION_SOURCES = frozenset(["1", "2", "4", "5", "6", "8", "9", "D", "E", "F", "G"])  # CL102
ADJUSTMENT_GROUPS = frozenset(["CO", "CR", "OA", "PI", "PR"])


def npi_check_digit(first_nine: str) -> int:
    """Luhn check digit with the 80840 prefix folded in as the constant 24 (CMS rule)."""
    total = 24
    for i, ch in enumerate(reversed(first_nine)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def npi_problem(npi: str) -> str | None:
    """Why ``npi`` is not a valid NPI, or None."""
    if len(npi) != 10 or not npi.isdigit():
        return f"NPI must be 10 digits, got {npi!r}"
    if npi[0] not in "12":
        return f"NPI must start with 1 or 2, got {npi}"
    expected = npi_check_digit(npi[:9])
    if int(npi[9]) != expected:
        return f"NPI {npi} fails the check digit (the last digit should be {expected})"
    return None


def normalize_ein(tax_id: str) -> str:
    """EINs are often written 74-1234567; the 837 wants the 9 digits."""
    return tax_id[:2] + tax_id[3:] if len(tax_id) == 10 and tax_id[2] == "-" else tax_id


def normalize_icd10(code: str) -> str:
    """``e11.9`` → ``E119``: X12 carries ICD-10 codes without the dot, in upper case."""
    return code.replace(".", "").replace(" ", "").upper()


def procedure_shape_ok(code: str, kind: str) -> bool:
    if kind == "dental":
        return CDT.match(code) is not None
    return CPT.match(code) is not None or HCPCS.match(code) is not None
