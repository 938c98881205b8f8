"""Which loop each segment of an X12 file is in (2000B, 2300, 2400 for an 837; 1000A, 2100,
2110 for an 835), read off the implementation guides' maps by pyx12's map walker, the maps
``ig_validation`` loads once per process (so showing a file costs no map parsing).

Never raises: a segment the walker cannot place, a file pyx12 cannot read or a transaction
without a map gives blank loops, and the file is still shown.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any, NamedTuple

import pyx12.errors
import pyx12.x12file
from pyx12.map_walker import walk_tree

from gateway.transactions.ig_validation import _engine


class SegmentLoop(NamedTuple):
    segment: str  # the segment id pyx12 read
    loop: str  # the loop's id in the guide ("2010BA"), "" outside numbered loops or unknown
    name: str  # the loop's name in the guide ("Subscriber Name"), or ""


def _loop_of(node: Any) -> SegmentLoop:
    parent = getattr(node, "parent", None)
    loop_id = str(getattr(parent, "id", "") or "")
    if not loop_id[:1].isdigit():  # ISA_LOOP, GS_LOOP, ST_LOOP, HEADER: envelope and header
        return SegmentLoop(str(node.id), "", "")
    return SegmentLoop(str(node.id), loop_id, str(getattr(parent, "name", "") or ""))


# pyx12 walks a few thousand segments a second: past this many, the rest of a file is blank.
LIMIT = 3000


def segment_loops(text: str, limit: int = LIMIT) -> list[SegmentLoop]:
    """The loop of each segment pyx12 reads in ``text``, in order (the first ``limit``)."""
    out: list[SegmentLoop] = []
    with contextlib.suppress(Exception):  # a file pyx12 cannot walk further: the rest is blank
        _walk(text, out, limit)
    return out


def _walk(text: str, out: list[SegmentLoop], limit: int) -> None:
    engine = _engine()
    src = pyx12.x12file.X12Reader(io.StringIO(text))
    control = engine.load("x12.control.00501.xml" if src.icvn == "00501" else
                          "x12.control.00401.xml")  # fmt: skip
    node: Any = control.getnodebypath("/ISA_LOOP/ISA")
    walker = walk_tree()
    icvn = fic = vriic = None
    cur_map: Any = None
    for seg in src:
        if len(out) >= limit:
            return
        seg_id = seg.get_seg_id()
        if seg_id == "ISA":
            node = control.getnodebypath("/ISA_LOOP/ISA")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
            icvn = seg.get_value("ISA12")
        elif seg_id == "GS":
            walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
            fic, vriic = seg.get_value("GS01"), seg.get_value("GS08")
            map_file = engine.index.get_filename(icvn, vriic, fic)
            if map_file is None:
                raise pyx12.errors.EngineError(f"no map for {fic} {vriic}")
            cur_map = engine.load(map_file)
            src.check_837_lx = cur_map.id == "837"
            node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
        else:
            found, *_ = walker.walk_errors(node, seg, src.get_seg_count(), src.get_cur_line(),
                                           src.get_ls_id())  # fmt: skip
            src.pop_errors()
            if found is None:  # not where the guide allows it: no loop, keep the old place
                out.append(SegmentLoop(seg_id, "", ""))
                continue
            node = found
        src.pop_errors()
        out.append(_loop_of(node))


def loop_column(segment_ids: list[str], text: str, limit: int = LIMIT) -> list[SegmentLoop]:
    """One loop per segment of ``segment_ids`` (as another reader split the file): pyx12's
    answer where its segments line up, blank where they do not (and past ``limit``)."""
    walked = segment_loops(text, limit)
    blank = SegmentLoop("", "", "")
    column: list[SegmentLoop] = []
    k = 0
    for seg_id in segment_ids:
        if k < len(walked) and walked[k].segment == seg_id:
            column.append(walked[k])
            k += 1
        else:
            column.append(blank)
    return column
