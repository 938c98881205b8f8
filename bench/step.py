"""One measured step, run in a fresh interpreter: ``python -m bench.step '{"step": ...}'``.

Every step imports the same modules (so the idle interpreter is the same baseline for all of
them), does its setup, then resets the kernel's RSS high-water mark (``/proc/self/clear_refs``)
and runs the timed work ``repeat`` times. It prints one line ``RESULT {json}`` with the wall times
and memory figures in KiB:

- ``start_kb``: resident memory just before the timed work (imports + setup, e.g. the claims);
- ``peak_kb``: the high-water mark during the timed work (``VmHWM``; falls back to
  ``ru_maxrss`` where the mark cannot be reset);
- ``setup_peak_kb``: the high-water mark of the setup, before the reset.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyx12.x12file

from bench.claims import make_claims
from bench.memory import hwm_kb, reset_hwm, rss_kb
from gateway.domain.claim_checks import check_claim
from gateway.transactions.claim_837 import Envelope, write_837
from gateway.transactions.claim_837_reader import read_837
from gateway.x12.reader import X12Reader

ENVELOPE = Envelope(
    sender_id="BENCHSENDER",
    receiver_id="BENCHRECEIVER",
    interchange_control=1,
    group_control=1,
    batch_id="BENCH1",
    submitter_name="Bench Billing",
    receiver_name="Bench Clearinghouse",
    when=datetime(2025, 1, 2, 12, 0),
)


# -- the timed work -------------------------------------------------------------------------
def bare_split(path: str) -> int:
    """The floor: read the whole file, split on ``~`` then on ``*``."""
    with open(path, "rb") as f:
        data = f.read().decode("latin-1")
    n = 0
    for seg in data.split("~"):
        if seg.strip():
            seg.split("*")
            n += 1
    return n


def our_reader(path: str) -> int:
    n = 0
    for _seg in X12Reader(path):
        n += 1
    return n


def our_read_837(path: str) -> int:
    n = 0
    for _record in read_837(path):
        n += 1
    return n


class _Capped(Exception):
    pass


def pyx12_reader(path: str, cap: float | None = None, progress: list[float] | None = None) -> int:
    """pyx12's ``X12Reader`` over all segments; gives up after ``cap`` seconds.

    When it gives up, ``progress`` holds the segments read and the seconds taken.
    """
    n = 0
    start = time.perf_counter()
    reader = pyx12.x12file.X12Reader(path)
    try:
        for _seg in reader:
            n += 1
            if cap is not None and n & 4095 == 0 and time.perf_counter() - start > cap:
                if progress is not None:
                    progress[:] = [n, time.perf_counter() - start]
                raise _Capped
    finally:
        reader.close()
    return n


READERS: dict[str, Callable[[str], int]] = {
    "split": bare_split,
    "reader": our_reader,
    "read_837": our_read_837,
}


def _timed(fn: Callable[[], int], repeat: int) -> tuple[list[float], int]:
    times = []
    count = 0
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - t0)
    return times, count


def run(args: dict[str, Any]) -> dict[str, Any]:
    step = args["step"]
    n = int(args.get("n", 0))
    path = args.get("path", "")
    repeat = int(args.get("repeat", 1))
    out: dict[str, Any] = {"step": step, "n": n}
    if step == "idle":
        out.update(rss_kb=rss_kb(), peak_kb=hwm_kb())
        return out

    if step == "build":
        claims = make_claims(n, int(args.get("seed", 837)))
        sample = claims[:: max(1, n // 500)]
        out["check_problems"] = sum(len(check_claim(c, today=date(2025, 1, 1))) for c in sample)
        out["checked"] = len(sample)

        def work() -> int:
            with open(path, "w", encoding="ascii", newline="") as f:
                write_837(f, "professional", claims, ENVELOPE)
            return n

    elif step == "pyx12":
        cap = args.get("cap")
        progress: list[float] = []

        def work() -> int:
            return pyx12_reader(path, cap, progress)

    else:
        reader = READERS[step]

        def work() -> int:
            return reader(path)

    gc.collect()
    out["setup_peak_kb"] = hwm_kb()
    out["start_kb"] = rss_kb()
    out["hwm_reset"] = reset_hwm()
    try:
        out["times"], out["count"] = _timed(work, repeat)
    except _Capped:
        done, elapsed = progress
        out["capped"] = {"segments": int(done), "seconds": elapsed}
        out["times"], out["count"] = [elapsed], int(done)
    out["peak_kb"] = hwm_kb()
    if step == "build":
        text = Path(path).read_bytes()
        out["segments"] = text.count(b"~")
        out["bytes"] = len(text)
    return out


def main(argv: list[str]) -> int:
    args = json.loads(argv[0])
    print("RESULT " + json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
