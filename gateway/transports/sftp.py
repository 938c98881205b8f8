"""The SFTP transport (contract section 4, ``sftp``): paramiko, the partner's host key pinned.

Built on what a clearinghouse's OpenSSH does to a client (``../shared/docs/sftp-notes.md``), and
tested against a real sshd (``tests/transports/test_sftp.py``):

- the host key is checked against the home's ``known_hosts`` only: an unknown or changed key is
  refused, naming the fingerprint offered; nothing is ever learned or written;
- every step has a deadline: ``connect_timeout`` for TCP, banner, key exchange and login,
  ``timeout`` for every SFTP request; a frozen server costs a timeout, not a hung daemon;
- a fault of the connection (reset, timeout, EOF) is transient and drops the connection, so the
  next call reconnects; what the server refuses (login, host key, permissions, a missing folder)
  is permanent;
- uploads are written as ``.NAME.part``, size-checked and renamed; downloads land in a 0600
  temporary file, are size-checked and renamed; remote names must pass ``safe_name``.

Speed (``bench/sftp.py``): reads and writes as large as the server's ``limits@openssh.com``
allows (255 KiB on OpenSSH instead of paramiko's 32 KiB), kept in flight by our own pipeline,
whose every answer is checked (paramiko's pipelined writes drop the errors of the last ones, and
its prefetch thread can outlive a dropped connection).
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import logging
import os
import socket
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import paramiko  # type: ignore[import-untyped, unused-ignore]
import structlog

from gateway.config import SftpConfig
from gateway.transports.base import (
    PROBE_STEPS,
    PROBE_STEPS_DIRECT,
    PROCESSED,
    ClosesOnExit,
    RemoteFile,
    TransportCheck,
    probe_failed,
    probe_name,
    safe_name,
)
from gateway.transports.errors import (
    PermanentTransportError,
    TransientTransportError,
    TransportError,
)

log = structlog.get_logger("gateway.transport")
T = TypeVar("T")
# paramiko logs every failure with a traceback from its own thread; we report them ourselves.
# Its records go to this logger, silent unless the application sets up logging for it.
PARAMIKO_LOG = "gateway.transport.paramiko"
logging.getLogger(PARAMIKO_LOG).addHandler(logging.NullHandler())

# paramiko's SFTP internals (request numbers, raw packets) are untyped and not in its stubs:
# everything private goes through this one name.
_P: Any = paramiko.sftp

WINDOW_SIZE = 8 << 20  # what the server may send before we acknowledge: high-latency links
MAX_PACKET_SIZE = 256 << 10  # OpenSSH's ceiling; fewer, larger packets cost less Python
SMALL_REQUEST = 32 << 10  # the read/write size every SFTP server accepts
LARGE_REQUEST = 256 << 10  # our ceiling, whatever a server's limits@openssh.com says
PIPELINE_BYTES = 8 << 20  # requests kept in flight, in bytes (at most 64 requests)
FAST_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")  # no separate MAC pass


def fingerprint(key: Any) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


class _Client(paramiko.SFTPClient):  # type: ignore[misc, unused-ignore]
    """paramiko's SFTP client, keeping the extensions the server announces (paramiko drops
    them): posix-rename and limits are used only where offered."""

    extensions: dict[str, bytes]

    def _send_version(self) -> int:
        raw: Any = self
        self.extensions = {}
        hello = paramiko.Message()
        hello.add_int(3)
        raw._send_packet(_P.CMD_INIT, hello)
        kind, data = raw._read_packet()
        if kind != _P.CMD_VERSION:
            raise paramiko.SFTPError("Incompatible sftp protocol")
        reply = paramiko.Message(data)
        version = int(reply.get_int())
        while name := reply.get_string():
            self.extensions[name.decode("utf-8", "replace")] = reply.get_string()
        return version


class _Pipeline:
    """Requests in flight on one file handle, answers taken in order, every one checked.

    paramiko hands each answer to the object registered with the request (its
    ``_async_response``); we keep them until their turn comes.
    """

    def __init__(self, sftp: _Client, depth: int) -> None:
        self.raw: Any = sftp
        self.depth = depth
        self.answers: dict[int, tuple[int, Any]] = {}
        self.queue: deque[tuple[int, int, int]] = deque()  # request number, offset, length

    def _async_response(self, kind: int, msg: Any, num: int) -> None:
        self.answers[num] = (kind, msg)

    def send(self, offset: int, length: int, *args: Any) -> None:
        num = self.raw._async_request(self, *args)
        self.queue.append((num, offset, length))

    def send_first(self, offset: int, length: int, *args: Any) -> None:
        """A request whose answer is wanted before those already in flight."""
        num = self.raw._async_request(self, *args)
        self.queue.appendleft((num, offset, length))

    def full(self) -> bool:
        return len(self.queue) >= self.depth

    def next(self) -> tuple[int, Any, int, int]:
        """The oldest request's answer: (kind, message, offset, length)."""
        num, offset, length = self.queue.popleft()
        while num not in self.answers:
            self.raw._read_response()
        kind, msg = self.answers.pop(num)
        return kind, msg, offset, length

    def status(self, kind: int, msg: Any) -> None:
        """Raise what a status answer says (IOError with errno ENOENT/EACCES, or EOFError)."""
        if kind != _P.CMD_STATUS:
            raise paramiko.SFTPError(f"expected a status, got SFTP message {kind}")
        self.raw._convert_status(msg)


