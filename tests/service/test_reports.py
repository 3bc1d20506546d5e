"""The report to the council: the seed's table first (年度總財產申報案數 / 實質審查案數), outcomes
counted once per case from the history, a period report, the same figures in page, CSV and XLSX —
and the public statistics and `/api/v1/stats/<year>`, which count the same way."""

import csv
import io
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
import yaml
from flask import Flask
from jsonschema import Draft202012Validator
from openpyxl import load_workbook
from sqlalchemy import select

from service.config import settings_of
from service.demo import demo_office, load_demo
from service.extensions import db
from service.models import Declarant, Office, ReviewCase, ReviewEvent
from service.reports import (
    DECIDED_STATES,
    OPEN_STATES,
    Period,
    ReportError,
    annual_report,
    council_report,
    parse_period,
    report_csv,
    report_xlsx,
    spreadsheet_safe,
)
from service.reviews import correct, open_case_based, transition
from tests.builders import TO_FINED, AuthActions, completed_draw, reviewed_draw, user, walk

OPENAPI = "docs/openapi.yaml"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The seed's table as the demo year reads it: declarations 定期 / other / total, then drawn.
DEMO_DECLARATIONS = ["178", "66", "244"]


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


# --- reading the three renderings -------------------------------------------------------------


def page_tables(html: str) -> dict[str, list[list[str]]]:
    """Each report table of the page (by its key) as rows of [label, value…], header rows left out."""
    tables = {}
    for key, body in re.findall(r'id="table-(\w+)".*?<tbody>(.*?)</tbody>', html, re.S):
        rows = []
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
            cells = [
                re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            ]
            rows.append(cells)
        tables[key] = rows
    return tables


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> list[list[str]]:
    """The sheet as the CSV would write it: ratios as `10.2%`, blanks as empty text."""
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = []
    for row in sheet.iter_rows():
        cells = []
        for cell in row:
            if cell.value is None:
                cells.append("")
            elif cell.number_format == "0.0%":
                cells.append(f"{100 * cell.value:.1f}%")
            else:
                cells.append(str(cell.value))
        while cells and cells[-1] == "":
            cells.pop()
        rows.append(cells)
    return rows


def trimmed(rows: list[list[str]]) -> list[list[str]]:
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    return out


def row_labelled(rows: list[list[str]], label: str) -> list[str]:
    return next(row for row in rows if row and row[0] == label)


def in_chinese(client: Any) -> None:
    """Read the pages in zh-TW, as an office does (the test client asks for English by default)."""
    client.set_cookie("lang", "zh")


def _downloads(client: Any, base: str, query: str = "") -> tuple[list[list[str]], list[list[str]]]:
    csv_response = client.get(f"{base}.csv{query}")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    xlsx_response = client.get(f"{base}.xlsx{query}")
    assert xlsx_response.status_code == 200 and xlsx_response.mimetype == XLSX
    return csv_rows(csv_response.data), xlsx_rows(xlsx_response.data)


# --- the council table ------------------------------------------------------------------------


def test_the_demo_year_reads_as_the_seed_table_in_page_csv_and_xlsx(app: Flask) -> None:
    with app.app_context():
        app.config["SUNSHINE_INLINE_JOBS"] = True
        load_demo(db.session, settings_of(app))
        db.session.commit()
    client = app.test_client()
    AuthActions(client).login("admin", "demo-admin-pass-114")
    in_chinese(client)
    # The demo has year 115 imported (not drawn yet): the report opens on 114, the year with data.
    opening = client.get("/reviews/reports")
    assert opening.status_code == 303 and opening.headers["Location"].endswith("/reviews/reports/114")

    html = client.get("/reviews/reports/114").get_data(as_text=True)
    assert "114年度" in html and "年度總財產申報案數" in html and "實質審查案數" in html
    assert "就到、卸離、代理申報" in html and "比例" in html and 'media="print"' in html
    page = page_tables(html)
    assert list(page) == ["council", "cases", "outcomes", "fines"]  # the seed's table comes first
    council = page["council"][0]
    assert council[0] == "114年度" and council[1:4] == DEMO_DECLARATIONS and council[6] == "25"
    assert int(council[4]) + int(council[5]) == 25 and council[7] == "10.2%"

    rows, sheet = _downloads(client, "/reviews/reports/114")
    assert trimmed(rows) == sheet  # the CSV and the XLSX hold the same cells
    assert "年度總財產申報案數" in rows[3] and "實質審查案數" in rows[3]
    assert {"定期申報", "就到、卸離、代理申報", "合計", "定期", "非定期"} <= set(rows[4])
    assert row_labelled(rows, "114年度") == council
    assert row_labelled(sheet, "114年度") == council
    # Every row of every table of the page is in the files, figure for figure and in order.
    position = 0
    for table in page.values():
        for page_row in table:
            expected = [value.replace(",", "") for value in page_row]
            position = next(n for n in range(position, len(rows)) if trimmed([rows[n]])[0] == expected) + 1
    with app.app_context():
        office = demo_office(db.session)
        assert office is not None
        report = council_report(db.session, office.id, roc_year=114)
        assert sum(split.total for split in report.outcomes.values()) == report.cases.total == 25


