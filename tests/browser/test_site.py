"""The public site as a person uses it: language switch, a phone, the keyboard."""

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.server import COMPLETED, LiveServer

PAGES = ["/", f"/draws/{COMPLETED}", f"/draws/{COMPLETED}/verify", "/how-it-works", "/log"]


def test_language_switch(browser: Browser, server: LiveServer) -> None:
    # Given a visitor on the draw page in the default language
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/draws/{COMPLETED}")
    assert page.get_attribute("html", "lang") == "zh-Hant-TW"
    # When they switch to English
    page.click("a.lang")
    # Then the page is English, and stays so on the next page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.url.endswith("?lang=en")
    page.click('.site-nav a[href="/how-it-works"]')
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # And back to Chinese
    page.click("a.lang")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-TW")
    context.close()


@pytest.mark.parametrize("path", PAGES)
def test_a_phone_has_no_horizontal_scroll(browser: Browser, server: LiveServer, path: str) -> None:
    # Given a phone (390×844), as people arrive by scanning the QR code
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    # When a page is opened
    page.goto(server.url + path)
    if path.endswith("/verify"):
        page.wait_for_selector('#verify-status[data-verify-status="ok"]', timeout=20_000)
    # Then nothing sticks out sideways
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], (path, width)
    context.close()


def test_keyboard_reaches_the_main_content_and_the_verify_button(browser: Browser, server: LiveServer) -> None:
    page = browser.new_page()
    page.goto(f"{server.url}/draws/{COMPLETED}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    button = page.locator(f'a.button.primary[href="/draws/{COMPLETED}/verify"]')
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/draws/{COMPLETED}/verify")
    page.close()
