"""Check X12 files against the HIPAA implementation guides (TR3s) with pyx12.

pyx12 4.0.0 checks segment order, loops, usage, repeats, code lists, element sizes and envelope
counts for the 837P, 837I, 835, 999 and 277CA, but ships no map for the 837 Dental
(005010X224A2) nor for the 5010 eligibility inquiry and response (270/271 005010X279A1). Ours are
in ``pyx12_maps/`` (see its README: the 270/271 maps come from pyx12's own history, under its BSD
licence). To use them without touching the installed package, the first call builds a private
map directory (pyx12's own maps linked in, ours, and a ``maps.xml`` naming them) and gives pyx12
that directory as ``map_path``.

The driver follows ``pyx12.x12n_document.x12n_document`` for validation only: no 999, HTML or
XML output, so nothing is ever written next to the input. Unlike ``x12n_document`` it keeps the
parsed maps between calls (loading the 837 map is most of the cost of a call) and turns every
error pyx12 reports, including "Map not found", into an :class:`IgProblem`.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import shutil
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import pyx12.errors
import pyx12.map_if
import pyx12.map_index
import pyx12.params
import pyx12.x12file
from pyx12.map_walker import walk_tree

DENTAL_VRIIC = "005010X224A2"
DENTAL_MAP_FILE = "837.5010.X224.A2.xml"
ELIGIBILITY_VRIIC = "005010X279A1"
STATUS_VRIIC = "005010X212"
STATUS_MAP_FILE = "276.5010.X212.xml"  # ours, derived from pyx12's 4010 276 map
# Our maps, registered under the 00501 version: (GS08, GS01, abbreviation, file).
OWN_MAPS = (
    (DENTAL_VRIIC, "HC", "837D", DENTAL_MAP_FILE),
    (ELIGIBILITY_VRIIC, "HS", "270", "270.5010.X279.A1.xml"),
    (ELIGIBILITY_VRIIC, "HB", "271", "271.5010.X279.A1.xml"),
    (STATUS_VRIIC, "HR", "276", STATUS_MAP_FILE),
)

_IK304 = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "I4", "I6", "I7", "I8", "I9"})
_IK403 = frozenset(
    {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "13"}
    | {"I10", "I11", "I12", "I13", "I6", "I9"}
)
# Where pyx12's envelope-level codes go in an acknowledgment: TA1 note code, 999 AK9, 999 IK5.
_LEVEL_FIELD = {"isa": "TA105", "gs": "AK905", "st": "IK502"}
# The trailer a missing-trailer error (reported at the end of the file) is about.
_LEVEL_TRAILER = {"isa": "IEA", "gs": "GE", "st": "SE"}
_BOM = "\ufeff"


@dataclass(frozen=True)
class IgProblem:
    """One error pyx12 reports, located as precisely as pyx12 allows."""

    segment_index: int | None  # 1-based index of the segment in the file (ISA = 1)
    segment_id: str | None  # e.g. "CLM"; for a missing segment, the missing one
    element: str | None  # e.g. "CLM05-3" or "SV302" when known
    code: str | None  # 999/TA1 field and code, e.g. "IK403:7"; "pyx12:HL1" if none fits
    message: str  # plain sentence from pyx12


# --------------------------------------------------------------------------- map directory
_lock = threading.Lock()
_map_dir: str | None = None
_engine_cache: _Engine | None = None


def pyx12_map_path() -> str:
    """Directory with pyx12's maps plus ours, for any pyx12 ``map_path`` argument.

    Built once per process in a private temporary directory (mode 0700) that is removed at
    exit, so a read-only or shared installation is never modified. Rebuilt if a temp-file
    cleaner has removed it meanwhile.
    """
    global _map_dir
    with _lock:
        if _map_dir is None or not os.path.isdir(_map_dir):
            _map_dir = _build_map_dir()
        return _map_dir


def _build_map_dir() -> str:
    path = Path(tempfile.mkdtemp(prefix="gateway-pyx12-maps-"))
    owner = os.getpid()
    atexit.register(_remove_map_dir, path, owner)
    for entry in files("pyx12").joinpath("map").iterdir():
        if not entry.is_file() or entry.name == "maps.xml":
            continue
        target = path / entry.name
        real = Path(str(entry))
        try:
            target.symlink_to(real.resolve(strict=True))
        except OSError:  # no symlinks here, or pyx12 is not on a plain file system
            target.write_bytes(entry.read_bytes())
    ours = files("gateway.transactions").joinpath("pyx12_maps")
    for *_, map_file in OWN_MAPS:
        (path / map_file).write_bytes(ours.joinpath(map_file).read_bytes())
    (path / "maps.xml").write_bytes(_maps_xml_with_ours())
    return str(path)


def _remove_map_dir(path: Path, owner: int) -> None:
    # A forked child inherits the atexit hook; only the process that made the directory cleans up.
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def _maps_xml_with_ours() -> bytes:
    """pyx12's map index with our entries (837 Dental, 270, 271) added to the 00501 version."""
    root = ET.fromstring(files("pyx12").joinpath("map", "maps.xml").read_bytes())
    for version in root.iter("version"):
        if version.get("icvn") == "00501":
            for vriic, fic, abbr, map_file in OWN_MAPS:
                entry = ET.SubElement(version, "map", vriic=vriic, fic=fic, abbr=abbr)
                entry.text = map_file
            break
    else:
        raise RuntimeError("pyx12 maps.xml has no 00501 version")
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


