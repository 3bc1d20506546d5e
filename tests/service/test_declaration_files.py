"""Reading a year's declaration list: every fixture, every date form, types, IDs, merges, limits."""

import importlib.util
import io
import itertools
import zipfile
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl
import pytest

from service.declaration_files import (
    DECLARATION_TYPES,
    DEFAULT_STRATA,
    CellValueError,
    Filing,
    Merge,
    ParsedFile,
    Problem,
    check_strata,
    mask_national_id,
    parse_declaration_date,
    parse_declaration_file,
    parse_declaration_type,
    parse_national_id,
    parse_roc_year,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "declarations"
HEADER = ["姓名", "身分證字號", "服務機關", "職稱", "申報類別", "申報日期", "年度"]


def _load_make_fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_declaration_fixtures", FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_fixtures = _load_make_fixtures()

# What the ten people of the fixtures are (make_fixtures.PEOPLE), written out independently.
EXPECTED_TYPES = [
    "regular",
    "regular",
    "taking-office",
    "leaving-office",
    "regular",
    "acting",
    "concurrent",
    "regular",
    "acting-end",
    "trust",
]
EXPECTED_DATES = [
    date(2025, 11, 20),
    date(2025, 11, 21),
    date(2025, 1, 27),
    date(2025, 6, 30),
    date(2025, 12, 1),
    date(2025, 3, 3),
    date(2025, 4, 15),
    date(2025, 11, 28),
    date(2025, 8, 1),
    date(2025, 9, 10),
]
EXPECTED_NAMES = ["陳志明", "林淑芬", "黃建宏", "張雅婷", "李俊傑", "王美玲", "吳宗翰", "蔡佩君", "許文彬", "鄭惠如"]
VALID_IDS = ["A123456789", "W123456716", "W210293841", "F131104093", "A800000014", "AC01234567"]


def parse_fixture(name: str, **options: Any) -> ParsedFile:
    return parse_declaration_file((FIXTURES / name).read_bytes(), name, **options)


def csv_bytes(rows: Sequence[Sequence[object]], header: Sequence[str] = HEADER, encoding: str = "utf-8") -> bytes:
    lines = [",".join(header), *(",".join(str(cell) for cell in row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def person(
    name: str = "陳志明",
    national_id: str = "W123456716",
    kind: str = "定期申報",
    declared: object = "114/11/20",
    year: object = 114,
    agency: str = "金門縣政府財政處",
    title: str = "處長",
) -> list[object]:
    return [name, national_id, agency, title, kind, declared, year]


def only_problem(parsed: ParsedFile) -> Problem:
    assert not parsed.ok
    assert parsed.declarants == [] and parsed.merges == []
    assert len(parsed.problems) == 1, parsed.problems
    return parsed.problems[0]


# ---------------------------------------------------------------------------------------------
# The good fixtures


@pytest.mark.parametrize(
    ("name", "encoding", "rows"),
    [
        ("utf8.csv", "utf-8", list(range(2, 12))),
        ("utf8-bom.csv", "utf-8-sig", list(range(2, 12))),
        ("cp950.csv", "cp950", list(range(2, 12))),
        ("english-headers.csv", "utf-8", list(range(2, 12))),
        # the workbook has an empty row 7, which is skipped but still counted
        ("declarations.xlsx", "xlsx", [2, 3, 4, 5, 6, 8, 9, 10, 11, 12]),
    ],
)
def test_good_fixture_gives_every_declarant(name: str, encoding: str, rows: list[int]) -> None:
    parsed = parse_fixture(name)

    assert parsed.ok and parsed.problems == []
    assert parsed.encoding == encoding
    assert parsed.rows_read == 10
    assert parsed.merges == []
    assert [d.row for d in parsed.declarants] == rows
    assert [d.name for d in parsed.declarants] == EXPECTED_NAMES
    assert [d.national_id for d in parsed.declarants] == [p[1] for p in make_fixtures.PEOPLE]
    assert [d.declaration_type for d in parsed.declarants] == EXPECTED_TYPES
    assert [d.declared_on for d in parsed.declarants] == EXPECTED_DATES
    assert {d.year for d in parsed.declarants} == {114}
    first = parsed.declarants[0]
    assert (first.agency, first.title, first.type_label, first.stratum) == (
        "金門縣政府財政處",
        "處長",
        "定期申報",
        "regular",
    )
    assert first.filings == (Filing(first.row, "regular", "定期申報", date(2025, 11, 20)),)
    assert Counter(d.stratum for d in parsed.declarants) == {"regular": 4, "non-regular": 6}
    assert [d.type_label for d in parsed.declarants][8] == "代理(兼任)期間屆滿申報"


def test_cp950_fixture_is_really_cp950() -> None:
    data = (FIXTURES / "cp950.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert "金門縣政府財政處".encode("cp950") in data


def test_fixtures_are_what_the_script_writes() -> None:
    for name, data in make_fixtures.fixtures().items():
        on_disk = (FIXTURES / name).read_bytes()
        if name.endswith(".xlsx"):  # compare the members: deflate output may differ between zlib builds
            with zipfile.ZipFile(io.BytesIO(data)) as fresh, zipfile.ZipFile(io.BytesIO(on_disk)) as committed:
                assert [i.filename for i in fresh.infolist()] == [i.filename for i in committed.infolist()]
                assert [i.file_size for i in fresh.infolist()] == [i.file_size for i in committed.infolist()]
                for info in fresh.infolist():
                    if info.file_size < 2**31:  # the zip bomb's worksheet claims 4 GB and is never read
                        assert fresh.read(info.filename) == committed.read(info.filename), f"{name}: {info.filename}"
        else:
            assert on_disk == data, f"{name} is stale: run tests/fixtures/declarations/make_fixtures.py"


# ---------------------------------------------------------------------------------------------
# The bad fixtures: one bad row each, so nothing is imported and the one problem names it


@pytest.mark.parametrize(
    ("name", "row", "column", "in_en", "in_zh"),
    [
        ("bad-undecodable.csv", 4, None, "neither UTF-8 nor Big5", "既非 UTF-8 也非 Big5"),
        ("bad-missing-column.csv", 1, "declared_on", '"declaration date" is missing', "缺少必要欄位「申報日期」"),
        ("bad-unknown-type.csv", 5, "declaration_type", 'unknown declaration type "臨時申報"', "不認得的申報類別"),
        ("bad-impossible-date.csv", 3, "declared_on", 'impossible date "114/02/30"', "2 月只有 28 天"),
        ("bad-national-id.csv", 6, "national_id", "check digit does not match (W17*****02)", "檢查碼不符"),
        ("bad-nul-bytes.csv", 3, "name", "U+0000", "控制字元"),
        ("bad-wide-row.csv", 4, None, "10,000 columns: at most 200", "共 10,000 欄"),
    ],
)
def test_bad_fixture_is_refused_naming_row_and_column(
    name: str, row: int, column: str | None, in_en: str, in_zh: str
) -> None:
    problem = only_problem(parse_fixture(name))

    assert (problem.row, problem.column) == (row, column)
    assert in_en in problem.message_en
    assert in_zh in problem.message_zh
    assert problem.text_en.startswith(f"Row {row}, ")
    assert problem.text_zh.startswith(f"第 {row} 列，")


def test_problem_message_names_column_letter_and_header() -> None:
    problem = only_problem(parse_fixture("bad-national-id.csv"))

    assert problem.message_zh == "B 欄「身分證字號」：檢查碼不符（W17*****02）"
    assert problem.message_en == "column B (身分證字號): check digit does not match (W17*****02)"
    assert problem.text_zh == "第 6 列，B 欄「身分證字號」：檢查碼不符（W17*****02）"


def test_bad_national_id_is_never_shown_in_full() -> None:
    wrong = (FIXTURES / "bad-national-id.csv").read_text("utf-8").splitlines()[5].split(",")[1]
    problem = only_problem(parse_fixture("bad-national-id.csv"))

    assert wrong == "W174829102"
    assert wrong not in problem.message_en + problem.message_zh


def test_duplicate_person_is_merged_keeping_the_regular_filing() -> None:
    parsed = parse_fixture("duplicate-person.csv")

    assert parsed.ok
    assert parsed.rows_read == 11
    assert len(parsed.declarants) == 10
    assert parsed.merges == [Merge("W12*****16", (2, 7), 7)]
    merged = parsed.declarants[0]
    assert merged.row == 2 and merged.national_id == "W123456716"
    assert (merged.declaration_type, merged.stratum, merged.declared_on) == ("regular", "regular", date(2025, 11, 20))
    assert [(f.row, f.declaration_type, f.declared_on) for f in merged.filings] == [
        (2, "taking-office", date(2025, 1, 6)),
        (7, "regular", date(2025, 11, 20)),
    ]
    assert [d.row for d in parsed.declarants] == [2, 3, 4, 5, 6, 8, 9, 10, 11, 12]


def test_zip_bomb_is_refused_before_openpyxl_opens_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl was asked to open the zip bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", must_not_open)
    data = (FIXTURES / "zip-bomb.xlsx").read_bytes()

    problem = only_problem(parse_declaration_file(data, "zip-bomb.xlsx"))

    assert len(data) < 100 * 1024
    assert (problem.row, problem.column) == (None, None)
    assert "4,026,547,858 bytes" in problem.message_en and "over the limit" in problem.message_en
    assert "超過上限" in problem.message_zh


def test_zip_bomb_limit_is_a_parameter() -> None:
    data = (FIXTURES / "declarations.xlsx").read_bytes()

    assert parse_declaration_file(data, "d.xlsx").ok
    assert (
        "over the limit of 1,000"
        in only_problem(parse_declaration_file(data, "d.xlsx", max_uncompressed_bytes=1000)).message_en
    )


# ---------------------------------------------------------------------------------------------
# All or nothing


def test_one_bad_row_among_many_refuses_the_whole_file_and_every_problem_is_listed() -> None:
    rows = [person(national_id=make_fixtures.national_id("W", 1, n)) for n in range(50)]
    rows[10][5] = "114/02/30"  # row 12
    rows[30][1] = "W123456717"  # row 32, wrong check digit
    rows[30][4] = "年終申報"  # row 32, unknown type

    parsed = parse_declaration_file(csv_bytes(rows), "list.csv")

    assert parsed.declarants == [] and parsed.merges == []
    assert parsed.rows_read == 50
    assert [(p.row, p.column) for p in parsed.problems] == [
        (12, "declared_on"),
        (32, "national_id"),
        (32, "declaration_type"),
    ]


def test_problems_beyond_the_limit_are_counted() -> None:
    rows = [person(national_id=make_fixtures.national_id("W", 1, n), declared="0") for n in range(30)]

    parsed = parse_declaration_file(csv_bytes(rows), "list.csv", max_problems=5)

    assert len(parsed.problems) == 6
    assert [p.row for p in parsed.problems[:5]] == [2, 3, 4, 5, 6]
    assert parsed.problems[5].row is None
    assert parsed.problems[5].message_en.startswith("25 more problems")


# ---------------------------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("114/01/27", date(2025, 1, 27)),
        ("114-01-27", date(2025, 1, 27)),
        ("114.01.27", date(2025, 1, 27)),
        ("114/1/7", date(2025, 1, 7)),
        ("1140127", date(2025, 1, 27)),
        (1140127, date(2025, 1, 27)),
        (1140127.0, date(2025, 1, 27)),
        ("940127", date(2005, 1, 27)),
        ("94/01/27", date(2005, 1, 27)),
        ("民國114年1月27日", date(2025, 1, 27)),
        ("114年01月27日", date(2025, 1, 27)),
        ("民國114/01/27", date(2025, 1, 27)),
        ("１１４／０１／２７", date(2025, 1, 27)),
        (" 114/01/27 ", date(2025, 1, 27)),
        ("2025-01-27", date(2025, 1, 27)),
        ("2025/01/27", date(2025, 1, 27)),
        ("2025/1/27 10:30:00", date(2025, 1, 27)),
        ("2025-01-27T08:00", date(2025, 1, 27)),
        ("20250127", date(2025, 1, 27)),
        ("113/02/29", date(2024, 2, 29)),
        (date(2025, 1, 27), date(2025, 1, 27)),
        (datetime(2025, 1, 27, 15, 45), date(2025, 1, 27)),  # XLSX cells carry no time zone
    ],
)
def test_date_forms(value: object, expected: date) -> None:
    assert parse_declaration_date(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("114/02/30", 'impossible date "114/02/30": February 2025 has 28 days'),
        ("112/02/29", 'impossible date "112/02/29": February 2023 has 28 days'),
        ("114/04/31", 'impossible date "114/04/31": April 2025 has 30 days'),
        ("114/13/01", "there is no month 13"),
        ("1141301", "there is no month 13"),
        ("2025-02-30", 'impossible date "2025-02-30"'),
        ("114/00/10", "there is no month 0"),
        ("25/01/27", "before the Act took effect"),
        ("45684", 'unrecognised date "45684"'),
        ("114/01-27", 'unrecognised date "114/01-27"'),
        ("明天", 'unrecognised date "明天"'),
        ("", "must not be empty"),
        (None, "must not be empty"),
        ([2025, 1, 27], "is not a date"),
        (True, "is not a date"),
    ],
)
def test_bad_dates_raise_value_error_saying_why(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_declaration_date(value)

    assert message in str(caught.value)
    assert isinstance(caught.value, CellValueError) and caught.value.message_zh


def test_impossible_date_message_in_chinese() -> None:
    with pytest.raises(CellValueError) as caught:
        parse_declaration_date("114/02/30")

    assert caught.value.message_zh == "日期「114/02/30」不存在：民國 114 年 2 月只有 28 天"


# ---------------------------------------------------------------------------------------------
# Years


@pytest.mark.parametrize(
    ("value", "expected"), [(114, 114), ("114", 114), (114.0, 114), ("114年度", 114), ("民國94年", 94)]
)
def test_year_forms(value: object, expected: int) -> None:
    assert parse_roc_year(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (2025, "2025 is a Gregorian year; use the ROC year 114"),
        (0, "out of range"),
        (201, "out of range"),
        ("abc", "not a ROC year such as 114"),
        ("", "must not be empty"),
        (True, "must be a ROC year"),
        (date(2025, 1, 1), "must be a ROC year"),
        (114.5, "not a ROC year"),
    ],
)
def test_bad_years(value: object, message: str) -> None:
    with pytest.raises(CellValueError) as caught:
        parse_roc_year(value)

    assert message in caught.value.message_en


def test_a_file_holds_one_year() -> None:
    rows = [person(national_id=make_fixtures.national_id("W", 1, n)) for n in range(5)]
    rows[3][6] = 113

    problem = only_problem(parse_declaration_file(csv_bytes(rows), "list.csv"))

    assert (problem.row, problem.column) == (5, "year")
    assert "113 differs from 114, the year of 4 other rows" in problem.message_en


# ---------------------------------------------------------------------------------------------
# Declaration types and strata


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("定期申報", "regular"),
        ("定期", "regular"),
        (" 定期 申報 ", "regular"),
        ("Regular", "regular"),
        ("就(到)職申報", "taking-office"),
        ("就（到）職申報", "taking-office"),
        ("就〔到〕職", "taking-office"),
        ("就職", "taking-office"),
        ("到職申報", "taking-office"),
        ("taking-office", "taking-office"),
        ("Taking office", "taking-office"),
        ("卸(離)職申報", "leaving-office"),
        ("卸（離）職", "leaving-office"),
        ("卸職", "leaving-office"),
        ("離職申報", "leaving-office"),
        ("leaving-office", "leaving-office"),
        ("代理申報", "acting"),
        ("代理", "acting"),
        ("兼任申報", "concurrent"),
        ("兼任", "concurrent"),
        ("代理(兼任)期間屆滿申報", "acting-end"),
        ("代理（兼任）期間屆滿", "acting-end"),
        ("代理期間屆滿", "acting-end"),
        ("兼任期滿申報", "acting-end"),
        ("acting-end", "acting-end"),
        ("信託申報", "trust"),
        ("更正申報", "correction"),
        ("補正申報", "supplement"),
        ("補正", "supplement"),
    ],
)
def test_declaration_type_forms(value: str, code: str) -> None:
    assert parse_declaration_type(value) == code


