"""Deterministic, balanced 835 remittances (005010X221A1) for the benchmarks.

``write_835(path, n, seed)`` writes one interchange with one ST/SE holding ``n`` claim payments
(CLP loops), 2-3 service lines each, ``~`` terminators and no line breaks; the same ``n`` and
seed give the same bytes. What is in it (see /work/shared/docs/x12-field-guide.md section 5):

- BPR (``I``, ACH), TRN, DTM*405, N1*PR/N3/N4/REF*2U/PER*BL, N1*PE with an ``XX`` NPI and REF*TJ;
- LX header numbers, a new one every few hundred to few thousand claims;
- CLP status 1 (most), 2 (secondary, OA-23), 19 (processed and forwarded: NM1*TT, MOA MA18),
  4 (patient not found: CO-31, CLP04 0), and 22 reversals (every amount negated, the original
  CLP07) each followed by its corrected claim (REF*F8 = the original CLP07);
- CAS at claim (CO-253 sequestration, PR-1, OA-23) and line level (CO-45, PR-1/2/3, several
  triplets in one CAS), NM1*QC, NM1*IL sometimes, NM1*82, MOA sometimes, REF*1L/F8,
  DTM*232/233/050, AMT*AU; SVC with ``HC:code[:mods]``, DTM*472, REF*6R, AMT*B6, LQ*HE sometimes;
- one PLB at the end with a few L6 (interest, negative) and WO (recoupment, positive) items (one
  PLB segment, as the x12sdk and linuxforhealth-x12 models allow at most one).

Every amount is a ``Decimal`` in cents, so the line balance (SVC02 − ΣCAS = SVC03), the claim
balance (CLP03 − claim CAS − line CAS = CLP04), CLP05 = ΣPR and BPR02 = ΣCLP04 − ΣPLB hold
exactly; :func:`check_835` re-reads a file and checks them, and the SE/GE/IEA counts.

``python -m bench.gen_835 --check`` writes a 50-claim file, validates it with pyx12 (the
gateway's ``validate_with_pyx12``) and with :func:`check_835`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

GENERATOR = 1  # bump when the output changes, so cached files are rewritten
SEED = 835
CENT = Decimal("0.01")
ZERO = Decimal(0)
PAYEE_NPI = "1234567893"
PAYER_ID = "1512345678"
DAY = "20250320"

FIRST = ["JAMES", "MARY", "ROBERT", "PATRICIA", "JOHN", "JENNIFER", "MICHAEL", "LINDA", "DAVID",
         "ELIZABETH", "WILLIAM", "BARBARA", "RICHARD", "SUSAN", "JOSEPH", "JESSICA", "THOMAS",
         "SARAH", "CARLOS", "KAREN", "CHEN", "NANCY", "DANIEL", "LISA", "ANA", "JOSE"]  # fmt: skip
LAST = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS",
        "RODRIGUEZ", "MARTINEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON",
        "TAYLOR", "MOORE", "JACKSON", "MARTIN", "LEE", "PEREZ", "THOMPSON", "WHITE", "NGUYEN",
        "O'BRIEN", "DOE-MUNOZ", "KIM", "WALKER"]  # fmt: skip
PROCEDURES = [("99213", 95, 180), ("99214", 140, 260), ("99212", 60, 120), ("99215", 190, 340),
              ("99203", 120, 220), ("36415", 12, 35), ("87880", 25, 60), ("81002", 10, 30),
              ("90471", 20, 45), ("90686", 25, 70), ("93000", 35, 90), ("71046", 60, 180),
              ("J3420", 15, 40), ("G0439", 150, 260), ("97110", 45, 110),
              ("20610", 90, 240)]  # fmt: skip
MODIFIERS = ["25", "59", "QW", "LT", "RT", "26", "TC", "GT", "95", "XU"]
FILING = ["12", "12", "12", "HM", "MB", "MC", "13", "14"]
RARCS = ["N130", "M15", "N381", "N657", "MA130", "N20"]


def amount(value: Decimal) -> str:
    """An X12 R amount: no trailing zeros after the point, no point when whole, no ``-0``."""
    if not value:
        return "0"
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def npi(rng: random.Random) -> str:
    """A random NPI with a valid check digit (Luhn over ``80840`` + the first nine digits)."""
    body = "1" + "".join(rng.choice("0123456789") for _ in range(8))
    total = 24  # the 80840 prefix's contribution
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def cents(rng: random.Random, lo: float, hi: float) -> Decimal:
    return Decimal(rng.randrange(int(lo * 100), int(hi * 100) + 1)) * CENT


def pct(value: Decimal, share: float) -> Decimal:
    return (value * Decimal(str(share))).quantize(CENT)


Cas = list[tuple[str, list[tuple[str, Decimal]]]]  # [(group, [(reason, amount), ...]), ...]


@dataclass
class Line:
    procedure: str
    modifiers: list[str]
    charge: Decimal
    units: int
    day: str
    control: str
    cas: Cas = field(default_factory=list)
    rarc: str | None = None

    @property
    def adjusted(self) -> Decimal:
        return sum((a for _, items in self.cas for _, a in items), ZERO)

    @property
    def paid(self) -> Decimal:
        return self.charge - self.adjusted

    @property
    def allowed(self) -> Decimal:  # AMT*B6: paid + patient responsibility
        return self.paid + sum((a for g, items in self.cas if g == "PR" for _, a in items), ZERO)


@dataclass
class Claim:
    pcn: str
    status: str
    icn: str
    filing: str
    patient: tuple[str, str, str]  # last, first, member id
    lines: list[Line]
    cas: Cas = field(default_factory=list)
    insured: tuple[str, str, str] | None = None
    rendering: tuple[str, str, str] | None = None  # last, first, NPI
    crossover: str | None = None
    moa: str | None = None
    refs: list[tuple[str, str]] = field(default_factory=list)
    statement: tuple[str, str] | None = None
    received: str | None = None
    coverage: bool = False

    @property
    def charge(self) -> Decimal:
        return sum((ln.charge for ln in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        claim_cas = sum((a for _, items in self.cas for _, a in items), ZERO)
        return sum((ln.paid for ln in self.lines), ZERO) - claim_cas

    @property
    def patient_share(self) -> Decimal:
        cas = self.cas + [c for ln in self.lines for c in ln.cas]
        return sum((a for g, items in cas if g == "PR" for _, a in items), ZERO)


def _date(rng: random.Random, month_lo: int = 1, month_hi: int = 2) -> str:
    return f"2025{rng.randint(month_lo, month_hi):02d}{rng.randint(1, 28):02d}"


def _adjudicate(rng: random.Random, line: Line, status: str, reduce: float) -> None:
    """Fill the line's CAS for the claim status; ``reduce`` is the allowed share of the charge."""
    charge = line.charge
    if status == "4":
        line.cas = [("CO", [("31", charge)])]
        return
    allowed = pct(charge, reduce)
    cas: Cas = []
    if charge - allowed:
        cas.append(("CO", [("45", charge - allowed)]))
    left = allowed
    if status == "2":  # secondary: the primary's payment is OA-23
        prior = pct(left, rng.uniform(0.5, 0.8))
        cas.append(("OA", [("23", prior)]))
        left -= prior
    pr: list[tuple[str, Decimal]] = []
    r = rng.random()
    if r < 0.25 and left:
        ded = min(left, cents(rng, 5, 60))
        pr.append(("1", ded))
        left -= ded
    if rng.random() < 0.45 and left:
        coins = pct(left, 0.2)
        if coins:
            pr.append(("2", coins))
            left -= coins
    if rng.random() < 0.2 and left:
        copay = min(left, Decimal(rng.choice([10, 15, 20, 25, 30])))
        pr.append(("3", copay))
        left -= copay
    if pr:
        if rng.random() < 0.5:
            cas.append(("PR", pr))  # several triplets in one CAS
        else:
            cas += [("PR", [item]) for item in pr]
    line.cas = cas


