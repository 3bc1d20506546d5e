"""A real server for the browser tests and the screenshots, and the console actions that drive it."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, Page, Playwright
from werkzeug.serving import BaseWSGIServer, make_server

from service import create_app
from service.config import load_settings
from service.extensions import db
from tests.builders import PASSWORD
from tests.public_site.world import build_office, complete_draw, live_draft

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
COMPLETED = "kinmen-114-annual"
LIVE = "kinmen-114-live"


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium (Playwright's own browser download is not used)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class LiveServer:
    """A running application: its base URL, the app object and the ids the tests use."""

    url: str
    app: Flask
    office_id: int
    live_pk: int
    server: BaseWSGIServer = field(repr=False)
    thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Stop serving and release the database."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def build_app(folder: Path) -> Flask:
    """The application on a fresh SQLite database in `folder` (CSRF on, as in production)."""
    settings = load_settings({"SUNSHINE_ENV": "test", "SECRET_KEY": "browser-secret-" + "x" * 40}).with_overrides(
        database_url=f"sqlite:///{folder / 'browser.db'}",
        instance_dir=folder / "instance",
        keys_dir=folder / "keys",
        key_passphrase="browser test key passphrase",
        key_kdf_memory_kib=8192,
        drand_relays=("http://127.0.0.1:9",),
        drand_timeout_seconds=0.5,
    )
    app = create_app(settings)
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        db.create_all()
        db.session.commit()
    return app


def start_server(folder: Path, disclosure: str = "none") -> LiveServer:
    """Build the world and serve it on a free loopback port in a background thread."""
    app = build_app(folder)
    office_id = build_office(app, disclosure)
    complete_draw(app, office_id)
    live_pk = live_draft(app, office_id, LIVE)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    return LiveServer(f"http://127.0.0.1:{server.server_port}", app, office_id, live_pk, server, thread)


@contextmanager
def clock_at(app: Flask, moment: datetime) -> Iterator[None]:
    """Let the server's draw clock say `moment` (protocol §4–§5 timing; `service.clock`).

    The live draw uses the recorded real drand round 657413 (2023), since the relays are not
    reachable here: the console announces it as if a week before that round, enters the dice
    and the secret inside its input window, and pastes the round once it is out.
    """
    from service.clock import fix_clock

    fix_clock(app, moment)
    try:
        yield
    finally:
        fix_clock(app, None)


class Console:
    """The operator's live console, clicked through like a person would (by form action, not by label)."""

    def __init__(self, page: Page, base: str, draw_id: str, app: Flask | None = None) -> None:
        self.page = page
        self.base = base
        self.draw_id = draw_id
        self.app = app

    def login(self, username: str = "kinmen-operator", password: str = PASSWORD) -> None:
        """Password, then the authenticator code (operators enrol on their first sign-in)."""
        self.page.goto(f"{self.base}/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("form button[type=submit]")
        self.page.wait_for_load_state()
        if self.page.url.endswith(("/login/enrol", "/login/code")):
            from tests.builders import totp_code

            assert self.app is not None, "the console needs the app to read the authenticator secret"
            self.page.fill("#code", totp_code(self.app, username))
            self.page.click("form button[type=submit]")
            self.page.wait_for_load_state()

    def announce(self) -> None:
        self.page.goto(f"{self.base}/operator/draws/{self.draw_id}")
        self.page.fill("#announce-confirm", self.draw_id)
        self._submit('form[action$="/announce"]')

    def open(self) -> None:
        self.page.goto(f"{self.base}/operator/draws/{self.draw_id}/console")

    def _submit(self, form: str) -> None:
        with self.page.expect_navigation():
            self.page.click(f"{form} button")

    def start(self) -> None:
        self._submit('form[action$="/live/start"]')

    def dice(self, digits: str) -> None:
        self.page.fill("#dice", digits)
        self._submit('form[action$="/live/dice"]')

    def reveal_secret(self) -> None:
        self._submit('form[action$="/live/secret"]')

    def paste_drand(self, beacon: dict[str, Any]) -> None:
        import json

        self.page.click("details summary")
        self.page.fill("#beacon", json.dumps(beacon))
        self._submit('form[action$="/live/drand"]:has(#beacon)')

    def reveal_next(self) -> None:
        self._submit('form[action$="/live/reveal"]:not(:has(input[name=all]))')

    def reveal_all(self) -> None:
        self._submit('form[action$="/live/reveal"]:has(input[name=all])')