@pytest.mark.parametrize("value", ["臨時申報", "代理(兼任)", "申報", "1", ""])
def test_unknown_declaration_types_are_refused(value: str) -> None:
    with pytest.raises(CellValueError):
        parse_declaration_type(value)


def test_type_labels_and_default_strata() -> None:
    assert DECLARATION_TYPES["taking-office"][0] == "就(到)職申報"
    assert DECLARATION_TYPES["leaving-office"][0] == "卸(離)職申報"
    assert DEFAULT_STRATA["regular"] == "regular"
    assert set(DEFAULT_STRATA) == set(DECLARATION_TYPES)
    assert {stratum for code, stratum in DEFAULT_STRATA.items() if code != "regular"} == {"non-regular"}


def test_custom_strata_are_applied() -> None:
    strata = {**DEFAULT_STRATA, "taking-office": "on-off", "leaving-office": "on-off"}

    parsed = parse_fixture("utf8.csv", strata=strata)

    assert [d.stratum for d in parsed.declarants][:5] == ["regular", "regular", "on-off", "on-off", "regular"]


@pytest.mark.parametrize(
    "strata", [{"regular": "Regular"}, {"regular": "-x"}, {"regular": "a" * 33}, {"yearly": "regular"}, {}]
)
def test_bad_strata_mapping_raises(strata: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"stratum|unknown declaration type"):
        check_strata(strata)
    with pytest.raises(ValueError, match=r"stratum|unknown declaration type"):
        parse_fixture("utf8.csv", strata=strata)


