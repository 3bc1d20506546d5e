"""The public pages: what a citizen sees on the home page, a draw's page, the verify page, how it
works and the log — in plain words, without inline script or style, and without personal data."""

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lottery.draw import ticket
from public_site.pages import mask_name
from service.extensions import db
from service.models import Declarant, Office
from tests.public_site.world import build_office, complete_draw, live_draft

DRAW = "kinmen-114-annual"


class PageParts(HTMLParser):
    """Collects what the CSP forbids inline, and the page's headings."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []
        self.style_elements = 0
        self.headings: list[str] = []
        self.html_lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "html":
            self.html_lang = names.get("lang") or ""
        if tag == "script" and not names.get("src"):
            self.inline_scripts += 1
        if tag == "style":
            self.style_elements += 1
        if tag in ("h1", "h2"):
            self.headings.append(tag)
        for name, _ in attrs:
            if name == "style":
                self.style_attributes.append(tag)
            if name.startswith("on"):
                self.handlers.append(f"{tag}.{name}")


def parts(html: str) -> PageParts:
    parser = PageParts()
    parser.feed(html)
    return parser


def pages(draw_id: str = DRAW) -> list[str]:
    return [
        "/",
        f"/draws/{draw_id}",
        f"/draws/{draw_id}/verify",
        f"/draws/{draw_id}/live",
        "/how-it-works",
        "/log",
    ]


def test_every_public_page_is_strict_csp_clean_and_has_one_h1(client: FlaskClient, completed: dict[str, Any]) -> None:
    client.delete_cookie("lang")  # a first visit: the site's own default language
    for path in pages():
        response = client.get(path)
        assert response.status_code == 200, path
        found = parts(response.get_data(as_text=True))
        assert found.inline_scripts == 0, path
        assert found.style_elements == 0 and found.style_attributes == [] and found.handlers == [], path
        assert found.headings.count("h1") == 1, path
        assert found.html_lang == "zh-Hant-TW", path
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


def test_language_switch_sets_html_lang(client: FlaskClient, completed: dict[str, Any]) -> None:
    english = client.get(f"/draws/{DRAW}?lang=en").get_data(as_text=True)
    assert parts(english).html_lang == "en"
    assert 'href="?lang=zh"' in english
    remembered = client.get("/how-it-works").get_data(as_text=True)
    assert parts(remembered).html_lang == "en"
    chinese = client.get("/?lang=zh").get_data(as_text=True)
    assert parts(chinese).html_lang == "zh-Hant-TW" and 'href="?lang=en"' in chinese


def test_home_lists_draws_key_and_checkpoint(app: Flask, client: FlaskClient, completed: dict[str, Any]) -> None:
    live_draft(app, completed["office_id"])  # a draft is private: never listed
    html = client.get("/").get_data(as_text=True)
    assert "114年度公職人員財產申報實質審查抽籤" in html
    assert "kinmen-114-live" not in html
    vkey = client.get("/keys/office.vkey").get_data(as_text=True).strip()
    key_id = vkey.split("+")[1]
    assert key_id in html and vkey in html
    size = client.get("/log/checkpoint").get_data(as_text=True).split("\n")[1]
    assert f"<dd>{size}</dd>" in html
    assert f"/draws/{DRAW}/verify" in html


def test_draw_page_explains_the_draw_and_shows_the_result(client: FlaskClient, completed: dict[str, Any]) -> None:
    html = client.get(f"/draws/{DRAW}?lang=en").get_data(as_text=True)
    announcement = json.loads(client.get(f"/draws/{DRAW}/announcement.json").data)
    result = json.loads(client.get(f"/draws/{DRAW}/result.json").data)
    assert "draws 25 of the 244 asset declarations" in html
    assert "10% of the 244 declarations, rounded up: 25" in html
    assert "2% of the 25 drawn for Substantive review, rounded up: 1" in html
    assert "657413" in html and announcement["entropy"]["commitment"] in html
    for witness in announcement["witnesses"]:
        assert witness in html
    assert "confirmed the result" in html
    for stage in result["stages"]:
        for pick in stage["selected"]:
            assert f'<td class="mono case">{pick["id"]}</td>' in html
    for name in ("population.tsv", "announcement.json", "result.json", "bundle.zip"):
        assert f"/draws/{DRAW}/{name}" in html
    assert f"/draws/{DRAW}/verify" in html
    assert re.search(r'<svg class="qr" role="img" aria-label="[^"]*http://localhost/draws/kinmen-114-annual"', html)


def test_ticket_chart_has_every_entry_each_threshold_and_the_selected(
    client: FlaskClient, completed: dict[str, Any]
) -> None:
    html = client.get(f"/draws/{DRAW}").get_data(as_text=True)
    charts = re.findall(r'<svg class="ticket-chart[^"]*".*?</svg>', html, re.S)
    review_full, review_zoom, comparison_full, _ = charts
    assert review_full.count("<circle") == 244
    assert review_full.count('class="dot dot-selected"') == 25
    assert review_full.count('class="threshold"') == 1
    assert comparison_full.count("<circle") == 25 and comparison_full.count("dot-selected") == 1
    result = json.loads(client.get(f"/draws/{DRAW}/result.json").data)
    first = result["stages"][0]["selected"][0]
    assert f"<title>{first['id']} · {first['ticket'][:16]}…</title>" in review_full
    assert review_zoom.count("dot-selected") == 25  # every selected entry sits left of the zoom's end


def test_names_are_published_only_as_the_office_chose(app: Flask, client: FlaskClient) -> None:
    office_id = build_office(app, disclosure="masked")
    complete_draw(app, office_id)
    result = json.loads(client.get(f"/draws/{DRAW}/result.json").data)
    picked = result["stages"][0]["selected"][0]["id"]
    with app.app_context():
        person = db.session.query(Declarant).filter_by(office_id=office_id, case_number=picked).one()
        name, national_id, agency = person.name, person.national_id, f"{person.agency} {person.title}"
        drawn = {s["id"] for stage in result["stages"] for s in stage["selected"]}
        people = db.session.query(Declarant).filter_by(office_id=office_id).all()
        drawn_masks = {mask_name(p.name) for p in people if p.case_number in drawn}
        not_drawn = next(p for p in people if p.case_number not in drawn and mask_name(p.name) not in drawn_masks)
    html = client.get(f"/draws/{DRAW}").get_data(as_text=True)
    assert mask_name(name) in html and name not in html
    assert agency in html
    assert national_id not in html and not_drawn.name not in html and mask_name(not_drawn.name) not in html
    with app.app_context():
        db.session.get(Office, office_id).name_disclosure = "full"
        db.session.commit()
    full = client.get(f"/draws/{DRAW}").get_data(as_text=True)
    assert name in full and national_id not in full
    with app.app_context():
        db.session.get(Office, office_id).name_disclosure = "none"
        db.session.commit()
    hidden = client.get(f"/draws/{DRAW}").get_data(as_text=True)
    assert name not in hidden and mask_name(name) not in hidden and agency not in hidden


@pytest.mark.parametrize(
    ("name", "masked"), [("王小明", "王○明"), ("王明", "王○"), ("歐陽小明", "歐○○明"), ("林", "○")]
)
def test_mask_name_keeps_the_first_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_announced_draw_has_a_countdown_and_no_result(app: Flask, client: FlaskClient) -> None:
    from service.config import settings_of
    from service.draw_lifecycle import announce
    from service.models import User
    from tests.builders import ANNOUNCED

    office_id = build_office(app)
    complete_draw(app, office_id)
    pk = live_draft(app, office_id)
    with app.app_context():
        operator = db.session.query(User).filter_by(username="kinmen-operator").one()
        announce(db.session, settings_of(app), pk, operator, now=ANNOUNCED)
        db.session.commit()
    html = client.get("/draws/kinmen-114-live").get_data(as_text=True)
    assert ('id="countdown"' in html and 'data-target="2023-09-15T11:03:06Z"' in html) or "data-target=" in html
    assert "ticket-chart" not in html and "bundle.zip" not in html
    verify = client.get("/draws/kinmen-114-live/verify").get_data(as_text=True)
    assert 'data-verify-status="idle"' in verify and 'data-auto="no"' in verify


def test_verify_page_points_at_bundle_and_keys(client: FlaskClient, completed: dict[str, Any]) -> None:
    html = client.get(f"/draws/{DRAW}/verify").get_data(as_text=True)
    vkey = client.get("/keys/office.vkey").get_data(as_text=True).strip()
    assert 'id="verify-status"' in html and 'data-verify-status="running"' in html
    assert f'data-bundle-url="/draws/{DRAW}/bundle.zip"' in html
    assert vkey in html
    assert 'type="module" src="/static/public/verify/page.js"' in html
    assert 'data-key="drand-bls.title"' in html  # said plainly: BLS is not checked in the browser
    assert "python -m lottery verify bundle.zip" in html


def test_how_it_works_and_log_pages(client: FlaskClient, completed: dict[str, Any]) -> None:
    how = client.get("/how-it-works?lang=en").get_data(as_text=True)
    assert "Why nobody can rig it" in how and "three steps" in how
    assert "printf &#39;%s %s %s&#39;" in how or "printf '%s %s %s'" in how
    log = client.get("/log?lang=en").get_data(as_text=True)
    checkpoint = client.get("/log/checkpoint").get_data(as_text=True)
    assert checkpoint.split("\n")[2] in log  # the root, as served
    # the latest 50 entries: the draw's 25 review cases opened and assigned as it completed
    assert "Review step recorded" in log
    size = int(checkpoint.split("\n")[1])
    types = [json.loads(e["entry"])["type"] for e in client.get(f"/log/entries?start=0&end={size}").get_json()]
    assert "draw.announced" in types and "draw.completed" in types
    assert "/log/proof/consistency?first=OLD_SIZE&amp;second=NEW_SIZE" in log
    assert "python -m lottery witness" in log
    # the draw's own entries are a page further back, one link away, never out of reach
    assert size > 50 and f'href="/log?before={size - 50}"' in log and "Draw announced" not in log
    older = client.get(f"/log?before={size - 50}&lang=en").get_data(as_text=True)
    assert "Draw announced" in older and "Draw completed" in older and 'href="/log"' in older
    assert client.get("/log?before=%EF%BC%91").status_code == 400  # a full-width digit is not a number
    assert client.get(f"/log?before={size + 1000}").status_code == 200  # past the end: the newest page


def test_stage_display_may_be_framed_and_ends_with_a_qr_code_to_verify(
    client: FlaskClient, completed: dict[str, Any]
) -> None:
    response = client.get(f"/draws/{DRAW}/live")
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert re.search(r'<svg class="qr"[^>]*aria-label="[^"]*http://localhost/draws/kinmen-114-annual/verify"', html)
    assert 'data-scene="done"' in html
    page = client.get(f"/draws/{DRAW}")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_tickets_on_the_page_are_the_protocols(client: FlaskClient, completed: dict[str, Any]) -> None:
    result = json.loads(client.get(f"/draws/{DRAW}/result.json").data)
    html = client.get(f"/draws/{DRAW}").get_data(as_text=True)
    for pick in result["stages"][0]["selected"]:
        assert pick["ticket"] == ticket(result["seed"], "review", pick["id"])
        assert f'<abbr title="{pick["ticket"]}">' in html
