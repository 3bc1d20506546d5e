"""`flask export-site OUT/`: the public site as static files with relative links only."""

import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Flask

from public_site.export import export_site


def _links(html: str) -> list[str]:
    return re.findall(r'\s(?:href|src|data-[a-z-]*url)="([^"]*)"', html)


def test_export_writes_every_page_and_file_with_relative_links(
    app: Flask, completed: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "site"
    written = export_site(app, out, "https://ethics.example.gov.tw/draws-site")
    draw = "draws/kinmen-114-annual"
    for name in (
        "index.html",
        "en/index.html",
        f"{draw}/index.html",
        f"{draw}/verify/index.html",
        f"en/{draw}/verify/index.html",
        f"{draw}/live/index.html",
        "how-it-works/index.html",
        "log/index.html",
        f"{draw}/population.tsv",
        f"{draw}/announcement.json",
        f"{draw}/announcement.json.sig",
        f"{draw}/result.json",
        f"{draw}/result.json.sig",
        f"{draw}/bundle.zip",
        f"{draw}/live.json",
        "keys/office.vkey",
        "log/checkpoint",
        "log/entries.json",
        "api/v1/draws.json",
        "static/css/app.css",
        "static/public/verify/page.js",
        "static/public/verify/vendor/noble-ed25519.js",
        "static/public/verify/vendor/noble-ed25519.LICENSE",
    ):
        assert (out / name).is_file(), name
        assert name in written
    for page in out.rglob("*.html"):
        html = page.read_text("utf-8")
        page_url = "https://cdn.example/x/" + page.relative_to(out).as_posix()
        for link in _links(html):
            assert not link.startswith("/"), (page, link)
            if link.startswith(("#", "http", "mailto:")):
                continue
            resolved = urlsplit(urljoin(page_url, link)).path.removeprefix("/x/")
            assert (out / resolved).is_file(), (page, link)
    verify = (out / f"{draw}/verify/index.html").read_text("utf-8")
    assert 'data-bundle-url="../bundle.zip"' in verify
    assert 'lang="zh-Hant-TW"' in verify and 'href="../../../en/draws/kinmen-114-annual/verify/index.html"' in verify
    assert '<html lang="en">' in (out / f"en/{draw}/verify/index.html").read_text("utf-8")
    assert "https://ethics.example.gov.tw/draws-site/draws/kinmen-114-annual/bundle.zip" in verify
    page = (out / f"{draw}/index.html").read_text("utf-8")
    assert "https://ethics.example.gov.tw/draws-site/draws/kinmen-114-annual" in page  # the QR code's address
    assert (out / f"{draw}/bundle.zip").read_bytes() == app.test_client().get(f"/{draw}/bundle.zip").data


def test_export_site_command(app: Flask, completed: dict[str, Any], tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    outcome = runner.invoke(args=["export-site", str(tmp_path / "out"), "--base-url", "https://example.gov.tw"])
    assert outcome.exit_code == 0, outcome.output
    assert "files to" in outcome.output
    assert (tmp_path / "out" / "draws/kinmen-114-annual/verify/index.html").is_file()
    refused = runner.invoke(args=["export-site", str(tmp_path / "other"), "--base-url", "example.gov.tw"])
    assert refused.exit_code != 0 and "absolute" in refused.output
