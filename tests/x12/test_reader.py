"""The streaming reader: delimiters from the ISA, positions, envelope checks, the corpus."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from gateway.x12 import X12Reader, X12SyntaxError, read_segments

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *250310*1200*^*00501*"
    "000000101*0*T*:~"
)


def interchange(body: list[str], *, isa: str = ISA, control: str = "000000101") -> str:
    segs = ["GS*HC*S*R*20250310*1200*1*X*005010X222A1", "ST*837*0001*005010X222A1", *body]
    segs.append(f"SE*{len(body) + 2}*0001")
    segs += ["GE*1*1", f"IEA*1*{control}"]
    return isa + "~".join(segs) + "~"


def test_segments_carry_position_offset_and_elements() -> None:
    text = interchange(["BHT*0019*00*B1*20250310*1200*CH", "HI*ABK:E119*ABF:I10"])
    segs = list(read_segments(text.encode()))
    assert [s.id for s in segs] == ["ISA", "GS", "ST", "BHT", "HI", "SE", "GE", "IEA"]
    assert [s.position for s in segs] == list(range(1, 9))
    hi = segs[4]
    assert text[hi.offset : hi.offset + 3] == "HI*"
    assert hi.elements == ["HI", "ABK:E119", "ABF:I10"]
    assert hi.components(1) == ["ABK", "E119"]
    assert hi.component(2, 2) == "I10"
    assert hi.get(9) == ""


@pytest.mark.parametrize(
    ("elem", "comp", "rep", "term"),
    [("*", ":", "^", "~"), ("|", ">", "`", "\n"), ("+", "<", "{", "'"), ("!", "\\", "^", "\r")],
)
def test_any_delimiters_are_taken_from_the_isa(elem: str, comp: str, rep: str, term: str) -> None:
    text = interchange(["HI*ABK:E119^X"]).replace("~", "\x00")
    text = text.replace("*", elem).replace(":", comp).replace("^", rep).replace("\x00", term)
    segs = list(read_segments(text.encode()))
    hi = next(s for s in segs if s.id == "HI")
    assert hi.delimiters.element == elem and hi.delimiters.segment == term
    assert hi.components(1) == ["ABK", f"E119{rep}X"]
    assert hi.repeats(1) == [f"ABK{comp}E119", "X"]


def test_line_breaks_after_terminators_and_wrapped_segments_are_ignored() -> None:
    text = interchange(["BHT*0019*00*B1*20250310*1200*CH", "NM1*41*2*MAIN STREET CLINIC"])
    crlf = text.replace("~", "~\r\n")
    wrapped = "\n".join(crlf[i : i + 80] for i in range(0, len(crlf), 80))
    for variant in (crlf, wrapped, "\ufeff" + text):
        segs = list(read_segments(variant.encode("utf-8")))
        nm1 = next(s for s in segs if s.id == "NM1")
        assert nm1.elements == ["NM1", "41", "2", "MAIN STREET CLINIC"]


def test_several_interchanges_with_different_delimiters() -> None:
    first = interchange(["BHT*0019"])
    other_isa = ISA.replace("000000101", "000000102")
    second = interchange(["BHT*0019"], isa=other_isa, control="000000102")
    second = second.replace("*", "|").replace("~", "\n")
    reader = X12Reader((first + "\n" + second).encode())
    ids = [(s.id, s.delimiters.element) for s in reader]
    assert ids.count(("ISA", "*")) == 1 and ids.count(("ISA", "|")) == 1
    assert reader.interchanges == 2


def test_utf8_text_is_decoded() -> None:
    text = interchange(["NM1*QC*1*MUÑOZ*JOSÉ"])
    nm1 = next(s for s in read_segments(text.encode("utf-8")) if s.id == "NM1")
    assert nm1.get(3) == "MUÑOZ" and nm1.get(4) == "JOSÉ"


@pytest.mark.parametrize("after", ["", "\n", "\r\n", "  \n", "\n\t"])
@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_positions_are_exact_in_every_layout_and_chunking(after: str, chunk: int) -> None:
    """Fast and careful paths agree: same elements, and each offset points at its segment."""
    one = interchange([f"LX*{n}" for n in range(1, 60)])
    two = one.replace("000000101", "000000102")
    text = (one + "\n" + two).replace("~", "~" + after)
    data = text.encode()
    segs = list(X12Reader(io.BytesIO(data), chunk_size=chunk))
    assert len(segs) == 2 * 65
    for seg in segs:
        assert text[seg.offset :].startswith(seg.elements[0] + "*"), (seg, after)
    assert [s.elements for s in segs] == [s.elements for s in X12Reader(text.encode())]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty: no ISA segment"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary data (NUL byte): this is not an X12 file"),
        (b"hello world, this is not edi", "expected an ISA segment, found b'hello world, this is'"),
        (ISA[:50].encode(), "file ends inside the ISA segment (fewer than 16 elements)"),
    ],
)
def test_garbage_raises_one_error_type_saying_what(data: bytes, message: str) -> None:
    with pytest.raises(X12SyntaxError) as err:
        list(read_segments(data))
    assert err.value.message == message
    assert err.value.offset == (data.find(b"\x00") if b"\x00" in data else 0)


def test_wrong_counts_name_the_segment_and_its_position() -> None:
    text = interchange(["BHT*0019"]).replace("SE*3*0001", "SE*9*0001")
    with pytest.raises(X12SyntaxError) as err:
        list(read_segments(text.encode()))
    assert str(err.value) == (
        f"segment 5, SE, byte {text.index('SE*9')}: SE01 says 9 segments but transaction set "
        "0001 has 3"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("GE*1*1", "GE*2*1"), "GE01 says 2 transaction sets but group 1 has 1"),
        (("GE*1*1", "GE*1*7"), "GE02 '7' does not match GS06 '1'"),
        (
            ("IEA*1*000000101", "IEA*3*000000101"),
            "IEA01 says 3 functional groups but interchange 000000101 has 1",
        ),
        (
            ("IEA*1*000000101", "IEA*1*000000999"),
            "IEA02 '000000999' does not match ISA13 '000000101'",
        ),
        (("SE*3*0001", "SE*3*0002"), "SE02 '0002' does not match ST02 '0001'"),
        (("SE*3*0001~", ""), "GE inside transaction set 0001: its SE is missing"),
        (("IEA*1*000000101~", ""), "file ends inside interchange 000000101: no IEA segment"),
        (("BHT*0019", "B@T*0019"), "invalid segment id 'B@T'"),
    ],
)
def test_envelope_faults(edit: tuple[str, str], message: str) -> None:
    text = interchange(["BHT*0019"]).replace(*edit)
    with pytest.raises(X12SyntaxError) as err:
        list(read_segments(text.encode()))
    assert err.value.message == message


def test_lenient_mode_records_count_faults_and_goes_on() -> None:
    text = interchange(["BHT*0019"]).replace("SE*3*0001", "SE*4*0001")
    reader = X12Reader(text.encode(), strict=False)
    assert [s.id for s in reader][-1] == "IEA"
    assert [p.message for p in reader.problems] == [
        "SE01 says 4 segments but transaction set 0001 has 3"
    ]


def test_isa_not_fixed_width_is_refused_strictly_and_read_leniently() -> None:
    short = ISA.replace("SENDER         ", "SENDER")
    text = interchange(["BHT*0019"], isa=short).encode()
    with pytest.raises(X12SyntaxError, match="ISA is not fixed width"):
        list(read_segments(text))
    reader = X12Reader(text, strict=False)
    assert sum(1 for _ in reader) == 7
    assert len(reader.problems) == 1


def test_ta1_only_interchange() -> None:
    text = ISA + "TA1*000000101*250310*1200*A*000~IEA*0*000000101~"
    assert [s.id for s in read_segments(text.encode())] == ["ISA", "TA1", "IEA"]


# -- the public corpus ------------------------------------------------------------------------
def _index(corpus: Path) -> list[dict[str, str]]:
    with (corpus / "index.tsv").open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_every_corpus_file_is_read_or_refused_with_a_location(corpus: Path) -> None:
    """Valid files read strictly with the index's claim count; the rest fail with a position."""
    rows = _index(corpus)
    assert len(rows) == len([p for p in corpus.rglob("*") if p.is_file()]) - 2
    for row in rows:
        path = corpus / row["path"]
        claims = int(row["claims"] or 0)
        if row["expected_valid"] == "yes":
            segs = list(read_segments(path))
            assert sum(1 for s in segs if s.id in ("CLM", "CLP")) == claims, row["path"]
            continue
        try:
            reader = X12Reader(path, strict=False)
            segs = list(reader)
        except X12SyntaxError as exc:
            assert exc.offset is not None or exc.segment_index is not None, row["path"]
            continue
        assert sum(1 for s in segs if s.id in ("CLM", "CLP")) == claims, row["path"]
        if "ANOMALIES" in row["notes"] and any(
            word in row["notes"] for word in ("SE01 wrong", "IEA01=", "IEA02=", "GE01=")
        ):
            assert reader.problems, row["path"]


