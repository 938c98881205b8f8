"""Fuzz `gateway parse` and the daemon's reply processing with mutated X12.

``python -m bench.fuzz_replies --parse 5000 --daemon 1000 [--database URL] [--seed N]`` mutates
seed replies (an 835 from :mod:`bench.gen_835`, a 999, a TA1, a 277CA, the follow-up's 277
and the eligibility 271s of ``tests/data/x12-examples/``, and the reproducers in
``tests/data/repro/``) at the byte, element and segment level, then:

- ``parse``: runs ``gateway parse`` on each (in process, through click). A failure is an exit
  code other than 0 or 1, an exception that escapes, or Python text (a traceback, an exception
  name) in what it says.
- ``daemon``: puts each in a home's ``spool/inbound/`` and processes it as the daemon does. A
  failure is an exception that escapes, a file left behind, or a quarantine or review reason
  that is not plain (Python text, or the "internal error" catch-all, which means a bug).

It prints the closing figures (tries, failures, outcomes) as one JSON line and keeps each
failing input in ``bench/results/fuzz-failures/``. Not a test: a run takes minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FAILURES = Path(__file__).resolve().parent / "results" / "fuzz-failures"
PYTHON_TEXT = re.compile(r"Traceback|<class |Error\b|Exception\b|decimal\.|object has no|index out")
HOSTILE = [
    "", "sNaN", "NaN", "-Infinity", "1e5", "1E+999999", "9" * 40, "2147483648", "-1", "0" * 20,
    "A" * 120, "\u202e", "é", "~", "*", ":", "^", " ", "12.", ".5", "--1",
]  # fmt: skip
ISA = ("ISA*00*          *00*          *ZZ*ACMECH         *ZZ*PRACTICE01     *261203*0722*^*"
       "00501*000000002*0*T*:~")  # fmt: skip
ACK_999 = ISA + (
    "GS*FA*ACMECH*PRACTICE01*20261203*0722*2*X*005010X231A1~ST*999*0001*005010X231A1~"
    "AK1*HC*1*005010X222A1~AK2*837*0001*005010X222A1~IK5*R*5~AK9*R*1*1*0~SE*6*0001~"
    "GE*1*2~IEA*1*000000002~"
)
TA1 = ISA + "TA1*000000001*261203*0722*R*006~IEA*0*000000002~"
STATUS = ISA + (
    "GS*HN*ACMECH*PRACTICE01*20261203*0722*4*X*005010X214~ST*277*0001*005010X214~"
    "BHT*0085*08*1*20261203*0722*TH~HL*1**20*1~NM1*PR*2*ACME*****PI*ACMEH~HL*2*1*21*1~"
    "NM1*41*2*CLINIC*****46*TX1~HL*3*2*19*1~NM1*85*2*CLINIC*****XX*1234567893~HL*4*3*PT~"
    "NM1*QC*1*DOE*JANE****MI*M1~TRN*2*PCN-1~STC*A7:562:85*20261203*U*175~REF*1K*ICN1~"
    "DTP*472*RD8*20250303-20250303~SVC*HC:99213*150****1~STC*A7:562*20261203*U*150~"
    "SE*17*0001~GE*1*4~IEA*1*000000002~"
)

# replies the daemon takes that the seeds above lack: a 277 answering 276s (X212), 271s (X279)
EXAMPLES = ("status-277.x12", "elig-271.x12", "elig-271-aaa.x12")


def seeds() -> list[bytes]:
    from bench.gen_835 import ensure_835

    path, _ = ensure_835(Path(__file__).resolve().parent / "data", 8)
    found = [path.read_bytes(), ACK_999.encode(), TA1.encode(), STATUS.encode()]
    examples = ROOT / "tests" / "data" / "x12-examples"
    found += [(examples / n).read_bytes() for n in EXAMPLES]
    repro = ROOT / "tests" / "data" / "repro"
    found += [p.read_bytes() for p in sorted(repro.rglob("*.x12"))]
    return found


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four mutations: elements swapped for hostile values, bytes flipped, segments
    dropped, repeated or cut short, the file truncated."""
    text = data.decode("latin-1")
    for _ in range(rng.randint(1, 4)):
        segments = text.split("~")
        how = rng.random()
        i = rng.randrange(len(segments))
        if how < 0.45 and "*" in segments[i]:
            elements = segments[i].split("*")
            j = rng.randrange(1, len(elements))
            elements[j] = rng.choice(HOSTILE) if rng.random() < 0.8 else elements[j] * 5
            segments[i] = "*".join(elements)
        elif how < 0.55:
            segments[i] = segments[i].split("*")[0]  # a bare segment id
        elif how < 0.65:
            del segments[i]
        elif how < 0.75:
            segments.insert(i, segments[rng.randrange(len(segments))])
        elif how < 0.9 and text:
            k = rng.randrange(len(text))
            text = text[:k] + chr(rng.randrange(256)) + text[k + 1 :]
            continue
        else:
            text = text[: rng.randrange(len(text) + 1)]
            continue
        text = "~".join(segments)
    return text.encode("utf-8", "surrogateescape")


