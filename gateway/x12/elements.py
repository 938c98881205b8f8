"""Element values checked against their X12 limits as the readers take them.

A value outside its element's limits (a control number of 40 digits, an amount that is not a
number, a trace number longer than the guide allows, a required element left out) is refused
with the element and its segment named, before it can reach arithmetic or the ledger. Elements
are named as the guides name them: ``CLP01`` is element 1 of the CLP segment.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

from gateway.x12.errors import X12ElementError

# X12 type R: an optional minus, digits with at most one decimal point; no plus, no exponent.
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
type_r = _DECIMAL.fullmatch  # a match when the text is of type R (its digits not counted)
AMOUNT_DIGITS = 18  # the longest amount element of the 5010 guides (BPR02, CLP03, SVC02 ...)
QUANTITY_DIGITS = 15  # quantities (CAS04, SVC05)
_ZERO = Decimal(0)


def _shown(text: str, limit: int = 20) -> str:
    """A value quoted for a message, cut short (a broken file can hold anything)."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


@lru_cache(maxsize=1 << 14)
def decimal_or_none(text: str, digits: int = AMOUNT_DIGITS) -> Decimal | None:
    """Type R text as a Decimal, or None when it is not one (or has more than ``digits``)."""
    if _DECIMAL.fullmatch(text) is None:
        return None
    if len(text) > digits and len(text) - text.count("-") - text.count(".") > digits:
        return None
    return Decimal(text)


def number(
    text: str,
    element: str,
    position: int,
    digits: int = AMOUNT_DIGITS,
    *,
    error: type[X12ElementError] = X12ElementError,
) -> Decimal:
    """A type R element (an amount, a quantity); an empty one reads as zero."""
    if not text:
        return _ZERO
    value = decimal_or_none(text, digits)
    if value is None:
        raise error(
            f"{element} {_shown(text)} is not a number (digits with an optional '-' and "
            f"decimal point, at most {digits} digits)",
            element=element,
            segment_index=position,
        )
    return value


def control_number(
    text: str, element: str, position: int, *, min_digits: int = 1, max_digits: int = 9
) -> int:
    """A type N0 control number (ISA13, GS06, TA101, AK102) as an int."""
    if not (min_digits <= len(text) <= max_digits and text.isascii() and text.isdigit()):
        size = f"{max_digits}" if min_digits == max_digits else f"{min_digits} to {max_digits}"
        raise X12ElementError(
            f"{element} {_shown(text)} is not a control number ({size} digits)",
            element=element,
            segment_index=position,
        )
    return int(text)


def identifier(text: str, element: str, position: int, max_length: int) -> str:
    """A type AN/ID element that must be present and at most ``max_length`` characters long."""
    if not text:
        raise X12ElementError(
            f"{element} is required but empty", element=element, segment_index=position
        )
    if len(text) > max_length:
        raise X12ElementError(
            f"{element} {_shown(text)} is {len(text)} characters long; the guide allows at most "
            f"{max_length}",
            element=element,
            segment_index=position,
        )
    return text


def missing(
    segment_id: str,
    found: int,
    position: int,
    *,
    error: type[X12ElementError] = X12ElementError,
) -> X12ElementError:
    """The error for a segment that ends before its required element number ``found``."""
    element = f"{segment_id}{found:02d}"
    return error(f"{element} is required but missing", element=element, segment_index=position)


def date8(text: str, element: str, position: int) -> date:
    """A CCYYMMDD date."""
    if len(text) == 8 and text.isascii() and text.isdigit():
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            pass
    raise X12ElementError(
        f"{element} {_shown(text)} is not a date (CCYYMMDD)",
        element=element,
        segment_index=position,
    )
