"""Crash consistency: SIGKILL gunicorn at random points of import, announce, the live draw and
review transitions,
restart it, and check that nothing is half-written and history still verifies.

Each step runs 30 trials per backend (bounded by pytest's timeout, not by a time budget). After every restart:
- the draw has no result or a complete, signed, logged one, and no half-announced state;
- redoing the interrupted step gives the identical result (recomputed from what is stored);
- the log's root recomputes to the last checkpoint (`verify_log` finds nothing);
- every checkpoint served before the crash is consistent with the recovered log.
"""

import base64
import json
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime

import pytest

from lottery.bundle import verify_bundle
from lottery.checkpoint import open_checkpoint
from lottery.merkle import verify_consistency
from lottery.signing import parse_vkey
from tests.builders import ANNOUNCED, BEACON, BEACON_AT, DICE, DICE_AT, SECRET_AT
from tests.reliability.harness import (
    Client,
    Server,
    app_context,
    prepare_deployment,
    save_draft_at_round,
    set_clock,
    until_server_dies,
    with_clock,
)

TRIALS = 30
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def _kill_during(server: Server, action: Callable[[], object], delay: float) -> None:
    """Start `action` (an HTTP request) and SIGKILL the server `delay` seconds later."""
    worker = threading.Thread(target=until_server_dies(action), daemon=True)
    worker.start()
    time.sleep(delay)
    server.kill()
    worker.join(timeout=30)


class Witness:
    """Keeps every checkpoint it was served and checks the log stays consistent with them."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, bytes]] = []

    def observe(self, client: Client) -> None:
        vkey = parse_vkey(client.get("/keys/office.vkey")[1].decode())
        checkpoint = open_checkpoint(client.get("/log/checkpoint")[1].decode(), [vkey])
        self.seen.append((checkpoint.size, checkpoint.root))

    def check(self, client: Client) -> None:
        self.observe(client)
        size, root = self.seen[-1]
        for old_size, old_root in self.seen[:-1]:
            status, body = client.get(f"/log/proof/consistency?first={old_size}&second={size}")
            assert status == 200, body
            path = [base64.b64decode(p) for p in json.loads(body)["path"]]
            verify_consistency(old_size, size, path, old_root, root)


def _check_store(env: dict[str, str]) -> None:
    """Every stored draw is whole, and the log verifies."""
    with app_context(env):
        from sqlalchemy import select

        from service.draw_lifecycle import compute_result
        from service.extensions import db
        from service.models import Draw, LogEntry
        from service.transparency import verify_log

        assert verify_log(db.session) == []
        logged = [json.loads(entry) for entry in db.session.scalars(select(LogEntry.entry))]
        for draw in db.session.scalars(select(Draw)):
            announced = [e for e in logged if e["type"] == "draw.announced" and e["draw_id"] == draw.draw_id]
            completed = [e for e in logged if e["type"] == "draw.completed" and e["draw_id"] == draw.draw_id]
            if draw.status == "draft":
                assert draw.announcement is None and draw.sealed_secret is None and not announced
            else:
                assert draw.announcement and draw.announcement_sig and draw.sealed_secret and draw.population_tsv
                assert [e["announcement_digest"] for e in announced] == [draw.announcement_digest]
            if draw.result is None:
                assert draw.status != "completed" and not completed
            else:
                assert draw.status == "completed" and draw.result_sig
                assert [e["result_digest"] for e in completed] == [draw.result_digest]
                from lottery.canonical import canonical_json

                assert canonical_json(compute_result(draw)) == draw.result


_clients: dict[str, Client] = {}


def signed_in(server: Server, env: dict[str, str]) -> Client:
    """One operator session per deployment, reused across restarts (sessions live on the server,
    so a restart does not sign anyone out; and a TOTP code can be used only once)."""
    key = env["DATABASE_URL"]
    if key not in _clients:
        client = Client(server.base)
        client.login("operator", env)
        _clients[key] = client
    return _clients[key]


def _trial_loop(run_trial: Callable[[int], None]) -> int:
    """Run the TRIALS trials: their number is the property tested, not how fast a shared machine
    gets through them (a time budget here failed with fewer trials whenever the machine was busy);
    pytest's timeout, below, is what bounds a hung trial."""
    for done in range(TRIALS):
        run_trial(done)
    return TRIALS


