"""One step of the daemon suite, in a fresh interpreter: ``python -m bench.daemon_step JSON``.

Steps (``"step"`` in the JSON):

- ``claims``: write ``n`` generated claims (``bench.claims``) as claim files of
  ``per_file`` claims each into ``folder`` (not timed; cached by the suite).
- ``daemon``: the gateway side of the whole cycle in a fresh home on ``db`` (a SQLite or
  PostgreSQL URL), phase by phase, with the daemon's own functions in the order its cycle calls
  them: intake, build, upload (directory transport), outputs; then the payer simulator (another
  process, not timed) answers every 837 with a 999, a 277CA and an 835, the 835s held back;
  download and apply the acknowledgments; release the 835s, download and post them; outputs.
  Each phase: wall and CPU seconds, SQL statements, resident memory (high-water mark above the
  resident memory when the timed work began). With ``profile``, cProfile runs during the phases
  and its statistics go to that file. The 835s received are copied to ``remits`` for the floor.
- ``floor``: the compute floor on the same inputs, with no ledger: intake checks
  (``read_claim_file``), 837 build (``write_837``, 5,000 claims a file like the daemon), 835
  post (``post_835`` without a ledger lookup) of the 835s the daemon step received.

Prints one line ``RESULT {json}``.
"""

from __future__ import annotations

import cProfile
import gc
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.memory import hwm_kb, reset_hwm, rss_kb

SIMULATED_NOW = "2025-01-06T12:00:00"  # the simulator's clock: the same replies every run


