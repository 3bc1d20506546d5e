"""Every endpoint declares an access rule; the app refuses to start otherwise; rules hold."""

import re

import pytest
from flask import Blueprint, Flask

from service import create_app
from service.access import MissingAccessRule, access_rule
from tests.builders import AuthActions


def _concrete_path(rule: str) -> str:
    """Fill URL variables with plausible values."""
    path = re.sub(r"<(?:int|id|year):[^>]+>", "1", rule)
    return re.sub(r"<[^>]+>", "x", path)


def test_every_endpoint_has_an_access_rule(app: Flask) -> None:
    missing = [endpoint for endpoint in app.view_functions if access_rule(app, endpoint) is None]
    assert missing == []


def test_create_app_refuses_an_endpoint_without_a_rule(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    rogue = Blueprint("rogue", __name__)

    @rogue.route("/rogue")
    def unguarded() -> str:
        return "open"

    import service.account

    original = service.account.auth_blueprint
    combined = Blueprint("auth", "service.account")
    combined.deferred_functions = [*original.deferred_functions, *rogue.deferred_functions]
    monkeypatch.setattr(service.account, "auth_blueprint", combined)
    settings = app.extensions["sunshine_settings"]
    with pytest.raises(MissingAccessRule, match="unguarded"):
        create_app(settings)


def _private_rules(app: Flask) -> list[tuple[str, str, str]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if access_rule(app, rule.endpoint) == "public":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            rules.append((rule.endpoint, method, _concrete_path(rule.rule)))
    return rules


def test_anonymous_users_reach_no_private_endpoint(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for endpoint, method, path in _private_rules(app):
        response = client.open(path, method=method)
        assert response.status_code in (302, 401), (endpoint, method, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
        checked += 1
    assert checked > 10


def test_reviewers_cannot_use_operator_pages(app: Flask, offices: dict[str, int]) -> None:
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    operator_rules = [r for r in _private_rules(app) if "reviewer" not in (access_rule(app, r[0]) or "")]
    assert operator_rules
    for endpoint, method, path in operator_rules:
        response = client.open(path, method=method)
        assert response.status_code == 403, (endpoint, method, response.status_code)


def test_witnesses_reach_only_the_witness_pages(app: Flask, offices: dict[str, int]) -> None:
    from service.extensions import db
    from service.models import Office
    from tests.builders import make_user

    with app.app_context():
        office = db.session.get(Office, offices["kinmen"])
        assert office is not None
        make_user(office, "kinmen-witness", "witness")
        db.session.commit()
    client = app.test_client()
    AuthActions(client).login("kinmen-witness")
    others = [r for r in _private_rules(app) if "witness" not in (access_rule(app, r[0]) or "")]
    assert others
    for endpoint, method, path in others:
        response = client.open(path, method=method)
        assert response.status_code == 403, (endpoint, method, response.status_code)
    assert client.get("/witness/").status_code == 200
    # And the witness pages are the witness's alone.
    for username in ("kinmen-operator", "kinmen-admin", "kinmen-reviewer"):
        other = app.test_client()
        AuthActions(other).login(username)
        assert other.get("/witness/").status_code == 403
        assert other.post("/witness/draws/x").status_code == 403


def test_security_headers_on_public_and_private_pages(app: Flask, offices: dict[str, int]) -> None:
    client = app.test_client()
    public = client.get("/")
    assert public.status_code == 200
    csp = public.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert public.headers["X-Content-Type-Options"] == "nosniff"
    assert public.headers["Referrer-Policy"] == "same-origin"
    AuthActions(client).login("kinmen-operator")
    private = client.get("/operator/")
    assert private.status_code == 200
    assert private.headers["Cache-Control"] == "no-store"


def test_errors_never_leak_internals(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/api/v1/draws/nope")
    assert response.status_code == 404
    body = response.get_json()
    assert set(body["error"]) == {"code", "message"}
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert b"Traceback" not in page.data


SALTS_PATHS = [
    ("GET", "/reviews/salts"),
    ("GET", "/reviews/draws/kinmen-114-annual/salts"),
    ("POST", "/reviews/draws/kinmen-114-annual/salts.csv"),
]
#: Who asks, and what they get: the draw's own office's operators, admins and reviewers only.
SALTS_ACCESS = [
    ("kinmen-operator", 200),
    ("kinmen-admin", 200),
    ("kinmen-reviewer", 200),
    ("penghu-operator", 404),
    ("penghu-reviewer", 404),
    (None, 302),
]


@pytest.mark.parametrize(("method", "path"), SALTS_PATHS)
def test_salts_only_for_the_draws_office(app: Flask, offices: dict[str, int], method: str, path: str) -> None:
    """The salts of a draw (protocol §2a) reach its own office's operators, admins and reviewers only."""
    from tests.builders import prepare_draft
    from tests.service.test_draw_lifecycle import run_to_completion

    run_to_completion(app, prepare_draft(app, offices["kinmen"], "kinmen-operator"))
    for username, status in SALTS_ACCESS:
        client = app.test_client()
        if username:
            AuthActions(client).login(username)
        response = client.open(path, method=method)
        if path == "/reviews/salts" and status == 404:  # another office's list: theirs, empty
            assert response.status_code == 200 and b"kinmen-114-annual" not in response.data, username
        else:
            assert response.status_code == status, (username, response.status_code)
        if status == 302:
            assert "/login" in response.headers["Location"]
