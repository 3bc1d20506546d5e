"""Sign-in limits that hold across workers (issue 14, item 1): one shared store (the database, or
Redis), one answer for every refusal, a growing but bounded wait read from the injected clock,
an admin's unlock, and every event recorded."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service import create_app
from service.clock import fix_clock
from service.extensions import db
from service.models import AuthEvent, LoginCounter
from tests.builders import PASSWORD, AuthActions, EnglishClient, redis_url, totp_code

NOW = datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)  # 30 s into a minute: a window never ends mid-test


def _events(app: Flask, username: str) -> list[str]:
    with app.app_context():
        query = select(AuthEvent.event).where(AuthEvent.username == username).order_by(AuthEvent.id)
        return list(db.session.scalars(query))


def _post_login(client: FlaskClient, username: str, password: str) -> Any:
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture(params=["database", "redis"])
def counting(request: pytest.FixtureRequest, app: Flask) -> Iterator[str]:
    """Run the test with the counters in the database (each backend) and in Redis."""
    if request.param == "redis":
        url = redis_url()
        import redis

        with redis.Redis.from_url(url) as connection:
            connection.flushdb()
        settings = app.extensions["sunshine_settings"].with_overrides(redis_url=url)
        app.extensions["sunshine_settings"] = settings
        app.extensions.pop("sunshine_login_store", None)
    yield request.param


def _worker(app: Flask) -> Flask:
    """A second app on the same settings: another gunicorn worker (or host) sharing the store."""
    other = create_app(app.extensions["sunshine_settings"])
    other.test_client_class = EnglishClient
    other.config["WTF_CSRF_ENABLED"] = False
    return other


def test_two_workers_allow_exactly_the_configured_number(app: Flask, offices: dict[str, int], counting: str) -> None:
    """Seen: 30 wrong logins in 7 s gave 20 × 401 and 10 × 429 — each of 2 workers counted 10."""
    from service.throttle import POLICY

    second = _worker(app)
    try:
        answers = []
        for number, worker in enumerate([app, second] * 15):
            worker.config["RATELIMIT_ENABLED"] = True
            fix_clock(worker, NOW)
            answers.append(_post_login(worker.test_client(), f"nobody{number}", "x" * 12).status_code)
    finally:
        with second.app_context():
            db.engine.dispose()
    assert POLICY.attempts_per_window == 10
    assert answers == [401] * 10 + [429] * 20
    fix_clock(app, NOW + timedelta(seconds=60))  # the next window
    assert _post_login(app.test_client(), "nobody-else", "x" * 12).status_code == 401
    assert _events(app, "nobody25") == ["rate_limited"]


def test_unknown_wrong_disabled_and_waiting_get_one_answer(
    app: Flask, offices: dict[str, int], counting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen: the locked account answered "locked for 15 minutes" in 20 ms, others in ~270 ms."""
    import service.signin

    hashed: list[str | None] = []
    real = service.signin.verify_password

    def counted(password_hash: str | None, password: str) -> bool:
        hashed.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(service.signin, "verify_password", counted)
    fix_clock(app, NOW)
    client = app.test_client()
    for _ in range(5):
        _post_login(client, "kinmen-operator", "wrong password, again")
    with app.app_context():
        from service.models import User

        disabled = db.session.scalars(select(User).where(User.username == "penghu-admin")).one()
        disabled.active = False
        db.session.commit()
    hashed.clear()
    answers = {
        "unknown": _post_login(client, "no-such-user", PASSWORD),
        "wrong": _post_login(client, "kinmen-admin", "not the password at all"),
        "disabled": _post_login(client, "penghu-admin", PASSWORD),
        "waiting, right password": _post_login(client, "kinmen-operator", PASSWORD),
    }
    assert len(hashed) == 4  # argon2 ran for every one, the unknown name against a dummy hash
    assert {response.status_code for response in answers.values()} == {401}
    pages = {name: response.get_data(as_text=True) for name, response in answers.items()}
    messages = {page.split('class="flash flash-error"', 1)[1].split("</p>", 1)[0] for page in pages.values()}
    assert len(messages) == 1 and "username or password is wrong" in messages.pop()
    assert "locked" not in "".join(pages.values())
    assert _events(app, "kinmen-operator")[-2:] == ["backoff", "refused_wait"]