def _person(rng: random.Random, prefix: str) -> tuple[str, str, str]:
    return rng.choice(LAST), rng.choice(FIRST), f"{prefix}{rng.randrange(10**9, 10**10)}"


def _lines(rng: random.Random, i: int) -> list[Line]:
    day = _date(rng)
    out = []
    for k in range(rng.choice((2, 2, 3))):
        code, lo, hi = rng.choice(PROCEDURES)
        units = rng.choice((1, 1, 1, 1, 2, 3))
        out.append(
            Line(
                procedure=code,
                modifiers=rng.sample(MODIFIERS, rng.choice((0, 0, 1, 1, 2))),
                charge=cents(rng, lo, hi) * units,
                units=units,
                day=day,
                control=f"L{i:08d}-{k + 1}",
            )
        )
    return out


def make_claim(rng: random.Random, i: int, status: str, like: Claim | None = None) -> Claim:
    """One adjudicated claim (not a reversal) with the given CLP02.

    With ``like``, the same claim adjudicated again (a correction): same patient, provider and
    lines, new amounts, a new CLP07 and REF*F8 = the original CLP07.
    """
    if like is not None:
        lines = [
            Line(ln.procedure, ln.modifiers, ln.charge, ln.units, ln.day, ln.control)
            for ln in like.lines
        ]
    else:
        lines = _lines(rng, i)
    reduce = rng.uniform(0.45, 0.95)
    for ln in lines:
        _adjudicate(rng, ln, status, reduce)
        if status != "4" and rng.random() < 0.1:
            ln.rarc = rng.choice(RARCS)
    claim = Claim(
        pcn=f"PCN{i:09d}",
        status=status,
        icn=f"{rng.randrange(10**13, 10**14)}",
        filing="MB" if status == "19" else rng.choice(FILING),
        patient=_person(rng, "M"),
        lines=lines,
    )
    if status == "4":
        claim.moa = "MA130"
        return claim
    lines_paid = sum((ln.paid for ln in lines), ZERO)
    r = rng.random()
    if r < 0.1 and lines_paid:  # sequestration
        claim.cas.append(("CO", [("253", pct(lines_paid, 0.02) or CENT)]))
    elif r < 0.15 and lines_paid:  # claim-level deductible
        claim.cas.append(("PR", [("1", min(lines_paid, cents(rng, 5, 40)))]))
    if rng.random() < 0.25:
        claim.insured = _person(rng, "M")
    if rng.random() < 0.7:
        claim.rendering = (rng.choice(LAST), rng.choice(FIRST), npi(rng))
    if status == "19":
        claim.crossover = f"CROSSOVER PLAN {rng.randrange(1, 9)}"
        claim.moa = "MA18"
    elif rng.random() < 0.08:
        claim.moa = rng.choice(("MA01", "MA72", "MA07"))
    if rng.random() < 0.6:
        claim.refs.append(("1L", f"GRP{rng.randrange(1000, 99999)}"))
    if rng.random() < 0.5:
        claim.statement = (lines[0].day, lines[0].day)
    if rng.random() < 0.9:
        claim.received = "202503" + f"{rng.randint(1, 15):02d}"
    claim.coverage = rng.random() < 0.3
    if like is not None:
        claim.filing, claim.patient, claim.insured = like.filing, like.patient, like.insured
        claim.rendering, claim.statement = like.rendering, like.statement
        claim.refs = [("F8", like.icn), *(r for r in like.refs if r[0] != "F8")]
    return claim


