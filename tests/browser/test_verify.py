"""A citizen verifies a draw in the browser; a tampered bundle fails; a case number is checked."""

import io
import json
import zipfile

from playwright.sync_api import Browser, Page, expect

from lottery.draw import ticket
from service.config import settings_of
from service.extensions import db
from service.keystore import current_signer
from tests.browser.server import COMPLETED, LiveServer
from tests.lottery.bundles import TIMED, build_bundle
from tests.lottery.timed_cases import CASES

FINISHED = '#verify-status[data-verify-status="ok"], #verify-status[data-verify-status="fail"]'


def _verify_page(browser: Browser, server: LiveServer, **context: object) -> Page:
    page = browser.new_page(**context)  # type: ignore[arg-type]
    page.goto(f"{server.url}/draws/{COMPLETED}/verify")
    page.wait_for_selector(FINISHED, timeout=20_000)
    return page


def _bundle(server: LiveServer) -> dict[str, bytes]:
    data = server.app.test_client().get(f"/draws/{COMPLETED}/bundle.zip").data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename.split("/")[-1]: archive.read(info) for info in archive.infolist()}


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"{COMPLETED}/{name}", data)
    return buffer.getvalue()


def _outcomes(page: Page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "#checks li", "items => Object.fromEntries(items.map(i => [i.dataset.check, i.dataset.outcome]))"
    )


def test_home_to_draw_to_verify_shows_ok(browser: Browser, server: LiveServer) -> None:
    # Given a completed draw on the public site
    page = browser.new_page()
    page.goto(server.url + "/")
    # When a citizen opens it from the home page and asks to verify it
    page.click(f'a[href="/draws/{COMPLETED}"]')
    expect(page.locator("h1")).to_have_text("114年度公職人員財產申報實質審查抽籤")
    page.click(f'a[href="/draws/{COMPLETED}/verify"]')
    page.wait_for_selector(FINISHED, timeout=20_000)
    # Then every check passes, shown with ✓, and the BLS signature is plainly left to the CLI
    assert page.get_attribute("#verify-status", "data-verify-status") == "ok"
    outcomes = _outcomes(page)
    assert outcomes.pop("drand-bls") == "skip"
    # A bundle without an input window, bindings or events reports them as not declared / absent.
    files = _bundle(server)
    announcement = json.loads(files["announcement.json"])
    undeclared = {
        "timing": "inputs_close_at" not in announcement,
        "bindings": "bindings.tsv" not in files,
        "events": "events.json" not in files,
    }
    for check, absent in undeclared.items():
        if absent:
            assert outcomes.pop(check) == "skip", check
    # This site names no independent witnesses (SUNSHINE_WITNESSES): their checks are skipped, saying so.
    for check in ("witness-quorum", "witness-before-beacon"):
        assert outcomes.pop(check) == "skip", check
    assert outcomes.pop("witnessed") == ("skip" if "witnessed.json" not in files else "pass")
    assert set(outcomes.values()) == {"pass"}
    for check in ("population-match", "sig-announcement", "sig-result", "commitment", "seed", "recompute"):
        assert outcomes[check] == "pass"
    assert outcomes["inclusion-announced"] == outcomes["inclusion-completed"] == outcomes["checkpoint"] == "pass"
    assert page.locator('#checks li[data-outcome="pass"] .check-mark').first.inner_text() == "✓"
    page.close()