def test_crash_during_import(deployment: dict[str, str]) -> None:
    prepare_deployment(deployment, draft=False)
    from service.demo import demo_csv

    server = Server(deployment, workers=1)
    witness = Witness()
    rng = random.Random(7)

    def trial(i: int) -> None:
        year = 120 + i
        server.start()
        client = signed_in(server, deployment)
        witness.observe(client)
        data = demo_csv(seed=i, year=year)
        upload_id = _upload(client, data, year)
        assert _wait_for(client, upload_id, ("ready",)) == "ready"
        _kill_during(server, lambda: client.post(f"/operator/uploads/{upload_id}/import"), rng.uniform(0.0, 0.6))
        server.start()
        count = _declarants(deployment, year)
        assert count in (0, 244), f"trial {i}: {count} declarants of year {year} after a crash"
        if count == 0:  # redo: upload again and import; it must complete
            again = _upload(client, data, year)
            assert _wait_for(client, again, ("ready",)) == "ready"
            client.post(f"/operator/uploads/{again}/import")
            assert _wait_for(client, again, ("imported",)) == "imported"
            assert _declarants(deployment, year) == 244
        witness.check(client)
        server.kill()

    try:
        assert _trial_loop(trial) >= TRIALS
    finally:
        server.kill()
    _check_store(deployment)


def _upload(client: Client, data: bytes, year: int) -> int:
    import uuid

    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{client.csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="roc_year"\r\n\r\n{year}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="y.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    import urllib.error
    import urllib.request

    request = urllib.request.Request(client.base + "/operator/declarations", data=body, method="POST")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        client.opener.open(request, timeout=60)
    except urllib.error.HTTPError as error:
        assert error.code == 303, error.read()[:300]
        return int(error.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    raise AssertionError("upload did not redirect")


def _wait_for(client: Client, upload_id: int, wanted: tuple[str, ...], timeout: float = 60.0) -> str:
    """Poll the upload's progress (the work runs in the background) until it reaches a state."""
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        _, body = client.get(f"/operator/uploads/{upload_id}/progress")
        status = json.loads(body)["status"]
        if status in (*wanted, "invalid", "failed"):
            return str(status)
        time.sleep(0.1)
    return status


def _declarants(env: dict[str, str], year: int) -> int:
    with app_context(env):
        from sqlalchemy import func, select

        from service.extensions import db
        from service.models import Declarant

        return int(
            db.session.scalar(select(func.count()).select_from(Declarant).where(Declarant.roc_year == year)) or 0
        )


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
        _kill_during(
            server,
            lambda: client.post(f"/operator/draws/{draw_id}/announce", {"confirm_draw_id": draw_id}),
            rng.uniform(0.0, 0.3),
        )
        server.start()
        _check_store(deployment)
        if _status(deployment, draw_id) == "draft":  # redo the step: it must succeed once
            client.get(f"/operator/draws/{draw_id}")
            client.post(f"/operator/draws/{draw_id}/announce", {"confirm_draw_id": draw_id})
        assert _status(deployment, draw_id) == "announced"
        witness.check(client)
        server.kill()

    try:
        assert _trial_loop(trial) >= TRIALS
    finally:
        server.kill()
    _check_store(deployment)


def _status(env: dict[str, str], draw_id: str) -> str:
    with app_context(env):
        from service.extensions import db
        from service.models import Draw

        return str(db.session.query(Draw).filter_by(draw_id=draw_id).one().status)


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

        _kill_during(server, run_all, rng.uniform(0.0, 1.6))
        server.start()
        _check_store(deployment)
        client.get(f"/operator/draws/{draw_id}/console")
        for path, data, moment in steps(client, draw_id):  # redo whatever is missing; done steps answer 409
            set_clock(deployment, moment)
            status, _ = client.post(path, data)
            assert status in (303, 409), (path, status)
        assert _status(deployment, draw_id) == "completed"
        _check_store(deployment)
        status, bundle = client.get(f"/draws/{draw_id}/bundle.zip")
        assert status == 200
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            files = {name.rsplit("/", 1)[-1]: archive.read(name) for name in archive.namelist()}
        assert verify_bundle(files, check_bls=False).ok
        witness.check(client)
        server.kill()

    try:
        assert _trial_loop(trial) >= TRIALS
    finally:
        server.kill()
    _check_store(deployment)


REVIEW_PATH = ("querying", "under_review", "no_discrepancy", "closed")


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
        _kill_during(server, lambda: post(case_id, wanted), rng.uniform(0.0, 0.4))
        server.start()
        state, events = case_events(case_id)
        assert [sequence for sequence, _ in events] == list(range(1, len(events) + 1)), events
        assert [to for _, to in events].count(wanted) == (1 if state == wanted else 0), (state, events)
        if state != wanted:  # the step was lost with the crash: redo it, once
            assert post(case_id, wanted) == 201
        state, events = case_events(case_id)
        assert state == wanted and [to for _, to in events].count(wanted) == 1
        server.kill()

    try:
        assert _trial_loop(trial) >= TRIALS
    finally:
        server.kill()
    _check_store(deployment)
