"""zh-TW everywhere a person looks: every page, rendered in zh-TW, has no English word, raw code,
raw UTC timestamp or Gregorian date in its visible text (data such as case numbers, digests and
draw ids excepted; see tests/service/zh_text.py for the short allow-list).

The world is built through real services: a completed draw with its review cases (one fined),
a witness who confirmed it, a second draw announced and open on the console with a refused
drand round, an upload with problems, and every form submitted empty.
"""

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.clock import fix_clock
from service.config import settings_of
from service.draw_lifecycle import announce
from service.extensions import db
from service.models import Draw
from tests.builders import ANNOUNCED, SCHEDULED, TO_FINED, AuthActions, reviewed_draw, user, walk
from tests.public_site.world import WITNESSES, live_draft
from tests.service.zh_text import foreign_words, visible_text

COMPLETED = "kinmen-114-annual"
LIVE = "kinmen-114-live"
#: Values this world entered as they are (they show in any language).
DATA = (
    COMPLETED,
    LIVE,
    "Kinmen-Operator",
    "Kinmen-Reviewer",
    "Kinmen-Admin",
    "y.csv",
    "bad.csv",
    *WITNESSES,
    *(f"step to {state}" for state in (*TO_FINED, "querying")),  # the notes tests/builders.py writes
)

pytestmark = pytest.mark.usefixtures("compiled_catalog")


@pytest.fixture
def compiled_catalog() -> None:
    """The .mo the app loads, built from the .po when needed (as test_translations does)."""
    from babel.messages.mofile import write_mo

    from tests.service.test_translations import MO, PO, _load

    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        with MO.open("wb") as f:
            write_mo(f, _load(PO))


def _page(client: FlaskClient, path: str, method: str = "GET", **kwargs: Any) -> tuple[int, str]:
    separator = "&" if "?" in path else "?"
    response = client.open(f"{path}{separator}lang=zh", method=method, **kwargs)
    if response.status_code in (302, 303):
        response = client.get(response.headers["Location"])
    return response.status_code, response.get_data(as_text=True)


@pytest.fixture
def world(app: Flask, offices: dict[str, int]) -> dict[str, Any]:
    """The completed draw with its cases (the first fined), and the live draw announced and open."""
    cases = reviewed_draw(app, offices)
    fined = cases["review"][0]
    walk(app, fined, TO_FINED)
    walk(app, cases["review"][1], ("querying",))
    live_pk = live_draft(app, offices["kinmen"], LIVE)
    with app.app_context():
        announce(db.session, settings_of(app), live_pk, user("kinmen-operator"), now=ANNOUNCED)
        db.session.commit()
    return {"fined": fined, "open": cases["review"][1], "live_pk": live_pk}


def _check(pages: dict[str, tuple[int, str]]) -> None:
    problems = {}
    for path, (status, html) in pages.items():
        assert '<html lang="zh-Hant-TW">' in html, path
        words = foreign_words(visible_text(html), DATA)
        if words:
            problems[f"{path} ({status})"] = words
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


