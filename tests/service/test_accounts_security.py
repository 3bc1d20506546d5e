"""Accounts: rate limit, lockout, TOTP two-factor, session timeouts, server-side logout, events;
and a lost sealed secret, which leaves only abandoning the draw."""

import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service import create_app
from service.extensions import db
from service.models import AuthEvent, Draw, User, UserSession, utcnow
from tests.service.conftest import PASSWORD, AuthActions, totp_code


def _events(app: Flask, username: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(select(AuthEvent.event).where(AuthEvent.username == username).order_by(AuthEvent.id))
        )


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/operator/").status_code == 200


def test_operators_need_the_second_factor(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    first = client.post("/login", data={"username": "kinmen-operator", "password": PASSWORD})
    assert first.status_code == 303 and first.headers["Location"].endswith("/login/enrol")
    assert client.get("/operator/").status_code == 302  # the password alone is not enough
    enrol = client.get("/login/enrol").get_data(as_text=True)
    assert "<svg" in enrol and "QR" in enrol
    wrong = client.post("/login/enrol", data={"code": "000000"})
    assert wrong.status_code == 401 and not _signed_in(client)
    code = totp_code(app, "kinmen-operator")
    assert client.post("/login/enrol", data={"code": code}).status_code == 303
    assert _signed_in(client)
    AuthActions(client).logout()
    # once enrolled, the next sign-in asks for a code, and a used code is refused
    again = client.post("/login", data={"username": "kinmen-operator", "password": PASSWORD})
    assert again.headers["Location"].endswith("/login/code")
    assert client.post("/login/code", data={"code": code}).status_code == 401
    assert client.post("/login/code", data={"code": totp_code(app, "kinmen-operator")}).status_code == 303
    assert _events(app, "kinmen-operator") == [
        "totp_failed", "totp_enrolled", "signed_in", "signed_out", "totp_failed", "signed_in",
    ]  # fmt: skip


def test_reviewers_sign_in_with_a_password(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "kinmen-reviewer", "password": PASSWORD})
    assert response.status_code == 303 and "/reviews" in response.headers["Location"]


def test_five_failures_lock_the_account(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    for _ in range(5):
        assert (
            client.post("/login", data={"username": "kinmen-reviewer", "password": "wrong password!"}).status_code
            == 401
        )
    locked = client.post("/login", data={"username": "kinmen-reviewer", "password": PASSWORD})
    assert locked.status_code == 401 and "locked" in locked.get_data(as_text=True)
    assert _events(app, "kinmen-reviewer") == ["password_failed"] * 5 + ["locked", "refused_locked"]
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == "kinmen-reviewer")).one()
        user.locked_until = utcnow() - timedelta(seconds=1)  # fifteen minutes later
        db.session.commit()
    assert client.post("/login", data={"username": "kinmen-reviewer", "password": PASSWORD}).status_code == 303


def test_unknown_users_get_the_same_answer(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    unknown = client.post("/login", data={"username": "nobody-here", "password": "whatever12345"})
    wrong = client.post("/login", data={"username": "kinmen-reviewer", "password": "whatever12345"})
    assert unknown.status_code == wrong.status_code == 401
    assert "username or password is wrong" in unknown.get_data(as_text=True)
    assert "username or password is wrong" in wrong.get_data(as_text=True)


def test_logout_revokes_the_session_on_the_server(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    AuthActions(client).login("kinmen-admin")
    assert _signed_in(client)
    with client.session_transaction() as stolen:
        copied = dict(stolen)
    AuthActions(client).logout()
    with client.session_transaction() as replay:
        replay.update(copied)  # someone kept a copy of the cookie
    assert not _signed_in(client)


def test_idle_and_absolute_timeouts(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    AuthActions(client).login("kinmen-admin")
    with client.session_transaction() as state:
        state["seen"] -= 31 * 60
    assert not _signed_in(client)
    AuthActions(client).login("kinmen-admin")
    assert _signed_in(client)
    with app.app_context():
        for row in db.session.scalars(select(UserSession)):
            row.created_at = utcnow() - timedelta(hours=12, minutes=1)
        db.session.commit()
    assert not _signed_in(client)


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_the_login_form_is_rate_limited(app: Flask, offices: dict[str, int], storage: str, tmp_path: Path) -> None:
    settings = app.extensions["sunshine_settings"]
    if storage == "redis":
        url = os.environ.get("TEST_REDIS_URL")
        if not url:
            pytest.skip("TEST_REDIS_URL is not set")
        import redis

        with redis.Redis.from_url(url) as connection:
            connection.flushdb()
        settings = settings.with_overrides(redis_url=url)
    limited = create_app(settings)
    limited.config["WTF_CSRF_ENABLED"] = False
    client = limited.test_client()
    try:
        answers = [
            client.post("/login", data={"username": f"nobody{i}", "password": "x" * 12}).status_code for i in range(12)
        ]
    finally:
        with limited.app_context():
            db.engine.dispose()  # this second app's pool must not outlive the test
    assert answers[:10] == [401] * 10
    assert answers[10:] == [429, 429]


def test_a_lost_secret_offers_only_abandon(
    app: Flask, offices: dict[str, int], client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    from service import settings_of
    from service.clock import fix_clock
    from service.draw_lifecycle import announce
    from tests.service.lifecycle import ANNOUNCED, DICE_AT, prepare_draft

    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    with app.app_context():
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        announce(db.session, settings_of(app), pk, operator, now=ANNOUNCED)
        draw = db.session.get(Draw, pk)
        assert draw is not None
        from service.triggers import VERSIONS, drop_statements_for

        db.session.commit()
        with db.engine.begin() as connection:  # damage the stored row behind the app's back
            for version in VERSIONS:
                for statement in drop_statements_for(connection.dialect.name, version):
                    if statement.startswith("DROP TRIGGER"):
                        connection.exec_driver_sql(statement)
        draw = db.session.get(Draw, pk)
        assert draw is not None and draw.sealed_secret is not None
        draw.sealed_secret = draw.sealed_secret[:-1] + bytes([draw.sealed_secret[-1] ^ 1])
        db.session.commit()
    AuthActions(client).login("kinmen-operator")
    base = "/operator/draws/kinmen-114-annual"
    fix_clock(app, DICE_AT)  # inside the input window
    client.post(f"{base}/live/dice", data={"dice": "50104646865477507016"})
    console = client.get(f"{base}/console").get_data(as_text=True)
    assert 'id="secret-lost"' in console and "/live/secret" not in console and "/abandon" in console
    with caplog.at_level(logging.ERROR):
        response = client.post(f"{base}/live/secret")
    assert response.status_code == 303
    assert "cannot be opened" in client.get(f"{base}/console").get_data(as_text=True)
    assert any("sealed secret cannot be opened" in r.getMessage() for r in caplog.records)
    client.post(
        f"{base}/abandon", data={"reason": "密封的秘密無法開啟，改期重新公告", "confirm_draw_id": "kinmen-114-annual"}
    )
    fix_clock(app, None)
    with app.app_context():
        assert db.session.get(Draw, pk).status == "abandoned"  # type: ignore[union-attr]
