"""Setting up a draft draw through the operator pages."""

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.demo import demo_csv
from service.extensions import db
from service.models import Draw, utcnow
from tests.builders import AuthActions
from tests.service.test_import_flow import upload


def _form(**changes: str) -> dict[str, str]:
    when = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT10:00")
    form = {
        "title": "114年度公職人員財產申報實質審查抽籤",
        "draw_id": "kinmen-114-annual",
        "roc_year": "114",
        "rate_percent": "10",
        "rounding": "up",
        "grouping": "pooled",
        "comparison": "y",
        "comparison_percent": "2",
        "dice_count": "20",
        "use_drand": "y",
        "scheduled_at": when,
        "min_notice_hours": "24",
        "witnesses": "監察員 李大同\n主計室 王小華\n\n",
    }
    form.update(changes)
    return form


def _with_year(client: FlaskClient, auth: AuthActions) -> None:
    from service.models import Office
    from tests.builders import add_witnesses

    with client.application.app_context():  # the witness accounts the draft's lines name
        add_witnesses(db.session.scalars(select(Office).where(Office.slug == "kinmen")).one())
        db.session.commit()
    auth.login("kinmen-operator")
    client.post(f"/operator/uploads/{upload(client, demo_csv(), '114.csv')}/import")


def test_a_draft_is_saved_with_taipei_time_stored_as_utc(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    _with_year(client, auth)
    response = client.post("/operator/draws/new", data=_form())
    assert response.status_code == 303
    with app.app_context():
        draw = db.session.scalar(select(Draw))
        assert draw is not None
        assert draw.status == "draft" and draw.rate_bp == 1000 and draw.comparison_rate_bp == 200
        assert draw.witnesses == ["監察員 李大同", "主計室 王小華"]
        assert draw.scheduled_at.hour == 2  # 10:00 in Taipei is 02:00 UTC
    detail = client.get("/operator/draws/kinmen-114-annual").get_data(as_text=True)
    assert "25 + 1" in detail


def test_below_the_legal_floor_is_refused(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    _with_year(client, auth)
    response = client.post("/operator/draws/new", data=_form(rate_percent="5", rounding="down"))
    assert response.status_code == 400
    assert "7(2)" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Draw)) is None


def test_no_public_randomness_is_refused(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    _with_year(client, auth)
    form = _form(dice_count="0")
    del form["use_drand"]
    response = client.post("/operator/draws/new", data=form)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Draw)) is None


def test_a_past_time_and_a_bad_identifier_are_refused(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    _with_year(client, auth)
    assert client.post("/operator/draws/new", data=_form(scheduled_at="2020-01-01T10:00")).status_code == 400
    assert client.post("/operator/draws/new", data=_form(draw_id="../etc/passwd")).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Draw)) is None


def test_another_office_cannot_see_or_edit_the_draft(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    _with_year(client, auth)
    client.post("/operator/draws/new", data=_form())
    auth.logout()
    auth.login("penghu-operator")
    assert client.get("/operator/draws/kinmen-114-annual").status_code == 404
    assert client.post("/operator/draws/kinmen-114-annual/edit", data=_form(title="hijack")).status_code == 404
    with app.app_context():
        draw = db.session.scalar(select(Draw))
        assert draw is not None and draw.title != "hijack"


def test_drand_only_without_a_comparison_stage_stays_so(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    _with_year(client, auth)
    form = _form(dice_count="0")
    del form["comparison"]
    assert client.post("/operator/draws/new", data=form).status_code == 303
    with app.app_context():
        draw = db.session.scalar(select(Draw))
        assert draw is not None
        assert draw.dice_count is None and draw.comparison_rate_bp is None and draw.use_drand
    detail = client.get("/operator/draws/kinmen-114-annual").get_data(as_text=True)
    assert "25 + " not in detail
