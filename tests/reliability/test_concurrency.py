"""Two gunicorn instances on one database: concurrent attempts to draw give exactly one result."""

import json
import threading
from collections import Counter

import pytest

from tests.reliability.harness import Client, app_context, prepare_deployment, running, save_draft_at_round
from tests.service.lifecycle import ANNOUNCED, BEACON, DICE

pytestmark = pytest.mark.slow
ATTEMPTS = 20


def _announced_with_inputs(env: dict[str, str], *, with_beacon: bool) -> None:
    with app_context(env) as app:
        from service import settings_of
        from service.draw_lifecycle import announce, enter_dice, record_beacon, reveal_secret
        from service.extensions import db
        from service.models import Office, User

        settings = settings_of(app)
        office = db.session.query(Office).one()
        operator = db.session.query(User).filter_by(username="operator").one()
        pk = save_draft_at_round(db.session, office, operator)
        announce(db.session, settings, pk, operator, now=ANNOUNCED)
        enter_dice(db.session, pk, DICE)
        reveal_secret(db.session, settings, pk)
        if with_beacon:
            record_beacon(db.session, pk, BEACON)
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