def fuzz_parse(tries: int, rng: random.Random, pool: list[bytes]) -> dict[str, Any]:
    from click.testing import CliRunner

    from gateway.cli.main import cli

    outcomes: Counter[str] = Counter()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.x12"
        runner = CliRunner()
        for n in range(tries):
            data = mutate(rng.choice(pool), rng)
            path.write_bytes(data)
            result = runner.invoke(cli, ["parse", str(path)], obj={})
            said = result.stderr.replace(str(path), "FILE")
            escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
            bad = escaped or result.exit_code not in (0, 1, 2) or PYTHON_TEXT.search(said)
            outcomes[f"exit {result.exit_code}"] += 1
            if bad:
                failures += 1
                _keep("parse", n, data, f"{result.exit_code} {result.exception!r}\n{said}")
    return {"tries": tries, "failures": failures, "outcomes": dict(outcomes)}


def fuzz_daemon(tries: int, rng: random.Random, pool: list[bytes], database: str) -> dict[str, Any]:
    import logging

    from gateway.daemon.inbound import InboundReport, process_inbound
    from gateway.home import init_home
    from gateway.ledger.db import open_ledger
    from gateway.logs import configure

    configure(json=True, level=logging.CRITICAL)
    outcomes: Counter[str] = Counter()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        init_home(home)
        spool = home / "spool"
        inbound = spool / "inbound" / "acme"
        inbound.mkdir(parents=True)
        url = database or f"sqlite:///{home / 'state' / 'gateway.db'}"
        with open_ledger(url) as ledger:
            for n in range(tries):
                data = mutate(rng.choice(pool), rng)
                name = f"fz{n:05d}.x12"
                (inbound / name).write_bytes(data)
                report = InboundReport()
                try:
                    process_inbound(spool, ledger, "acme", report)
                except Exception as exc:  # that is what is counted
                    failures += 1
                    _keep("daemon", n, data, repr(exc))
                    shutil.move(inbound / name, FAILURES / f"daemon-{n:05d}-left.x12")
                    continue
                reasons = _reasons(spool, name)
                kind = ("quarantined" if report.quarantined else "held" if report.payments_held
                        else "duplicate" if report.duplicates else "processed")  # fmt: skip
                outcomes[kind] += 1
                left = (inbound / name).exists()
                plain = all(not PYTHON_TEXT.search(r) and "internal error" not in r
                            for r in reasons)  # fmt: skip
                if left or not plain:
                    failures += 1
                    _keep("daemon", n, data, json.dumps(reasons))
    return {"tries": tries, "failures": failures, "outcomes": dict(outcomes)}


def _reasons(spool: Path, name: str) -> list[str]:
    out = []
    note = spool / "quarantine" / "acme" / f"{name}.reason.json"
    if note.exists():
        out.append(json.loads(note.read_text())["reason"])
    review = spool / "review" / f"{name}.review.json"
    if review.exists():
        for t in json.loads(review.read_text())["transactions"]:
            out += [e["message"] for e in t["balance_errors"]]
    return out


def _keep(what: str, n: int, data: bytes, why: str) -> None:
    FAILURES.mkdir(parents=True, exist_ok=True)
    (FAILURES / f"{what}-{n:05d}.x12").write_bytes(data)
    (FAILURES / f"{what}-{n:05d}.why.txt").write_text(why)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_replies", description=__doc__)
    parser.add_argument("--parse", type=int, default=5000, help="tries of gateway parse")
    parser.add_argument("--daemon", type=int, default=1000, help="tries of the daemon")
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default SQLite)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    pool = seeds()
    started = time.monotonic()
    result: dict[str, Any] = {"seed": args.seed, "seeds": len(pool)}
    result["parse"] = fuzz_parse(args.parse, random.Random(args.seed), pool)
    result["daemon"] = fuzz_daemon(args.daemon, random.Random(args.seed + 1), pool,
                                   args.database)  # fmt: skip
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
