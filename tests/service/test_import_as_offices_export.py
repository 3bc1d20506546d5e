"""Imports that accept what offices export: the year from the form, the short forms of the
declaration types, the template, repeated problems grouped, the year kept on re-upload."""

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from service.declaration_files import (
    DECLARATION_TYPES,
    accepted_type_forms,
    parse_declaration_file,
    parse_declaration_type,
    template_csv,
    template_xlsx,
)
from service.extensions import db
from service.models import Declarant
from tests.builders import AuthActions
from tests.service.test_import_flow import upload

NO_YEAR = ["姓名", "身分證字號", "服務機關", "職稱", "申報類別", "申報日期"]


def rows_csv(rows: list[list[str]], header: list[str] = NO_YEAR, encoding: str = "cp950") -> bytes:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def national_id(n: int) -> str:
    """A valid national ID, different for each n (the check digit computed as the parser checks it)."""
    body = f"W1{n:07d}"
    letter = 32  # W
    digits = [letter // 10, letter % 10, *map(int, body[1:])]
    total = sum(d * w for d, w in zip(digits, (1, 9, 8, 7, 6, 5, 4, 3, 2, 1), strict=True))
    return body + str((10 - total % 10) % 10)


def person(n: int, kind: str) -> list[str]:
    return [f"申報人{n:03d}", national_id(n), "金門縣政府財政處", "科員", kind, "114/03/15"]


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("就到申報", "taking-office"),
        ("就到", "taking-office"),
        ("就　到　申報", "taking-office"),
        ("就 職", "taking-office"),
        ("到職申報", "taking-office"),
        ("到任", "taking-office"),
        ("卸職", "leaving-office"),
        ("離職申報", "leaving-office"),
        ("卸離", "leaving-office"),
        ("卸離申報", "leaving-office"),
        ("離任", "leaving-office"),
        ("代理", "acting"),
        ("代理　申報", "acting"),
        ("兼任", "concurrent"),
        ("定期", "regular"),
        ("年度定期申報", "regular"),
        ("代理期滿", "acting-end"),
    ],
)
def test_short_forms_offices_write_are_the_canonical_types(written: str, code: str) -> None:
    assert parse_declaration_type(written) == code


def test_every_form_the_upload_page_lists_is_accepted_as_its_type() -> None:
    listed = accepted_type_forms()
    assert [code for code, *_ in listed] == list(DECLARATION_TYPES)
    for code, label_zh, _label_en, forms in listed:
        for form in forms:
            assert parse_declaration_type(form) == code, form
            if not form.isascii():
                assert parse_declaration_type(form + "申報") == code, form
        assert parse_declaration_type(label_zh) == code
    taking = next(forms for code, _, _, forms in listed if code == "taking-office")
    assert {"就到", "就職", "到職"} <= set(taking)


def test_the_year_comes_from_the_form_when_the_file_has_no_year_column() -> None:
    data = rows_csv([person(1, "就到申報"), person(2, "卸職"), person(3, "代理")])
    parsed = parse_declaration_file(data, "list.csv", year=114)
    assert parsed.ok and parsed.encoding == "cp950"
    assert [(d.year, d.declaration_type) for d in parsed.declarants] == [
        (114, "taking-office"),
        (114, "leaving-office"),
        (114, "acting"),
    ]
    refused = parse_declaration_file(data, "list.csv")  # no year chosen: the column is needed
    assert [p.column for p in refused.problems] == ["year"]


