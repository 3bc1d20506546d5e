"""Reliability tests start real gunicorn servers; each backend gets its own scratch database."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.harness import environment, scratch_postgres


@pytest.fixture(params=["sqlite", "postgres"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a fresh deployment: SQLite file, or a scratch PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'reliability.db'}"
    else:
        maybe = scratch_postgres(f"sunshine_rel_{request.node.name.split('[')[0][-20:]}")
        if maybe is None:
            pytest.skip("TEST_DATABASE_URL is not set")
        url = maybe
    yield environment(url, tmp_path)
