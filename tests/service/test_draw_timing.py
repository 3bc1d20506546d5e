"""Timing, tried as an insider with the clock (protocol §4–§5): no input before the start or after the
window closes, the beacon after the window, the notice never below the deployment's minimum,
every input logged as it is accepted, and abandoning publishes what it had — secret included.

The clock is injected (`now=` on each step, `fix_clock` for the console, a clock file for
running servers); nothing sleeps."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from lottery.drand import round_time
from lottery.draw import commitment
from lottery.timestamps import format_timestamp
from service import clock
from service.config import ConfigError, load_settings, settings_of
from service.draw_lifecycle import (
    DrawLifecycleError,
    abandon,
    announce,
    enter_dice,
    record_beacon,
    reveal_secret,
)
from service.extensions import db
from service.models import LogEntry, User
from tests.builders import (
    ANNOUNCED,
    BEACON,
    BEACON_AT,
    DICE,
    DICE_AT,
    INPUTS_CLOSE,
    SCHEDULED,
    SECRET_AT,
    AuthActions,
    get_draw,
    prepare_draft,
    run_to_result,
)

SECOND = timedelta(seconds=1)


def _operator() -> User:
    return db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()


def _announced(app: Flask, offices: dict[str, int]) -> int:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    with app.app_context():
        announce(db.session, settings_of(app), pk, _operator(), now=ANNOUNCED)
        db.session.commit()
    return pk


def _log(app: Flask) -> list[dict[str, object]]:
    with app.app_context():
        return [json.loads(row.entry) for row in db.session.scalars(select(LogEntry).order_by(LogEntry.index))]


def test_the_announcement_declares_the_window_and_a_round_after_it(app: Flask, offices: dict[str, int]) -> None:
    pk = _announced(app, offices)
    draw = get_draw(app, pk)
    document = json.loads(draw.announcement or b"")
    assert document["inputs_close_at"] == format_timestamp(INPUTS_CLOSE)
    assert draw.inputs_close_at == INPUTS_CLOSE
    round_number = document["entropy"]["drand"]["round"]
    assert round_number == BEACON.round
    assert round_time(round_number) >= INPUTS_CLOSE.timestamp() + 30
    assert round_time(round_number - 1) < INPUTS_CLOSE.timestamp() + 30  # the first such round


@pytest.mark.parametrize("step", ["dice", "secret"])
def test_inputs_are_refused_before_the_start_and_from_the_close(app: Flask, offices: dict[str, int], step: str) -> None:
    pk = _announced(app, offices)
    settings = settings_of(app)

    def enter(moment):  # type: ignore[no-untyped-def]
        if step == "dice":
            return enter_dice(db.session, settings, pk, DICE, now=moment)
        return reveal_secret(db.session, settings, pk, now=moment)

    with app.app_context():
        if step == "secret":
            enter_dice(db.session, settings, pk, DICE, now=DICE_AT)
            db.session.commit()
        for moment, why in ((SCHEDULED - SECOND, "from the announced start"), (INPUTS_CLOSE, "closed")):
            with pytest.raises(DrawLifecycleError, match=why):
                enter(moment)
            db.session.rollback()
        with pytest.raises(DrawLifecycleError, match="closed"):
            enter(INPUTS_CLOSE + timedelta(hours=3))
        db.session.rollback()
        enter(INPUTS_CLOSE - SECOND)  # the last second of the window
        db.session.commit()
    draw = get_draw(app, pk)
    assert (draw.dice if step == "dice" else draw.revealed_secret) is not None


def test_every_input_is_logged_with_its_value_as_it_is_accepted(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_result(app, pk, "kinmen-operator")
    inputs = [entry for entry in _log(app) if entry["type"] == "draw.input"]
    draw = get_draw(app, pk)
    assert inputs == [
        {
            "type": "draw.input",
            "time": format_timestamp(DICE_AT),
            "draw_id": draw.draw_id,
            "name": "dice",
            "value": DICE,
        },
        {
            "type": "draw.input",
            "time": format_timestamp(SECRET_AT),
            "draw_id": draw.draw_id,
            "name": "secret",
            "value": draw.revealed_secret,
        },
        {
            "type": "draw.input",
            "time": format_timestamp(BEACON_AT),
            "draw_id": draw.draw_id,
            "name": "drand",
            "value": BEACON.to_json(),
        },
    ]
    result = json.loads(draw.result or b"")
    assert result["inputs"] == {"dice": DICE, "secret": draw.revealed_secret, "drand": BEACON.to_json()}


def test_after_the_close_a_draw_missing_an_input_can_only_be_abandoned_and_publishes_its_secret(
    app: Flask, offices: dict[str, int]
) -> None:
    pk = _announced(app, offices)
    settings = settings_of(app)
    with app.app_context():
        enter_dice(db.session, settings, pk, DICE, now=DICE_AT)
        db.session.commit()
        with pytest.raises(DrawLifecycleError, match="closed"):
            reveal_secret(db.session, settings, pk, now=INPUTS_CLOSE + SECOND)
        db.session.rollback()
        with pytest.raises(DrawLifecycleError, match="reveal the secret"):
            record_beacon(db.session, settings, pk, BEACON, now=BEACON_AT)
        db.session.rollback()
        abandon(db.session, settings, pk, "承辦人未於時限內揭露秘密", now=INPUTS_CLOSE + SECOND)
        db.session.commit()
    entry = _log(app)[-1]
    draw = get_draw(app, pk)
    assert entry["type"] == "draw.abandoned" and entry["reason"] == "承辦人未於時限內揭露秘密"
    inputs = entry["inputs"]
    assert isinstance(inputs, dict) and inputs["dice"] == DICE
    # The secret was never revealed on the console, yet the abandonment publishes it, and it
    # opens the commitment announced before the draw.
    assert draw.revealed_secret is None
    assert commitment(inputs["secret"]) == draw.commitment


def test_an_abandoned_draw_whose_secret_is_lost_says_so_by_leaving_it_out(app: Flask, offices: dict[str, int]) -> None:
    pk = _announced(app, offices)
    lost = settings_of(app).with_overrides(secret_key="another deployment's secret " + "y" * 20)
    with app.app_context():
        abandon(db.session, lost, pk, "密封秘密無法開啟", now=SCHEDULED + SECOND)
        db.session.commit()
    assert _log(app)[-1]["inputs"] == {}


def test_the_notice_is_never_below_the_deployment_minimum(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")  # the draft asks for 24 hours
    strict = settings_of(app).with_overrides(min_notice_hours=72)
    with app.app_context():
        with pytest.raises(DrawLifecycleError, match="72 hours"):
            announce(db.session, strict, pk, _operator(), now=SCHEDULED - timedelta(hours=71, minutes=59))
        db.session.rollback()
        with pytest.raises(DrawLifecycleError, match="24 hours"):
            announce(db.session, settings_of(app), pk, _operator(), now=SCHEDULED - timedelta(hours=23))
        db.session.rollback()
        announce(db.session, strict, pk, _operator(), now=SCHEDULED - timedelta(hours=72))
        db.session.commit()
    assert get_draw(app, pk).status == "announced"


def test_production_refuses_less_than_a_day_of_notice_or_a_movable_clock() -> None:
    base = {"SUNSHINE_ENV": "production", "SECRET_KEY": "s" * 40}
    with pytest.raises(ConfigError, match="below 24"):
        load_settings({**base, "SUNSHINE_MIN_NOTICE_HOURS": "0"})
    with pytest.raises(ConfigError, match="never production"):
        load_settings({**base, "SUNSHINE_CLOCK_FILE": "/tmp/clock"})
    with pytest.raises(ConfigError, match="whole number"):
        load_settings({**base, "SUNSHINE_MIN_NOTICE_HOURS": "-5"})
    assert load_settings({**base, "SUNSHINE_MIN_NOTICE_HOURS": "48"}).min_notice_hours == 48
    assert load_settings(base).min_notice_hours == 24


def test_the_console_follows_the_clock_not_the_operator(app: Flask, offices: dict[str, int]) -> None:
    pk = _announced(app, offices)
    client = app.test_client()
    AuthActions(client).login("kinmen-operator")
    dice_url = "/operator/draws/kinmen-114-annual/live/dice"
    clock.fix_clock(app, SCHEDULED - timedelta(minutes=5))
    page = client.post(dice_url, data={"dice": DICE}, follow_redirects=True)
    assert "Inputs are accepted from the announced start" in page.get_data(as_text=True)
    assert get_draw(app, pk).dice is None
    clock.fix_clock(app, INPUTS_CLOSE)
    page = client.post(dice_url, data={"dice": DICE}, follow_redirects=True)
    assert "The input window closed" in page.get_data(as_text=True)
    assert get_draw(app, pk).dice is None
    clock.fix_clock(app, DICE_AT)
    client.post(dice_url, data={"dice": DICE})
    assert get_draw(app, pk).dice == DICE
    clock.fix_clock(app, None)


def test_a_clock_file_moves_a_running_servers_clock(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text(format_timestamp(SCHEDULED))
    moved = settings_of(app).with_overrides(clock_file=path)
    app.extensions["sunshine_settings"] = moved
    with app.app_context():
        assert clock.now() == SCHEDULED
        path.write_text(format_timestamp(BEACON_AT) + "\n")
        assert clock.now() == BEACON_AT
        path.write_text("not a time")
        assert abs((clock.now() - clock.utcnow()).total_seconds()) < 5  # unreadable: the real clock


def test_an_abandoned_draws_page_shows_its_inputs_and_once_the_beacon_is_out_what_it_would_have_selected(
    app: Flask, offices: dict[str, int]
) -> None:
    from lottery.announcement import parse_announcement
    from lottery.draw import DrawInputs
    from lottery.engine import run_draw_from_file
    from service.abandoned import remember_beacon

    pk = _announced(app, offices)
    settings = settings_of(app)
    with app.app_context():
        enter_dice(db.session, settings, pk, DICE, now=DICE_AT)
        reveal_secret(db.session, settings, pk, now=SECRET_AT)
        abandon(db.session, settings, pk, "直播中斷，無法繼續", now=SECRET_AT + SECOND)
        db.session.commit()
    draw = get_draw(app, pk)
    client = app.test_client()
    clock.fix_clock(app, SECRET_AT + timedelta(minutes=1))
    html = client.get("/draws/kinmen-114-annual").get_data(as_text=True)
    assert draw.revealed_secret is not None and draw.revealed_secret in html and DICE in html
    assert "Once drand round 657413 is out" in html and "would-have-review" not in html
    clock.fix_clock(app, BEACON_AT)
    with app.app_context():
        remember_beacon(db.session, BEACON, BEACON_AT)  # the console fetched it once it was out
        db.session.commit()
    html = client.get("/draws/kinmen-114-annual").get_data(as_text=True)
    expected = run_draw_from_file(
        draw.population_tsv or b"",
        parse_announcement(json.loads(draw.announcement or b"")),
        DrawInputs(secret=draw.revealed_secret, dice=DICE, drand=BEACON),
        format_timestamp(SECRET_AT + SECOND),
    )
    assert "not binding" in html
    listed = html.split('id="would-have-review"')[1].split("</ol>")[0]
    assert [s["id"] for s in expected["stages"][0]["selected"]] == [
        item.split(">")[1].split("<")[0] for item in listed.split('<li class="mono"')[1:]
    ]
    clock.fix_clock(app, None)


def test_events_json_holds_the_draws_events_each_proved_in_the_bundles_checkpoint(
    app: Flask, offices: dict[str, int]
) -> None:
    import base64

    from lottery.checkpoint import open_checkpoint
    from lottery.merkle import leaf_hash, verify_inclusion
    from lottery.signing import parse_vkey

    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_result(app, pk, "kinmen-operator")
    client = app.test_client()
    vkey = parse_vkey(client.get("/keys/office.vkey").get_data(as_text=True))
    events = client.get("/draws/kinmen-114-annual/events.json").get_json()
    draw = get_draw(app, pk)
    size = (draw.completed_log_index or 0) + 1
    with app.app_context():
        from service.transparency import checkpoint_at

        note = checkpoint_at(db.session, size)
        assert note is not None
        body = open_checkpoint(note.note, [vkey])
    kinds = [(json.loads(e["entry"])["type"], json.loads(e["entry"]).get("name")) for e in events]
    assert kinds == [
        ("draw.announced", None),
        ("draw.input", "dice"),
        ("draw.input", "secret"),
        ("draw.input", "drand"),
        ("draw.completed", None),
    ]
    for event in events:
        path = [base64.b64decode(p) for p in event["proof"]]
        verify_inclusion(event["index"], body.size, leaf_hash(event["entry"].encode()), path, body.root)
    assert client.get("/draws/kinmen-114-annual/events.json").headers["Cache-Control"].endswith("immutable")
