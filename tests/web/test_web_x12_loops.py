"""Loop names in the readable view of an X12 file: each segment's loop of the implementation
guide (2000B, 2300, 2400 in an 837; 1000A, 2100, 2110 in an 835), read off the guide's map by
pyx12's walker; a segment it cannot place, or a file it cannot read, has a blank loop."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.transactions.x12_loops import loop_column, segment_loops
from tests.daemon.homes import make_home
from tests.ledger.conftest import MakeDatabase
from tests.web.conftest import add_users, client, log_in

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "x12-examples"


def _loops(name: str) -> list[tuple[str, str]]:
    return [(s.segment, s.loop) for s in segment_loops((EXAMPLES / name).read_text())]


def test_an_837_and_an_835_have_each_segment_in_its_loop() -> None:
    claim = _loops("example-837p.x12")
    assert claim[:4] == [("ISA", ""), ("GS", ""), ("ST", ""), ("BHT", "")]
    assert ("NM1", "1000A") in claim and ("HL", "2000A") in claim
    assert claim[claim.index(("SBR", "2000B")) - 1] == ("HL", "2000B")
    assert ("NM1", "2010BA") in claim and ("DMG", "2010BA") in claim
    assert ("CLM", "2300") in claim and ("HI", "2300") in claim
    assert [s for s in claim if s[0] in ("LX", "SV1")] == [("LX", "2400"), ("SV1", "2400")] * 2
    assert claim[-3:] == [("SE", ""), ("GE", ""), ("IEA", "")]
    paid = _loops("example-835.x12")
    assert ("BPR", "") in paid and ("N1", "1000A") in paid and ("N1", "1000B") in paid
    assert ("LX", "2000") in paid and ("CLP", "2100") in paid
    assert {loop for seg, loop in paid if seg in ("SVC", "CAS", "AMT")} == {"2110"}
    names = {s.loop: s.name for s in segment_loops((EXAMPLES / "example-835.x12").read_text())}
    assert names["1000A"] == "Payer Identification"


def test_unknown_loops_are_blank_never_an_error() -> None:
    text = (EXAMPLES / "example-835.x12").read_text()
    ids = [s.split("*")[0].strip() for s in text.split("~") if s.strip()]
    odd = text.replace("CLP*", "ZZZ*1~CLP*", 1)  # a segment no guide has, before the first CLP
    odd_ids = [s.split("*")[0].strip() for s in odd.split("~") if s.strip()]
    column = loop_column(odd_ids, odd)
    assert len(column) == len(odd_ids) and column[odd_ids.index("ZZZ")].loop == ""
    unmapped = text.replace("005010X221A1", "005010X999A9")  # a guide pyx12 has no map for
    assert [s.loop for s in loop_column(ids, unmapped)] == [""] * len(ids)
    assert [s.loop for s in loop_column(ids, "not X12 at all")] == [""] * len(ids)
    assert loop_column([], "") == []
    first = loop_column(ids, text, limit=15)  # a long file: only its first segments are walked
    assert first[14].segment == "CLP" and first[14].loop == "2100" and first[15].loop == ""


def test_the_file_page_shows_the_loop_of_each_segment(
    tmp_path: Path, make_database: MakeDatabase
) -> None:
    url = make_database()
    home = make_home(tmp_path, database=url)
    add_users(url)
    archive = home / "spool" / "archive"
    for area, name in (("outbound", "example-837p.x12"), ("inbound", "example-835.x12")):
        folder = archive / area / "acme"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes((EXAMPLES / name).read_bytes())
    web = client(home)
    log_in(web, "sam")
    rows = re.compile(r'<tr class="seg-(\w+)"><td class="num">\d+</td><td><b>\w+</b></td>'
                      r'<td class="loop nw"(?: title="([^"]*)")?>(\w*)</td>')  # fmt: skip
    claim = web.get("/files/outbound/acme/example-837p.x12")
    assert claim.status_code == 200
    shown = [(seg, loop) for seg, _name, loop in rows.findall(claim.text)]
    assert shown == _loops("example-837p.x12")
    assert '<td class="loop nw" title="Subscriber Name">2010BA</td>' in claim.text
    paid = web.get("/files/inbound/acme/example-835.x12")
    shown = [(seg, loop) for seg, _name, loop in rows.findall(paid.text)]
    assert shown == _loops("example-835.x12") and ("CLP", "2100") in shown
