"""Gateway homes for daemon tests: a directory partner whose folders live in the test's tmp."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.daemon.runner import Daemon
from gateway.demo.run import PARTNER as DEMO_PARTNER
from gateway.home import init_home
from tests.conftest import SAMPLES
from tests.daemon.payer import ack_999, claims_of, envelope_of, status_277ca

# The demo's partner (a folder pair), named acme, with the knobs the tests turn.
PARTNER = (
    DEMO_PARTNER.replace('"clearinghouse"', '"acme"')
    .replace("exchange/clearinghouse/", "exchange/")
    .replace("poll_seconds = 1", "poll_seconds = {poll}")
    .replace("max_claims = 25", "max_claims = {max_claims}")
    + '\n[download]\nafter = "move"\n'
)


def make_home(root: Path, *, poll: int = 1, max_claims: int = 5000, database: str = "") -> Path:
    home = root / "home"
    init_home(home)
    (home / "partners" / "example.toml").unlink()
    (home / "partners" / "acme.toml").write_text(PARTNER.format(poll=poll, max_claims=max_claims))
    settings = (home / "gateway.toml").read_text().replace(
        "settle_seconds = 5", "settle_seconds = 0"
    ).replace('format = "auto"', 'format = "json"')  # fmt: skip
    if database:
        settings = settings.replace('url = "sqlite:///state/gateway.db"', f'url = "{database}"')
    (home / "gateway.toml").write_text(settings)
    for folder in ("exchange/in", "exchange/out"):
        (home / folder).mkdir(parents=True, mode=0o700)
    return home


def serve_metrics(home: Path) -> int:
    """Turn on the home's metrics port (a free one on 127.0.0.1); returns it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    settings = home / "gateway.toml"
    settings.write_text(settings.read_text().replace("port = 0 ", f"port = {port} ", 1))
    return port


@contextmanager
def running(daemon: Daemon) -> Iterator[list[int]]:
    """``daemon.run()`` in a thread, stopped and joined on the way out; yields its exit codes."""
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(daemon.run()))
    thread.start()
    try:
        yield codes
    finally:
        daemon.stop()
        thread.join(timeout=60)


def drop_claims(home: Path, name: str, records: list[dict[str, Any]] | dict[str, Any]) -> Path:
    """Write a claim file the way a practice system should: temporary name, then rename."""
    target = home / "spool" / "claims" / name
    tmp = target.with_name(f".{name}.tmp")
    tmp.write_text(json.dumps(records))
    past = time.time() - 10
    os.utime(tmp, (past, past))
    os.replace(tmp, target)
    return target


def drop_reply(home: Path, name: str, text: str) -> Path:
    """A reply from the partner, complete (renamed into place)."""
    target = home / "exchange" / "out" / name
    tmp = target.with_name(f".{name}.part")
    tmp.write_text(text)
    os.replace(tmp, target)
    return target


def acknowledge(home: Path, sent: Path, tag: str, verdict: str = "A2:20") -> None:
    """The partner's 999 and 277CA (``TAG.999``, ``TAG.277``) for the 837 ``sent``: every claim
    in it gets ``verdict`` (A2:20 accepted)."""
    isa, group = envelope_of(sent)
    drop_reply(home, f"{tag}.999", ack_999(group, control=isa + 500))
    verdicts = [(c, verdict) for c in claims_of(sent)]
    drop_reply(home, f"{tag}.277", status_277ca(verdicts, control=isa + 600))


def run_once(home: Path) -> None:
    """One whole cycle of the home's daemon (``run --once``), which must end 0."""
    daemon = Daemon(home)
    try:
        assert daemon.run(once=True) == 0
    finally:
        daemon.ledger.close()


def sample_claims(kind: str = "professional") -> list[dict[str, Any]]:
    """The sample claim records of ``kind`` (``gateway/samples/KIND.json``), a fresh copy."""
    records: list[dict[str, Any]] = json.loads((SAMPLES / f"{kind}.json").read_text())
    return records


def read_jsonl(folder: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(folder.glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records


def numbered_claims(prefix: str, count: int, *, dental_every: int = 0) -> list[dict[str, Any]]:
    """``count`` copies of the sample claims with ids PREFIX-00000... (every n-th dental)."""
    professional, dental = sample_claims()[0], sample_claims("dental")[0]
    out = []
    for n in range(count):
        template = dental if dental_every and n % dental_every == 0 else professional
        record = json.loads(json.dumps(template))
        record["claim_id"] = f"{prefix}-{n:05d}"
        for i, line in enumerate(record["lines"]):
            line["line_id"] = f"{prefix[:2]}{n:05d}-{i}"
        out.append(record)
    return out
