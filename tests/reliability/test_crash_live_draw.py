"""Crash consistency during live draw: see tests/reliability/crashing.py."""

import json
import random
from datetime import datetime

import pytest

from lottery.bundle import verify_bundle
from tests.builders import ANNOUNCED, BEACON, BEACON_AT, DICE, DICE_AT, SECRET_AT
from tests.reliability.crashing import Witness, check_store, draw_status, kill_during, run_trials, signed_in
from tests.reliability.harness import (
    Client,
    Server,
    app_context,
    prepare_deployment,
    save_draft_at_round,
    set_clock,
    with_clock,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def test_crash_during_the_live_draw(deployment: dict[str, str]) -> None:
    deployment = with_clock(deployment)  # each step at its moment of the recorded round's day
    prepare_deployment(deployment, draft=False)
    server = Server(deployment, workers=1)
    witness = Witness()
    rng = random.Random(13)
    beacon = json.dumps(BEACON.to_json())

    def steps(client: Client, draw_id: str) -> list[tuple[str, dict[str, str], datetime]]:
        return [
            (f"/operator/draws/{draw_id}/live/dice", {"dice": DICE}, DICE_AT),
            (f"/operator/draws/{draw_id}/live/secret", {}, SECRET_AT),
            (f"/operator/draws/{draw_id}/live/drand", {"beacon": beacon}, BEACON_AT),
            (f"/operator/draws/{draw_id}/live/complete", {}, BEACON_AT),
        ]

    def trial(i: int) -> None:
        draw_id = f"kinmen-live-{i}"
        with app_context(deployment) as app:
            from service.config import settings_of
            from service.draw_lifecycle import announce
            from service.extensions import db
            from service.models import Office, User

            office = db.session.query(Office).one()
            operator = db.session.query(User).filter_by(username="operator").one()
            pk = save_draft_at_round(db.session, office, operator, draw_id)
            announce(db.session, settings_of(app), pk, operator, now=ANNOUNCED)
            db.session.commit()
        server.start()
        client = signed_in(server, deployment)
        witness.observe(client)
        client.get(f"/operator/draws/{draw_id}/console")

        def run_all() -> None:
            for path, data, moment in steps(client, draw_id):
                set_clock(deployment, moment)
                client.post(path, data)

        kill_during(server, run_all, rng.uniform(0.0, 1.6))
        server.start()
        check_store(deployment)
        client.get(f"/operator/draws/{draw_id}/console")
        for path, data, moment in steps(client, draw_id):  # redo whatever is missing; done steps answer 409
            set_clock(deployment, moment)
            status, _ = client.post(path, data)
            assert status in (303, 409), (path, status)
        assert draw_status(deployment, draw_id) == "completed"
        check_store(deployment)
        status, bundle = client.get(f"/draws/{draw_id}/bundle.zip")
        assert status == 200
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            files = {name.rsplit("/", 1)[-1]: archive.read(name) for name in archive.namelist()}
        assert verify_bundle(files, check_bls=False).ok
        witness.check(client)
        server.kill()

    run_trials(trial, server, deployment)
