"""What tests build their world from, shared by every test folder: accounts made through the real
account service (`make_user`), the sign-in a browser would do (`AuthActions`, second factor
included), and the database each test runs on. Draws are built by `tests/service/lifecycle.py`
(a draft, announced, run to its result — from the demo's own `service.demo.demo_setup`) and
review cases in given states by `tests/service/reviewing.py`; the fixtures (`app`, `client`,
`offices`, `auth`) are in `tests/conftest.py`."""

import functools
import os
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql
from sqlalchemy import select

from service.accounts import create_user
from service.extensions import db
from service.models import Office, User

PASSWORD = "correct horse battery staple"
BACKENDS = ["sqlite", "postgres"]


def database_url(backend: str, tmp_path: Path) -> str:
    """The test database of `backend`: a fresh SQLite file, or `TEST_DATABASE_URL` (else skip) —
    under pytest-xdist one database per worker beside it (`<name>_gw0`, …), created when missing."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _worker_database(url, worker) if worker else url


@functools.cache
def _worker_database(url: str, worker: str) -> str:
    """`url` with the worker's name appended to its database name; the database exists."""
    base, name = url.rsplit("/", 1)
    own = f"{name}_{worker}"
    admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (own,)).fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(own)))
    return f"{base}/{own}"


def redis_url() -> str:
    """`TEST_REDIS_URL` (else skip); under pytest-xdist each worker counts down from its number
    (`/15` for gw0, `/14` for gw1, …), since the tests empty their database."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, number = url.rsplit("/", 1)
    return f"{base}/{(int(number or 0) - int(worker.removeprefix('gw'))) % 16}"


class EnglishClient(FlaskClient):
    """A test client that reads pages in English (the `lang` cookie), so assertions read naturally;
    tests of the zh-TW pages ask for them with `?lang=zh`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_cookie("lang", "en")


def make_user(office: Office, username: str, role: str) -> User:
    """Create a user through the real account service."""
    return create_user(
        db.session, office=office, username=username, display_name=username.title(), password=PASSWORD, role=role
    )


def totp_code(app: Flask, username: str) -> str:
    """The code a user's authenticator app would show now (the next unused time step)."""
    import time

    import pyotp

    from service.config import settings_of
    from service.signin import totp_secret

    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == username)).one()
        secret = totp_secret(user, settings_of(app).secret_key)
        assert secret is not None, "no TOTP secret: open the enrolment page first"
        totp = pyotp.TOTP(secret)
        step = max(int(time.time()) // totp.interval, (user.totp_last_step or 0) + 1)
        return totp.generate_otp(step)


class AuthActions:
    """Sign in and out through the real login form (flaskr's AuthActions), second factor included:
    every role enrols an authenticator on its first sign-in; the recovery codes shown once after
    enrolment are kept in `recovery_codes`, and the returned response is the sign-in's last
    redirect (to the user's home page)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.recovery_codes: list[str] = []

    def login(self, username: str, password: str = PASSWORD) -> Any:
        response = self.client.post("/login", data={"username": username, "password": password})
        location = response.headers.get("Location", "")
        if response.status_code == 303 and location.endswith(("/login/code", "/login/enrol")):
            page = self.client.get(location)  # the enrolment page sets up the secret
            assert page.status_code == 200
            code = totp_code(self.client.application, username)
            response = self.client.post(location, data={"code": code})
            if response.status_code == 303 and response.headers["Location"].endswith("/account/recovery-codes"):
                shown = self.client.get("/account/recovery-codes").get_data(as_text=True)
                self.recovery_codes = re.findall(r"<li>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</li>", shown)
                assert len(self.recovery_codes) == 10
                home = re.search(r'<a href="([^"]+)">(?:Continue|繼續)</a>', shown)
                assert home is not None
                response.headers["Location"] = home.group(1)  # where the codes page sends the user on
        return response

    def logout(self) -> Any:
        return self.client.post("/logout")
