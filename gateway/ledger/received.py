"""Files received from partners: recorded once, with the claim changes they carry."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from gateway.ledger.base import LedgerBase
from gateway.ledger.eligibility import apply_request_updates
from gateway.ledger.records import (
    ChangesApplied,
    ClaimChange,
    RequestUpdate,
    utc_now,
)
from gateway.ledger.schema import (
    received_files,
)


class ReceivedFileBook(LedgerBase):
    """Received files."""

    def record_received_file(
        self, sha256: str, *, partner: str, name: str, kind: str, state: str = "received"
    ) -> bool:
        """Record a file taken in from a partner; False if this content was seen before."""
        recorded = self.apply_reply(sha256, partner=partner, name=name, kind=kind, changes=(),
                                    state=state)  # fmt: skip
        return recorded is not None

    def apply_reply(
        self,
        sha256: str,
        *,
        partner: str,
        name: str,
        kind: str,
        changes: Sequence[ClaimChange],
        state: str = "processed",
        requests: Sequence[RequestUpdate] = (),
    ) -> ChangesApplied | None:
        """Record a received file and apply its claim changes (and eligibility answers or
        refusals, ``requests``), in one transaction.

        None when this content was recorded before (nothing applied again): a file processed
        before a crash is not processed twice, one that was not is processed whole.
        """
        now = utc_now()
        with self.engine.begin() as connection:
            stmt = self._insert(connection, received_files).values(
                partner=partner, name=name, sha256=sha256, kind=kind, received_at=now,
                state=state,
            )  # fmt: skip
            stmt = stmt.on_conflict_do_nothing(  # type: ignore[attr-defined]
                index_elements=[received_files.c.sha256]
            ).returning(received_files.c.id)
            if connection.execute(stmt).first() is None:
                return None
            result = self._apply_changes(connection, changes, now)
            apply_request_updates(self, connection, requests, now, result)
            return result

    def received_file_state(self, sha256: str) -> str | None:
        """What became of a received file of this content (processed, held, quarantined)."""
        with self.engine.begin() as connection:
            state = connection.execute(
                select(received_files.c.state).where(received_files.c.sha256 == sha256)
            ).scalar()
        return None if state is None else str(state)

    def received_file_known(self, sha256: str) -> bool:
        with self.engine.begin() as connection:
            return (
                connection.execute(
                    select(received_files.c.id).where(received_files.c.sha256 == sha256)
                ).first()
                is not None
            )

    def received_file_partner(self, name: str) -> str | None:
        """The partner a file of this name came from (the latest such file)."""
        with self.engine.begin() as connection:
            partner = connection.execute(
                select(received_files.c.partner)
                .where(received_files.c.name == name)
                .order_by(received_files.c.id.desc())
                .limit(1)
            ).scalar()
        return None if partner is None else str(partner)

    def received_name_known(self, partner: str, name: str) -> bool:
        """Whether a file of this name came from ``partner`` before (for ``leave`` downloads)."""
        with self.engine.begin() as connection:
            return (
                connection.execute(
                    select(received_files.c.id).where(
                        received_files.c.partner == partner, received_files.c.name == name
                    )
                ).first()
                is not None
            )
