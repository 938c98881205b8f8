"""``gateway demo --web PORT`` and ``gateway web`` as an admin runs them: a process of their own
serving the demo home on 127.0.0.1, the printed password logging in."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.web.conftest import csrf_of


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_web_leaves_the_demo_home_served_with_a_user(tmp_path: Path) -> None:
    port = _free_port()
    home = tmp_path / "demo-home"
    command = [sys.executable, "-m", "gateway.cli.main", "demo", "--home", str(home),
               "--claims", "12", "--web", str(port)]  # fmt: skip
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)  # fmt: skip
    try:
        assert server.stdout is not None
        said = ""
        while "gateway web: http://127.0.0.1" not in said:  # the demo's summary, then these
            line = server.stdout.readline()
            assert line, said
            said += line
        password = re.search(r"log in as demo \(admin\) with the password (\S+)", said)
        assert password, said
        assert "its payments are held for review" in said
        # uvicorn binds right after that line: connection attempts are retried meanwhile
        transport = httpx.HTTPTransport(retries=20)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, transport=transport, follow_redirects=True) as web:
            form = web.get("/login")
            answer = web.post("/login", data={"username": "demo", "password": password[1],
                                              "csrf": csrf_of(form.text)})  # fmt: skip
            assert answer.status_code == 200 and "claim payment(s) held for review" in answer.text
            assert web.get("/audit").status_code == 200  # an admin
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert server.returncode in (0, -15)
    lone = [sys.executable, "-m", "gateway.cli.main", "--home", str(home), "web",
            "--certfile", str(home / "gateway.toml")]  # fmt: skip
    again = subprocess.run(lone, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "--certfile and --keyfile go together" in again.stderr


def test_run_web_serves_the_pages_beside_the_daemon_and_stops_with_it(tmp_path: Path) -> None:
    from tests.daemon.homes import make_home

    home = make_home(tmp_path)
    port = _free_port()
    command = [sys.executable, "-m", "gateway.cli.main", "--home", str(home), "run",
               "--web", str(port)]  # fmt: skip
    daemon = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        transport = httpx.HTTPTransport(retries=30)  # the daemon starts, then the web thread
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", transport=transport) as web:
            answer = web.get("/claims")
            assert answer.status_code == 303 and answer.headers["location"] == "/login"
            assert "Log in" in web.get("/login").text
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, errors = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, errors[-2000:]
