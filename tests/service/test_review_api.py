"""The reviewer JSON API: token and session (with CSRF) authentication, permissions, refusals —
and every response checked against docs/openapi.yaml, which is itself validated."""

import hashlib
import re
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from sqlalchemy import select

from service.extensions import db
from service.models import ApiToken
from tests.builders import PASSWORD, reviewed_draw, totp_code, user

OPENAPI = "docs/openapi.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with open(OPENAPI, encoding="utf-8") as handle:
        return yaml.safe_load(handle)  # type: ignore[no-any-return]


def check(spec: dict[str, Any], path: str, method: str, response: Any) -> Any:
    """Validate a response body against the OpenAPI response schema for (path, method, status)."""
    responses = spec["paths"][path][method]["responses"]
    declared = responses[str(response.status_code)]
    if "$ref" in declared:
        declared = spec["components"]["responses"][declared["$ref"].rsplit("/", 1)[1]]
    schema = declared["content"]["application/json"]["schema"]
    body = response.get_json()
    Draft202012Validator({**spec, "allOf": [schema]}).validate(body)
    return body


def issue_token(app: Flask, username: str, *extra: str) -> str:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["users", "token", username, *extra])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_openapi_file_is_valid(spec: dict[str, Any]) -> None:
    validate_spec(spec)
    assert spec["openapi"].startswith("3.1")


def test_a_token_lists_shows_and_steps_without_csrf(app: Flask, offices: dict[str, int], spec: dict[str, Any]) -> None:
    cases = reviewed_draw(app, offices)
    app.config["WTF_CSRF_ENABLED"] = True
    token = issue_token(app, "kinmen-reviewer")
    assert token.startswith("sdt_")
    with app.app_context():
        stored = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user("kinmen-reviewer").id)).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and stored.scope == "write"
    client = app.test_client()
    me = check(spec, "/api/v1/reviews/me", "get", client.get("/api/v1/reviews/me", headers=bearer(token)))
    assert me["auth"] == "token" and "csrf_token" not in me
    listing = client.get("/api/v1/reviews/cases", headers=bearer(token))
    body = check(spec, "/api/v1/reviews/cases", "get", listing)
    assert body["scope"] == "mine" and len(body["cases"]) == 25
    assert sum(1 for case in body["cases"] if case["stage"] == "comparison") == 1
    case_id = cases["review"][0]
    shown = check(
        spec,
        "/api/v1/reviews/cases/{case_id}",
        "get",
        client.get(f"/api/v1/reviews/cases/{case_id}", headers=bearer(token)),
    )
    assert shown["allowed_next"] == ["querying"] and shown["can_act"] is True
    assert re.fullmatch(r"[A-Z][12]\d\*{5}\d{2}", shown["declaration"]["national_id"])
    path = "/api/v1/reviews/cases/{case_id}/transitions"
    step = client.post(
        f"/api/v1/reviews/cases/{case_id}/transitions",
        json={"to_state": "querying", "note": "platform request sent", "due_on": "2099-03-01"},
        headers=bearer(token),
    )
    assert step.status_code == 201
    recorded = check(spec, path, "post", step)
    assert recorded["case"]["state"] == "querying" and recorded["event"]["due_on"] == "2099-03-01"
    assert recorded["event"]["actor"] == "kinmen-reviewer" and recorded["case"]["allowed_next"] == ["under_review"]
    refused = client.post(
        f"/api/v1/reviews/cases/{case_id}/transitions",
        json={"to_state": "closed", "note": "x y"},
        headers=bearer(token),
    )
    assert refused.status_code == 422
    error = check(spec, path, "post", refused)["error"]
    assert error["code"] == "invalid_transition" and "under_review" in error["message"]
    stale = client.post(
        f"/api/v1/reviews/cases/{case_id}/transitions",
        json={"to_state": "under_review", "note": "x y", "expected_state": "drawn"},
        headers=bearer(token),
    )
    assert stale.status_code == 409 and check(spec, path, "post", stale)["error"]["code"] == "stale_state"
    malformed = client.post(
        f"/api/v1/reviews/cases/{case_id}/transitions",
        json={"to_state": "under_review", "note": "x y", "due_on": "31/01/2099"},
        headers=bearer(token),
    )
    assert malformed.status_code == 400 and check(spec, path, "post", malformed)
    assert (
        client.post(f"/api/v1/reviews/cases/{case_id}/transitions", data="x", headers=bearer(token)).status_code == 400
    )
    correction = client.post(
        f"/api/v1/reviews/cases/{case_id}/corrections",
        json={"corrects": 3, "note": "sent on the platform, batch 7", "due_on": "2099-04-01"},
        headers=bearer(token),
    )
    assert correction.status_code == 201
    corrected = check(spec, "/api/v1/reviews/cases/{case_id}/corrections", "post", correction)
    assert corrected["event"]["corrects"] == 3 and corrected["case"]["history"][2]["corrected_by"] == 4
    bad = client.post(
        f"/api/v1/reviews/cases/{case_id}/corrections", json={"corrects": 99, "note": "x y"}, headers=bearer(token)
    )
    assert bad.status_code == 422
    for wrong in ("Bearer sdt_wrong", "Bearer " + token[:-2], "Basic abc", token):
        response = client.get("/api/v1/reviews/cases", headers={"Authorization": wrong})
        assert response.status_code == 401
        check(spec, "/api/v1/reviews/cases", "get", response)
    issue_token(app, "kinmen-reviewer", "--revoke")
    assert client.get("/api/v1/reviews/cases", headers=bearer(token)).status_code == 401