class _Out:
    """Writes segments and keeps the counts and sums the envelope and BPR need."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.segments = 0
        self.claims = 0
        self.paid = ZERO
        self.charge = ZERO

    def seg(self, *elements: str) -> None:
        self.f.write("*".join(elements).rstrip("*") + "~")
        self.segments += 1

    def cas(self, cas: Cas, sign: int) -> None:
        for group, items in cas:
            els = ["CAS", group]
            for reason, amt in items:
                els += [reason, amount(amt * sign), ""]
            self.seg(*els)

    def claim(self, c: Claim, reversal: bool = False) -> None:
        sign = -1 if reversal else 1
        status = "22" if reversal else c.status
        share = c.patient_share * sign
        paid = c.paid * sign
        self.claims += 1
        self.paid += paid
        self.charge += c.charge * sign
        self.seg(
            "CLP", c.pcn, status, amount(c.charge * sign), amount(paid),
            amount(share) if share else "", c.filing, c.icn, "11", "1",
        )  # fmt: skip
        self.cas(c.cas, sign)
        self.seg("NM1", "QC", "1", c.patient[0], c.patient[1], "", "", "", "MI", c.patient[2])
        if c.insured:
            self.seg("NM1", "IL", "1", c.insured[0], c.insured[1], "", "", "", "MI", c.insured[2])
        if c.rendering:
            r = c.rendering
            self.seg("NM1", "82", "1", r[0], r[1], "", "", "", "XX", r[2])
        if c.crossover:
            self.seg("NM1", "TT", "2", c.crossover, "", "", "", "", "PI", "CROSS01")
        if c.moa:
            self.seg("MOA", "", "", c.moa)
        for qual, value in c.refs:
            self.seg("REF", qual, value)
        if c.statement:
            self.seg("DTM", "232", c.statement[0])
            self.seg("DTM", "233", c.statement[1])
        if c.received:
            self.seg("DTM", "050", c.received)
        if c.coverage and not reversal:
            self.seg("AMT", "AU", amount(sum((ln.allowed for ln in c.lines), ZERO)))
        for ln in c.lines:
            code = ":".join(["HC", ln.procedure, *ln.modifiers])
            units = "" if ln.units == 1 and not reversal else str(ln.units * sign)
            self.seg("SVC", code, amount(ln.charge * sign), amount(ln.paid * sign), "", units)
            self.seg("DTM", "472", ln.day)
            self.cas(ln.cas, sign)
            self.seg("REF", "6R", ln.control)
            if not reversal and c.status != "4":
                self.seg("AMT", "B6", amount(ln.allowed))
            if ln.rarc and not reversal:
                self.seg("LQ", "HE", ln.rarc)


def _statuses(rng: random.Random, n: int) -> list[str]:
    """The CLP02 of each of ``n`` claims; ``R`` marks a reversal (its corrected claim follows)."""
    out: list[str] = []
    while len(out) < n:
        r = rng.random()
        if r < 0.02 and n - len(out) >= 2:
            out += ["R", "1"]
        elif r < 0.06:
            out.append("2")
        elif r < 0.1:
            out.append("19")
        elif r < 0.13:
            out.append("4")
        else:
            out.append("1")
    return out


def write_835(path: str | os.PathLike[str], n: int, seed: int = SEED) -> dict[str, Any]:
    """Write the file; return its facts (segments, claims, Σ CLP04, BPR02, bytes...)."""
    rng = random.Random(seed)
    path = Path(path)
    body_path = path.with_suffix(".body.tmp")
    payee_npi = PAYEE_NPI
    with open(body_path, "w", encoding="ascii", newline="") as f:
        out = _Out(f)
        statuses = _statuses(rng, n)
        lx = 0
        next_lx = 0
        i = 0
        while i < n:
            if i >= next_lx:
                lx += 1
                out.seg("LX", str(lx))
                next_lx = i + rng.randrange(300, 3000)
            status = statuses[i]
            if status == "R":
                original = make_claim(rng, i + 1, "1")
                out.claim(original, reversal=True)
                out.claim(make_claim(rng, i + 1, "1", like=original))
                i += 2
            else:
                out.claim(make_claim(rng, i + 1, status))
                i += 1
        plb = ["PLB", payee_npi, "20251231"]
        plb_total = ZERO
        for k in range(rng.randint(2, 3)):
            interest = -cents(rng, 0.5, 25)
            recoup = cents(rng, 10, 300)
            plb += [f"L6:PCN{k + 1:09d}", amount(interest), f"WO:{rng.randrange(10**13, 10**14)}"]
            plb += [amount(recoup)]
            plb_total += interest + recoup
        out.seg(*plb)
    total = out.paid - plb_total
    head = [
        "ISA*00*          *00*          *ZZ*BENCHPAYER     *ZZ*BENCHPRACTICE  *250320*0800*^*"
        "00501*000000835*0*P*:",
        f"GS*HP*BENCHPAYER*BENCHPRACTICE*{DAY}*0800*835*X*005010X221A1",
        "ST*835*0001",
        f"BPR*I*{amount(total)}*C*ACH*CCP*01*999999992*DA*123456789*{PAYER_ID}**01*111000025*DA"
        f"*987654321*{DAY}",
        f"TRN*1*{rng.randrange(10**10, 10**11)}*{PAYER_ID}",
        "DTM*405*20250319",
        "N1*PR*BENCH HEALTH PLAN",
        "N3*PO BOX 1000",
        "N4*DALLAS*TX*752010000",
        "REF*2U*BENCHH",
        "PER*BL*EDI SUPPORT*TE*8005550199",
        f"N1*PE*MAIN STREET CLINIC*XX*{payee_npi}",
        "N3*100 MAIN STREET",
        "N4*AUSTIN*TX*787010000",
        "REF*TJ*741234567",
    ]
    st_segments = len(head) - 2 + out.segments + 1  # ST..SE inclusive
    with open(path, "w", encoding="ascii", newline="") as f:
        f.write("~".join(head) + "~")
        with open(body_path, encoding="ascii", newline="") as body:
            while chunk := body.read(1 << 20):
                f.write(chunk)
        f.write(f"SE*{st_segments}*0001~GE*1*835~IEA*1*000000835~")
    body_path.unlink()
    return {
        "generator": GENERATOR,
        "n": n,
        "seed": seed,
        "claims": out.claims,
        "segments": len(head) + out.segments + 3,
        "st_segments": st_segments,
        "paid": str(out.paid),
        "plb": str(plb_total),
        "bpr02": str(total),
        "bytes": path.stat().st_size,
    }


# -- checking ---------------------------------------------------------------------------------
def _sum_cas(els: list[str]) -> tuple[Decimal, Decimal]:
    """(all amounts, PR amounts) of one CAS segment."""
    total = sum((Decimal(els[k]) for k in range(3, len(els), 3) if els[k]), ZERO)
    return total, (total if els[1] == "PR" else ZERO)


def check_835(path: str | os.PathLike[str]) -> list[str]:
    """Problems with the file's balancing and counts (empty when it balances)."""
    text = Path(path).read_bytes().decode("latin-1")
    problems: list[str] = []
    claim: dict[str, Any] | None = None
    line: list[Decimal] | None = None  # [SVC02, SVC03, Σ CAS]
    total = plb = bpr = ZERO
    st_count = groups = sets = 0

    def close_line() -> None:
        nonlocal line
        if line is not None and claim is not None:
            if line[0] - line[2] != line[1]:
                problems.append(f"{claim['id']}: line {line[0]} - {line[2]} != {line[1]}")
            line = None

    def close_claim() -> None:
        nonlocal claim
        close_line()
        if claim is not None:
            if claim["charge"] - claim["cas"] != claim["paid"]:
                problems.append(f"{claim['id']}: claim {claim['charge']} - {claim['cas']} != paid")
            if claim["share"] != claim["pr"]:
                problems.append(f"{claim['id']}: CLP05 {claim['share']} != ΣPR {claim['pr']}")
            claim = None

    for raw in text.split("~"):
        if not raw:
            continue
        els = raw.split("*")
        sid = els[0]
        st_count += 1
        if sid == "ST":
            st_count = 1
            sets += 1
        elif sid == "GS":
            groups += 1
        elif sid == "BPR":
            bpr = Decimal(els[2])
        elif sid == "CLP":
            close_claim()
            claim = {
                "id": f"{els[1]}/{els[2]}",
                "charge": Decimal(els[3]),
                "paid": Decimal(els[4]),
                "share": Decimal(els[5] or 0),
                "cas": ZERO,
                "pr": ZERO,
            }
            total += claim["paid"]
        elif sid == "SVC":
            close_line()
            line = [Decimal(els[2]), Decimal(els[3]), ZERO]
        elif sid == "CAS" and claim is not None:
            adj, pr = _sum_cas(els)
            claim["cas"] += adj
            claim["pr"] += pr
            if line is not None:
                line[2] += adj
        elif sid in ("LX", "PLB", "SE"):
            close_claim()
            if sid == "PLB":
                plb += sum((Decimal(els[k]) for k in range(4, len(els), 2) if els[k]), ZERO)
            elif sid == "SE" and int(els[1]) != st_count:
                problems.append(f"SE01 {els[1]} != {st_count} segments")
        elif sid == "GE" and int(els[1]) != sets:
            problems.append(f"GE01 {els[1]} != {sets} transaction sets")
        elif sid == "IEA" and int(els[1]) != groups:
            problems.append(f"IEA01 {els[1]} != {groups} groups")
    if total - plb != bpr:
        problems.append(f"BPR02 {bpr} != ΣCLP04 {total} - ΣPLB {plb}")
    return problems


