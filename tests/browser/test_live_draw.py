"""The stage display follows a live draw that the operator drives through the console."""

import json
import time

from playwright.sync_api import Browser, Page, expect

from tests.browser.server import LIVE, Console, LiveServer, clock_at
from tests.builders import ANNOUNCED, BEACON_AT, DICE, DICE_AT
from tests.public_site.world import beacon_json

#: "Follows the console within a second": polling is every 0.5 s; allow for a slow machine.
FOLLOW_MS = 2_000


def _scene(stage: Page, name: str, timeout: int = FOLLOW_MS) -> float:
    started = time.monotonic()
    stage.wait_for_selector(f'#stage[data-scene="{name}"]', timeout=timeout)
    assert stage.locator(f'section[data-scene-name="{name}"]').is_visible()
    return time.monotonic() - started


def _no_scroll_bars(stage: Page) -> None:
    sizes = stage.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight, innerWidth, innerHeight]"
    )
    assert sizes[0] <= sizes[2] and sizes[1] <= sizes[3]


def test_stage_display_follows_the_console(browser: Browser, server: LiveServer) -> None:
    # Given an operator signed in to the console, and the stage display open as OBS would (1920×1080)
    operator = browser.new_page()
    console = Console(operator, server.url, LIVE, server.app)
    console.login()
    # (the draw is set at the recorded drand round's time, so it is announced a week before that)
    with clock_at(server.app, ANNOUNCED):
        console.announce()
    stage_context = browser.new_context(viewport={"width": 1920, "height": 1080})
    stage = stage_context.new_page()
    stage.goto(f"{server.url}/draws/{LIVE}/live")
    _scene(stage, "waiting")
    _no_scroll_bars(stage)
    inside_window = clock_at(server.app, DICE_AT)  # the live draw runs inside the input window
    inside_window.__enter__()
    console.open()

    # When the operator starts the live draw, the frozen population and rule appear
    console.start()
    _scene(stage, "population")
    assert stage.locator("#st-pop-size").inner_text() == "244"
    assert "25" in stage.locator("#st-stages").inner_text()

    # When the dice are entered, they appear as rolled
    console.dice(DICE)
    _scene(stage, "dice")
    expect(stage.locator("#st-dice .die span").last).to_have_text(DICE[-1], timeout=FOLLOW_MS)
    digits = stage.eval_on_selector_all("#st-dice .die span", "els => els.map(e => e.textContent).join('')")
    assert digits == DICE

    # When the secret is revealed, it is checked against the commitment
    console.reveal_secret()
    _scene(stage, "secret")
    stage.wait_for_selector('#st-secret-verdict[data-ok="yes"]', timeout=FOLLOW_MS)

    # When the drand round is pasted once it is out (the relays are not reachable here), the round, then the seed
    inside_window.__exit__(None, None, None)
    with clock_at(server.app, BEACON_AT):
        console.paste_drand(beacon_json())
    _scene(stage, "drand")
    assert stage.locator("#st-round").inner_text() == "657413"
    stage.wait_for_selector('#st-drand-verdict[data-ok="yes"]', timeout=FOLLOW_MS)
    _scene(stage, "seed", timeout=9_000)
    seed = json.loads(server.app.test_client().get(f"/draws/{LIVE}/result.json").data)["seed"]
    assert "".join(stage.locator("#st-seed").inner_text().split()) == seed

    # When the selections are revealed one by one, in ticket order
    result = json.loads(server.app.test_client().get(f"/draws/{LIVE}/result.json").data)
    picks = result["stages"][0]["selected"]
    console.reveal_next()
    _scene(stage, "revealing", timeout=8_000)
    assert stage.locator("#st-current-case").inner_text() == picks[0]["id"]
    console.reveal_next()
    expect(stage.locator("#st-current-case")).to_have_text(picks[1]["id"], timeout=FOLLOW_MS)
    assert stage.locator("#st-grid li").count() == 2

    # Then, with all revealed, a QR code to the verify page
    console.reveal_all()
    _scene(stage, "done")
    qr = stage.locator('section[data-scene-name="done"] svg.qr')
    assert qr.is_visible() and f"/draws/{LIVE}/verify" in (qr.get_attribute("aria-label") or "")
    assert stage.locator("#st-final li").count() == 26
    _no_scroll_bars(stage)
    stage_context.close()
    operator.close()
