"""The codes of a 271 in plain words: what an EB row is, for whom, for which service, per what.

EB segments are the hard part of reading an eligibility answer (field guide part 2, 3.2). These
tables say each code the way a front desk would; service type names ship as data
(``data/service_types.tsv``, the 187 codes the 005010X279A1 guide allows). A code missing from a
table is never dropped or guessed: :func:`meaning` gives it back raw with "unknown".
"""

from __future__ import annotations

from gateway.domain.adjustment_codes import code_table

# EB01: what the row says.
KINDS = {
    "1": "active coverage",
    "2": "active coverage, full risk capitation",
    "3": "active coverage, services capitated",
    "4": "active coverage, services capitated to the primary care physician",
    "5": "active coverage, pending investigation",
    "6": "inactive",
    "7": "inactive, pending eligibility update",
    "8": "inactive, pending investigation",
    "A": "coinsurance",
    "B": "copay",
    "C": "deductible",
    "CB": "coverage basis",
    "D": "benefit description",
    "E": "exclusions",
    "F": "limitations",
    "G": "out-of-pocket maximum (stop loss)",
    "H": "unlimited",
    "I": "not covered",
    "J": "cost containment",
    "K": "reserve",
    "L": "primary care provider",
    "M": "pre-existing condition",
    "MC": "managed care coordinator",
    "N": "services restricted to the following provider",
    "O": "not deemed a medical necessity",
    "P": "benefit disclaimer",
    "Q": "second surgical opinion required",
    "R": "other or additional payer",
    "S": "prior year(s) history",
    "T": "card(s) reported lost or stolen",
    "U": "contact the following entity for eligibility or benefit information",
    "V": "cannot process",
    "W": "other source of data",
    "X": "health care facility",
    "Y": "spend down",
}
ACTIVE_KINDS = frozenset({"1", "2", "3", "4", "5"})
INACTIVE_KINDS = frozenset({"6", "7", "8"})

# EB02: whom the row covers.
COVERAGE_LEVELS = {
    "CHD": "children only",
    "DEP": "dependents only",
    "ECH": "employee and children",
    "EMP": "employee only",
    "ESP": "employee and spouse",
    "FAM": "family",
    "IND": "individual",
    "SPC": "spouse and children",
    "SPO": "spouse only",
}

# EB04: the kind of insurance.
INSURANCE_TYPES = {
    "12": "Medicare secondary, working aged beneficiary or spouse with employer group health plan",
    "13": "Medicare secondary, end-stage renal disease beneficiary in the 30-month coordination "
    "period with an employer's group health plan",
    "14": "Medicare secondary, no-fault insurance (including auto) is primary",
    "15": "Medicare secondary, workers' compensation",
    "16": "Medicare secondary, public health service or other federal agency",
    "41": "Medicare secondary, black lung",
    "42": "Medicare secondary, veterans administration",
    "43": "Medicare secondary, disabled beneficiary under 65 with a large group health plan",
    "47": "Medicare secondary, other liability insurance is primary",
    "AP": "auto insurance policy",
    "C1": "commercial",
    "CO": "COBRA continuation coverage",
    "CP": "Medicare conditionally primary",
    "D": "disability",
    "DB": "disability benefits",
    "EP": "exclusive provider organization (EPO)",
    "FF": "family or friends",
    "GP": "group policy",
    "HM": "health maintenance organization (HMO)",
    "HN": "HMO, Medicare risk",
    "HS": "special low income Medicare beneficiary",
    "IN": "indemnity",
    "IP": "individual policy",
    "LC": "long term care",
    "LD": "long term policy",
    "LI": "life insurance",
    "LT": "litigation",
    "MA": "Medicare Part A",
    "MB": "Medicare Part B",
    "MC": "Medicaid",
    "MH": "Medigap Part A",
    "MI": "Medigap Part B",
    "MP": "Medicare primary",
    "OT": "other",
    "PE": "property insurance, personal",
    "PL": "personal",
    "PP": "personal payment (cash, no insurance)",
    "PR": "preferred provider organization (PPO)",
    "PS": "point of service (POS)",
    "QM": "qualified Medicare beneficiary",
    "RP": "property insurance, real",
    "SP": "supplemental policy",
    "TF": "TEFRA",
    "WC": "workers' compensation",
    "WU": "wrap up policy",
}

# EB06 and HSD05: per what time.
TIME_PERIODS = {
    "6": "per hour",
    "7": "per day",
    "13": "per 24 hours",
    "21": "per year",
    "22": "per service year",
    "23": "per calendar year",
    "24": "year to date",
    "25": "per contract",
    "26": "per episode",
    "27": "per visit",
    "28": "outlier",
    "29": "remaining",
    "30": "exceeded",
    "31": "not exceeded",
    "32": "lifetime",
    "33": "lifetime remaining",
    "34": "per month",
    "35": "per week",
    "36": "per admission",
}
REMAINING_PERIODS = frozenset({"29", "33"})

