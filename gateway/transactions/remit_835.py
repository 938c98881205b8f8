"""835 Health Care Claim Payment/Advice (005010X221A1) into domain objects, streaming.

``read_835`` yields, per transaction set, its :class:`PaymentInfo` (once the header is read),
each :class:`ClaimPayment` as soon as its CLP loop is complete, then a :class:`TransactionEnd`
with the provider-level adjustments (PLB). Only the claim being read is held in memory, so an
835 of hundreds of MB streams in constant memory. Segments may come in any allowed order; codes
the gateway does not know are kept as they are.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import BinaryIO

from gateway.domain.remittance import (
    ZERO,
    Adjustment,
    ClaimPayment,
    Party,
    PaymentInfo,
    ProviderAdjustment,
    ServicePayment,
)
from gateway.x12.elements import (
    AMOUNT_DIGITS,
    QUANTITY_DIGITS,
    decimal_or_none,
    identifier,
    missing,
    number,
    type_r,
)
from gateway.x12.errors import X12ElementError, X12SyntaxError
from gateway.x12.reader import X12Reader

VERSION = "005010X221A1"


@dataclass(slots=True)
class TransactionEnd:
    """The end of one 835 transaction set: its PLB adjustments and what its claims paid."""

    payment: PaymentInfo
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    claim_count: int = 0
    paid_total: Decimal = ZERO
    position: int = 0  # segment index of the SE
    problems: list[str] = field(default_factory=list)  # values it cannot be posted with
    content_sha256: str = ""  # of its segments between ST and SE (read_835 content_hash=True)

    @property
    def provider_adjustment_total(self) -> Decimal:
        return sum((p.amount for p in self.provider_adjustments), ZERO)


Remit835Event = PaymentInfo | ClaimPayment | TransactionEnd


class BadValue(X12ElementError):
    """A value this transaction cannot be posted with (an amount that is not a number, a
    required element left out): the transaction is held for review, the file read on."""


# Amount texts repeat a great deal in a remittance (and the results are immutable): the hot
# path looks them up here and reaches for the full check only when one is not yet known. The
# caches are bounded: emptied when full (an 835 of any size stays in constant memory).
_AMOUNTS: dict[str, Decimal] = {"": ZERO}
_QUANTITIES: dict[str, Decimal] = {}
_AMOUNTS_MAX = 1 << 16  # about 12 MiB when full
_decimal = decimal_or_none.__wrapped__  # the caches above are enough


def _new_value(
    text: str,
    position: int,
    what: str,
    cache: dict[str, Decimal] = _AMOUNTS,
    digits: int = AMOUNT_DIGITS,
) -> Decimal:
    """A text not in ``cache`` (amounts by default): checked, made a Decimal and kept."""
    short = len(text) <= digits  # then its digits are too: the pattern is enough
    value = Decimal(text) if short and type_r(text) is not None else _decimal(text, digits)
    if value is None:
        return number(text, what, position, digits, error=BadValue)  # raises: not a number
    if len(cache) >= _AMOUNTS_MAX:
        cache.clear()
        if cache is _AMOUNTS:
            cache[""] = ZERO
    cache[text] = value
    return value


def _money(text: str, position: int, what: str) -> Decimal:
    value = _AMOUNTS.get(text)
    return _new_value(text, position, what) if value is None else value


def _quantity(text: str, position: int, what: str) -> Decimal | None:
    if not text:
        return None
    value = _QUANTITIES.get(text)
    if value is None:
        return _new_value(text, position, what, _QUANTITIES, QUANTITY_DIGITS)
    return value


# Elements a segment needs for the reader to use it (the highest required element number).
_REQUIRED = {"CLP": 2, "CAS": 3, "SVC": 3, "DTM": 2, "REF": 2, "AMT": 2, "NM1": 2, "N1": 1,
             "LQ": 2, "BPR": 2, "TRN": 2, "PLB": 4, "LX": 1}  # fmt: skip
# Limits of the elements that identify a payment and its claims (they reach the ledger).
ST02, TRN02, TRN03, REF02_PAYER, CLP01, CLP07 = 9, 50, 10, 50, 38, 50


@lru_cache(maxsize=1 << 12)
def _date(text: str) -> date | None:
    """CCYYMMDD to a date; anything else gives None (a bad date never stops a payment)."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _party(els: list[str]) -> Party:
    return Party(
        els[3] if len(els) > 3 else "",
        els[4] if len(els) > 4 else "",
        els[8] if len(els) > 8 else "",
        els[9] if len(els) > 9 else "",
    )


