"""The systemd units in deploy/: valid for systemd (``systemd-analyze verify``, no warning),
hardened (``systemd-analyze security`` exposure at most 2.0 of 10), and their command lines are
ones the gateway accepts. ``make test`` installs systemd-analyze (scripts/ensure-systemd.sh).

systemd does not run here (no init system in the build machine), so the units are checked
offline; what verify needs from the system (the ExecStart binary) is this checkout's gateway,
put in place of the /opt/gateway path the units name.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from configparser import ConfigParser
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.conftest import REPO
from tests.daemon.homes import make_home

DEPLOY = REPO / "deploy"
INSTALLED = "/opt/gateway/bin/gateway"
UNITS = ["gateway.service", "gateway-archive.service", "gateway-archive.timer"]
MAX_EXPOSURE = 20  # systemd-analyze's scale of 100: 2.0 of 10, the "OK" band


def _analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is missing: run `make test` (scripts/ensure-systemd.sh "
                    "installs it)", pytrace=False)  # fmt: skip
    return tool


def _local_copies(tmp_path: Path) -> list[Path]:
    gateway = Path(sys.executable).parent / "gateway"
    out = []
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        target = tmp_path / name
        target.write_text(text.replace(INSTALLED, str(gateway)))
        out.append(target)
    return out


def test_the_units_verify_without_a_warning(tmp_path: Path) -> None:
    units = _local_copies(tmp_path)
    done = subprocess.run([_analyze(), "verify", *map(str, units)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "" and done.stdout.strip() == ""


def test_a_unit_with_a_mistake_is_caught(tmp_path: Path) -> None:
    """The check above can fail: a misspelt setting and a missing binary are reported."""
    [service, *_] = _local_copies(tmp_path)
    text = service.read_text().replace("ProtectHome=yes", "ProtectHomes=yes")
    service.write_text(text.replace(str(Path(sys.executable).parent / "gateway"), "/nowhere/gw"))
    done = subprocess.run([_analyze(), "verify", str(service)], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert "Unknown key 'ProtectHomes'" in done.stderr
    assert "/nowhere/gw" in done.stderr


@pytest.mark.parametrize("name", ["gateway.service", "gateway-archive.service"])
def test_the_services_are_hardened(tmp_path: Path, name: str) -> None:
    unit = next(p for p in _local_copies(tmp_path) if p.name == name)
    done = subprocess.run(
        [_analyze(), "security", "--offline=true", f"--threshold={MAX_EXPOSURE}", str(unit)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    overall = [line for line in done.stdout.splitlines() if "Overall exposure level" in line]
    assert done.returncode == 0, overall or done.stderr
    assert overall and ("OK" in overall[0] or "SAFE" in overall[0]), overall


def _exec_start(name: str) -> list[str]:
    parser = ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name)
    return shlex.split(parser["Service"]["ExecStart"])


def test_the_command_lines_are_ones_the_gateway_accepts(tmp_path: Path) -> None:
    daemon = _exec_start("gateway.service")
    assert daemon == [INSTALLED, "--home", "/var/lib/gateway", "run"]
    archive = _exec_start("gateway-archive.service")
    assert archive[:3] == [INSTALLED, "--home", "/var/lib/gateway"]
    home = make_home(tmp_path)
    code, out, err = run("--home", str(home), *archive[3:])
    assert code == 0 and out.startswith("compressed 0 file(s) older than 30 days"), err
    code, out, _ = run("--home", str(home), "run", "--help")
    assert code == 0 and "--once" in out