def test_type_without_a_stratum_is_a_problem() -> None:
    parsed = parse_fixture("utf8.csv", strata={"regular": "regular", "taking-office": "other"})

    assert not parsed.ok
    assert [(p.row, p.column) for p in parsed.problems] == [(5, "declaration_type")] + [
        (row, "declaration_type") for row in (7, 8, 10, 11)
    ]
    assert "no stratum to leaving office declarations" in parsed.problems[0].message_en


# ---------------------------------------------------------------------------------------------
# National ID numbers


@pytest.mark.parametrize("value", VALID_IDS)
def test_valid_ids(value: str) -> None:
    assert parse_national_id(value) == value


def test_id_is_normalised_to_upper_case_half_width() -> None:
    assert parse_national_id(" a123456789 ") == "A123456789"
    assert parse_national_id("Ａ１２３４５６７８９") == "A123456789"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("A123456788", "check digit does not match (A12*****88)"),
        ("A800000015", "check digit does not match"),
        ("AC01234568", "check digit does not match"),
        ("A323456789", "not a national ID number"),  # second digit must be 1, 2, 8 or 9
        ("AE01234567", "not a national ID number"),
        ("A12345678", "not a national ID number"),
        ("1123456789", "not a national ID number"),
        ("A 123456789", "not a national ID number"),
        ("", "must not be empty"),
    ],
)
def test_bad_ids(value: str, message: str) -> None:
    with pytest.raises(CellValueError) as caught:
        parse_national_id(value)

    assert message in caught.value.message_en


