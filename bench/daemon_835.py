"""The daemon posting one large 835: wall time and peak memory of `gateway run --once`.

``python -m bench.daemon_835 --claims 100000`` writes (or reuses) a balanced 835 of that many
claim payments in one transaction set (:mod:`bench.gen_835`), makes a fresh home with a SQLite
ledger (or ``--database URL``), puts the file in the example partner's ``spool/inbound/``, and
runs one daemon cycle in a child process. It prints one JSON line: seconds, the child's peak
resident memory (MB), and what the cycle reported (payments posted, output records written).
The claims are not in the ledger (unmatched payments): every posting, balance and status record
is still made and written, which is the work that grows with the file.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.gen_835 import ensure_835

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def run(claims: int, database: str | None) -> dict[str, object]:
    from gateway.home import init_home

    path, _meta = ensure_835(DATA, claims)
    with tempfile.TemporaryDirectory(prefix="bench-daemon-835-") as tmp:
        home = Path(tmp) / "home"
        init_home(home)
        if database:
            settings = home / "gateway.toml"
            text = settings.read_text().replace('url = "sqlite:///state/gateway.db"',
                                                f'url = "{database}"')  # fmt: skip
            settings.write_text(text)
        inbound = home / "spool" / "inbound" / "example"
        inbound.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, inbound / path.name)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", "--home", str(home), "run", "--once"],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        summary = {}
        for line in proc.stderr.splitlines():
            if '"cycle_done"' in line:
                summary = json.loads(line)
        return {
            "claims": claims,
            "seconds": round(seconds, 1),
            "peak_mb": round(peak_kb / 1024, 1),
            "peak_is_first_child": before == 0,
            "exit": proc.returncode,
            "payments_posted": summary.get("payments_posted"),
            "outputs_written": summary.get("outputs_written"),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.daemon_835", description=__doc__)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: the home's SQLite)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.claims, args.database)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