def test_the_wait_grows_is_bounded_and_then_the_user_signs_in(
    app: Flask, offices: dict[str, int], counting: str
) -> None:
    """Five failures bring a 30 s wait, each later failure doubles it up to 15 minutes; attempts
    during the wait are refused without extending it; after it, password and TOTP succeed."""
    from service.throttle import POLICY, delay_after

    assert [delay_after(n, 5) for n in (4, 5, 6, 7, 10, 50)] == [0, 30, 60, 120, 900, 900]
    client = app.test_client()
    moment = NOW
    fix_clock(app, moment)
    for _ in range(5):
        assert _post_login(client, "kinmen-reviewer", "wrong password, again").status_code == 401
    for seconds in (0, 29):  # hammering inside the wait is refused and does not extend it
        fix_clock(app, moment + timedelta(seconds=seconds))
        assert _post_login(client, "kinmen-reviewer", PASSWORD).status_code == 401
    for wait in (30, 60, 120, 240, 480, 900, 900):  # one more failure after each wait doubles it
        moment += timedelta(seconds=wait)
        fix_clock(app, moment)
        assert _post_login(client, "kinmen-reviewer", "wrong password, again").status_code == 401
        fix_clock(app, moment + timedelta(seconds=min(wait * 2, POLICY.max_delay_seconds) - 1))
        assert _post_login(client, "kinmen-reviewer", PASSWORD).status_code == 401
    # the stranger stops: a bounded wait later the real user signs in, second factor included
    fix_clock(app, moment + timedelta(seconds=POLICY.max_delay_seconds))
    response = AuthActions(client).login("kinmen-reviewer")
    assert response.status_code == 303 and response.headers["Location"].endswith("/reviews/")
    events = _events(app, "kinmen-reviewer")
    assert events.count("password_failed") == 12 and events.count("refused_wait") == 9
    assert events[-2:] == ["totp_enrolled", "signed_in"]


def test_a_wrong_code_counts_like_a_wrong_password(app: Flask, offices: dict[str, int], counting: str) -> None:
    """Knowing the password does not buy unlimited guesses at the 6-digit code."""
    client = app.test_client()
    AuthActions(client).login("kinmen-operator")
    AuthActions(client).logout()
    fix_clock(app, NOW)
    assert _post_login(client, "kinmen-operator", PASSWORD).headers["Location"].endswith("/login/code")
    for _ in range(5):
        assert client.post("/login/code", data={"code": "000000"}).status_code == 401
    right = totp_code(app, "kinmen-operator")
    assert client.post("/login/code", data={"code": right}).status_code == 401  # waiting: refused
    fix_clock(app, NOW + timedelta(seconds=30))
    assert _post_login(client, "kinmen-operator", PASSWORD).status_code == 303
    assert client.post("/login/code", data={"code": totp_code(app, "kinmen-operator")}).status_code == 303


def test_the_address_waits_too(app: Flask, offices: dict[str, int], counting: str) -> None:
    """Ten failures from one address across many usernames make that address wait."""
    client = app.test_client()
    fix_clock(app, NOW)
    for number in range(10):
        assert _post_login(client, f"guess{number}", "wrong password, again").status_code == 401
    assert _post_login(client, "kinmen-admin", PASSWORD).status_code == 401  # the address waits
    elsewhere = app.test_client()
    response = elsewhere.post(
        "/login", data={"username": "kinmen-admin", "password": PASSWORD}, environ_base={"REMOTE_ADDR": "192.0.2.7"}
    )
    assert response.status_code == 303  # the account itself is not held back


def test_an_admin_unlocks(app: Flask, offices: dict[str, int], counting: str) -> None:
    client = app.test_client()
    fix_clock(app, NOW)
    for _ in range(6):
        _post_login(client, "kinmen-reviewer", "wrong password, again")
    assert _post_login(client, "kinmen-reviewer", PASSWORD).status_code == 401
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["users", "unlock", "kinmen-reviewer"])
    assert result.exit_code == 0, result.output
    assert _post_login(client, "kinmen-reviewer", PASSWORD).status_code == 303
    assert "unlocked" in _events(app, "kinmen-reviewer")
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["users", "unlock", "nobody"]).exit_code != 0


def test_counters_live_in_the_shared_store(app: Flask, offices: dict[str, int], counting: str) -> None:
    """In the database when there is no Redis (what every worker of one database shares)."""
    fix_clock(app, NOW)
    _post_login(app.test_client(), "kinmen-admin", "wrong password, again")
    with app.app_context():
        keys = set(db.session.scalars(select(LoginCounter.key)))
    if counting == "database":
        assert {"fail:account:kinmen-admin", "fail:address:127.0.0.1"} <= keys
    else:
        assert keys == set()


def test_production_refuses_per_process_counting_with_several_workers() -> None:
    from service.config import load_settings
    from service.startup import UnsafeStartup, check_shared_counting

    base = {"SUNSHINE_ENV": "production", "SECRET_KEY": "p" * 40, "DATABASE_URL": "sqlite:///x.db"}
    memory = load_settings({**base, "SUNSHINE_LOGIN_COUNTING": "memory"})
    with pytest.raises(UnsafeStartup, match="2 times the limit"):
        check_shared_counting(memory, workers=2)
    check_shared_counting(memory, workers=1)  # one process: its memory is the whole count
    check_shared_counting(load_settings(base), workers=4)  # the database is shared
    check_shared_counting(load_settings({**base, "REDIS_URL": "redis://127.0.0.1:6379/0"}), workers=4)
    from service.config import ConfigError

    with pytest.raises(ConfigError):
        load_settings({**base, "SUNSHINE_LOGIN_COUNTING": "redis"})  # without REDIS_URL


def test_gunicorn_asks_for_the_check_before_serving() -> None:
    with open("gunicorn.conf.py", encoding="utf-8") as handle:
        config = handle.read()
    assert (
        "def on_starting(server)" in config and "check_shared_counting(load_settings(), server.cfg.workers)" in config
    )
