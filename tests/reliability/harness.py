"""A real gunicorn serving the app on a loopback port, and a browser-like HTTP client.

Used by the crash, concurrency and load tests: the server can be SIGKILLed (its whole process
group) and started again on the same database, as a power cut would.
"""

import contextlib
import hashlib
import http.client
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
KEY_PASSPHRASE = "reliability key passphrase"


#: What a request raises when the server dies under it: a refused or reset connection (`OSError`,
#: which covers urllib's `URLError`, `RemoteDisconnected` and timeouts) or an answer cut short
#: (`http.client.HTTPException`: `IncompleteRead` of a half-sent body, `BadStatusLine`…, which are
#: not `OSError`s). The crash tests kill the server on purpose, so any of these is the expected end.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (OSError, http.client.HTTPException)


def until_server_dies(action: Callable[[], object]) -> Callable[[], None]:
    """`action` (an HTTP request) for a thread the test kills the server under: a connection error
    is the expected end; anything else (an assertion, a bug in the client) still fails the test."""

    def run() -> None:
        with contextlib.suppress(*CONNECTION_ERRORS):
            action()

    return run


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scratch_postgres(name: str) -> str | None:
    """A fresh, empty PostgreSQL database next to TEST_DATABASE_URL's, named after it (two runs
    on one server with different test databases never share one); None when not configured."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    name = f"{url.rsplit('/', 1)[1]}_{name}"[:63]
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    admin = plain.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def environment(database_url: str, workdir: Path) -> dict[str, str]:
    """The environment of a server (and of the test process acting on the same deployment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNSHINE_", "GUNICORN_"))}
    env.update(
        {
            "SUNSHINE_ENV": "production",
            "SECRET_KEY": "reliability-secret-" + "k" * 40,
            "SUNSHINE_LOG_ORIGIN": "reliability.example.gov.tw/log",
            "SUNSHINE_DATA_KEY": hashlib.sha256(b"reliability data key").hexdigest(),
            "DATABASE_URL": database_url,
            "SUNSHINE_INSTANCE_DIR": str(workdir / "instance"),
            "SUNSHINE_KEYS_DIR": str(workdir / "keys"),
            "SUNSHINE_KEY_PASSPHRASE": KEY_PASSPHRASE,
            "SUNSHINE_KEY_KDF_MEMORY_KIB": "8192",
            "SUNSHINE_SECURE_COOKIES": "0",  # plain HTTP on loopback
            "DRAND_RELAYS": "http://127.0.0.1:9",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def with_clock(env: dict[str, str]) -> dict[str, str]:
    """The deployment with a movable draw clock (`set_clock`), for a live draw on the recorded
    round's day. A production deployment refuses a clock file, so this one runs as `test`."""
    clock = Path(env["SUNSHINE_INSTANCE_DIR"]).parent / "clock"
    return {**env, "SUNSHINE_ENV": "test", "SUNSHINE_CLOCK_FILE": str(clock)}


def set_clock(env: dict[str, str], moment: datetime) -> None:
    """Move the draw clock of every server (and app) of a `with_clock` deployment."""
    path = Path(env["SUNSHINE_CLOCK_FILE"])
    temporary = path.with_suffix(".new")
    temporary.write_text(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), encoding="ascii")
    temporary.replace(path)  # atomic: a server never reads half a time


@dataclass
class Server:
    """One gunicorn (master and workers in their own process group)."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    workers: int = 2
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--access-logfile", "/dev/null",
            "wsgi:app",
        ]  # fmt: skip
        log_path = Path(self.env["SUNSHINE_INSTANCE_DIR"]).parent / "gunicorn.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, start_new_session=True, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited: " + log_path.read_text(errors="replace")[-2000:])
            try:
                with urllib.request.urlopen(self.base + "/api/v1/draws", timeout=1):
                    return
            except CONNECTION_ERRORS:  # not listening yet, or a worker still starting
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("gunicorn did not start in time")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a power cut would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """A clean shutdown."""
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None


@contextmanager
def running(env: dict[str, str], workers: int = 2) -> Iterator[Server]:
    """A started server, stopped afterwards whatever happens."""
    server = Server(env, workers=workers)
    server.start()
    try:
        yield server
    finally:
        server.stop()


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Client:
    """Cookies, CSRF tokens and form posts, like a browser."""

    def __init__(self, base: str, timeout: float = 30.0) -> None:
        self.base = base
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        self.csrf = ""

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> tuple[int, bytes]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, method=method)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                payload = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            payload, status = error.read(), error.code
        match = _CSRF.search(payload.decode("utf-8", "replace"))
        if match:
            self.csrf = match.group(1)
        return status, payload

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str] | None = None) -> tuple[int, bytes]:
        if not self.csrf:
            self.get("/login")
        return self.request("POST", path, {"csrf_token": self.csrf, **(data or {})})

    def login(self, username: str, env: dict[str, str], password: str = PASSWORD) -> None:
        """Password, then the authenticator code (computed from the deployment's database)."""
        self.get("/login")
        request = urllib.request.Request(
            self.base + "/login",
            data=urllib.parse.urlencode({"csrf_token": self.csrf, "username": username, "password": password}).encode(),
            method="POST",
        )
        try:
            self.opener.open(request, timeout=self.timeout)
            raise AssertionError(f"login as {username} did not redirect")
        except urllib.error.HTTPError as answer:
            if answer.code != 303:
                raise AssertionError(f"login as {username} failed with {answer.code}") from None
            step = answer.headers["Location"]
        if step.endswith(("/login/enrol", "/login/code")):
            self.get(step)
            status, _ = self.post(step, {"code": totp_code_in(env, username)})
            if status != 303:
                raise AssertionError(f"second factor for {username} failed with {status}")
        self.get("/operator/")

    def share_session_with(self, other: "Client") -> None:
        """Use another client's signed-in session (its cookies and CSRF token)."""
        for cookie in other.jar:
            self.jar.set_cookie(cookie)
        self.csrf = other.csrf


def totp_code_in(env: dict[str, str], username: str) -> str:
    """The authenticator code a user would type now, read from the deployment's database."""
    from tests.builders import totp_code

    with app_context(env) as app:
        return totp_code(app, username)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def prepare_deployment(env: dict[str, str], *, draft: bool = True) -> None:
    """Migrate the database with `flask db upgrade`, then create an office, its users, the office
    key, the demo year and (optionally) a draft draw — through the real services."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi:app", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with app_context(env) as app:
        from service.accounts import create_user, get_or_create_office
        from service.config import settings_of
        from service.declarations import import_upload, start_upload
        from service.demo import demo_csv
        from service.extensions import db
        from service.keystore import generate_key

        app.config["SUNSHINE_INLINE_JOBS"] = True
        office = get_or_create_office(db.session, "kinmen", "金門縣政府政風處")
        operator = create_user(
            db.session, office=office, username="operator", display_name="Operator", password=PASSWORD, role="operator"
        )
        create_user(db.session, office=office, username="admin", display_name="Admin", password=PASSWORD, role="admin")
        generate_key(db.session, settings_of(app))
        db.session.commit()
        upload = start_upload(
            db.session, office=office, user=operator, roc_year=114, filename="114.csv", data=demo_csv()
        )
        import_upload(db.session, upload)
        db.session.commit()
        if draft:
            save_draft_at_round(db.session, office, operator)
            db.session.commit()


def save_draft_at_round(session: Any, office: Any, operator: Any, draw_id: str = "kinmen-114-annual") -> int:
    """A draft scheduled at the recorded drand round's time (see service.demo)."""
    from service.draws import save_draft
    from tests.builders import ANNOUNCED, add_witnesses, draw_setup

    add_witnesses(office)  # each witness line names a witness account (service.witnesses)
    setup = draw_setup(draw_id)
    return int(save_draft(session, office=office, user=operator, setup=setup, now=ANNOUNCED).id)


@contextmanager
def app_context(env: dict[str, str]) -> Iterator[Any]:
    """An in-process app on the same deployment (same database, keys and secret) as the server."""
    from service import create_app
    from service.config import load_settings
    from service.extensions import db
    from service.keystore import forget_unlocked_keys

    forget_unlocked_keys()
    app = create_app(load_settings(env))
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()
