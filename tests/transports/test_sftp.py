"""The SFTP transport against a real OpenSSH sshd (tests/sshd.py): no mock of the SFTP side.

Each test gets its own server on 127.0.0.1, so stopping, pausing, cutting connections or
re-keying it disturbs nothing else.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gateway.config import RetryConfig, SftpConfig
from gateway.transports.base import Transport
from gateway.transports.errors import PermanentTransportError, TransientTransportError
from gateway.transports.retry import call_with_retries
from gateway.transports.sftp import SftpTransport
from tests.sshd import PASSPHRASE, PASSPHRASE_ENV, ClientKeys, Sshd

QUICK_RETRY = RetryConfig(attempts=5, initial_seconds=0.01, max_seconds=0.01)
MIB = 1 << 20


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)


@pytest.fixture
def transport(sshd: Sshd) -> Iterator[SftpTransport]:
    with SftpTransport(sshd.config(), sshd.home, settle_seconds=0.5) as t:
        yield t


def _old(path: Path, age: float = 60) -> None:
    past = time.time() - age
    os.utime(path, (past, past), follow_symlinks=False)


def _random_file(path: Path, size: int) -> str:
    """``size`` random bytes at ``path``; returns their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            block = os.urandom(min(left, 4 * MIB))
            digest.update(block)
            f.write(block)
            left -= len(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(4 * MIB):
            digest.update(block)
    return digest.hexdigest()


def _when(condition: Callable[[], bool], then: Callable[[], object]) -> threading.Thread:
    """Run ``then`` from another thread as soon as ``condition`` holds (10 s at most)."""

    def watch() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if condition():
                then()
                return
            time.sleep(0.001)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _refusal(sshd: Sshd, config: SftpConfig) -> str:
    """The PermanentTransportError a first listing with ``config`` raises, as text."""
    with SftpTransport(config, sshd.home) as t, pytest.raises(PermanentTransportError) as caught:
        t.list()
    return str(caught.value)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


# -- the normal day -------------------------------------------------------------------------
def test_round_trip(sshd: Sshd, transport: SftpTransport, tmp_path: Path) -> None:
    t: Transport = transport
    local = tmp_path / "837P-000000101.x12"
    local.write_bytes(b"ISA" + os.urandom(3 * MIB))
    (sshd.inbound / f".{local.name}.part").write_bytes(b"left by a killed upload" * 1000)
    assert not t.exists(local.name)
    t.put(local, local.name)
    assert t.exists(local.name)
    assert (sshd.inbound / local.name).read_bytes() == local.read_bytes()
    assert sorted(p.name for p in sshd.inbound.iterdir()) == [local.name]  # the .part is gone

    for name in ("a.999", "b.835", "c.835", "d.277", ".hidden.835", "e.835.part", "f.835.tmp"):
        (sshd.outbound / name).write_text(f"reply {name}")
        _old(sshd.outbound / name)
    assert [f.name for f in t.list(("*.835", "*.999"))] == ["a.999", "b.835", "c.835"]
    listed = t.list(("*.835",))
    assert [(f.name, f.size) for f in listed] == [("b.835", 11), ("c.835", 11)]

    inbound = tmp_path / "spool-in"
    inbound.mkdir(mode=0o700)
    got = t.get("b.835", inbound)
    assert got == inbound / "b.835" and got.read_text() == "reply b.835"
    assert oct(got.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in inbound.iterdir()) == ["b.835"]  # no temporary left

    t.done("b.835", "move")
    assert (sshd.outbound / "processed" / "b.835").exists()
    assert not (sshd.outbound / "b.835").exists()
    t.get("c.835", inbound)
    t.done("c.835", "move")  # processed/ exists now
    assert sorted(p.name for p in (sshd.outbound / "processed").iterdir()) == ["b.835", "c.835"]
    t.done("a.999", "delete")
    assert not (sshd.outbound / "a.999").exists()
    t.done("d.277", "leave")
    assert (sshd.outbound / "d.277").exists()
    assert [f.name for f in t.list()] == ["d.277"]  # processed/ is a folder: not listed
    with pytest.raises(PermanentTransportError, match="unknown after-download action"):
        t.done("d.277", "shred")


def test_check_names_the_pinned_fingerprint(sshd: Sshd, transport: SftpTransport) -> None:
    (sshd.outbound / "r.835").write_text("x")
    (sshd.outbound / "sub").mkdir()
    check = transport.check()
    assert (check.upload_dir, check.upload_files) == ("inbound", 0)
    assert (check.download_dir, check.download_files) == ("outbound", 1)
    assert sshd.fingerprint in check.detail and "OpenSSH" in check.detail
    assert "wrote, renamed and removed a probe file" in check.detail
    assert list(sshd.inbound.iterdir()) == []  # the probe is gone


@pytest.mark.parametrize(
    ("flags", "step"),
    [(["-R"], "write"), (["-P", "rename,posix-rename"], "rename"), (["-P", "remove"], "remove")],
)
def test_check_does_what_an_upload_does_and_names_the_step_that_fails(
    sshd: Sshd, flags: list[str], step: str
) -> None:
    """Listing works, uploads do not: the check says so (it said "ok" before)."""
    sshd.restart(sftp_flags=flags)
    with SftpTransport(sshd.config(), sshd.home) as t, pytest.raises(PermanentTransportError) as e:
        t.check()
    message = str(e.value)
    assert f"refused to {step} a probe file" in message and "inbound" in message
    assert "uploads would fail the same way" in message
    if step != "remove":  # a server that forbids removing keeps the probe: it is a dot name
        assert not [p for p in sshd.inbound.iterdir()]


def test_check_of_a_direct_upload_server_skips_the_rename(sshd: Sshd) -> None:
    sshd.restart(sftp_flags=["-P", "rename,posix-rename"])
    with SftpTransport(sshd.config(upload_mode="direct"), sshd.home) as t:
        check = t.check()
    assert "wrote and removed a probe file" in check.detail


def test_a_missing_folder_is_permanent(sshd: Sshd, tmp_path: Path) -> None:
    with SftpTransport(sshd.config(download_dir="nowhere"), sshd.home) as t:
        with pytest.raises(PermanentTransportError, match="nowhere"):
            t.list()
        inbound = tmp_path / "in"
        inbound.mkdir()
        with pytest.raises(PermanentTransportError):
            t.get("gone.835", inbound)
        assert list(inbound.iterdir()) == []


# -- keys -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key", [ClientKeys.ed25519, ClientKeys.ed25519_pw, ClientKeys.rsa_pw, ClientKeys.rsa_pem]
)
def test_keys_of_each_type(sshd: Sshd, key: str, passphrase: None) -> None:
    with capture_logs() as logs, SftpTransport(sshd.config(key=key), sshd.home) as t:
        assert t.list() == []
    assert any(e["event"] == "sftp_connected" for e in logs)
    assert PASSPHRASE not in repr(logs)  # never logged


