"""Why a payment waits for review (or was declined), in plain words.

The ledger records each reason as a small dict (``reason`` and the facts); the status records,
the claim's timeline, ``review list`` and the log all say it with these sentences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

WHAT_NEXT = (
    "check with the payer, then `gateway review release {name} --note ...` to post it on "
    "purpose, or `gateway review discard {name} --reason ...` to keep it unposted"
)


def _payment(earlier: Mapping[str, Any]) -> str:
    """``trace T-1 of 2026-11-27 (paid 28.80, file F, posted 2026-12-03T09:00:00)``."""
    name = f"trace {earlier.get('trace_number')}"
    if earlier.get("payment_date"):
        name += f" of {earlier['payment_date']}"
    facts = [f"paid {earlier['paid']}"] if earlier.get("paid") is not None else []
    facts.append(f"file {earlier.get('file')}")
    facts.append(f"{earlier.get('state')} {earlier.get('recorded_at') or ''}".strip())
    return f"{name} ({', '.join(facts)})"


def hold_text(reason: Mapping[str, Any]) -> str:
    """One reason a payment is held, as a sentence."""
    kind = reason.get("reason")
    if kind == "possible_duplicate":
        return (
            "possible duplicate payment: the claim already has a payment in force from this "
            f"payer, {_payment(reason['earlier'])}"
        )
    if kind == "unbalanced":
        problems = "; ".join(str(p.get("message")) for p in reason.get("problems", []))
        return f"the payment's money does not add up: {problems}"
    if kind == "same_payment_identity":
        earlier = "; ".join(
            f"{_payment(e)}" + (f", note: {e['note']}" if e.get("note") else "")
            for e in reason.get("earlier", [])
        )
        return (
            "same trace number, payer, amount and date as an earlier payment with other "
            f"content: {earlier}"
        )
    if kind == "nothing_to_reverse":
        return (
            "a reversal (CLP02 22) of a payment the ledger cannot tell: the claim has "
            f"{reason.get('in_force', 0)} payment(s) in force from this payer"
        )
    if kind == "payment_waiting_for_review":
        return (
            "a reversal while another payment of the claim from this payer waits for review: "
            f"{_payment(reason['earlier'])}"
        )
    if kind == "no_leg":
        words = {"S": "secondary", "T": "tertiary"}.get(str(reason.get("sequence")), "next")
        return (
            f"an answer as the {words} payer (CLP02 {reason.get('status_code')}), but the gateway "
            f"has not billed this claim to its {words} payer yet (no such claim sent, no "
            "crossover awaited): an earlier payer's answer may still be on its way"
        )
    return str(kind)


def hold_texts(reasons: Iterable[Mapping[str, Any]]) -> list[str]:
    return [hold_text(r) for r in reasons]