@pytest.mark.parametrize("after", ["", "\n", "\r\n"])
@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
@pytest.mark.parametrize("strict", [True, False])
def test_element_lists_place_envelope_faults_as_segments_do(
    after: str, chunk: int, strict: bool
) -> None:
    """The element-list loop works a segment's offset out only when it is needed (an envelope
    segment, an error): after empty segments and long runs of known ones it is the same offset
    as the Segment loop's, in every layout and chunking."""
    body = [f"LX*{n}" for n in range(1, 40)]
    text = interchange(body).replace("~LX*20~", "~~LX*20~~~").replace("SE*41", "SE*7")
    text = (text + text.replace("GE*1*1", "GE*2*1")).replace("~", "~" + after)

    def read(lists: bool) -> tuple[list[object], list[tuple[str, int | None, int | None]]]:
        reader = X12Reader(io.BytesIO(text.encode()), strict=strict, chunk_size=chunk)
        got: list[object] = []
        try:
            for item in reader.element_lists() if lists else reader:
                got.append(item if lists else item.elements)  # type: ignore[union-attr]
        except X12SyntaxError as exc:
            reader.problems.append(exc)
        return got, [(p.message, p.offset, p.segment_index) for p in reader.problems]

    got, problems = read(lists=True)
    assert (got, problems) == read(lists=False)
    assert problems and all(text[offset:].startswith(("SE*", "GE*")) for _, offset, _ in problems)
    assert problems[0][0] == "SE01 says 7 segments but transaction set 0001 has 41"
