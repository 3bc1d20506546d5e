"""Benchmark B3's page runs in Chromium: the verify modules verify B2's bundle, fresh page by fresh page."""

import shutil
from pathlib import Path

from playwright.sync_api import Browser

from benchmarks.browser_verify import VERIFY_MODULES, time_browser
from benchmarks.verify_bundle import build_bundle


def test_the_browser_benchmark_verifies_the_bundle_in_chromium(browser: Browser, tmp_path: Path) -> None:
    # Given B2's bundle at 2,000 entries, served with the verify page's modules
    bundle = build_bundle(2000, tmp_path / "bundle")
    site = tmp_path / "site"
    shutil.copytree(VERIFY_MODULES, site / "verify")
    shutil.copy(bundle.zip_path, site / "bundle.zip")
    (site / "index.html").write_text("<!doctype html><title>B3</title>", encoding="utf-8")
    # When Chromium verifies it twice, each time in a fresh page
    timed, version = time_browser(site, 2, browser)
    # Then both runs pass every check (time_browser refuses otherwise) and are timed
    assert len(timed.seconds) == 2 and all(s > 0 for s in timed.seconds)
    assert version