def ensure_835(data: Path, n: int, seed: int = SEED) -> tuple[Path, dict[str, Any]]:
    """The cached file for (n, seed), written and balance-checked when missing or stale."""
    path = data / f"835-{n}-s{seed}.x12"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta: dict[str, Any] = json.loads(meta_path.read_text())
        if meta.get("generator") == GENERATOR and meta.get("bytes") == path.stat().st_size:
            return path, meta
    data.mkdir(parents=True, exist_ok=True)
    meta = write_835(path, n, seed)
    problems = check_835(path)
    if problems or meta["claims"] != n:
        raise SystemExit(f"generated 835 {path} does not balance: {problems[:5]}")
    meta["balance_checked"] = True
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return path, meta


PAYER_PER = "PER*BL*EDI SUPPORT*TE*8005550199~"


def ensure_without_payer_per(path: Path, meta: dict[str, Any]) -> Path:
    """A copy of ``path`` without the payer's PER*BL (loop 1000A), SE01 one less.

    linuxforhealth-x12 0.57.0 fails on any PER in loop 1000A (its parser stores a single PER
    where its model wants a list), though the TR3 requires PER*BL there; this copy lets it be
    timed on otherwise the same claims.
    """
    out = path.with_name(path.stem + "-noper.x12")
    if out.exists() and out.stat().st_mtime >= path.stat().st_mtime:
        return out
    text = path.read_bytes().decode("latin-1")
    head, sep, tail = text.partition(PAYER_PER)
    se = f"SE*{meta['st_segments']}*0001~"
    if not sep or not tail.endswith(se + "GE*1*835~IEA*1*000000835~"):
        raise SystemExit(f"{path}: no payer PER*BL or SE to drop for the PER-less copy")
    tail = tail[: tail.rindex(se)] + f"SE*{meta['st_segments'] - 1}*0001~GE*1*835~IEA*1*000000835~"
    out.write_bytes((head + tail).encode("latin-1"))
    return out


