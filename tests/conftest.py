"""Shared fixtures: the public X12 corpus and the field guide examples, copied into tests/data.

Everything a test reads from outside the repository lives in ``tests/data/`` (provenance and
licenses in ``tests/data/README.md``), so a fresh clone runs every test with nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

pytest_plugins = ["tests.sshd"]  # the private OpenSSH server fixture

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "gateway" / "samples"
DATA = REPO / "tests" / "data"
CORPUS = DATA / "corpus"
EXAMPLES = DATA / "x12-examples"

# Code under test that logs before any test configured the logs (gateway.logs.configure) goes
# through structlog's default console renderer, which draws an exception with rich: the source
# of every frame's whole module highlighted and its local variables. Five tracebacks through
# SQLAlchemy took 20 s of CPU. The plain traceback says the same in microseconds.
structlog.configure(
    processors=[
        *structlog.get_config()["processors"][:-1],
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
    ]
)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The public X12 corpus (tests/data/corpus, with its PROVENANCE.md and index.tsv)."""
    return CORPUS


@pytest.fixture(scope="session")
def examples() -> Path:
    """The field guide's validated example files (tests/data/x12-examples)."""
    return EXAMPLES
