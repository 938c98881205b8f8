"""Control numbers and interchanges: what was built, with which claims, and when it was sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gateway.ledger import driver_rows
from gateway.ledger.base import LedgerBase
from gateway.ledger.bulk import ClaimStates, ClaimWrites, checked
from gateway.ledger.leases import hold_leases
from gateway.ledger.records import (
    CHUNK,
    MAX_CONTROL_NUMBER,
    ClaimEvent,
    ControlNumbersExhausted,
    Interchange,
    LedgerError,
    OutboxItem,
    claim_key,
    interchange_of,
    utc_now,
)
from gateway.ledger.schema import (
    ClaimState,
    control_numbers,
    interchange_claims,
    interchanges,
    leases,
)

_LINK_COLUMNS = ("interchange_id", "claim_id", "version")


@dataclass(frozen=True, slots=True)
class BuiltInterchange:
    """An interchange file as built: whose, its ISA13 and GS06, what kind, name and hash."""

    partner: str
    control_number: int
    group_control_number: int
    kind: str
    file_name: str
    sha256: str


def record_interchange(
    engine: Engine,
    built: BuiltInterchange,
    *,
    work_keys: Sequence[str],
    owner: str,
    token: int | None,
    fill: Callable[[Connection, int, datetime], None],
) -> int:
    """Record a built interchange (837, 270 or 276) with the work it carries (claims,
    eligibility requests or status inquiries, by their lease keys), in one transaction; its id.

    With ``token`` (the lease's fencing token) the work must still be leased to ``owner`` with
    it, else :class:`LeaseLost`; then the interchange's row (its ISA13 must have been reserved
    for ``partner``; one used twice is refused), ``fill(connection, id, now)`` (the work moved
    into it), and ``owner``'s leases on the work given back. Either all of it or nothing: the
    file is then an orphan, never sent, and its work is still queued.
    """
    now = utc_now()
    try:
        with engine.begin() as connection:
            if token is not None:
                hold_leases(connection, work_keys, owner=owner, token=token)
            last = connection.execute(
                select(control_numbers.c.last_interchange)
                .where(control_numbers.c.partner == built.partner)
            ).scalar()  # fmt: skip
            if last is None or not 0 < built.control_number <= last:
                raise LedgerError(
                    f"partner {built.partner}: control number {built.control_number} was never "
                    "reserved"
                )
            interchange_id = int(
                connection.execute(
                    interchanges.insert()
                    .values(
                        partner=built.partner, control_number=built.control_number,
                        group_control_number=built.group_control_number, kind=built.kind,
                        file_name=built.file_name, sha256=built.sha256,
                        claim_count=len(work_keys), created_at=now,
                    )
                    .returning(interchanges.c.id)
                ).scalar_one()
            )  # fmt: skip
            fill(connection, interchange_id, now)
            connection.execute(
                leases.delete().where(
                    leases.c.work_key.in_(list(work_keys)), leases.c.owner == owner
                )
            )
    except IntegrityError as error:
        raise LedgerError(
            f"partner {built.partner}: control number {built.control_number} is already used"
        ) from error
    return interchange_id


class InterchangeBook(LedgerBase):
    """Control numbers and interchanges."""

    def reserve_control_numbers(self, partner: str) -> tuple[int, int]:
        """The next (ISA13, GS06) for ``partner``: atomic, increasing, never handed out twice."""
        with self.engine.begin() as connection:
            stmt = self._insert(connection, control_numbers).values(
                partner=partner, last_interchange=1, last_group=1
            )
            stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=[control_numbers.c.partner],
                set_={
                    "last_interchange": control_numbers.c.last_interchange + 1,
                    "last_group": control_numbers.c.last_group + 1,
                },
            ).returning(control_numbers.c.last_interchange, control_numbers.c.last_group)
            interchange, group = connection.execute(stmt).one()
            if interchange > MAX_CONTROL_NUMBER or group > MAX_CONTROL_NUMBER:
                raise ControlNumbersExhausted(
                    f"partner {partner}: control numbers would exceed {MAX_CONTROL_NUMBER}"
                )
            return int(interchange), int(group)

    def batch_interchange(
        self,
        partner: str,
        control_number: int,
        group_control_number: int,
        *,
        kind: str,
        file_name: str,
        sha256: str,
        claim_ids: Sequence[str],
        owner: str,
        token: int | None = None,
    ) -> int:
        """Record a built interchange and move its claims to ``batched``, in one transaction.

        Either the interchange exists and every claim is in it, or nothing happened: the file
        is then an orphan, never sent. The claims are ``submitted`` only once the upload is
        confirmed (``mark_interchange_sent``). With ``token`` (the lease's fencing token) the
        claims must still be leased to ``owner`` with it, else :class:`LeaseLost`.
        """

        def batch(connection: Connection, interchange_id: int, now: datetime) -> None:
            links = []
            detail = {"file": file_name, "control_number": f"{control_number:09d}"}
            view, writes = ClaimStates(connection, claim_ids), ClaimWrites(now)
            for claim_id in claim_ids:
                version = checked(view, claim_id, None, ClaimState.BATCHED)
                writes.transition(view, claim_id, version, ClaimState.BATCHED, "837", detail)
                links.append((interchange_id, claim_id, version))
            writes.flush(connection)
            if links:
                driver_rows.insert_rows(connection, interchange_claims, _LINK_COLUMNS, links)

        built = BuiltInterchange(partner, control_number, group_control_number, kind, file_name,
                                 sha256)  # fmt: skip
        return record_interchange(
            self.engine, built, work_keys=[claim_key(c) for c in claim_ids], owner=owner,
            token=token, fill=batch,
        )  # fmt: skip

    def mark_interchange_sent(
        self,
        interchange_id: int,
        *,
        status_records: Callable[[str, int], Iterable[OutboxItem]],
        at: datetime | None = None,
    ) -> list[ClaimEvent]:
        """The upload is confirmed: the interchange is sent and its claims ``submitted`` (with
        their status records), in one transaction; nothing when it was marked before.

        A claim a reply already moved on (the reply proved the upload first) keeps its state;
        it still gets its ``submitted`` event and record, once.
        """
        now = at or utc_now()
        events: list[ClaimEvent] = []
        with self.engine.begin() as connection:
            row = connection.execute(
                select(interchanges).where(interchanges.c.id == interchange_id).with_for_update()
            ).first()
            if row is None:
                raise LedgerError(f"interchange {interchange_id}: not in the ledger")
            if row.sent_at is not None:
                return events
            connection.execute(
                update(interchanges).where(interchanges.c.id == interchange_id).values(sent_at=now)
            )
            detail = {"file": row.file_name, "control_number": f"{row.control_number:09d}"}
            records: list[OutboxItem] = []
            sent = connection.execute(
                select(interchange_claims.c.claim_id, interchange_claims.c.version)
                .where(interchange_claims.c.interchange_id == interchange_id)
                .order_by(interchange_claims.c.claim_id)
            ).all()
            view, writes = ClaimStates(connection, (c for c, _ in sent)), ClaimWrites(now)
            for claim_id, version in sent:
                current = view.get(claim_id, version)
                if current is None or current[1] == ClaimState.QUEUED:
                    continue  # set back to queued meanwhile: it goes out in another file
                if current[1] == ClaimState.BATCHED:
                    event = writes.transition(
                        view, claim_id, version, ClaimState.SUBMITTED, "837", detail
                    )
                else:
                    late = {**detail, "claim_state": current[1].value}
                    event = writes.event(claim_id, version, ClaimState.SUBMITTED, "837", late)
                events.append(event)
                records.extend(status_records(claim_id, version))
            writes.flush(connection)
            self._add_outbox(connection, records, now)
        return events

    def sent_versions(self, claim_ids: Sequence[str]) -> dict[str, int]:
        """The newest version of each claim that went out in an interchange (unknown or never
        sent claims left out): the version a reply about the claim is about."""
        found: dict[str, int] = {}
        with self.engine.begin() as connection:
            for start in range(0, len(claim_ids), CHUNK):
                rows = connection.execute(
                    select(interchange_claims.c.claim_id, func.max(interchange_claims.c.version))
                    .where(interchange_claims.c.claim_id.in_(claim_ids[start : start + CHUNK]))
                    .group_by(interchange_claims.c.claim_id)
                ).all()
                found.update((str(claim_id), int(version)) for claim_id, version in rows)
        return found

    def interchange(
        self,
        *,
        partner: str | None = None,
        control_number: int | None = None,
        group_control_number: int | None = None,
        file_name: str | None = None,
    ) -> Interchange | None:
        """One interchange, by partner and ISA13 or GS06, or by its file name."""
        query = select(interchanges)
        if partner is not None:
            query = query.where(interchanges.c.partner == partner)
        if control_number is not None:
            query = query.where(interchanges.c.control_number == control_number)
        if group_control_number is not None:
            query = query.where(interchanges.c.group_control_number == group_control_number)
        if file_name is not None:
            query = query.where(interchanges.c.file_name == file_name)
        with self.engine.begin() as connection:
            row = connection.execute(query.order_by(interchanges.c.id.desc()).limit(1)).first()
        return None if row is None else interchange_of(row)

    def interchange_claims(self, interchange_id: int) -> list[tuple[str, int]]:
        """The claims (id, version) sent in an interchange."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(interchange_claims.c.claim_id, interchange_claims.c.version)
                .where(interchange_claims.c.interchange_id == interchange_id)
                .order_by(interchange_claims.c.claim_id)
            ).all()
        return [(str(r.claim_id), int(r.version)) for r in rows]

    def claim_interchanges(self, claim_id: str) -> list[Interchange]:
        """Every interchange that carried a version of the claim, oldest first."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(interchanges)
                .join(interchange_claims, interchange_claims.c.interchange_id == interchanges.c.id)
                .where(interchange_claims.c.claim_id == claim_id)
                .order_by(interchanges.c.id)
            ).all()
        return [interchange_of(r) for r in rows]
