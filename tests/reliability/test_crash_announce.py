"""Crash consistency during announce: see tests/reliability/crashing.py."""

import random

import pytest

from tests.reliability.crashing import Witness, check_store, draw_status, kill_during, run_trials, signed_in
from tests.reliability.harness import (
    Server,
    app_context,
    prepare_deployment,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def test_crash_during_announce(deployment: dict[str, str]) -> None:
    prepare_deployment(deployment, draft=False)
    server = Server(deployment, workers=1)
    witness = Witness()
    rng = random.Random(11)

    def trial(i: int) -> None:
        draw_id = f"kinmen-announce-{i}"
        with app_context(deployment):
            from datetime import timedelta

            from service.draw_rules import Rule
            from service.draws import DrawSetup, save_draft
            from service.extensions import db
            from service.models import Office, User, utcnow

            office = db.session.query(Office).one()
            operator = db.session.query(User).filter_by(username="operator").one()
            save_draft(
                db.session, office=office, user=operator,
                setup=DrawSetup(
                    title=f"Trial {i}", draw_id=draw_id, roc_year=114, rule=Rule(), dice_count=20, use_drand=True,
                    scheduled_at=utcnow() + timedelta(days=3), min_notice_hours=24, witnesses=(),
                ),
            )  # fmt: skip
            db.session.commit()
        server.start()
        client = signed_in(server, deployment)
        witness.observe(client)
        client.get(f"/operator/draws/{draw_id}")
        kill_during(
            server,
            lambda: client.post(f"/operator/draws/{draw_id}/announce", {"confirm_draw_id": draw_id}),
            rng.uniform(0.0, 0.3),
        )
        server.start()
        check_store(deployment)
        if draw_status(deployment, draw_id) == "draft":  # redo the step: it must succeed once
            client.get(f"/operator/draws/{draw_id}")
            client.post(f"/operator/draws/{draw_id}/announce", {"confirm_draw_id": draw_id})
        assert draw_status(deployment, draw_id) == "announced"
        witness.check(client)
        server.kill()

    run_trials(trial, server, deployment)
