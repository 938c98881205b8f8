"""The directory transport: whole files only, nothing sent twice, names kept in their folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gateway.transports.base import Transport, safe_name
from gateway.transports.directory import DirectoryTransport
from gateway.transports.errors import PermanentTransportError, TransportError


@pytest.fixture
def partner(tmp_path: Path) -> tuple[DirectoryTransport, Path, Path]:
    up, down = tmp_path / "partner" / "in", tmp_path / "partner" / "out"
    up.mkdir(parents=True)
    down.mkdir(parents=True)
    return DirectoryTransport(up, down, settle_seconds=0.5), up, down


def _old(path: Path) -> None:
    past = time.time() - 60
    os.utime(path, (past, past))


def test_it_is_a_transport(partner: tuple[DirectoryTransport, Path, Path]) -> None:
    transport: Transport = partner[0]
    with transport as t:
        assert t.list() == []


def test_upload_is_whole_and_idempotent_by_name(
    partner: tuple[DirectoryTransport, Path, Path], tmp_path: Path
) -> None:
    t, up, _ = partner
    local = tmp_path / "837P-000000101.x12"
    local.write_bytes(b"ISA" + b"x" * 5_000_000)
    assert not t.exists(local.name)
    t.put(local, local.name)
    assert t.exists(local.name)
    assert (up / local.name).read_bytes() == local.read_bytes()
    assert sorted(p.name for p in up.iterdir()) == [local.name]  # no temporary left


def test_download_skips_growing_and_hidden_files(
    partner: tuple[DirectoryTransport, Path, Path], tmp_path: Path
) -> None:
    t, _, down = partner
    for name in ("a.999", "b.835", ".hidden.835", "c.835.part"):
        (down / name).write_text(name)
        _old(down / name)
    (down / "fresh.835").write_text("still being written")
    assert [f.name for f in t.list(("*.835", "*.999"))] == ["a.999", "b.835"]
    assert [f.name for f in t.list(("*.835",))] == ["b.835"]
    inbound = tmp_path / "inbound"
    inbound.mkdir(mode=0o700)
    got = t.get("b.835", inbound)
    assert got == inbound / "b.835" and got.read_text() == "b.835"
    assert oct(got.stat().st_mode & 0o777) == "0o600"
    t.done("b.835", "move")
    assert (down / "processed" / "b.835").exists() and not (down / "b.835").exists()
    t.done("a.999", "delete")
    assert not (down / "a.999").exists()


@pytest.mark.parametrize(
    "name", ["../escape.835", "/etc/passwd", "..", "a/b.835", ".hidden", "x\x00y", ""]
)
def test_names_from_the_partner_never_escape(name: str) -> None:
    with pytest.raises(PermanentTransportError, match="refused the remote file name"):
        safe_name(name)


def test_os_errors_become_transport_errors(
    partner: tuple[DirectoryTransport, Path, Path], tmp_path: Path
) -> None:
    t, _, _ = partner
    with pytest.raises(TransportError, match=r"download of missing\.835"):
        t.get("missing.835", tmp_path)
    gone = DirectoryTransport(tmp_path / "nope", tmp_path / "nope")
    with pytest.raises(PermanentTransportError, match="listing"):
        gone.list()
