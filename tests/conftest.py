"""Shared fixtures: where the public X12 corpus and the field guide examples live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.sshd"]  # the private OpenSSH server fixture

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "gateway" / "samples"


def _shared() -> Path:
    return REPO.parent / "shared"


def corpus_dir() -> Path | None:
    """$GATEWAY_CORPUS, else ../shared/corpus beside the repo; None when neither exists."""
    env = os.environ.get("GATEWAY_CORPUS")
    if env:
        return Path(env)
    default = _shared() / "corpus"
    return default if default.is_dir() else None


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if path is None or not path.is_dir():
        pytest.skip("X12 corpus not found: set GATEWAY_CORPUS to the corpus folder")
    return path


@pytest.fixture(scope="session")
def examples() -> Path:
    path = _shared() / "docs" / "x12-examples"
    if not path.is_dir():
        pytest.skip("field guide examples not found beside the repo (../shared/docs/x12-examples)")
    return path
