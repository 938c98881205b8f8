"""The simulator's loop: take the 837s the gateway uploaded, answer like a clearinghouse and payer.

One :meth:`Simulator.step` reads every new file in the upload folder, answers each interchange
(TA1, 999, 277CA), adjudicates the claims whose payment is due and writes the 835s, saves the
state, and only then moves the files it took into ``upload/processed/``. Replies are written
under a dot name and renamed, so the gateway never sees half a file.

Deterministic: the same seed, inputs and ``now`` give byte-identical replies. Every random
decision draws from its own generator seeded with the seed and the claim (or trace) it is about;
the wall clock is read only when ``now`` is not given.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import structlog

from gateway.files import private_dir, write_atomic
from gateway.simulator.adjudication import (
    adjudicate,
    cents,
    chance,
    release,
    reverse,
    rng_for,
)
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.edits import StatusCode, claim_edits
from gateway.simulator.eligibility import InquiryAnswer, answer_all
from gateway.simulator.eligibility_replies import write_271
from gateway.simulator.intake import (
    InboundGroup,
    InboundInterchange,
    InboundSet,
    check_groups,
    read_inbound,
)
from gateway.simulator.model import ZERO, Accumulator, Adjudication, Route
from gateway.simulator.replies import (
    ClaimStatus,
    ProviderAdjustment,
    Remittance,
    SetStatus,
    write_277ca,
    write_835,
    write_999,
    write_ta1,
)
from gateway.simulator.state import (
    Action,
    ClaimRecord,
    ForwardBalance,
    Pending,
    SeenFile,
    State,
    load_state,
    save_state,
)
from gateway.simulator.status_answers import StatusReply, answer_asked, write_277

log = structlog.get_logger("gateway.simulator")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")
_CENT = Decimal("0.01")


@dataclass
class StepReport:
    """What one step did."""

    step: int
    files: list[str] = field(default_factory=list)  # inbound files answered
    duplicates: list[str] = field(default_factory=list)  # same name and content as before
    written: list[str] = field(default_factory=list)  # reply files, in the order written
    interchanges_rejected: int = 0  # TA1 R
    sets_accepted: int = 0  # 999 IK5 A
    sets_rejected: int = 0  # 999 IK5 R, or in a rejected group
    claims_accepted: int = 0  # 277CA A2
    claims_rejected: int = 0  # 277CA A3/A6/A7/A8
    eligibility_answers: int = 0  # 271 answers (one per 270 inquiry)
    status_answers: int = 0  # 277 answers (one per claim a 276 asked about)
    payments: int = 0  # 835 CLPs processed as primary/secondary/tertiary
    reversals: int = 0  # 835 CLPs with status 22
    pending: int = 0  # 835 work left for a later step

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _utc(now: datetime | None) -> datetime:
    """Naive UTC: every time the state compares is one of these."""
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    if now.tzinfo is not None:
        return now.astimezone(UTC).replace(tzinfo=None)
    return now


class Simulator:
    """A clearinghouse and payer serving one partner's exchange folder pair.

    ``upload_dir`` is where the gateway puts 837s (the partner's inbound), ``download_dir``
    where it polls for replies. ``state_path`` is the JSON file the simulator keeps its memory
    in; give each simulated partner its own.
    """

    def __init__(
        self, upload_dir: Path, download_dir: Path, config: SimulatorConfig, state_path: Path
    ) -> None:
        self.upload_dir = upload_dir
        self.download_dir = download_dir
        self.config = config
        self.state_path = state_path

    # -- the step ---------------------------------------------------------------------------
    def step(self, now: datetime | None = None) -> StepReport:
        """Answer every new file, pay what is due, save the state, move the files taken."""
        when = _utc(now)
        private_dir(self.download_dir)
        state = load_state(self.state_path)
        inbound = list(self._inbound())
        due = [p for p in state.pending if p.due <= when and p.earliest_step <= state.step + 1]
        if not inbound and not due:  # idle: no step taken, nothing written
            return StepReport(state.step, pending=len(state.pending))
        state.step += 1
        report = StepReport(state.step)
        taken: list[tuple[Path, str]] = []
        for path in inbound:
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            taken.append((path, sha))
            if state.seen(path.name, sha):
                report.duplicates.append(path.name)
                continue
            state.files.append(SeenFile(name=path.name, sha256=sha, step=state.step))
            report.files.append(path.name)
            for ic in read_inbound(data):
                self._answer(ic, sha, state, when, report)
        self._remit(state, when, report)
        report.pending = len(state.pending)
        private_dir(self.state_path.parent)
        save_state(self.state_path, state)
        for path, sha in taken:
            self._put_away(path, sha)
        log.info("simulator.step", **{k: v for k, v in report.as_dict().items() if v})
        return report

    def _inbound(self) -> Iterator[Path]:
        """Complete files in the upload folder, by name (the order is part of determinism)."""
        if not self.upload_dir.is_dir():
            return
        settle = self.config.clearinghouse.settle_seconds
        for path in sorted(self.upload_dir.iterdir()):
            name = path.name
            if name.startswith(".") or name.endswith((".part", ".tmp")) or not path.is_file():
                continue
            if settle and time.time() - path.stat().st_mtime < settle:
                continue  # still being written by a sender that does not rename
            yield path

    def _put_away(self, path: Path, sha: str) -> None:
        folder = self.upload_dir / "processed"
        folder.mkdir(mode=0o700, exist_ok=True)
        target = folder / path.name
        if target.exists():
            target = folder / f"{path.name}.{sha[:12]}"
        try:
            path.replace(target)
        except FileNotFoundError:  # taken away meanwhile: it has been answered all the same
            log.warning("simulator.file_gone", file=path.name)

    def _publish(self, kind: str, key: str, control: int, text: str, report: StepReport) -> None:
        """Write one reply under a dot name, then rename it into the download folder."""
        stem = f"{kind}-{_UNSAFE_NAME.sub('_', key) or '0'}-{control:09d}"
        target = self.download_dir / f"{stem}.x12"
        n = 1
        while target.exists():  # a state file reset beside old replies: never overwrite them
            n += 1
            target = self.download_dir / f"{stem}-{n}.x12"
        write_atomic(target, text.encode("utf-8"))
        report.written.append(target.name)
        log.info("simulator.reply", file=target.name)

    # -- one interchange --------------------------------------------------------------------
    def _route(self, ic: InboundInterchange, group: InboundGroup | None = None) -> Route:
        route = ic.route(group)
        ch = self.config.clearinghouse
        fixes: dict[str, str] = {}
        if not route.clearinghouse_id or len(route.clearinghouse_id) > 15:
            fixes.update(clearinghouse_id=ch.id, clearinghouse_qualifier="ZZ")
        if not route.practice_id or len(route.practice_id) > 15:
            fixes.update(practice_id=ch.gateway_id, practice_qualifier="ZZ")
        if not route.clearinghouse_code:
            fixes.update(clearinghouse_code=fixes.get("clearinghouse_id", route.clearinghouse_id))
        if not route.practice_code:
            fixes.update(practice_code=fixes.get("practice_id", route.practice_id))
        for key in ("clearinghouse_qualifier", "practice_qualifier"):
            if len(getattr(route, key)) != 2:
                fixes[key] = "ZZ"
        return route.model_copy(update=fixes) if fixes else route

    def _answer(
        self, ic: InboundInterchange, sha: str, state: State, now: datetime, report: StepReport
    ) -> None:
        """TA1 (on a fault, or when asked), then the 999, then the 277CA of the sets accepted."""
        ch = self.config.clearinghouse
        route = self._route(ic, ic.groups[0] if ic.groups else None)
        key = f"{route.practice_qualifier}|{route.practice_id}|{ic.control}"
        if ic.note == "000":
            if ch.accepted_receiver_ids and route.clearinghouse_id not in ch.accepted_receiver_ids:
                ic.reject("009")
            elif ch.reject_duplicate_interchanges and key in state.interchanges:
                ic.reject("025")
        if ic.note != "000" or ic.ack_requested:
            self._ta1(ic, route, state, now, report)
        if ic.note != "000":
            report.interchanges_rejected += 1
            return
        state.interchanges[key] = sha
        check_groups(ic, ig_validation=ch.ig_validation)
        control = state.next_control()
        out = io.StringIO()
        write_999(out, route=route, control=control, when=now, groups=ic.groups,
                  line_breaks=ch.line_breaks)  # fmt: skip
        self._publish("999", ic.control, control, out.getvalue(), report)
        statuses: list[SetStatus] = []
        answers: list[list[InquiryAnswer]] = []
        status_replies: list[StatusReply] = []
        for group in ic.groups:
            accepted = group.accepted_sets
            report.sets_accepted += len(accepted)
            report.sets_rejected += len(group.sets) - len(accepted)
            group_route = self._route(ic, group)
            for st in accepted:
                if st.inquiries:  # a 270: the payer answers it with a 271
                    answers.append(answer_all(st.inquiries, self.config, state, now.date()))
                    report.eligibility_answers += len(st.inquiries)
                    continue
                if st.asked:  # a 276: the payer answers it with a 277
                    status_replies += answer_asked(state, st.asked)
                    continue
                statuses.append(self._claim_statuses(st, group_route, state, now, report))
        statuses = [s for s in statuses if s.claims]  # a set whose claims were all lost
        if status_replies:
            self._status_answers(status_replies, route, state, now, report)
        if statuses:
            control = state.next_control()
            out = io.StringIO()
            write_277ca(out, route=route, control=control, when=now, sets=statuses,
                        line_breaks=ch.line_breaks)  # fmt: skip
            self._publish("277CA", ic.control, control, out.getvalue(), report)
        if answers:
            control = state.next_control()
            out = io.StringIO()
            write_271(out, route=route, control=control, when=now, answers=answers,
                      payer=self.config.payer, line_breaks=ch.line_breaks)  # fmt: skip
            self._publish("271", ic.control, control, out.getvalue(), report)

    def _status_answers(
        self, replies: list[StatusReply], route: Route, state: State, now: datetime,
        report: StepReport,
    ) -> None:  # fmt: skip
        """The 277 answering a 276; a silent claim asked about is adjudicated now."""
        control = state.next_control()
        out = io.StringIO()
        breaks = self.config.clearinghouse.line_breaks
        write_277(out, route=route, control=control, when=now, replies=replies,
                  payer=self.config.payer, line_breaks=breaks)  # fmt: skip
        self._publish("277", replies[0].asked.trace, control, out.getvalue(), report)
        report.status_answers += len(replies)
        for r in replies:
            if r.woken is not None:
                self._schedule(state, "adjudicate", r.woken, now)

    def _ta1(
        self, ic: InboundInterchange, route: Route, state: State, now: datetime, report: StepReport
    ) -> None:
        date6, time4 = ic.get(9), ic.get(10)
        if not (len(date6) == 6 and date6.isdigit() and len(time4) == 4 and time4.isdigit()):
            date6, time4 = now.strftime("%y%m%d"), now.strftime("%H%M")
        acknowledged = ic.control if len(ic.control) == 9 and ic.control.isdigit() else "0" * 9
        control = state.next_control()
        out = io.StringIO()
        write_ta1(out, route=route, control=control, when=now, acknowledged=acknowledged,
                  interchange_date=date6, interchange_time=time4, note=ic.note,
                  line_breaks=self.config.clearinghouse.line_breaks)  # fmt: skip
        self._publish("TA1", acknowledged, control, out.getvalue(), report)

    # -- claims: the 277CA ------------------------------------------------------------------
    def _claim_statuses(
        self, st: InboundSet, route: Route, state: State, now: datetime, report: StepReport
    ) -> SetStatus:
        """Front-end edits per claim; an accepted one gets a payer claim number and 835 work."""
        cfg = self.config
        out = SetStatus(st.batch_id, st.submitter_name, st.submitter_id)
        for claim in st.claims:
            times = state.submissions.get(claim.claim_id, 0) + 1
            state.submissions[claim.claim_id] = times
            rng = rng_for(cfg.seed, "reject", claim.claim_id, str(times))
            rejections = claim_edits(claim, cfg.claims, today=now.date(), rng=rng)
            target: ClaimRecord | None = None
            if claim.frequency in ("7", "8"):
                target_key = state.payer_claims.get(claim.original_reference or "")
                target = state.claims.get(target_key) if target_key else None
                if target is None or target.status not in ("pending", "paid"):
                    rejections.append(StatusCode.parse(cfg.claims.unknown_original_status))
            state.counters.clearinghouse_trace += 1
            trace = f"CH{state.counters.clearinghouse_trace:010d}"
            if rejections:
                report.claims_rejected += 1
                out.claims.append(ClaimStatus(claim, rejections, None, trace))
                continue
            report.claims_accepted += 1
            silence = cfg.silence
            if chance(rng_for(cfg.seed, "lost", claim.claim_id, str(times)), silence.no_277ca_rate):
                continue  # lost at the clearinghouse: no 277CA, the payer never hears of it
            state.counters.payer_claim += 1
            number = f"{cfg.payer.claim_number_prefix}{state.counters.payer_claim:010d}"
            record = ClaimRecord(
                key=number, claim=claim, route=route, payer_claim_number=number,
                received=now.date(),
            )  # fmt: skip
            state.claims[number] = record
            state.payer_claims[number] = number
            out.claims.append(ClaimStatus(claim, [], number, trace))
            due = now + timedelta(seconds=cfg.adjudication.delay_seconds)
            quiet = rng_for(cfg.seed, "silent", claim.claim_id, str(times))
            if target is not None:
                self._take_back(state, target, record, due)
            elif chance(quiet, silence.no_payment_rate):
                record.silent = True  # no 835 until a 276 asks about it
            else:
                self._schedule(state, "adjudicate", number, due)
        return out

    def _schedule(
        self,
        state: State,
        action: Action,
        key: str,
        due: datetime,
        *,
        target: str | None = None,
        earliest_step: int = 0,
    ) -> None:
        state.pending.append(
            Pending(
                seq=state.next_sequence(), action=action, key=key, target=target, due=due,
                earliest_step=earliest_step,
            )
        )  # fmt: skip

    def _take_back(
        self, state: State, target: ClaimRecord, record: ClaimRecord, due: datetime
    ) -> None:
        """A void (frequency 8) or replacement (7) of ``target``, accepted as ``record``.

        Work planned for ``target`` is dropped; a replacement of an earlier claim that was
        still waiting keeps its reversal of that earlier claim.
        """
        kept = []
        for p in state.pending:
            if target.key not in (p.key, p.target):
                kept.append(p)
            elif p.action == "replace" and p.key == target.key and p.target is not None:
                kept.append(
                    p.model_copy(update={"action": "void", "key": p.target, "target": None})
                )
        state.pending = kept
        paid = target.status == "paid" and target.payment is not None
        if record.claim.frequency == "8":
            record.status = "closed"
            target.status = "voided"
            if paid:
                self._schedule(state, "void", target.key, due)
        else:
            target.status = "replaced"
            if paid:
                self._schedule(state, "replace", record.key, due, target=target.key)
            else:
                self._schedule(state, "adjudicate", record.key, due)

    # -- payments: the 835 ------------------------------------------------------------------
    def _remit(self, state: State, now: datetime, report: StepReport) -> None:
        """Do the 835 work that is due, in the order it was planned; one 835 file per payer."""
        due = sorted(
            (p for p in state.pending if p.due <= now and p.earliest_step <= state.step),
            key=lambda p: p.seq,
        )
        if not due:
            return
        done = {p.seq for p in due}
        state.pending = [p for p in state.pending if p.seq not in done]
        batches: dict[tuple[Route, str], dict[str, Remittance]] = {}

        def add(record: ClaimRecord, adjudication: Adjudication) -> None:
            c = record.claim
            payees = batches.setdefault((record.route, c.payer_id), {})
            remittance = payees.get(c.billing_npi)
            if remittance is None:
                name = c.billing_name
                if c.billing_person and c.billing_first_name:
                    name = f"{c.billing_first_name} {c.billing_name}"
                remittance = Remittance(c.payer_id, c.payer_name, name, c.billing_npi,
                                        c.billing_tax_id, "")  # fmt: skip
                payees[c.billing_npi] = remittance
            remittance.claims.append((c, adjudication))
            if adjudication.status_code == "22":
                report.reversals += 1
            else:
                report.payments += 1

        for item in due:
            record = state.claims[item.key]
            if item.action == "adjudicate" and record.status == "pending":
                add(record, self._pay(state, record, now))
                crossed = record.payment is not None and record.payment.crossover_to is not None
                if crossed and self.config.adjudication.crossover_answers:
                    self._cross_over(state, record, now)
            elif item.action == "void":
                self._reverse(state, record, add)
            elif item.action == "replace" and item.target is not None:
                self._reverse(state, state.claims[item.target], add)
                add(record, self._pay(state, record, now))
            elif item.action == "correct" and record.status == "paid":
                self._reverse(state, record, add)
                state.counters.payer_claim += 1
                number = f"{self.config.payer.claim_number_prefix}{state.counters.payer_claim:010d}"
                state.payer_claims[number] = record.key
                record.payer_claim_number = number
                uplift = self.config.adjustments.correction_increase_percent
                add(record, self._pay(state, record, now, uplift=uplift, corrected=True))
        for (route, payer_id), payees in batches.items():
            remittances = list(payees.values())
            for r in remittances:
                state.counters.trace += 1
                r.trace = f"{state.counters.trace:012d}"
                self._provider_adjustments(state, r)
            control = state.next_control()
            out = io.StringIO()
            write_835(out, route=route, control=control, when=now, remittances=remittances,
                      payer=self.config.payer,
                      line_breaks=self.config.clearinghouse.line_breaks)  # fmt: skip
            self._publish("835", payer_id, control, out.getvalue(), report)

    def _pay(
        self,
        state: State,
        record: ClaimRecord,
        now: datetime,
        *,
        uplift: Decimal = ZERO,
        corrected: bool = False,
    ) -> Adjudication:
        """Adjudicate ``record``, carry the member's accumulator, maybe plan a reversal."""
        cfg = self.config
        claim = record.claim
        member = f"{claim.payer_id}|{claim.member_id}"
        rng = rng_for(cfg.seed, "adjudicate", claim.claim_id, record.payer_claim_number)
        payment, totals = adjudicate(
            claim, cfg.adjudication, state.accumulators.get(member, Accumulator()), rng,
            payer_claim_number=record.payer_claim_number, received=record.received,
            uplift_percent=uplift, random_denials=not corrected,
        )  # fmt: skip
        state.accumulators[member] = totals
        record.status = "paid"
        record.payment = payment
        record.paid_step = state.step
        if not corrected and chance(
            rng_for(cfg.seed, "reverse", claim.claim_id, record.payer_claim_number),
            cfg.adjustments.reversal_rate,
        ):
            due = now + timedelta(seconds=cfg.adjustments.reversal_delay_seconds)
            self._schedule(state, "correct", record.key, due, earliest_step=state.step + 1)
        return payment

    def _cross_over(self, state: State, record: ClaimRecord, now: datetime) -> None:
        """The payer forwarded the claim (crossover): the next payer adjudicates it with this
        payer's figures, in an 835 of its own one step later, as a secondary."""
        payment = record.payment
        assert payment is not None and payment.crossover_to is not None
        payer_id, payer_name = payment.crossover_to
        paid = {r.line.line_id: r.paid for r in payment.lines}
        share = {
            r.line.line_id: sum((a.amount for a in r.adjustments if a.group == "PR"), ZERO)
            for r in payment.lines
        }
        claim = record.claim.model_copy(update={
            "payer_id": payer_id, "payer_name": payer_name, "sequence": "S",
            "prior_paid": paid, "prior_share": share,
        })  # fmt: skip
        state.counters.payer_claim += 1
        number = f"{self.config.payer.claim_number_prefix}{state.counters.payer_claim:010d}"
        state.claims[number] = ClaimRecord(
            key=number,
            claim=claim,
            route=record.route,
            payer_claim_number=number,
            received=now.date(),
        )
        state.payer_claims[number] = number
        self._schedule(state, "adjudicate", number, now, earliest_step=state.step + 1)

    def _reverse(
        self,
        state: State,
        record: ClaimRecord,
        add: Callable[[ClaimRecord, Adjudication], None],
    ) -> None:
        """Take back the payment of ``record`` (if it has one) and give back its accumulator."""
        if record.payment is None:
            return
        member = f"{record.claim.payer_id}|{record.claim.member_id}"
        state.accumulators[member] = release(
            state.accumulators.get(member, Accumulator()), record.payment
        )
        add(record, reverse(record.payment))
        record.payment = None

    def _provider_adjustments(self, state: State, r: Remittance) -> None:
        """PLB: maybe interest (L6) or a recoupment (WO); then the forwarding balance (FB).

        BPR02 may not be negative: when the claims pay less than what is taken back, the
        difference is carried (FB negative) and taken from the next 835 (FB positive).
        """
        cfg = self.config.adjustments
        rng = rng_for(self.config.seed, "plb", r.trace)
        paid = r.paid
        if chance(rng, cfg.plb_rate):
            in_this = {a.payer_claim_number for _, a in r.claims}
            earlier = [
                rec
                for _, rec in sorted(state.claims.items())
                if rec.status == "paid"
                and rec.payment is not None
                and rec.payment.paid > 0
                and rec.paid_step is not None
                and rec.paid_step < state.step
                and rec.claim.payer_id == r.payer_id
                and rec.claim.billing_npi == r.payee_npi
                and rec.payer_claim_number not in in_this
            ]
            kinds = (["L6"] if paid > 0 else []) + (["WO"] if earlier else [])
            kind = rng.choice(kinds) if kinds else None
            if kind == "L6":
                interest = max(cents(paid * cfg.interest_percent / 100), _CENT)
                reference = r.claims[0][0].claim_id if r.claims else r.trace
                r.adjustments.append(ProviderAdjustment("L6", reference, -interest))
            elif kind == "WO":
                rec = rng.choice(earlier)
                assert rec.payment is not None
                taken = max(cents(rec.payment.paid * cfg.recoupment_percent / 100), _CENT)
                r.adjustments.append(ProviderAdjustment("WO", rec.payer_claim_number, taken))
        key = f"{r.payer_id}|{r.payee_npi}"
        owed = state.forward_balances.get(key)
        net = r.amount
        if owed is not None and net > 0:
            applied = min(owed.amount, net)
            r.adjustments.append(ProviderAdjustment("FB", owed.reference, applied))
            owed.amount -= applied
            if owed.amount == 0:
                del state.forward_balances[key]
            net -= applied
        if net < 0:
            r.adjustments.append(ProviderAdjustment("FB", r.trace, net))
            if key in state.forward_balances:
                state.forward_balances[key].amount -= net
            else:
                state.forward_balances[key] = ForwardBalance(amount=-net, reference=r.trace)


def serve(
    simulator: Simulator,
    *,
    interval: float = 5.0,
    once: bool = False,
    stop: threading.Event | None = None,
    on_step: Callable[[StepReport], None] | None = None,
) -> None:
    """Step every ``interval`` seconds until ``stop`` is set (or once, with ``once``)."""
    stop = stop or threading.Event()
    while True:
        report = simulator.step()
        if on_step is not None:
            on_step(report)
        if once or stop.wait(interval):
            log.info("simulator.stopped", reason="once" if once else "stop requested")
            return
