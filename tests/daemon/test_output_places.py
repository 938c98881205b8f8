"""Each output stream has one place: a partner's records land in its configured outputs folder
whichever daemon produced them (here one home sends the claims, the other fetches the replies),
and a home without the setting keeps writing into its own spool."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from gateway.daemon.intake import take_claim_files
from gateway.daemon.outputs import _publish
from gateway.daemon.runner import Daemon
from gateway.ledger.ledger import OutboxEntry
from gateway.ledger.schema import OutboxKind
from tests.daemon.homes import drop_claims, drop_reply, make_home, numbered_claims, read_jsonl
from tests.daemon.payer import ack_999, adjudicate, claims_of, envelope_of, remit_835, status_277ca

CLAIMS = 12


def _shared_home(root: Path, shared: Path, db_url: str) -> Path:
    home = make_home(root, database=db_url)
    partner = home / "partners" / "acme.toml"
    text = partner.read_text().replace('"exchange/in"', f'"{shared / "in"}"')
    text = text.replace('"exchange/out"', f'"{shared / "out"}"')
    partner.write_text(text + f'\n[outputs]\nfolder = "{shared / "outputs"}"\n')
    return home


def _answer(shared: Path) -> None:
    for path in sorted((shared / "in").glob("*.x12")):
        isa, group = envelope_of(path)
        claims = claims_of(path)
        out = shared / "out"
        for name, text in {
            f"{isa:09d}.999": ack_999(group, control=isa),
            f"{isa:09d}.277": status_277ca([(c, "A2:20") for c in claims], control=isa),
            f"{isa:09d}.835": remit_835(
                [adjudicate(c) for c in claims], trace=f"TR{isa:09d}", control=isa
            ),
        }.items():
            (out / f".{name}.part").write_text(text)
            (out / f".{name}.part").rename(out / name)


def test_a_partners_outputs_land_in_its_one_place(tmp_path: Path, db_url: str) -> None:
    shared = tmp_path / "partner"
    for folder in ("in", "out"):
        (shared / folder).mkdir(parents=True)
    a, b = (Daemon(_shared_home(tmp_path / n, shared, db_url)) for n in ("a", "b"))
    drop_claims(a.home, "claims.json", numbered_claims("PLC", CLAIMS))
    assert a.cycle(once=True).ok  # a takes the claims in and sends them
    _answer(shared)
    assert b.cycle(once=True).ok  # b fetches and applies every reply
    assert a.cycle(once=True).ok

    ids = {r["claim_id"] for r in numbered_claims("PLC", CLAIMS)}
    for kind in ("postings", "balances", "status"):
        for daemon in (a, b):
            assert not list((daemon.spool / kind).glob("*.jsonl")), f"{kind} in a home's spool"
        records = read_jsonl(shared / "outputs" / kind)
        assert len({r["id"] for r in records}) == len(records), f"{kind}: a record twice"
        if kind != "status":
            assert Counter(r["claim_id"] for r in records) == dict.fromkeys(ids, 1), kind
    events = {(s["claim_id"], s["event"]) for s in read_jsonl(shared / "outputs" / "status")}
    for event in ("queued", "submitted", "paid"):
        assert {c for c, e in events if e == event} == ids, event
    assert not a.ledger.pending_outbox(OutboxKind.STATUS)
    # the writing home keeps its archive copy of what it wrote
    written = [p.name for d in (a, b) for p in (d.spool / "archive" / "outputs").rglob("*.jsonl")]
    placed = [p.name for p in (shared / "outputs").rglob("*.jsonl")]
    assert sorted(written) == sorted(placed)


def test_a_home_without_the_setting_writes_into_its_spool(tmp_path: Path, db_url: str) -> None:
    home = make_home(tmp_path, database=db_url)
    daemon = Daemon(home)
    drop_claims(home, "claims.json", numbered_claims("SPL", 3))
    take_claim_files(home, daemon.ledger, daemon.partners, settle_seconds=0)
    assert daemon.cycle(once=True).ok
    for path in sorted((home / "exchange" / "in").glob("*.x12")):
        isa, group = envelope_of(path)
        drop_reply(home, f"{isa:09d}.999", ack_999(group, control=isa))
    assert daemon.cycle(once=True).ok
    events = Counter(s["event"] for s in read_jsonl(home / "spool" / "status"))
    assert events["queued"] == events["submitted"] == 3


def test_a_file_in_a_shared_place_survives_a_crash_at_every_step(tmp_path: Path) -> None:
    """The steps of ``outputs`` with the output in a partner's folder and the archive copy in
    the writing home: a crash before, between or after them writes each record once."""
    spool, place = tmp_path / "home" / "spool", tmp_path / "shared" / "outputs" / "acme"
    entries = [
        OutboxEntry(f"r{n}", OutboxKind.STATUS, {"id": f"r{n}"}, datetime.now(UTC), "acme")
        for n in range(3)
    ]
    out, kept = place / "status", spool / "archive" / "outputs" / "status"
    _publish(spool, "status", "a.jsonl", entries, place)
    assert len((out / "a.jsonl").read_text().splitlines()) == 3 and (kept / "a.jsonl").exists()
    assert not (spool / "status").exists()  # nothing in the home's own output folder
    _publish(spool, "status", "b.jsonl", entries, place)  # died before the last rename
    (out / "b.jsonl").rename(out / ".b.jsonl.tmp")
    _publish(spool, "status", "b.jsonl", entries[:1], place)
    assert len((out / "b.jsonl").read_text().splitlines()) == 3
    _publish(spool, "status", "c.jsonl", entries, place)  # published, and taken away already
    (out / "c.jsonl").unlink()
    _publish(spool, "status", "c.jsonl", entries, place)
    assert not (out / "c.jsonl").exists()
    assert sorted(p.name for p in out.iterdir()) == ["a.jsonl", "b.jsonl"]  # no temporary left
