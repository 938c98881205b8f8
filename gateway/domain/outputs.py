"""The three records the gateway writes for the practice system, as pydantic models: their
JSON Schemas are what ``gateway schema posting|balance|status`` prints and ``docs/outputs.md``
explains. Amounts are strings with two decimals; every record has a stable ``id``.

New fields may be added (consumers ignore what they do not know), so the models allow extra
fields; the tests check that every field the gateway writes is described here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", description="an amount, e.g. '28.80'")]
Date = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")]


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class Adjustment(_Record):
    group: str = Field(description="CAS01: CO contractual, PR patient, OA other, PI payer, CR")
    reason: str = Field(description="the CARC code")
    amount: Money
    text: str = Field(description="the CARC code in plain English")


class Remark(_Record):
    code: str = Field(description="a RARC code (LQ*HE, MOA, MIA)")
    text: str


class PostingLine(_Record):
    line_id: str | None = Field(description="the claim line's line_id (REF*6R, or matched)")
    procedure: str
    modifiers: list[str]
    charge: Money
    paid: Money
    allowed: Money | None
    units: str
    service_date: Date | None
    adjustments: list[Adjustment]
    remarks: list[Remark]
    matched: bool = Field(description="whether the line matched a line of the claim sent")


class Payment(_Record):
    trace_number: str = Field(description="TRN02: the check or EFT number")
    method: str = Field(description="BPR04: ACH, CHK, NON, ...")
    amount: Money = Field(description="BPR02: the whole payment")
    date: Date | None
    payer_id: str
    payer_name: str


class Posting(_Record):
    """One claim payment (a CLP of an 835), in ``spool/postings/*.jsonl``."""

    id: str
    claim_id: str
    payer_claim_number: str = Field(description="CLP07: the payer's number for the claim")
    status_code: str = Field(
        description="CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 19-21 "
        "processed and forwarded, 22 reversal, ..."
    )
    status: Literal[
        "paid", "partially_paid", "denied", "reversed", "forwarded", "predetermined"
    ] = Field(description="the status event it causes")
    status_text: str
    charge: Money
    paid: Money
    patient_responsibility: Money
    adjustments: list[Adjustment] = Field(description="claim-level adjustments")
    remarks: list[Remark]
    lines: list[PostingLine]
    payment: Payment
    source_file: str = Field(description="the 835 file's name as received")
    matched: bool | None = Field(None, description="false: the claim is not in the ledger")
    payer_sequence: Literal["P", "S", "T"] | None = Field(
        None, description="the payer's place: primary, secondary, tertiary"
    )
    reverses: str | None = Field(None, description="a reversal: the id of the posting it reverses")
    released_after_review: bool | None = Field(
        None, description="posted on purpose after it was held for review"
    )
    review_note: str | None = Field(None, description="the note given when it was released")
    held_for: list[str] | None = Field(None, description="why it had been held")
    released_unbalanced: bool | None = Field(
        None, description="released although its 835's money did not add up"
    )


class Patient(_Record):
    first_name: str
    last_name: str
    birth_date: Date | None = None
    member_id: str


class Breakdown(_Record):
    deductible: Money
    coinsurance: Money
    copay: Money
    noncovered: Money
    other: Money


class BalanceReason(_Record):
    group: str
    code: str
    amount: Money
    text: str


class EarlierPayer(_Record):
    sequence: str
    payer_id: str
    paid: Money


class Balance(_Record):
    """What someone other than this payer owes after one claim payment, in
    ``spool/balances/*.jsonl``."""

    id: str
    claim_id: str
    patient: Patient
    payer: dict[str, Any] = Field(description="{id, name} of the payer that paid")
    billed: Money
    insurer_paid: Money
    contractual_adjustment: Money = Field(description="CO adjustments: written off")
    patient_owes: Money = Field(description="PR adjustments: the patient's share")
    breakdown: Breakdown
    other_adjustments: dict[str, Money] = Field(description="OA, PI and CR totals")
    reasons: list[BalanceReason] = Field(description="every adjustment that is not CO")
    next_action: Literal[
        "bill_patient", "bill_secondary", "await_next_payer", "reverse_previous", "refund_patient"
    ] = Field(description="refund_patient: the patient paid more (patient_paid) than they now "
              "owe; refund says how much")  # fmt: skip
    next_payer: dict[str, Any] | None = Field(description="{id, name, member_id} to bill next")
    remittance: dict[str, Any] = Field(description="{trace_number, date} of the payment")
    earlier_payers: list[EarlierPayer] | None = Field(
        None, description="a secondary or tertiary payer's answer: what each earlier payer paid"
    )
    write_off: Money | None = Field(
        None,
        description="with bill_patient after several payers: billed - every payer's payment - "
        "what the patient owes (contractual amounts are never added across payers)",
    )
    replaces: str | None = Field(
        None,
        description="the id of the balance record this one "
        "corrects (a payment after a reversal): this one is current",
    )
    reverses: str | None = Field(
        None,
        description="a reversal's record: the id of the "
        "balance record it takes back (its amounts negated)",
    )
    patient_paid: Money | None = Field(None, description="paid by the patient at the visit")
    refund: Money | None = Field(None, description="what to give back to the patient")


class StatusReason(_Record):
    code: str
    text: str


class Status(_Record):
    """One event of a claim, in ``spool/status/*.jsonl``."""

    id: str
    event: Literal[
        "queued", "submitted", "accepted", "rejected", "paid", "partially_paid", "denied",
        "reversed", "forwarded", "predetermined", "payment_held", "payment_discarded",
        "voided",
    ] = Field(description="payment_held: a payment waits for review, nothing of it was "
              "posted; payment_discarded: a review kept it unposted")  # fmt: skip
    claim_id: str
    version: int | None = Field(
        description="the claim version the event is about; null only for a payment of a "
        "claim the ledger does not know"
    )
    at: str = Field(description="when, ISO 8601 UTC")
    partner: str | None
    source: Literal["intake", "837", "TA1", "999", "277CA", "277", "835"] = Field(
        description="277: a payer's answer to our claim status inquiry (276)"
    )
    reasons: list[StatusReason]
    file: str | None = Field(None, description="the file behind the event (a received file: "
                             "its unique name in spool/archive/)")  # fmt: skip
    kind: str | None = None
    frequency: str | None = None
    control_number: str | None = Field(None, description="ISA13 of the 837")
    interchange: str | None = Field(None, description="the 837 a TA1 or 999 answers")
    paid: Money | None = None
    payer_claim_number: str | None = None
    trace_number: str | None = None
    payer_id: str | None = None
    payer_sequence: Literal["P", "S", "T"] | None = None
    note: str | None = Field(None, description="a review's note (released or discarded)")
    outcome: str | None = Field(None, description="of a 277 answer: pending, paid, denied, "
                                "not_found, rejected, info_requested, ...")  # fmt: skip


SCHEMAS: dict[str, type[BaseModel]] = {"posting": Posting, "balance": Balance, "status": Status}