def _csrf_of(page: str) -> str:
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert token is not None
    return token.group(1)


def _login_with_csrf(client: FlaskClient, username: str) -> None:
    token = _csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/login/enrol")
    token = _csrf_of(client.get("/login/enrol").get_data(as_text=True))
    code = totp_code(client.application, username)
    response = client.post("/login/enrol", data={"code": code, "csrf_token": token})
    assert response.status_code == 303


def test_a_session_needs_the_csrf_token_for_writes(app: Flask, offices: dict[str, int], spec: dict[str, Any]) -> None:
    cases = reviewed_draw(app, offices)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    _login_with_csrf(client, "kinmen-reviewer")
    me = check(spec, "/api/v1/reviews/me", "get", client.get("/api/v1/reviews/me"))
    assert me["auth"] == "session" and me["csrf_token"]
    case_id = cases["review"][0]
    url = f"/api/v1/reviews/cases/{case_id}/transitions"
    body = {"to_state": "querying", "note": "platform request sent"}
    without = client.post(url, json=body)
    assert without.status_code == 400
    assert check(spec, "/api/v1/reviews/cases/{case_id}/transitions", "post", without)["error"]["code"] == "csrf"
    assert client.post(url, json=body, headers={"X-CSRFToken": "forged"}).status_code == 400
    with_token = client.post(url, json=body, headers={"X-CSRFToken": me["csrf_token"]})
    assert with_token.status_code == 201
    check(spec, "/api/v1/reviews/cases/{case_id}/transitions", "post", with_token)
    assert client.get("/api/v1/reviews/cases?scope=all&state=querying").get_json()["cases"][0]["id"] == case_id


def test_permissions_across_offices_and_roles(app: Flask, offices: dict[str, int], spec: dict[str, Any]) -> None:
    cases = reviewed_draw(app, offices)
    case_id = cases["review"][0]
    url = f"/api/v1/reviews/cases/{case_id}"
    step = {"to_state": "querying", "note": "trying"}
    client = app.test_client()
    anonymous = client.get(url)
    assert anonymous.status_code == 401 and check(spec, "/api/v1/reviews/cases/{case_id}", "get", anonymous)
    other_office = bearer(issue_token(app, "penghu-reviewer"))
    assert client.get(url, headers=other_office).status_code == 404
    assert client.post(url + "/transitions", json=step, headers=other_office).status_code == 404
    assert client.get("/api/v1/reviews/cases?scope=all", headers=other_office).get_json()["cases"] == []
    not_assigned = client.post(url + "/transitions", json=step, headers=bearer(issue_token(app, "kinmen-reviewer2")))
    assert not_assigned.status_code == 403
    assert check(spec, "/api/v1/reviews/cases/{case_id}/transitions", "post", not_assigned)["error"]["code"] == (
        "not_assignee"
    )
    operator = bearer(issue_token(app, "kinmen-operator"))
    viewed = client.get(url, headers=operator)
    assert viewed.status_code == 200 and viewed.get_json()["can_act"] is False
    assert client.get("/api/v1/reviews/cases", headers=operator).get_json()["scope"] == "all"
    forbidden = client.post(url + "/transitions", json=step, headers=operator)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"
    admin = bearer(issue_token(app, "kinmen-admin"))
    assert client.post(url + "/transitions", json=step, headers=admin).status_code == 403
    assert client.get("/api/v1/reviews/cases?stage=nonsense", headers=admin).status_code == 400
    with app.app_context():
        assert db.session.scalars(select(ApiToken).where(ApiToken.user_id == user("kinmen-admin").id)).one()
