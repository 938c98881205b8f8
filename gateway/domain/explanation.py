"""One claim's money explained for a patient's question, from what the payers posted.

Everything is read from the claim payments the ledger holds (each with its posting and balance
record): the payments in force say what each payer paid and why it paid less, the last payer's
patient responsibility says what the patient owes. Reversed payments are told as history, not
counted. When a payer has not answered, or a later payer still has to, the amount owed is "not
yet known" rather than a guess. Amounts are Decimal and agree with the postings to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from gateway.domain.adjustment_codes import carc_text, code_table, rarc_text
from gateway.domain.posting import NONCOVERED_REASONS, money

ZERO = Decimal("0.00")
SEQUENCES = {"P": "primary", "S": "secondary", "T": "tertiary"}
IN_FORCE = frozenset({"posted", "released"})
_SHARE = {"1": "deductible", "2": "coinsurance", "3": "copay"}
_SHARE_WORDS = {
    "deductible": "applied to the deductible (the amount you pay each year before the plan pays)",
    "coinsurance": "coinsurance (your percentage of the allowed amount)",
    "copay": "copay (the fixed amount for this kind of visit)",
    "noncovered": "not covered by the plan",
    "other": "other amounts the plan says are yours",
}
_GROUP_WORDS = {
    "CO": "written off by contract, not owed by you",
    "PR": "your share",
    "OA": "other adjustment, not owed by you",
    "PI": "reduced by the payer, not owed by you",
    "CR": "correction",
}
_MAXIMUM = frozenset({"119", "35"})  # CARC: benefit maximum, lifetime benefit maximum
Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """One claim payment as the ledger holds it."""

    posting: Record
    balance: Record | None
    state: str  # posted, released, reversed, superseded, held, discarded
    sequence: str  # P, S, T
    status_code: str  # CLP02
    payment_date: str | None
    recorded_at: datetime

    @property
    def counts(self) -> bool:
        """In force and not a reversal: money the claim has now."""
        return self.state in IN_FORCE and self.status_code != "22"


def procedure_text(code: str | None) -> str | None:
    """A short plain description of the common procedure codes we ship; None otherwise."""
    return code_table("procedures").get(code or "")


def _adjustments(posting: Record) -> list[Record]:
    """Every adjustment of a posting, claim level and per line (with its line id)."""
    out = [dict(a, line_id=None) for a in posting.get("adjustments", [])]
    for line in posting.get("lines", []):
        out += [dict(a, line_id=line.get("line_id")) for a in line.get("adjustments", [])]
    return out


def _adjustment(a: Record) -> Record:
    group, code = str(a["group"]), str(a["reason"])
    return {
        "group": group, "reason": code, "code": f"{group}-{code}", "amount": a["amount"],
        "text": a.get("text") or carc_text(code), "meaning": _GROUP_WORDS.get(group, group),
        "line_id": a.get("line_id"),
    }  # fmt: skip


def _breakdown(adjustments: list[Record]) -> dict[str, Decimal]:
    shares = dict.fromkeys(("deductible", "coinsurance", "copay", "noncovered", "other"), ZERO)
    for a in adjustments:
        if a["group"] != "PR":
            continue
        key = _SHARE.get(a["reason"]) or ("noncovered" if a["reason"] in NONCOVERED_REASONS
                                          else "other")  # fmt: skip
        shares[key] += Decimal(a["amount"])
    return shares


def _payer(sequence: str, paid: list[PaymentFacts]) -> Record:
    adjustments = [_adjustment(a) for p in paid for a in _adjustments(p.posting)]
    first = paid[-1].posting["payment"]
    remarks = [r for p in paid for r in p.posting.get("remarks", [])]
    remarks += [r for p in paid for ln in p.posting.get("lines", []) for r in ln.get("remarks", [])]
    return {
        "sequence": sequence,
        "payer": {"id": first.get("payer_id"), "name": first.get("payer_name")},
        "paid": money(sum((Decimal(p.posting["paid"]) for p in paid), ZERO)),
        "patient_responsibility": money(
            sum((Decimal(a["amount"]) for a in adjustments if a["group"] == "PR"), ZERO)
        ),
        "paid_on": paid[-1].payment_date, "status": paid[-1].posting.get("status"),
        "payer_claim_number": paid[-1].posting.get("payer_claim_number"),
        "adjustments": adjustments,
        "remarks": [{"code": r["code"], "text": r.get("text") or rarc_text(r["code"])}
                    for r in remarks if isinstance(r, dict)],
        "next_action": (paid[-1].balance or {}).get("next_action"),
    }  # fmt: skip


def _lines(record: Record, counted: list[PaymentFacts]) -> list[Record]:
    institutional = record.get("institutional") or {}
    default_date = record.get("service_date") or institutional.get("statement_from")
    by_line: dict[str, list[tuple[str, Record]]] = defaultdict(list)
    for p in counted:
        for line in p.posting.get("lines", []):
            by_line[str(line.get("line_id"))].append((p.sequence, line))
    out = []
    for n, line in enumerate(record.get("lines", []), 1):
        code = line.get("procedure") or line.get("revenue_code")
        answers = by_line.get(str(line.get("line_id")), [])
        paid_by: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for seq, a in answers:
            paid_by[seq] += Decimal(a["paid"])
        paid = {seq: money(amount) for seq, amount in paid_by.items()}
        adjustments = [dict(_adjustment(adj), sequence=seq)
                       for seq, a in answers for adj in a.get("adjustments", [])]  # fmt: skip
        allowed = None
        if answers:
            first = answers[0][1]
            if first.get("allowed") is not None:
                allowed = money(Decimal(first["allowed"]))
            else:  # what the plan recognised: its payment plus the patient's part
                pr = sum((Decimal(a["amount"]) for a in first.get("adjustments", [])
                          if a["group"] == "PR"), ZERO)  # fmt: skip
                allowed = money(Decimal(first["paid"]) + pr)
        out.append({
            "line": n, "line_id": line.get("line_id"),
            "date": line.get("service_date") or default_date,
            "procedure": code, "description": procedure_text(code),
            "billed": money(Decimal(str(line["charge"]))), "allowed": allowed,
            "paid": paid, "adjustments": adjustments,
        })  # fmt: skip
    return out


def _history(payments: list[PaymentFacts]) -> list[str]:
    """Reversals and corrections in words, oldest first."""
    said = []
    for p in payments:
        who = p.posting["payment"].get("payer_name") or "the payer"
        when = p.payment_date or f"{p.recorded_at:%Y-%m-%d}"
        if p.status_code == "22" and p.state in IN_FORCE:
            said.append(f"On {when} {who} took back its earlier payment of "
                        f"{money(-Decimal(p.posting['paid']))} (a reversal), to decide the claim "
                        "again.")  # fmt: skip
        elif p.state == "reversed":
            said.append(f"{who}'s payment of {p.posting['paid']} on {when} was later reversed "
                        "and no longer counts.")  # fmt: skip
    return said


def explain(
    record: Record,
    payments: list[PaymentFacts],
    *,
    state: str,
    chronology: list[Record] | None = None,
    notes: list[Record] | None = None,
) -> Record:
    """The explanation of one claim (contract: claim_id, patient, lines, payers, patient_owes,
    breakdown, explanation), with its chronology and notes. ``state``: the claim's state."""
    counted = sorted((p for p in payments if p.counts), key=lambda p: p.recorded_at)
    by_sequence: dict[str, list[PaymentFacts]] = defaultdict(list)
    for p in counted:
        by_sequence[p.sequence].append(p)
    payers = [_payer(seq, by_sequence[seq]) for seq in ("P", "S", "T") if seq in by_sequence]
    person = record.get("patient") or record.get("subscriber") or {}
    billed = sum((Decimal(str(ln["charge"])) for ln in record.get("lines", [])), ZERO)
    lines = _lines(record, counted)
    sentences = [_opening(record, lines, billed)]
    for payer in payers:
        sentences.append(_payer_sentence(payer))
    owes: Decimal | None = None
    breakdown: dict[str, Decimal] = {}
    last = payers[-1] if payers else None
    waiting = last is not None and last["next_action"] in ("bill_secondary", "await_next_payer")
    if state in ("voided",):
        sentences.append("The claim was voided: the payer took it back and nothing is owed "
                         "on it.")  # fmt: skip
        owes = ZERO
    elif last is None and state == "rejected":
        sentences.append("The insurance turned the claim away before deciding it (see what "
                         "happened below); the practice corrects and sends it again, so what "
                         "you owe is not yet known.")  # fmt: skip
    elif last is None:
        sentences.append("What you owe is not yet known: the payer has not answered yet.")
    elif waiting:
        sentences.append("What you owe is not yet known: the claim goes on to the next payer "
                         "(secondary coverage), which has not answered yet.")  # fmt: skip
    else:
        owes = Decimal(last["patient_responsibility"])
        breakdown = _breakdown(last["adjustments"])
        sentences.append(_owes_sentence(owes, breakdown))
        if any(a["reason"] in _MAXIMUM for a in last["adjustments"]):
            sentences.append("A benefit maximum of the plan was reached for this service.")
    paid_before = record.get("patient_paid")
    if owes is not None and paid_before:
        left = owes - Decimal(str(paid_before))
        sentences.append(
            f"You paid {money(Decimal(str(paid_before)))} at the visit, so "
            + (f"{money(left)} is still due." if left > 0 else
               "nothing more is due." if left == 0 else
               f"the practice owes you a refund of {money(-left)}.")
        )  # fmt: skip
    sentences += _history(sorted(payments, key=lambda p: p.recorded_at))
    return {
        "claim_id": record["claim_id"],
        "state": state,
        "patient": {"first_name": person.get("first_name"), "last_name": person.get("last_name")},
        "billed": money(billed),
        "lines": lines,
        "payers": payers,
        "patient_owes": money(owes) if owes is not None else None,
        "patient_paid": money(Decimal(str(paid_before))) if paid_before else None,
        "breakdown": {k: money(v) for k, v in breakdown.items()} if breakdown else None,
        "explanation": sentences,
        "chronology": chronology or [],
        "notes": notes or [],
    }


