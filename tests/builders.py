"""What tests build their world from, shared by every test folder: accounts made through the real
account service (`make_user`), the sign-in a browser would do (`AuthActions`, second factor
included), the database each test runs on, and draws and review cases through the real
services — a draft (`prepare_draft`, from the demo's own `service.demo.demo_setup`), announced
and run to its result (`run_to_result`, the demo's inputs through `service.demo.enter_demo_inputs`),
a completed draw (`completed_draw`) and its review cases assigned and walked into given states
(`open_and_assign`, `walk`). The fixtures (`app`, `client`, `offices`, `auth`) are in
`tests/conftest.py`."""

import functools
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql
from sqlalchemy import select

from service.accounts import create_user
from service.config import settings_of
from service.declarations import import_upload, start_upload
from service.demo import (
    DEMO_BEACON,
    DEMO_BEACON_SEEN,
    DEMO_DICE,
    DEMO_WITNESS_USERS,
    DEMO_WITNESSES,
    create_witness_users,
    demo_csv,
    demo_setup,
    enter_demo_inputs,
)
from service.draw_lifecycle import announce, complete
from service.draws import DrawSetup, save_draft
from service.extensions import db
from service.keystore import forget_unlocked_keys, generate_key
from service.models import Draw, Office, ReviewCase, User
from service.reviews import assign, open_cases_for_draw, transition

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


# --- draws -----------------------------------------------------------------------------------------

#: The recorded real round 657413 is out at 11:00:03Z. A draw starting at 10:40:33 with a
#: 19-minute input window closes at 10:59:33, and the first round 30 s after that is 657413
#: (protocol §4), so the console's own announcement picks the round whose beacon the tests have.
SCHEDULED = datetime(2023, 9, 15, 10, 40, 33, tzinfo=UTC)
WINDOW_MINUTES = 19
INPUTS_CLOSE = SCHEDULED + timedelta(minutes=WINDOW_MINUTES)
ANNOUNCED = SCHEDULED - timedelta(days=7)
#: When each input is entered: dice and secret inside the window, the beacon once it is out.
DICE_AT = SCHEDULED + timedelta(seconds=60)
SECRET_AT = SCHEDULED + timedelta(seconds=90)
BEACON_AT = DEMO_BEACON_SEEN
BEACON = DEMO_BEACON
DICE = DEMO_DICE


def add_witnesses(office: Office) -> list[User]:
    """The office's witness accounts for `DEMO_WITNESSES`: `<slug>-witness1` (李大同), 2 (王小華), 3 (陳美惠)."""
    accounts = tuple(
        (f"{office.slug}-witness{number}", display, "witness", PASSWORD)
        for number, (_username, display, _role, _password) in enumerate(DEMO_WITNESS_USERS, start=1)
    )
    return create_witness_users(db.session, office, accounts)


def draw_setup(
    draw_id: str, title: str = "114年度公職人員財產申報實質審查抽籤", witnesses: tuple[str, ...] = DEMO_WITNESSES
) -> DrawSetup:
    """The draft every test draw starts from: the demo's (year 114, the default rule, 20 dice and
    the recorded drand round), live at `SCHEDULED` with the input window of `WINDOW_MINUTES`."""
    return demo_setup(draw_id, title, 114, SCHEDULED, WINDOW_MINUTES, witnesses)


def prepare_draft(app: Flask, office_id: int, operator_username: str, draw_id: str = "kinmen-114-annual") -> int:
    """Import the demo year, generate the office key, save a draft; returns the draw's primary key."""
    forget_unlocked_keys()
    with app.app_context():
        office = db.session.get(Office, office_id)
        operator = db.session.query(User).filter_by(username=operator_username).one()
        assert office is not None
        app.config["SUNSHINE_INLINE_JOBS"] = True
        upload = start_upload(db.session, office=office, user=operator, roc_year=114, filename="y.csv", data=demo_csv())
        import_upload(db.session, upload)
        generate_key(db.session, settings_of(app))
        add_witnesses(office)
        draw = save_draft(db.session, office=office, user=operator, setup=draw_setup(draw_id), now=ANNOUNCED)
        db.session.commit()
        return int(draw.id)