def test_every_first_letter_has_its_check_digit() -> None:
    # one valid number per letter, computed with the published letter values
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        valid = make_fixtures.national_id(letter, 1, 2345678)
        assert parse_national_id(valid) == valid
        wrong = valid[:-1] + str((int(valid[-1]) + 5) % 10)
        with pytest.raises(CellValueError):
            parse_national_id(wrong)


def test_mask_national_id() -> None:
    assert mask_national_id("A123456789") == "A12*****89"
    assert mask_national_id("AC01234567") == "AC0*****67"
    assert mask_national_id("A1234") == "*****"


def test_an_id_in_the_wrong_column_is_masked_in_messages() -> None:
    row = person(national_id="陳志明")
    row[0], row[4], row[5] = "W123456716", "W123456716", "W123456716"

    parsed = parse_declaration_file(csv_bytes([row]), "list.csv")

    assert [(p.row, p.column) for p in parsed.problems] == [
        (2, "national_id"),
        (2, "declaration_type"),
        (2, "declared_on"),
    ]
    text = " ".join(p.message_en + p.message_zh for p in parsed.problems)
    assert "W123456716" not in text
    assert 'unknown declaration type "W12*****16"' in text and 'unrecognised date "W12*****16"' in text


def test_declarant_repr_leaves_out_the_national_id() -> None:
    declarant = parse_fixture("utf8.csv").declarants[0]

    assert declarant.national_id == "W123456716"
    assert "W123456716" not in repr(declarant)