def _adjustments(els: list[str], position: int) -> list[Adjustment]:
    """``CAS*PR*1*20**2*15~``: up to six reason/amount/quantity triplets under one group."""
    group = els[1] if len(els) > 1 else ""
    out = []
    for n in range(2, min(len(els), 20), 3):
        reason = els[n]
        if not reason:
            continue
        amount = _money(els[n + 1] if n + 1 < len(els) else "", position, f"CAS{n + 1:02d}")
        qty = _quantity(els[n + 2] if n + 2 < len(els) else "", position, f"CAS{n + 2:02d}")
        out.append(Adjustment(group, reason, amount, qty))
    return out


class _ContentHash:
    """The hash of one transaction set's segments between its ST and SE (the envelope's
    control numbers left out: the same payment re-sent in a new envelope hashes the same):
    each segment's elements joined by 0x1F and ended by 0x1E, as UTF-8. Segments are hashed a
    few thousand at a time (the same bytes, in order, as one at a time)."""

    BATCH = 4096

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.waiting: list[str] = []

    def update(self) -> None:
        if self.waiting:
            text = "\x1e".join(self.waiting) + "\x1e"
            self.digest.update(text.encode("utf-8", "replace"))
            self.waiting = []

    def hexdigest(self) -> str:
        self.update()
        return self.digest.hexdigest()


