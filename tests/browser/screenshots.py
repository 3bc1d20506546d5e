"""Take the documentation screenshots (docs/screenshots/) against a real server, the live draw
driven through the operator console exactly as in test_live_draw.py.

    .venv/bin/python -m tests.browser.screenshots docs/screenshots

Needs /usr/bin/chromium and, for the Chinese text to render, a CJK font (fonts-noto-cjk).
"""

import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from service.config import settings_of
from service.draw_lifecycle import announce
from service.draw_rules import Rule
from service.draws import DrawSetup, save_draft
from service.extensions import db
from service.models import Office, User, utcnow
from tests.browser.server import COMPLETED, LIVE, Console, LiveServer, clock_at, launch_chromium, start_server
from tests.builders import ANNOUNCED, BEACON_AT, DICE, DICE_AT
from tests.public_site.world import WITNESSES, beacon_json

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
STAGE = {"width": 1920, "height": 1080}


def upcoming_draw(server: LiveServer) -> None:
    """An announced draw a week ahead, so the home page has something upcoming."""
    app = server.app
    with app.app_context():
        office = db.session.get(Office, server.office_id)
        operator = db.session.query(User).filter_by(username="kinmen-operator").one()
        assert office is not None
        when = (utcnow() + timedelta(days=7)).replace(hour=2, minute=0, second=0)
        setup = DrawSetup(
            title="114年度公職人員財產申報補充抽籤",
            draw_id="kinmen-114-supplement",
            roc_year=114,
            rule=Rule(rate_bp=500, comparison_rate_bp=None),
            dice_count=10,
            use_drand=True,
            scheduled_at=when,
            min_notice_hours=24,
            witnesses=WITNESSES,
        )
        draw = save_draft(db.session, office=office, user=operator, setup=setup)
        announce(db.session, settings_of(app), draw.id, operator, now=utcnow())
        db.session.commit()


def shoot(page: Page, out: Path, name: str, full: bool = True) -> None:
    page.screenshot(path=str(out / f"{name}.png"), full_page=full)
    print(f"  {name}.png")


def scene(stage: Page, out: Path, number: int, name: str, settle_ms: int = 900, timeout: int = 12_000) -> None:
    stage.wait_for_selector(f'#stage[data-scene="{name}"]', timeout=timeout)
    stage.wait_for_timeout(settle_ms)
    shoot(stage, out, f"stage-{number}-{name}", full=False)


def notice(browser: Browser, server: LiveServer, out: Path) -> None:
    """The first drawn declarant's notice as it prints (one A4 sheet, 794×1123 CSS pixels), then
    the report to the council as the reviewer sees it."""
    context = browser.new_context(viewport={"width": 794, "height": 1123}, device_scale_factor=1, locale="zh-TW")
    page = context.new_page()
    Console(page, server.url, COMPLETED, server.app).login("kinmen-reviewer")
    page.goto(f"{server.url}/reviews/draws/{COMPLETED}/notices")
    page.emulate_media(media="print")
    page.locator("article.notice").first.screenshot(path=str(out / "notice.png"))
    print("  notice.png")
    page.emulate_media(media="screen")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{server.url}/reviews/reports")  # opens on the latest year with data: the council table first
    shoot(page, out, "report")
    context.close()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    server = start_server(Path(tempfile.mkdtemp(prefix="sunshine-shots-")), disclosure="masked")
    upcoming_draw(server)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            for label, viewport in (("", DESKTOP), ("-phone", PHONE)):
                context = browser.new_context(viewport=viewport, device_scale_factor=1)
                page = context.new_page()
                page.goto(server.url + "/")
                shoot(page, out, f"home{label}")
                page.goto(f"{server.url}/draws/{COMPLETED}")
                shoot(page, out, f"draw{label}")
                page.goto(f"{server.url}/draws/{COMPLETED}/verify")
                page.wait_for_selector('#verify-status[data-verify-status="ok"]', timeout=20_000)
                if not label:
                    result = json.loads(server.app.test_client().get(f"/draws/{COMPLETED}/result.json").data)
                    page.fill("#case-id", result["stages"][0]["selected"][2]["id"])
                    page.click("#case-form button")
                shoot(page, out, f"verify{label}")
                context.close()
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            page.goto(f"{server.url}/draws/kinmen-114-supplement")
            shoot(page, out, "draw-announced")
            page.goto(server.url + "/how-it-works")
            shoot(page, out, "how-it-works")
            page.goto(server.url + "/log")
            shoot(page, out, "log")
            context.close()
            notice(browser, server, out)

            operator = browser.new_page(viewport=DESKTOP)
            console = Console(operator, server.url, LIVE, server.app)
            console.login()
            with clock_at(server.app, ANNOUNCED):
                console.announce()
            stage = browser.new_page(viewport=STAGE)
            stage.goto(f"{server.url}/draws/{LIVE}/live")
            scene(stage, out, 1, "waiting")
            with clock_at(server.app, DICE_AT):  # inside the input window
                console.open()
                console.start()
                scene(stage, out, 2, "population")
                console.dice(DICE)
                scene(stage, out, 3, "dice", settle_ms=2800)
                console.reveal_secret()
                scene(stage, out, 4, "secret", settle_ms=1200)
                shoot(operator, out, "operator-console-window")
            with clock_at(server.app, BEACON_AT):  # once the round is out
                console.paste_drand(beacon_json())
            scene(stage, out, 5, "drand", settle_ms=1200)
            scene(stage, out, 6, "seed", settle_ms=1200)
            for _ in range(7):
                console.reveal_next()
            scene(stage, out, 7, "revealing", settle_ms=1500)
            console.reveal_all()
            scene(stage, out, 8, "done", settle_ms=1200)
            shoot(operator, out, "operator-console")
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