def test_a_tampered_selection_fails(browser: Browser, server: LiveServer) -> None:
    # Given the bundle with one selected case number replaced in result.json
    files = _bundle(server)
    result = json.loads(files["result.json"])
    original = result["stages"][0]["selected"][0]["id"]
    population = files["population.tsv"].decode().split("\n")
    other = next(line.split("\t")[0] for line in population if line and line.split("\t")[0] != original)
    files["result.json"] = files["result.json"].replace(original.encode(), other.encode())
    page = _verify_page(browser, server)
    # When a citizen drops it on the verify page
    page.set_input_files(
        "#bundle-file", files=[{"name": "bundle.zip", "mimeType": "application/zip", "buffer": _zip(files)}]
    )
    page.wait_for_selector('#verify-status[data-verify-status="fail"]', timeout=20_000)
    # Then the result's signature and the recomputation fail
    outcomes = _outcomes(page)
    assert outcomes["sig-result"] == "fail" and outcomes["recompute"] == "fail"
    assert outcomes["population"] == "pass"
    page.close()


def test_a_tampered_population_line_fails(browser: Browser, server: LiveServer) -> None:
    # Given the unpacked bundle with one population line's stratum changed
    files = _bundle(server)
    lines = files["population.tsv"].decode().split("\n")
    entry, stratum = lines[10].split("\t")
    lines[10] = f"{entry}\t{'regular' if stratum != 'regular' else 'non-regular'}"
    files["population.tsv"] = "\n".join(lines).encode()
    page = _verify_page(browser, server)
    # When the loose files are chosen instead of a zip
    page.set_input_files(
        "#bundle-file",
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data} for name, data in files.items()],
    )
    page.wait_for_selector('#verify-status[data-verify-status="fail"]', timeout=20_000)
    # Then the population no longer matches the announcement
    outcomes = _outcomes(page)
    assert outcomes["population"] == "pass" and outcomes["population-match"] == "fail"
    assert outcomes["sig-announcement"] == "pass"
    page.close()


def test_the_untampered_loose_files_verify(browser: Browser, server: LiveServer) -> None:
    files = _bundle(server)
    page = _verify_page(browser, server)
    page.set_input_files(
        "#bundle-file",
        files=[{"name": n, "mimeType": "application/octet-stream", "buffer": d} for n, d in files.items()],
    )
    expect(page.locator("#verify-source")).to_contain_text("population.tsv", timeout=20_000)
    page.wait_for_selector(FINISHED)
    assert page.get_attribute("#verify-status", "data-verify-status") == "ok"
    page.close()


def test_check_my_case_number(browser: Browser, server: LiveServer) -> None:
    # Given a verified draw
    result = json.loads(server.app.test_client().get(f"/draws/{COMPLETED}/result.json").data)
    chosen = result["stages"][0]["selected"][3]["id"]
    population = server.app.test_client().get(f"/draws/{COMPLETED}/population.tsv").data.decode()
    picked = {s["id"] for s in result["stages"][0]["selected"]}
    not_chosen = next(line.split("\t")[0] for line in population.splitlines() if line.split("\t")[0] not in picked)
    page = _verify_page(browser, server)
    # When a declarant enters their case number
    page.fill("#case-id", chosen)
    page.press("#case-id", "Enter")
    # Then they see its ticket, the threshold, that it was selected, and the shell command
    review = page.locator('.case-stage[data-stage="review"]')
    expect(review).to_have_attribute("data-selected", "yes")
    assert review.locator(".case-ticket").inner_text() == ticket(result["seed"], "review", chosen)
    assert review.locator("dd").nth(1).inner_text() == result["stages"][0]["groups"][0]["threshold"]
    assert f"printf '%s %s %s' {result['seed']} review {chosen} | sha256sum" in review.locator("pre").inner_text()
    page.fill("#case-id", not_chosen)
    page.click("#case-form button")
    expect(page.locator('.case-stage[data-stage="review"]')).to_have_attribute("data-selected", "no")
    expect(page.locator('.case-stage[data-stage="comparison"]')).to_have_attribute("data-selected", "n/a")
    page.fill("#case-id", "999-9999")
    page.click("#case-form button")
    expect(page.locator("#case-answer .case-verdict")).to_contain_text("999-9999")
    page.close()


