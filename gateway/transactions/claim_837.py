"""Build 837 interchanges from claim records: envelope, header and the HL hierarchy.

One interchange holds one kind of claim (one guide). Claims are grouped the way the guides want:
one 2000A per billing provider, under it one 2000B per subscriber and payer, and a 2000C when
the patient is not the subscriber. At most 100 claims hang under one HL and at most
``MAX_CLAIMS_PER_SET`` claims go into one transaction set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from gateway.domain.claim import BillingProvider, Claim, ClaimKind, Patient, Payer, Subscriber
from gateway.transactions import claim_837_common as common
from gateway.transactions import claim_837d, claim_837i, claim_837p
from gateway.x12.values import d8
from gateway.x12.writer import X12Writer

MAX_CLAIMS_PER_HL = 100
MAX_CLAIMS_PER_SET = 5000


@dataclass(frozen=True)
class Guide:
    """How one kind of claim is written: its TR3 id and its loop 2300 writer."""

    version: str
    loop_2300: Callable[[X12Writer, Claim], None]


GUIDES: dict[str, Guide] = {
    "professional": Guide(claim_837p.VERSION, claim_837p.loop_2300_claim),
    "dental": Guide(claim_837d.VERSION, claim_837d.loop_2300_claim),
    "institutional": Guide(claim_837i.VERSION, claim_837i.loop_2300_claim),
}
KIND_BY_VERSION = {guide.version: kind for kind, guide in GUIDES.items()}


@dataclass(frozen=True)
class Envelope:
    """Who sends to whom (a partner's ``[interchange]`` and ``[submitter]``) and the numbers.

    Control numbers are reserved by the caller (the ledger, or ``gateway build``'s options).
    """

    sender_id: str
    receiver_id: str
    interchange_control: int
    group_control: int
    batch_id: str
    submitter_name: str
    receiver_name: str
    submitter_contact: str = "BILLING OFFICE"
    submitter_phone: str = "0000000000"
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    usage: str = "T"
    ack_requested: bool = True
    line_breaks: bool = False
    when: datetime | None = None


@contextmanager
def enveloped(
    w: X12Writer, env: Envelope, functional_id: str, version: str, when: datetime
) -> Iterator[None]:
    """The ISA and GS of ``env`` (its control numbers) around what is written inside: the
    envelope of every interchange the gateway sends (837, 270, 276)."""
    with (
        w.interchange(
            sender_qualifier=env.sender_qualifier, sender_id=env.sender_id,
            receiver_qualifier=env.receiver_qualifier, receiver_id=env.receiver_id,
            control_number=env.interchange_control, usage=env.usage,
            ack_requested=env.ack_requested, when=when,
        ),
        w.group(
            functional_id=functional_id, sender=env.sender_id, receiver=env.receiver_id,
            control_number=env.group_control, version=version, when=when,
        ),
    ):  # fmt: skip
        yield


def write_837(out: TextIO, kind: ClaimKind, claims: Sequence[Claim], env: Envelope) -> None:
    """Write one interchange holding ``claims`` (all of ``kind``) to ``out``."""
    guide = GUIDES[kind]
    if any(c.kind != kind for c in claims):
        raise ValueError(f"write_837({kind!r}) got claims of another kind")
    when = env.when or datetime.now()
    w = X12Writer(out, line_breaks=env.line_breaks)
    with enveloped(w, env, "HC", guide.version, when):
        for n, start in enumerate(range(0, len(claims), MAX_CLAIMS_PER_SET), 1):
            part = claims[start : start + MAX_CLAIMS_PER_SET]
            with w.transaction("837", f"{n:04d}", guide.version):
                _header(w, env, n, when)
                _hierarchy(w, guide, part)


def _header(w: X12Writer, env: Envelope, n: int, when: datetime) -> None:
    batch = env.batch_id if n == 1 else f"{env.batch_id}-{n}"
    w.segment("BHT", "0019", "00", batch, d8(when), when.strftime("%H%M"), "CH")
    w.segment("NM1", "41", "2", common.up(env.submitter_name), None, None, None, None, "46",
              env.sender_id)  # fmt: skip
    w.segment("PER", "IC", common.up(env.submitter_contact), "TE", env.submitter_phone)
    w.segment("NM1", "40", "2", common.up(env.receiver_name), None, None, None, None, "46",
              env.receiver_id)  # fmt: skip


_SubscriberKey = tuple[Subscriber, Payer, Patient | None]


def _group(claims: Iterable[Claim]) -> dict[BillingProvider, dict[_SubscriberKey, list[Claim]]]:
    """Claims by billing provider, then by (subscriber, payer, patient), in first-seen order."""
    tree: dict[BillingProvider, dict[_SubscriberKey, list[Claim]]] = {}
    for c in claims:
        key = (c.subscriber, c.payer, c.patient)
        tree.setdefault(c.billing_provider, {}).setdefault(key, []).append(c)
    return tree


def _hierarchy(w: X12Writer, guide: Guide, claims: Sequence[Claim]) -> None:
    hl = 0
    for provider, subscribers in _group(claims).items():
        hl += 1
        provider_hl = hl
        _loop_2000a(w, provider, hl)
        for (subscriber, payer, patient), group in subscribers.items():
            for start in range(0, len(group), MAX_CLAIMS_PER_HL):
                chunk = group[start : start + MAX_CLAIMS_PER_HL]
                hl += 1
                subscriber_hl = hl
                _loop_2000b(w, subscriber, payer, patient, hl, provider_hl,
                            msp=guide is not GUIDES["institutional"])  # fmt: skip
                if patient is not None:
                    hl += 1
                    _loop_2000c(w, patient, hl, subscriber_hl)
                for c in chunk:
                    guide.loop_2300(w, c)


def _loop_2000a(w: X12Writer, b: BillingProvider, hl: int) -> None:
    """``HL*1**20*1~ PRV*BI*PXC*207Q00000X~ NM1*85*2*CLINIC*****XX*1234567893~`` N3 N4 REF*EI."""
    w.segment("HL", str(hl), None, "20", "1")
    w.segment("PRV", "BI", "PXC", b.taxonomy)
    if b.organization_name:
        w.segment("NM1", "85", "2", common.up(b.organization_name), None, None, None, None, "XX",
                  b.npi)  # fmt: skip
    else:
        w.segment("NM1", "85", "1", common.up(b.last_name), common.up(b.first_name),
                  common.up(b.middle_name), None, None, "XX", b.npi)  # fmt: skip
    common.address(w, b.address)
    w.segment("REF", "EI", b.tax_id)


def _loop_2000b(
    w: X12Writer,
    s: Subscriber,
    payer: Payer,
    patient: Patient | None,
    hl: int,
    parent: int,
    *,
    msp: bool = True,
) -> None:
    """``HL*2*1*22*0~ SBR*P*18*GRP1001******CI~`` 2010BA subscriber, 2010BB payer (SBR05, the
    Medicare secondary payer type, only on 837P/837D)."""
    w.segment("HL", str(hl), str(parent), "22", "1" if patient is not None else "0")
    msp_type = s.insurance_type if msp and s.sequence != "P" else None
    w.segment("SBR", s.sequence, "18" if patient is None else None, s.group_number, None, msp_type,
              None, None, None, s.filing_indicator)  # fmt: skip
    w.segment("NM1", "IL", "1", common.up(s.last_name), common.up(s.first_name),
              common.up(s.middle_name), None, common.up(s.suffix), "MI", s.member_id)  # fmt: skip
    common.address(w, s.address)
    w.segment("DMG", "D8", d8(s.birth_date), s.sex)
    w.segment("NM1", "PR", "2", common.up(payer.name), None, None, None, None, "PI", payer.id)


def _loop_2000c(w: X12Writer, p: Patient, hl: int, parent: int) -> None:
    """``HL*3*2*23*0~ PAT*19~ NM1*QC*1*DOE*JIMMY~`` N3 N4 DMG."""
    w.segment("HL", str(hl), str(parent), "23", "0")
    w.segment("PAT", p.relationship)
    w.segment("NM1", "QC", "1", common.up(p.last_name), common.up(p.first_name),
              common.up(p.middle_name), None, common.up(p.suffix))  # fmt: skip
    common.address(w, p.address)
    w.segment("DMG", "D8", d8(p.birth_date), p.sex)
