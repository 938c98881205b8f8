"""Structured logs: JSON lines (a console format on a terminal), patient data masked.

Every log call names what it is about (claim id, file, partner); values under keys that hold
patient data are masked before anything is written, whoever called the logger. An error is
logged with its traceback, but never with local variables, and each exception says only its
first line: what follows it (a database's DETAIL row, SQL parameters) may hold patient data.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

PATIENT_KEYS = frozenset(
    {"first_name", "last_name", "middle_name", "name", "patient", "patient_name", "member_id",
     "birth_date", "dob", "subscriber", "address"}
)  # fmt: skip


def mask(value: Any) -> str:
    """``DOE`` → ``D**``, ``XYZ123456789`` → ``X**********9``: enough to tell two apart."""
    text = str(value)
    if len(text) <= 2:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 2) + text[-1]


def mask_patient_data(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key in PATIENT_KEYS:
            event[key] = mask(event[key])
    return event


def _chain(te: traceback.TracebackException) -> list[str]:
    out: list[str] = []
    if te.__cause__ is not None:
        out += _chain(te.__cause__)
        out.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif te.__context__ is not None and not te.__suppress_context__:
        out += _chain(te.__context__)
        out.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    out.append("Traceback (most recent call last):\n")
    out += te.stack.format()
    said = "".join(te.format_exception_only()).strip().splitlines()
    out.append((said[0] if said else "an exception without a message") + "\n")
    return out


def traceback_text(exc: BaseException) -> str:
    """The traceback of ``exc`` (and of its causes), each exception cut to its first line."""
    return "".join(_chain(traceback.TracebackException.from_exception(exc))).rstrip("\n")


def render_exception(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``exc_info`` (as ``log.exception`` sets it) into an ``exception`` text, see above."""
    info = event.pop("exc_info", None)
    if info is True:
        info = sys.exc_info()
    exc = info[1] if isinstance(info, tuple) else info
    if isinstance(exc, BaseException):
        event["exception"] = traceback_text(exc)
    return event


def configure(
    *, json: bool | None = None, level: int = logging.INFO, file: TextIO | None = None
) -> None:
    """Send logs to stderr (or ``file``): JSON lines, or a readable console on a terminal."""
    out = file or sys.stderr
    as_json = not out.isatty() if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_patient_data,
            render_exception,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