def test_without_webcrypto_ed25519_the_vendored_library_verifies(browser: Browser, server: LiveServer) -> None:
    # Given a browser whose WebCrypto has no Ed25519
    context = browser.new_context()
    context.add_init_script(
        """
        const importKey = crypto.subtle.importKey.bind(crypto.subtle);
        crypto.subtle.importKey = (format, key, algorithm, ...rest) => {
          if (algorithm && algorithm.name === "Ed25519") {
            return Promise.reject(new DOMException("no", "NotSupportedError"));
          }
          return importKey(format, key, algorithm, ...rest);
        };
        """
    )
    page = context.new_page()
    page.goto(f"{server.url}/draws/{COMPLETED}/verify")
    page.wait_for_selector(FINISHED, timeout=20_000)
    # Then noble-ed25519 checks both signatures and the checkpoint
    assert page.get_attribute("#verifier", "data-ed25519") == "noble-ed25519"
    assert page.get_attribute("#verify-status", "data-verify-status") == "ok"
    context.close()


def _timed_bundle_zip(server: LiveServer, case: str) -> bytes:
    """The timed-bindings-244 bundle signed with this office's key, changed as `case` says."""
    with server.app.app_context():
        signer = current_signer(db.session, settings_of(server.app))
    bundle = build_bundle(signer, TIMED)
    dict((c[0], c[1]) for c in CASES)[case](bundle)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in bundle.files.items():
            archive.writestr(f"timed-bindings-244/{name}", data)
    return buffer.getvalue()


def test_a_timed_bundle_shows_the_notice_bindings_and_events(browser: Browser, server: LiveServer) -> None:
    # Given a bundle of a draw under the input window, with bindings.tsv and events.json
    page = _verify_page(browser, server)
    # When a citizen drops it on the verify page
    upload = {"name": "bundle.zip", "mimeType": "application/zip", "buffer": _timed_bundle_zip(server, "unchanged")}
    page.set_input_files("#bundle-file", files=[upload])
    expect(page.locator("#verify-source")).to_contain_text("bundle.zip", timeout=20_000)
    page.wait_for_selector('#verify-status[data-verify-status="ok"]', timeout=20_000)
    # Then the notice, the window, the drand margin, the bindings and every events check pass, in words
    outcomes = _outcomes(page)
    for check in ("notice", "timing", "drand-margin", "bindings", "events", "events-inclusion", "events-inputs"):
        assert outcomes[check] == "pass", check
    assert outcomes["events-order"] == outcomes["events-times"] == "pass"
    # (the page is in zh-TW: durations, steps and times in Chinese; tests/browser/test_zh_verifier.py)
    expect(page.locator('#checks li[data-check="notice"] .check-title')).to_contain_text("3 天 9 小時 40 分鐘")
    expect(page.locator('#checks li[data-check="notice"] .check-detail')).to_contain_text("112/09/12 09:00:00")
    expect(page.locator('#checks li[data-check="drand-margin"] .check-title')).to_contain_text("657413")
    expect(page.locator('#checks li[data-check="events-order"] .check-means')).to_contain_text(
        "公告 → 骰子 → 秘密值 → drand 輪次 → 完成抽籤"
    )
    page.close()


def test_a_dice_event_at_the_close_of_inputs_fails_in_the_browser(browser: Browser, server: LiveServer) -> None:
    page = _verify_page(browser, server)
    upload = {"name": "bundle.zip", "mimeType": "application/zip", "buffer": _timed_bundle_zip(server, "dice-at-close")}
    page.set_input_files("#bundle-file", files=[upload])
    page.wait_for_selector('#verify-status[data-verify-status="fail"]', timeout=20_000)
    outcomes = _outcomes(page)
    assert [check for check, outcome in outcomes.items() if outcome == "fail"] == ["events-times"]
    expect(page.locator('#checks li[data-check="events-times"] .check-detail')).to_contain_text(
        "at or after inputs_close_at 2023-09-15T10:59:00Z"
    )
    page.close()