def test_the_english_files_keep_the_chinese_headers_and_add_english_ones(app: Flask, offices: dict[str, int]) -> None:
    reviewed_draw(app, offices)
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    html = client.get("/reviews/reports/114?lang=en").get_data(as_text=True)
    assert "Declarations in the year" in html and "Year 114" in html
    rows, sheet = _downloads(client, "/reviews/reports/114", "?lang=en")
    assert trimmed(rows) == sheet
    zh_header = next(row for row in rows if "年度總財產申報案數" in row)
    en_header = rows[rows.index(zh_header) + 2]
    assert "Declarations in the year" in en_header and "Substantive reviews" in en_header
    council = next(row for row in rows if row[:2] == ["114年度", "Year 114"])
    assert council[2:5] == DEMO_DECLARATIONS and council[7] == "25" and council[8] == "10.2%"


# --- outcomes: once per case, from the history ------------------------------------------------


def _assert_partition(report: Any) -> None:
    cases = report.cases
    assert report.decided.total + report.in_progress.total == cases.total
    for kind in ("regular", "other"):
        assert sum(getattr(report.outcomes[s], kind) for s in (*DECIDED_STATES, *OPEN_STATES)) == getattr(cases, kind)


def test_outcomes_count_each_case_once_by_its_final_or_current_state(app: Flask, offices: dict[str, int]) -> None:
    cases = _walked(app, offices)
    review = cases["review"]
    walk(app, review[0], ("closed",))  # passed through 發現不符 and 移送, closed with a fine
    settings = settings_of(app)
    with app.app_context():
        # review[4] reaches 查無不符, then the step is corrected to 發現不符: the history decides.
        for state in ("querying", "under_review", "no_discrepancy"):
            transition(
                db.session, settings, review[4], user("kinmen-reviewer"), state, note="step", due_on=date(2099, 1, 31)
            )
        latest = max(db.session.get(ReviewCase, review[4]).events, key=lambda e: e.sequence)
        correct(
            db.session, settings, review[4], user("kinmen-reviewer"), latest.id, note="wrong outcome",
            to_state="discrepancy", due_on=date(2099, 1, 31),
        )  # fmt: skip
        db.session.commit()
        report = council_report(db.session, offices["kinmen"], roc_year=114)
        _assert_partition(report)
        assert report.cases.total == 25 == report.drawn.total
        totals = {state: split.total for state, split in report.outcomes.items()}
        assert totals["fined"] == 1 and totals["no_discrepancy"] == 1 and totals["correction_notice"] == 1
        assert totals["discrepancy"] == 1 and totals["querying"] == 1 and totals["explanation_requested"] == 1
        assert totals["drawn"] == 19 and report.decided.total == 3 and report.in_progress.total == 22
        # Beside the sum, not in it: closed (the fine and 查無不符), and passed through 發現不符.
        assert report.closed.total == 2 and report.passed["discrepancy"].total == 3
        assert report.passed["referred"].total == 1
        assert report.fines == {"false-declaration": (1, 150_000)}
        # Split by filing type, as the declarants were filed.
        regular = {
            case.id
            for case in db.session.query(ReviewCase).join(Declarant, ReviewCase.declarant_id == Declarant.id)
            if case.declarant.declaration_type == "regular"
        }
        assert report.cases.regular == len(regular) and report.drawn.regular == len(regular)
        assert report.outcomes["fined"].regular == (review[0] in regular)
        # The public statistics count the same way.
        public = annual_report(db.session, 114, offices["kinmen"])
        assert public.cases == 25 and public.outcomes["fined"] == 1 and public.closed == 2
    client = app.test_client()
    AuthActions(client).login("kinmen-admin")
    in_chinese(client)
    html = client.get("/reviews/reports/114").get_data(as_text=True)
    outcomes = page_tables(html)["outcomes"]
    assert row_labelled(outcomes, "已裁處罰鍰")[3] == "1" and row_labelled(outcomes, "發現不符")[3] == "1"
    assert row_labelled(outcomes, "合計（案件數）")[3:5] == ["25", "100.0%"]
    assert row_labelled(outcomes, "曾發現不符（不列入合計）")[3] == "3"
    subtotals = [row for row in outcomes if row[0] == "小計"]
    assert [int(row[3]) for row in subtotals] == [3, 22]


