"""Building blocks for lifecycle tests: a year imported, a key, a draft — through real services."""

from datetime import UTC, datetime, timedelta

from flask import Flask

from lottery.drand import round_time
from service.config import settings_of
from service.declarations import import_upload, start_upload
from service.demo import (
    DEMO_BEACON,
    DEMO_ROUND,
    DEMO_WITNESS_USERS,
    DEMO_WITNESSES,
    create_witness_users,
    demo_csv,
    demo_setup,
)
from service.draw_lifecycle import announce, complete, enter_dice, record_beacon, reveal_secret
from service.draws import DrawSetup, save_draft
from service.extensions import db
from service.keystore import forget_unlocked_keys, generate_key
from service.models import Draw, Office, User

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
BEACON_AT = datetime.fromtimestamp(round_time(DEMO_ROUND) + 2, UTC)
BEACON = DEMO_BEACON
DICE = "50104646865477507016"


def add_witnesses(office: Office) -> list[User]:
    """The office's witness accounts for `DEMO_WITNESSES`: `<slug>-witness1` (李大同), 2 (王小華), 3 (陳美惠)."""
    from tests.builders import PASSWORD

    accounts = tuple(
        (f"{office.slug}-witness{number}", display, "witness", PASSWORD)
        for number, (_username, display, _role, _password) in enumerate(DEMO_WITNESS_USERS, start=1)
    )
    return create_witness_users(db.session, office, accounts)


def draw_setup(
    draw_id: str, title: str = "114年度公職人員財產申報實質審查抽籤", witnesses: str = DEMO_WITNESSES
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
        enter_dice(db.session, settings, draw_pk, DICE, now=DICE_AT)
        reveal_secret(db.session, settings, draw_pk, now=SECRET_AT)
        record_beacon(db.session, settings, draw_pk, BEACON, now=BEACON_AT)
        db.session.commit()
        complete(db.session, settings, draw_pk, now=BEACON_AT)
        db.session.commit()