# --------------------------------------------------------------------------- engine
class _Engine:
    """Parsed pyx12 maps, shared by all calls (pyx12 keeps walk counts outside the maps)."""

    def __init__(self, map_path: str) -> None:
        self.map_path = map_path
        # ParamsBase, not params(): no ~/.pyx12.conf.xml may change what is checked.
        self.param = pyx12.params.ParamsBase()
        self.index = pyx12.map_index.map_index(map_path)
        self._maps: dict[str, Any] = {}
        self._lock = threading.Lock()

    def load(self, map_file: str) -> Any:
        with self._lock:
            loaded = self._maps.get(map_file)
            if loaded is None:
                loaded = pyx12.map_if.load_map_file(map_file, self.param, self.map_path)
                self._maps[map_file] = loaded
            return loaded


def _engine() -> _Engine:
    global _engine_cache
    map_path = pyx12_map_path()
    with _lock:
        if _engine_cache is None or _engine_cache.map_path != map_path:
            _quiet_pyx12_logging()
            _engine_cache = _Engine(map_path)
        return _engine_cache


def _quiet_pyx12_logging() -> None:
    # pyx12 logs each error it finds at ERROR level; they come back as IgProblems instead.
    logger = logging.getLogger("pyx12")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
    logger.setLevel(logging.CRITICAL)


