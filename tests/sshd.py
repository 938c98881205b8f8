"""A private OpenSSH sshd on 127.0.0.1 for the SFTP transport tests (and ``bench/sftp.py``).

A real server, so what the tests prove is what a clearinghouse's OpenSSH does: the child is
Debian's ``/usr/sbin/sshd -D -e -f CONFIG`` on a free port, with its own ed25519 host key, the
client keys of :class:`ClientKeys` in its ``authorized_keys`` and ``internal-sftp`` starting in a
data root that holds ``inbound/`` and ``outbound/``. It runs as the current user (root here), so
``StrictModes no`` and no chroot: pytest's ``tmp_path`` is fine for its state. sshd forks a
child per connection that calls ``setsid()``, so stopping, pausing or cutting connections works
on the listener *and* its descendants, collected from ``/proc`` before any signal is sent, each by
pid.

``pytest_plugins = ["tests.sshd"]`` in ``tests/conftest.py`` makes the ``sshd`` fixture (a fresh
server per test) and ``ssh_keys`` (keys made once per session) available everywhere.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.config import SftpConfig

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = "ssh-keygen"
MISSING = (
    f"OpenSSH's server ({SSHD}) is not installed: run `make test`, which installs "
    "openssh-server (scripts/ensure-sshd.sh)"
)
PASSPHRASE = "correct horse battery staple"
PASSPHRASE_ENV = "GATEWAY_TEST_SFTP_PASSPHRASE"
HOST = "127.0.0.1"


class SshdMissing(RuntimeError):
    """sshd or ssh-keygen is not installed."""


def _keygen(path: Path, kind: str, passphrase: str = "", *extra: str) -> Path:
    """A fresh key pair at ``path`` (and ``path.pub``), ``ssh-keygen`` made."""
    if shutil.which(SSH_KEYGEN) is None:
        raise SshdMissing(MISSING)
    path.unlink(missing_ok=True)
    path.with_suffix(".pub").unlink(missing_ok=True)
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", kind, "-N", passphrase, "-C", path.name, "-f", str(path), *extra],
        check=True,
        capture_output=True,
    )
    return path


def fingerprint(public_key_line: str) -> str:
    """``SHA256:...`` of an OpenSSH public key line, as ``ssh-keygen -l`` shows it."""
    blob = base64.b64decode(public_key_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class ClientKeys:
    """The client's keys, made once: which are authorized is up to each server."""

    folder: Path

    ed25519 = "id_ed25519"  # no passphrase
    ed25519_pw = "id_ed25519_pw"  # passphrase PASSPHRASE (OpenSSH format, bcrypt KDF)
    rsa_pw = "id_rsa_pw"  # RSA 3072, passphrase PASSPHRASE (OpenSSH format)
    rsa_pem = "id_rsa_pem"  # RSA 2048 in the old PEM format, no passphrase
    stranger = "id_stranger"  # ed25519 never authorized

    @classmethod
    def make(cls, folder: Path) -> ClientKeys:
        folder.mkdir(parents=True, exist_ok=True)
        _keygen(folder / cls.ed25519, "ed25519")
        _keygen(folder / cls.ed25519_pw, "ed25519", PASSPHRASE)
        _keygen(folder / cls.rsa_pw, "rsa", PASSPHRASE, "-b", "3072")
        _keygen(folder / cls.rsa_pem, "rsa", "", "-b", "2048", "-m", "PEM")
        _keygen(folder / cls.stranger, "ed25519")
        return cls(folder)

    def authorized(self) -> list[str]:
        return [self.ed25519, self.ed25519_pw, self.rsa_pw, self.rsa_pem]


