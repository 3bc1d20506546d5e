"""A small public world built through real services: an office, its users, a completed draw of
the demo year (real drand round 657413) and, on request, a draft for a live draw.

Used by the public-site tests (Flask test client) and the browser tests (a real server).
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from service.accounts import get_or_create_office
from service.config import settings_of
from service.draw_lifecycle import advance_reveal
from service.draws import save_draft
from service.extensions import db
from service.models import Draw, Office, User
from service.witnesses import confirm
from tests.builders import (
    ANNOUNCED,
    BEACON,
    BEACON_AT,
    add_witnesses,
    draw_setup,
    make_user,
    prepare_draft,
    run_to_result,
)

COMPLETED = "kinmen-114-annual"
WITNESSES = ("監察員 李大同", "主計室 王小華", "人事室 陳美惠")


def build_office(app: Flask, disclosure: str = "none") -> int:
    """The Kinmen office with an admin, an operator and a reviewer; returns its id."""
    with app.app_context():
        office = get_or_create_office(db.session, "kinmen", "金門縣政府政風處")
        office.name_disclosure = disclosure
        for role in ("admin", "operator", "reviewer"):
            make_user(office, f"kinmen-{role}", role)
        db.session.commit()
        return int(office.id)


def complete_draw(app: Flask, office_id: int, reveal: bool = True) -> int:
    """Import the demo year, make the office key and run the demo draw to its signed result."""
    pk = prepare_draft(app, office_id, "kinmen-operator", COMPLETED)
    run_to_result(app, pk, "kinmen-operator")
    settings = settings_of(app)
    with app.app_context():
        if reveal:
            advance_reveal(db.session, pk, 10**9)
            witness = db.session.scalars(select(User).where(User.username == "kinmen-witness1")).one()
            confirm(db.session, settings, pk, witness, now=BEACON_AT + timedelta(minutes=5))
            db.session.commit()
    return pk


def live_draft(app: Flask, office_id: int, draw_id: str = "kinmen-114-live") -> int:
    """A second draft of the same year at the recorded round's time (announce it with `now=ANNOUNCED`)."""
    with app.app_context():
        office = db.session.get(Office, office_id)
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        assert office is not None
        add_witnesses(office)
        setup = draw_setup(draw_id, title="114年度財產申報實質審查抽籤（直播）", witnesses=WITNESSES)
        draw = save_draft(db.session, office=office, user=operator, setup=setup, now=ANNOUNCED)
        db.session.commit()
        return int(draw.id)


def draw_row(app: Flask, draw_id: str) -> Draw:
    """A detached copy of a draw's row."""
    with app.app_context():
        draw = db.session.scalars(select(Draw).where(Draw.draw_id == draw_id)).one()
        db.session.expunge(draw)
        return draw


def beacon_json() -> dict[str, Any]:
    """The recorded real round as a relay serves it (what the operator pastes)."""
    return {"round": BEACON.round, "randomness": BEACON.randomness, "signature": BEACON.signature}


def utc(text: str) -> datetime:
    """Parse an RFC 3339 UTC time of the documents."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
