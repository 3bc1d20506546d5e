"""Notices for the drawn: one per selected declarant, with the due date, the verification QR code
and the binding salt whose one-line check (protocol §2a) reproduces the announced bindings.tsv."""

import hashlib
import json
import re
import subprocess
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select, text

from service.config import settings_of
from service.extensions import db
from service.models import AuthEvent, Declarant, Draw, ReviewCase
from service.notices import draw_notices, national_id_of, roc_date
from tests.builders import AuthActions, get_draw, prepare_draft
from tests.service.test_bindings import _salts
from tests.service.test_draw_lifecycle import run_to_completion
from tests.service.test_integrity import _drop_triggers

DRAW_ID = "kinmen-114-annual"
PAGE = f"/reviews/draws/{DRAW_ID}/notices"


def _completed(app: Flask, offices: dict[str, int]) -> int:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_completion(app, pk)
    return pk


def _selected(app: Flask, pk: int) -> list[str]:
    result = json.loads(get_draw(app, pk).result or b"")
    return [entry["id"] for entry in result["stages"][0]["selected"]]


def test_one_notice_per_drawn_declarant_in_zh_tw(app: Flask, offices: dict[str, int]) -> None:
    pk = _completed(app, offices)
    drawn = _selected(app, pk)
    salts = _salts(app, pk)
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    page = client.get(PAGE, query_string={"lang": "zh"}).get_data(as_text=True)
    assert page.count('<article class="notice"') == len(drawn) == 25
    assert "@page" not in page  # the A4 rules live in the stylesheet, linked once
    assert "css/notices.css" in page
    assert "金門縣政府政風處" in page and "公職人員財產申報法" in page and "實質審查" in page
    # the draw completed on 2023-09-15 (Taiwan); documents are due 30 days later, as a ROC date
    assert "民國112年10月15日" in page
    assert page.count("<svg") >= 25 and f"/draws/{DRAW_ID}/verify" in page
    with app.app_context():
        people = {
            p.case_number: national_id_of(p)
            for p in db.session.scalars(select(Declarant).where(Declarant.case_number.in_(drawn)))
        }
    for case in drawn:
        assert case in page and salts[case] in page
        national_id = people[case]
        assert national_id not in page  # never the full ID
        assert national_id[:3] + "*****" + national_id[8:] in page
    with app.app_context():  # the review cases opened at completion are due the same day the notices say
        dues = set(db.session.scalars(select(ReviewCase.due_on).where(ReviewCase.draw_pk == pk)))
    assert dues == {date(2023, 10, 15)}
    undrawn = next(case for case in salts if case not in drawn)
    assert salts[undrawn] not in page  # only the drawn get a notice
    comparison = json.loads(get_draw(app, pk).result or b"")["stages"][1]["selected"][0]["id"]
    assert page.count("前後年度比對") >= 1 and comparison in drawn


def test_the_printed_check_reproduces_the_declarants_line(app: Flask, offices: dict[str, int]) -> None:
    """The notice's command, with the declarant's own ID typed in, prints their line of bindings.tsv."""
    pk = _completed(app, offices)
    case = _selected(app, pk)[0]
    with app.app_context():
        national_id = national_id_of(db.session.scalars(select(Declarant).where(Declarant.case_number == case)).one())
    client = app.test_client()
    AuthActions(client).login("kinmen-admin")
    page = client.get(PAGE).get_data(as_text=True)
    commands = re.findall(r'<pre class="mono notice-command">([^<]+)</pre>', page)
    command = next(c for c in commands if f" {case} " in c).replace("&#39;", "'")
    typed = command.replace(national_id[:3] + "*****" + national_id[8:], national_id)
    printed = subprocess.run(["bash", "-c", typed], capture_output=True, text=True, check=True).stdout.split()[0]
    bindings = client.get(f"/draws/{DRAW_ID}/bindings.tsv").get_data(as_text=True)
    assert f"{case}\t{printed}" in bindings.splitlines()
    assert printed in page  # printed on the notice too
    material = f"sunshine-draw/1 binding\n{case}\n{_salts(app, pk)[case]}\n{national_id}\n".encode()
    assert printed == hashlib.sha256(material).hexdigest()


def test_opening_the_notices_is_recorded(app: Flask, offices: dict[str, int]) -> None:
    _completed(app, offices)
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    assert client.get(PAGE).status_code == 200
    with app.app_context():
        events = db.session.scalars(select(AuthEvent.username).where(AuthEvent.event == "notices.printed")).all()
    assert events == ["kinmen-reviewer"]


@pytest.mark.parametrize(
    ("username", "status"),
    [("kinmen-reviewer", 200), ("kinmen-admin", 200), ("kinmen-operator", 403), ("penghu-reviewer", 404), (None, 302)],
)
def test_only_the_offices_reviewers_and_admins(
    app: Flask, offices: dict[str, int], username: str | None, status: int
) -> None:
    _completed(app, offices)
    client = app.test_client()
    if username:
        AuthActions(client).login(username)
    assert client.get(PAGE).status_code == status


def test_an_announced_draw_has_no_notices(app: Flask, offices: dict[str, int]) -> None:
    prepare_draft(app, offices["kinmen"], "kinmen-operator")
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    assert client.get(PAGE).status_code == 404


def test_a_changed_national_id_is_flagged_before_printing(app: Flask, offices: dict[str, int]) -> None:
    pk = _completed(app, offices)
    case = _selected(app, pk)[0]
    with app.app_context():  # an insider edits the row behind the app's back, past the triggers
        _drop_triggers(app)
        db.session.execute(  # another declarant's sealed ID (the insider has no data key to seal a new one)
            text(
                "UPDATE declarant SET national_id_sealed = (SELECT national_id_sealed FROM declarant AS other "
                "WHERE other.case_number != :case ORDER BY other.case_number LIMIT 1) WHERE case_number = :case"
            ),
            {"case": case},
        )
        db.session.commit()
        draw = db.session.scalars(select(Draw).where(Draw.id == pk)).one()
        notices = {n.case_number: n for n in draw_notices(db.session, settings_of(app), draw).notices}
    assert not notices[case].binding_holds
    assert sum(not n.binding_holds for n in notices.values()) == 1
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    page = client.get(PAGE).get_data(as_text=True)
    assert "audit verify" in page and case in page


def test_the_due_date_is_configurable(app: Flask, offices: dict[str, int]) -> None:
    pk = _completed(app, offices)
    with app.app_context():
        draw = db.session.get(Draw, pk)
        assert draw is not None
        found = draw_notices(db.session, settings_of(app).with_overrides(notice_due_days=14), draw)
    assert found.drawn_on == date(2023, 9, 15) and found.due_on == date(2023, 9, 29)


def test_roc_dates(app: Flask) -> None:
    with app.test_request_context("/?lang=zh"):
        assert roc_date(date(2026, 1, 5)) == "民國115年1月5日"
    with app.test_request_context("/?lang=en"):
        assert roc_date(date(2026, 1, 5)) == "January 5, 2026"
