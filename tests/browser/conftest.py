"""Browser tests: Debian's Chromium driven by Playwright against a real server on a free port.

The server is the real application (werkzeug's `make_server`, threaded) on a fresh SQLite
database, filled through real services (tests/public_site/world.py). Every test here is marked
`browser`; they are skipped only when /usr/bin/chromium cannot be found (`make test` installs it).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.server import CHROMIUM, LiveServer, launch_chromium, start_server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder `browser`, and skip them all when Chromium is missing."""
    here = Path(__file__).parent
    missing = not CHROMIUM.exists()
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed (make browser-deps)"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run."""
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The application on a free loopback port, with a completed draw and a draft for a live draw."""
    live = start_server(tmp_path_factory.mktemp("browser-server"))
    yield live
    live.stop()
