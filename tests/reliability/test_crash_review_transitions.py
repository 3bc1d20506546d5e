"""Crash consistency during review transitions: see tests/reliability/crashing.py."""

import json
import random

import pytest

from tests.reliability.crashing import REVIEW_PATH, kill_during, run_trials
from tests.reliability.harness import (
    Server,
    app_context,
    prepare_deployment,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def test_crash_during_review_transitions(deployment: dict[str, str]) -> None:
    import urllib.error
    import urllib.request

    from tests.reliability.test_concurrency import _case_with_reviewer_token

    prepare_deployment(deployment, draft=False)
    first_case, token = _case_with_reviewer_token(deployment)
    with app_context(deployment) as app:
        from service.config import settings_of
        from service.extensions import db
        from service.models import ReviewCase, User
        from service.reviews import assign

        admin = db.session.query(User).filter_by(username="admin").one()
        reviewer = db.session.query(User).filter_by(username="reviewer").one()
        case_ids = [c.id for c in db.session.query(ReviewCase).order_by(ReviewCase.id)]
        assign(
            db.session, settings_of(app), {case_id: reviewer for case_id in case_ids if case_id != first_case}, admin
        )
        db.session.commit()
    server = Server(deployment, workers=1)
    rng = random.Random(17)

    def post(case_id: int, to_state: str) -> int:
        body = json.dumps({"to_state": to_state, "note": "crash trial"}).encode()
        request = urllib.request.Request(
            f"{server.base}/api/v1/reviews/cases/{case_id}/transitions", data=body, method="POST"
        )
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def case_events(case_id: int) -> tuple[str, list[tuple[int, str]]]:
        with app_context(deployment):
            from service.extensions import db
            from service.integrity import self_check
            from service.models import ReviewCase, ReviewEvent

            assert self_check(db.session) == []
            case = db.session.get(ReviewCase, case_id)
            assert case is not None
            events = [
                (e.sequence, e.to_state)
                for e in db.session.query(ReviewEvent).filter_by(case_id=case_id).order_by(ReviewEvent.sequence)
            ]
            return str(case.state), events

    def trial(i: int) -> None:
        case_id = case_ids[i // len(REVIEW_PATH)]
        wanted = REVIEW_PATH[i % len(REVIEW_PATH)]
        server.start()
        kill_during(server, lambda: post(case_id, wanted), rng.uniform(0.0, 0.4))
        server.start()
        state, events = case_events(case_id)
        assert [sequence for sequence, _ in events] == list(range(1, len(events) + 1)), events
        assert [to for _, to in events].count(wanted) == (1 if state == wanted else 0), (state, events)
        if state != wanted:  # the step was lost with the crash: redo it, once
            assert post(case_id, wanted) == 201
        state, events = case_events(case_id)
        assert state == wanted and [to for _, to in events].count(wanted) == 1
        server.kill()

    run_trials(trial, server, deployment)
