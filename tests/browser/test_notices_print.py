"""The notices print as the office needs them: one A4 sheet per drawn declarant, in zh-TW."""

import re

from playwright.sync_api import Browser

from tests.browser.server import COMPLETED, Console, LiveServer


def test_each_notice_prints_on_one_a4_sheet(browser: Browser, server: LiveServer) -> None:
    # Given a reviewer on the notices page of the completed draw
    context = browser.new_context(locale="zh-TW")
    page = context.new_page()
    Console(page, server.url, COMPLETED, server.app).login("kinmen-reviewer")
    page.goto(f"{server.url}/reviews/draws/{COMPLETED}/notices")
    notices = page.locator("article.notice").count()
    assert notices == 25
    # When the page is printed (the page size comes from the stylesheet's @page: A4)
    pdf = page.pdf(prefer_css_page_size=True)
    # Then there is one sheet per notice, each 210 × 297 mm, and the screen-only parts are not printed
    pages = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(pages) == notices
    assert {(round(float(w)), round(float(h))) for w, h in pages} == {(595, 842)}  # A4 in points
    page.emulate_media(media="print")
    assert not page.locator(".notices-intro").is_visible() and not page.locator("header.topbar").is_visible()
    context.close()
