"""Two gunicorn instances on one database: concurrent attempts to draw give exactly one result."""

import json
import threading
from collections import Counter

import pytest

from tests.builders import ANNOUNCED, BEACON, BEACON_AT, DICE_AT, SECRET_AT
from tests.reliability.harness import Client, app_context, prepare_deployment, running, save_draft_at_round

pytestmark = pytest.mark.slow
ATTEMPTS = 20


def _announced_with_inputs(env: dict[str, str], *, with_beacon: bool) -> None:
    with app_context(env) as app:
        from service.config import settings_of
        from service.demo import enter_demo_inputs
        from service.draw_lifecycle import announce
        from service.extensions import db
        from service.models import Office, User

        settings = settings_of(app)
        office = db.session.query(Office).one()
        operator = db.session.query(User).filter_by(username="operator").one()
        pk = save_draft_at_round(db.session, office, operator)
        announce(db.session, settings, pk, operator, now=ANNOUNCED)
        beacon_at = BEACON_AT if with_beacon else None
        enter_demo_inputs(db.session, settings, pk, dice_at=DICE_AT, secret_at=SECRET_AT, beacon_at=beacon_at)
        db.session.commit()


def _attempt_everywhere(env: dict[str, str], servers: list[str], path: str, data: dict[str, str]) -> Counter[int]:
    first = Client(servers[0])
    first.login("operator", env)
    clients = [Client(servers[i % len(servers)]) for i in range(ATTEMPTS)]
    for client in clients:  # one operator session, used from both servers at once
        client.share_session_with(first)
        client.get("/operator/draws/kinmen-114-annual/console")
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    gate = threading.Barrier(ATTEMPTS)

    def attempt(client: Client) -> None:
        gate.wait()
        status, _ = client.post(path, data)
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=attempt, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def _results(env: dict[str, str]) -> tuple[int, int]:
    with app_context(env):
        from sqlalchemy import select

        from service.extensions import db
        from service.models import Draw, LogEntry
        from service.transparency import verify_log

        assert verify_log(db.session) == []
        completed = [
            e
            for e in (json.loads(t) for t in db.session.scalars(select(LogEntry.entry)))
            if e["type"] == "draw.completed"
        ]
        results = [d for d in db.session.scalars(select(Draw)) if d.result is not None]
        return len(results), len(completed)


@pytest.mark.parametrize("route", ["drand", "complete"])
def test_twenty_concurrent_draw_attempts_give_one_result(deployment: dict[str, str], route: str) -> None:
    prepare_deployment(deployment, draft=False)
    _announced_with_inputs(deployment, with_beacon=route == "complete")
    data = {"beacon": json.dumps(BEACON.to_json())} if route == "drand" else {}
    with running(deployment) as first, running(deployment) as second:
        statuses = _attempt_everywhere(
            deployment, [first.base, second.base], f"/operator/draws/kinmen-114-annual/live/{route}", data
        )
    assert statuses[303] == 1, statuses
    assert statuses[409] == ATTEMPTS - 1, statuses
    assert _results(deployment) == (1, 1)


def _case_with_reviewer_token(env: dict[str, str]) -> tuple[int, str]:
    """A completed draw, its cases opened and assigned to a reviewer; returns a case id and the
    reviewer's API token."""
    _announced_with_inputs(env, with_beacon=True)
    with app_context(env) as app:
        from service.accounts import create_user, issue_api_token
        from service.config import settings_of
        from service.draw_lifecycle import complete
        from service.extensions import db
        from service.models import Draw, Office, ReviewCase, User
        from service.reviews import assign, open_cases_for_draw

        settings = settings_of(app)
        draw = db.session.query(Draw).one()
        complete(db.session, settings, draw.id)
        office = db.session.query(Office).one()
        admin = db.session.query(User).filter_by(username="admin").one()
        reviewer = create_user(
            db.session,
            office=office,
            username="reviewer",
            display_name="R",
            password="reviewer password 1",
            role="reviewer",
        )
        assert open_cases_for_draw(db.session, settings, draw, admin) == []  # opened on completion
        cases = db.session.query(ReviewCase).filter_by(draw_pk=draw.id).order_by(ReviewCase.case_number).all()
        assign(db.session, settings, {cases[0].id: reviewer}, admin)
        token = issue_api_token(db.session, reviewer)
        db.session.commit()
        return int(cases[0].id), token


def test_concurrent_transitions_on_one_case_are_serialised(deployment: dict[str, str]) -> None:
    import urllib.error
    import urllib.request

    prepare_deployment(deployment, draft=False)
    case_id, token = _case_with_reviewer_token(deployment)
    outcomes: Counter[int] = Counter()
    lock = threading.Lock()
    gate = threading.Barrier(ATTEMPTS)

    def attempt(base: str, number: int) -> None:
        body = json.dumps({"to_state": "querying", "note": f"attempt {number}"}).encode()
        request = urllib.request.Request(f"{base}/api/v1/reviews/cases/{case_id}/transitions", data=body, method="POST")
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/json")
        gate.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        with lock:
            outcomes[status] += 1

    with running(deployment) as first, running(deployment) as second:
        threads = [threading.Thread(target=attempt, args=((first, second)[i % 2].base, i)) for i in range(ATTEMPTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert sum(count for status, count in outcomes.items() if status < 300) == 1, outcomes
    assert set(outcomes) <= {201, 409, 422}, outcomes  # the others are refused: the state has moved on
    with app_context(deployment):
        from service.extensions import db
        from service.integrity import self_check
        from service.models import ReviewCase, ReviewEvent

        case = db.session.get(ReviewCase, case_id)
        assert case is not None and case.state == "querying"
        events = db.session.query(ReviewEvent).filter_by(case_id=case_id).order_by(ReviewEvent.sequence).all()
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))  # no gap, no duplicate
        assert [e.to_state for e in events].count("querying") == 1
        assert self_check(db.session) == []
