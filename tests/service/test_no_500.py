"""No 500 from input (issue 14, item 4): every route of the service and the public site, walked
with huge, negative, non-numeric, full-width, superscript and nested values in its path, its
query string and its form or JSON body, anonymously and signed in as admin, operator and
reviewer: never a 5xx, and nothing in the database changes.

The world is a completed kinmen draw whose cases are assigned, so the walk reaches real rows
(`1` and `kinmen-114-annual` are real ids) and not only empty tables. CSRF is off in these apps
(the service's test fixture), so hostile posts get past the token to the code that reads them.
"""

import json
import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from wtforms.fields.core import UnboundField

from service import forms
from service.extensions import db
from service.inputs import MAX_JSON_BYTES, MAX_JSON_DEPTH, json_depth_exceeds
from service.models import AuthEvent
from service.transparency import log_size
from tests.builders import AuthActions, reviewed_draw

#: What a careless user or an attacker puts where a number belongs.
HOSTILE = (
    "99999999999999999999999",  # OverflowError in SQLite, out of range in PostgreSQL
    "2147483648",  # one past PostgreSQL's INTEGER
    "-1",
    "abc",
    "１",  # full-width digit one: str.isdigit() and int() take it
    "²",  # superscript two: str.isdigit() takes it, int() refuses it
    "sNaN",  # decimal.Decimal takes it and raises on arithmetic
    "1e999999",  # decimal.Decimal takes it; ×100 overflows its context
    "[" * 500 + "{" * 500,  # nested
)
#: Values a route's path takes when it is walked with hostile query strings and bodies.
VALID = {"id": "1", "year": "114", "draw_id": "kinmen-114-annual", "path": "x"}
#: Query parameters any view reads (and a few it does not).
QUERY_NAMES = (
    "page", "year", "start", "end", "index", "size", "first", "second", "count", "q", "case",
    "rate", "comparison", "rounding", "grouping", "scope", "stage", "state", "agency", "office", "lang",
)  # fmt: skip
#: Form fields read outside WTForms, besides every WTForms field of `service.forms`.
EXTRA_FIELDS = ("assignee", "case-1", "all", "dice", "beacon", "secret", "note", "count", "reason", "round")


def _form_fields() -> set[str]:
    names = set(EXTRA_FIELDS)
    for value in vars(forms).values():
        if isinstance(value, type) and issubclass(value, forms.FlaskForm):
            names.update(name for name in dir(value) if isinstance(getattr(value, name), UnboundField))
    return names - {"csrf_token"}


def _database_state(app: Flask) -> dict[str, int]:
    """Every table's row count, and the transparency log's size."""
    with app.app_context():
        counts = {
            table.name: int(db.session.scalar(select(func.count()).select_from(table)) or 0)
            for table in db.metadata.sorted_tables
        }
        counts["(log size)"] = log_size(db.session)
        return counts


def _path(rule: Any, value: str | None) -> str:
    """The rule's path with every argument set to `value` (or to a valid one when None)."""

    def substitute(match: re.Match[str]) -> str:
        return quote(VALID[match.group(1)] if value is None else value, safe="")

    path = re.sub(r"<(\w+):\w+>", substitute, rule.rule)
    assert "<" not in path, path
    return path


def _walk(app: Flask, client: FlaskClient, who: str) -> list[str]:
    """Every route with every hostile value; the requests that answered 5xx."""
    fields = sorted(_form_fields())
    failures: list[str] = []

    def check(method: str, url: str, **kwargs: Any) -> int:
        response = client.open(url, method=method, **kwargs)
        if response.status_code >= 500:
            failures.append(f"{who} {method} {url[:120]} → {response.status_code}")
        return response.status_code

    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static"):
            continue
        methods = sorted((rule.methods or set()) & {"GET", "POST"})
        if rule.endpoint == "auth.logout":
            methods = ["GET"]  # signing out is not input handling; it would end the walk's session
        for value in HOSTILE:
            if rule.arguments:
                for method in methods:
                    check(method, _path(rule, value), data=dict.fromkeys(fields, value) if method == "POST" else None)
        # Query strings and bodies, on a path that exists; once the access rule turns this client away,
        # the other values would meet the same refusal before any code reads them.
        for method in methods:
            for value in HOSTILE:
                query = urlencode(dict.fromkeys(QUERY_NAMES, value))
                body = dict.fromkeys(fields, value) if method == "POST" else None
                if check(method, f"{_path(rule, None)}?{query}", data=body) in (302, 401, 403):
                    break
    return failures


def _signed_in(app: Flask, username: str | None) -> FlaskClient:
    client = app.test_client()
    if username is not None:
        response = AuthActions(client).login(username)
        assert response.status_code == 303, username
    return client


@pytest.mark.slow  # about 4,000 requests per backend: `make test`, not `make check`
@pytest.mark.timeout(1200)  # a minute on an idle machine; far more on a shared one
def test_every_route_survives_hostile_values_and_changes_nothing(app: Flask, offices: dict[str, int]) -> None:
    reviewed_draw(app, offices)
    clients = {who: _signed_in(app, who) for who in ("kinmen-admin", "kinmen-operator", "kinmen-reviewer")}
    clients["anonymous"] = _signed_in(app, None)
    before = _database_state(app)
    failures = [failure for who, client in clients.items() for failure in _walk(app, client, who)]
    assert failures == []
    after = _database_state(app)
    # Hostile sign-in attempts (`POST /login` with a huge "username") are recorded, as they should be,
    # and so is each download of a draw's salts (`POST …/salts.csv`, a read that is audited): the one
    # table that grows (with the shared sign-in counters, `login_counter`), and with nothing else.
    assert {**after, "auth_event": 0, "login_counter": 0} == {**before, "auth_event": 0, "login_counter": 0}
    with app.app_context():
        kinds = set(db.session.scalars(select(AuthEvent.event).where(AuthEvent.id > before["auth_event"])))
    # audited reads (salts, notices) and a POST that needs no input (new recovery codes, ten for ten)
    expected = {
        "password_failed",
        "refused_locked",
        "locked",
        "salts.exported",
        "notices.printed",
        "recovery_codes_made",
    }
    assert kinds <= expected, kinds
    # Still signed in: the walk was answered, not thrown out (a 5xx would have ended the session).
    assert clients["kinmen-reviewer"].get("/reviews/").status_code == 200


