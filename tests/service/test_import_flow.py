"""Upload → check → import → population → exclusions, through the operator pages."""

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from service.demo import demo_csv
from service.extensions import db
from service.models import Declarant, DeclarationUpload, UploadedFile
from service.sealing import national_id_of
from tests.builders import AuthActions

FIXTURES = Path(__file__).parents[1] / "fixtures" / "declarations"


def upload(client: FlaskClient, data: bytes, filename: str, year: int = 114) -> int:
    """Upload a file through the form; returns the upload id from the redirect."""
    from io import BytesIO

    response = client.post(
        "/operator/declarations",
        data={"roc_year": str(year), "file": (BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.data[:500]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def count_declarants(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Declarant)) or 0


def test_a_clean_file_is_previewed_then_imported(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    upload_id = upload(client, demo_csv(), "114.csv")
    preview = client.get(f"/operator/uploads/{upload_id}")
    assert preview.status_code == 200
    assert count_declarants(app) == 0  # nothing stored before the operator confirms
    assert "244" in preview.get_data(as_text=True)
    assert "Regular declarations (定期申報)" in preview.get_data(as_text=True)  # strata by name, not code
    response = client.post(f"/operator/uploads/{upload_id}/import")
    assert response.status_code == 303
    assert count_declarants(app) == 244
    with app.app_context():
        stored = db.session.get(DeclarationUpload, upload_id)
        assert stored is not None and stored.status == "imported"
        assert db.session.get(UploadedFile, upload_id) is None  # neither the file nor its check is kept
        strata = dict(
            db.session.execute(select(Declarant.stratum, func.count()).group_by(Declarant.stratum)).tuples().all()
        )
        assert strata == {"regular": 178, "non-regular": 66}
        numbers = sorted(db.session.scalars(select(Declarant.case_number)))
        assert numbers[0] == "114-0001" and numbers[-1] == "114-0244"
    page = client.get("/operator/years/114")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "114-0001" in text
    assert "On taking office, leaving or acting" in text and ">non-regular<" not in text
    # national IDs are only ever shown masked
    with app.app_context():
        some_id = national_id_of(db.session.scalars(select(Declarant)).first())
    assert some_id is not None and some_id not in text


def test_a_file_with_problems_stores_nothing_and_names_row_and_column(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    lines = demo_csv().decode("utf-8").split("\r\n")
    fields = lines[5].split(",")
    fields[5] = "114/02/30"
    lines[5] = ",".join(fields)
    upload_id = upload(client, "\r\n".join(lines).encode("utf-8"), "bad.csv")
    preview = client.get(f"/operator/uploads/{upload_id}").get_data(as_text=True)
    assert "114/02/30" in preview or "02/30" in preview or "6" in preview
    with app.app_context():
        stored = db.session.get(DeclarationUpload, upload_id)
        assert stored is not None and stored.status == "invalid"
        assert stored.problems[0]["row"] == 6
        assert db.session.get(UploadedFile, upload_id) is None  # nothing of a refused file is kept
    assert client.post(f"/operator/uploads/{upload_id}/import").status_code == 303
    assert count_declarants(app) == 0


def test_exclusion_needs_a_reason_and_leaves_the_population(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    client.post(f"/operator/uploads/{upload(client, demo_csv(), 'y.csv')}/import")
    with app.app_context():
        target = db.session.scalars(select(Declarant).order_by(Declarant.case_number)).first()
        assert target is not None
        target_id = target.id
    client.post(f"/operator/declarants/{target_id}/exclude", data={"reason": ""})
    with app.app_context():
        assert db.session.get(Declarant, target_id).excluded_reason is None  # type: ignore[union-attr]
    client.post(
        f"/operator/declarants/{target_id}/exclude", data={"reason": "本處處長，由上級政風機構審核（辦法第11條）"}
    )
    with app.app_context():
        excluded = db.session.get(Declarant, target_id)
        assert excluded is not None and excluded.excluded and excluded.excluded_by_id is not None
    quota = client.get("/operator/years/114/quota?rate=10&rounding=up&grouping=pooled&comparison=2").get_json()
    assert quota == {
        "ok": True, "population": 243, "review": 25, "comparison": 1,
        "stages": [{"from": "population", "name": "review", "quota": {"*": 25}},
                   {"from": "review", "name": "comparison", "quota": {"*": 1}}],
        "lines": ["Substantive review: 10% of the 243 declarations, rounded up: 25",
                  "Year-on-year comparison: 2% of the 25 drawn for Substantive review, rounded up: 1"],
    }  # fmt: skip
    client.post(f"/operator/declarants/{target_id}/include")
    with app.app_context():
        assert not db.session.get(Declarant, target_id).excluded  # type: ignore[union-attr]


def test_another_office_sees_none_of_it(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    upload_id = upload(client, demo_csv(), "114.csv")
    client.post(f"/operator/uploads/{upload_id}/import")
    with app.app_context():
        declarant_id = db.session.scalars(select(Declarant.id)).first()
    auth.logout()
    auth.login("penghu-operator")
    assert client.get(f"/operator/uploads/{upload_id}").status_code == 404
    assert client.get(f"/operator/uploads/{upload_id}/progress").status_code == 404
    assert client.get("/operator/years/114").status_code == 404
    assert (
        client.post(f"/operator/declarants/{declarant_id}/exclude", data={"reason": "not mine at all"}).status_code
        == 404
    )
    assert client.post(f"/operator/uploads/{upload_id}/import").status_code == 404
    dashboard = client.get("/operator/").get_data(as_text=True)
    assert "114.csv" not in dashboard


def test_a_job_that_died_is_marked_failed_and_the_file_can_be_sent_again(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    from datetime import timedelta

    from service.declarations import STALLED_AFTER, mark_if_stalled
    from service.models import utcnow

    auth.login("kinmen-operator")
    upload_id = upload(client, demo_csv(), "114.csv")
    with app.app_context():
        stored = db.session.get(DeclarationUpload, upload_id)
        assert stored is not None
        stored.status = "importing"  # as if the process died in the middle of the import
        stored.updated_at = utcnow() - STALLED_AFTER - timedelta(seconds=1)
        db.session.commit()
        assert not mark_if_stalled(stored, now=stored.updated_at + timedelta(seconds=5))
    page = client.get(f"/operator/uploads/{upload_id}").get_data(as_text=True)
    assert "interrupted" in page
    assert count_declarants(app) == 0
    again = upload(client, demo_csv(), "114.csv")
    client.post(f"/operator/uploads/{again}/import")
    assert count_declarants(app) == 244


def test_the_import_writes_exactly_what_the_check_accepted(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    """Backslashes, quotes and tabs-as-text survive COPY's text form (PostgreSQL) and executemany
    (SQLite); a merged declarant keeps every filing; the file itself is dropped once checked."""
    auth.login("kinmen-operator")
    rows = [
        "姓名,身分證字號,服務機關,職稱,申報類別,申報日期,年度",
        '"王\\小明",W123456716,"金門縣政府 ""財政處""",處長\\N,定期申報,114/11/20,114',
        "林淑芬,W210293841,金城鎮公所,課長,就(到)職申報,114/01/27,114",
        "林淑芬,W210293841,金城鎮公所,課長,定期申報,114/11/21,114",
    ]
    upload_id = upload(client, "\r\n".join(rows).encode("utf-8"), "114.csv")
    with app.app_context():
        stored = db.session.get(UploadedFile, upload_id)
        assert stored is not None and stored.original is None and stored.checked
    assert client.post(f"/operator/uploads/{upload_id}/import").status_code == 303
    with app.app_context():
        people = {d.national_id: d for d in db.session.scalars(select(Declarant))}
        first, merged = people["W123456716"], people["W210293841"]
        assert (first.name, first.agency, first.title) == ("王\\小明", '金門縣政府 "財政處"', "處長\\N")
        assert first.filings == [{"row": 2, "type": "regular", "label": "定期申報", "date": "2025-11-20"}]
        assert first.declared_on.isoformat() == "2025-11-20"
        assert merged.declaration_type == "regular" and [f["row"] for f in merged.filings] == [3, 4]
        assert sorted(d.case_number for d in people.values()) == ["114-0001", "114-0002"]
        assert db.session.get(UploadedFile, upload_id) is None


def test_case_numbers_are_a_random_permutation() -> None:
    from service.declarations import random_order

    orders = [random_order(1000) for _ in range(3)]
    for order in orders:
        assert sorted(order) == list(range(1000))
    assert len({tuple(order) for order in orders}) == 3  # 1000! orders: a repeat means no randomness
    assert random_order(0) == [] and random_order(1) == [0]


def test_an_import_under_way_shows_a_progress_bar_without_steps(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    upload_id = upload(client, demo_csv(), "114.csv")
    with app.app_context():
        stored = db.session.get(DeclarationUpload, upload_id)
        assert stored is not None
        stored.status, stored.progress_done, stored.progress_total = "importing", 0, None
        db.session.commit()
    page = client.get(f"/operator/uploads/{upload_id}").get_data(as_text=True)
    assert '<progress id="job-progress"></progress>' in page  # indeterminate: one transaction has no steps
    assert "Writing 244 declarants in one transaction" in page
    assert client.get(f"/operator/uploads/{upload_id}/progress").get_json() == {
        "status": "importing",
        "done": 0,
        "total": None,
    }