# ---------------------------------------------------------------------------------------------
# Merging


def test_kept_filing_rule() -> None:
    a, b, c = (make_fixtures.national_id("W", 1, n) for n in (11, 22, 33))
    rows = [
        person("甲", a, "就(到)職申報", "114/03/01"),  # row 2
        person("乙", b, "更正申報", "114/01/05"),  # row 3
        person("甲", a, "更正申報", "114/01/02"),  # row 4
        person("甲", a, "卸(離)職申報", "114/02/01"),  # row 5: earliest filing that is not an amendment
        person("乙", b, "補正申報", "114/01/05"),  # row 6: same date as row 3, later row
        person("丙", c, "定期申報", "114/12/20"),  # row 7
        person("丙", c, "就(到)職申報", "114/01/02", agency="金城鎮公所", title="課長"),  # row 8
    ]

    parsed = parse_declaration_file(csv_bytes(rows), "list.csv")

    assert parsed.ok
    assert [(m.rows, m.kept_row) for m in parsed.merges] == [((2, 4, 5), 5), ((3, 6), 3), ((7, 8), 7)]
    first, second, third = parsed.declarants
    assert (first.row, first.declaration_type, first.declared_on) == (2, "leaving-office", date(2025, 2, 1))
    assert (second.row, second.declaration_type, second.stratum) == (3, "correction", "non-regular")
    assert (third.declaration_type, third.agency, third.title) == ("regular", "金門縣政府財政處", "處長")
    assert [f.row for f in first.filings] == [2, 4, 5]
    assert [m.national_id_masked for m in parsed.merges] == [mask_national_id(i) for i in (a, b, c)]


