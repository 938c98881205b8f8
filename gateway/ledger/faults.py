"""Telling "the ledger cannot be reached" apart from "the ledger cannot hold this value".

The first is the database's state: the input waits and is tried again. The second is the
input's own fault (a value too long for its column, a number out of range, a broken constraint):
trying again changes nothing, so the input is set aside with the reason.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


def is_unreachable(exc: BaseException) -> bool:
    """A lost or refused connection, a lock or a timeout: the database's state, not the data's."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (OperationalError, InterfaceError))


def plain_text(exc: BaseException) -> str:
    """What went wrong, in one line, without the SQL or its parameters (patient data)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no message'}"