def read_835(
    source: str | os.PathLike[str] | BinaryIO | bytes,
    *,
    strict: bool = False,
    content_hash: bool = False,
) -> Iterator[Remit835Event]:
    """Events of every 835 transaction set in ``source`` (other transaction sets are skipped).

    ``strict`` makes envelope count faults errors; by default they are tolerated (real senders
    get SE01 wrong) and the money is still checked by balancing. ``content_hash``: each
    ``TransactionEnd`` carries the hash of its set's content (what the ledger knows a
    remittance by, with its identity).
    """
    reader = X12Reader(source, strict=strict)
    lists = reader.element_lists()
    hashed: _ContentHash | None = None
    payment: PaymentInfo | None = None
    header_sent = False
    claim: ClaimPayment | None = None
    line: ServicePayment | None = None
    end = TransactionEnd(PaymentInfo(""))  # replaced at every ST; typed, never None
    n1 = ""
    header_number = ""
    interchange = ""
    comp = ":"  # the component separator of the transaction set being read
    position = 0
    amount_of = _AMOUNTS.get
    for els in lists:
        position += 1
        sid = els[0]
        if payment is None:
            if sid == "ST" and els[1:2] == ["835"]:
                control = identifier(els[2] if len(els) > 2 else "", "ST02", position, ST02)
                payment = PaymentInfo(control, position=position)
                payment.interchange_control = interchange
                comp = reader.delimiters.component if reader.delimiters else ":"
                end = TransactionEnd(payment)
                header_sent, claim, line, n1, header_number = False, None, None, "", ""
                hashed = _ContentHash() if content_hash else None
            elif sid == "ISA":
                interchange = els[13]
            continue
        n = len(els)
        if hashed is not None and sid != "SE":
            waiting = hashed.waiting  # ContentHash.add, inline: once per segment
            waiting.append("\x1f".join(els))
            if len(waiting) >= _ContentHash.BATCH:
                hashed.update()
        # The branches go from the most frequent segment to the least; each first refuses a
        # segment that ends before the last element the reader needs (_REQUIRED).
        try:
            if sid == "CAS":
                if n <= 3:
                    raise missing(sid, n, position, error=BadValue)
                if claim is not None:
                    target = line.adjustments if line is not None else claim.adjustments
                    if n <= 5 and els[2]:  # one reason: the usual case, kept short
                        qty = _quantity(els[4], position, "CAS04") if n > 4 else None
                        amount = amount_of(els[3])
                        if amount is None:
                            amount = _new_value(els[3], position, "CAS03")
                        target.append(Adjustment(els[1], els[2], amount, qty))
                    else:
                        target.extend(_adjustments(els, position))
            elif sid == "DTM":
                if n <= 2:
                    raise missing(sid, n, position, error=BadValue)
                q = els[1]
                if line is not None:
                    if q == "472" or q == "150":
                        line.service_date = _date(els[2])
                    elif q == "151":
                        line.service_date_end = _date(els[2])
                elif claim is not None:
                    if q == "232":
                        claim.statement_from = _date(els[2])
                    elif q == "233":
                        claim.statement_to = _date(els[2])
                    elif q == "050":
                        claim.received = _date(els[2])
                elif q == "405":
                    payment.production_date = _date(els[2])
            elif sid == "REF":
                if n <= 2:
                    raise missing(sid, n, position, error=BadValue)
                if line is not None:
                    if els[1] == "6R":
                        line.line_id = els[2]
                elif claim is None and n1 == "PR" and els[1] == "2U":
                    payment.payer_id = identifier(els[2], "REF02", position, REF02_PAYER)
            elif sid == "AMT":
                if n <= 2:
                    raise missing(sid, n, position, error=BadValue)
                amount = amount_of(els[2])
                if amount is None:
                    amount = _new_value(els[2], position, "AMT02")
                if line is not None:
                    if els[1] == "B6":
                        line.allowed = amount
                elif claim is not None:
                    claim.amounts[els[1]] = amount
            elif sid == "SVC":
                if n <= 3:
                    raise missing(sid, n, position, error=BadValue)
                if claim is None:
                    continue
                proc = els[1].split(comp)
                submitted = els[6].split(comp) if n > 6 and els[6] else None
                charge = amount_of(els[2])
                if charge is None:
                    charge = _new_value(els[2], position, "SVC02")
                paid = amount_of(els[3])
                if paid is None:
                    paid = _new_value(els[3], position, "SVC03")
                modifiers = proc[2:6]
                line = ServicePayment(
                    proc[0],
                    proc[1] if len(proc) > 1 else "",
                    modifiers if "" not in modifiers else [m for m in modifiers if m],
                    charge,
                    paid,
                    els[4] if n > 4 and els[4] else None,
                    _quantity(els[5], position, "SVC05") if n > 5 else None,
                    submitted[1] if submitted and len(submitted) > 1 else None,
                    position=position,
                )
                claim.lines.append(line)
            elif sid == "NM1":
                if n <= 2:
                    raise missing(sid, n, position, error=BadValue)
                if claim is not None:
                    q = els[1]
                    if q == "QC":
                        claim.patient = _party(els)
                    elif q == "IL":
                        claim.insured = _party(els)
                    elif q == "TT":
                        claim.crossover_carrier = _party(els)
                    elif q == "PR":
                        claim.priority_payer = _party(els)
            elif sid in _LOOP_BOUNDARIES:
                if n <= _REQUIRED.get(sid, 0):
                    raise missing(sid, n, position, error=BadValue)
                # Whatever came before is complete: the claim being read, or the header.
                if claim is not None:
                    end.claim_count += 1
                    end.paid_total += claim.paid
                    yield claim
                    claim, line = None, None
                elif not header_sent:
                    header_sent = True
                    yield payment
                if sid == "CLP":
                    claim = _claim(els, position, header_number)
                elif sid == "LX":
                    header_number = els[1]
                elif sid == "PLB":
                    end.provider_adjustments.extend(_provider_adjustments(reader, els, position))
                else:  # SE
                    end.position = position
                    end.content_sha256 = hashed.hexdigest() if hashed is not None else ""
                    yield end
                    payment = None
            elif sid == "LQ":
                if n <= 2:
                    raise missing(sid, n, position, error=BadValue)
                if line is not None and els[1] == "HE":
                    line.remarks.append(els[2])
            elif sid == "MOA" or sid == "MIA":
                if claim is not None:
                    places = range(3, 8) if sid == "MOA" else (5, 20, 21, 22, 23)
                    claim.remarks.extend(els[i] for i in places if i < n and els[i])
            elif sid == "BPR":
                if n <= 2:
                    raise missing(sid, n, position, error=BadValue)
                payment.handling_code = els[1]
                payment.amount = _money(els[2], position, "BPR02")
                payment.credit_debit = els[3] if n > 3 else ""
                payment.method = els[4] if n > 4 else ""
                payment.payment_date = _date(els[16]) if n > 16 else None
            elif sid == "TRN":
                if n <= 2:
                    raise missing(sid, n, position, error=BadValue)
                payment.trace_number = identifier(els[2], "TRN02", position, TRN02)
                originator = els[3] if n > 3 else ""
                payment.trace_originator = (
                    identifier(originator, "TRN03", position, TRN03) if originator else ""
                )
            elif sid == "N1":
                if n <= 1:
                    raise missing(sid, n, position, error=BadValue)
                n1 = els[1]
                name = els[2] if n > 2 else ""
                if n1 == "PR":
                    payment.payer_name = name
                elif n1 == "PE":
                    payment.payee_name = name
                    payment.payee_id_qualifier = els[3] if n > 3 else ""
                    payment.payee_id = els[4] if n > 4 else ""
        except BadValue as exc:  # the money of this transaction cannot be trusted: held
            end.problems.append(str(exc))


