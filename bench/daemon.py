"""``python -m bench daemon``: N claims through the gateway's side of the whole cycle.

For each size and each ledger (SQLite, PostgreSQL), in a fresh interpreter
(``bench.daemon_step``): claim files in the spool → intake → 837s built → uploaded through the
directory transport → outputs; the payer simulator (another process, not timed) answers with
999, 277CA and 835 files; download → acknowledgments applied → 835s downloaded and posted →
postings, balances and status records written. Then, in the same run, the compute floor on the
same inputs with no ledger: intake checks, 837 build, 835 post. Claims/s per phase and in
total, SQL statements per claim, peak memory; with ``--profile`` a cProfile of the smallest
size, its time grouped by where it goes. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.__main__ import DATA, MIB, RESULTS, console, run_step, write_report

PHASES = ("intake", "build", "upload", "download", "acknowledgments", "remittances", "outputs",
          "follow-up facts")  # fmt: skip
FLOOR = ("intake checks", "837 build", "835 post")
PG_ADMIN_URL = os.environ.get(
    "GATEWAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Where the time of a profile goes, by the file (or C function) it is spent in; first match.
AREAS = (
    ("SQLAlchemy (statements built, compiled, executed, rows)", ("sqlalchemy/",)),
    ("SQLite (driver and engine)", ("sqlite3",)),
    ("psycopg (driver, waiting on the server)", ("psycopg",)),
    ("pydantic (claim records)", ("pydantic",)),
    ("alembic", ("alembic/",)),
    ("structlog and logging", ("structlog/", "/logging/")),
    ("json", ("/json/", "json.")),
    ("gateway: X12 write and read", ("gateway/x12/", "gateway/transactions/")),
    ("gateway: ledger", ("gateway/ledger/",)),
    ("gateway: daemon, intake, replies, domain", ("gateway/",)),
    (
        "files (open, write, fsync, rename)",
        (
            "posix.",
            "io.",
            "<built-in method io",
            "fsync",
            "'replace'",
            "'open'",
            "built-in method posix",
        ),
    ),
)


def _step(args: dict[str, Any]) -> dict[str, Any]:
    return run_step({**args}, module="bench.daemon_step")


def _pg_database() -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_daemon_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _claims(n: int, seed: int) -> Path:
    folder = DATA / f"daemon-originals-{n}-s{seed}"  # every claim frequency 1
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        console.print(f"  writing {n:,} claims into {folder} (not timed)…")
        _step({"step": "claims", "n": n, "seed": seed, "folder": str(folder)})
        done.write_text("ok\n")
    return folder


def _check(result: dict[str, Any], n: int) -> None:
    """The run did the whole job, or its figures mean nothing."""
    states = result["states"]
    problems = []
    if result["claims_taken"] != n or result["files_rejected"]:
        problems.append(f"intake took {result['claims_taken']} of {n} claims")
    if result["claims_built"] != n:
        problems.append(f"{result['claims_built']} claims built into 837s, not {n}")
    if sum(states.values()) != n or set(states) - {"paid", "partially_paid", "denied", "rejected"}:
        problems.append(f"claims not settled: {states}")
    if result["quarantined"] or result["payments_held"] or result["outbox_pending"]:
        problems.append("quarantined or held files, or output records not written")
    settled = n - states.get("rejected", 0)
    if result["outputs"].get("postings") != settled:
        problems.append(f"{result['outputs'].get('postings')} postings for {settled} paid claims")
    if problems:
        raise SystemExit("daemon bench run incomplete: " + "; ".join(problems))


def bench_size(
    n: int, backends: list[str], seed: int, profile: bool
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]]:
    claims = _claims(n, seed)
    rows: list[dict[str, Any]] = []
    remits: Path | None = None
    profiles: dict[str, str] = {}
    for backend in backends:
        for profiled in (False, True) if profile else (False,):
            work = DATA / f"daemon-work-{backend}-{n}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            pg_name = None
            if backend == "sqlite":
                db = f"sqlite:///{work / 'home' / 'state' / 'gateway.db'}"
            else:
                pg_name, db = _pg_database()
            args: dict[str, Any] = {
                "step": "daemon",
                "n": n,
                "seed": seed,
                "db": db,
                "work": str(work),
                "claims": str(claims),
                "remits": str(work / "remits"),
            }
            if profiled:
                RESULTS.mkdir(parents=True, exist_ok=True)
                args["profile"] = str(RESULTS / f"daemon-{backend}-{n}.prof")
            console.print(f"  {backend}: {'profiled run' if profiled else 'daemon'}…")
            try:
                result = _step(args)
            finally:
                if pg_name:
                    _drop_pg(pg_name)
            _check(result, n)
            if profiled:
                profiles[backend] = args["profile"]
                continue
            result["backend"] = backend
            rows.append(result)
            if remits is None:
                remits = work / "remits"
    assert remits is not None
    console.print("  compute floor (no ledger)…")
    floor = _step(
        {
            "step": "floor",
            "n": n,
            "claims": str(claims),
            "remits": str(remits),
            "work": str(DATA / f"daemon-floor-{n}"),
        }
    )
    if floor["claims_read"] != n:
        raise SystemExit(f"the floor read {floor['claims_read']} claims, not {n}")
    return rows, floor, profiles


def _cpu(r: dict[str, Any]) -> float:
    return float(sum(p["cpu_seconds"] for p in r["phases"].values()))


def summarize(rows: list[dict[str, Any]], floor: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    floor_total = sum(p["seconds"] for p in floor["phases"].values())
    for r in rows:
        n = r["n"]
        total = sum(p["seconds"] for p in r["phases"].values())
        statements = sum(p["statements"] for p in r["phases"].values())
        out.append(
            {
                "backend": r["backend"],
                "n": n,
                "seconds": total,
                "cpu_seconds": sum(p["cpu_seconds"] for p in r["phases"].values()),
                "claims_per_s": n / total,
                "statements_per_claim": statements / n,
                "peak_mib": r["peak_kb"] / MIB,
                "start_mib": r["start_kb"] / MIB,
                "floor_seconds": floor_total,
                "floor_claims_per_s": n / floor_total,
                "x_floor": total / floor_total,
                # On the gateway's own CPU time: what a busy machine inflates least (the
                # database server's CPU is not in it: PostgreSQL's work is left out).
                "cpu_claims_per_s": n / cpu if (cpu := _cpu(r)) else None,
                "floor_cpu_seconds": (
                    floor_cpu := sum(p["cpu_seconds"] for p in floor["phases"].values())
                ),
                "x_floor_cpu": cpu / floor_cpu if floor_cpu else None,
                "other_cpus": r.get("other_cpus"),
                "phases": {
                    name: {
                        **p,
                        "claims_per_s": n / p["seconds"] if p["seconds"] else None,
                        "statements_per_claim": p["statements"] / n,
                    }
                    for name, p in r["phases"].items()
                },
                "floor_phases": {
                    name: {**p, "claims_per_s": n / p["seconds"]}
                    for name, p in floor["phases"].items()
                },
                "outputs": r["outputs"],
                "states": r["states"],
                "replies": r["replies"],
                "interchanges": r["interchanges"],
                "remittance_files": r["remittance_files"],
                "statements_by_phase": r.get("statements_by_phase", {}),
            }
        )
    return out


def profile_areas(path: str, top: int = 15) -> dict[str, Any]:
    """Seconds per area (see AREAS) and the functions with the most own time."""
    stats = pstats.Stats(path)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    areas: dict[str, float] = {}
    functions = []
    total = 0.0
    for (filename, line, name), (_cc, _nc, tottime, cumtime, _callers) in raw.items():
        where = f"{filename}:{name}"
        area = next(
            (label for label, keys in AREAS if any(k in where for k in keys)),
            "other (standard library, C built-ins)",
        )
        areas[area] = areas.get(area, 0.0) + tottime
        total += tottime
        short = filename.split("site-packages/")[-1].split("production/")[-1]
        functions.append((tottime, cumtime, f"{short}:{line}({name})"))
    functions.sort(reverse=True)
    return {
        "total_seconds": total,
        "areas": dict(sorted(areas.items(), key=lambda kv: -kv[1])),
        "top_own_time": [
            {"seconds": t, "cumulative": c, "function": f} for t, c, f in functions[:top]
        ],
        "file": path,
    }


def render(rows: list[dict[str, Any]], profiles: dict[str, Any]) -> None:
    table = Table(title="the gateway's side of the whole cycle: claims/s per phase")
    table.add_column("phase")
    for r in rows:
        table.add_column(f"{r['backend']} {r['n']:,}", justify="right")
    for name in PHASES:
        cells = []
        for r in rows:
            p = r["phases"].get(name)
            cells.append(
                f"{p['claims_per_s']:,.0f} ({p['seconds']:.2f} s, "
                f"{p['statements_per_claim']:.2f} SQL)"
                if p
                else "-"
            )
        table.add_row(name, *cells)
    table.add_row(
        "[bold]whole cycle[/]",
        *[
            f"[bold]{r['claims_per_s']:,.0f}[/] ({r['seconds']:.1f} s, "
            f"{r['statements_per_claim']:.2f} SQL)"
            for r in rows
        ],
    )
    table.add_row("CPU s, gateway process", *[f"{r['cpu_seconds']:.1f}" for r in rows])
    table.add_row("claims/s on its CPU", *[f"{r.get('cpu_claims_per_s') or 0:,.0f}" for r in rows])
    table.add_row("peak MiB", *[f"{r['peak_mib']:.0f}" for r in rows])
    for name in FLOOR:
        table.add_row(
            f"floor: {name}",
            *[
                f"{r['floor_phases'][name]['claims_per_s']:,.0f} "
                f"({r['floor_phases'][name]['seconds']:.2f} s)"
                for r in rows
            ],
        )
    table.add_row(
        "floor: total",
        *[f"{r['floor_claims_per_s']:,.0f} ({r['floor_seconds']:.1f} s)" for r in rows],
    )
    table.add_row("whole cycle / floor", *[f"{r['x_floor']:.1f}x" for r in rows])
    table.add_row(
        "the same on CPU time",
        *[f"{r['x_floor_cpu']:.1f}x ({r['floor_cpu_seconds']:.1f} s)" for r in rows],
    )
    console.print(table)
    console.print(
        "cells: claims/s (seconds, SQL statements per claim). peak MiB: resident "
        "high-water mark during the phases above the resident memory before them."
    )
    others = [r["other_cpus"] for r in rows if r.get("other_cpus") is not None]
    if others and max(others) > 0.25:
        console.print(
            f"[bold yellow]warning:[/] other processes kept {max(others):.2f} of the "
            f"{os.cpu_count()} CPUs busy: times are inflated."
        )
    for backend, prof in profiles.items():
        t = Table(
            title=f"where the time goes: {backend}, {prof['n']:,} claims (cProfile, "
            f"{prof['total_seconds']:.1f} s own time with the profiler's overhead)"
        )
        t.add_column("area")
        t.add_column("s", justify="right")
        t.add_column("share", justify="right")
        for area, seconds in prof["areas"].items():
            t.add_row(area, f"{seconds:.2f}", f"{seconds / prof['total_seconds']:.0%}")
        console.print(t)
        top = Table(title=f"most own time: {backend}")
        for col in ("own s", "cum s", "function"):
            top.add_column(col, justify="left" if col == "function" else "right")
        for f in prof["top_own_time"][:10]:
            top.add_row(f"{f['seconds']:.2f}", f"{f['cumulative']:.2f}", f["function"])
        console.print(top)


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's bars, PASS/FAIL, and the load-robust figures beside them (information)."""
    out = []
    bar = {"sqlite": 1000, "postgresql": 700}
    for r in rows:
        out.append(
            {
                "target": f"{r['backend']} whole cycle ≥ {bar[r['backend']]:,} claims/s "
                f"({r['n']:,} claims)",
                "value": f"{r['claims_per_s']:,.0f}",
                "ok": r["claims_per_s"] >= bar[r["backend"]],
            }
        )
        out.append(
            {
                "target": f"{r['backend']} whole cycle within 3x of the floor ({r['n']:,})",
                "value": f"{r['x_floor']:.1f}x",
                "ok": r["x_floor"] <= 3,
            }
        )
        if r.get("cpu_claims_per_s"):  # what a busy machine inflates least: information
            out.append(
                {
                    "target": f"{r['backend']} on the gateway's CPU time: claims/s, x floor",
                    "value": f"{r['cpu_claims_per_s']:,.0f}, {r['x_floor_cpu']:.1f}x",
                    "ok": None,
                }
            )
    for backend in {r["backend"] for r in rows}:
        mine = sorted((r for r in rows if r["backend"] == backend), key=lambda r: r["n"])
        if len(mine) > 1:
            lo, hi = mine[0]["peak_mib"], mine[-1]["peak_mib"]
            out.append(
                {
                    "target": f"{backend} memory flat from {mine[0]['n']:,} to "
                    f"{mine[-1]['n']:,} claims (≤ 1.5x or +16 MiB)",
                    "value": f"{lo:.0f} → {hi:.0f} MiB",
                    "ok": hi <= max(1.5 * lo, lo + 16),
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench daemon", description=__doc__)
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=None,
        help="claim counts (default 10000,50000)",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 and 5,000 claims")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=837)
    parser.add_argument(
        "--profile", action="store_true", help="also a profiled run of the smallest size per ledger"
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "latest-daemon.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    opts = parser.parse_args(argv)
    sizes = opts.sizes or ([1_000, 5_000] if opts.quick else [10_000, 50_000])
    backends = [b for b in opts.backends.split(",") if b]
    if set(backends) - {"sqlite", "postgresql"}:
        parser.error("--backends: sqlite and/or postgresql")
    started = time.time()
    rows: list[dict[str, Any]] = []
    profiles: dict[str, Any] = {}
    for n in sizes:
        t0 = time.perf_counter()
        console.print(f"[bold]{n:,} claims[/]")
        raw, floor, prof_files = bench_size(n, backends, opts.seed, opts.profile and n == sizes[0])
        rows += summarize(raw, floor)
        for backend, path in prof_files.items():
            profiles[backend] = {"n": n, **profile_areas(path)}
        console.print(f"  done in {time.perf_counter() - t0:.0f} s")
    render(rows, profiles)
    results = targets(rows)
    verdicts = Table(title="targets of the issue (info: the load-robust figures beside them)")
    for col in ("target", "figure", "result"):
        verdicts.add_column(col)
    for c in results:
        mark = "info" if c["ok"] is None else ("PASS" if c["ok"] else "FAIL")
        verdicts.add_row(c["target"], c["value"], mark)
    console.print(verdicts)
    write_report(
        opts.json,
        started,
        {
            "sizes": sizes,
            "backends": backends,
            "seed": opts.seed,
            "runs": rows,
            "profiles": profiles,
            "targets": results,
        },
        console,
    )
    return 1 if opts.strict and any(c["ok"] is False for c in results) else 0
