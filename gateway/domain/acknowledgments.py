"""What partners say about our files and claims: TA1, 999 and 277CA in domain words.

Every code comes with its plain-English meaning (field guide section 6), so an admin reading a
rejection does not need the implementation guide at hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

TA1_STATUS = {"A": "accepted", "E": "accepted with errors", "R": "rejected"}
TA1_NOTES = {
    "000": "no error",
    "001": "the interchange control number in the header and trailer do not match",
    "002": "this standard as noted in the control standards identifier is not supported",
    "003": "this version of the controls is not supported",
    "004": "the segment terminator is invalid",
    "005": "invalid interchange ID qualifier for the sender",
    "006": "invalid interchange sender ID",
    "007": "invalid interchange ID qualifier for the receiver",
    "008": "invalid interchange receiver ID",
    "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier value",
    "011": "invalid authorization information value",
    "012": "invalid security information qualifier value",
    "013": "invalid security information value",
    "014": "invalid interchange date value",
    "015": "invalid interchange time value",
    "016": "invalid interchange standards identifier value",
    "017": "invalid interchange version ID value",
    "018": "invalid interchange control number value",
    "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "023": "improper (premature) end-of-file (transmission)",
    "024": "invalid interchange content (e.g. invalid GS segment)",
    "025": "duplicate interchange control number",
    "026": "invalid data element separator",
    "027": "invalid component element separator",
    "028": "invalid delivery date in deferred delivery request",
    "029": "invalid delivery time in deferred delivery request",
    "030": "invalid delivery time code in deferred delivery request",
    "031": "invalid grade of service code",
}
ACK_STATUS = {
    "A": "accepted",
    "E": "accepted, but errors were noted",
    "P": "partially accepted: at least one transaction set was rejected",
    "R": "rejected",
    "M": "rejected: message authentication code failed",
    "W": "rejected: assurance failed validity tests",
    "X": "rejected: content after decryption could not be analyzed",
}
REJECTED = frozenset({"R", "M", "W", "X"})
SEGMENT_ERRORS = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": "implementation dependent 'not used' segment present",
}
ELEMENT_ERRORS = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
    "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
}
SET_ERRORS = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "8": "authentication key name unknown",
    "9": "encryption key name unknown",
    "10": "requested service (authentication or encryption) not available",
    "11": "unknown security recipient",
    "12": "incorrect message length (encryption)",
    "13": "message authentication code failed",
    "15": "unknown security originator",
    "16": "syntax error in decrypted text",
    "17": "security not supported",
    "18": "transaction set not in functional group",
    "19": "invalid transaction set implementation convention reference",
    "23": "transaction set control number not unique within the functional group",
    "24": "S3E security end segment missing for S3S security start segment",
    "25": "S3S security start segment missing for S3E security end segment",
    "26": "S4E security end segment missing for S4S security start segment",
    "27": "S4S security start segment missing for S4E security end segment",
    "I5": "implementation one or more segments in error",
    "I6": "implementation convention not supported",
}
GROUP_ERRORS = {
    "1": "functional group not supported",
    "2": "functional group version not supported",
    "3": "functional group trailer missing",
    "4": "group control number in the header and trailer do not agree",
    "5": "number of included transaction sets does not match actual count",
    "6": "group control number violates syntax",
    "10": "authentication key name unknown",
    "11": "encryption key name unknown",
    "12": "requested service (authentication or encryption) not available",
    "13": "unknown security recipient",
    "14": "unknown security originator",
    "15": "syntax error in decrypted text",
    "16": "security not supported",
    "17": "S3E security end segment missing for S3S security start segment",
    "18": "S3S security start segment missing for S3E security end segment",
    "19": "S4E security end segment missing for S4S security start segment",
    "20": "S4S security start segment missing for S4E security end segment",
    "21": "functional group control number not unique within interchange",
}
STC_CATEGORIES = {
    "A0": "acknowledgement: forwarded to another entity",
    "A1": "acknowledgement: received (not yet accepted for adjudication)",
    "A2": "acknowledgement: accepted into the adjudication system",
    "A3": "acknowledgement: returned as unprocessable claim",
    "A4": "acknowledgement: not found",
    "A5": "acknowledgement: split claim",
    "A6": "acknowledgement: rejected for missing information",
    "A7": "acknowledgement: rejected for invalid information",
    "A8": "acknowledgement: rejected for relational field in error",
    "P0": "pending: adjudication or processing",
    "P1": "pending: in process",
    "P2": "pending: payer review",
    "P3": "pending: provider requested information",
    "P4": "pending: patient requested information",
    "P5": "pending: payer administrative or system hold",
    "F0": "finalized",
    "F1": "finalized: payment",
    "F2": "finalized: denial",
    "F3": "finalized: revised",
    "F4": "finalized: adjudication complete, no payment forthcoming",
    "R0": "requests for additional information: general",
    "E0": "response not possible: error on submitted request data",
    "E1": "response not possible: system status",
    "D0": "data search unsuccessful",
}
ACCEPTED_CATEGORIES = frozenset({"A2", "A5"})
RECEIVED_CATEGORIES = frozenset({"A0", "A1"})
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})
STC_STATUS = {
    "0": "cannot provide further status electronically",
    "1": "for more detailed information, see remittance advice",
    "3": "claim has been adjudicated and is awaiting payment cycle",
    "15": "justification for admission",
    "16": "claim/encounter has been forwarded to entity",
    "19": "entity acknowledges receipt of claim/encounter",
    "20": "accepted for processing",
    "21": "missing or invalid information",
    "23": "returned to entity",
    "24": "entity not approved as an electronic submitter",
    "25": "entity not approved",
    "26": "entity not found",
    "27": "policy canceled",
    "29": "subscriber and policy number/contract number mismatched",
    "30": "subscriber and subscriber id mismatched",
    "31": "subscriber and policyholder name mismatched",
    "32": "subscriber and policy number/contract number not found",
    "33": "subscriber and subscriber id not found",
    "35": "procedure code for services rendered",
    "54": "duplicate of a previously processed claim/line",
    "78": "duplicate of an existing claim/line, awaiting processing",
    "85": "entity's date of service",
    "88": "entity's type of bill",
    "97": "patient eligibility not found with entity",
    "116": "claim submitted to incorrect payer",
    "145": "entity's responsibility",
    "158": "entity's date of birth",
    "164": "entity's contract/member number",
    "178": "submitted charges",
    "187": "date(s) of service",
    "189": "facility type code",
    "191": "claim frequency code",
    "247": "line information",
    "252": "authorization/certification (include period covered)",
    "254": "principal diagnosis code",
    "255": "diagnosis code",
    "400": "claim is out of balance",
    "454": "procedure code for services rendered",
    "455": "revenue code for services rendered",
    "458": "entity's address",
    "464": "payer assigned claim control number",
    "477": "national provider identifier (NPI)",
    "496": "submitter not approved for electronic claim submissions on behalf of this entity",
    "500": "entity's postal/ZIP code",
    "507": "HCPCS",
    "510": "future date",
    "511": "invalid character",
    "512": "length invalid for receiver's application system",
    "513": "message not supported",
    "516": "entity's billing provider taxonomy code",
    "562": "entity's national provider identifier (NPI)",
    "673": "patient control number",
    "697": "invalid combination",
    "715": "entity's tax id",
    "732": "information submitted inconsistent with billing guidelines",
    "755": "entity's primary identifier",
}
ENTITIES = {
    "03": "dependent",
    "1P": "provider",
    "40": "receiver",
    "41": "submitter",
    "71": "attending physician",
    "72": "operating physician",
    "77": "service location",
    "82": "rendering provider",
    "85": "billing provider",
    "87": "pay-to provider",
    "DN": "referring provider",
    "DK": "ordering physician",
    "DQ": "supervising physician",
    "GB": "other insured",
    "IL": "insured or subscriber",
    "PR": "payer",
    "QC": "patient",
    "TT": "transfer to",
}


def text(table: dict[str, str], code: str, what: str) -> str:
    """The meaning of ``code`` in ``table``, or a sentence saying the code is not known."""
    return table.get(code) or f"unknown {what} {code} (not in our table)"


@dataclass(slots=True)
class InterchangeAck:
    """TA1: what happened to one of our interchanges."""

    control_number: str  # our ISA13
    status: str  # A, E, R
    note_code: str
    interchange_date: str = ""
    interchange_time: str = ""
    position: int = 0

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


@dataclass(slots=True)
class ElementError:
    position: str  # IK401: element[:component[:repetition]]
    reference: str  # IK402 data element number
    code: str  # IK403
    bad_value: str = ""  # IK404


@dataclass(slots=True)
class SegmentError:
    segment_id: str  # IK301
    position: str  # IK302: position in the transaction set (ST = 1)
    loop: str  # IK303
    code: str  # IK304
    context: list[str] = field(default_factory=list)  # CTX (business unit, e.g. CLM01:PCN-1)
    elements: list[ElementError] = field(default_factory=list)


@dataclass(slots=True)
class SetAck:
    """999 AK2 ... IK5: one of our transaction sets."""

    set_id: str  # AK201
    control_number: str  # AK202: our ST02
    version: str  # AK203
    status: str = ""  # IK501
    codes: list[str] = field(default_factory=list)  # IK502-IK506
    segment_errors: list[SegmentError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


@dataclass(slots=True)
class GroupAck:
    """999 AK1 ... AK9: one of our functional groups."""

    functional_id: str  # AK101
    control_number: str  # AK102: our GS06
    version: str  # AK103
    status: str = ""  # AK901
    sets_included: int = 0  # AK902
    sets_received: int = 0  # AK903
    sets_accepted: int = 0  # AK904
    codes: list[str] = field(default_factory=list)  # AK905-AK909
    sets: list[SetAck] = field(default_factory=list)
    position: int = 0


@dataclass(slots=True)
class Status:
    """One STC: category, status code and the entity it is about."""

    category: str
    code: str
    entity: str = ""
    effective: date | None = None
    action: str = ""  # WQ accept, U reject
    amount: Decimal | None = None
    free_text: str = ""

    @property
    def rejected(self) -> bool:
        return self.category in REJECTED_CATEGORIES


@dataclass(slots=True)
class LineStatus:
    line_id: str = ""  # REF*FJ: our REF*6R
    procedure: str = ""
    charge: Decimal | None = None
    statuses: list[Status] = field(default_factory=list)


@dataclass(slots=True)
class ClaimAck:
    """277CA 2200D: what the payer or clearinghouse says about one claim."""

    claim_id: str = ""  # TRN02 = our CLM01
    patient_last_name: str = ""
    patient_first_name: str = ""
    member_id: str = ""
    statuses: list[Status] = field(default_factory=list)
    payer_claim_number: str = ""  # REF*1K
    clearinghouse_trace: str = ""  # REF*D9
    bill_type: str = ""  # REF*BLT
    service_from: date | None = None
    service_to: date | None = None
    lines: list[LineStatus] = field(default_factory=list)
    billing_provider_npi: str = ""
    payer_name: str = ""
    position: int = 0

    @property
    def outcome(self) -> str:
        """accepted, rejected or received (acknowledged, not yet accepted)."""
        categories = {s.category for s in self.statuses}
        categories |= {s.category for line in self.lines for s in line.statuses}
        if categories & REJECTED_CATEGORIES:
            return "rejected"
        if categories & ACCEPTED_CATEGORIES:
            return "accepted"
        return "received"