def test_operator_pages_are_chinese(app: Flask, world: dict[str, Any], auth: AuthActions, client: FlaskClient) -> None:
    auth.login("kinmen-operator")
    pages: dict[str, tuple[int, str]] = {}
    for path in (
        "/operator/",
        "/operator/declarations",
        "/operator/uploads/1",
        "/operator/years/114",
        "/operator/draws",
        "/operator/draws/new",
        f"/operator/draws/{COMPLETED}",
        f"/operator/draws/{COMPLETED}/console",
        f"/operator/draws/{LIVE}",
    ):
        pages[path] = _page(client, path)
    # WTForms' own messages: every form submitted empty or wrong
    pages["POST /operator/declarations"] = _page(client, "/operator/declarations", "POST", data={"roc_year": ""})
    pages["POST /operator/draws/new"] = _page(
        client, "/operator/draws/new", "POST", data={"rate_percent": "x", "dice_count": "y", "scheduled_at": "z"}
    )
    # a file with problems (of a year not frozen by a draw): its problems listed by row and column
    bad = "姓名,身分證字號,服務機關,職稱,申報類別,申報日期,年度\n王小明,W12345,金門縣政府,處長,定期,113/13/45,113\n"
    status, html = pages["upload with problems"] = _page(
        client,
        "/operator/declarations",
        "POST",
        data={"roc_year": "113", "file": (io.BytesIO(bad.encode()), "bad.csv")},
    )
    assert status == 200 and 'class="card card-error"' in html
    # the live console: before the window, inside it, and with a pasted round refused
    fix_clock(app, SCHEDULED - timedelta(minutes=5))
    pages["console, before the window"] = _page(client, f"/operator/draws/{LIVE}/console")
    fix_clock(app, SCHEDULED + timedelta(seconds=30))
    pages["console, window open"] = _page(client, f"/operator/draws/{LIVE}/console")
    pages["console, pasted round refused"] = _page(
        client, f"/operator/draws/{LIVE}/live/drand", "POST", data={"beacon": '{"round": 1}'}
    )
    pages["console, relays unreachable"] = _page(client, f"/operator/draws/{LIVE}/live/drand", "POST", data={})
    fix_clock(app, None)
    _check(pages)