def _opening(record: Record, lines: list[Record], billed: Decimal) -> str:
    dates = sorted({str(ln["date"]) for ln in lines if ln["date"]})
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}" if dates else "?"
    provider = record.get("billing_provider") or {}
    name = (
        provider.get("organization_name")
        or " ".join(str(provider.get(k, "")) for k in ("first_name", "last_name")).strip()
    )
    services = f"{len(lines)} service" + ("s" if len(lines) != 1 else "")
    return f"Your visit of {when} at {name or 'the practice'}: {services}, billed {money(billed)}."


def _payer_sentence(payer: Record) -> str:
    name = payer["payer"]["name"] or payer["payer"]["id"] or "The payer"
    role = SEQUENCES.get(payer["sequence"], payer["sequence"])
    said = f"{name} ({role} insurance) paid {payer['paid']}"
    if payer["paid_on"]:
        said += f" on {payer['paid_on']}"
    written = sum((Decimal(a["amount"]) for a in payer["adjustments"] if a["group"] != "PR"), ZERO)
    if written:
        codes = ", ".join(sorted({f"{a['code']} {a['text']}" for a in payer["adjustments"]
                                  if a["group"] != "PR"}))  # fmt: skip
        said += f"; {money(written)} was written off or reduced, which you do not owe ({codes})"
    return said + "."


def _owes_sentence(owes: Decimal, breakdown: dict[str, Decimal]) -> str:
    if owes == 0:
        return "You owe nothing for this claim."
    parts = [f"{money(v)} {_SHARE_WORDS[k]}" for k, v in breakdown.items() if v]
    return f"You owe {money(owes)}: " + "; ".join(parts) + "."
