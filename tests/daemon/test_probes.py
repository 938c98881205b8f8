"""``/healthz`` and ``/readyz`` on the metrics port, read over HTTP while the daemon runs."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.daemon.probes import ledger_problem, liveness, readiness
from gateway.daemon.runner import Daemon
from gateway.ledger.db import create_ledger_engine, open_ledger
from gateway.ledger.ledger import Ledger
from tests.daemon.homes import make_home, running, serve_metrics
from tests.ledger.conftest import PG_ADMIN_URL


def _get(port: int, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()) if path != "/nowhere" else None


def _wait_for(what: str, condition: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)


def test_probes_while_running(tmp_path: Path, db_url: str) -> None:
    home = make_home(tmp_path, database=db_url)
    port = serve_metrics(home)
    with running(Daemon(home)) as codes:
        assert _wait_for("/healthz", lambda: _get(port, "/healthz")) == (200, {"status": "alive"})
        _, body = _wait_for("ready", lambda: (r := _get(port, "/readyz"))[0] == 200 and r)
        assert body["status"] == "ready" and body["ledger"] == "ok"
        assert 0 <= body["last_cycle_age_seconds"] <= body["max_cycle_age_seconds"] == 300
        assert _get(port, "/nowhere")[0] == 404
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            assert b"gateway_cycle_seconds_count" in response.read()
        if make_url(db_url).get_backend_name() == "postgresql":
            _ledger_goes_away_and_comes_back(db_url, port)
    assert codes == [0]


def _ledger_goes_away_and_comes_back(db_url: str, port: int) -> None:
    """The daemon's database is renamed under it (connections cut): not ready; then back."""
    name = make_url(db_url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    cut = text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d")
    try:
        with admin.connect() as connection:
            connection.execute(cut, {"d": name})
            connection.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{name}_away"'))
        _, body = _wait_for("not ready", lambda: (r := _get(port, "/readyz"))[0] == 503 and r)
        assert body["status"] == "not ready" and "the ledger does not answer" in body["problems"]
        assert "does not exist" in body["ledger"] and "password" not in body["ledger"]
        assert _get(port, "/healthz")[0] == 200  # alive all the same: nothing to restart
    finally:
        with admin.connect() as connection:
            connection.execute(cut, {"d": f"{name}_away"})
            connection.execute(text(f'ALTER DATABASE "{name}_away" RENAME TO "{name}"'))
        admin.dispose()
    _wait_for("ready again", lambda: _get(port, "/readyz")[0] == 200)


def test_readiness_says_which_check_failed(tmp_path: Path) -> None:
    with open_ledger(f"sqlite:///{tmp_path / 'gateway.db'}") as ledger:
        assert ledger_problem(ledger) is None
        assert readiness(ledger, last_cycle_end=100.0, now=399.0, limit=300) == (
            200,
            {"max_cycle_age_seconds": 300, "ledger": "ok", "last_cycle_age_seconds": 299.0,
             "status": "ready"},
        )  # fmt: skip
        status, body = readiness(ledger, last_cycle_end=100.0, now=401.5, limit=300)
        assert status == 503
        assert body["problems"] == ["the last cycle ended 301.5 s ago (limit 300 s)"]
        status, body = readiness(ledger, last_cycle_end=None, now=1.0, limit=300)
        assert (status, body["problems"]) == (503, ["no cycle has finished yet"])
    assert liveness(stopping=False) == (200, {"status": "alive"})
    assert liveness(stopping=True) == (503, {"status": "stopping"})


def test_an_unreachable_or_broken_ledger_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "gateway.db"
    junk.write_bytes(b"this is not a database, whatever its name says" * 100)
    broken = Ledger(create_ledger_engine(f"sqlite:///{junk}"))
    nowhere = Ledger(create_ledger_engine("postgresql+psycopg://gateway:s3cret@127.0.0.1:1/gw"))
    try:
        assert ledger_problem(broken) == "DatabaseError: file is not a database"
        problem = ledger_problem(nowhere)
        assert (
            problem is not None
            and problem.startswith("OperationalError:")
            and "s3cret" not in problem
        )
        status, body = readiness(nowhere, last_cycle_end=10.0, now=11.0, limit=300)
        assert status == 503 and body["problems"] == ["the ledger does not answer"]
    finally:
        broken.close()
        nowhere.close()
