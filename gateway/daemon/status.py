"""Status records for the practice system (contract section 3, ``spool/status/``).

Every record carries a stable ``id`` built from what caused it (claim, version, event and the
file or control number behind it), so processing the same input again after a crash produces
the same id and the outbox keeps one copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.ledger.ledger import OutboxItem
from gateway.ledger.schema import OutboxKind


def status_record(
    *,
    event: str,
    claim_id: str,
    version: int | None,
    partner: str | None,
    source: str,
    cause: str,
    reasons: list[dict[str, str]] | None = None,
    **extra: Any,
) -> OutboxItem:
    """One status event; ``cause`` names what triggered it (a file hash, a control number)."""
    record: dict[str, Any] = {
        "id": f"status-{claim_id}-v{version or 0}-{event}-{cause}",
        "event": event,
        "claim_id": claim_id,
        "version": version,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "partner": partner,
        "source": source,
        "reasons": reasons or [],
    }
    record.update(extra)
    return OutboxKind.STATUS, record