def test_cases_opened_at_completion_count_as_drawn_until_they_move(app: Flask, offices: dict[str, int]) -> None:
    completed_draw(app, offices["kinmen"])
    with app.app_context():
        report = council_report(db.session, offices["kinmen"], roc_year=114)
        assert report.drawn.total == 25 and report.cases.total == 25 and report.outcomes["drawn"].total == 25
        assert (report.declarations.regular, report.declarations.other) == (178, 66)
        _assert_partition(report)


# --- a council session's period -----------------------------------------------------------------


def _at(day: int, month: int = 10) -> datetime:
    return datetime(2023, month, day, 2, 0, tzinfo=UTC)


def test_a_period_counts_its_draws_and_the_cases_as_they_stood_at_its_end(app: Flask, offices: dict[str, int]) -> None:
    """The draw completes 2023-09-15 (Taipei 19:00, ROC 112/09/15) and opens its cases then."""
    pk = completed_draw(app, offices["kinmen"])
    settings = settings_of(app)
    with app.app_context():
        admin, reviewer = user("kinmen-admin"), user("kinmen-reviewer")
        opened = db.session.scalars(select(ReviewCase).where(ReviewCase.draw_pk == pk).order_by(ReviewCase.id)).all()
        assert len(opened) == 25 and all(case.assignee_id == reviewer.id for case in opened)
        first = opened[0].id
        for day, state in ((1, "querying"), (2, "under_review"), (3, "no_discrepancy"), (20, "closed")):
            due = None if state == "closed" else date(2099, 1, 31)
            transition(db.session, settings, first, reviewer, state, note="step", due_on=due, now=_at(day, 11))
        office = db.session.get(Office, offices["kinmen"])
        spare = (
            db.session.query(Declarant).filter(Declarant.case_number.notin_([c.case_number for c in opened])).first()
        )
        open_case_based(
            db.session, settings, office, admin, roc_year=114, case_number=spare.case_number,
            note="complaint received", due_on=date(2099, 1, 31), now=_at(5, 12),
        )  # fmt: skip
        db.session.commit()

        autumn = council_report(db.session, offices["kinmen"], period=Period(date(2023, 9, 1), date(2023, 11, 10)))
        assert (autumn.declarations.total, autumn.drawn.total, autumn.cases.total) == (244, 25, 25)
        assert autumn.outcomes["no_discrepancy"].total == 1 and autumn.closed.total == 0
        assert autumn.case_based.total == 0 and [d.draw_id for d in autumn.draws] == ["kinmen-114-annual"]
        _assert_partition(autumn)
        # The draw's day, in Taipei, is inside a period that ends that day; the cases opened later.
        same_day = council_report(db.session, offices["kinmen"], period=Period(date(2023, 9, 15), date(2023, 9, 15)))
        assert (same_day.drawn.total, same_day.cases.total) == (25, 25)
        # A period after the draw: no draw, no declarations — only the case-based check opened in it.
        winter = council_report(db.session, offices["kinmen"], period=Period(date(2023, 9, 16), date(2023, 12, 31)))
        assert (winter.declarations.total, winter.drawn.total) == (0, 0)
        assert winter.cases.total == winter.case_based.total == 1 and winter.outcomes["drawn"].total == 1
        whole = council_report(db.session, offices["kinmen"], period=Period(date(2023, 9, 1), date(2023, 12, 31)))
        assert whole.cases.total == 26 and whole.closed.total == 1 and whole.outcomes["no_discrepancy"].total == 1
        _assert_partition(whole)

    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    in_chinese(client)
    query = "?from=112/09/01&to=112/11/10"
    html = client.get(f"/reviews/reports/period{query}").get_data(as_text=True)
    assert "本期（112年9月1日至112年11月10日）" in html and "民國112年11月10日" in html
    council = page_tables(html)["council"][0]
    assert council[1:4] == DEMO_DECLARATIONS and council[6] == "25"
    rows, sheet = _downloads(client, "/reviews/reports/period", query)
    assert trimmed(rows) == sheet and row_labelled(rows, council[0]) == council
    iso = client.get("/reviews/reports/period?from=2023-09-01&to=2023-11-10").get_data(as_text=True)
    assert page_tables(iso)["council"][0] == council


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=112/11/10&to=112/09/01", "期間的結束日（民國112年9月1日）早於開始日（民國112年11月10日）。"),
        ("?from=112/02/30&to=112/09/01", "開始日期：日期「112/02/30」不存在"),
        ("?from=hello&to=112/09/01", "開始日期：看不懂的日期"),
        ("?to=112/09/01", "請輸入期間的開始日期。"),
        ("?from=100/01/01&to=112/09/01", "期間最長五年。"),
    ],
)
def test_a_bad_period_is_a_400_naming_the_problem(
    app: Flask, offices: dict[str, int], query: str, message: str
) -> None:
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    in_chinese(client)
    for path in ("/reviews/reports/period", "/reviews/reports/period.csv", "/reviews/reports/period.xlsx"):
        response = client.get(path + query)
        assert response.status_code == 400 and response.mimetype == "text/html"
        assert message in response.get_data(as_text=True)


