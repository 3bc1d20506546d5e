"""The crash trials' shared parts (tests/reliability/test_crash_*.py, one file per step so
that `make test` runs them on different cores).

Crash consistency: SIGKILL gunicorn at random points of import, announce, the live draw and
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
import threading
import time
from collections.abc import Callable

from lottery.checkpoint import open_checkpoint
from lottery.merkle import verify_consistency
from lottery.signing import parse_vkey
from tests.reliability.harness import (
    Client,
    Server,
    app_context,
    until_server_dies,
)

TRIALS = 30


def kill_during(server: Server, action: Callable[[], object], delay: float) -> None:
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


def check_store(env: dict[str, str]) -> None:
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


clients: dict[str, Client] = {}


def signed_in(server: Server, env: dict[str, str]) -> Client:
    """One operator session per deployment, reused across restarts (sessions live on the server,
    so a restart does not sign anyone out; and a TOTP code can be used only once)."""
    key = env["DATABASE_URL"]
    if key not in clients:
        client = Client(server.base)
        client.login("operator", env)
        clients[key] = client
    return clients[key]


def run_trials(run_trial: Callable[[int], None], server: Server, env: dict[str, str]) -> None:
    """Run the TRIALS trials, each of which raises on what it finds wrong, then stop the server and
    check the store once more. Their number is the property tested, not how fast a shared machine
    gets through them (a time budget here failed with fewer trials whenever the machine was busy);
    pytest's timeout, in each test file, is what bounds a hung trial."""
    try:
        for done in range(TRIALS):
            run_trial(done)
    finally:
        server.kill()
    check_store(env)


def upload(client: Client, data: bytes, year: int) -> int:
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


def wait_for(client: Client, upload_id: int, wanted: tuple[str, ...], timeout: float = 60.0) -> str:
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


def declarants(env: dict[str, str], year: int) -> int:
    with app_context(env):
        from sqlalchemy import func, select

        from service.extensions import db
        from service.models import Declarant

        return int(
            db.session.scalar(select(func.count()).select_from(Declarant).where(Declarant.roc_year == year)) or 0
        )


def draw_status(env: dict[str, str], draw_id: str) -> str:
    with app_context(env):
        from service.extensions import db
        from service.models import Draw

        return str(db.session.query(Draw).filter_by(draw_id=draw_id).one().status)


REVIEW_PATH = ("querying", "under_review", "no_discrepancy", "closed")
