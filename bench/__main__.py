"""``python -m bench [837|835|sftp|daemon|all]``: the benchmarks, one step per fresh interpreter.

See bench/README.md. ``837``: build and read 837P files (``--quick`` runs 1k and 10k claims; the
default runs 10k and 100k). ``835``: parse and post 835s beside the peers (bench/remit_835.py).
``sftp``: SftpTransport beside OpenSSH's ``sftp`` against a private sshd (bench/sftp.py).
``daemon``: N claims through the gateway's side of the whole cycle, SQLite and PostgreSQL, beside
the compute floor (bench/daemon.py).
``web``: every page of the web view with 10,000 claims, SQLite and PostgreSQL, and the claim
search's query plans (bench/web.py).
``all`` (the default without arguments) runs 837 and 835; options without a suite word go to the
837 suite, as before the 835 suite existed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
RESULTS = BENCH / "results"
READ_STEPS = ("split", "reader", "read_837", "pyx12")
LABELS = {
    "build": "build (write_837)",
    "split": "bare split",
    "reader": "X12Reader (ours)",
    "read_837": "read_837 (ours)",
    "pyx12": "pyx12 X12Reader",
}
MIB = 1024.0
SUITES = ("837", "835", "sftp", "daemon", "web", "all")
BUSY_CPUS = 0.25  # CPUs kept busy by other processes during a step above which we warn

console = Console(stderr=True)


def run_step(args: dict[str, Any], module: str = "bench.step") -> dict[str, Any]:
    """Run one step of ``module`` in a fresh interpreter and return its RESULT."""
    cmd = [sys.executable, "-m", module, json.dumps(args)]
    busy0, mine0, wall0 = cpu_busy_s(), children_cpu_s(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    busy1, mine1, wall1 = cpu_busy_s(), children_cpu_s(), time.perf_counter()
    other = None
    if busy0 is not None and busy1 is not None:
        other = max(0.0, (busy1 - busy0) - (mine1 - mine0)) / (wall1 - wall0)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"bench step {args['step']} (n={args.get('n')}) failed")
    line = next(x for x in reversed(proc.stdout.splitlines()) if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    result["other_cpus"] = other
    return result


def cpu_busy_s() -> float | None:
    """CPU seconds spent busy by the whole machine since boot (``/proc/stat``), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10])  # already counted in user and nice
    return (sum(fields) - idle - guest) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summarize(r: dict[str, Any], n: int) -> dict[str, Any]:
    """Best time, rates and MiB of one step result."""
    best = min(r["times"])
    row: dict[str, Any] = {
        "step": r["step"],
        "n": n,
        "seconds": best,
        "times": r["times"],
        "peak_mib": max(0, r["peak_kb"] - r["start_kb"]) / MIB,
        "start_mib": r["start_kb"] / MIB,
        "hwm_reset": r["hwm_reset"],
        "count": r["count"],
        "other_cpus": r.get("other_cpus"),
    }
    capped = r.get("capped")
    segments = r["segments"] if r["step"] == "build" else r["count"]
    if r["step"] == "read_837":
        segments = None  # counted by the segment readers of the same file
    if capped:
        row["capped"] = capped
        row["note"] = (
            f"stopped after {capped['seconds']:.1f} s at segment {capped['segments']:,}; "
            "time extrapolated"
        )
        row["segments_per_s"] = capped["segments"] / capped["seconds"]
    elif segments is not None:
        row["segments"] = segments
        row["segments_per_s"] = segments / best
    if r["step"] == "build":
        row["bytes"] = r["bytes"]
        row["claims_checked"] = r["checked"]
        row["check_problems"] = r["check_problems"]
        row["input_mib"] = r["start_kb"] / MIB  # the claims held while writing (+ interpreter)
    return row


