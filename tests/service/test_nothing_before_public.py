"""Nothing before it is public (issue 14, item 5): one office never learns another's draft ids,
the public statistics count only years an announced draw has made public, and HSTS is sent only
over HTTPS."""

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.config import settings_of
from service.draw_lifecycle import announce
from service.extensions import db
from service.models import Draw, User
from tests.builders import ANNOUNCED, AuthActions, prepare_draft, run_to_result
from tests.service.test_draw_setup import _form, _with_year


def _penghu_draft(app: Flask, offices: dict[str, int]) -> None:
    """penghu's private draft `penghu-secret-draft` (its year imported, nothing announced)."""
    prepare_draft(app, offices["penghu"], "penghu-operator", draw_id="penghu-secret-draft")


def test_a_draft_id_of_another_office_gives_the_same_answer_as_any_other_foreign_id(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    """The seen row: kinmen named a draft `penghu-secret-draft` and was told it was taken."""
    _penghu_draft(app, offices)
    _with_year(client, auth)
    taken = client.post("/operator/draws/new", data=_form(draw_id="penghu-secret-draft"))
    free = client.post("/operator/draws/new", data=_form(draw_id="penghu-no-such-draft"))
    assert taken.status_code == free.status_code == 400
    message = "The public identifier must begin with kinmen-, this office&#39;s own prefix."
    assert message in taken.get_data(as_text=True) and message in free.get_data(as_text=True)
    assert "already used" not in taken.get_data(as_text=True)
    assert client.post("/operator/draws/new", data=_form(draw_id="kinmen-114-annual")).status_code == 303
    with app.app_context():
        ids = {(draw.office.slug, draw.draw_id) for draw in db.session.scalars(select(Draw))}
    assert ids == {("penghu", "penghu-secret-draft"), ("kinmen", "kinmen-114-annual")}


def test_an_office_whose_slug_extends_another_owns_its_namespace(app: Flask, offices: dict[str, int]) -> None:
    from service.accounts import get_or_create_office
    from service.draws import DrawSetupError, check_draw_id

    with app.app_context():
        kinmen = get_or_create_office(db.session, "kinmen", "")
        get_or_create_office(db.session, "kinmen-north", "北區")
        for refused in ("kinmen-north-114", "penghu-114", "114-annual", "kinmen-"):
            try:
                check_draw_id(db.session, kinmen, refused, None)
            except DrawSetupError:
                continue
            raise AssertionError(f"{refused} was accepted for kinmen")
        check_draw_id(db.session, kinmen, "kinmen-northern-114", None)  # not the prefix "kinmen-north-"


def test_a_draft_saved_before_the_rule_keeps_its_id_while_edited(app: Flask, offices: dict[str, int]) -> None:
    from service.draws import check_draw_id

    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    with app.app_context():
        draw = db.session.get(Draw, pk)
        assert draw is not None
        db.session.execute(db.update(Draw).where(Draw.id == pk).values(draw_id="legacy-114"))
        db.session.refresh(draw)
        check_draw_id(db.session, draw.office, "legacy-114", draw)  # unchanged: allowed


def _second_draft(app: Flask, office_id: int, operator_username: str, draw_id: str) -> int:
    """`prepare_draft` for a second office of the same app: its year and a draft (the office key exists)."""
    from datetime import timedelta

    from service.declarations import import_upload, start_upload
    from service.demo import demo_csv, demo_setup
    from service.draws import save_draft
    from service.models import Office
    from tests.builders import SCHEDULED, add_witnesses

    with app.app_context():
        office = db.session.get(Office, office_id)
        operator = db.session.scalars(select(User).where(User.username == operator_username)).one()
        assert office is not None
        upload = start_upload(db.session, office=office, user=operator, roc_year=114, filename="y.csv", data=demo_csv())
        import_upload(db.session, upload)
        add_witnesses(office)
        setup = demo_setup(draw_id, "114", 114, SCHEDULED + timedelta(days=1), witnesses=())
        draw = save_draft(db.session, office=office, user=operator, setup=setup, now=ANNOUNCED)
        db.session.commit()
        return int(draw.id)


def test_public_statistics_wait_for_an_announced_draw(app: Flask, offices: dict[str, int]) -> None:
    """The seen row: `/api/v1/stats/114?office=penghu` showed 34 declarations right after import."""
    public = app.test_client()
    kinmen = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    penghu = _second_draft(app, offices["penghu"], "penghu-operator", "penghu-114-annual")
    assert public.get("/api/v1/stats/114?office=penghu").status_code == 404
    assert public.get("/api/v1/stats/114").status_code == 404
    assert public.get("/statistics/114").status_code == 404
    assert "/statistics/114" not in public.get("/statistics?lang=en").get_data(as_text=True)

    run_to_result(app, kinmen, "kinmen-operator")
    everyone = public.get("/api/v1/stats/114").get_json()
    assert everyone["declarations"] == 244  # kinmen's year only: penghu's draft is still private
    assert public.get("/api/v1/stats/114?office=kinmen").get_json()["declarations"] == 244
    assert public.get("/api/v1/stats/114?office=penghu").status_code == 404
    assert public.get("/statistics/114").status_code == 200

    with app.app_context():
        operator = db.session.scalars(select(User).where(User.username == "penghu-operator")).one()
        announce(db.session, settings_of(app), penghu, operator, now=ANNOUNCED)
        db.session.commit()
    assert public.get("/api/v1/stats/114?office=penghu").get_json()["declarations"] == 244
    assert public.get("/api/v1/stats/114").get_json()["declarations"] == 2 * 244


def test_the_office_s_own_report_counts_before_anything_is_announced(app: Flask, offices: dict[str, int]) -> None:
    from service.reports import annual_report, report_years

    prepare_draft(app, offices["kinmen"], "kinmen-operator")
    with app.app_context():
        assert report_years(db.session, offices["kinmen"]) == [114]
        assert annual_report(db.session, 114, offices["kinmen"]).declarations == 244
        assert report_years(db.session, offices["kinmen"], public=True) == []
        assert annual_report(db.session, 114, offices["kinmen"], public=True).declarations == 0


def test_hsts_only_over_https(app: Flask) -> None:
    client = app.test_client()
    plain = client.get("/")
    assert "Strict-Transport-Security" not in plain.headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    # Behind a proxy, gunicorn sets the scheme from X-Forwarded-Proto for FORWARDED_ALLOW_IPS;
    # the header itself, from anyone, does not make a plain request secure in the app.
    forged = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forged.headers