class Sshd:
    """One private sshd; ``home`` is the gateway home the client's files live in.

    Layout of ``root``: ``server/`` (sshd_config, host key, authorized_keys, sshd.log),
    ``data/`` (``inbound/``, ``outbound/``: what the client sees) and ``home/`` (``keys/`` with
    copies of the client keys and ``known_hosts`` pinning this server's key and port).
    """

    def __init__(self, root: Path, keys: ClientKeys) -> None:
        if not SSHD.exists():
            raise SshdMissing(MISSING)
        self.root = root
        self.server = root / "server"
        self.data = root / "data"
        self.home = root / "home"
        self.inbound = self.data / "inbound"
        self.outbound = self.data / "outbound"
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.port = free_port()
        self.sftp_flags: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None
        for folder in (self.server, self.inbound, self.outbound, self.home / "keys"):
            folder.mkdir(parents=True, exist_ok=True)
        lines = []
        for name in os.listdir(keys.folder):
            shutil.copy2(keys.folder / name, self.home / "keys" / name)
        for name in keys.authorized():
            lines.append((keys.folder / f"{name}.pub").read_text().strip())
        (self.server / "authorized_keys").write_text("\n".join(lines) + "\n")
        self.host_key = self.server / "ssh_host_ed25519_key"
        _keygen(self.host_key, "ed25519")
        self.known_hosts = self.home / "known_hosts"
        self.pin_host_key()

    # -- what the client needs ------------------------------------------------------------
    @property
    def host_key_line(self) -> str:
        return self.host_key.with_suffix(".pub").read_text().strip()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.host_key_line)

    def pin_host_key(self) -> None:
        """Write ``known_hosts`` for the key the server has now (``[127.0.0.1]:PORT``)."""
        kind, blob = self.host_key_line.split()[:2]
        self.known_hosts.write_text(f"[{HOST}]:{self.port} {kind} {blob}\n")

    def config(self, key: str = ClientKeys.ed25519, **overrides: Any) -> SftpConfig:
        """An :class:`SftpConfig` for this server, paths relative to :attr:`home`."""
        values: dict[str, Any] = {
            "host": HOST,
            "port": self.port,
            "username": self.user,
            "private_key": f"keys/{key}",
            "known_hosts": "known_hosts",
            "passphrase_env": PASSPHRASE_ENV if key.endswith("_pw") else None,
            "connect_timeout": 5.0,
            "timeout": 10.0,
            "keepalive_seconds": 0,
        }
        values.update(overrides)
        return SftpConfig(**values)

    # -- life cycle -----------------------------------------------------------------------
    def _write_config(self) -> Path:
        flags = " ".join(["-d", str(self.data), *self.sftp_flags])
        path = self.server / "sshd_config"
        path.write_text(
            f"""\
Port {self.port}
ListenAddress {HOST}
AddressFamily inet
HostKey {self.host_key}
PidFile none
AuthorizedKeysFile {self.server / "authorized_keys"}
AllowUsers {self.user}
PermitRootLogin prohibit-password
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthenticationMethods publickey
Subsystem sftp internal-sftp {flags}
ForceCommand internal-sftp {flags}
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
PrintMotd no
UseDNS no
MaxStartups 100:30:200
MaxSessions 20
LogLevel VERBOSE
"""
        )
        return path

    def start(self) -> None:
        """Start on :attr:`port` and return once sshd says it is listening."""
        if self.process is not None:
            raise RuntimeError("sshd already running")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
        config = self._write_config()
        log = self.server / "sshd.log"
        mark = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with log.open("rb") as f:
                f.seek(mark)
                text = f.read().decode(errors="replace")
            if "Server listening on" in text:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"sshd did not start on {HOST}:{self.port}:\n{text}")

    def pids(self) -> list[int]:
        """The listener and every descendant (the per-connection processes), listener first."""
        if self.process is None or self.process.poll() is not None:
            return []
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def sessions(self) -> list[int]:
        """The per-connection processes only."""
        return self.pids()[1:]

    def _signal(self, pids: list[int], sig: signal.Signals) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def kill_sessions(self) -> int:
        """Cut every open connection (SIGKILL its processes); the listener stays. Returns how many."""
        pids = self.sessions()
        self._signal(pids, signal.SIGKILL)
        return len(pids)

    def pause(self) -> None:
        """Freeze the listener and every session (SIGSTOP): connects hang, sessions stall."""
        self._signal(self.pids(), signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(self.pids(), signal.SIGCONT)

    def stop(self) -> None:
        """Stop the listener and its sessions: terminate, wait, kill; each by pid."""
        if self.process is None:
            return
        pids = self.pids()
        self._signal(pids, signal.SIGCONT)  # a paused server must be able to die
        self._signal(pids, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._signal(pids[1:], signal.SIGKILL)  # sessions live on after the listener (setsid)
        self.process = None

    def restart(self, sftp_flags: list[str] | None = None) -> None:
        """Stop and start again on the same port with the same host key (new flags if given)."""
        self.stop()
        if sftp_flags is not None:
            self.sftp_flags = sftp_flags
        self.start()

    def replace_host_key(self) -> str:
        """A new host key (restart); ``known_hosts`` keeps the old one. Returns the new fingerprint."""
        _keygen(self.host_key, "ed25519")
        if self.process is not None:
            self.restart()
        return self.fingerprint

    def log(self) -> str:
        return (self.server / "sshd.log").read_text(errors="replace")

    def sftp_command(self, batch: Path, key: str = ClientKeys.ed25519) -> list[str]:
        """OpenSSH's ``sftp`` client with this server's key and known_hosts (for ``bench/sftp.py``)."""
        return [
            "sftp",
            "-q",
            "-b",
            str(batch),
            "-i",
            str(self.home / "keys" / key),
            "-P",
            str(self.port),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            f"{self.user}@{HOST}",
        ]


def free_port() -> int:
    """A port nobody listens on now (the kernel's pick; sshd binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(root: Path, keys: ClientKeys) -> Iterator[Sshd]:
    """A started :class:`Sshd` under ``root``, stopped (by pid) afterwards."""
    server = Sshd(root, keys)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory) -> ClientKeys:
    try:
        return ClientKeys.make(tmp_path_factory.mktemp("ssh-keys"))
    except SshdMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def sshd(tmp_path: Path, ssh_keys: ClientKeys) -> Iterator[Sshd]:
    """A fresh private sshd for one test (about 20 ms to start): tests may stop, pause or
    re-key it without disturbing the next one."""
    try:
        server = Sshd(tmp_path / "sshd", ssh_keys)
    except SshdMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# A partner of a home that :class:`Sshd` serves (``.format(port=, user=, key=)``; the key is
# one of the home's ``keys/``): the demo's clearinghouse, batches of at most 40 claims.
SFTP_PARTNER = """
name = "clearinghouse"
transport = "sftp"
payers = ["*"]

[interchange]
sender_id = "PRACTICE01"
receiver_id = "ACMECH"

[submitter]
name = "Main Street Clinic"
receiver_name = "ACME CLEARINGHOUSE"

[sftp]
host = "127.0.0.1"
port = {port}
username = "{user}"
private_key = "keys/{key}"
known_hosts = "known_hosts"
upload_dir = "inbound"
download_dir = "outbound"
connect_timeout = 5
timeout = 10

[schedule]
poll_seconds = 1

[batch]
max_claims = 40
max_wait_seconds = 0
"""