# --------------------------------------------------------------------------- validation
def validate_with_pyx12(source: str | os.PathLike[str] | bytes) -> list[IgProblem]:
    """Run pyx12's implementation-guide validation; an empty list means no errors found.

    ``source`` is a path (``str`` or path-like) or the file's bytes. A UTF-8 byte order mark and
    white space before the ISA are skipped, as the gateway's reader does. Files whose GS08 pyx12
    has no map for come back as a single "Map not found" problem on the GS segment.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return _Run(_engine(), text.lstrip(_BOM).lstrip()).problems


_GS_LOOP_MISSING = 'Mandatory loop "Functional Group Header" (GS_LOOP) missing'


class _Run:
    """One validation pass over one file, mirroring ``x12n_document``'s loop."""

    def __init__(self, engine: _Engine, text: str) -> None:
        self.engine = engine
        self.problems: list[IgProblem] = []
        self.seg_ids: dict[int, str] = {}
        self.seg_id: str | None = None
        self.index: int | None = None
        try:
            src = pyx12.x12file.X12Reader(io.StringIO(text))
        except pyx12.errors.X12Error as exc:
            self._add(None, None, None, None, f"Not an X12 interchange: {exc}")
            return
        try:
            self._walk(src)
        except (pyx12.errors.EngineError, pyx12.errors.X12Error) as exc:
            self._add(self.index, self.seg_id, None, None, str(exc))
        except Exception as exc:  # a pyx12 defect on broken input: report it, do not raise
            message = f"pyx12 stopped at this segment ({type(exc).__name__}: {exc})"
            self._add(self.index, self.seg_id, None, None, message)
        if "TA1" in self.seg_ids.values() and "GS" not in self.seg_ids.values():
            # An interchange of TA1s alone is valid X12; pyx12's control map wants a group.
            self.problems = [p for p in self.problems if p.message != _GS_LOOP_MISSING]

    def _add(
        self,
        index: int | None,
        seg_id: str | None,
        element: str | None,
        code: str | None,
        message: str,
    ) -> None:
        self.problems.append(IgProblem(index, seg_id, element, code, message))

    def _walk(self, src: Any) -> None:
        engine = self.engine
        map_file = "x12.control.00501.xml" if src.icvn == "00501" else "x12.control.00401.xml"
        control_map = engine.load(map_file)
        node = control_map.getnodebypath("/ISA_LOOP/ISA")
        walker = walk_tree()
        icvn: str | None = None
        fic: str | None = None
        vriic: str | None = None
        cur_map: Any = None
        for seg in src:
            seg_id = seg.get_seg_id()
            self.index = src.get_cur_line()
            self.seg_id = seg_id
            self.seg_ids[self.index] = seg_id
            orig_node = node
            if seg_id == "ISA":
                node = control_map.getnodebypath("/ISA_LOOP/ISA")
                walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
            elif seg_id == "GS":
                node = control_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
                walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
            else:
                node, _, _, walk_errors = walker.walk_errors(
                    node, seg, src.get_seg_count(), self.index, src.get_ls_id()
                )
                self._walk_errors(walk_errors)
            if node is None:  # segment not found: pyx12 has reported it; keep the old place
                node = orig_node
                self._reader_errors(src.pop_errors())
                continue
            if seg_id == "ISA":
                icvn = seg.get_value("ISA12")
            elif seg_id == "GS":
                fic = seg.get_value("GS01")
                vriic = seg.get_value("GS08")
                map_file_new = engine.index.get_filename(icvn, vriic, fic)
                if map_file != map_file_new:
                    if map_file_new is None:
                        self._reader_errors(src.pop_errors())
                        message = f"Map not found.  icvn={icvn}, fic={fic}, vriic={vriic}"
                        self._add(self.index, "GS", "GS08", None, message)
                        return
                    map_file = map_file_new
                    cur_map = engine.load(map_file)
                    src.check_837_lx = cur_map.id == "837"
                node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
            elif seg_id == "BHT" and vriic in ("004010X094", "004010X094A1"):
                # 4010 278: the map depends on BHT02, as in x12n_document.
                tspc = seg.get_value("BHT02")
                map_file_new = engine.index.get_filename(icvn, vriic, fic, tspc)
                if map_file != map_file_new:
                    if map_file_new is None:
                        message = (
                            f"Map not found.  icvn={icvn}, fic={fic}, vriic={vriic}, tspc={tspc}"
                        )
                        self._add(self.index, "BHT", "BHT02", None, message)
                        return
                    map_file = map_file_new
                    cur_map = engine.load(map_file)
                    src.check_837_lx = cur_map.id == "837"
                    node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/ST_LOOP/HEADER/BHT")
            self._reader_errors(src.pop_errors())
            try:
                self._segment_errors(node, seg)
            except Exception as exc:  # a pyx12 defect on odd data must not lose the other errors
                message = f"pyx12 could not check this segment ({type(exc).__name__}: {exc})"
                self._add(self.index, seg_id, None, None, message)
        src.cleanup()  # missing trailers at the end of the file
        self.index = None
        self.seg_id = None
        self._reader_errors(src.pop_errors(), at_end=True)

    def _walk_errors(self, errors: Iterable[Any]) -> None:
        """Loop and segment errors from the map walker (missing, unexpected, too many)."""
        for e in errors:
            index = e.src_line
            if e.map_node is not None and e.seg_data is not None:
                seg_id = e.seg_data.get_seg_id()  # a missing segment is named, not its successor
            else:  # "found but not used": pyx12 gives only the line
                seg_id = self.seg_ids.get(index) if index is not None else self.seg_id
            self._add(index, seg_id, None, _code("IK304", e.err_cde), e.err_str)

    def _reader_errors(self, errors: Iterable[Any], *, at_end: bool = False) -> None:
        """Envelope, HL, LX and raw-segment errors from pyx12's X12Reader."""
        for kind, err_cde, err_str, _value, src_line in errors:
            if kind == "seg":
                index = src_line if src_line else self.index
                seg_id = self.seg_ids.get(index) if index is not None else None
                field = "IK304"
                err_cde = "8" if err_cde == "SEG1" else err_cde  # as pyx12's 999 does
            else:
                index = self.index
                seg_id = _LEVEL_TRAILER[kind] if at_end else self.seg_id
                field = _LEVEL_FIELD[kind]
            self._add(index, seg_id, None, _code(field, err_cde), err_str)

    def _segment_errors(self, node: Any, seg: Any) -> None:
        """Element, composite and syntax errors within the current segment."""
        _, errors = node.is_valid_errors(seg)
        seg_id = self.seg_id or ""
        for e in errors:
            if e.map_node is None:  # segment-level (too many elements, syntax, composite)
                element = _refdes_name(seg_id, e.refdes)
                code = _code("IK304", "8")  # pyx12's choice: segment has data element errors
            else:
                element = _element_name(seg_id, e.map_node)
                code = _code("IK403", e.err_cde)
            self._add(self.index, self.seg_id, element, code, e.err_str)


def _code(field: str, err_cde: str) -> str:
    valid = {"IK304": _IK304, "IK403": _IK403}.get(field)
    if valid is not None and err_cde not in valid:
        return f"pyx12:{err_cde}"
    return f"{field}:{err_cde}"


def _element_name(seg_id: str, map_node: Any) -> str:
    parent = map_node.parent
    if parent is not None and parent.is_composite():
        return f"{seg_id}{parent.seq:02d}-{map_node.seq}"
    return f"{seg_id}{map_node.seq:02d}"


def _refdes_name(seg_id: str, refdes: object) -> str | None:
    """Name pyx12's refdes the way the gateway does: 5 -> "CLM05", "SV101-03" -> "SV101-3"."""
    if refdes is None or refdes == "":
        return None
    if isinstance(refdes, int) or (isinstance(refdes, str) and refdes.isdigit()):
        return f"{seg_id}{int(refdes):02d}"
    text = str(refdes)
    head, sep, tail = text.partition("-")
    return f"{head}-{int(tail)}" if sep and tail.isdigit() else text