# -- claims ------------------------------------------------------------------------------------
def write_claims(args: dict[str, Any]) -> dict[str, Any]:
    from bench.claims import make_claims

    n, per_file = int(args["n"]), int(args.get("per_file", 1000))
    folder = Path(args["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    # Every claim an original (frequency 1): the generator's few replacements (7) name originals
    # the ledger never had, which intake refuses since corrections came (the original must be
    # in the ledger, acknowledged): the suite measures new claims through the whole cycle.
    claims = [
        c.model_copy(update={"frequency": "1", "payer_claim_number": None})
        if c.frequency != "1"
        else c
        for c in make_claims(n, int(args.get("seed", 837)))
    ]
    files = 0
    for start in range(0, n, per_file):
        chunk = [
            c.model_dump(mode="json", exclude_none=True) for c in claims[start : start + per_file]
        ]
        (folder / f"claims-{start // per_file + 1:05d}.json").write_text(json.dumps(chunk))
        files += 1
    return {"step": "claims", "n": n, "files": files}


# -- the daemon --------------------------------------------------------------------------------
class Phases:
    """Wall and CPU time, SQL statements and memory, added up per phase name."""

    def __init__(self, engine: Any, profiler: cProfile.Profile | None) -> None:
        self.rows: dict[str, dict[str, float]] = {}
        self.statements = 0
        self.by_text: dict[str, dict[str, int]] = {}  # phase -> statement (start) -> count
        self.current = ""
        self.profiler = profiler
        self.base_kb = rss_kb()
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements += 1
        tally = self.by_text.setdefault(self.current, {})
        key = " ".join(statement.split())[:90]
        tally[key] = tally.get(key, 0) + 1

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        gc.collect()
        reset_hwm()
        self.current = name
        statements, wall, cpu = self.statements, time.perf_counter(), time.process_time()
        if self.profiler is not None:
            self.profiler.enable()
        try:
            yield
        finally:
            if self.profiler is not None:
                self.profiler.disable()
            row = self.rows.setdefault(
                name, {"seconds": 0.0, "cpu_seconds": 0.0, "statements": 0, "peak_kb": 0}
            )
            row["seconds"] += time.perf_counter() - wall
            row["cpu_seconds"] += time.process_time() - cpu
            row["statements"] += self.statements - statements
            row["peak_kb"] = max(row["peak_kb"], hwm_kb() - self.base_kb)


def _home(work: Path, db: str) -> Path:
    from gateway.demo.run import PARTNER as DEMO_PARTNER
    from gateway.home import init_home

    home = work / "home"
    init_home(home)
    (home / "partners" / "example.toml").unlink()
    partner = (  # the demo's folder partner: 5,000 claims a file, no TA1 asked for
        DEMO_PARTNER.replace('"clearinghouse"', '"bench"')
        .replace("exchange/clearinghouse/", "exchange/")
        .replace("ack_requested = true", "ack_requested = false")
        .replace("max_claims = 25", "max_claims = 5000")
        + '\n[download]\nafter = "move"\n'
    )
    (home / "partners" / "bench.toml").write_text(partner)
    settings = (home / "gateway.toml").read_text()
    settings = settings.replace('url = "sqlite:///state/gateway.db"', f'url = "{db}"')
    (home / "gateway.toml").write_text(settings.replace('format = "auto"', 'format = "json"'))
    for folder in ("exchange/in", "exchange/out", "held"):
        (home / folder).mkdir(parents=True, mode=0o700)
    return home


def _simulate(home: Path, seed: int) -> None:
    """The payer answers every 837 (another process: its time and memory are not ours)."""
    cmd = [
        sys.executable,
        "-m",
        "gateway.cli.main",
        "simulate",
        "--upload-dir",
        str(home / "exchange" / "in"),
        "--download-dir",
        str(home / "exchange" / "out"),
        "--state",
        str(home / "simulator.json"),
        "--seed",
        str(seed),
        "--once",
        "--now",
        SIMULATED_NOW,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the simulator failed: {done.stderr[-2000:]}")


def run_daemon(args: dict[str, Any]) -> dict[str, Any]:
    from gateway.daemon.gc_tuning import tune_collector
    from gateway.daemon.inbound import InboundReport, fetch, process_inbound
    from gateway.daemon.intake import take_claim_files
    from gateway.daemon.outbound import build_interchanges, send_outbound
    from gateway.daemon.outputs import emit_outputs
    from gateway.daemon.runner import Daemon
    from gateway.daemon.transports import open_transport
    from gateway.logs import configure

    n, work = int(args["n"]), Path(args["work"])
    home = _home(work, args["db"])
    for path in sorted(Path(args["claims"]).glob("claims-*.json")):  # settled: an old mtime
        shutil.copyfile(path, home / "spool" / "claims" / path.name)
        os.utime(home / "spool" / "claims" / path.name, (time.time() - 60, time.time() - 60))
    log = (work / "gateway.log").open("w", encoding="utf-8")
    configure(json=True, file=log)  # the daemon's log lines are part of its work
    tune_collector()  # as ``gateway run`` does for the daemon's process
    daemon = Daemon(home)
    ledger, spool, [partner] = daemon.ledger, daemon.spool, daemon.partners
    transport = open_transport(home, partner)
    profiler = cProfile.Profile() if args.get("profile") else None
    gc.collect()
    p = Phases(ledger.engine, profiler)
    started_kb = p.base_kb
    inbound = InboundReport()
    outputs: dict[str, int] = {}

    def emit() -> None:
        done = emit_outputs(spool, ledger, owner=daemon.owner, batch_size=10_000)
        for kind, count in done.items():
            outputs[kind] = outputs.get(kind, 0) + count

    with p.phase("intake"):
        taken = take_claim_files(
            home, ledger, daemon.partners, mappings=daemon.mappings, settle_seconds=0, spool=spool
        )
    with p.phase("build"):
        built = build_interchanges(
            spool, ledger, partner, owner=daemon.owner, lease_seconds=900, once=True
        )
    with p.phase("upload"):
        sent = send_outbound(spool, ledger, partner, transport)
    with p.phase("outputs"):
        emit()
    with p.phase("follow-up facts"):  # as the daemon ends each cycle (runner._cycle)
        ledger.refresh_followup_facts()
    _simulate(home, int(args.get("seed", 837)))
    out = home / "exchange" / "out"
    remits = sorted(out.glob("835-*"))
    for path in remits:
        os.replace(path, home / "held" / path.name)
    with p.phase("download"):
        fetch(spool, ledger, partner, transport, inbound)
    with p.phase("acknowledgments"):
        process_inbound(spool, ledger, partner.name, inbound)
    with p.phase("follow-up facts"):
        ledger.refresh_followup_facts()
    acks = dict(inbound.processed)
    for path in remits:
        os.replace(home / "held" / path.name, out / path.name)
    with p.phase("download"):
        fetch(spool, ledger, partner, transport, inbound)
    with p.phase("remittances"):
        process_inbound(spool, ledger, partner.name, inbound)
    with p.phase("outputs"):
        emit()
    with p.phase("follow-up facts"):
        ledger.refresh_followup_facts()
    peak_kb = max(row["peak_kb"] for row in p.rows.values())
    states = ledger.count_claims()
    pending = any(
        ledger.pending_outbox(kind, limit=1) for kind in ("postings", "balances", "status")
    )
    configure()
    log.close()
    if profiler is not None:
        profiler.dump_stats(args["profile"])
    remit_folder = Path(args["remits"])
    remit_folder.mkdir(parents=True, exist_ok=True)
    for path in (spool / "archive" / "inbound" / partner.name).glob("835-*"):
        shutil.copyfile(path, remit_folder / path.name)
    ledger.close()
    return {
        "step": "daemon",
        "n": n,
        "phases": p.rows,
        "statements_by_phase": {
            phase: dict(sorted(tally.items(), key=lambda kv: -kv[1])[:12])
            for phase, tally in p.by_text.items()
        },
        "peak_kb": peak_kb,
        "start_kb": started_kb,
        "claims_taken": len(taken.taken),
        "files_rejected": taken.rejected_files,
        "interchanges": len(built.built),
        "claims_built": built.claims,
        "uploaded": len(sent.sent),
        "replies": {**{f"{k} (acks phase)": v for k, v in acks.items()}, **inbound.processed},
        "remittance_files": len(remits),
        "quarantined": inbound.quarantined,
        "payments_posted": inbound.payments_posted,
        "payments_held": inbound.payments_held,
        "outputs": outputs,
        "states": states,
        "outbox_pending": pending,
    }


# -- the compute floor -------------------------------------------------------------------------
def run_floor(args: dict[str, Any]) -> dict[str, Any]:
    from gateway.daemon.gc_tuning import tune_collector
    from gateway.daemon.outbound import envelope_for
    from gateway.domain.claim import Claim
    from gateway.intake.claim_files import read_claim_file
    from gateway.replies.remittances import ClaimPosted, post_835
    from gateway.transactions.claim_837 import write_837

    tune_collector()  # the same code as the daemon's, in the same kind of process
    n = int(args["n"])
    files = sorted(Path(args["claims"]).glob("claims-*.json"))
    remits = sorted(Path(args["remits"]).iterdir())
    rows: dict[str, dict[str, float]] = {}

    def timed(name: str, fn: Any) -> Any:
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        rows[name] = {
            "seconds": time.perf_counter() - wall,
            "cpu_seconds": time.process_time() - cpu,
        }
        return result

    def intake() -> list[Claim]:
        claims: list[Claim] = []
        for path in files:
            result = read_claim_file(path)
            if result.problems:
                raise SystemExit(f"{path.name}: {result.problems[:3]}")
            claims += result.claims
        return claims

    claims = timed("intake checks", intake)
    target = Path(args["work"]) / "837"
    target.mkdir(parents=True, exist_ok=True)

    def build() -> int:
        for k, start in enumerate(range(0, len(claims), 5000)):
            env = envelope_for(None, k + 1, k + 1, datetime(2025, 1, 2, 12))
            text = io.StringIO()
            write_837(text, "professional", claims[start : start + 5000], env)
            (target / f"837P-{k + 1:09d}.x12").write_bytes(text.getvalue().encode("ascii"))
        return len(claims)

    timed("837 build", build)

    def post() -> int:
        posted = 0
        for path in remits:
            for item in post_835(path, source_file=path.name):
                posted += isinstance(item, ClaimPosted)
        return posted

    posted = timed("835 post", post)
    return {"step": "floor", "n": n, "phases": rows, "claims_read": len(claims), "posted": posted}


def main(argv: list[str]) -> int:
    args = json.loads(argv[0])
    runner = {"claims": write_claims, "daemon": run_daemon, "floor": run_floor}[args["step"]]
    print("RESULT " + json.dumps(runner(args), default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
