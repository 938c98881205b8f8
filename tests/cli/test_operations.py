"""Operations, as an admin runs them: ``init --upgrade``, ``backup`` (SQLite and PostgreSQL, the
daemon writing meanwhile), ``archive compress`` (old files gzipped in place, nothing lost)."""

from __future__ import annotations

import gzip
import os
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.daemon.runner import Daemon
from gateway.ledger.db import (
    SchemaTooNew,
    create_ledger_engine,
    head_revision,
    open_ledger,
    upgrade,
)
from tests.cli.test_cli import run
from tests.daemon.homes import drop_claims, make_home, numbered_claims
from tests.ledger.conftest import PG_ADMIN_URL, MakeDatabase

DAY = 86400


def _ledger_url(home: Path) -> str:
    from gateway.config import database_url, load_settings

    return database_url(home, load_settings(home))


def _revision(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar())
    finally:
        engine.dispose()


def test_init_upgrade_migrates_the_ledger_and_adds_folders(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    db_url = make_database()
    code, _, err = run("init", "--upgrade", str(tmp_path / "nothing"))
    assert code == 2 and "is not a gateway home (no gateway.toml)" in err
    home = make_home(tmp_path, database=db_url)
    settings = (home / "gateway.toml").read_bytes()
    (home / "spool" / "review").rmdir()
    engine = create_ledger_engine(db_url)
    try:
        assert upgrade(engine, "0002") is None  # an empty database, brought to an old schema
    finally:
        engine.dispose()
    code, out, err = run("init", "--upgrade", str(home))
    assert code == 0, err
    assert out.splitlines() == [
        f"made {home / 'spool' / 'review'}",
        f"ledger schema: migrated from 0002 to {head_revision()}",
    ]
    assert stat.S_IMODE((home / "spool" / "review").stat().st_mode) == 0o700
    assert (home / "gateway.toml").read_bytes() == settings
    assert _revision(db_url) == head_revision()
    code, out, _ = run("init", "--upgrade", str(home))
    assert (code, out) == (0, f"ledger schema: already at {head_revision()}\n")


def test_an_older_gateway_refuses_a_newer_ledger(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    db_url = make_database()
    home = make_home(tmp_path, database=db_url)
    open_ledger(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaTooNew, match="revision 9999, newer than this gateway knows"):
        Daemon(home)
    gateway = Path(sys.executable).parent / "gateway"
    done = subprocess.run([str(gateway), "--home", str(home), "claims"], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("gateway: the ledger's schema is at revision 9999, newer than")
    assert "Traceback" not in done.stderr
    assert _revision(db_url) == "9999"  # left alone


def _home_with_claims(tmp_path: Path, db_url: str) -> tuple[Path, dict[str, int]]:
    home = make_home(tmp_path, database=db_url)
    drop_claims(home, "claims.json", numbered_claims("BK", 30))
    assert Daemon(home).run(once=True) == 0
    with open_ledger(db_url) as ledger:
        counts = ledger.count_claims()
    assert counts == {"submitted": 30}
    return home, counts


def test_backup_while_the_ledger_is_being_written(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    db_url = make_database()
    home, counts = _home_with_claims(tmp_path, db_url)
    target = tmp_path / "backups" / "ledger.backup"
    writer = None
    if make_url(db_url).get_backend_name() == "sqlite":  # a writer holds the write lock
        writer = sqlite3.connect(make_url(db_url).database or "", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE claims SET state = 'queued'")  # not committed: not in the copy
    try:
        started = time.monotonic()
        code, out, err = run("--home", str(home), "backup", str(target))
        assert code == 0, err
        assert time.monotonic() - started < 20  # it did not wait for the writer (30 s timeout)
    finally:
        if writer is not None:
            writer.rollback()
            writer.close()
    assert out.startswith(f"{target}: ") and ("integrity check ok" in out or "pg_restore" in out)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _restored_counts(target, db_url, tmp_path) == counts
    code, _, err = run("--home", str(home), "backup", str(target))
    assert code == 1 and "already exists: a backup never overwrites a file" in err


def _restored_counts(backup: Path, db_url: str, tmp_path: Path) -> dict[str, int]:
    """Restore the backup the way the README says, and count its claims."""
    if make_url(db_url).get_backend_name() == "sqlite":
        restored = tmp_path / "restored.db"
        restored.write_bytes(backup.read_bytes())
        with open_ledger(f"sqlite:///{restored}") as ledger:
            return ledger.count_claims()
    name = f"ledger_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name)
    try:
        env = dict(os.environ, PGHOST=url.host or "", PGPORT=str(url.port or 5432),
                   PGUSER=url.username or "")  # fmt: skip
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={name}", str(backup)], env=env,
                       check=True, capture_output=True)  # fmt: skip
        with open_ledger(url.render_as_string(hide_password=False)) as ledger:
            return ledger.count_claims()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _aged(path: Path, text_: str, days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text_)
    when = time.time() - days * DAY
    os.utime(path, (when, when))
    return path


def test_archive_compress_gzips_old_files_in_place_and_deletes_nothing(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    archive = home / "spool" / "archive"
    old_837 = _aged(archive / "outbound" / "acme" / "acme-837P-000000001.x12", "ISA*00~" * 500, 40)
    old_reply = _aged(archive / "inbound" / "acme" / "pay.835", "ISA*835~" * 300, 31)
    recent = _aged(archive / "inbound" / "acme" / "new.999", "ISA*999~", 2)
    hidden = _aged(archive / "outputs" / "postings" / ".postings-x.jsonl.tmp", "{}\n", 90)
    kept = _aged(archive / "outputs" / "postings" / "postings-1.jsonl", '{"id": 1}\n' * 200, 45)
    published = home / "spool" / "postings" / "postings-1.jsonl"
    os.link(kept, published)  # as the daemon publishes: the practice's copy is a hard link
    half_done = _aged(archive / "claims" / "batch.json", "[]" * 100, 60)
    with gzip.open(half_done.with_name("batch.json.gz"), "wb") as f:  # an earlier run's .gz
        f.write(half_done.read_bytes())
    contents = {p: p.read_bytes() for p in (old_837, old_reply, kept, half_done)}
    mtimes = {p: p.stat().st_mtime for p in contents}

    code, out, err = run("--home", str(home), "archive", "compress")
    assert code == 0, err
    assert out.startswith("compressed 4 file(s) older than 30 days: ")
    for path, content in contents.items():
        packed = path.with_name(path.name + ".gz")
        assert not path.exists() and gzip.decompress(packed.read_bytes()) == content
        if path is not half_done:  # (that .gz was made by this test)
            assert stat.S_IMODE(packed.stat().st_mode) == 0o600
            assert packed.stat().st_mtime == pytest.approx(mtimes[path], abs=1)
    assert old_837.with_name(old_837.name + ".gz").stat().st_size < len(contents[old_837]) // 10
    assert recent.read_text() == "ISA*999~" and hidden.exists()
    assert published.read_text() == '{"id": 1}\n' * 200  # the practice's copy is untouched
    code, out, _ = run("--home", str(home), "archive", "compress")
    assert (code, out.split(":")[0]) == (0, "compressed 0 file(s) older than 30 days")
    code, out, _ = run("--home", str(home), "archive", "compress", "--older-than", "1")
    assert out.startswith("compressed 1 file(s) older than 1 days")  # the 2-day-old one
    code, _, err = run("--home", str(home), "archive", "compress", "--older-than", "0")
    assert code == 2 and "0 is not in the range x>=1" in err