def test_the_seen_urls_answer_404_or_400(app: Flask, offices: dict[str, int]) -> None:
    """The rows of the black-box test: huge ids and years in paths are 404, in queries 400."""
    reviewed_draw(app, offices)
    operator, reviewer = _signed_in(app, "kinmen-operator"), _signed_in(app, "kinmen-reviewer")
    huge = "99999999999999999999999"
    assert operator.get(f"/operator/years/{huge}").status_code == 404
    assert operator.get("/operator/years/１１４").status_code == 404  # full-width: not a year here
    assert operator.get("/operator/years/114").status_code == 200
    assert reviewer.get(f"/reviews/cases/{huge}").status_code == 404
    assert reviewer.get("/reviews/cases/01").status_code == 404  # one spelling per case
    assert reviewer.get("/reviews/cases/1").status_code == 200
    answer = reviewer.get(f"/api/v1/reviews/cases?year={huge}")
    assert answer.status_code == 400
    assert answer.json == {
        "error": {"code": "bad_request", "message": "The parameter year must be a whole number from 1 to 999."}
    }
    assert operator.get(f"/operator/years/114?page={huge}").status_code == 400
    assert operator.get("/operator/years/114?page=2").status_code == 200
    assert reviewer.get("/api/v1/reviews/cases?year=114").status_code == 200
    public = app.test_client()
    assert public.get("/log/entries?start=１").status_code == 400
    assert public.get("/log/entries?start=2147483648").status_code == 400
    assert public.get("/log/entries?start=0&end=2").status_code == 200
    assert public.get(f"/statistics/{huge}").status_code == 404
    assert public.get(f"/api/v1/stats/{huge}").status_code == 404


def test_form_integers_are_bounded(app: Flask, offices: dict[str, int]) -> None:
    cases = reviewed_draw(app, offices)
    reviewer, admin = _signed_in(app, "kinmen-reviewer"), _signed_in(app, "kinmen-admin")
    case_id = cases["review"][0]
    before = _database_state(app)
    for amount in ("99999999999999999999999", "2147483648", "-5"):
        step = reviewer.post(
            f"/reviews/cases/{case_id}/steps",
            data={"to_state": "querying", "note": "hostile", "fine_amount": amount, "from_state": "drawn"},
        )
        assert step.status_code < 500
    for entry in ("99999999999999999999999", "0", "²"):
        correction = reviewer.post(f"/reviews/cases/{case_id}/corrections", data={"event_id": entry, "note": "x"})
        assert correction.status_code < 500
    for value in ("99999999999999999999999", "²", "１"):
        assert admin.post(f"/reviews/cases/{case_id}/assign", data={"assignee": value}).status_code == 400
        assert admin.post("/reviews/assign", data={f"case-{value}": "", "case-1": value}).status_code in (200, 303, 400)
    assert _database_state(app) == before


def test_json_bodies_are_limited_in_depth_and_size(app: Flask, offices: dict[str, int]) -> None:
    cases = reviewed_draw(app, offices)
    reviewer = _signed_in(app, "kinmen-reviewer")
    url = f"/api/v1/reviews/cases/{cases['review'][0]}/transitions"
    before = _database_state(app)

    seen = reviewer.post(url, data="{" * 100_000, content_type="application/json")  # the row of issue 14
    assert seen.status_code == 413
    deep = reviewer.post(url, data="{" * 60_000, content_type="application/json")
    assert deep.status_code == 400
    assert deep.json == {"error": {"code": "bad_request", "message": "The JSON body is nested too deeply."}}
    just_too_deep = '{"note": ' + "[" * MAX_JSON_DEPTH + "1" + "]" * MAX_JSON_DEPTH + "}"
    nested_array = reviewer.post(url, data=just_too_deep, content_type="application/json")
    assert nested_array.status_code == 400

    large = reviewer.post(
        url, data=json.dumps({"to_state": "querying", "note": "x" * MAX_JSON_BYTES}), content_type="application/json"
    )
    assert large.status_code == 413
    assert large.json["error"]["message"] == "The JSON body is larger than 64 KB."

    for amount in (10**30, 2**31, -(2**40)):
        huge = reviewer.post(
            url,
            json={"to_state": "querying", "note": "n", "fine_amount": amount, "expected_state": "drawn"},
        )
        assert huge.status_code == 400, huge.json
    correction = reviewer.post(url.replace("transitions", "corrections"), json={"corrects": 10**30, "note": "n"})
    assert correction.status_code in (400, 422), correction.json
    assert _database_state(app) == before


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert not json_depth_exceeds(json.dumps({"note": "{" * 1000 + "[" * 1000}).encode(), MAX_JSON_DEPTH)
    assert not json_depth_exceeds(json.dumps({"note": '\\"{{{{"' * 100}).encode(), 2)
    assert json_depth_exceeds(b"[" * (MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)
    assert not json_depth_exceeds(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, MAX_JSON_DEPTH)