def test_a_year_column_that_disagrees_with_the_form_is_one_clear_error() -> None:
    header = [*NO_YEAR, "年度"]
    data = rows_csv([[*person(n, "定期"), "113"] for n in range(5)], header)
    parsed = parse_declaration_file(data, "list.csv", year=114)
    assert len(parsed.problems) == 1 and not parsed.declarants
    problem = parsed.problems[0]
    assert (problem.row, problem.column) == (None, "year")
    assert "G 欄「年度」的年度是 113，但上傳時選的是 114 年度" in problem.message_zh
    assert "year 114 was chosen for the upload" in problem.message_en
    assert parse_declaration_file(rows_csv([[*person(1, "定期"), "114"]], header), "list.csv", year=114).ok


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_template_reads_back_and_its_example_row_is_refused_if_left_in(kind: str) -> None:
    data = template_csv() if kind == "csv" else template_xlsx()
    parsed = parse_declaration_file(data, f"template.{kind}", year=114)
    assert [(p.row, p.message_en) for p in parsed.problems] == [
        (2, "this is the template's example row; delete it before uploading")
    ]
    if kind == "xlsx":
        sheet = load_workbook(io.BytesIO(data)).active
        assert [c.value for c in sheet[1]] == NO_YEAR
        sheet.delete_rows(2)
        sheet.append(person(7, "就到"))
        out = io.BytesIO()
        sheet.parent.save(out)
        data = out.getvalue()
    else:
        assert data.startswith(b"\xef\xbb\xbf") and data.decode("utf-8-sig").splitlines()[0] == ",".join(NO_YEAR)
        data = rows_csv([person(7, "就到")], encoding="utf-8")
    filled = parse_declaration_file(data, f"filled.{kind}", year=114)
    assert filled.ok and filled.declarants[0].declaration_type == "taking-office"


def test_the_upload_page_lists_accepted_forms_and_offers_the_templates(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    page = client.get("/operator/declarations?lang=zh").get_data(as_text=True)
    table = page[page.index('id="accepted-types"') :]
    assert "就(到)職申報" in table and "就到" in table and "卸離" in table and "代理" in table
    assert "不需要「年度」欄" in page
    for kind, mimetype in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats")):
        assert f'href="/operator/declarations/template.{kind}"' in page
        response = client.get(f"/operator/declarations/template.{kind}")
        assert response.status_code == 200 and response.mimetype.startswith(mimetype)
        assert "attachment" in response.headers["Content-Disposition"]
    auth.logout()
    assert client.get("/operator/declarations/template.csv").status_code in (302, 401, 403)


def test_a_big5_file_with_short_forms_and_no_year_column_imports(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    kinds = ["就到申報", "卸職", "代理", "定期申報", "就到", "卸離", "兼任"]
    data = rows_csv([person(n, kinds[n % len(kinds)]) for n in range(1, 29)])
    upload_id = upload(client, data, "名冊.csv")
    preview = client.get(f"/operator/uploads/{upload_id}").get_data(as_text=True)
    assert "28 declarants" in preview
    assert client.post(f"/operator/uploads/{upload_id}/import").status_code == 303
    with app.app_context():
        stored = db.session.scalars(select(Declarant).order_by(Declarant.case_number)).all()
        assert len(stored) == 28 and {d.roc_year for d in stored} == {114}
        assert {d.declaration_type for d in stored} == {
            "taking-office",
            "leaving-office",
            "acting",
            "regular",
            "concurrent",
        }


def test_repeated_problems_are_grouped_and_the_year_is_kept_for_the_corrected_file(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    rows = [person(n, "定期") for n in range(1, 41)]
    bad = [n for n in range(40) if n % 7 != 0][:34]
    for n in bad:
        rows[n][4] = "臨時申報"
    upload_id = upload(client, rows_csv(rows), "名冊.csv", year=113)
    page = client.get(f"/operator/uploads/{upload_id}?lang=zh").get_data(as_text=True)
    table = page[page.index('id="problems"') : page.index("</table>", page.index('id="problems"'))]
    assert table.count("<tr>") == 2  # the header and one line for all 34 rows
    excel_rows = "、".join(str(n + 2) for n in bad[:20])
    assert re.search(rf"34 列：E 欄「申報類別」：不認得的申報類別「臨時申報」.*；第 {excel_rows}… 列", table)
    english = client.get(f"/operator/uploads/{upload_id}?lang=en").get_data(as_text=True)
    assert "34 rows: column E (申報類別): unknown declaration type" in english
    assert 'href="/operator/declarations?year=113"' in english
    form = client.get("/operator/declarations?year=113").get_data(as_text=True)
    assert re.search(r'id="roc_year"[^>]*value="113"', form)
    refused = client.post(
        "/operator/declarations",
        data={"roc_year": "113", "file": (io.BytesIO(b""), "")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400 and re.search(r'id="roc_year"[^>]*value="113"', refused.get_data(as_text=True))
