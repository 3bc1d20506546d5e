"""Fixtures for the public site: the service's fresh app per test (SQLite, and PostgreSQL when
`TEST_DATABASE_URL` is set), with a completed draw built through real services."""

from typing import Any

import pytest
from flask import Flask

from tests.public_site.world import build_office, complete_draw


@pytest.fixture
def completed(app: Flask) -> dict[str, Any]:
    """An office (names not published) with the demo year's draw completed and fully revealed."""
    office_id = build_office(app)
    pk = complete_draw(app, office_id)
    return {"office_id": office_id, "draw_pk": pk, "draw_id": "kinmen-114-annual"}
