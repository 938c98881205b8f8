"""``python -m bench sftp``: SftpTransport beside OpenSSH's ``sftp`` client, same server, same run.

See bench/README.md. A private OpenSSH sshd on 127.0.0.1 (``tests/sshd.py``) serves both
clients; a file of random bytes (100 MiB by default) goes up and comes back with each, and the
target is ours at no less than 80% of OpenSSH's throughput, each timed from connect to close.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.__main__ import BUSY_CPUS, cpu_busy_s, write_report
from gateway.transports.sftp import SftpTransport
from tests.sshd import ClientKeys, Sshd, SshdMissing, running

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
TARGET = 0.8  # ours over OpenSSH's MB/s, each direction
MB = 1e6

console = Console(stderr=True)


def random_file(path: Path, size: int) -> str:
    """``size`` random bytes at ``path`` (incompressible, as encrypted traffic is); sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            block = os.urandom(min(left, 4 << 20))
            digest.update(block)
            f.write(block)
            left -= len(block)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(4 << 20):
            digest.update(block)
    return digest.hexdigest()


def openssh(server: Sshd, work: Path, commands: str) -> float:
    """Wall seconds of one ``sftp -b`` process running ``commands`` (connect to exit)."""
    batch = work / "batch"
    batch.write_text(commands + "\n")
    started = time.perf_counter()
    proc = subprocess.run(server.sftp_command(batch), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"OpenSSH sftp failed ({commands!r}): {proc.stderr.strip()}")
    return seconds


def ours(server: Sshd, action: Callable[[SftpTransport], object]) -> tuple[float, float]:
    """(connect to close, the transfer alone) seconds of one SftpTransport doing ``action``."""
    started = time.perf_counter()
    with SftpTransport(server.config(timeout=60.0), server.home) as transport:
        transport.check()  # logs in
        begun = time.perf_counter()
        action(transport)
        transfer = time.perf_counter() - begun
    return time.perf_counter() - started, transfer


def other_cpus(seconds: float = 1.0) -> float | None:
    """CPUs kept busy by the rest of the machine while we sleep ``seconds``."""
    before = cpu_busy_s()
    time.sleep(seconds)
    after = cpu_busy_s()
    return None if before is None or after is None else (after - before) / seconds


def measure(server: Sshd, work: Path, size: int, repeat: int) -> dict[str, Any]:
    """Times of every run of each client and direction, the copies checked against the source."""
    src = work / "payload.bin"
    console.print(f"writing {size / MB:.0f} MB of random bytes…")
    digest = random_file(src, size)
    shutil.copy(src, server.outbound / "payload.bin")
    down = work / "down"
    down.mkdir()
    times: dict[str, list[float]] = {
        k: [] for k in ("openssh_up", "openssh_down", "openssh_login", "ours_up", "ours_down")
    }
    times |= {"ours_up_transfer": [], "ours_down_transfer": []}
    for run in range(1, repeat + 1):
        console.print(f"run {run}/{repeat}: OpenSSH sftp up and down, then SftpTransport…")
        times["openssh_login"].append(openssh(server, work, "pwd"))
        times["openssh_up"].append(openssh(server, work, f"put {src} inbound/openssh.bin"))
        times["openssh_down"].append(
            openssh(server, work, f"get outbound/payload.bin {down / 'openssh.bin'}")
        )
        total, transfer = ours(server, lambda t: t.put(src, "ours.bin"))
        times["ours_up"].append(total)
        times["ours_up_transfer"].append(transfer)
        total, transfer = ours(server, lambda t: t.get("payload.bin", down))
        times["ours_down"].append(total)
        times["ours_down_transfer"].append(transfer)
    copies = {
        "openssh up": server.inbound / "openssh.bin",
        "ours up": server.inbound / "ours.bin",
        "openssh down": down / "openssh.bin",
        "ours down": down / "payload.bin",
    }
    bad = [name for name, path in copies.items() if sha256(path) != digest]
    if bad:
        raise SystemExit(f"copies differ from the source: {', '.join(bad)}")
    return times


