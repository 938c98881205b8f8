"""The daemon's Prometheus endpoint, read over HTTP from 127.0.0.1 while it runs."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from gateway.daemon.runner import Daemon
from tests.conftest import SAMPLES
from tests.daemon.homes import drop_claims, make_home, running, serve_metrics


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_metrics_while_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gateway.daemon.runner.COUNT_CLAIMS_SECONDS", 0.0)  # count every cycle
    home = make_home(tmp_path)
    port = serve_metrics(home)
    with running(Daemon(home)) as codes:
        drop_claims(home, "prof.json", json.loads((SAMPLES / "professional.json").read_text()))
        deadline = time.monotonic() + 20
        seen: dict[str, float] = {}
        while time.monotonic() < deadline:
            try:
                seen = _metrics(port)
            except OSError:
                seen = {}
            if seen.get('gateway_claims{state="submitted"}') == 2:
                break
            time.sleep(0.2)
    assert codes == [0]
    assert seen['gateway_claims{state="submitted"}'] == 2
    assert seen["gateway_claims_taken_total"] == 2
    assert seen["gateway_claims_submitted_total"] == 2
    assert seen["gateway_interchanges_sent_total"] == 1
    assert seen['gateway_partner_up{partner="acme"}'] == 1
    assert seen["gateway_cycle_seconds_count"] >= 1
    try:  # stopped with the daemon
        _metrics(port)
        raise AssertionError("the metrics endpoint still answers after the daemon stopped")
    except OSError:
        pass
