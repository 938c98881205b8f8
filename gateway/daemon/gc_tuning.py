"""The daemon process's garbage collector, set once when the process starts.

CPython's collector runs a young collection each time 700 more container objects (dicts, lists,
records) were made than freed. A daemon cycle makes them by the hundred thousand (a claim read
and checked is some hundred of them; an 837 of 5,000 claims holds half a million while it is
written), so the default runs thousands of collections a cycle, each traversing the young
objects and, every tenth and hundredth time, the older ones (the 837's claims, the ledger's
caches). Measured (callgrind, 2,000 claims read and checked, then validated again from their
JSON and built into an 837): the collector was 10.1% of the instructions at the default
threshold, 4.3% at 10,000 (5.9% fewer instructions in all; its traversals miss the CPU's caches,
so the time saved is larger). Freezing what the process loaded first (``gc.freeze``) saved
nothing more there.

Reference cycles are still collected, only in larger steps: at most 10,000 young objects wait
for their collection (a few MiB at most), the older generations keep their default ratios.
"""

from __future__ import annotations

import gc

YOUNG_OBJECTS = 10_000  # the default is 700


def tune_collector() -> None:
    """Collect every 10,000 new container objects instead of 700 (the older generations as
    before); for the daemon's process (``gateway run``), not a library call."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, older, oldest)
