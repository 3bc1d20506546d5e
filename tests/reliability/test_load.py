"""A livestream crowd: 200 viewers polling the stage display and fetching result.json for 30 s
against gunicorn, with zero errors. (Timings are reported, not asserted; see docs/load.md.)"""

import json

import pytest

from benchmarks.live_load import run_load
from tests.builders import ANNOUNCED, BEACON_AT, DICE_AT, SECRET_AT
from tests.reliability.harness import app_context, prepare_deployment, running, save_draft_at_round

pytestmark = pytest.mark.slow


def complete_demo_draw(env: dict[str, str]) -> str:
    """A completed draw through the real lifecycle; returns its id."""
    with app_context(env) as app:
        from service.config import settings_of
        from service.demo import enter_demo_inputs
        from service.draw_lifecycle import advance_reveal, announce, complete
        from service.extensions import db
        from service.models import Office, User

        settings = settings_of(app)
        office = db.session.query(Office).one()
        operator = db.session.query(User).filter_by(username="operator").one()
        pk = save_draft_at_round(db.session, office, operator)
        announce(db.session, settings, pk, operator, now=ANNOUNCED)
        enter_demo_inputs(db.session, settings, pk, dice_at=DICE_AT, secret_at=SECRET_AT, beacon_at=BEACON_AT)
        complete(db.session, settings, pk, now=BEACON_AT)
        advance_reveal(db.session, pk, 10)
        db.session.commit()
    return "kinmen-114-annual"


def test_two_hundred_viewers_for_thirty_seconds_without_an_error(tmp_path: object) -> None:
    from pathlib import Path

    from tests.reliability.harness import environment

    env = environment(f"sqlite:///{Path(str(tmp_path)) / 'load.db'}", Path(str(tmp_path)))
    prepare_deployment(env, draft=False)
    draw_id = complete_demo_draw(env)
    with running(env) as server:
        result = run_load(server.base, draw_id, clients=200, seconds=30)
    print(json.dumps({"summary": result.summary()}, ensure_ascii=False))
    assert result.errors == []
    assert len(result.latencies) > 200 * 30  # every viewer kept polling the whole time