# EB09 and HSD01: what a quantity counts.
QUANTITY_QUALIFIERS = {
    "8H": "minimum",
    "99": "quantity used",
    "CA": "covered, actual",
    "CE": "covered, estimated",
    "D3": "co-insurance days",
    "DB": "deductible blood units",
    "DY": "days",
    "FL": "units",
    "HS": "hours",
    "LA": "lifetime reserve, actual",
    "LE": "lifetime reserve, estimated",
    "M2": "maximum",
    "MN": "months",
    "P6": "services or procedures",
    "QA": "quantity approved",
    "S7": "age, high value",
    "S8": "age, low value",
    "VS": "visits",
    "YY": "years",
}

# HSD03: the unit a delivery pattern counts in.
DELIVERY_UNITS = {"DA": "days", "MO": "months", "VS": "visits", "WK": "weeks", "YR": "years"}

# EB12: the network the row is about.
NETWORKS = {
    "Y": "in network",
    "N": "out of network",
    "W": "in and out of network",
    "U": "network not known",
}
# EB11: authorization or certification required.
AUTHORIZATION = {"Y": "authorization required", "N": "no authorization required",
                 "U": "unknown whether authorization is required"}  # fmt: skip

# AAA03: why the payer could not answer, and what the practice should do about it.
REJECT_REASONS: dict[str, tuple[str, str]] = {
    "04": ("authorized quantity exceeded", "check the quantity or the authorization"),
    "15": ("required application data missing", "add the missing field and send again"),
    "33": ("input errors", "check the request's formats and send again"),
    "35": ("out of network", "the provider is out of the patient's network: tell the patient"),
    "41": ("authorization or access restrictions",
           "the provider is not set up for inquiries with this payer: check the enrolment"),
    "42": ("unable to respond at current time", "ask again later"),
    "43": ("invalid or missing provider identification",
           "check the provider's NPI and the payer enrolment"),
    "44": ("invalid or missing provider name", "check the provider's name as enrolled"),
    "45": ("invalid or missing provider specialty", "check the provider's taxonomy"),
    "46": ("invalid or missing provider phone number", "check the provider's phone number"),
    "47": ("invalid or missing provider state", "check the provider's address"),
    "48": ("invalid or missing referring provider identification number",
           "check the referring provider's NPI"),
    "49": ("provider is not the primary care physician",
           "the patient's primary care physician must ask, or a referral is needed"),
    "50": ("provider ineligible for inquiries", "check the provider's enrolment with the payer"),
    "51": ("provider not on file", "enrol the provider with the payer"),
    "52": ("service dates not within provider plan enrolment",
           "check the date of service against the provider's enrolment"),
    "53": ("inquired benefit inconsistent with provider type", "ask for another service type"),
    "54": ("inappropriate product or service ID qualifier", "check the procedure qualifier"),
    "55": ("inappropriate product or service ID", "check the procedure code"),
    "56": ("inappropriate date", "check the date of service"),
    "57": ("invalid or missing date(s) of service", "check the date of service"),
    "58": ("invalid or missing date of birth", "check the birth date on the card"),
    "60": ("date of birth follows date(s) of service",
           "check the birth date and the date of service"),
    "61": ("date of death precedes date(s) of service",
           "the payer records the patient as deceased before the visit: call the payer"),
    "62": ("date of service not within allowable inquiry period",
           "ask about a date within the last 12 months and this month"),
    "63": ("date of service in future", "ask again closer to the visit (this month at the latest)"),
    "64": ("invalid or missing patient ID", "check the patient's member ID on the card"),
    "65": ("invalid or missing patient name", "check the patient's name on the card"),
    "66": ("invalid or missing patient gender code", "check the patient's sex"),
    "67": ("patient not found", "check the patient's name, birth date and member ID"),
    "68": ("duplicate patient ID number", "add the patient's name and birth date"),
    "69": ("inconsistent with patient's age", "check the service type against the patient's age"),
    "70": ("inconsistent with patient's gender", "check the service type and the patient's sex"),
    "71": ("patient birth date does not match the payer's record",
           "verify the birth date with the patient and the card"),
    "72": ("invalid or missing subscriber/insured ID",
           "check the member ID on the card and send again"),
    "73": ("invalid or missing subscriber/insured name", "check the subscriber's name on the card"),
    "74": ("invalid or missing subscriber/insured gender code", "check the subscriber's sex"),
    "75": ("subscriber not found",
           "check the member ID and birth date, and that this is the right payer"),
    "76": ("duplicate subscriber/insured ID number", "add the subscriber's name and birth date"),
    "77": ("subscriber found, patient not found",
           "check the dependent's name and birth date, or ask whether they are on the plan"),
    "78": ("subscriber not in the group/plan identified", "check the group number on the card"),
    "79": ("invalid participant identification", "the clearinghouse or payer set-up: call them"),
    "80": ("no response received, transaction terminated", "ask again later"),
    "97": ("invalid or missing provider address", "check the provider's address"),
    "98": ("experimental service or procedure", "the service is considered experimental"),
    "AA": ("authorization number not found", "check the authorization number"),
    "AE": ("requires primary care physician authorization", "get the PCP's authorization"),
    "AF": ("invalid or missing diagnosis code(s)", "check the diagnosis codes"),
    "AG": ("invalid or missing procedure code(s)", "check the procedure codes"),
    "AO": ("additional patient condition information required", "send the condition information"),
    "CI": ("certification information does not match patient", "check the certification"),
    "E8": ("requires medical review", "the payer will review: wait for its answer"),
    "IA": ("invalid authorization number format", "check the authorization number"),
    "MA": ("missing authorization", "get an authorization first"),
    "T4": ("payer name or identifier missing", "check the payer id of the request"),
}  # fmt: skip

