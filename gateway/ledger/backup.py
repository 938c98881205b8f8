"""A copy of the ledger taken while the daemon runs: ``gateway backup FILE``.

SQLite: SQLite's online backup API copies the database page by page inside one read
transaction, so the copy is consistent (every committed transaction, none half) and, in WAL
mode, the daemon keeps writing meanwhile. The copy is checked (``PRAGMA integrity_check``)
before it is renamed into place. PostgreSQL: ``pg_dump --format=custom`` (one consistent
snapshot), checked by ``pg_restore --list``. The password travels in the environment, never on
a command line. A backup never overwrites a file: the target must not exist.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.ledger.records import LedgerError


class BackupFailed(LedgerError):
    """The copy could not be made or did not check out; nothing was left at the target."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    how: str  # what made it, for the report


def backup_ledger(url: str, target: Path) -> Backup:
    """Copy the ledger at ``url`` to ``target`` (mode 0600), checked, or raise BackupFailed."""
    if target.exists():
        raise BackupFailed(f"{target} already exists: a backup never overwrites a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    parsed = make_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            how = _sqlite(Path(parsed.database or ""), tmp)
        elif parsed.get_backend_name() == "postgresql":
            how = _postgresql(url, tmp)
        else:
            raise BackupFailed(f"no backup for a {parsed.get_backend_name()} ledger")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return Backup(target, target.stat().st_size, how)


def _sqlite(database: Path, tmp: Path) -> str:
    if not database.is_file():
        raise BackupFailed(f"no SQLite ledger at {database}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(tmp)
    try:
        source.backup(copy)
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as exc:
        raise BackupFailed(f"copying {database}: {exc}") from exc
    finally:
        copy.close()
        source.close()
    if verdict != "ok":
        raise BackupFailed(f"the copy of {database} fails its integrity check: {verdict}")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    return f"SQLite online backup of {database}, integrity check ok"


def _postgresql(url: str, tmp: Path) -> str:
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise BackupFailed(
                f"{tool} is not installed (Debian: apt-get install postgresql-client)"
            )
    parsed = make_url(url)
    env = dict(os.environ)
    for key, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port),
                       ("PGUSER", parsed.username), ("PGPASSWORD", parsed.password),
                       ("PGDATABASE", parsed.database)):  # fmt: skip
        if value is not None:
            env[key] = str(value)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    dump = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={tmp}"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if dump.returncode != 0:
        raise BackupFailed(f"pg_dump of {parsed.database}: {dump.stderr.strip()}")
    listing = subprocess.run(["pg_restore", "--list", str(tmp)], capture_output=True, text=True,
                             check=False)  # fmt: skip
    if listing.returncode != 0 or "TABLE DATA" not in listing.stdout:
        raise BackupFailed(f"pg_restore cannot read the dump: {listing.stderr.strip()}")
    return f"pg_dump --format=custom of {parsed.database} on {parsed.host}, readable by pg_restore"