def test_same_id_with_a_different_name_is_a_problem() -> None:
    rows = [person("陳志明"), person("林淑芬", national_id="W210293841"), person("陳 志 明"), person("陳志民")]

    problem = only_problem(parse_declaration_file(csv_bytes(rows), "list.csv"))

    assert (problem.row, problem.column) == (5, "name")  # row 4 differs only by spaces
    assert "same national ID (W12*****16) as row 2 but a different name" in problem.message_en


# ---------------------------------------------------------------------------------------------
# Headers, rows and text cells


def test_header_aliases_order_and_extra_columns() -> None:
    header = [
        "序號",
        "年度",
        "申報類型",
        "Declaration Date",
        "職 稱",
        "機關名稱",
        "身分證統一編號",
        "申報人姓名",
        "備註",
    ]
    row = ["1", "114", "定期", "114/11/20", "處長", "金門縣政府財政處", "W123456716", "陳志明", "無"]

    parsed = parse_declaration_file(csv_bytes([row], header), "list.csv")

    assert parsed.ok
    declarant = parsed.declarants[0]
    assert (declarant.name, declarant.agency, declarant.title) == ("陳志明", "金門縣政府財政處", "處長")


def test_title_rows_above_the_header_are_skipped() -> None:
    data = "114年度公職人員財產申報名冊\r\n金門縣政府政風處製表,,,,,,\r\n\r\n".encode() + csv_bytes([person()])

    parsed = parse_declaration_file(data, "list.csv")

    assert parsed.ok
    assert parsed.declarants[0].row == 5


def test_no_header_row() -> None:
    parsed = parse_declaration_file(csv_bytes([person()] * 3, header=["a", "b"]), "list.csv")

    problem = only_problem(parsed)
    assert problem.row is None and "no header row" in problem.message_en
    assert "姓名" in problem.message_zh


def test_every_missing_column_is_named() -> None:
    parsed = parse_declaration_file(csv_bytes([["陳志明", "W123456716"]], ["姓名", "身分證字號"]), "list.csv")

    assert [(p.row, p.column) for p in parsed.problems] == [
        (1, "agency"),
        (1, "title"),
        (1, "declaration_type"),
        (1, "declared_on"),
        (1, "year"),
    ]


def test_a_column_given_twice_is_a_problem() -> None:
    header = [*HEADER, "申報人姓名"]

    problem = only_problem(parse_declaration_file(csv_bytes([[*person(), "陳志明"]], header), "list.csv"))

    assert (problem.row, problem.column) == (1, "name")
    assert "column A (姓名), column H (申報人姓名)" in problem.message_en


def test_empty_rows_are_skipped_but_counted() -> None:
    data = csv_bytes([person(), [""] * 7, [" ", "", "\u3000"], [], person("林淑芬", "W210293841")])

    parsed = parse_declaration_file(data, "list.csv")

    assert parsed.ok and parsed.rows_read == 2
    assert [d.row for d in parsed.declarants] == [2, 6]


def test_short_row_reports_each_missing_cell() -> None:
    parsed = parse_declaration_file(csv_bytes([["陳志明", "W123456716", "金城鎮公所"]]), "list.csv")

    assert [(p.row, p.column) for p in parsed.problems] == [
        (2, "title"),
        (2, "declaration_type"),
        (2, "declared_on"),
        (2, "year"),
    ]
    assert all("must not be empty" in p.message_en for p in parsed.problems)


def test_quoted_cells_with_commas() -> None:
    data = csv_bytes([]) + '"陳志明","W123456716","金門縣政府財政處,會計室",處長,定期,114/11/20,114\r\n'.encode()

    assert parse_declaration_file(data, "list.csv").declarants[0].agency == "金門縣政府財政處,會計室"