def bench_size(n: int, repeat: int, seed: int, pyx12_cap: float) -> list[dict[str, Any]]:
    DATA.mkdir(parents=True, exist_ok=True)
    path = str(DATA / f"837p-{n}.x12")
    rows = []
    console.print(f"[bold]{n:,} claims[/]: build ({repeat}x)…")
    t0 = time.perf_counter()
    build = summarize(
        run_step({"step": "build", "n": n, "path": path, "repeat": repeat, "seed": seed}), n
    )
    rows.append(build)
    if build["check_problems"]:
        raise SystemExit(f"generated claims fail the claim checks: {build['check_problems']}")
    segments = build["segments"]
    for step in READ_STEPS:
        reps = 1 if step == "pyx12" and n > 10_000 else repeat
        console.print(f"  {step} ({reps}x)…")
        args: dict[str, Any] = {"step": step, "n": n, "path": path, "repeat": reps}
        if step == "pyx12":
            args["cap"] = pyx12_cap
        row = summarize(run_step(args), n)
        if step == "read_837":
            row["segments"] = segments
            row["segments_per_s"] = segments / row["seconds"]
            if row["count"] != n:
                raise SystemExit(f"read_837 gave back {row['count']} claims, not {n}")
        elif "capped" in row:
            row["seconds"] = segments / row["segments_per_s"]
            row["extrapolated"] = True
        elif row["segments"] != segments:
            raise SystemExit(f"{step} saw {row['segments']} segments; {segments} were written")
        rows.append(row)
    for row in rows:
        row["claims_per_s"] = n / row["seconds"]
        row["us_per_claim"] = row["seconds"] / n * 1e6
    split = next(r for r in rows if r["step"] == "split")["seconds"]
    for row in rows:
        row["x_split"] = row["seconds"] / split
    console.print(f"  done in {time.perf_counter() - t0:.0f} s")
    return rows


def checks(rows: list[dict[str, Any]], sizes: list[int]) -> list[dict[str, Any]]:
    """The targets of the issue, each with its figure and PASS/FAIL."""

    def get(step: str, n: int) -> dict[str, Any]:
        return next(r for r in rows if r["step"] == step and r["n"] == n)

    big, small = max(sizes), min(sizes)
    out = []
    reader = get("reader", big)["x_split"]
    out.append(
        {
            "target": f"gateway X12Reader within 3x of the bare split ({big:,} claims)",
            "value": f"{reader:.2f}x",
            "ok": reader <= 3.0,
        }
    )
    pyx = get("pyx12", big)
    out.append(
        {
            "target": f"pyx12 X12Reader vs bare split (about 13x expected; {big:,} claims)",
            "value": f"{pyx['x_split']:.1f}x" + (" (extrapolated)" if pyx.get("capped") else ""),
            "ok": None,
        }
    )
    for n in sizes:
        b, r = get("build", n)["us_per_claim"], get("read_837", n)["us_per_claim"]
        out.append(
            {
                "target": f"build a claim ≤ read it back with read_837 ({n:,} claims)",
                "value": f"{b:.0f} µs vs {r:.0f} µs per claim = {b / r:.2f}",
                "ok": b <= r,
            }
        )
    for step in ("build", "reader", "read_837", "pyx12"):
        lo, hi = get(step, small)["peak_mib"], get(step, big)["peak_mib"]
        flat = hi <= max(lo * 1.5, lo + 16.0)
        out.append(
            {
                "target": f"{LABELS[step]}: working memory flat from {small:,} to {big:,}",
                "value": f"{lo:.1f} → {hi:.1f} MiB",
                "ok": flat,
            }
        )
    return out


