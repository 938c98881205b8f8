"""Structured logs: JSON lines (a console format on a terminal), patient data masked.

Every log call names what it is about (claim id, file, partner); values under keys that hold
patient data are masked before anything is written, whoever called the logger.
"""

from __future__ import annotations

import logging
import sys
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
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
