"""Derive 276.5010.X212.xml (005010X212) from pyx12 4.0.0's 276.4010.X093.A1.xml.

Usage: derive_276_map.py 4010_MAP OUR_270_MAP OUT HEADER (the licence header to keep).
The envelope segments come from our 5010 270 map; see the edits below for the rest.
"""

import copy
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

src = sys.argv[1]
env = sys.argv[2]
out = sys.argv[3]
t = ET.parse(src)
root = t.getroot()
e = ET.parse(env).getroot()
NAME = (
    "HIPAA Health Care Claim Status Request X212-276 "
    "(5010, derived by the gateway from the 4010 X093A1 map)"
)
root.find("name").text = NAME


def loop(node, xid):
    for found in node.iter("loop"):
        if found.get("xid") == xid:
            return found
    raise KeyError(xid)


def seg_in(node, xid, nth=0):
    segs = [s for s in node.findall("segment") if s.get("xid") == xid]
    return segs[nth]


def parent_of(node, child):
    for p in node.iter():
        if child in list(p):
            return p


def replace(old, new):
    p = parent_of(root, old)
    i = list(p).index(old)
    p.remove(old)
    new = copy.deepcopy(new)
    new.find("pos").text = old.find("pos").text  # keep 4010 numbering
    p.insert(i, new)


def codes(seg, xid, values):
    el = next(x for x in seg.findall("element") if x.get("xid") == xid)
    vc = el.find("valid_codes")
    for c in list(vc):
        vc.remove(c)
    for v in values:
        ET.SubElement(vc, "code").text = v


def usage(seg, xid, u):
    el = next(x for x in seg.findall("element") if x.get("xid") == xid)
    el.find("usage").text = u


# Envelope segments (ISA, GS, ST, SE, GE, IEA) from the 5010 270 map.
for lx, sx in (
    ("ISA_LOOP", "ISA"),
    ("ISA_LOOP", "IEA"),
    ("GS_LOOP", "GS"),
    ("GS_LOOP", "GE"),
    ("ST_LOOP", "ST"),
    ("ST_LOOP", "SE"),
):
    replace(seg_in(loop(root, lx), sx), seg_in(loop(e, lx), sx))
gs = seg_in(loop(root, "GS_LOOP"), "GS")
codes(gs, "GS01", ["HR"])
codes(gs, "GS08", ["005010X212"])
st = seg_in(loop(root, "ST_LOOP"), "ST")
codes(st, "ST01", ["276"])
codes(st, "ST03", ["005010X212"])

bht = seg_in(loop(root, "HEADER"), "BHT")
for x in ("BHT03", "BHT04", "BHT05"):
    usage(bht, x, "R")
# 2100D: subscriber only (the dependent goes to 2000E in 5010).
codes(seg_in(loop(root, "2100D"), "NM1"), "NM101", ["IL"])
# 2000E: HL04 not used; 2100E NM108/NM109 not used.
hl = seg_in(loop(root, "2000E"), "HL")
usage(hl, "HL04", "N")
nm = seg_in(loop(root, "2100E"), "NM1")
usage(nm, "NM108", "N")
usage(nm, "NM109", "N")


def fix_claim(l2200):
    refs = [s for s in l2200.findall("segment") if s.get("xid") == "REF"]
    template = refs[0]
    # 5010 2200D/E references: 1K, BLT, LU, 6P, EJ, XZ, D9 (EA, medical record, is gone).
    for r in refs:
        l2200.remove(r)
    trn = seg_in(l2200, "TRN")
    at = list(l2200).index(trn) + 1
    for i, q in enumerate(["1K", "BLT", "LU", "6P", "EJ", "XZ", "D9"]):
        r = copy.deepcopy(template)
        codes(r, "REF01", [q])
        r.find("name").text = f"Claim Reference {q}"
        l2200.insert(at + i, r)
    dtp = seg_in(l2200, "DTP")
    codes(dtp, "DTP01", ["472"])
    codes(dtp, "DTP02", ["D8", "RD8"])
    line = next(iter(l2200.findall("loop")))
    ldtp = seg_in(line, "DTP")
    codes(ldtp, "DTP02", ["D8", "RD8"])
    ldtp.find("usage").text = "S"


for x in ("2200D", "2200E"):
    fix_claim(loop(root, x))
# Re-number pos of REFs is not checked by pyx12 walk beyond order; keep as is.
ET.indent(t)
t.write(out, encoding="utf-8", xml_declaration=True)
text = Path(out).read_text()
head, rest = text.split("\n", 1)
Path(out).write_text(head + "\n" + Path(sys.argv[4]).read_text() + rest)
