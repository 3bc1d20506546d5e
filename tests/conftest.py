"""Shared fixtures: a fresh app and database per test, on SQLite and (when `TEST_DATABASE_URL` is
set) on PostgreSQL too, its client, two offices with their staff, and sign-in (helpers in
`tests/builders.py`). The known-answer vectors are in `tests/vectors` (docs/protocol.md names them)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.accounts import get_or_create_office
from service.config import load_settings
from service.extensions import db
from tests.builders import BACKENDS, AuthActions, EnglishClient, database_url, make_user

VECTORS = Path(__file__).parent / "vectors"


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The folder holding `draw/` and `tlog/` known-answer cases."""
    return VECTORS


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2id at its cheapest in-process: a test's accounts cost milliseconds, not 0.2 s a hash.

    Hashing and verifying stay real argon2id through `service.accounts`; only the cost parameters
    shrink. Servers the reliability and browser tests start run with the product's parameters."""
    import service.accounts

    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service.accounts, "_hasher", cheap)
        patch.setattr(service.accounts, "_DUMMY_HASH", cheap.hash("not a real password, only for timing"))
        yield


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """A new application with empty tables, on each backend."""
    settings = load_settings({"SUNSHINE_ENV": "test", "SECRET_KEY": "test-secret-" + "x" * 40}).with_overrides(
        database_url=database_url(request.param, tmp_path),
        instance_dir=tmp_path / "instance",
        keys_dir=tmp_path / "keys",
        key_passphrase="test key passphrase",
        key_kdf_memory_kib=64,  # argon2id's floor for 4 lanes is 32 KiB; the product's default is 256 MiB
        drand_relays=("http://127.0.0.1:9",),
        drand_timeout_seconds=1.0,
    )
    application = create_app(settings)
    application.test_client_class = EnglishClient
    application.config["WTF_CSRF_ENABLED"] = False
    application.config["RATELIMIT_ENABLED"] = False
    with application.app_context():
        db.drop_all()
        db.create_all()
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of `app`."""
    return app.test_client()


@pytest.fixture
def offices(app: Flask) -> dict[str, Any]:
    """Two offices, each with an admin, an operator and a reviewer."""
    with app.app_context():
        first = get_or_create_office(db.session, "kinmen", "金門縣政府政風處")
        second = get_or_create_office(db.session, "penghu", "澎湖縣政府政風處")
        for office in (first, second):
            for role in ("admin", "operator", "reviewer"):
                make_user(office, f"{office.slug}-{role}", role)
        db.session.commit()
        return {"kinmen": first.id, "penghu": second.id}


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    """Login helper bound to `client`."""
    return AuthActions(client)