def test_tab_separated_text() -> None:
    data = "\t".join(HEADER).encode() + b"\r\n" + "\t".join(str(c) for c in person()).encode() + b"\r\n"

    parsed = parse_declaration_file(data, "list.txt")

    assert parsed.ok and parsed.declarants[0].name == "陳志明"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (0, "王" * 101, "101 characters long; at most 100"),
        (2, "機" * 201, "201 characters long; at most 200"),
        (3, "長" * 101, "at most 100"),
        (0, "   ", "must not be empty"),
        (2, "", "must not be empty"),
        (3, "", "must not be empty"),
        (0, "陳\u200b志明", "U+200B"),
        (0, "陳志明\u202e", "U+202E"),
        (2, "金城鎮\x07公所", "U+0007"),
    ],
)
def test_text_cells_are_checked(column: int, value: str, message: str) -> None:
    row = person()
    row[column] = value

    problem = only_problem(parse_declaration_file(csv_bytes([row]), "list.csv"))

    assert problem.row == 2
    assert problem.column == ["name", "national_id", "agency", "title"][column]
    assert message in problem.message_en


@pytest.mark.parametrize("name", ["王" * 100, "瓦歷斯‧諾幹", "陳\u3000志明", "Wang Hsiao-ming", "  陳志明  "])
def test_names_that_are_fine(name: str) -> None:
    parsed = parse_declaration_file(csv_bytes([person(name)]), "list.csv")

    assert parsed.ok and parsed.declarants[0].name == name.strip()


def test_a_broken_csv_stops_at_its_row() -> None:
    data = csv_bytes([person(), person("林淑芬", "W210293841")]) + b'"' + b"x" * 200_000 + b"\r\n"

    problem = only_problem(parse_declaration_file(data, "list.csv"))

    assert problem.row == 4 and "cannot be read further" in problem.message_en


def test_wide_row_limit_is_a_parameter_and_applies_to_the_header() -> None:
    header = [*HEADER, *(f"x{n}" for n in range(10))]
    data = csv_bytes([[*person(), *range(10)]], header)

    refused = parse_declaration_file(data, "list.csv", max_columns=15)

    assert [(p.row, p.column) for p in refused.problems] == [(None, None), (1, None), (2, None)]
    assert "no header row" in refused.problems[0].message_en
    assert "17 columns: at most 15" in refused.problems[1].message_en
    assert parse_declaration_file(data, "list.csv", max_columns=17).ok


# ---------------------------------------------------------------------------------------------
# Encodings


def test_cp950_file_with_an_undecodable_line_names_it() -> None:
    rows = [person(), person("林淑芬", "W210293841"), person("黃建宏", "W138475616")]
    data = csv_bytes(rows, encoding="cp950").replace("林淑芬".encode("cp950"), "林淑".encode("cp950") + b"\xff\xfe")

    parsed = parse_declaration_file(data, "list.csv")

    assert parsed.encoding == "cp950"
    assert [(p.row, p.column) for p in parsed.problems] == [(3, None)]


def test_undecodable_row_inside_a_multiline_cell_is_named_by_its_row() -> None:
    data = csv_bytes([]) + '"陳志明",W123456716,"金門縣政府\r\n財政處",處長,定期,114/11/20,114\r\n'.encode()
    data += "林淑芬,W210293841,金門縣".encode() + b"\xff" + ",副處長,定期,114/11/21,114\r\n".encode()

    parsed = parse_declaration_file(data, "list.csv")

    assert [(p.row, p.column) for p in parsed.problems] == [(2, "agency"), (3, None)]


def test_utf16_is_refused_with_advice() -> None:
    data = b"\xff\xfe" + "\r\n".join([",".join(HEADER)]).encode("utf-16-le")

    problem = only_problem(parse_declaration_file(data, "list.csv"))

    assert "UTF-16" in problem.message_en and "CSV UTF-8" in problem.message_zh


# ---------------------------------------------------------------------------------------------
# XLSX


def workbook_bytes(rows: Sequence[Sequence[object]], header: Sequence[object] = HEADER) -> bytes:
    data: bytes = make_fixtures.xlsx_bytes(header, rows)
    return data


def test_xlsx_cells_of_every_kind() -> None:
    rows = [
        person(declared=datetime(2025, 11, 20), year=114),
        person("林淑芬", "W210293841", declared=1140127, year="114"),
        person("黃建宏", "W138475616", declared="114/03/01", year=114.0),
    ]

    parsed = parse_declaration_file(workbook_bytes(rows), "list.xlsx")

    assert parsed.ok and parsed.encoding == "xlsx"
    assert [d.declared_on for d in parsed.declarants] == [date(2025, 11, 20), date(2025, 1, 27), date(2025, 3, 1)]


