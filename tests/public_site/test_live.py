"""The stage display's state follows each step of the live draw, and never shows the secret early."""

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lottery.draw import commitment
from service.config import settings_of
from service.draw_lifecycle import advance_reveal, announce, enter_dice, record_beacon, reveal_secret, start_live
from service.extensions import db
from service.models import User
from tests.builders import ANNOUNCED, BEACON, BEACON_AT, DICE, DICE_AT, SCHEDULED, SECRET_AT
from tests.public_site.world import build_office, complete_draw, live_draft

LIVE = "/draws/kinmen-114-live/live.json"


def _state(client: FlaskClient) -> dict[str, Any]:
    response = client.get(LIVE)
    assert response.status_code == 200
    return json.loads(response.data)


def test_live_state_walks_through_every_scene(app: Flask, client: FlaskClient) -> None:
    office_id = build_office(app)
    complete_draw(app, office_id)
    pk = live_draft(app, office_id)
    settings = settings_of(app)
    with app.app_context():
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        announce(db.session, settings, pk, operator, now=ANNOUNCED)
        db.session.commit()
    state = _state(client)
    assert state["step"] == "waiting" and state["secret"] is None and state["seed"] is None
    assert state["population"]["size"] == 244 and state["dice"] == {"count": 20, "value": None}
    assert state["inputs_close_at"] == "2023-09-15T10:59:33Z" and state["beacon_at"] == "2023-09-15T11:00:03Z"
    page = client.get("/draws/kinmen-114-live/live").get_data(as_text=True)
    assert 'data-close="2023-09-15T10:59:33Z"' in page and 'data-beacon="2023-09-15T11:00:03Z"' in page
    steps = [
        (lambda: start_live(db.session, pk, SCHEDULED), "population"),
        (lambda: enter_dice(db.session, settings, pk, DICE, now=DICE_AT), "dice"),
        (lambda: reveal_secret(db.session, settings, pk, now=SECRET_AT), "secret"),
    ]
    for action, expected in steps:
        with app.app_context():
            action()
            db.session.commit()
        state = _state(client)
        assert state["step"] == expected
    assert state["checks"]["commitment"] is True and commitment(state["secret"]) == state["commitment"]
    with app.app_context():
        record_beacon(db.session, settings, pk, BEACON, now=BEACON_AT)
        db.session.commit()
        from service.draw_lifecycle import complete

        complete(db.session, settings, pk, now=BEACON_AT)
        db.session.commit()
    state = _state(client)
    assert state["step"] == "seed" and state["seed"] and state["revealed"] == []
    assert state["checks"]["randomness"] is True and state["drand"]["round"] == BEACON.round
    with app.app_context():
        advance_reveal(db.session, pk, 1)
        db.session.commit()
    state = _state(client)
    assert state["step"] == "revealing" and len(state["revealed"]) == 1 and state["revealed"][0]["rank"] == 1
    with app.app_context():
        advance_reveal(db.session, pk, 10**9)
        db.session.commit()
    state = _state(client)
    assert state["step"] == "done" and len(state["revealed"]) == state["total"] == 26
    assert state["verify_url"] == "http://localhost/draws/kinmen-114-live/verify"


def test_live_json_answers_304_while_nothing_changes(client: FlaskClient, completed: dict[str, Any]) -> None:
    first = client.get("/draws/kinmen-114-annual/live.json")
    etag = first.headers["ETag"]
    again = client.get("/draws/kinmen-114-annual/live.json", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_the_stage_shows_only_the_announced_sources(app: Flask, client: FlaskClient) -> None:
    office_id = build_office(app)
    complete_draw(app, office_id)
    pk = live_draft(app, office_id)
    with app.app_context():
        from service.models import Draw

        draw = db.session.get(Draw, pk)
        assert draw is not None
        draw.use_drand = False  # a draft with dice and the secret only
        db.session.commit()
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        announce(db.session, settings_of(app), pk, operator, now=ANNOUNCED)
        db.session.commit()
    page = client.get("/draws/kinmen-114-live/live").get_data(as_text=True)
    assert 'data-rail="drand"' not in page and 'id="st-wait-round"' not in page and "data-beacon" not in page
    assert 'data-rail="dice"' in page and 'data-close="2023-09-15T10:59:33Z"' in page
    assert _state(client)["drand"] is None
