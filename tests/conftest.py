"""Shared fixtures. The known-answer vectors are in `tests/vectors` (docs/protocol.md names them)."""

from pathlib import Path

import pytest

VECTORS = Path(__file__).parent / "vectors"


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The folder holding `draw/` and `tlog/` known-answer cases."""
    return VECTORS
