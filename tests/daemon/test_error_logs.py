"""Errors are logged with their traceback and never with SQL parameters (patient data).

A claim record holds names, member ids and birth dates; when a ledger write fails, SQLAlchemy's
error text carries the statement's parameters, and PostgreSQL's DETAIL line the failing row.
Neither may reach a log line, partners.json or the cycle's failures.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from typing import Any

from gateway.daemon.runner import CycleReport, Daemon
from gateway.ledger.ledger import Ledger
from gateway.ledger.schema import claims
from gateway.logs import configure, traceback_text
from tests.daemon.homes import make_home
from tests.ledger.conftest import ledger as ledger  # the fixture, emptied per test

SECRET = ("QUACKENBUSH", "HIERONYMUS", "XYZ123456789", "1980-05-14")


def _failing_write(ledger: Ledger) -> None:
    """A claim row whose kind is missing (NOT NULL): the database refuses it."""
    record = {"last_name": SECRET[0], "first_name": SECRET[1], "member_id": SECRET[2],
              "birth_date": SECRET[3]}  # fmt: skip
    now = datetime.now(UTC)
    with ledger.engine.begin() as connection:
        connection.execute(claims.insert().values(
            claim_id="LOG-1", version=1, kind=None, frequency="1", partner="acme",
            payer_id="ACMEH", state="queued", record=json.dumps(record), created_at=now,
            updated_at=now, patient_last_name=SECRET[0], patient_first_name=SECRET[1],
        ))  # fmt: skip


def test_a_failed_step_logs_its_traceback_without_patient_data(
    tmp_path: Any, db_url: str, ledger: Ledger
) -> None:
    home = make_home(tmp_path, database=db_url)
    daemon = Daemon(home, ledger=ledger)
    out = io.StringIO()
    configure(json=True, level=logging.INFO, file=out)
    try:
        report = CycleReport()
        daemon._step(report, "intake", _failing_write, ledger)
    finally:
        configure(json=True, level=logging.WARNING)
    [line] = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["event"] == "step_failed" and line["level"] == "error"
    assert line["error"].startswith("IntegrityError: ")
    trace = line["exception"]
    assert trace.startswith("Traceback (most recent call last):")
    assert "_failing_write" in trace and "connection.execute(claims.insert()" in trace
    said = out.getvalue() + json.dumps(report.failures)
    for secret in SECRET:
        assert secret not in said, secret
    assert "exc_info" not in line and "[parameters" not in said


def test_tracebacks_keep_only_the_first_line_of_each_exception() -> None:
    name = "".join(reversed("EOD"))  # not in this source line, which the traceback quotes
    try:
        try:
            raise KeyError("plain")
        except KeyError as first:
            raise ValueError(f"one line\nDETAIL: Failing row contains ({name}, JANE)") from first
    except ValueError as exc:
        text = traceback_text(exc)
    assert "KeyError: 'plain'" in text and "direct cause" in text
    assert text.endswith("ValueError: one line") and "DOE" not in text
