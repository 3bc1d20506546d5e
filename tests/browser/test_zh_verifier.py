"""zh-TW where the page's scripts write the words: the verifier's check lines and case answer, and
the stage display, rendered in Chromium, have no English word, raw code or raw UTC time left
(the same rules as tests/service/test_zh_everywhere.py, from tests/service/zh_text.py)."""

from playwright.sync_api import Browser, expect

from tests.browser.server import COMPLETED, LIVE, LiveServer
from tests.service.zh_text import foreign_words, visible_text

FINISHED = '#verify-status[data-verify-status="ok"], #verify-status[data-verify-status="fail"]'
#: Values the world entered as they are, and the log's name (origin) of the test server.
DATA = (COMPLETED, LIVE)


def test_the_verifiers_lines_are_chinese(browser: Browser, server: LiveServer) -> None:
    # Given a citizen with a Chinese browser on the verify page of a completed draw
    page = browser.new_page(locale="zh-TW")
    page.goto(f"{server.url}/draws/{COMPLETED}/verify?lang=zh")
    # When the checks have run and they look up a selected case number and an unknown one
    page.wait_for_selector(FINISHED, timeout=20_000)
    assert page.get_attribute("#verify-status", "data-verify-status") == "ok"
    result = server.app.test_client().get(f"/draws/{COMPLETED}/result.json").get_json()
    page.fill("#case-id", result["stages"][0]["selected"][0]["id"])
    page.click("#case-form button")
    expect(page.locator("#case-answer .case-verdict").first).to_be_visible()
    # Then every line the scripts wrote is in Chinese: details, times in Taiwan time, stage names
    details = page.locator("#checks .check-detail").all_inner_texts()
    assert any("臺灣時間" in line for line in details), details
    html = page.inner_html("#verifier")
    words = foreign_words(visible_text(html), DATA)
    assert not words, words
    assert foreign_words(["2023-09-15T10:40:33Z"]), "the check itself must catch a raw UTC time"
    page.close()


def test_the_stage_display_is_chinese(browser: Browser, server: LiveServer) -> None:
    # Given the stage display of a finished draw (its rule lines come from live.json, which
    # tests/service/test_zh_everywhere.py checks; the scenes' words are written here by stage.js)
    page = browser.new_page(locale="zh-TW")
    page.goto(f"{server.url}/draws/{COMPLETED}/live?lang=zh")
    # When it has drawn its last scene
    expect(page.locator("#st-final h3").first).to_be_visible(timeout=20_000)
    # Then the stage names and every other line are in Chinese
    assert page.locator("#st-final h3").first.inner_text().startswith("實質審查")
    words = foreign_words(visible_text(page.inner_html("#stage")), DATA)
    assert not words, words
    page.close()