_LOOP_BOUNDARIES = frozenset({"CLP", "LX", "PLB", "SE"})


def _claim(els: list[str], position: int, header_number: str) -> ClaimPayment:
    """``CLP*PCN-2025-0001*1*175*90*20*12*ACMCLM0000123*11*1~``."""
    n = len(els)
    return ClaimPayment(
        identifier(els[1], "CLP01", position, CLP01),
        els[2] if n > 2 else "",
        _money(els[3] if n > 3 else "", position, "CLP03"),
        _money(els[4] if n > 4 else "", position, "CLP04"),
        _money(els[5], position, "CLP05") if n > 5 and els[5] else None,
        els[6] if n > 6 else "",
        identifier(els[7], "CLP07", position, CLP07) if n > 7 and els[7] else "",
        els[8] if n > 8 else "",
        els[9] if n > 9 else "",
        header_number=header_number,
        position=position,
    )


def _provider_adjustments(
    reader: X12Reader, els: list[str], position: int
) -> list[ProviderAdjustment]:
    """``PLB*1234567893*20251231*L6:PCN-1*-1.25*WO:ICN9*30~``: up to six reason/amount pairs."""
    comp = reader.delimiters.component if reader.delimiters else ":"
    provider = els[1] if len(els) > 1 else ""
    period = _date(els[2]) if len(els) > 2 else None
    out = []
    for n in range(3, min(len(els), 15), 2):
        if not els[n]:
            continue
        reason, _, reference = els[n].partition(comp)
        amount = _money(els[n + 1] if n + 1 < len(els) else "", position, f"PLB{n + 1:02d}")
        out.append(ProviderAdjustment(provider, period, reason, reference, amount, position))
    return out


def transaction_headers(
    source: str | os.PathLike[str] | BinaryIO | bytes,
) -> tuple[list[tuple[str, str]], int | None]:
    """(ST02, TRN02) of every 835 transaction set the file holds, for telling which payments of
    a file that broke half way were not posted; with the segment position where reading had to
    stop (None when the whole file could be read)."""
    found: list[tuple[str, str]] = []
    control = ""
    reader = X12Reader(source, strict=False)
    position = 0
    try:
        for els in reader.element_lists():
            position += 1
            if els[0] == "ST" and els[1:2] == ["835"]:
                control = els[2][:50] if len(els) > 2 else ""
                found.append((control, ""))
            elif els[0] == "TRN" and found and control and not found[-1][1]:
                found[-1] = (control, els[2][:50] if len(els) > 2 else "")
    except X12SyntaxError as exc:
        return found, exc.segment_index or position + 1
    return found, None