# AAA04: what the payer allows next.
FOLLOW_UPS = {
    "C": "correct and resubmit",
    "N": "resubmission not allowed",
    "P": "resubmit the original transaction",
    "R": "resubmission allowed",
    "S": "do not resubmit; the inquiry went to a third party",
    "W": "wait 30 days and resubmit",
    "X": "wait 10 days and resubmit",
    "Y": "do not resubmit; the payer will respond again shortly",
}

# DTP01 of a 271: what a date is.
DATE_QUALIFIERS = {
    "096": "discharge",
    "102": "issue",
    "152": "effective date of change",
    "193": "period start",
    "194": "period end",
    "198": "completion",
    "290": "coordination of benefits",
    "291": "plan",
    "292": "benefit",
    "295": "primary care provider",
    "304": "latest visit or consultation",
    "307": "eligibility",
    "318": "added",
    "340": "COBRA begin",
    "341": "COBRA end",
    "342": "premium paid to date begin",
    "343": "premium paid to date end",
    "346": "plan begin",
    "347": "plan end",
    "348": "benefit begin",
    "349": "benefit end",
    "356": "eligibility begin",
    "357": "eligibility end",
    "382": "enrollment",
    "435": "admission",
    "442": "date of death",
    "458": "certification",
    "472": "service",
    "539": "policy effective",
    "540": "policy expiration",
    "636": "date of last update",
    "771": "status",
}

# INS02 of a dependent: how the patient relates to the subscriber.
RELATIONSHIPS = {
    "01": "spouse",
    "18": "self",
    "19": "child",
    "20": "employee",
    "21": "unknown",
    "34": "other adult",
    "39": "organ donor",
    "40": "cadaver donor",
    "53": "life partner",
    "G8": "other relationship",
}

# NM101 of a 2120 loop: who the related entity is.
ENTITIES = {
    "13": "contracted service provider",
    "1I": "preferred provider organization (PPO)",
    "1P": "provider",
    "2B": "third-party administrator",
    "36": "employer",
    "73": "other physician",
    "FA": "facility",
    "GP": "gateway provider",
    "GW": "group",
    "I3": "independent physicians association (IPA)",
    "IL": "insured or subscriber",
    "LR": "legal representative",
    "OC": "origin carrier",
    "P3": "primary care provider",
    "P4": "prior insurance carrier",
    "P5": "plan sponsor",
    "PR": "payer",
    "PRP": "primary payer",
    "SEP": "secondary payer",
    "TTP": "tertiary payer",
    "VER": "party performing verification",
    "VN": "vendor",
    "VY": "organization completing configuration change",
    "X3": "utilization management organization",
    "Y2": "managed care organization",
}


def service_type_text(code: str) -> str:
    return meaning(code_table("service_types"), code, "service type")


def meaning(table: dict[str, str], code: str, what: str) -> str:
    """The plain words of ``code``; a code the table lacks comes back raw, said unknown."""
    text = table.get(code)
    return text if text is not None else f"unknown {what} code {code}"


def reject_reason(code: str) -> tuple[str, str]:
    """(what AAA03 means, what to do); an unknown code says so and asks to call the payer."""
    found = REJECT_REASONS.get(code)
    if found is not None:
        return found
    return f"unknown reject reason code {code}", "call the payer and quote this code"
