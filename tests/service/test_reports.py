"""The annual report: figures, page, CSV and XLSX (safe from formula injection), the public
statistics page and `/api/v1/stats/<year>` — and the demo year's figures."""

import csv
import io

import pytest
import yaml
from flask import Flask
from jsonschema import Draft202012Validator
from openpyxl import load_workbook

from service import settings_of
from service.demo import load_demo
from service.extensions import db
from service.models import Office, ReviewCase, ReviewEvent
from service.reports import annual_report, report_csv, report_xlsx, spreadsheet_safe
from tests.service.conftest import AuthActions
from tests.service.reviewing import TO_FINED, reviewed_draw, walk

OPENAPI = "docs/openapi.yaml"


def statistics_validator() -> Draft202012Validator:
    """The OpenAPI `Statistics` schema as a JSON Schema validator."""
    with open(OPENAPI, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    return Draft202012Validator({**spec, "$ref": "#/components/schemas/Statistics"})


def _walked(app: Flask, offices: dict[str, int]) -> dict[str, list[int]]:
    cases = reviewed_draw(app, offices)
    review = cases["review"]
    walk(app, review[0], TO_FINED)
    walk(app, review[1], ("querying", "under_review", "no_discrepancy", "closed"))
    walk(app, review[2], ("querying", "under_review", "discrepancy", "statement_invited", "correction_notice"))
    walk(app, review[3], ("querying",))
    walk(app, cases["comparison"][0], ("querying", "under_review", "explanation_requested"))
    return cases


def test_the_report_counts_declarations_draws_outcomes_and_fines(app: Flask, offices: dict[str, int]) -> None:
    _walked(app, offices)
    with app.app_context():
        report = annual_report(db.session, 114, offices["kinmen"])
        assert report.declarations == 244 and report.by_type == {"regular": 178, "non-regular": 66}
        assert sum(count for _, _, count in report.by_declaration_type) == 244
        assert (report.drawn_review, report.drawn_comparison, report.case_based) == (25, 1, 0)
        assert report.outcomes["fined"] == 1 and report.outcomes["no_discrepancy"] == 1
        assert report.outcomes["correction_notice"] == 1 and report.outcomes["querying"] == 1
        assert report.outcomes["explanation_requested"] == 1 and report.outcomes["drawn"] == 20
        assert report.closed == 1 and report.referrals == 1 and report.cases == 25
        assert (report.fines_count, report.fines_total) == (1, 150_000)
        assert annual_report(db.session, 114, offices["penghu"]).declarations == 0
    client = app.test_client()
    AuthActions(client).login("kinmen-admin")
    page = client.get("/reviews/reports/114")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'media="print"' in html and "print.css" in html
    assert "<svg" in html and "<script" not in html
    assert "244" in html and "150,000" in html
    assert client.get("/reviews/reports").status_code == 303
    assert client.get("/reviews/reports/99").status_code == 404
    stylesheet = client.get("/static/css/print.css")
    assert stylesheet.status_code == 200 and b"@page" in stylesheet.data
    stylesheet.close()


def test_csv_and_xlsx_exports_hold_the_same_table(app: Flask, offices: dict[str, int]) -> None:
    _walked(app, offices)
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    response = client.get("/reviews/reports/114.csv?lang=en")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    table = {(row[0], row[1]): row[2:] for row in rows[1:]}
    assert table[("Declarations", "Total")] == ["244", ""]
    assert table[("Drawn", "Drawn for review")][0] == "25"
    assert table[("Drawn", "Drawn for comparison")][0] == "1"
    assert table[("Outcomes", "fined")][0] == "1"
    assert table[("Fines", "Total")] == ["1", "150000"]
    xlsx = client.get("/reviews/reports/114.xlsx?lang=en")
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert cells[0][0] == rows[0][0]
    assert [[("" if v is None else str(v)) for v in row] for row in cells[1:]] == rows[1:]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_spreadsheet_formulas_are_neutralised(start: str) -> None:
    assert spreadsheet_safe(f'{start}HYPERLINK("http://evil")') == f'\'{start}HYPERLINK("http://evil")'
    assert spreadsheet_safe("plain") == "plain" and spreadsheet_safe(5) == 5 and spreadsheet_safe(-5) == -5


def test_exports_neutralise_formulas_in_stored_text(app: Flask, offices: dict[str, int]) -> None:
    with app.app_context():
        office = db.session.get(Office, offices["kinmen"])
        office.name = '=HYPERLINK("http://evil.example","click")'
        db.session.commit()
    reviewed_draw(app, offices)
    with app.app_context():
        report = annual_report(db.session, 114, offices["kinmen"])
        first = next(csv.reader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
        assert first[1] == "'" + report.office_name
        sheet = load_workbook(io.BytesIO(report_xlsx(report))).active
        assert sheet["B1"].value == "'" + report.office_name and sheet["B1"].data_type == "s"
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                assert not (isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")))


def test_public_statistics_and_the_api_give_the_report_figures(app: Flask, offices: dict[str, int]) -> None:
    cases = _walked(app, offices)
    client = app.test_client()
    stats = client.get("/api/v1/stats/114")
    assert stats.status_code == 200 and stats.headers["Access-Control-Allow-Origin"] == "*"
    body = stats.get_json()
    statistics_validator().validate(body)
    assert body["declarations"] == 244 and body["by_type"] == {"regular": 178, "non-regular": 66}
    assert (body["drawn_review"], body["drawn_comparison"]) == (25, 1)
    assert body["outcomes"]["fined"] == 1 and body["fines"] == {"count": 1, "total": 150000}
    assert client.get("/api/v1/stats/114?office=kinmen").get_json()["declarations"] == 244
    assert client.get("/api/v1/stats/114?office=penghu").status_code == 404
    assert client.get("/api/v1/stats/113").get_json()["error"]["code"] == "not_found"
    page = client.get("/statistics/114?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "244" in html and "150,000" in html and "<svg" in html
    with app.app_context():
        rows = db.session.query(ReviewCase).filter(ReviewCase.id.in_(cases["review"])).all()
        for case in rows:  # aggregate only: no case number, name, agency or ID
            assert case.case_number not in html
            assert case.declarant.name not in html and case.declarant.national_id[:4] not in html
        assert all(note not in html for (note,) in db.session.query(ReviewEvent.note).distinct() if note)
    assert client.get("/statistics").status_code == 200
    assert client.get("/statistics/99").status_code == 404


def test_the_demo_year_fills_the_report(app: Flask) -> None:
    with app.app_context():
        app.config["SUNSHINE_INLINE_JOBS"] = True
        load_demo(db.session, settings_of(app))
        db.session.commit()
        events = db.session.query(ReviewEvent).count()
        load_demo(db.session, settings_of(app))  # idempotent
        db.session.commit()
        assert db.session.query(ReviewEvent).count() == events
        states = {state for (state,) in db.session.query(ReviewCase.state)}
        assert {"closed", "fined", "correction_notice", "explanation_requested", "querying", "drawn"} <= states
        comparison = db.session.query(ReviewCase).filter_by(stage="comparison").one()
        assert comparison.state == "explanation_requested"
        assert all(case.assignee.username == "reviewer" for case in db.session.query(ReviewCase))
    body = app.test_client().get("/api/v1/stats/114").get_json()
    assert body["declarations"] == 244 and body["by_type"] == {"regular": 178, "non-regular": 66}
    assert (body["drawn_review"], body["drawn_comparison"]) == (25, 1)
    assert body["outcomes"]["fined"] == 1 and body["closed"] == 4 and body["fines"]["total"] == 120_000
    client = app.test_client()
    AuthActions(client).login("admin", "demo-admin-pass-114")
    html = client.get("/reviews/reports/114?lang=en").get_data(as_text=True)
    assert "244" in html and "178" in html and "66" in html and "120,000" in html
