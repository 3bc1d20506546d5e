"""The exported static site works from a plain file server, verify page included."""

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from public_site.export import export_site
from tests.browser.server import COMPLETED, LiveServer


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""


@pytest.fixture
def static_site(server: LiveServer, tmp_path: Path) -> Iterator[str]:
    """The export served by Python's plain file server, under a sub-path as on a CDN."""
    export_site(server.app, tmp_path / "www" / "sunshine", "https://ethics.example.gov.tw/sunshine")
    handler = functools.partial(QuietHandler, directory=str(tmp_path / "www"))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/sunshine"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_the_static_copy_verifies_in_the_browser(browser: Browser, static_site: str) -> None:
    # Given the public site exported to static files on a plain web server
    page = browser.new_page()
    page.goto(static_site + "/index.html")
    # When a visitor goes from the home page to the draw and on to verify it
    page.click(f'a[href="draws/{COMPLETED}/index.html"]')
    expect(page.locator("h1")).to_have_text("114年度公職人員財產申報實質審查抽籤")
    page.click('a[href="verify/index.html"]')
    # Then the verifier loads bundle.zip relative to itself and every check passes
    page.wait_for_selector('#verify-status[data-verify-status="ok"]', timeout=20_000)
    page.click("a.lang")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.wait_for_selector('#verify-status[data-verify-status="ok"]', timeout=20_000)
    page.close()
