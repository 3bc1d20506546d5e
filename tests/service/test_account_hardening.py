"""Accounts an attacker cannot use (issue 14, item 2): strong passwords (zxcvbn), recovery codes
for every TOTP user, and API tokens that expire, are named, listed, revoked and scoped."""

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.accounts import PasswordTooWeak, check_password_strength, issue_api_token
from service.extensions import db
from service.models import ApiToken, RecoveryCode, User, utcnow
from tests.builders import PASSWORD, AuthActions


def _cli(app: Flask, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), env=env)


def _user(app: Flask, username: str) -> User:
    with app.app_context():
        return db.session.scalars(select(User).where(User.username == username)).one()


# --- passwords -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaaaa", "repeats"),
        ("password1234", "commonly used"),
        ("qwertyuiopasdf", "commonly used"),
        ("2024-01-01abc", "date or a year"),
        ("short", "fewer than 12"),
    ],
)
def test_weak_passwords_are_refused_with_advice(app: Flask, password: str, why: str) -> None:
    with app.test_request_context("/?lang=en"), pytest.raises(PasswordTooWeak) as refused:
        check_password_strength(password, ("alice", "Alice Wang", "kinmen"))
    message = str(refused.value.message)
    assert why in message and "four or more unrelated words" in message


def test_flask_users_create_refuses_a_weak_password_in_both_languages(app: Flask) -> None:
    """Seen: `flask users create … aaaaaaaaaaaa` was accepted (only the length was checked)."""
    args = ["users", "create", "--office", "kinmen", "--username", "victim", "--display-name", "V", "--role", "admin"]
    refused = _cli(app, *args, env={"SUNSHINE_NEW_PASSWORD": "aaaaaaaaaaaa"})
    assert refused.exit_code != 0
    assert "密碼太容易猜到" in refused.output and "too easy to guess" in refused.output
    assert "重複" in refused.output and "repeats characters" in refused.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "victim")) is None
    accepted = _cli(app, *args, env={"SUNSHINE_NEW_PASSWORD": "lantern orchid tidal seventeen"})
    assert accepted.exit_code == 0, accepted.output


def test_flask_users_password_and_the_password_page_refuse_weak_ones(
    app: Flask, offices: dict[str, int], client: FlaskClient
) -> None:
    weak = _cli(app, "users", "password", "kinmen-admin", env={"SUNSHINE_NEW_PASSWORD": "kinmen-admin1"})
    assert weak.exit_code != 0 and "your username" in weak.output
    AuthActions(client).login("kinmen-operator")
    page = client.post("/account/password", data={"current": PASSWORD, "new": "password1234", "repeat": "password1234"})
    assert page.status_code == 400 and "commonly used passwords" in page.get_data(as_text=True)
    wrong = client.post("/account/password", data={"current": "not it", "new": "x" * 20, "repeat": "x" * 20})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(as_text=True)
    new = "lantern orchid tidal seventeen"
    assert client.post("/account/password", data={"current": PASSWORD, "new": new, "repeat": new}).status_code == 303
    AuthActions(client).logout()
    assert client.post("/login", data={"username": "kinmen-operator", "password": new}).status_code == 303
    assert "password_changed" in _events(app, "kinmen-operator")


# --- recovery codes ----------------------------------------------------------------------------