@dataclass(frozen=True)
class _Seen:
    size: int
    mtime: float
    since: float  # monotonic time this size and mtime were first seen


class SftpTransport(ClosesOnExit):
    """Upload into ``upload_dir``, download from ``download_dir`` on the partner's server.

    Connects on first use and again after a dropped connection; one connection serves a whole
    poll cycle. ``settle_seconds``: a file modified that recently, or whose size changed since
    this transport's previous listing, is still being written and is not listed yet; one whose
    mtime is in the future (a server clock ahead of ours) is listed once we have seen it
    unchanged for that long.
    """

    def __init__(self, config: SftpConfig, home: Path, *, settle_seconds: float = 2.0) -> None:
        self.config = config
        self.home = home
        self.settle_seconds = settle_seconds
        self.private_key = home / config.private_key
        self.known_hosts = home / config.known_hosts
        self.where = f"{config.host}:{config.port}"
        self._key: Any = None
        self._transport: Any = None
        self._sftp: _Client | None = None
        self._host_key = ""  # "ssh-ed25519 SHA256:..." of the connected server
        self._read_size = SMALL_REQUEST
        self._write_size = SMALL_REQUEST
        self._seen: dict[str, _Seen] = {}

    # -- connection -----------------------------------------------------------------------
    def _load_key(self) -> Any:
        """The private key, any type paramiko knows, decrypted with ``$passphrase_env``."""
        if self._key is not None:
            return self._key
        env = self.config.passphrase_env
        passphrase: bytes | None = None
        if env:
            value = os.environ.get(env)
            if value is None:
                raise PermanentTransportError(
                    f"{self.where}: the environment variable {env} (passphrase of "
                    f"{self.private_key}) is not set"
                )
            passphrase = value.encode()
        pkey: Any = paramiko.PKey  # from_path wants bytes (cryptography), its stub says str
        try:
            try:
                key = pkey.from_path(self.private_key, passphrase)
            except TypeError as exc:
                if passphrase is None:  # "Key is password-protected, but password was not ..."
                    raise PermanentTransportError(
                        f"{self.where}: the private key {self.private_key} needs a passphrase: "
                        "name the environment variable that holds it in passphrase_env"
                    ) from exc
                key = pkey.from_path(self.private_key, None)  # not encrypted after all
        except OSError as exc:
            raise PermanentTransportError(
                f"{self.where}: cannot read the private key {self.private_key}: {exc}"
            ) from exc
        except (ValueError, paramiko.SSHException) as exc:
            hint = f" or the passphrase in {env} is wrong" if passphrase is not None else ""
            raise PermanentTransportError(
                f"{self.where}: {self.private_key} is not a private key paramiko can read{hint}"
            ) from exc
        self._key = key
        return key

    def _pinned(self) -> dict[str, Any]:
        """The keys ``known_hosts`` holds for this host and port, by type (may be empty)."""
        try:
            keys = paramiko.HostKeys(str(self.known_hosts))
        except OSError as exc:
            raise PermanentTransportError(
                f"{self.where}: cannot read the known_hosts file {self.known_hosts}: {exc}"
            ) from exc
        port = self.config.port
        host = self.config.host if port == 22 else f"[{self.config.host}]:{port}"
        found = keys.lookup(host)
        return dict(found) if found else {}

    def _connect(self) -> _Client:
        if self._sftp is not None and self._transport is not None:
            if self._transport.is_active() and not self._sftp.sock.closed:
                return self._sftp
            self._drop("the connection was closed")
        key = self._load_key()
        pinned = self._pinned()
        cfg = self.config
        started = time.monotonic()
        try:
            sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.connect_timeout)
        except OSError as exc:
            raise TransientTransportError(f"cannot reach {self.where}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(
            sock, default_window_size=WINDOW_SIZE, default_max_packet_size=MAX_PACKET_SIZE
        )
        self._transport = transport
        # Some of paramiko's waits have no deadline (the sftp subsystem request waits forever):
        # past two connect_timeouts the transport is closed under them, which ends every wait.
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            transport.close()

        watchdog = threading.Timer(2 * cfg.connect_timeout + 1, expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            sftp = self._handshake(transport, key, pinned)
        except TransportError:
            self._drop()
            raise
        except Exception as exc:
            self._drop()
            if expired.is_set():
                raise TransientTransportError(
                    f"connecting to {self.where}: no session after "
                    f"{2 * cfg.connect_timeout + 1:g} s"
                ) from exc
            raise self._map(exc, f"connecting to {self.where}") from exc
        finally:
            watchdog.cancel()
        self._sftp = sftp
        log.info(
            "sftp_connected", host=cfg.host, port=cfg.port, host_key=self._host_key,
            server=transport.remote_version, cipher=getattr(transport, "remote_cipher", ""),
            seconds=round(time.monotonic() - started, 3),
        )  # fmt: skip
        return sftp

    def _handshake(self, transport: Any, key: Any, pinned: dict[str, Any]) -> _Client:
        """Key exchange, host key check, login, the sftp channel: each with its deadline."""
        cfg = self.config
        transport.set_log_channel(PARAMIKO_LOG)
        transport.banner_timeout = cfg.connect_timeout
        transport.handshake_timeout = cfg.connect_timeout
        transport.auth_timeout = cfg.connect_timeout
        self._prefer(transport, pinned)
        transport.start_client(timeout=cfg.connect_timeout + 1)  # banner_timeout speaks first
        try:  # start_client returns quietly when its time is up
            offered = transport.get_remote_server_key()
        except paramiko.SSHException as exc:
            raise TransientTransportError(
                f"{self.where}: no SSH handshake within {cfg.connect_timeout:g} s"
            ) from exc
        self._check_host_key(offered, pinned)
        try:
            transport.auth_publickey(cfg.username, key)
        except paramiko.AuthenticationException as exc:
            if "timeout" in str(exc).lower():
                raise TransientTransportError(f"{self.where}: login timed out") from exc
            raise PermanentTransportError(
                f"{self.where} refused the key {self.private_key} for user {cfg.username!r}: {exc}"
            ) from exc
        if not transport.is_authenticated():
            raise PermanentTransportError(
                f"{self.where} wants more than the key {self.private_key} for user {cfg.username!r}"
            )
        channel = transport.open_session(
            window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET_SIZE, timeout=cfg.connect_timeout
        )
        channel.settimeout(cfg.timeout)  # every SFTP request from here on
        channel.invoke_subsystem("sftp")
        sftp = _Client(channel)
        if cfg.keepalive_seconds:
            transport.set_keepalive(cfg.keepalive_seconds)
        self._read_size, self._write_size = self._limits(sftp)
        return sftp

    @staticmethod
    def _prefer(transport: Any, pinned: dict[str, Any]) -> None:
        """Ask for a host key of the pinned type (the server may hold several) and for AES-GCM."""
        options = transport.get_security_options()
        wanted: list[str] = []
        for kind in pinned:
            wanted += ["rsa-sha2-512", "rsa-sha2-256", kind] if kind == "ssh-rsa" else [kind]
        offered = list(options.key_types)
        first = [k for k in wanted if k in offered]
        options.key_types = first + [k for k in offered if k not in first]
        ciphers = list(options.ciphers)
        fast = [c for c in FAST_CIPHERS if c in ciphers]
        options.ciphers = fast + [c for c in ciphers if c not in fast]

    def _check_host_key(self, offered: Any, pinned: dict[str, Any]) -> None:
        seen = f"{offered.get_name()} {fingerprint(offered)}"
        self._host_key = seen
        if any(key.asbytes() == offered.asbytes() for key in pinned.values()):
            return
        port = self.config.port
        host = self.config.host if port == 22 else f"[{self.config.host}]:{port}"
        line = f"{host} {offered.get_name()} {offered.get_base64()}"
        if not pinned:
            raise PermanentTransportError(
                f"{self.where} is not in the known_hosts file {self.known_hosts}: it offered "
                f"the host key {seen}. Check that fingerprint with the partner (by phone or "
                "another channel you trust), then add this line to that file: "
                f"{line} (the gateway never learns host keys on its own)"
            )
        known = ", ".join(f"{k.get_name()} {fingerprint(k)}" for k in pinned.values())
        raise PermanentTransportError(
            f"the host key of {self.where} has CHANGED: it offered {seen}, but the known_hosts "
            f"file {self.known_hosts} pins {known}. Someone may be in the middle. Only if the "
            "partner confirms the new fingerprint out of band (by phone or another channel you "
            f"trust), replace the line of {host} in that file with: {line}"
        )

    def _limits(self, sftp: _Client) -> tuple[int, int]:
        """Read and write sizes: what the server says it takes, else the safe 32 KiB."""
        if "limits@openssh.com" not in sftp.extensions:
            return SMALL_REQUEST, SMALL_REQUEST
        raw: Any = sftp
        try:
            kind, msg = raw._request(_P.CMD_EXTENDED, "limits@openssh.com")
        except (OSError, paramiko.SFTPError):  # announced, then refused: the safe sizes
            if not sftp.sock.closed:
                return SMALL_REQUEST, SMALL_REQUEST
            raise
        if kind != _P.CMD_EXTENDED_REPLY:
            return SMALL_REQUEST, SMALL_REQUEST
        msg.get_int64()  # packet length
        read, write = msg.get_int64(), msg.get_int64()

        def pick(limit: int) -> int:
            return min(limit, LARGE_REQUEST) if limit >= SMALL_REQUEST else SMALL_REQUEST

        return pick(read), pick(write)

    def _drop(self, why: str | None = None) -> None:
        """Forget the connection (the next call connects again)."""
        sftp, transport = self._sftp, self._transport
        self._sftp = self._transport = None
        if why is not None and transport is not None:
            log.warning("sftp_connection_dropped", host=self.config.host,
                        port=self.config.port, why=why)  # fmt: skip
        for thing in (sftp, transport):
            if thing is not None:
                with contextlib.suppress(Exception):  # a dead connection fails to close any way
                    thing.close()

    # -- errors ---------------------------------------------------------------------------
    def _map(self, exc: BaseException, what: str) -> TransportError:
        """One library or socket failure as a transport error (the original kept as cause)."""
        if isinstance(exc, TransportError):
            return exc
        text = str(exc) or type(exc).__name__
        if isinstance(exc, (PermissionError, FileNotFoundError, NotADirectoryError)):
            return PermanentTransportError(f"{what}: {text}")
        if isinstance(exc, paramiko.BadHostKeyException):
            return PermanentTransportError(f"{what}: {text}")
        if isinstance(exc, paramiko.ssh_exception.IncompatiblePeer):
            return PermanentTransportError(f"{what}: no algorithm in common: {text}")
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return TransientTransportError(
                f"{what}: timed out (no answer within {self.config.timeout:g} s)"
            )
        if isinstance(exc, (EOFError, ConnectionError, paramiko.SSHException)) or (
            isinstance(exc, OSError) and _is_connection(exc)
        ):
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return TransientTransportError(f"{what}: the connection failed ({detail})")
        return TransientTransportError(f"{what}: {text}")

    def _run(self, what: str, op: Callable[[_Client], T]) -> T:
        """``op`` on a live connection; failures mapped, the connection dropped unless the
        server itself answered (then it is still good)."""
        sftp = self._connect()
        try:
            return op(sftp)
        except TransportError:
            raise  # ours, raised knowingly (those with requests in flight dropped it already)
        except Exception as exc:
            answered = isinstance(exc, OSError) and self._alive() and not _is_connection(exc)
            if not answered:
                self._drop(f"{what}: {exc or type(exc).__name__}")
            raise self._map(exc, what) from exc

    def _alive(self) -> bool:
        t, s = self._transport, self._sftp
        return bool(t is not None and s is not None and t.is_active() and not s.sock.closed)

    def _remote(self, folder: str, name: str) -> str:
        return f"{folder.rstrip('/')}/{name}" if folder else name

    # -- upload ---------------------------------------------------------------------------
    def put(self, local: Path, name: str) -> None:
        safe_name(name)
        try:
            size = local.stat().st_size
        except OSError as exc:
            raise PermanentTransportError(f"upload of {name}: cannot read {local}: {exc}") from exc
        folder = self.config.upload_dir
        final = self._remote(folder, name)
        direct = self.config.upload_mode == "direct"
        target = final if direct else self._remote(folder, f".{name}.part")

        def op(sftp: _Client) -> None:
            with local.open("rb") as src:
                sent = self._upload(sftp, src, target)
            remote = sftp.stat(target).st_size
            if sent != size or remote != size:
                _remove_quietly(sftp, target)
                raise TransientTransportError(
                    f"upload of {name} to {self.where}: {remote} bytes arrived of {size} "
                    f"({sent} read here)"
                )
            if not direct:
                try:
                    self._rename(sftp, target, final)
                except PermanentTransportError:
                    _remove_quietly(sftp, target)
                    raise

        self._run(f"upload of {name} to {self.where}:{folder}", op)
        log.info("sftp_uploaded", host=self.config.host, file=name, bytes=size)

    def _upload(self, sftp: _Client, src: IO[bytes], path: str) -> int:
        """Write ``src`` to ``path`` (created or truncated) with pipelined writes; bytes sent."""
        handle = sftp.open(path, "wb")
        chunk = self._write_size
        pipeline = _Pipeline(sftp, max(4, min(64, PIPELINE_BYTES // chunk)))
        offset = 0
        try:
            while data := src.read(chunk):
                if pipeline.full():
                    pipeline.status(*pipeline.next()[:2])
                pipeline.send(offset, len(data), _P.CMD_WRITE, handle.handle, _P.int64(offset),
                              data)  # fmt: skip
                offset += len(data)
            while pipeline.queue:
                pipeline.status(*pipeline.next()[:2])
        except BaseException:
            if pipeline.queue:  # answers still due would meet the next request
                self._drop(f"writing {path} failed with requests in flight")
            raise
        handle.close()
        return offset

    def _rename(self, sftp: _Client, source: str, target: str) -> None:
        """Atomic replace where the server offers it; a plain SFTP rename refuses to overwrite."""
        try:
            if "posix-rename@openssh.com" in sftp.extensions:
                sftp.posix_rename(source, target)
            else:
                sftp.rename(source, target)
        except PermissionError as exc:
            raise PermanentTransportError(
                f"{self.where} refused to rename {source} to {target} ({exc}); if this server "
                'forbids renames, set upload_mode = "direct" for it'
            ) from exc
        except OSError:
            if _exists(sftp, target) and "posix-rename@openssh.com" not in sftp.extensions:
                raise PermanentTransportError(
                    f"{self.where}: {target} is already there and this server cannot replace it"
                ) from None
            raise

    def exists(self, name: str) -> bool:
        path = self._remote(self.config.upload_dir, safe_name(name))
        return self._run(f"looking for {name} on {self.where}", lambda sftp: _exists(sftp, path))

    # -- download -------------------------------------------------------------------------
    def list(self, patterns: tuple[str, ...] = ("*",)) -> list[RemoteFile]:
        folder = self.config.download_dir
        entries = self._run(
            f"listing {self.where}:{folder}", lambda sftp: sftp.listdir_attr(folder or ".")
        )
        now, clock = time.time(), time.monotonic()
        seen: dict[str, _Seen] = {}
        out = []
        for entry in entries:
            name = entry.filename
            if name.startswith(".") or name.endswith((".tmp", ".part")) or not _regular(entry):
                continue
            if name == PROCESSED:  # a plain file where the processed/ folder belongs: not a reply
                continue
            if not any(fnmatch.fnmatch(name, p) for p in patterns):
                continue
            try:
                safe_name(name)
            except PermanentTransportError as exc:
                log.warning("sftp_unsafe_name_skipped", host=self.config.host,
                            folder=folder, file=repr(name), why=str(exc))  # fmt: skip
                continue
            size, mtime = int(entry.st_size or 0), float(entry.st_mtime or 0)
            before = self._seen.get(name)
            same = before is not None and (before.size, before.mtime) == (size, mtime)
            since = before.since if before is not None and same else clock
            seen[name] = _Seen(size, mtime, since)
            if before is not None and before.size != size:
                continue  # grew since the last listing
            # SFTP v3 gives whole seconds: the file may have been written up to 1 s later
            if now - (mtime + 1) < self.settle_seconds and clock - since < self.settle_seconds:
                continue  # written moments ago (the second test spares a server clock ahead)
            out.append(RemoteFile(name, size, mtime))
        self._seen = seen
        return sorted(out, key=lambda f: (f.mtime, f.name))

    def get(self, name: str, folder: Path) -> Path:
        safe_name(name)
        target = folder / name
        if target.resolve().parent != folder.resolve():  # belt and braces after safe_name
            raise PermanentTransportError(f"download of {name} would leave {folder}")
        remote = self._remote(self.config.download_dir, name)
        tmp = folder / f".{name}.part"
        here = f"download of {name} into {folder}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise _local_error(exc, here) from exc
        try:
            with os.fdopen(fd, "wb") as out:

                def write(data: bytes) -> None:
                    try:
                        out.write(data)
                    except OSError as exc:
                        raise _local_error(exc, here) from exc

                size, got = self._run(
                    f"download of {name} from {self.where}",
                    lambda sftp: self._download(sftp, remote, write),
                )
                out.flush()
                os.fsync(out.fileno())
                written = os.fstat(out.fileno()).st_size
            if got != size or written != size:
                raise TransientTransportError(
                    f"download of {name} from {self.where}: {written} bytes arrived, the server "
                    f"listed {size}"
                )
            os.replace(tmp, target)
        except OSError as exc:  # the server's are TransportErrors by now: this is our disk
            tmp.unlink(missing_ok=True)
            raise _local_error(exc, here) from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        log.info("sftp_downloaded", host=self.config.host, file=name, bytes=size)
        return target

    def _download(
        self, sftp: _Client, path: str, write: Callable[[bytes], None]
    ) -> tuple[int, int]:
        """Read ``path`` with pipelined reads into ``write``: (size listed, bytes written)."""
        before = sftp.stat(path)
        size = int(before.st_size or 0)
        handle = sftp.open(path, "rb")
        chunk = self._read_size
        pipeline = _Pipeline(sftp, max(4, min(64, PIPELINE_BYTES // chunk)))
        asked = written = 0
        try:
            while written < size:
                while asked < size and not pipeline.full():
                    length = min(chunk, size - asked)
                    pipeline.send(asked, length, _P.CMD_READ, handle.handle, _P.int64(asked),
                                  length)  # fmt: skip
                    asked += length
                kind, msg, offset, length = pipeline.next()
                if kind != _P.CMD_DATA:
                    try:
                        pipeline.status(kind, msg)
                    except EOFError:
                        raise TransientTransportError(
                            f"{self.where}: {path} ended before its {size} bytes: rewritten "
                            "while we read it?"
                        ) from None
                    raise paramiko.SFTPError(f"expected data, got SFTP message {kind}")
                data = msg.get_string()
                if offset != written or not data:
                    raise paramiko.SFTPError(f"answers out of order at byte {offset} of {path}")
                write(data)
                written += len(data)
                if len(data) < length:  # a short read: the rest is asked for first
                    pipeline.send_first(offset + len(data), length - len(data), _P.CMD_READ,
                                        handle.handle, _P.int64(offset + len(data)),
                                        length - len(data))  # fmt: skip
        except BaseException:
            if pipeline.queue:
                self._drop(f"reading {path} failed with requests in flight")
            raise
        handle.close()
        after = sftp.stat(path)
        if (after.st_size, after.st_mtime) != (before.st_size, before.st_mtime):
            raise TransientTransportError(
                f"{self.where}: {path} changed while we read it ({size} bytes, now "
                f"{after.st_size}): fetched again on the next poll"
            )
        return size, written

    def done(self, name: str, how: str) -> None:
        folder = self.config.download_dir
        source = self._remote(folder, safe_name(name))
        if how == "leave":
            return
        if how not in ("move", "delete"):
            raise PermanentTransportError(f"unknown after-download action {how!r}")

        def op(sftp: _Client) -> None:
            if how == "delete":
                sftp.remove(source)
                return
            processed = self._remote(folder, PROCESSED)
            if not _exists(sftp, processed):
                try:
                    sftp.mkdir(processed, 0o700)
                except OSError:
                    if not _exists(sftp, processed):  # made meanwhile by someone else is fine
                        raise
            self._rename(sftp, source, self._remote(processed, name))

        self._run(f"{how} of {name} on {self.where}:{folder}", op)

    # -- the rest of the contract ---------------------------------------------------------
    def check(self) -> TransportCheck:
        up, down = self.config.upload_dir, self.config.download_dir

        def count(sftp: _Client, folder: str) -> int:
            return sum(1 for e in sftp.listdir_attr(folder or ".") if _regular(e))

        counts = self._run(
            f"listing the folders on {self.where}", lambda s: (count(s, up), count(s, down))
        )
        self._run(f"probing the upload folder on {self.where}", self._probe)
        version = self._transport.remote_version if self._transport is not None else ""
        detail = (
            f"{self.where} host key {self._host_key} (pinned in {self.known_hosts}); {version}; "
            + (PROBE_STEPS if self.config.upload_mode == "rename" else PROBE_STEPS_DIRECT)
        )  # fmt: skip
        return TransportCheck(up, counts[0], down, counts[1], detail)

    def _probe(self, sftp: _Client) -> None:
        """What ``put`` does, with a probe file: write, rename (unless ``upload_mode`` is
        direct), remove; raises naming the step the server refused."""
        folder = self.config.upload_dir
        final = self._remote(folder, probe_name())
        first = final if self.config.upload_mode == "direct" else f"{final}.part"
        step = "write"
        try:
            with sftp.open(first, "wb") as f:
                f.write(b"gateway partners check\n")
            if first != final:
                step = "rename"
                if "posix-rename@openssh.com" in sftp.extensions:
                    sftp.posix_rename(first, final)
                else:
                    sftp.rename(first, final)
            step = "remove"
            sftp.remove(final)
        except OSError as exc:
            if _is_connection(exc):
                raise  # the connection failed, not the folder: _run says so
            for left in {first, final}:
                _remove_quietly(sftp, left)
            raise probe_failed(f"{folder or '.'} on {self.where}", step, exc) from exc

    def close(self) -> None:
        self._drop()


def _regular(entry: Any) -> bool:
    """A plain file (not a folder, link or device); servers that omit modes get ``ls -l``'s say."""
    if entry.st_mode is not None:
        return stat.S_ISREG(entry.st_mode)
    return str(getattr(entry, "longname", "") or "").startswith("-")


def _exists(sftp: _Client, path: str) -> bool:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        return False
    return True


def _remove_quietly(sftp: _Client, path: str) -> None:
    with contextlib.suppress(OSError):
        sftp.remove(path)


def _local_error(exc: OSError, what: str) -> TransportError:
    """Our own disk's failure, sorted as the directory transport sorts them."""
    if isinstance(exc, (PermissionError, IsADirectoryError, NotADirectoryError, FileNotFoundError)):
        return PermanentTransportError(f"{what}: {exc}")
    return TransientTransportError(f"{what}: {exc}")


def _is_connection(exc: OSError) -> bool:
    """A socket-level failure (reset, closed, timed out), not an answer of the server."""
    return isinstance(exc, (TimeoutError, ConnectionError)) or str(exc) == "Socket is closed"
