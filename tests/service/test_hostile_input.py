"""Broken and hostile input gets a clear answer and changes nothing."""

from io import BytesIO
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from service.demo import demo_csv
from service.extensions import db
from service.models import Declarant, DeclarationUpload, Draw, UploadedFile
from tests.builders import AuthActions, prepare_draft

FIXTURES = Path(__file__).parents[1] / "fixtures" / "declarations"


def _post_file(client: FlaskClient, data: bytes, name: str) -> object:
    return client.post(
        "/operator/declarations",
        data={"roc_year": "114", "file": (BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_oversized_upload_is_refused_with_413(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    auth.login("kinmen-operator")
    response = _post_file(client, b"x" * (200 * 1024), "big.csv")
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert "MB" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert _count(app, DeclarationUpload) == 0


@pytest.mark.parametrize(
    "fixture", ["zip-bomb.xlsx", "bad-undecodable.csv", "bad-nul-bytes.csv", "bad-wide-row.csv", "bad-national-id.csv"]
)
def test_hostile_files_are_refused_and_nothing_is_imported(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient, fixture: str
) -> None:
    auth.login("kinmen-operator")
    response = _post_file(client, (FIXTURES / fixture).read_bytes(), fixture)
    assert response.status_code == 303  # type: ignore[attr-defined]
    with app.app_context():
        upload = db.session.scalars(select(DeclarationUpload)).one()
        assert upload.status == "invalid" and upload.problems
        assert db.session.get(UploadedFile, upload.id) is None
        upload_id = upload.id
    page = client.get(f"/operator/uploads/{upload_id}")
    assert page.status_code == 200
    assert client.post(f"/operator/uploads/{upload_id}/import").status_code == 303
    assert _count(app, Declarant) == 0


def test_script_in_names_is_shown_as_text(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    text = demo_csv().decode("utf-8").split("\r\n")
    fields = text[1].split(",")
    fields[0] = "<script>alert(1)</script>"
    fields[2] = "'; DROP TABLE declarant; --"
    text[1] = ",".join(fields)
    response = _post_file(client, "\r\n".join(text).encode("utf-8"), "x.csv")
    upload_id = int(response.headers["Location"].rsplit("/", 1)[-1])  # type: ignore[attr-defined]
    page = client.get(f"/operator/uploads/{upload_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    client.post(f"/operator/uploads/{upload_id}/import")
    listing = client.get("/operator/years/114?q=%3Cscript%3E").get_data(as_text=True)
    if _count(app, Declarant):  # the parser may refuse markup in names; if it accepts, it must be escaped
        assert "&lt;script&gt;" in listing and "<script>alert(1)</script>" not in listing
    sql = client.get("/operator/years/114?q=%27%3B%20DROP%20TABLE%20declarant%3B%20--")
    assert sql.status_code in (200, 404)
    assert _count(app, Declarant) in (0, 244)


@pytest.mark.parametrize(
    "path",
    [
        "/draws/..%2F..%2Fetc%2Fpasswd/population.tsv",
        "/draws/../../etc/passwd/announcement.json",
        "/draws/%00/result.json",
        "/draws/" + "a" * 5000 + "/bundle.zip",
        "/api/v1/draws/%27%20OR%201%3D1--",
    ],
)
def test_path_tricks_in_draw_ids_find_nothing(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (404, 400)
    assert b"Traceback" not in response.data and b"root:" not in response.data


def test_malformed_drand_json_and_bad_dice_change_nothing(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    from service.clock import fix_clock
    from service.config import settings_of
    from service.draw_lifecycle import announce
    from service.models import User
    from tests.builders import ANNOUNCED, BEACON_AT, DICE_AT

    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    with app.app_context():
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        announce(db.session, settings_of(app), pk, operator, now=ANNOUNCED)
        db.session.commit()
    auth.login("kinmen-operator")
    base = "/operator/draws/kinmen-114-annual"
    fix_clock(app, DICE_AT)  # inside the input window
    for dice in ("5010 4646 8654 7750 7016", "５０１０４６４６８６５４７７５０７０１６", "1" * 21, "", "1" * 5000):
        response = client.post(f"{base}/live/dice", data={"dice": dice})
        assert response.status_code in (303, 400)
    client.post(f"{base}/live/dice", data={"dice": "50104646865477507016"})
    client.post(f"{base}/live/secret")
    fix_clock(app, BEACON_AT)  # the round is out
    for beacon in ("{", "[]", '{"round": "x"}', '{"round": 657413, "randomness": "00", "signature": "00"}', "null"):
        response = client.post(f"{base}/live/drand", data={"beacon": beacon})
        assert response.status_code == 200  # the console again, saying why (test_drand_closed_network.py)
        assert 'id="drand-failure"' in response.get_data(as_text=True)
    with app.app_context():
        draw = db.session.get(Draw, pk)
        assert draw is not None
        assert draw.dice == "50104646865477507016" and draw.drand_beacon is None and draw.result is None
