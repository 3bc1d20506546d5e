"""Accessibility: axe-core finds no serious or critical violation on the main pages, in zh-TW.

axe-core comes from the npm registry through the project's own files (tests/browser/package.json
and package-lock.json, installed by `make test` with `npm ci --prefix tests/browser`); nothing is
fetched while the tests run. It is injected into each page as the page is served (the page's
strict CSP is bypassed for the injection only) and run with its WCAG 2.x A/AA rules and best
practices. Contrast, labels, `lang`, landmarks and names all count.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.server import COMPLETED, Console, LiveServer

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

PUBLIC = {
    "public home": "/",
    "draw page": f"/draws/{COMPLETED}",
    "verify page": f"/draws/{COMPLETED}/verify",
    "statistics": "/statistics",
    "live stage": f"/draws/{COMPLETED}/live",
    "how it works": "/how-it-works",
    "public log": "/log",
    "login": "/login",
}
SIGNED_IN = {
    "operator dashboard": ("kinmen-operator", "/operator/"),
    "operator draw": ("kinmen-operator", f"/operator/draws/{COMPLETED}"),
    "operator console": ("kinmen-operator", f"/operator/draws/{COMPLETED}/console"),
    "reviewer case list": ("kinmen-reviewer", "/reviews/"),
    "salts page": ("kinmen-reviewer", f"/reviews/draws/{COMPLETED}/salts"),
    "notice page": ("kinmen-reviewer", f"/reviews/draws/{COMPLETED}/notices"),
}


def axe_source() -> str:
    """axe-core as installed by `npm ci --prefix tests/browser` (make test does it)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --prefix tests/browser` (make test installs it)")
    return AXE.read_text("utf-8")


def blocking_violations(page: Page) -> list[str]:
    """Every serious or critical axe violation of the page, one line each with where it is."""
    # An element fading in (the stage's scene enters over half a second) has, until it has
    # finished, a colour axe would measure against the half-transparent blend: wait for every
    # animation that ends (not the live dot's endless pulse) before measuring.
    page.evaluate(
        """() => Promise.all(document.getAnimations()
             .filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
             .map((a) => a.finished))"""
    )
    page.add_script_tag(content=axe_source())
    results: dict[str, Any] = page.evaluate(
        """async () => axe.run(document, {
             runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
             resultTypes: ["violations"],
           })"""
    )
    checked = {rule["id"] for kind in ("violations", "passes", "incomplete") for rule in results[kind]}
    assert {"color-contrast", "html-lang-valid", "label"} & checked, "axe did not run its rules"
    lines = []
    for violation in results["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        for node in violation["nodes"]:
            lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {node['target']}")
    return lines


def zh_context(browser: Browser, **options: Any) -> BrowserContext:
    """A Taiwanese visitor's browser (the site's default language), allowed to inject axe."""
    return browser.new_context(bypass_csp=True, locale="zh-TW", **options)


@pytest.fixture(scope="module")
def signed_in(browser: Browser, server: LiveServer) -> Iterator[dict[str, Page]]:
    """One signed-in page per user, reused across the pages they visit."""
    pages: dict[str, Page] = {}
    contexts = []
    for username in sorted({user for user, _ in SIGNED_IN.values()}):
        context = zh_context(browser)
        contexts.append(context)
        page = context.new_page()
        Console(page, server.url, COMPLETED, server.app).login(username)
        pages[username] = page
    yield pages
    for context in contexts:
        context.close()


def _open(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert page.get_attribute("html", "lang") == "zh-Hant-TW", url


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_pages_have_no_serious_violations(browser: Browser, server: LiveServer, name: str) -> None:
    # Given a visitor on a phone and one on a desktop
    for viewport in ({"width": 390, "height": 844}, {"width": 1280, "height": 900}):
        context = zh_context(browser, viewport=viewport)
        page = context.new_page()
        # When they open the page (the verify page once the browser has recomputed the draw)
        _open(page, server.url + PUBLIC[name])
        if name == "verify page":
            page.wait_for_selector('#verify-status[data-verify-status="ok"]', timeout=30_000)
        if name == "live stage":
            # the stage shows its scene only once its first poll of live.json has answered
            page.wait_for_selector("#st-final li", timeout=30_000)
        # Then axe finds nothing serious
        assert blocking_violations(page) == [], (name, viewport)
        context.close()


def test_the_draw_page_with_an_answer_has_no_serious_violations(browser: Browser, server: LiveServer) -> None:
    context = zh_context(browser, viewport={"width": 390, "height": 844})
    page = context.new_page()
    _open(page, f"{server.url}/draws/{COMPLETED}")
    case = page.locator("#case-check-input")
    case.fill("114-0001")
    case.press("Enter")
    page.wait_for_selector("#case-check-answer p")
    assert blocking_violations(page) == []
    context.close()


@pytest.mark.parametrize("name", sorted(SIGNED_IN))
def test_signed_in_pages_have_no_serious_violations(signed_in: dict[str, Page], server: LiveServer, name: str) -> None:
    username, path = SIGNED_IN[name]
    page = signed_in[username]
    _open(page, server.url + path)
    assert blocking_violations(page) == [], name