def render(rows: list[dict[str, Any]], results: list[dict[str, Any]], idle_mib: float) -> None:
    out = Console(width=max(Console().width, 100))
    table = Table(title="837P build and read: best of the runs, one fresh interpreter per step")
    for col in ("step", "claims", "s", "claims/s", "segments/s", "µs/claim", "×split", "peak MiB"):
        table.add_column(col, justify="left" if col == "step" else "right")
    notes = []
    for r in rows:
        star = ""
        if r.get("extrapolated"):
            star = "*"
            notes.append(f"* {LABELS[r['step']]} at {r['n']:,} claims: {r['note']}")
        if r["step"] == "build":
            notes.append(
                f"build at {r['n']:,} claims: {r['segments']:,} segments, {r['bytes']:,} bytes; "
                f"the Claim objects held while writing take {r['input_mib'] - idle_mib:.0f} MiB "
                "(not in peak MiB)"
            )
        table.add_row(
            LABELS[r["step"]] + star,
            f"{r['n']:,}",
            f"{r['seconds']:.3f}",
            f"{r['claims_per_s']:,.0f}",
            f"{r['segments_per_s']:,.0f}",
            f"{r['us_per_claim']:.1f}",
            f"{r['x_split']:.2f}",
            f"{r['peak_mib']:.1f}",
        )
    out.print(table)
    out.print(
        "peak MiB: resident high-water mark during the timed runs above the resident memory at "
        f"their start (idle interpreter with all imports: {idle_mib:.0f} MiB)."
    )
    for note in notes:
        out.print(note)
    others = [r["other_cpus"] for r in rows if r.get("other_cpus") is not None]
    if others and max(others) > BUSY_CPUS:
        out.print(
            f"[bold yellow]warning:[/] other processes kept {max(others):.2f} of the "
            f"{os.cpu_count()} CPUs busy during a step: times are inflated and ratios less "
            "reliable. Run again on a quiet machine."
        )
    verdicts = Table(title="targets")
    for col in ("target", "figure", "result"):
        verdicts.add_column(col)
    for c in results:
        mark = "info" if c["ok"] is None else ("PASS" if c["ok"] else "FAIL")
        verdicts.add_row(c["target"], c["value"], mark)
    out.print(verdicts)


def write_report(path: Path, started: float, fields: dict[str, Any], out: Console) -> None:
    """The results as JSON, with when, how long, which commit and which machine."""
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        **fields,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    out.print(f"results written to {path}")


def git_commit() -> str | None:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return proc.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a suite: ``837``, ``835`` or ``all`` (see the module docstring)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] in SUITES:
        suite, args = args[0], args[1:]
    else:
        suite = "837" if args else "all"
    if suite == "837":
        return main_837(args)
    if suite == "sftp":
        from bench.sftp import main as main_sftp

        return main_sftp(args)
    if suite == "daemon":
        from bench.daemon import main as main_daemon

        return main_daemon(args)
    if suite == "web":
        from bench.web import main as main_web

        return main_web(args)
    from bench.remit_835 import main as main_835

    if suite == "835":
        return main_835(args)
    common = argparse.ArgumentParser(prog="python -m bench all", description=__doc__)
    common.add_argument("--quick", action="store_true", help="the quick sizes of both suites")
    common.add_argument("--repeat", type=int, default=None, help="runs per step, best is kept")
    common.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    opts = common.parse_args(args)
    shared = ["--quick"] * opts.quick + ["--strict"] * opts.strict
    shared += ["--repeat", str(opts.repeat)] if opts.repeat else []
    return max(main_837(shared), main_835(shared))


def main_837(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench 837", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1k and 10k claims (smoke run)")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="comma-separated claim counts (overrides --quick)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs per step, best is kept")
    parser.add_argument("--seed", type=int, default=837)
    parser.add_argument("--pyx12-cap", type=float, default=300.0,
                        help="stop pyx12 after this many seconds and extrapolate")  # fmt: skip
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    opts = parser.parse_args(argv)
    sizes = opts.sizes or ([1_000, 10_000] if opts.quick else [10_000, 100_000])

    started = time.time()
    idle = run_step({"step": "idle"})
    idle_mib = idle["rss_kb"] / MIB
    rows: list[dict[str, Any]] = []
    for n in sizes:
        rows += bench_size(n, opts.repeat, opts.seed, opts.pyx12_cap)
    results = checks(rows, sizes)
    render(rows, results, idle_mib)

    report = {
        "sizes": sizes,
        "repeat": opts.repeat,
        "seed": opts.seed,
        "idle_interpreter_mib": idle_mib,
        "steps": rows,
        "targets": results,
    }
    write_report(opts.json, started, report, console)
    failed = [c for c in results if c["ok"] is False]
    return 1 if failed and opts.strict else 0


if __name__ == "__main__":
    sys.exit(main())