def test_reviewer_and_admin_pages_are_chinese(
    app: Flask, world: dict[str, Any], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-reviewer")
    pages: dict[str, tuple[int, str]] = {}
    for path in (
        "/reviews/",
        f"/reviews/cases/{world['fined']}",
        f"/reviews/cases/{world['open']}",
        "/reviews/reports",
        "/reviews/reports/114",
        "/reviews/salts",
        f"/reviews/draws/{COMPLETED}/salts",
    ):
        pages[path] = _page(client, path)
    pages["POST a step without a note"] = _page(
        client,
        f"/reviews/cases/{world['open']}/steps",
        "POST",
        data={"to_state": "under_review", "from_state": "querying", "note": ""},
    )
    auth.logout()
    auth.login("kinmen-admin")
    for path in ("/reviews/assign", "/reviews/case-based/new"):
        pages[f"admin {path}"] = _page(client, path)
    pages["POST /reviews/case-based/new"] = _page(client, "/reviews/case-based/new", "POST", data={})
    _check(pages)


def test_witness_pages_are_chinese(app: Flask, world: dict[str, Any], auth: AuthActions, client: FlaskClient) -> None:
    auth.login("kinmen-witness1")
    pages = {"/witness/": _page(client, "/witness/")}
    pages["confirm page"] = _page(client, f"/witness/draws/{COMPLETED}")
    pages["confirmed"] = _page(client, f"/witness/draws/{COMPLETED}", "POST", data={})
    pages["dashboard, confirmed"] = _page(client, "/witness/")
    auth.logout()
    auth.login("kinmen-operator")
    pages["console with the confirmation"] = _page(client, f"/operator/draws/{COMPLETED}/console")
    _check(pages)


def test_public_and_error_pages_are_chinese(app: Flask, world: dict[str, Any], client: FlaskClient) -> None:
    with app.app_context():
        draw = db.session.query(Draw).filter_by(draw_id=COMPLETED).one()
        draw.revealed_count = 3
        db.session.commit()
    pages: dict[str, tuple[int, str]] = {}
    for path in (
        "/",
        f"/draws/{COMPLETED}",
        f"/draws/{COMPLETED}/verify",
        f"/draws/{COMPLETED}/live",
        f"/draws/{LIVE}",
        f"/draws/{LIVE}/live",
        "/how-it-works",
        "/log",
        "/statistics",
        "/statistics/114",
        "/login",
        "/no-such-page",
    ):
        pages[path] = _page(client, path)
    pages["POST /login empty"] = _page(client, "/login", "POST", data={})
    pages["GET /logout"] = _page(client, "/logout")
    _check(pages)
    # the stage display's lines come from live.json: rule lines and stage names in Chinese
    for draw_id in (COMPLETED, LIVE):
        state = client.get(f"/draws/{draw_id}/live.json?lang=zh").get_json()
        assert state["derivation"], draw_id
        assert not foreign_words(state["derivation"]), state["derivation"]


def test_a_signed_in_users_error_page_is_chinese(world: dict[str, Any], auth: AuthActions, client: FlaskClient) -> None:
    auth.login("kinmen-reviewer")
    status, html = _page(client, "/operator/")
    assert status == 403
    _check({"/operator/ as a reviewer": (status, html)})


def test_the_draw_forms_quota_preview_speaks_in_labels(
    world: dict[str, Any], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    query = "/operator/years/114/quota?rate=10&rounding=up&grouping=stratified&comparison=2"
    chinese = client.get(query + "&lang=zh").get_json()["lines"]
    assert chinese[0].startswith("實質審查：") and "就到、卸離、代理申報" in " ".join(chinese), chinese
    assert not foreign_words(chinese), chinese
    english = client.get(query + "&lang=en").get_json()["lines"]
    assert english[0].startswith("Substantive review: ") and "rounded up" in english[0], english


def test_english_beside_on_request_and_signed_documents_keep_their_codes(
    app: Flask, world: dict[str, Any], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-reviewer")
    chinese = client.get(f"/reviews/cases/{world['fined']}?lang=zh").get_data(as_text=True)
    assert "公職人員財產申報法第12條第3項" in chinese and "Act Art." not in chinese
    english = client.get(f"/reviews/cases/{world['fined']}?lang=en").get_data(as_text=True)
    assert "Act Art. 12 para. 3 (公職人員財產申報法第12條第3項)" in english
    # the signed announcement keeps its codes, its English derivation and UTC
    announcement = client.get(f"/draws/{COMPLETED}/announcement.json").get_json()
    assert announcement["rule"]["derivation"][0] == "review: 10% of 244, rounded up = 25"
    assert announcement["scheduled_at"] == "2023-09-15T10:40:33Z"
    assert client.get(f"/draws/{COMPLETED}/live.json?lang=en").get_json()["derivation"][0] == (
        "Substantive review: 10% of the 244 declarations, rounded up: 25"
    )
    assert client.get(f"/draws/{COMPLETED}/live.json?lang=zh").get_json()["derivation"][0].startswith("實質審查：")


def test_times_in_taipei_with_roc_dates(app: Flask) -> None:
    from datetime import UTC, date, datetime

    from service.i18n import roc_date, taipei_time

    moment = datetime(2025, 3, 15, 6, 30, 5, tzinfo=UTC)  # 14:30:05 in Taipei
    with app.test_request_context("/?lang=zh"):
        assert taipei_time(moment) == "114/03/15 14:30"
        assert taipei_time("2025-03-15T06:30:05Z", "seconds") == "114/03/15 14:30:05"
        assert taipei_time(moment, "long") == "民國114年3月15日 14:30"
        assert taipei_time(moment, "long", seconds=True) == "民國114年3月15日 14:30:05"
        assert taipei_time(moment, "weekday") == "星期六 14:30"
        assert roc_date(date(2025, 12, 22)) == "114/12/22" and roc_date("2025-12-22") == "114/12/22"
        assert roc_date(datetime(2025, 12, 31, 16, 0, tzinfo=UTC), "long") == "民國115年1月1日"  # Taipei's new year
        assert roc_date(date(2011, 1, 5)) == "100/01/05" and roc_date(date(1990, 1, 5)) == "079/01/05"
    with app.test_request_context("/?lang=en"):
        assert taipei_time(moment) == "2025-03-15 14:30"
        assert roc_date(date(2025, 12, 22), "long") == "22 December 2025"