def self_check(data: Path, n: int = 50, seed: int = SEED) -> dict[str, Any]:
    """Write an ``n``-claim file, check its balance and validate it with pyx12 via the gateway."""
    from gateway.transactions.ig_validation import validate_with_pyx12

    path = data / f"835-check-{n}-s{seed}.x12"
    data.mkdir(parents=True, exist_ok=True)
    meta = write_835(path, n, seed)
    balance = check_835(path)
    pyx12 = [str(p) for p in validate_with_pyx12(path)]
    return {"path": str(path), **meta, "balance_problems": balance, "pyx12_problems": pyx12}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gen_835", description=__doc__)
    parser.add_argument("--check", action="store_true", help="validate a small file (pyx12)")
    parser.add_argument("-n", type=int, default=50, help="claims (default 50)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=None, help="write this file (no --check)")
    opts = parser.parse_args(argv)
    data = Path(__file__).resolve().parent / "data"
    if opts.check:
        result = self_check(data, opts.n, opts.seed)
        print("RESULT " + json.dumps(result), flush=True)
        return 1 if result["balance_problems"] or result["pyx12_problems"] else 0
    out = opts.out or data / f"835-{opts.n}-s{opts.seed}.x12"
    meta = write_835(out, opts.n, opts.seed)
    problems = check_835(out)
    print(json.dumps({**meta, "balance_problems": problems}, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
