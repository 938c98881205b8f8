"""``python -m bench 835``: parse and post generated balanced 835s beside the peers.

See bench/README.md. The default sizes are 10,000 and 50,000 claims for everyone and 500,000
for ours, the bare split and pyx12's reader only; ``--quick`` runs 1,000 and 5,000 (and 20,000).
Peers run in their own virtualenvs under ``bench/.venvs/``, made on the first run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.__main__ import BUSY_CPUS, MIB, children_cpu_s, cpu_busy_s, write_report
from bench.gen_835 import SEED, ensure_835, ensure_without_payer_per

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
RESULTS = BENCH / "results"
VENVS_DIR = BENCH / ".venvs"

# The peers' virtualenvs: pinned to the versions this benchmark was written against.
VENVS: dict[str, list[str]] = {
    "peers": ["oxedi==0.6.0", "edi-835-parser==1.8.0", "x12sdk==2.2.0"],
    "lfh": ["linuxforhealth-x12==0.57.0", "pydantic<2"],
}
# Steps in table order: (key, remit_step step, venv or None for .venv, file variant).
STEPS: list[tuple[str, str, str | None, str]] = [
    ("split", "split", None, ""),
    ("ours", "ours", None, ""),
    ("oxedi", "oxedi", "peers", ""),
    ("pyx12", "pyx12", None, ""),
    ("edi835", "edi835", "peers", ""),
    ("x12sdk", "x12sdk", "peers", ""),
    ("lfh", "lfh", "lfh", ""),
    ("lfh_noper", "lfh", "lfh", "noper"),
]
BIG_STEPS = ("split", "ours", "pyx12")  # pyx12: the bar compares with it on every file
RATE_BAR = 20_000  # claims/s parsed and posted in one process (issue #15)
MEMORY_BAR_MIB = 50  # peak at the biggest file (500,000 claims)
PEER_KEYS = [k for k, *_ in STEPS if k not in ("split", "ours")]
LABELS = {
    "split": "bare split (floor)",
    "ours": "post_835 (ours)",
    "oxedi": "oxedi (Rust)",
    "pyx12": "pyx12 X12Reader",
    "edi835": "edi-835-parser",
    "x12sdk": "x12sdk",
    "lfh": "linuxforhealth-x12",
    "lfh_noper": "linuxforhealth-x12 †",
}
WHAT = {
    "split": "read, decode Latin-1, split on ~ and *",
    "ours": "gateway.replies.remittances.post_835: every event; claims counted, balance checked",
    "oxedi": "oxedi.parse_file(); count_claims(), sum_payments() (= Σ BPR02)",
    "pyx12": "pyx12.x12file.X12Reader over every segment; CLP counted, CLP04 summed",
    "edi835": "edi_835_parser.parse(); every claim loop, CLP04 summed",
    "x12sdk": "x12sdk.io.X12ModelReader().models(); model.claims(), .paid summed",
    "lfh": "linuxforhealth.x12.io.X12ModelReader().models(); loop_2000/loop_2100 CLP04 summed",
    "lfh_noper": "as linuxforhealth-x12, on a copy of the file without the 1000A PER*BL",
}

console = Console(stderr=True)


# -- virtualenvs ------------------------------------------------------------------------------
def _python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(name: str, requirements: list[str]) -> dict[str, Any]:
    """Create ``bench/.venvs/<name>`` with the requirements unless it is already there.

    Idempotent: a marker file holds the requirements it was made with; a venv whose marker
    differs is made again. Returns the python, the installed versions, or the error.
    """
    venv = VENVS_DIR / name
    marker = venv / "bench-requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    info: dict[str, Any] = {"path": str(venv), "requirements": requirements}
    if _python_of(venv).exists() and marker.exists() and marker.read_text() == wanted:
        console.print(f"venv {name}: ready at {venv} ({', '.join(requirements)})")
    else:
        base = shutil.which("python3") or sys.executable
        if venv.exists():
            console.print(f"venv {name}: requirements changed or incomplete, removing {venv}")
            shutil.rmtree(venv)
        cmds = [
            [base, "-m", "venv", str(venv)],
            [str(_python_of(venv)), "-m", "pip", "install", "--disable-pip-version-check",
             "--quiet", *requirements],
        ]  # fmt: skip
        for cmd in cmds:
            console.print(f"venv {name}: $ {' '.join(cmd)}")
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                tail = [x for x in (proc.stdout + proc.stderr).splitlines() if x.strip()]
                info["error"] = (
                    f"`{' '.join(cmd[1:3]) if 'venv' in cmd else 'pip install'}` failed: "
                    + (" | ".join(x for x in tail if not x.startswith("WARNING: Location"))[-600:])
                )
                console.print(f"[bold red]venv {name}: {info['error']}[/]")
                return info
        marker.write_text(wanted)
    proc = subprocess.run(
        [
            str(_python_of(venv)),
            "-m",
            "pip",
            "list",
            "--format=json",
            "--disable-pip-version-check",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        info["packages"] = {p["name"]: p["version"] for p in json.loads(proc.stdout)}
    except ValueError:
        info["packages"] = {}
    info["python"] = str(_python_of(venv))
    return info


# -- one step ---------------------------------------------------------------------------------
def run_step(python: str, args: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    """Run one step of bench.remit_step in a fresh interpreter; never raises for the step."""
    cmd = [python, "-m", "bench.remit_step", json.dumps(args)]
    busy0, mine0, wall0 = cpu_busy_s(), children_cpu_s(), time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"step": args["step"], "killed_after": time.perf_counter() - wall0}
    busy1, mine1, wall1 = cpu_busy_s(), children_cpu_s(), time.perf_counter()
    other = None
    if busy0 is not None and busy1 is not None:
        other = max(0.0, (busy1 - busy0) - (mine1 - mine0)) / (wall1 - wall0)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-6:]
        return {"step": args["step"], "error": f"exit {proc.returncode}: " + " | ".join(tail)}
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    result["other_cpus"] = other
    return result


def _error_text(error: str, lines: int = 5) -> str:
    """The first lines of an error (exception and message, not the traceback), on one line."""
    head = []
    for line in error.strip().splitlines():
        if line.lstrip().startswith("File ") or len(head) >= lines:
            break
        head.append(line.strip())
    return " | ".join(head)[:500]


def _first_line(error: str) -> str:
    return error.strip().splitlines()[0] if error.strip() else error


def summarize(
    key: str, r: dict[str, Any], n: int, meta: dict[str, Any], rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """A table row from one step result: best time, rates, MiB, checks of what it counted."""
    row: dict[str, Any] = {"step": key, "n": n, "segments": meta["segments"]}
    for k in ("version", "other_cpus", "hwm_reset", "diagnostics", "rows"):
        if r.get(k) is not None:
            row[k] = r[k]
    if "killed_after" in r:
        earlier = [x for x in rows if x["step"] == key and x.get("seconds") and x["n"] < n]
        if not earlier:
            row["error"] = f"stopped after {r['killed_after']:.0f} s, nothing to extrapolate from"
            return row
        base = max(earlier, key=lambda x: x["n"])
        row["seconds"] = meta["segments"] / base["segments_per_s"]
        row["extrapolated"] = True
        row["note"] = (
            f"stopped after {r['killed_after']:.0f} s; time extrapolated from its "
            f"{base['n']:,}-claim rate"
        )
        return row
    if r.get("error") and not r.get("times"):
        row["error"] = ("not available: " if r.get("unavailable") else "") + r["error"]
        return row
    row["times"] = r["times"]
    row["start_mib"] = r["start_kb"] / MIB
    row["peak_mib"] = max(0, r["peak_kb"] - r["start_kb"]) / MIB
    capped = r.get("capped")
    if capped:
        rate = capped["segments"] / capped["seconds"]
        row["seconds"] = meta["segments"] / rate
        row["extrapolated"] = True
        row["note"] = (
            f"stopped after {capped['seconds']:.0f} s at segment {capped['segments']:,}; "
            "time extrapolated"
        )
        return row
    row["seconds"] = min(r["times"])
    if r.get("cpu_times"):
        row["cpu_seconds"] = min(r["cpu_times"])
    problems = []
    if r.get("error"):
        problems.append("raised on a later run: " + _first_line(r["error"]))
    if "segments" in r and r["segments"] != meta["segments"]:
        problems.append(f"saw {r['segments']:,} segments, the file has {meta['segments']:,}")
    if "claims" in r and r["claims"] != n:
        problems.append(f"counted {r['claims']:,} claims, not {n:,}")
    if "paid" in r and r["paid"] != meta["paid"]:
        problems.append(f"Σ CLP04 {r['paid']} ≠ {meta['paid']}")
    if "bpr02" in r and r["bpr02"] != meta["bpr02"]:
        problems.append(f"Σ BPR02 {r['bpr02']} ≠ {meta['bpr02']}")
    if key == "ours":
        row["events"] = {k: r.get(k) for k in ("claims", "payments", "ends", "unbalanced")}
        if r.get("unbalanced") or r.get("ends") != 1:
            problems.append(f"reports the (balanced) file unbalanced: {r.get('unbalanced')}")
    if problems:
        row["problems"] = problems
    return row


def bench_size(
    n: int, steps: list[tuple[str, str, str | None, str]], opts: argparse.Namespace,
    pythons: dict[str | None, str | None], venv_errors: dict[str, str],
    rows_so_far: list[dict[str, Any]],
) -> list[dict[str, Any]]:  # fmt: skip
    t0 = time.perf_counter()
    console.print(f"[bold]{n:,} claims[/]: file…")
    path, meta = ensure_835(DATA, n, opts.seed)
    files = {"": path}
    console.print(
        f"  {path.name}: {meta['segments']:,} segments, {meta['bytes'] / MIB / MIB:.1f} MiB, "
        f"BPR02 {meta['bpr02']}"
    )
    rows: list[dict[str, Any]] = []
    for key, step, venv, variant in steps:
        if variant and variant not in files:
            files[variant] = ensure_without_payer_per(path, meta)
        before = [x for x in rows_so_far if x["step"] == key and x.get("error")]
        python = pythons.get(venv)
        if venv is not None and venv in venv_errors:
            row = {"step": key, "n": n, "error": f"not installed: {venv_errors[venv]}"}
        elif before and not before[-1]["error"].startswith("stopped after"):
            row = {"step": key, "n": n, "error": f"skipped: failed at {before[-1]['n']:,} claims"}
            row["skipped"] = True
        else:
            reps = opts.repeat
            console.print(f"  {key} (best of {reps}, one run when over {opts.slow:g} s)…")
            args: dict[str, Any] = {
                "step": step,
                "n": n,
                "path": str(files[variant]),
                "repeat": reps,
                "slow": opts.slow,
            }
            timeout = None
            if step == "pyx12":
                args["cap"] = opts.peer_cap
            elif venv is not None:
                timeout = opts.peer_cap + 60
            assert python is not None
            row = summarize(key, run_step(python, args, timeout), n, meta, rows_so_far)
        if row.get("error"):
            console.print(f"    [yellow]{key}: {_first_line(row['error'])[:160]}[/]")
        rows.append(row)
    split = next((r for r in rows if r["step"] == "split" and r.get("seconds")), None)
    for row in rows:
        if not row.get("seconds"):
            continue
        row["claims_per_s"] = n / row["seconds"]
        row["segments_per_s"] = meta["segments"] / row["seconds"]
        row["us_per_claim"] = row["seconds"] / n * 1e6
        if row.get("cpu_seconds"):
            row["cpu_claims_per_s"] = n / row["cpu_seconds"]
        if split:
            row["x_split"] = row["seconds"] / split["seconds"]
            if "peak_mib" in row and split["peak_mib"]:
                row["mem_x_split"] = row["peak_mib"] / split["peak_mib"]
    ours = next((r for r in rows if r["step"] == "ours"), None)
    if ours and ours.get("problems"):
        render(rows_so_far + rows, [], {})
        raise SystemExit(f"post_835 (ours) on {path.name}: {'; '.join(ours['problems'])}")
    console.print(f"  done in {time.perf_counter() - t0:.0f} s")
    return rows


# -- targets and output -----------------------------------------------------------------------
def checks(rows: list[dict[str, Any]], sizes: list[int], big: int | None) -> list[dict[str, Any]]:
    """The bar of the issue, each with its figure and PASS/FAIL (None: information only)."""

    def get(step: str, n: int) -> dict[str, Any] | None:
        return next((r for r in rows if r["step"] == step and r["n"] == n), None)

    def missing(r: dict[str, Any] | None) -> str:
        return "not measured" if r is None else _first_line(r.get("error", "no time"))[:70]

    out: list[dict[str, Any]] = []
    all_sizes = sorted({*sizes, *([big] if big else [])})
    for n in all_sizes:
        ours = get("ours", n)
        target = f"ours (parse + post) ≥ {RATE_BAR:,} claims/s ({n:,} claims)"
        if ours and ours.get("claims_per_s"):
            rate = ours["claims_per_s"]
            out.append({"target": target, "value": f"{rate:,.0f}", "ok": rate >= RATE_BAR})
        else:
            out.append({"target": target, "value": f"ours {missing(ours)}", "ok": False})
    for n in all_sizes:
        ours, py = get("ours", n), get("pyx12", n)
        target = f"ours (parse + post) no slower than pyx12's bare X12Reader ({n:,} claims)"
        if not (ours and ours.get("seconds")):
            out.append({"target": target, "value": f"ours {missing(ours)}", "ok": False})
        elif not (py and py.get("seconds")):
            out.append({"target": target, "value": f"pyx12 {missing(py)}", "ok": None})
        else:
            a, b = ours["seconds"], py["seconds"]
            star = " (pyx12 extrapolated)" if py.get("extrapolated") else ""
            value = f"{a:.2f} s vs {b:.2f} s = {a / b:.2f}x{star}"
            out.append({"target": target, "value": value, "ok": a <= b})
    lo_n, hi_n = all_sizes[0], all_sizes[-1]
    lo, hi = get("ours", lo_n), get("ours", hi_n)
    target = f"ours: memory flat from {lo_n:,} to {hi_n:,} claims (≤ 1.5x or +16 MiB)"
    if lo and hi and "peak_mib" in lo and "peak_mib" in hi:
        a, b = lo["peak_mib"], hi["peak_mib"]
        out.append(
            {"target": target, "value": f"{a:.1f} → {b:.1f} MiB", "ok": b <= max(a * 1.5, a + 16)}
        )
        target = f"ours: {hi_n:,} claims under {MEMORY_BAR_MIB} MiB"
        out.append({"target": target, "value": f"{b:.1f} MiB", "ok": b < MEMORY_BAR_MIB})
    else:
        out.append({"target": target, "value": f"ours {missing(hi or lo)}", "ok": False})
    for n in all_sizes:  # the earlier bars, now information
        ours, ox = get("ours", n), get("oxedi", n)
        if ours and ours.get("cpu_claims_per_s"):
            value = f"{ours['cpu_claims_per_s']:,.0f} claims/s ({ours['cpu_seconds']:.2f} s)"
            target = f"ours on its own CPU time ({n:,} claims)"
            out.append({"target": target, "value": value, "ok": None})
        if ours and ours.get("seconds") and ox and ox.get("seconds"):
            a, b = ours["seconds"], ox["seconds"]
            value = f"{a:.2f} s vs {b:.2f} s = {a / b:.2f}x"
            out.append({"target": f"ours beside oxedi ({n:,} claims)", "value": value, "ok": None})
        if ours and ours.get("x_split"):
            value = f"{ours['x_split']:.2f}x"
            out.append({"target": f"ours vs bare split ({n:,} claims)", "value": value, "ok": None})
    n = max(sizes)
    for key in ("oxedi", "pyx12", "edi835", "x12sdk", "lfh_noper"):
        r = get(key, n)
        if r and r.get("x_split"):
            star = " (extrapolated)" if r.get("extrapolated") else ""
            value = f"{r['x_split']:.1f}x" + star
            out.append(
                {
                    "target": f"{LABELS[key]} vs bare split ({n:,} claims)",
                    "value": value,
                    "ok": None,
                }
            )
    return out


def render(
    rows: list[dict[str, Any]], results: list[dict[str, Any]], venvs: dict[str, Any]
) -> None:
    out = Console(width=max(Console().width, 120))
    title = "835 parse (and post, for ours): best of the runs, one fresh interpreter per step"
    table = Table(title=title)
    cols = ("step", "claims", "s", "claims/s", "segments/s", "µs/claim", "×split", "peak MiB",
            "MiB ×split")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="left" if col == "step" else "right")
    notes: list[str] = []
    last_n = None
    for r in rows:
        if last_n is not None and r["n"] != last_n:
            table.add_section()
        last_n = r["n"]
        label = LABELS[r["step"]]
        if not r.get("seconds"):
            err = r.get("error", "no result")
            word = "skipped" if r.get("skipped") else err.split(":")[0]
            word = word if word in ("not available", "not installed", "skipped") else "error"
            table.add_row(label + " ‡", f"{r['n']:,}", f"[red]{word}[/]", *[""] * 6)
            notes.append(f"‡ {label} at {r['n']:,} claims: {_error_text(err)}")
            continue
        star = "*" if r.get("extrapolated") else ""
        if star:
            notes.append(f"* {label} at {r['n']:,} claims: {r['note']}")
        if r.get("problems"):
            star += "!"
            notes.append(f"! {label} at {r['n']:,} claims: {'; '.join(r['problems'])}")

        def fmt(key: str, spec: str, row: dict[str, Any] = r) -> str:
            return format(row[key], spec) if row.get(key) is not None else "—"

        table.add_row(
            label + star,
            f"{r['n']:,}",
            fmt("seconds", ".3f"),
            fmt("claims_per_s", ",.0f"),
            fmt("segments_per_s", ",.0f"),
            fmt("us_per_claim", ".1f"),
            fmt("x_split", ".2f"),
            fmt("peak_mib", ".1f"),
            fmt("mem_x_split", ".2f"),
        )
    out.print(table)
    out.print(
        "peak MiB: resident high-water mark during the timed runs above the resident memory at "
        "their start (the library imported, nothing read yet); ×split and MiB ×split: over the "
        "bare split of the same file."
    )
    if any(r["step"] == "lfh_noper" for r in rows):
        out.print(
            "† linuxforhealth-x12 0.57.0 rejects every 835 with a PER in loop 1000A (its parser "
            "stores one PER where its model wants a list), though the TR3 requires PER*BL there: "
            "it is also timed on a copy of the same file without that segment."
        )
    for note in dict.fromkeys(notes):
        out.print(note)
    busy = [r for r in rows if (r.get("other_cpus") or 0) > BUSY_CPUS]
    if busy:
        worst = max(busy, key=lambda r: r["other_cpus"])
        steps = ", ".join(f"{LABELS[r['step']]} at {r['n']:,}" for r in busy)
        out.print(
            f"[bold yellow]warning:[/] other processes kept up to {worst['other_cpus']:.2f} of "
            f"the {os.cpu_count()} CPUs busy during a step ({steps}): those times may be "
            "inflated and their ratios less reliable. Run again on a quiet machine."
        )
    if not results:
        return
    verdicts = Table(title="targets")
    for col in ("target", "figure", "result"):
        verdicts.add_column(col)
    for c in results:
        mark = "info" if c["ok"] is None else ("PASS" if c["ok"] else "FAIL")
        verdicts.add_row(c["target"], c["value"], mark)
    out.print(verdicts)


def validate_generator(seed: int) -> dict[str, Any]:
    """pyx12 (through the gateway) and the Decimal balance check on a 50-claim file."""
    cmd = [sys.executable, "-m", "bench.gen_835", "--check", "-n", "50", "--seed", str(seed)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if not lines:
        raise SystemExit("generator self-check failed:\n" + proc.stdout + proc.stderr)
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    if result["balance_problems"] or result["pyx12_problems"]:
        raise SystemExit(
            f"the generated 835 does not validate: balance {result['balance_problems'][:5]}, "
            f"pyx12 {result['pyx12_problems'][:5]}"
        )
    return {k: result[k] for k in ("path", "claims", "segments", "bytes")} | {"ok": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench 835", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1k and 5k claims, 20k for ours")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="claim counts for everyone (default 10000,50000)")  # fmt: skip
    parser.add_argument("--big", type=int, default=None,
                        help="claims for ours and the floor only (500000; 0: none)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs per step, best is kept")
    parser.add_argument("--slow", type=float, default=10.0,
                        help="a step whose run takes longer than this is run once")  # fmt: skip
    parser.add_argument("--peer-cap", type=float, default=300.0,
                        help="stop a peer after this many seconds and extrapolate")  # fmt: skip
    parser.add_argument("--peers", default=",".join(PEER_KEYS),
                        help=f"comma-separated, of {','.join(PEER_KEYS)}; '' for none")  # fmt: skip
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--json", type=Path, default=RESULTS / "latest-835.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    opts = parser.parse_args(argv)
    sizes = opts.sizes or ([1_000, 5_000] if opts.quick else [10_000, 50_000])
    big = opts.big if opts.big is not None else (20_000 if opts.quick else 500_000)
    big = big if big and big not in sizes else None
    peers = [p for p in opts.peers.split(",") if p]
    unknown = set(peers) - set(PEER_KEYS)
    if unknown:
        parser.error(f"unknown peers {sorted(unknown)}; choose from {PEER_KEYS}")
    steps = [s for s in STEPS if s[0] in ("split", "ours") or s[0] in peers]

    started = time.time()
    console.print("[bold]835 suite[/]: checking the generator (pyx12 + balance, 50 claims)…")
    generator = validate_generator(opts.seed)
    venvs: dict[str, Any] = {}
    for name, reqs in VENVS.items():
        if any(s[2] == name for s in steps):
            venvs[name] = ensure_venv(name, reqs)
    pythons: dict[str | None, str | None] = {None: sys.executable}
    pythons |= {name: v.get("python") for name, v in venvs.items()}
    venv_errors = {name: v["error"] for name, v in venvs.items() if v.get("error")}

    rows: list[dict[str, Any]] = []
    for n in sizes:
        rows += bench_size(n, steps, opts, pythons, venv_errors, rows)
    if big:
        rows += bench_size(big, [s for s in steps if s[0] in BIG_STEPS], opts, pythons, {}, rows)
    results = checks(rows, sizes, big)
    render(rows, results, venvs)

    report = {
        "sizes": sizes,
        "big": big,
        "repeat": opts.repeat,
        "seed": opts.seed,
        "generator_check": generator,
        "what": {k: WHAT[k] for k, *_ in steps},
        "venvs": venvs,
        "steps": rows,
        "targets": results,
    }
    write_report(opts.json, started, report, console)
    failed = [c for c in results if c["ok"] is False]
    return 1 if failed and opts.strict else 0


if __name__ == "__main__":
    sys.exit(main())
