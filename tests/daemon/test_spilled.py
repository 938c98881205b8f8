"""What a payment's posting keeps aside: a list up to ``memory`` items, a temporary file beyond,
read back the same either way, as often as wanted."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.daemon.spilled import Spilled


@pytest.mark.parametrize("count", [0, 1, 3, 4, 9])
def test_items_read_back_the_same_in_memory_or_spilled(tmp_path: Path, count: int) -> None:
    items = [(f"C{n}", {"paid": f"{n}.00", "lines": [n, None]}, "P") for n in range(count)]
    kept: Spilled[tuple[str, dict[str, object], str]] = Spilled(tmp_path, list, tuple, memory=3)
    spilled: Spilled[tuple[str, dict[str, object], str]] = Spilled(tmp_path, list, tuple)
    try:
        for item in items:
            kept.append(item)
            spilled.append(item)
        assert kept.count == spilled.count == count
        for _ in range(2):  # read twice, as the ledger reads a large payment
            assert list(kept) == list(spilled) == items
        assert (kept._file is None) == (count <= 3)  # a file only past the memory's items
        kept.append(("late", {}, "S"))  # appending after a read goes on at the end
        assert list(kept)[-1] == ("late", {}, "S") and kept.count == count + 1
    finally:
        kept.close()
        spilled.close()