def get_draw(app: Flask, draw_pk: int) -> Draw:
    """The draw row (detached copy of its current state)."""
    with app.app_context():
        draw = db.session.get(Draw, draw_pk)
        assert draw is not None
        db.session.expunge(draw)
        return draw


def run_to_result(app: Flask, draw_pk: int, operator_username: str) -> None:
    """Announce a prepared draft and take it through dice, secret and beacon to its signed result,
    each step at its moment (inside the input window; the beacon once it is out)."""
    settings = settings_of(app)
    with app.app_context():
        operator = db.session.query(User).filter_by(username=operator_username).one()
        announce(db.session, settings, draw_pk, operator, now=ANNOUNCED)
        db.session.commit()
        enter_demo_inputs(db.session, settings, draw_pk, dice_at=DICE_AT, secret_at=SECRET_AT, beacon_at=BEACON_AT)
        db.session.commit()
        complete(db.session, settings, draw_pk, now=BEACON_AT)
        db.session.commit()


# --- review cases ----------------------------------------------------------------------------------

#: The fine the walked-through case ends with: an intentionally false declaration, Act Art. 12 para. 3.
FINE = (150_000, "false-declaration")
TO_FINED = ("querying", "under_review", "discrepancy", "statement_invited", "referred", "fined")


def user(username: str) -> User:
    """The user with this username (inside an app context)."""
    return db.session.scalars(select(User).where(User.username == username)).one()


def completed_draw(app: Flask, office_id: int, operator: str = "kinmen-operator") -> int:
    """Import the demo year, announce and complete its draw; returns the draw's primary key."""
    pk = prepare_draft(app, office_id, operator)
    run_to_result(app, pk, operator)
    return pk


def open_and_assign(
    app: Flask, draw_pk: int, admin: str = "kinmen-admin", reviewer: str = "kinmen-reviewer"
) -> dict[str, list[int]]:
    """Assign the draw's cases (opened when it completed) all to one reviewer; case ids by stage,
    in case-number order."""
    settings = settings_of(app)
    with app.app_context():
        draw = db.session.get(Draw, draw_pk)
        assert draw is not None
        assert open_cases_for_draw(db.session, settings, draw, user(admin)) == []  # opened on completion
        cases = list(
            db.session.scalars(select(ReviewCase).where(ReviewCase.draw_pk == draw_pk).order_by(ReviewCase.case_number))
        )
        to = user(reviewer)
        assign(db.session, settings, {case.id: to for case in cases if case.assignee_id != to.id}, user(admin))
        db.session.commit()
        return {stage: [case.id for case in cases if case.stage == stage] for stage in ("review", "comparison")}


def reviewed_draw(app: Flask, offices: dict[str, int]) -> dict[str, list[int]]:
    """A completed kinmen draw whose 25 cases are assigned to kinmen-reviewer (plus a second reviewer)."""
    pk = completed_draw(app, offices["kinmen"])
    with app.app_context():
        make_user(user("kinmen-reviewer").office, "kinmen-reviewer2", "reviewer")
        db.session.commit()
    return open_and_assign(app, pk)


def walk(app: Flask, case_id: int, states: tuple[str, ...], reviewer: str = "kinmen-reviewer") -> None:
    """Take the case through `states` (a fine where the state is `fined`)."""
    settings = settings_of(app)
    with app.app_context():
        for state in states:
            amount, ground = FINE if state == "fined" else (None, None)
            transition(
                db.session,
                settings,
                case_id,
                user(reviewer),
                state,
                note=f"step to {state}",
                due_on=None if state == "closed" else date(2099, 1, 31),
                fine_amount=amount,
                fine_ground=ground,
            )
        db.session.commit()


def case_state(app: Flask, case_id: int) -> str:
    """The case's current state."""
    with app.app_context():
        case = db.session.get(ReviewCase, case_id)
        assert case is not None
        return case.state
