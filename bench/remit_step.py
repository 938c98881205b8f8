"""One measured 835 step in a fresh interpreter: ``python -m bench.remit_step '{"step": ...}'``.

Runs under the project's ``.venv`` (bare split, pyx12, ours) or under a peer's venv in
``bench/.venvs/`` (oxedi, edi-835-parser, x12sdk, linuxforhealth-x12), so this module imports
only the standard library (and :mod:`bench.memory`, which does too) at the top; each step
imports its library in its setup, before the timer and before the memory mark is reset. Like
:mod:`bench.step`, it runs the timed work ``repeat`` times (one run only once a run took longer
than ``slow`` seconds) and prints one line
``RESULT {json}``: wall times, the claims counted, the sum of CLP04 it saw, and memory in KiB
(``start_kb`` before the timed work, ``peak_kb`` the high-water mark during it).

A library that cannot be imported or that raises on the file gives a RESULT with ``error`` (and
``unavailable`` when the import failed) instead of a failing exit, so the run goes on.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bench.memory import hwm_kb, reset_hwm, rss_kb

Runner = Callable[[str], dict[str, Any]]


class _Capped(Exception):
    def __init__(self, segments: int, seconds: float) -> None:
        super().__init__(f"stopped at segment {segments} after {seconds:.1f} s")
        self.segments = segments
        self.seconds = seconds


# -- the steps: each setup imports its library and returns the timed function -----------------
def setup_split(args: dict[str, Any]) -> Runner:
    def bare_split(path: str) -> dict[str, Any]:
        """The floor: read the whole file, decode Latin-1, split on ``~`` then on ``*``."""
        with open(path, "rb") as f:
            data = f.read().decode("latin-1")
        n = 0
        for seg in data.split("~"):
            if seg.strip():
                seg.split("*")
                n += 1
        return {"segments": n}

    return bare_split


def setup_pyx12(args: dict[str, Any]) -> Runner:
    import pyx12.x12file

    cap = args.get("cap")

    def pyx12_reader(path: str) -> dict[str, Any]:
        """pyx12's segment reader over every segment, CLP04 summed; gives up after ``cap`` s."""
        n = claims = 0
        paid = Decimal(0)
        start = time.perf_counter()
        reader = pyx12.x12file.X12Reader(path)
        try:
            for seg in reader:
                n += 1
                if seg.get_seg_id() == "CLP":
                    claims += 1
                    paid += Decimal(seg.get_value("CLP04"))
                if cap is not None and n & 4095 == 0 and time.perf_counter() - start > cap:
                    raise _Capped(n, time.perf_counter() - start)
        finally:
            reader.close()
        return {"segments": n, "claims": claims, "paid": paid}

    return pyx12_reader


def setup_ours(args: dict[str, Any]) -> Runner:
    from gateway.replies.remittances import post_835

    def ours(path: str) -> dict[str, Any]:
        """Parse and post: every event of ``post_835``; claims counted, balance kept."""
        claims = payments = ends = 0
        unbalanced: list[Any] = []
        name = os.path.basename(path)
        for event in post_835(path, source_file=name):
            kind = event.kind
            if kind == "claim":
                claims += 1
            elif kind == "payment":
                payments += 1
            elif kind == "end":
                ends += 1
                if not event.balanced:
                    unbalanced.append([str(e) for e in event.balance_errors][:5])
        return {"claims": claims, "payments": payments, "ends": ends, "unbalanced": unbalanced}

    return ours


def setup_oxedi(args: dict[str, Any]) -> Runner:
    import oxedi

    def run(path: str) -> dict[str, Any]:
        """``oxedi.parse_file``: document, tables and diagnostics; claims counted, BPR02 summed.

        ``sum_payments()`` is the sum of BPR02 (what was deposited), checked against the file.
        """
        result = oxedi.parse_file(path)
        return {
            "claims": result.count_claims(),
            "bpr02": result.sum_payments(),
            "rows": len(result.tables["claims"]),
            "diagnostics": len(result.diagnostics),
        }

    return run