def test_a_recovery_code_works_once(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    auth = AuthActions(client)
    auth.login("kinmen-reviewer")
    codes = auth.recovery_codes
    assert len(codes) == 10 and len(set(codes)) == 10
    again = client.get("/account/recovery-codes").get_data(as_text=True)
    assert not any(code in again for code in codes) and "10 unused recovery codes" in again  # shown once
    with app.app_context():
        rows = list(db.session.scalars(select(RecoveryCode)))
        assert all(row.sealed_for_display is None and row.code_hash not in codes for row in rows)
        stored = " ".join(row.code_hash for row in rows)
        assert not any(code.replace("-", "") in stored for code in codes)  # only hashes are kept
    auth.logout()

    def sign_in_with(code: str) -> int:
        assert client.post("/login", data={"username": "kinmen-reviewer", "password": PASSWORD}).status_code == 303
        return client.post("/login/code", data={"code": code}).status_code

    assert sign_in_with(codes[0].lower()) == 303  # in place of the 6-digit code, any case
    assert client.get("/reviews/").status_code == 200
    auth.logout()
    assert sign_in_with(codes[0]) == 401  # used
    assert sign_in_with("AAAA-BBBB-CCCC-DDDD") == 401  # never issued
    assert sign_in_with(codes[1]) == 303
    assert "8 unused recovery codes" in client.get("/account/recovery-codes").get_data(as_text=True)
    made = client.post("/account/recovery-codes")
    assert made.status_code == 303
    fresh = re.findall(r"<li>([A-Z2-7-]{19})</li>", client.get("/account/recovery-codes").get_data(as_text=True))
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    auth.logout()
    assert sign_in_with(codes[2]) == 401  # the old set stopped working
    events = _events(app, "kinmen-reviewer")
    assert events.count("recovery_code_used") == 2 and "recovery_codes_made" in events


def _events(app: Flask, username: str) -> list[str]:
    from service.models import AuthEvent

    with app.app_context():
        query = select(AuthEvent.event).where(AuthEvent.username == username).order_by(AuthEvent.id)
        return list(db.session.scalars(query))


# --- API tokens --------------------------------------------------------------------------------


def _create_token(app: Flask, username: str, *options: str) -> str:
    result = _cli(app, "users", "tokens", "create", username, *options)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


TEST_ENV = {"SUNSHINE_ENV": "test", "SECRET_KEY": "t" * 40}
WRITE = "/api/v1/reviews/cases/999999/transitions"  # a write endpoint; no such case: 404 once allowed


def test_tokens_are_named_listed_expire_and_are_revoked(app: Flask, offices: dict[str, int]) -> None:
    client = app.test_client()
    token = _create_token(app, "kinmen-reviewer", "--name", "case sync", "--scope", "write")
    assert client.get("/api/v1/reviews/me", headers=_bearer(token)).status_code == 200
    with app.app_context():
        row = db.session.scalars(select(ApiToken)).one()
        assert row.name == "case sync" and row.scope == "write" and row.last_used_at is not None
        assert timedelta(days=89) < row.expires_at - row.created_at <= timedelta(days=90)  # the default
        token_id = row.id
    listing = _cli(app, "users", "tokens", "list").output
    assert "case sync" in listing and "write" in listing and "active" in listing and "last used 20" in listing
    assert client.post(WRITE, json={"to_state": "querying"}, headers=_bearer(token)).status_code == 404
    assert _cli(app, "users", "tokens", "revoke", str(token_id)).exit_code == 0
    revoked = client.get("/api/v1/reviews/me", headers=_bearer(token))
    assert revoked.status_code == 401 and revoked.get_json()["error"]["code"] == "invalid_token"
    assert "revoked" in _cli(app, "users", "tokens", "list", "kinmen-reviewer").output
    assert _cli(app, "users", "tokens", "revoke", str(token_id)).exit_code != 0


def test_an_expired_token_is_refused(app: Flask, offices: dict[str, int]) -> None:
    with app.app_context():
        reviewer = db.session.scalars(select(User).where(User.username == "kinmen-reviewer")).one()
        old = issue_api_token(
            db.session, reviewer, name="old", scope="write", days=90, now=utcnow() - timedelta(days=91)
        )
        db.session.commit()
    client = app.test_client()
    for method, path in (("get", "/api/v1/reviews/me"), ("post", WRITE)):
        answer = getattr(client, method)(path, headers=_bearer(old), json={"to_state": "querying"})
        assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "token_expired"
    assert "expired" in _cli(app, "users", "tokens", "list").output


def test_a_read_only_token_reads_but_every_write_is_403(app: Flask, offices: dict[str, int]) -> None:
    token = _create_token(app, "kinmen-reviewer", "--name", "dashboard")  # read is the default scope
    client = app.test_client()
    assert client.get("/api/v1/reviews/cases", headers=_bearer(token)).status_code == 200
    writes = [
        re.sub(r"<(?:int|id):case_id>", "1", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("review_api.") and "POST" in (rule.methods or ())
    ]
    assert len(writes) >= 2
    for path in writes:
        refused = client.post(path, json={"to_state": "querying", "note": "x"}, headers=_bearer(token))
        assert refused.status_code == 403
        error = refused.get_json()["error"]
        assert error["code"] == "read_only_token" and "read-only" in error["message"]


def test_the_token_lifetime_is_a_setting(app: Flask, offices: dict[str, int]) -> None:
    from service.config import ConfigError, load_settings

    app.extensions["sunshine_settings"] = app.extensions["sunshine_settings"].with_overrides(api_token_days=7)
    _create_token(app, "kinmen-reviewer", "--name", "short")
    with app.app_context():
        row = db.session.scalars(select(ApiToken)).one()
        assert row.expires_at - row.created_at == timedelta(days=7)
    assert load_settings({**TEST_ENV, "SUNSHINE_API_TOKEN_DAYS": "30"}).api_token_days == 30
    with pytest.raises(ConfigError):
        load_settings({**TEST_ENV, "SUNSHINE_API_TOKEN_DAYS": "0"})
    bad = _cli(app, "users", "tokens", "create", "kinmen-reviewer", "--name", "x", "--days", "9999")
    assert bad.exit_code != 0
