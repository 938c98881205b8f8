"""Shared fixtures: the public X12 corpus and the field guide examples, copied into tests/data.

Everything a test reads from outside the repository lives in ``tests/data/`` (provenance and
licenses in ``tests/data/README.md``), so a fresh clone runs every test with nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.sshd"]  # the private OpenSSH server fixture

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "gateway" / "samples"
DATA = REPO / "tests" / "data"
CORPUS = DATA / "corpus"
EXAMPLES = DATA / "x12-examples"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The public X12 corpus (tests/data/corpus, with its PROVENANCE.md and index.tsv)."""
    return CORPUS


@pytest.fixture(scope="session")
def examples() -> Path:
    """The field guide's validated example files (tests/data/x12-examples)."""
    return EXAMPLES