def test_xlsx_problem_names_row_and_column() -> None:
    rows = [person(), person("林淑芬", "W210293841", declared="114/02/30")]

    problem = only_problem(parse_declaration_file(workbook_bytes(rows), "list.xlsx"))

    assert (problem.row, problem.column) == (3, "declared_on")
    assert problem.message_en.startswith("column F (申報日期): impossible date")


def test_xlsx_rows_past_a_wrong_dimension_are_still_read() -> None:
    rows = [person(national_id=make_fixtures.national_id("W", 1, n)) for n in range(5)]
    data = workbook_bytes(rows)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:G6" />' in content
                content = content.replace(b'<dimension ref="A1:G6" />', b'<dimension ref="A1:G2" />')
            target.writestr(info, content)

    parsed = parse_declaration_file(out.getvalue(), "list.xlsx")

    assert parsed.ok and len(parsed.declarants) == 5


def test_xlsx_wide_row_is_refused() -> None:
    rows = [person(), [*person("林淑芬", "W210293841"), *range(300)]]

    problem = only_problem(parse_declaration_file(workbook_bytes(rows), "list.xlsx"))

    assert (problem.row, problem.column) == (3, None)
    assert "307 columns" in problem.message_en


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"PK\x03\x04" + b"\x00" * 100, "list.xlsx", "not a valid XLSX file"),
        (b"name,id\r\n", "list.xlsx", "not XLSX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "list.xls", "old Excel (.xls)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "list.xlsx", "password-protected"),
        (b"PK\x03\x04" + b"\x00" * 100, "list.csv", "rename it to .xlsx"),
        (b"name,id\r\n", "list.pdf", "only CSV and XLSX"),
        (b"name,id\r\n", "list", "only CSV and XLSX"),
        (b"", "list.csv", "the file is empty"),
    ],
)
def test_files_that_are_not_what_they_claim(data: bytes, filename: str, message: str) -> None:
    problem = only_problem(parse_declaration_file(data, filename))

    assert problem.row is None and message in problem.message_en


def test_damaged_xlsx_is_refused() -> None:
    good = (FIXTURES / "declarations.xlsx").read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]  # cut in the middle of the XML
            target.writestr(info, content)

    parsed = parse_declaration_file(out.getvalue(), "list.xlsx")

    assert not parsed.ok and parsed.declarants == []
    assert "damaged" in parsed.problems[-1].message_en


def test_a_non_xlsx_zip_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")

    problem = only_problem(parse_declaration_file(out.getvalue(), "list.xlsx"))

    assert "not an XLSX workbook" in problem.message_en


# ---------------------------------------------------------------------------------------------
# Size, progress and speed


def test_file_over_max_bytes_is_refused() -> None:
    data = (FIXTURES / "utf8.csv").read_bytes()

    problem = only_problem(parse_declaration_file(data, "utf8.csv", max_bytes=len(data) - 1))

    assert f"the file is {len(data):,} bytes; at most {len(data) - 1:,}" in problem.message_en
    assert parse_declaration_file(data, "utf8.csv", max_bytes=len(data)).ok


def test_progress_is_reported_every_thousand_rows(tmp_path: Path) -> None:
    path = make_fixtures.write_large_csv(tmp_path / "large.csv", 2500)
    calls: list[tuple[int, int | None]] = []

    parsed = parse_declaration_file(
        path.read_bytes(), "large.csv", progress=lambda done, total: calls.append((done, total))
    )

    assert parsed.ok and len(parsed.declarants) == 2500
    assert calls == [(1000, 2501), (2000, 2501), (2501, 2501)]


def test_progress_for_xlsx() -> None:
    calls: list[tuple[int, int | None]] = []

    parse_fixture("declarations.xlsx", progress=lambda done, total: calls.append((done, total)))

    assert calls == [(12, 12)]


def test_a_hundred_thousand_rows_parse_with_progress(tmp_path: Path) -> None:
    data = make_fixtures.write_large_csv(tmp_path / "large.csv", 100_000).read_bytes()
    calls: list[tuple[int, int | None]] = []

    parsed = parse_declaration_file(data, "large.csv", progress=lambda done, total: calls.append((done, total)))

    assert parsed.ok and len(parsed.declarants) == 100_000 and parsed.rows_read == 100_000
    assert len({d.national_id for d in parsed.declarants}) == 100_000
    assert len(calls) == 101 and calls[-1] == (100_001, 100_001)
    assert all(later[0] - earlier[0] >= 1000 for earlier, later in itertools.pairwise(calls[:-1]))
