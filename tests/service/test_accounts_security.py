"""Accounts: rate limit, lockout, TOTP two-factor, session timeouts, server-side logout, events;
and a lost sealed secret, which leaves only abandoning the draw."""

import logging
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.extensions import db
from service.models import AuthEvent, Draw, User, UserSession, utcnow
from tests.builders import PASSWORD, AuthActions, totp_code


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


def test_reviewers_need_the_second_factor_too(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    """Seen: reviewers (who record fines) signed in with a password alone."""
    response = client.post("/login", data={"username": "kinmen-reviewer", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"].endswith("/login/enrol")
    reviews = client.get("/reviews/")
    assert reviews.status_code == 302 and "/login" in reviews.headers["Location"]
    assert client.get("/api/v1/reviews/me").status_code == 401
    assert AuthActions(client).login("kinmen-reviewer").headers["Location"].endswith("/reviews/")
    assert client.get("/reviews/").status_code == 200


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


def test_a_lost_secret_offers_only_abandon(
    app: Flask, offices: dict[str, int], client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    from service.clock import fix_clock
    from service.config import settings_of
    from service.draw_lifecycle import announce
    from tests.builders import ANNOUNCED, DICE_AT, prepare_draft

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
