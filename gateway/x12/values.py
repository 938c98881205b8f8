"""Turning values into X12 element text: safe text, amounts, dates."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from anyascii import anyascii

from gateway.x12.delimiters import Delimiters

_CENT = Decimal("0.01")


@lru_cache(maxsize=16)
def _unsafe_pattern(delims: Delimiters) -> re.Pattern[str]:
    chars = re.escape(delims.all())
    return re.compile(f"[\\x00-\\x1f\\x7f-\\U0010ffff{chars}]")


def safe_text(value: str, delims: Delimiters) -> str:
    """Make ``value`` unable to break the structure.

    Accents and other non-ASCII letters are transliterated (``José`` → ``Jose``), control
    characters and delimiter characters become spaces, runs of spaces collapse.
    """
    pattern = _unsafe_pattern(delims)
    if pattern.search(value) is None:
        return value
    text = value if value.isascii() else anyascii(value)
    text = pattern.sub(" ", text)
    return " ".join(text.split())


def upper_text(value: str, delims: Delimiters) -> str:
    """Names and addresses: safe text in upper case (the basic character set has no lower case)."""
    return safe_text(value, delims).upper()


def amount(value: Decimal) -> str:
    """X12 type R: no ``+``, no exponent, decimals only when needed (175, 175.5, -20)."""
    text = f"{value.quantize(_CENT):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def quantity(value: Decimal) -> str:
    """Quantities keep up to three decimals and drop trailing zeros."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def d8(value: date) -> str:
    """Date as CCYYMMDD."""
    return value.strftime("%Y%m%d")


def rd8(start: date, end: date) -> str:
    """Date range as CCYYMMDD-CCYYMMDD."""
    return f"{d8(start)}-{d8(end)}"


def parse_d8(text: str) -> date:
    """CCYYMMDD to a date (raises ValueError on anything else)."""
    return datetime.strptime(text, "%Y%m%d").date()
