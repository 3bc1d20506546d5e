""" "我的案號是否被抽中？" on a phone: the box is on the first screen of the draw page and answers
in the browser, without asking the server."""

import json

from playwright.sync_api import Browser, Request, expect

from tests.browser.server import COMPLETED, LiveServer

PHONE = {"width": 390, "height": 844}


def test_a_phone_sees_the_box_and_gets_its_answer_without_a_round_trip(browser: Browser, server: LiveServer) -> None:
    # Given a citizen who scanned the QR code with a 390×844 phone
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server.url}/draws/{COMPLETED}")
    # Then the box, its field and its button are on the first screen
    for selector in ("#case-check-heading", "#case-check-input", "#case-check button"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], selector
    expect(page.locator("#case-check-heading")).to_have_text("我的案號是否被抽中？")
    data = json.loads(page.get_attribute("#case-check", "data-case") or "{}")
    drawn = next(iter(data["stages"][0]["selected"]))
    undrawn = next(case for case in data["population"] if case not in data["stages"][0]["selected"])
    asked: list[Request] = []
    page.on("request", lambda request: asked.append(request))
    # When they type a drawn case number (with a full-width keyboard) and press Enter
    page.fill("#case-check-input", "".join(chr(ord(c) + 0xFEE0) for c in drawn))
    page.press("#case-check-input", "Enter")
    # Then the answer is there at once, and the server was not asked
    expect(page.locator("#case-check-answer .case-verdict.yes").first).to_contain_text(f"{drawn} 已抽中實質審查")
    assert page.url.endswith(f"?case={drawn}#case-check")
    # And a case number that was not drawn says so
    page.fill("#case-check-input", undrawn)
    page.click("#case-check button")
    expect(page.locator("#case-check-answer .case-verdict.no")).to_contain_text(f"{undrawn} 未抽中實質審查")
    page.fill("#case-check-input", "999-0000")
    page.press("#case-check-input", "Enter")
    expect(page.locator("#case-check-answer")).to_contain_text("999-0000 不在")
    assert [request.url for request in asked if "/draws/" in request.url] == []  # (the favicon is refetched)
    answer = page.locator("#case-check-answer").bounding_box()
    assert answer is not None and answer["y"] < PHONE["height"]
    context.close()
