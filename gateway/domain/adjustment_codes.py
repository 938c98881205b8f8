"""Plain-English text for claim adjustment reason codes (CARC) and remark codes (RARC).

The tables ship as data (``data/carc.tsv``, ``data/rarc.tsv``); a code missing from them says so
rather than guessing.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

GROUPS = {
    "CO": "contractual obligation (write off; not billable to the patient)",
    "PR": "patient responsibility",
    "OA": "other adjustment",
    "PI": "payer-initiated reduction",
    "CR": "correction or reversal",
}


@cache
def _table(name: str) -> dict[str, str]:
    text = files("gateway.domain").joinpath(f"data/{name}.tsv").read_text(encoding="utf-8")
    rows = (line.split("\t", 1) for line in text.splitlines()[1:] if line.strip())
    return {code.strip(): meaning.strip() for code, meaning in rows}


def code_table(name: str) -> dict[str, str]:
    """``data/NAME.tsv`` as code → meaning (other code sets ship as such tables too)."""
    return _table(name)


def carc_table() -> dict[str, str]:
    """The CARC table itself, for hot loops that look up many codes."""
    return _table("carc")


def carc_text(code: str) -> str:
    """``45`` → "Charge exceeds fee schedule ..."; unknown codes say they are unknown."""
    return _table("carc").get(code) or f"unknown adjustment reason code {code} (not in our table)"


def rarc_text(code: str) -> str:
    return _table("rarc").get(code) or f"unknown remark code {code} (not in our table)"