def setup_edi835(args: dict[str, Any]) -> Runner:
    from edi_835_parser import parse

    def run(path: str) -> dict[str, Any]:
        """``edi_835_parser.parse``: transaction sets of claim loops; each claim's CLP04 summed."""
        claims = 0
        paid = Decimal(0)
        for ts in parse(path):
            for claim in ts.claims:
                claims += 1
                paid += Decimal(str(claim.claim.paid_amount))
        return {"claims": claims, "paid": paid}

    return run


def setup_x12sdk(args: dict[str, Any]) -> Runner:
    from x12sdk.io import X12ModelReader

    def run(path: str) -> dict[str, Any]:
        """``x12sdk.io.X12ModelReader``: validated Pydantic v2 models; ``claims()`` walked."""
        claims = 0
        paid = Decimal(0)
        with X12ModelReader(path) as reader:
            for model in reader.models():
                for claim in model.claims():
                    claims += 1
                    paid += claim.paid
        return {"claims": claims, "paid": paid}

    return run


def setup_lfh(args: dict[str, Any]) -> Runner:
    from linuxforhealth.x12.io import X12ModelReader

    def run(path: str) -> dict[str, Any]:
        """``linuxforhealth.x12.io.X12ModelReader``: Pydantic v1 models; loop 2100 walked."""
        claims = 0
        paid = Decimal(0)
        with X12ModelReader(path) as reader:
            for model in reader.models():
                for header in model.loop_2000:
                    for claim in header.loop_2100:
                        claims += 1
                        paid += claim.clp_segment.claim_payment_amount
        return {"claims": claims, "paid": paid}

    return run


SETUPS: dict[str, Callable[[dict[str, Any]], Runner]] = {
    "split": setup_split,
    "pyx12": setup_pyx12,
    "ours": setup_ours,
    "oxedi": setup_oxedi,
    "edi835": setup_edi835,
    "x12sdk": setup_x12sdk,
    "lfh": setup_lfh,
}
DISTRIBUTIONS = {
    "pyx12": "pyx12",
    "oxedi": "oxedi",
    "edi835": "edi-835-parser",
    "x12sdk": "x12sdk",
    "lfh": "linuxforhealth-x12",
}


def _error(exc: BaseException) -> str:
    tail = traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:]
    return f"{type(exc).__name__}: {exc}"[:500] + "\n" + "".join(tail)[-1500:]


def run(args: dict[str, Any]) -> dict[str, Any]:
    step = args["step"]
    out: dict[str, Any] = {"step": step, "n": int(args.get("n", 0))}
    if step == "idle":
        out.update(rss_kb=rss_kb(), peak_kb=hwm_kb())
        return out
    path = args["path"]
    repeat = int(args.get("repeat", 1))
    slow = float(args.get("slow", 10.0))
    try:
        work = SETUPS[step](args)
    except Exception as exc:  # an import that fails: the step is reported "not available"
        out["unavailable"] = True
        out["error"] = _error(exc)
        return out
    dist = DISTRIBUTIONS.get(step)
    if dist:
        try:
            from importlib.metadata import version

            out["version"] = version(dist)
        except Exception:
            out["version"] = None

    gc.collect()
    out["setup_peak_kb"] = hwm_kb()
    out["start_kb"] = rss_kb()
    out["hwm_reset"] = reset_hwm()
    times: list[float] = []
    cpu_times: list[float] = []  # the process's own CPU: what a busy machine inflates least
    got: dict[str, Any] = {}
    try:
        for _ in range(repeat):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            got = work(path)
            times.append(time.perf_counter() - t0)
            cpu_times.append(time.process_time() - c0)
            if times[-1] > slow:
                break
    except _Capped as capped:
        out["capped"] = {"segments": capped.segments, "seconds": capped.seconds}
        times.append(capped.seconds)
    except Exception as exc:  # a peer that crashes on the file: reported, not fatal
        out["error"] = _error(exc)
    out["peak_kb"] = hwm_kb()
    out["times"] = times
    out["cpu_times"] = cpu_times
    out.update({k: str(v) if isinstance(v, Decimal) else v for k, v in got.items()})
    return out


def main(argv: list[str]) -> int:
    args = json.loads(argv[0])
    print("RESULT " + json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