def summarize(times: dict[str, list[float]], size: int) -> list[dict[str, Any]]:
    """One row per direction: best seconds and MB/s of each client, and ours over theirs."""
    login = min(times["openssh_login"])
    rows = []
    for direction in ("up", "down"):
        theirs, mine = min(times[f"openssh_{direction}"]), min(times[f"ours_{direction}"])
        transfer = min(times[f"ours_{direction}_transfer"])
        rows.append(
            {
                "direction": direction,
                "openssh_s": theirs,
                "ours_s": mine,
                "openssh_mb_s": size / theirs / MB,
                "ours_mb_s": size / mine / MB,
                "ratio": theirs / mine,
                # without logging in: ours on an open connection, OpenSSH less a bare login
                "ours_transfer_mb_s": size / transfer / MB,
                "openssh_transfer_mb_s": size / max(theirs - login, 1e-9) / MB,
            }
        )
    return rows


def render(rows: list[dict[str, Any]], size: int, busy: list[float | None]) -> None:
    out = Console(width=max(Console().width, 100))
    table = Table(title=f"SFTP over loopback, {size / MB:.0f} MB, best of the runs")
    for col in ("direction", "OpenSSH sftp s", "MB/s", "SftpTransport s", "MB/s ", "ours/OpenSSH",
                "target"):  # fmt: skip
        table.add_column(col, justify="left" if col == "direction" else "right")
    for r in rows:
        ok = r["ratio"] >= TARGET
        table.add_row(
            r["direction"],
            f"{r['openssh_s']:.3f}",
            f"{r['openssh_mb_s']:.0f}",
            f"{r['ours_s']:.3f}",
            f"{r['ours_mb_s']:.0f}",
            f"{r['ratio']:.2f}",
            f"≥ {TARGET:.2f} " + ("PASS" if ok else "FAIL"),
        )
    out.print(table)
    out.print(
        "Each client is timed from connect to close: OpenSSH's is the whole `sftp -b` process, "
        "ours a fresh SftpTransport (connect, host key check, login, transfer with its size "
        "check and rename, close). Without logging in: "
        + "; ".join(
            f"{r['direction']} ours {r['ours_transfer_mb_s']:.0f} MB/s on an open connection, "
            f"OpenSSH {r['openssh_transfer_mb_s']:.0f} MB/s less a bare login"
            for r in rows
        )
        + "."
    )
    worst = max((b for b in busy if b is not None), default=None)
    if worst is not None and worst > BUSY_CPUS:
        out.print(
            f"[bold yellow]warning:[/] other processes kept {worst:.2f} of the {os.cpu_count()} "
            "CPUs busy around the run: both clients and the server share the CPUs, so the "
            "figures are less reliable. Run again on a quiet machine."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench sftp", description=__doc__)
    parser.add_argument("--mb", type=int, default=100, help="size of the file, in MB (10^6)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per client, best is kept")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest-sftp.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    opts = parser.parse_args(argv)
    size = opts.mb * 1_000_000

    started = time.time()
    busy = [other_cpus()]
    with tempfile.TemporaryDirectory(prefix="bench-sftp-") as folder:
        work = Path(folder)
        try:
            console.print("[bold]sftp suite[/]: keys and a private sshd on 127.0.0.1…")
            keys = ClientKeys.make(work / "keys")
            with running(work / "sshd", keys) as server:
                version = subprocess.run(
                    ["ssh", "-V"], capture_output=True, text=True, check=False
                ).stderr.strip()
                times = measure(server, work, size, opts.repeat)
        except SshdMissing as exc:
            raise SystemExit(f"{exc} (or run scripts/ensure-sshd.sh)") from None
    busy.append(other_cpus())
    rows = summarize(times, size)
    render(rows, size, busy)

    report = {
        "paramiko": importlib.metadata.version("paramiko"),
        "openssh": version,
        "bytes": size,
        "repeat": opts.repeat,
        "other_cpus": busy,
        "times": times,
        "rows": rows,
        "target": TARGET,
    }
    write_report(opts.json, started, report, console)
    failed = any(r["ratio"] < TARGET for r in rows)
    return 1 if failed and opts.strict else 0


if __name__ == "__main__":
    sys.exit(main())