def test_parse_period_reads_roc_and_iso_dates() -> None:
    assert parse_period("108/11/08", "民國109年4月10日") == Period(date(2019, 11, 8), date(2020, 4, 10))
    assert parse_period("1081108", "2020-04-10") == Period(date(2019, 11, 8), date(2020, 4, 10))
    with pytest.raises(ReportError):
        parse_period("109/04/10", "108/11/08")


def test_the_report_needs_a_viewer_of_the_office(app: Flask, offices: dict[str, int]) -> None:
    _walked(app, offices)
    client = app.test_client()
    assert client.get("/reviews/reports/114").status_code in (302, 303, 401)
    AuthActions(client).login("penghu-operator")
    assert client.get("/reviews/reports/114").status_code == 404  # another office's year
    assert client.get("/reviews/reports/99").status_code == 404


# --- spreadsheets: nothing runs as a formula ----------------------------------------------------


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
    with app.test_request_context("/"):
        report = council_report(db.session, offices["kinmen"], roc_year=114)
        first = next(csv.reader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
        assert first[1] == "'" + report.office_name
        sheet = load_workbook(io.BytesIO(report_xlsx(report))).active
        assert sheet["B1"].value == "'" + report.office_name and sheet["B1"].data_type == "s"
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                assert not (isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")))


# --- the public statistics and the API ----------------------------------------------------------


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
    assert sum(body["outcomes"].values()) == 25 and body["outcomes"]["drawn"] == 20
    with app.app_context():
        report = council_report(db.session, offices["kinmen"], roc_year=114)
        assert {s: split.total for s, split in report.outcomes.items()} == {
            s: n for s, n in body["outcomes"].items() if s in report.outcomes
        }
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


def test_the_demo_year_fills_the_public_figures(app: Flask) -> None:
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
    body = app.test_client().get("/api/v1/stats/114").get_json()
    assert body["declarations"] == 244 and body["by_type"] == {"regular": 178, "non-regular": 66}
    assert (body["drawn_review"], body["drawn_comparison"]) == (25, 1)
    assert body["outcomes"]["fined"] == 1 and body["closed"] == 4 and body["fines"]["total"] == 120_000
    assert sum(body["outcomes"].values()) == 25
