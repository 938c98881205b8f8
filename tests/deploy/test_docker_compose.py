"""docker/compose.yaml, checked as far as a machine without a Docker engine can: the file reads
as YAML with the services docker/README.md promises, every gateway command in it is one the
gateway accepts, and docker/setup.sh makes a home the gateway loads (settings, the SFTP partner,
its key and the pinned host key of the sftp service). Running the containers is not tested."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import paramiko
import yaml

from gateway.config import database_url, load_partners, load_settings
from tests.cli.test_cli import run
from tests.conftest import REPO

DOCKER = REPO / "docker"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return data


def test_the_services_and_what_they_share() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "sftp", "gateway", "simulator"}
    gateway = services["gateway"]
    assert gateway["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert gateway["volumes"] == ["./home:/home/gateway"]
    assert gateway["environment"]["GATEWAY_HOME"] == "/home/gateway"
    assert services["sftp"]["volumes"][-1] == "partner:/home/practice01"
    assert services["simulator"]["volumes"][0].startswith("partner:/srv/partner")
    assert (DOCKER / gateway["build"]["context"] / gateway["build"]["dockerfile"]).is_file()


def test_the_gateway_commands_in_it_are_real(tmp_path: Path) -> None:
    services = _compose()["services"]
    shell = services["gateway"]["entrypoint"][2]
    assert shell == "gateway init --upgrade /home/gateway && exec gateway run"
    simulate = services["simulator"]["command"]
    here = [arg.replace("/srv/partner", str(tmp_path / "partner")) for arg in simulate]
    (tmp_path / "partner" / "outbound").mkdir(parents=True)
    code, _, err = run(*here, "--once")  # its command line, one step on empty folders
    assert code == 0, err
    assert (tmp_path / "partner" / "inbound").is_dir()
    probe = services["gateway"]["healthcheck"]["test"][-1]
    settings = (DOCKER / "home-template" / "gateway.toml").read_text()
    assert "port = 9108" in settings and "127.0.0.1:9108/readyz" in probe


def test_setup_makes_a_home_the_gateway_loads(tmp_path: Path) -> None:
    folder = tmp_path / "docker"
    shutil.copytree(DOCKER, folder, ignore=shutil.ignore_patterns("home", "secrets", ".env"))
    done = subprocess.run([str(folder / "setup.sh")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    home = folder / "home"
    env = dict(line.split("=", 1) for line in (folder / ".env").read_text().splitlines())
    assert set(env) == {"UID", "GID", "PG_PASSWORD"} and len(env["PG_PASSWORD"]) == 48
    settings = load_settings(home)
    assert database_url(home, settings) == (
        f"postgresql+psycopg://gateway:{env['PG_PASSWORD']}@postgres:5432/gateway"
    )
    [partner] = load_partners(home)
    assert partner.sftp is not None and partner.sftp.host == "sftp"
    key = paramiko.Ed25519Key.from_private_key_file(str(home / partner.sftp.private_key))
    public = (folder / "secrets" / "gateway_ed25519.pub").read_text().split()[1]
    assert key.get_base64() == public  # the SFTP server authorizes the gateway's key
    pinned = paramiko.HostKeys(str(home / partner.sftp.known_hosts)).lookup("sftp")
    host = (folder / "secrets" / "sftp_host_ed25519_key.pub").read_text().split()[1]
    assert pinned is not None and pinned["ssh-ed25519"].get_base64() == host
    for path in (home, home / "keys", home / "gateway.toml", home / "keys" / "gateway_ed25519"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    again = subprocess.run([str(folder / "setup.sh")], capture_output=True, text=True, check=False)
    assert again.returncode == 1 and "nothing done" in again.stderr
