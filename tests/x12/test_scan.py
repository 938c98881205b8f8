"""The look ahead (``element_values``) finds every CLP01 in file order, whatever the chunks,
delimiters and line breaks, and finds nothing (never raises) in what is no X12."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.x12.scan import element_values

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *250102*1200*^*00501*"
    "000000001*0*P*:~"
)


def _835(claims: list[str], term: str = "~", elem: str = "*", newline: str = "") -> str:
    isa = ISA.replace("*", elem).replace("~", term)
    body = ["GS*HP*S*R*20250102*1200*1*X*005010X221A1", "ST*835*0001", "BPR*I*0*C*NON"]
    for n, claim in enumerate(claims):
        body += [f"CLP*{claim}*1*10*5**12*PCN{n}", "CAS*CO*45*5", "SVC*HC:99213*10*5"]
    body += ["SE*99*0001", "GE*1*1", "IEA*1*000000001"]
    return isa + newline + "".join(s.replace("*", elem) + term + newline for s in body)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 18])
@pytest.mark.parametrize(
    ("term", "elem", "newline"), [("~", "*", ""), ("~", "*", "\r\n"), ("\n", "|", "")]
)
def test_it_finds_every_clp01_in_order(
    tmp_path: Path, chunk: int, term: str, elem: str, newline: str
) -> None:
    claims = [f"CLM-{n:04d}" for n in range(200)] + ["CLM-0001", ""]
    path = tmp_path / "r.835"
    path.write_text(_835(claims, term, elem, newline), encoding="latin-1")
    assert list(element_values(path, "CLP", 1, chunk_size=chunk)) == claims
    assert list(element_values(path, "CLP", 7, chunk_size=chunk))[:2] == ["PCN0", "PCN1"]


def test_what_is_no_x12_gives_nothing(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("CLP*not an interchange~CLP*x~")
    assert list(element_values(path, "CLP", 1)) == []
    path.write_bytes(b"")
    assert list(element_values(path, "CLP", 1)) == []