def test_a_protected_key_without_its_passphrase(
    sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    text = _refusal(sshd, sshd.config(key=ClientKeys.rsa_pw))
    assert f"environment variable {PASSPHRASE_ENV}" in text and "is not set" in text
    text = _refusal(sshd, sshd.config(key=ClientKeys.rsa_pw, passphrase_env=None))
    assert "needs a passphrase" in text
    monkeypatch.setenv(PASSPHRASE_ENV, "not the passphrase")
    text = _refusal(sshd, sshd.config(key=ClientKeys.ed25519_pw))
    assert f"the passphrase in {PASSPHRASE_ENV} is wrong" in text
    assert "not the passphrase" not in text


def test_a_key_the_server_does_not_know(sshd: Sshd) -> None:
    assert "refused the key" in _refusal(sshd, sshd.config(key=ClientKeys.stranger))


# -- host keys ------------------------------------------------------------------------------
def test_a_changed_host_key_is_refused(sshd: Sshd) -> None:
    pinned = sshd.known_hosts.read_bytes()
    old = sshd.fingerprint
    new = sshd.replace_host_key()
    message = _refusal(sshd, sshd.config())
    for part in ("CHANGED", f"127.0.0.1:{sshd.port}", new, old, str(sshd.known_hosts)):
        assert part in message
    # the line to pin once the new fingerprint is confirmed out of band: exactly the server's
    kind, blob = sshd.host_key_line.split()[:2]
    assert f"[127.0.0.1]:{sshd.port} {kind} {blob}" in message
    assert "out of band" in message
    assert sshd.known_hosts.read_bytes() == pinned  # never learned, never written
    assert "Accepted publickey" not in sshd.log()  # refused before logging in


def test_an_unknown_host_is_refused(sshd: Sshd) -> None:
    line = sshd.host_key_line.split()
    # the same key for port 22 and for another port: neither pins this port
    sshd.known_hosts.write_text(
        f"127.0.0.1 {line[0]} {line[1]}\n[127.0.0.1]:{sshd.port + 1} {line[0]} {line[1]}\n"
    )
    pinned = sshd.known_hosts.read_bytes()
    message = _refusal(sshd, sshd.config())
    assert "not in the known_hosts" in message
    assert sshd.fingerprint in message and f"127.0.0.1:{sshd.port}" in message
    assert f"[127.0.0.1]:{sshd.port} {line[0]} {line[1]}" in message  # the line to add
    assert sshd.known_hosts.read_bytes() == pinned
    sshd.known_hosts.unlink()
    assert "cannot read the known_hosts file" in _refusal(sshd, sshd.config())
    assert not sshd.known_hosts.exists()


# -- faults ---------------------------------------------------------------------------------
def test_server_down_then_back_delivers_once(sshd: Sshd, tmp_path: Path) -> None:
    local = tmp_path / "837P-000000102.x12"
    local.write_bytes(os.urandom(MIB))
    sshd.stop()
    attempts: list[int] = []
    waits: list[float] = []

    def send() -> None:
        attempts.append(1)
        if not t.exists(local.name):
            t.put(local, local.name)

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            sshd.start()

    with SftpTransport(sshd.config(), sshd.home) as t:
        with pytest.raises(TransientTransportError, match="cannot reach"):
            t.list()
        call_with_retries(send, QUICK_RETRY, partner="test", operation="put", sleep=sleep)
        call_with_retries(send, QUICK_RETRY, partner="test", operation="put", sleep=sleep)
    assert len(attempts) == 4  # two refused, one sent, one found it there
    assert sorted(p.name for p in sshd.inbound.iterdir()) == [local.name]
    assert (sshd.inbound / local.name).read_bytes() == local.read_bytes()


def test_a_connection_cut_while_idle_is_replaced(sshd: Sshd, transport: SftpTransport) -> None:
    assert transport.list() == []
    assert sshd.kill_sessions() > 0
    calls: list[int] = []

    def listing() -> object:
        calls.append(1)
        return transport.list()

    assert call_with_retries(listing, QUICK_RETRY, partner="t", operation="list") == []
    assert len(calls) <= 2  # at most one call meets the dead connection


def test_connection_killed_mid_upload(sshd: Sshd, tmp_path: Path) -> None:
    local = tmp_path / "837P-000000103.x12"
    digest = _random_file(local, 96 * MIB)
    part, final = sshd.inbound / f".{local.name}.part", sshd.inbound / local.name
    killed: list[int] = []
    with SftpTransport(sshd.config(), sshd.home) as t:
        assert t.list() == []  # connected: the session process exists
        watcher = _when(lambda: _size(part) > 4 * MIB, lambda: killed.append(sshd.kill_sessions()))
        with pytest.raises(TransientTransportError):
            t.put(local, local.name)
        watcher.join()
        assert killed and killed[0] > 0
        assert not final.exists()  # the partner never sees a partial file under its name
        assert 0 < part.stat().st_size < local.stat().st_size
        call_with_retries(
            lambda: t.put(local, local.name), QUICK_RETRY, partner="test", operation="put",
            sleep=lambda s: None,
        )  # fmt: skip
    assert sorted(p.name for p in sshd.inbound.iterdir()) == [local.name]
    assert _sha256(final) == digest
    local.unlink()
    final.unlink()


def test_connection_killed_mid_download(sshd: Sshd, tmp_path: Path) -> None:
    remote = sshd.outbound / "big.835"
    digest = _random_file(remote, 96 * MIB)
    _old(remote)
    inbound = tmp_path / "in"
    inbound.mkdir()
    with SftpTransport(sshd.config(), sshd.home) as t:
        assert [f.name for f in t.list()] == ["big.835"]
        part = inbound / ".big.835.part"
        watcher = _when(lambda: _size(part) > 4 * MIB, sshd.kill_sessions)
        with pytest.raises(TransientTransportError):
            t.get("big.835", inbound)
        watcher.join()
        assert list(inbound.iterdir()) == []  # neither a partial file nor its temporary
        got = t.get("big.835", inbound)
    assert _sha256(got) == digest
    got.unlink()
    remote.unlink()


def test_a_paused_server_times_out_then_recovers(sshd: Sshd) -> None:
    config = sshd.config(timeout=1.0, connect_timeout=1.0)
    with SftpTransport(config, sshd.home) as t, SftpTransport(config, sshd.home) as fresh:
        assert t.list() == []
        sshd.pause()
        try:
            started = time.monotonic()
            with pytest.raises(TransientTransportError, match="timed out"):
                t.list()  # an open session that stopped answering
            assert time.monotonic() - started < 2.5
            started = time.monotonic()
            with pytest.raises(TransientTransportError):
                fresh.list()  # TCP connects (the kernel answers), the banner never comes
            assert time.monotonic() - started < 2.5
        finally:
            sshd.resume()
        assert t.list() == [] and fresh.list() == []  # both reconnect


def test_a_read_only_upload_folder_is_permanent(sshd: Sshd, tmp_path: Path) -> None:
    sshd.restart(sftp_flags=["-R"])  # the server refuses every write
    local = tmp_path / "837P-000000104.x12"
    local.write_bytes(b"ISA")
    (sshd.outbound / "r.835").write_text("still readable")
    _old(sshd.outbound / "r.835")
    with SftpTransport(sshd.config(), sshd.home) as t:
        with pytest.raises(PermanentTransportError, match=r"upload of 837P-000000104\.x12"):
            t.put(local, local.name)
        assert list(sshd.inbound.iterdir()) == []
        assert [f.name for f in t.list()] == ["r.835"]  # the connection is still good


def test_direct_upload_where_rename_is_forbidden(sshd: Sshd, tmp_path: Path) -> None:
    sshd.restart(sftp_flags=["-P", "rename,posix-rename"])
    local = tmp_path / "837P-000000105.x12"
    local.write_bytes(os.urandom(MIB + 7))
    with SftpTransport(sshd.config(), sshd.home) as t:
        with pytest.raises(PermanentTransportError):
            t.put(local, local.name)
        assert not (sshd.inbound / local.name).exists()
    with SftpTransport(sshd.config(upload_mode="direct"), sshd.home) as t:
        t.put(local, local.name)
        assert t.exists(local.name)
    assert (sshd.inbound / local.name).read_bytes() == local.read_bytes()


# -- what the partner's side holds ----------------------------------------------------------
ODD_NAMES = [
    "with space.835",
    "-rf.835",
    "naïve.835",
    "semi;colon.835",
    "new\nline.835",
    "$(id).835",
]


def test_odd_remote_names_are_skipped_not_fetched(
    sshd: Sshd, transport: SftpTransport, tmp_path: Path
) -> None:
    for name in [*ODD_NAMES, "..evil", "..", "ok.835"]:
        if name != "..":
            (sshd.outbound / name).write_text("x")
            _old(sshd.outbound / name)
    (sshd.outbound / "link.835").symlink_to("/etc/passwd")
    (sshd.outbound / "dir.835").mkdir()
    with capture_logs() as logs:
        assert [f.name for f in transport.list()] == ["ok.835"]
    warned = {e["file"] for e in logs if e["event"] == "sftp_unsafe_name_skipped"}
    assert warned == {repr(n) for n in ODD_NAMES}
    assert all(e["log_level"] == "warning" for e in logs if e["event"].endswith("skipped"))

    inbound = tmp_path / "in"
    inbound.mkdir()
    for name in [
        *ODD_NAMES,
        "..evil",
        "../data/inbound/x",
        "../../home/known_hosts",
        "/etc/passwd",
    ]:
        with pytest.raises(PermanentTransportError, match="refused the remote file name"):
            transport.get(name, inbound)
    assert list(inbound.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "sshd"]


def test_growing_files_are_not_listed(sshd: Sshd, transport: SftpTransport) -> None:
    reply = sshd.outbound / "r.835"
    reply.write_text("ISA*00*")
    assert transport.list() == []  # modified just now
    _old(reply)
    assert [f.name for f in transport.list()] == ["r.835"]
    with reply.open("a") as f:
        f.write("more")
    _old(reply)  # an old mtime, but the size changed since the last listing
    assert transport.list() == []
    assert [f.size for f in transport.list()] == [11]  # unchanged since: complete

    future = sshd.outbound / "ahead.835"
    future.write_text("a server clock ahead of ours")
    stamp = time.time() + 3600
    os.utime(future, (stamp, stamp))
    assert [f.name for f in transport.list()] == ["r.835"]
    time.sleep(0.6)  # settle_seconds of ours without a change
    assert [f.name for f in transport.list()] == ["r.835", "ahead.835"]


def test_a_200_mib_reply_downloads_intact(
    sshd: Sshd, transport: SftpTransport, tmp_path: Path
) -> None:
    remote = sshd.outbound / "big.835"
    digest = _random_file(remote, 200 * MIB)
    _old(remote)
    inbound = tmp_path / "in"
    inbound.mkdir()
    try:
        assert [(f.name, f.size) for f in transport.list()] == [("big.835", 200 * MIB)]
        got = transport.get("big.835", inbound)
        assert _sha256(got) == digest
    finally:
        remote.unlink()
        for path in inbound.iterdir():
            path.unlink()
