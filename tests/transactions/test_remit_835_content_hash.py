"""The content hash of an 835 payment (what the ledger knows a remittance by, beside its
identity) is the sha256 of its segments between ST and SE, each one's elements joined by 0x1F
and ended by 0x1E, as UTF-8: read_835 hashes them in batches, which must not change a byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gateway.transactions import remit_835
from gateway.transactions.remit_835 import TransactionEnd, read_835

EXAMPLES = Path(__file__).parent.parent / "data" / "x12-examples"


def _by_hand(text: str) -> list[str]:
    """Each 835 set's hash, from the file's text split by hand (``~`` and ``*``)."""
    out, digest = [], None
    for segment in text.replace("\n", "").replace("\r", "").split("~"):
        els = segment.strip().split("*")
        if els[0] == "ST":
            digest = hashlib.sha256()
        elif els[0] == "SE":
            assert digest is not None
            out.append(digest.hexdigest())
            digest = None
        elif digest is not None:
            digest.update(("\x1f".join(els) + "\x1e").encode("utf-8"))
    return out


@pytest.mark.parametrize("name", ["example-835.x12", "example-835-reversal.x12",
                                  "cob-835-primary.x12", "cob-835-secondary.x12"])  # fmt: skip
@pytest.mark.parametrize("batch", [1, 2, 4096])
def test_the_content_hash_is_the_segments_between_st_and_se(
    name: str, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remit_835._ContentHash, "BATCH", batch)
    path = EXAMPLES / name
    ends = [e for e in read_835(path, content_hash=True) if isinstance(e, TransactionEnd)]
    assert ends and [e.content_sha256 for e in ends] == _by_hand(path.read_text())
    unhashed = [e for e in read_835(path) if isinstance(e, TransactionEnd)]
    assert [e.content_sha256 for e in unhashed] == [""] * len(ends)


def test_the_same_payment_in_another_envelope_hashes_the_same() -> None:
    text = (EXAMPLES / "example-835.x12").read_text()
    isa13 = text.split("*")[13]
    renamed = text.replace(isa13, "987654321")
    assert renamed != text
    [first] = [
        e for e in read_835(text.encode(), content_hash=True) if isinstance(e, TransactionEnd)
    ]
    [again] = [
        e for e in read_835(renamed.encode(), content_hash=True) if isinstance(e, TransactionEnd)
    ]
    assert first.content_sha256 == again.content_sha256 != ""
