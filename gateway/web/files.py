"""An X12 file of the archive shown readably: one segment a line, numbered, with what the
segment is and the loop of the implementation guide it is in (read off the guide's map by
pyx12's walker; blank where unknown). Only files under ``spool/archive/inbound|outbound/
PARTNER/`` (gzipped ones too); opening one is audited (837s and 835s name patients)."""

from __future__ import annotations

import gzip
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from gateway.transactions.x12_loops import LIMIT, loop_column
from gateway.web.app import page, web_of
from gateway.web.auth import Viewer
from gateway.x12.errors import X12SyntaxError
from gateway.x12.reader import X12Reader

router = APIRouter()
MAX_BYTES = 5_000_000  # larger files: read them with gateway parse
AREAS = ("inbound", "outbound")

SEGMENTS = {
    "ISA": "interchange header", "IEA": "interchange trailer", "GS": "group header",
    "GE": "group trailer", "ST": "transaction header", "SE": "transaction trailer",
    "BHT": "beginning of hierarchy", "HL": "hierarchical level", "NM1": "name",
    "N3": "address", "N4": "city, state, zip", "PER": "contact", "REF": "reference",
    "DMG": "demographics", "SBR": "subscriber", "PAT": "patient", "CLM": "claim",
    "DTP": "date", "HI": "diagnoses", "LX": "line number", "SV1": "professional service",
    "SV2": "institutional service", "SV3": "dental service", "TOO": "tooth",
    "PRV": "provider", "AMT": "amount", "BPR": "payment", "TRN": "trace number",
    "DTM": "date", "CLP": "claim payment", "CAS": "adjustment", "SVC": "service payment",
    "PLB": "provider adjustment", "LQ": "remark", "MIA": "inpatient adjudication",
    "MOA": "outpatient adjudication", "QTY": "quantity", "AK1": "group response",
    "AK2": "transaction response", "IK3": "segment error", "IK4": "element error",
    "IK5": "transaction verdict", "AK9": "group verdict", "TA1": "interchange acknowledgment",
    "STC": "status", "EQ": "eligibility question", "EB": "benefit",
    "AAA": "request rejected", "MSG": "message", "INS": "relationship", "SV5": "equipment",
    "PWK": "paperwork", "CL1": "institutional claim", "CN1": "contract", "K3": "file information",
    "NTE": "note", "OI": "other insurance", "CRC": "condition", "PS1": "purchased service",
    "LIN": "drug", "CTP": "drug price", "SVD": "line adjudication", "TS3": "provider summary",
    "TS2": "provider supplemental summary", "N1": "party", "RDM": "remittance delivery",
}  # fmt: skip


def file_link(file: str | None, partner: str) -> str | None:
    """The page of an X12 file a ledger record names: ``archive/inbound/P/NAME`` (a reply) or
    a bare ``NAME.x12`` (an interchange the gateway sent to ``partner``)."""
    if not file or not file.endswith((".x12", ".x12.gz")):
        return None
    parts = file.split("/")
    if len(parts) == 4 and parts[0] == "archive" and parts[1] in AREAS:
        return f"/files/{parts[1]}/{parts[2]}/{parts[3]}"
    return f"/files/outbound/{partner}/{file}" if len(parts) == 1 else None


def _file(spool: Path, area: str, partner: str, name: str) -> Path:
    if area not in AREAS or any(p in ("", ".", "..") or p.startswith(".") or "/" in p
                                for p in (partner, name)):  # fmt: skip
        raise HTTPException(404, "no such file in the archive")
    folder = (spool / "archive" / area / partner).resolve()
    if not folder.is_relative_to((spool / "archive").resolve()):
        raise HTTPException(404, "no such file in the archive")
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise HTTPException(404, f"{name}: not in the archive of {partner} ({area})")


@router.get("/files/{area}/{partner}/{name}", response_class=HTMLResponse)
def x12_file(request: Request, area: str, partner: str, name: str, session: Viewer) -> HTMLResponse:
    web = web_of(request)
    path = _file(web.spool, area, partner, name)
    if path.stat().st_size > MAX_BYTES:
        raise HTTPException(413, f"{name} is larger than {MAX_BYTES:,} bytes: use gateway parse")
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    web.ledger.audit(session.username, "view_file", detail={"file": f"{area}/{partner}/{name}"})
    segments: list[list[str]] = []
    problem = ""
    try:
        segments.extend(X12Reader(data, strict=False).element_lists())
    except X12SyntaxError as exc:
        problem = str(exc)
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    loops = loop_column([e[0] for e in segments], text)
    rows = []
    for number, (elements, loop) in enumerate(zip(segments, loops, strict=True), 1):
        what = SEGMENTS.get(elements[0], "")
        rows.append((number, elements[0], loop.loop, loop.name, what, "*".join(elements[1:])))
    if len(rows) > LIMIT:
        problem = (f"{problem} " if problem else "") + (
            f"loops are named for the first {LIMIT:,} segments only"
        )
    return page(request, "x12.html", name=name, partner=partner, area=area, rows=rows,
                problem=problem)  # fmt: skip
