"""Read one year's asset-declaration list, as exported from the national declaration system.

Input: the bytes of a CSV file (UTF-8 with or without BOM, or Big5/CP950 as Excel on Windows
saves it; comma- or tab-separated) or of an XLSX workbook (its first worksheet). Output: a
`ParsedFile` holding either every declarant, or, when anything is wrong, no declarant at all and
every problem found, each naming its row and column in zh-TW and English. Nothing here touches
Flask or the database; the service stores the declarants only when `ok` is true.

The header is the first non-empty row (among the first ten) naming at least two known columns, so
a title line above it is allowed. Rows are numbered as Excel shows them: the first row of the file
is row 1, so the first data row under a header in row 1 is row 2. Completely empty rows are
skipped; extra columns are ignored.

One person is one declarant: rows with the same national ID are merged (the draw counts
declarants, not filings) and each merge is listed in `ParsedFile.merges`. The merged declarant
keeps its most significant filing (`kept_filing_rule` below) and the list of all its filings.

Privacy: national ID numbers appear in problems and merges only masked (`A12*****89`), and
`Declarant.national_id` is left out of its `repr` so a log line cannot carry it.
"""

import calendar
import codecs
import csv
import io
import operator
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar

__all__ = [
    "COLUMN_LABELS",
    "DECLARATION_TYPES",
    "DEFAULT_STRATA",
    "MAX_COLUMNS",
    "MAX_PROBLEMS",
    "MAX_XLSX_UNCOMPRESSED_BYTES",
    "STRATUM_PATTERN",
    "TEMPLATE_COLUMNS",
    "TEMPLATE_EXAMPLE",
    "CellValueError",
    "Declarant",
    "DeclarationList",
    "Filing",
    "Merge",
    "ParsedFile",
    "Problem",
    "accepted_type_forms",
    "check_strata",
    "mask_national_id",
    "parse_declaration_date",
    "parse_declaration_file",
    "parse_declaration_type",
    "parse_national_id",
    "parse_roc_year",
    "read_declaration_file",
    "template_csv",
    "template_xlsx",
]

#: Declaration types: code -> (zh-TW label, English label). Names follow the Act, Arts. 2-3 and 7.
DECLARATION_TYPES: dict[str, tuple[str, str]] = {
    "regular": ("定期申報", "regular"),
    "taking-office": ("就(到)職申報", "taking office"),
    "leaving-office": ("卸(離)職申報", "leaving office"),
    "acting": ("代理申報", "acting"),
    "concurrent": ("兼任申報", "concurrent post"),
    "acting-end": ("代理(兼任)期間屆滿申報", "end of acting or concurrent post"),
    "trust": ("信託申報", "trust"),
    "correction": ("更正申報", "correction"),
    "supplement": ("補正申報", "supplement"),
}
#: Type code → the zh-TW label stored with each declarant (`type_label`, `filings[].label`).
TYPE_LABELS = {code: zh for code, (zh, _) in DECLARATION_TYPES.items()}

#: The strata the county example in docs/architecture.md uses: regular filings, and all the others.
DEFAULT_STRATA: dict[str, str] = {code: "regular" if code == "regular" else "non-regular" for code in DECLARATION_TYPES}

#: A stratum name as `population.tsv` allows it (protocol §2, `lottery.population.STRATUM_PATTERN`).
STRATUM_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")

#: Column keys (as `Problem.column` carries them) -> (zh-TW label, English label), in file order.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "name": ("姓名", "name"),
    "national_id": ("身分證字號", "national ID"),
    "agency": ("服務機關", "agency"),
    "title": ("職稱", "title"),
    "declaration_type": ("申報類別", "declaration type"),
    "declared_on": ("申報日期", "declaration date"),
    "year": ("年度", "year"),
}

MAX_COLUMNS = 200
MAX_PROBLEMS = 1000
MAX_XLSX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
MAX_XLSX_MEMBERS = 1000
PROGRESS_EVERY = 1000
HEADER_SEARCH_ROWS = 10
TEXT_LIMITS = {"name": 100, "agency": 200, "title": 100}

# The Act was promulgated in 1993 (ROC 82): an earlier date is a typing error, often a
# two-digit Gregorian year read as a ROC year.
EARLIEST_DECLARATION = date(1993, 1, 1)
ROC_OFFSET = 1911


@dataclass(frozen=True)
class Filing:
    """One row of the file: a filing of `declaration_type` (code) dated `declared_on`."""

    row: int
    declaration_type: str
    type_label: str
    declared_on: date


@dataclass(frozen=True)
class Declarant:
    """One person in the year's population.

    `row` is the person's first row; the name, agency, title, type and date come from the kept
    filing (see `parse_declaration_file`); `filings` holds every filing in row order.
    """

    row: int
    name: str
    national_id: str = field(repr=False)
    agency: str
    title: str
    declaration_type: str
    type_label: str
    stratum: str
    declared_on: date
    year: int
    filings: tuple[Filing, ...]


@dataclass(frozen=True)
class Problem:
    """Why the file was refused.

    `row` is the Excel row (None for the whole file); `column` is a key of `COLUMN_LABELS` (None
    when the problem is not about one column). The messages name the column letter and header
    as written in the file but not the row; `text_zh` / `text_en` prefix the row.
    """

    row: int | None
    column: str | None
    message_zh: str
    message_en: str

    @property
    def text_zh(self) -> str:
        """The message with its row, e.g. `第 5 列，C 欄「身分證字號」：檢查碼不符`."""
        return self.message_zh if self.row is None else f"第 {self.row} 列，{self.message_zh}"

    @property
    def text_en(self) -> str:
        """The message with its row, e.g. `Row 5, column C (身分證字號): check digit ...`."""
        return self.message_en if self.row is None else f"Row {self.row}, {self.message_en}"


@dataclass(frozen=True)
class Merge:
    """Rows `rows` belong to one person; `kept_row` is the filing the declarant keeps."""

    national_id_masked: str
    rows: tuple[int, ...]
    kept_row: int


@dataclass(frozen=True)
class ParsedFile:
    """The result of `parse_declaration_file`.

    All or nothing: when `problems` is non-empty, `declarants` and `merges` are empty.
    `rows_read` counts the non-empty data rows read; `encoding` is `utf-8`, `utf-8-sig`, `cp950`,
    `xlsx`, or `unknown` when the file was refused before it could be decoded.
    """

    declarants: list[Declarant]
    problems: list[Problem]
    merges: list[Merge]
    rows_read: int
    encoding: str

    @property
    def ok(self) -> bool:
        """True when the file was accepted."""
        return not self.problems


class CellValueError(ValueError):
    """A cell's value is not acceptable; `message_zh` and `message_en` say why (str() is English)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


# ---------------------------------------------------------------------------------------------
# Cell values


# Anything shaped like an ID number, wherever it turns up (a swapped column, say), is masked.
_ID_LIKE = re.compile(r"[A-Za-z][0-9A-Da-d][0-9]{8}")


def _shown(text: str, limit: int = 40) -> str:
    """A value safe to quote in a message: ID-like text masked, control characters escaped, cut."""
    masked = _ID_LIKE.sub(lambda match: mask_national_id(match.group()), text)
    cut = masked if len(masked) <= limit else masked[:limit] + "…"
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in cut)


def _cell_text(value: object) -> str:
    """The text of a CSV or XLSX cell value (a whole float shows without `.0`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# Control characters (Cc), invisible format characters (Cf: zero-width, bidi overrides, BOM) and
# line/paragraph separators are refused; `str.isprintable` is the fast path, since it also says
# False for ideographic space, private-use (造字) and not-yet-assigned characters, which are fine.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _refused_character(text: str) -> str | None:
    if text.isprintable():
        return None
    for ch in text:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return ch
    return None


def _text_field(value: object, limit: int) -> str:
    text = _cell_text(value).strip()
    if not text:
        raise CellValueError("不可空白", "must not be empty")
    bad = _refused_character(text)
    if bad is not None:
        code = f"U+{ord(bad):04X}"
        raise CellValueError(f"含有控制字元或不可見字元 {code}", f"contains the control or invisible character {code}")
    if len(text) > limit:
        raise CellValueError(
            f"長度 {len(text)} 字，超過上限 {limit} 字", f"is {len(text)} characters long; at most {limit} are allowed"
        )
    return text


# ---------------------------------------------------------------------------------------------
# National ID numbers

# Letter values of the first character (and, for old resident certificates, the second).
_ID_LETTER_VALUES = {
    letter: value
    for letter, value in zip(
        "ABCDEFGHJKLMNPQRSTUVXYWZIO",
        range(10, 36),
        strict=True,
    )
}
_ID_PATTERN = re.compile(r"[A-Z][1289A-D][0-9]{8}")
_ID_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1, 1)


_ID_DIGIT_WEIGHTS = _ID_WEIGHTS[1:]
#: The eight digits are summed from their ASCII codes: this much too much, since "0" is 48.
_ID_DIGITS_OFFSET = ord("0") * sum(_ID_DIGIT_WEIGHTS)


def _national_id_checksum_ok(national_id: str) -> bool:
    first = _ID_LETTER_VALUES[national_id[0]]
    second = national_id[1]
    total = first // 10 + (first % 10) * 9
    total += _ID_WEIGHTS[0] * (int(second) if second.isdigit() else _ID_LETTER_VALUES[second] % 10)
    total += sum(map(operator.mul, national_id[2:].encode("ascii"), _ID_DIGIT_WEIGHTS)) - _ID_DIGITS_OFFSET
    return total % 10 == 0


# The same check digit from three table look-ups, for the common case of an ID written exactly
# (upper-case ASCII, no spaces): the weighted sum of the first two characters, of digits 3-6 and
# of digits 7-10. A key that is missing means the text is not in that form (then
# `parse_national_id` decides), so the tables check the shape as they sum.
_ID_HEAD_SUMS = {
    letter + second: (value // 10 + (value % 10) * 9 + _ID_WEIGHTS[0] * second_value) % 10
    for letter, value in _ID_LETTER_VALUES.items()
    for second, second_value in (
        *((digit, int(digit)) for digit in "1289"),
        *((letter2, _ID_LETTER_VALUES[letter2] % 10) for letter2 in "ABCD"),
    )
}
_ID_MIDDLE_SUMS = {
    f"{n:04d}": sum(int(d) * w for d, w in zip(f"{n:04d}", _ID_WEIGHTS[1:5], strict=True)) for n in range(10_000)
}
_ID_TAIL_SUMS = {
    f"{n:04d}": sum(int(d) * w for d, w in zip(f"{n:04d}", _ID_WEIGHTS[5:], strict=True)) for n in range(10_000)
}


def _plain_national_id(text: str) -> bool:
    """True when `text` is a valid ID exactly as `parse_national_id` would return it; False means
    "ask `parse_national_id`" (it may be valid in another form, or not valid)."""
    if len(text) != 10:
        return False
    head = _ID_HEAD_SUMS.get(text[:2])
    middle = _ID_MIDDLE_SUMS.get(text[2:6])
    tail = _ID_TAIL_SUMS.get(text[6:])
    return head is not None and middle is not None and tail is not None and (head + middle + tail) % 10 == 0


def parse_national_id(value: object) -> str:
    """Validate a national ID or resident certificate number and return it upper-case.

    Accepted: the national ID card (`A123456789`: a letter, 1 or 2, eight digits), the new-style
    resident certificate (second character 8 or 9) and the old-style one (second character
    A-D); the check digit of all three is verified with the Ministry of the Interior's weights.
    Full-width characters and surrounding spaces are tolerated. Raises `CellValueError`; its
    messages show the number only masked.
    """
    text = _cell_text(value)
    # NFKC leaves ASCII as it is: only full-width or other non-ASCII text needs normalising.
    text = (text if text.isascii() else unicodedata.normalize("NFKC", text)).strip().upper()
    if not text:
        raise CellValueError("不可空白", "must not be empty")
    if not _ID_PATTERN.fullmatch(text):
        raise CellValueError(
            "格式不符：應為一個英文字母加 9 位數字（如 A123456789），或居留證統一證號",
            "is not a national ID number: expected a letter and nine digits (like A123456789) "
            "or a resident certificate number",
        )
    if not _national_id_checksum_ok(text):
        masked = mask_national_id(text)
        raise CellValueError(f"檢查碼不符（{masked}）", f"check digit does not match ({masked})")
    return text


def mask_national_id(national_id: str) -> str:
    """Mask an ID for display: `A123456789` -> `A12*****89` (first three and last two kept).

    Any other length is masked completely, so nothing unexpected is ever shown in full.
    """
    if len(national_id) != 10:
        return "*" * len(national_id)
    return national_id[:3] + "*****" + national_id[8:]


# ---------------------------------------------------------------------------------------------
# Declaration types

_TYPE_NOISE = re.compile(r"[\s()\[\]{}【】〔〕「」『』<>《》_\-.·・:]")
_TYPE_ALIASES: dict[str, str] = {
    "定期": "regular",
    "年度定期": "regular",
    "regular": "regular",
    "periodic": "regular",
    "就到職": "taking-office",
    "到就職": "taking-office",
    "就到": "taking-office",
    "到就": "taking-office",
    "到任": "taking-office",
    "就職": "taking-office",
    "到職": "taking-office",
    "就任": "taking-office",
    "takingoffice": "taking-office",
    "卸離職": "leaving-office",
    "離卸職": "leaving-office",
    "卸離": "leaving-office",
    "離卸": "leaving-office",
    "離任": "leaving-office",
    "卸職": "leaving-office",
    "離職": "leaving-office",
    "卸任": "leaving-office",
    "leavingoffice": "leaving-office",
    "代理": "acting",
    "acting": "acting",
    "兼任": "concurrent",
    "concurrent": "concurrent",
    "actingend": "acting-end",
    "endofacting": "acting-end",
    "信託": "trust",
    "trust": "trust",
    "更正": "correction",
    "correction": "correction",
    "補正": "supplement",
    "supplement": "supplement",
}
# 代理(兼任)期間屆滿 and the shorter forms offices write: 代理期間屆滿, 兼任期滿, 代理結束 ...
_ACTING_END = re.compile(r"(?:代理|兼任|代理兼任|兼任代理)(?:職務)?(?:期間|期)?(?:屆滿|期滿|結束)")


def parse_declaration_type(value: object) -> str:
    """Return the type code (a key of `DECLARATION_TYPES`) for a declaration type as written.

    Full- and half-width forms, brackets, spaces and a trailing 申報 are ignored, so
    `就（到）職申報`, `就(到)職`, `到職` and `taking-office` are all `taking-office`.
    Raises `CellValueError` for an empty or unknown type.
    """
    original = _cell_text(value).strip()
    if not original:
        raise CellValueError("不可空白", "must not be empty")
    key = _TYPE_NOISE.sub("", unicodedata.normalize("NFKC", original)).casefold().removesuffix("申報")
    code = _TYPE_ALIASES.get(key)
    if code is None and _ACTING_END.fullmatch(key):
        code = "acting-end"
    if code is None:
        known = [label.removesuffix("申報") for label, _ in DECLARATION_TYPES.values()]
        shown = _shown(original)
        raise CellValueError(
            f"不認得的申報類別「{shown}」；可用：{'、'.join(known)}",
            f'unknown declaration type "{shown}"; expected one of: {", ".join(known)} '
            f"(or {', '.join(DECLARATION_TYPES)})",
        )
    return code


#: How offices write the end of an acting or concurrent post (`_ACTING_END` reads these and the like).
_ACTING_END_SHOWN = ("代理期間屆滿", "兼任期間屆滿", "代理期滿", "兼任期滿", "代理結束")


def accepted_type_forms() -> list[tuple[str, str, str, list[str]]]:
    """Each declaration type as (code, zh-TW label, English label, the other ways of writing it
    that `parse_declaration_type` accepts), for the upload page's table.

    The Chinese forms are listed without 申報; each is accepted with it too, with full- or
    half-width brackets and spaces anywhere.
    """
    forms: dict[str, list[str]] = {code: [] for code in DECLARATION_TYPES}
    for key, code in _TYPE_ALIASES.items():
        if not key.isascii():
            forms[code].append(key)
    forms["acting-end"].extend(_ACTING_END_SHOWN)
    return [
        (code, label_zh, label_en, list(dict.fromkeys([label_zh.removesuffix("申報"), *forms[code], code])))
        for code, (label_zh, label_en) in DECLARATION_TYPES.items()
    ]


#: The template the upload page offers: the columns in the order offices export them, without
#: 年度 (the year is chosen on the form), and one example row — which the check refuses, so a
#: template uploaded with its example still in it names that row instead of importing a person.
TEMPLATE_COLUMNS = ("name", "national_id", "agency", "title", "declaration_type", "declared_on")
TEMPLATE_EXAMPLE = ("範例王小明", "A123456789", "金門縣政府財政處", "處長", "就到職", "114/03/15")


def template_csv() -> bytes:
    """The template as CSV: UTF-8 with a BOM (Excel on Windows then reads the Chinese right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([COLUMN_LABELS[column][0] for column in TEMPLATE_COLUMNS])
    writer.writerow(TEMPLATE_EXAMPLE)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """The template as an XLSX workbook, every cell text (so Excel keeps 114/03/15 and IDs as typed)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "申報名冊"
    sheet.append([COLUMN_LABELS[column][0] for column in TEMPLATE_COLUMNS])
    sheet.append(list(TEMPLATE_EXAMPLE))
    for letter, width in zip("ABCDEF", (14, 14, 24, 14, 18, 14), strict=True):
        sheet.column_dimensions[letter].width = width
        for cell in sheet[letter]:
            cell.number_format = "@"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def check_strata(strata: Mapping[str, str]) -> dict[str, str]:
    """Validate a type-code -> stratum mapping and return it as a dict.

    Keys must be codes of `DECLARATION_TYPES`; values must match `STRATUM_PATTERN`. A code may be
    left out, but a file holding a filing of that type is then refused. Raises `ValueError`.
    """
    checked: dict[str, str] = {}
    for code, stratum in strata.items():
        if code not in DECLARATION_TYPES:
            raise ValueError(f"unknown declaration type code {code!r}; known: {', '.join(DECLARATION_TYPES)}")
        if not isinstance(stratum, str) or not STRATUM_PATTERN.fullmatch(stratum):
            raise ValueError(f"stratum {stratum!r} for {code!r} must match {STRATUM_PATTERN.pattern}")
        checked[code] = stratum
    if not checked:
        raise ValueError("at least one declaration type needs a stratum")
    return checked


# ---------------------------------------------------------------------------------------------
# Dates and years

_DATE_TIME_SUFFIX = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_ROC_SEPARATED = re.compile(r"(?:民國)?(\d{2,3})([/.-])(\d{1,2})\2(\d{1,2})")
_ROC_WORDS = re.compile(r"(?:民國)?(\d{2,3})年(\d{1,2})月(\d{1,2})日")
_ROC_COMPACT = re.compile(r"(\d{2,3})(\d{2})(\d{2})")
_GREGORIAN_SEPARATED = re.compile(r"(\d{4})([/.-])(\d{1,2})\2(\d{1,2})" + _DATE_TIME_SUFFIX)
_GREGORIAN_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _make_date(year: int, month: int, day: int, original: str) -> date:
    if not 1912 <= year <= 1911 + 200:
        shown = _shown(original)
        raise CellValueError(f"日期「{shown}」的年份不合理", f'date "{shown}": the year is out of range')
    if not 1 <= month <= 12:
        shown = _shown(original)
        raise CellValueError(
            f"日期「{shown}」不存在：沒有 {month} 月", f'impossible date "{shown}": there is no month {month}'
        )
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        shown = _shown(original)
        raise CellValueError(
            f"日期「{shown}」不存在：民國 {year - ROC_OFFSET} 年 {month} 月只有 {last} 天",
            f'impossible date "{shown}": {calendar.month_name[month]} {year} has {last} days',
        )
    result = date(year, month, day)
    if result < EARLIEST_DECLARATION:
        shown = _shown(original)
        raise CellValueError(
            f"日期「{shown}」早於公職人員財產申報法施行（民國 82 年），請檢查年份",
            f'date "{shown}" is before the Act took effect (1993, ROC 82); check the year',
        )
    return result


def parse_declaration_date(value: object) -> date:
    """Read a declaration date as the national system or Excel writes it.

    Accepted: ROC dates `114/01/27`, `114-01-27`, `114.01.27`, `114年1月27日` (an optional 民國
    prefix), compact `1140127` (7 digits) or `940127` (6 digits, ROC year below 100); Gregorian
    `2025-01-27` or `2025/01/27` (a trailing time is ignored) and `20250127`; and `date` or
    `datetime` values from XLSX cells. Full-width digits are fine. Raises `CellValueError` (a
    `ValueError`) naming the value for an unknown form, an impossible date such as `114/02/30`,
    or a date before 1993.
    """
    if isinstance(value, datetime):
        return _make_date(value.year, value.month, value.day, value.isoformat(sep=" "))
    if isinstance(value, date):
        return _make_date(value.year, value.month, value.day, value.isoformat())
    if value is None:
        raise CellValueError("不可空白", "must not be empty")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CellValueError("不是日期", "is not a date")
    original = _cell_text(value).strip()
    if not original:
        raise CellValueError("不可空白", "must not be empty")
    text = unicodedata.normalize("NFKC", original).replace(" ", "")
    text_with_time = unicodedata.normalize("NFKC", original).strip()
    for pattern in (_ROC_SEPARATED, _ROC_WORDS, _ROC_COMPACT):
        match = pattern.fullmatch(text)
        if match:
            groups = [g for g in match.groups() if g.isdigit()]
            roc_year, month, day = (int(g) for g in groups)
            return _make_date(roc_year + ROC_OFFSET, month, day, original)
    for pattern in (_GREGORIAN_SEPARATED, _GREGORIAN_COMPACT):
        match = pattern.fullmatch(text_with_time)
        if match:
            groups = [g for g in match.groups() if g.isdigit()]
            year, month, day = (int(g) for g in groups)
            return _make_date(year, month, day, original)
    shown = _shown(original)
    raise CellValueError(
        f"看不懂的日期「{shown}」：請用民國日期如 114/01/27 或 1140127，或西元日期如 2025-01-27",
        f'unrecognised date "{shown}": use a ROC date like 114/01/27 or 1140127, or an ISO date like 2025-01-27',
    )


_ROC_YEAR = re.compile(r"(?:民國)?(\d{1,4})(?:年度|年)?")


def parse_roc_year(value: object) -> int:
    """Read a ROC year (1-200) from a number or text such as `114`, `114年度`, `民國114年`.

    A Gregorian year is refused with the ROC year to use instead. Raises `CellValueError`.
    """
    if isinstance(value, bool | date):
        raise CellValueError("應為民國年，如 114", "must be a ROC year such as 114")
    original = _cell_text(value).strip()
    if not original:
        raise CellValueError("不可空白", "must not be empty")
    match = _ROC_YEAR.fullmatch(unicodedata.normalize("NFKC", original).replace(" ", ""))
    if not match:
        shown = _shown(original)
        raise CellValueError(f"「{shown}」不是民國年，如 114", f'"{shown}" is not a ROC year such as 114')
    year = int(match.group(1))
    if 1912 <= year <= 1911 + 200:
        raise CellValueError(
            f"{year} 是西元年；請填民國年 {year - ROC_OFFSET}",
            f"{year} is a Gregorian year; use the ROC year {year - ROC_OFFSET}",
        )
    if not 1 <= year <= 200:
        raise CellValueError(f"民國年 {year} 不合理（應在 1–200）", f"ROC year {year} is out of range (1-200)")
    return year


# ---------------------------------------------------------------------------------------------
# Headers


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-.()\[\]:*\ufeff]", "", unicodedata.normalize("NFKC", text)).casefold()


_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "申報人姓名", "申報人", "name", "declarant", "declarant name", "full name"),
    "national_id": (
        "身分證字號",
        "身分證統一編號",
        "身分證號",
        "身分證號碼",
        "身份證字號",
        "身份證統一編號",
        "身份證號碼",
        "統一證號",
        "national_id",
        "national id number",
        "id_number",
        "id no",
    ),
    "agency": ("服務機關", "服務機關名稱", "機關", "機關名稱", "服務單位", "agency", "agency name", "organisation"),
    "title": ("職稱", "職務", "職務名稱", "title", "job title", "position"),
    "declaration_type": ("申報類別", "申報類型", "申報種類", "申報別", "type", "declaration type", "filing type"),
    "declared_on": ("申報日期", "申報日", "日期", "date", "declaration date", "declared on", "filing date"),
    "year": ("年度", "申報年度", "year", "declaration year"),
}
_COLUMN_BY_HEADER: dict[str, str] = {
    _header_key(alias): column for column, aliases in _COLUMN_ALIASES.items() for alias in aliases
}
# "organization" normalises differently from "organisation"
_COLUMN_BY_HEADER[_header_key("organization")] = "agency"


def _column_letter(index: int) -> str:
    """`0` -> `A`, `26` -> `AA` (the letters Excel shows above a column)."""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


@dataclass(frozen=True)
class _Header:
    row: int
    index: dict[str, int]
    texts: dict[str, str]
    #: The year chosen on the upload form, for a file without a year column (else None).
    year: int | None = None

    def where(self, column: str) -> tuple[str, str]:
        position = self.index[column]
        letter = _column_letter(position)
        text = _shown(self.texts[column])
        return f"{letter} 欄「{text}」", f"column {letter} ({text})"


# ---------------------------------------------------------------------------------------------
# Reading rows from CSV and XLSX


class _FileRefused(Exception):
    """The file cannot be read any further; carries the one problem that says why."""

    def __init__(self, row: int | None, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.problem = Problem(row, None, message_zh, message_en)


class _RowFlag(NamedTuple):
    kind: str  # "undecodable" or "wide"
    columns: int


_Rows = Generator[tuple[int, Sequence[object], _RowFlag | None], None, None]


class _RowSource(NamedTuple):
    rows: _Rows
    total: int | None
    encoding: str


_UNDECODABLE = _RowFlag("undecodable", 0)


def _decode_csv(data: bytes) -> tuple[str, str, set[int]]:
    """Decode CSV bytes; return the text, the encoding and the lines (1-based) that would not decode.

    UTF-8 is tried first, then CP950. When neither decodes the whole file, the one with fewer
    bad lines wins, and its bad lines are replaced and reported. A line break never falls inside
    a UTF-8 or CP950 character, so decoding line by line is exact.
    """
    candidates: tuple[str, ...] = ("utf-8", "cp950")
    body = data
    if data.startswith(codecs.BOM_UTF8):
        body, candidates = data[len(codecs.BOM_UTF8) :], ("utf-8-sig",)
    for encoding in candidates:
        try:
            return body.decode("utf-8" if encoding == "utf-8-sig" else encoding), encoding, set()
        except UnicodeDecodeError:
            continue
    lines = body.splitlines(keepends=True)
    scored: list[tuple[int, int, str, set[int]]] = []
    for preference, encoding in enumerate(candidates):
        codec = "utf-8" if encoding == "utf-8-sig" else encoding
        bad: set[int] = set()
        for number, line in enumerate(lines, 1):
            try:
                line.decode(codec)
            except UnicodeDecodeError:
                bad.add(number)
        scored.append((len(bad), preference, encoding, bad))
    _, _, encoding, bad = min(scored, key=lambda score: score[:2])
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    return "".join(line.decode(codec, errors="replace") for line in lines), encoding, bad


def _decodes(data: bytes, start: int, codec: str) -> bool:
    """True when `data[start:]` decodes as `codec`; decoded a megabyte at a time and thrown away."""
    decoder = codecs.getincrementaldecoder(codec)()
    view = memoryview(data)
    step = 1 << 20
    try:
        for at in range(start, len(data), step):
            decoder.decode(view[at : at + step])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_source(data: bytes, max_columns: int) -> _RowSource:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _FileRefused(
            None,
            "檔案是 UTF-16（Excel 的「Unicode 文字」）；請另存為「CSV UTF-8（逗號分隔）」",
            'the file is UTF-16 (Excel\'s "Unicode Text"); save it as "CSV UTF-8 (Comma delimited)"',
        )
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    candidates = ("utf-8-sig",) if start else ("utf-8", "cp950")
    encoding = next((name for name in candidates if _decodes(data, start, name.removesuffix("-sig"))), None)
    lines: Iterable[str]
    if encoding is not None:
        # A file that decodes is read line by line straight from its bytes: a million rows never
        # exist as one decoded text (nor as its copy in a StringIO).
        codec = encoding.removesuffix("-sig")
        stream = io.BytesIO(data)
        stream.seek(start)
        lines = io.TextIOWrapper(stream, encoding=codec, newline="")
        head = data[start : start + 65536].decode(codec, errors="ignore")
        total = data.count(b"\n", start) or data.count(b"\r", start)
        ends_open = len(data) > start and data[-1:] not in (b"\r", b"\n")
        bad_lines: set[int] = set()
    else:
        text, encoding, bad_lines = _decode_csv(data)
        lines = io.StringIO(text, newline="")
        head = text[:65536]
        total = text.count("\n") or text.count("\r")
        ends_open = bool(text) and text[-1] not in "\r\n"
    first_line = next((line for line in head.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    if ends_open:
        total += 1
    return _RowSource(_csv_rows(lines, delimiter, bad_lines, max_columns), total, encoding)


def _csv_rows(source: Iterable[str], delimiter: str, bad_lines: set[int], max_columns: int) -> _Rows:
    flags: dict[int, _RowFlag] = dict.fromkeys(bad_lines, _UNDECODABLE)

    def lines() -> Iterator[str]:
        # A line with more delimiters than the column limit is not handed to the csv module,
        # which would build a list of every field: a 50 MB line of commas is 50 million of them.
        for number, line in enumerate(source, 1):
            delimiters = line.count(delimiter)
            if delimiters >= max_columns:
                flags.setdefault(number, _RowFlag("wide", delimiters + 1))
                yield "\n"
            else:
                yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    row = 0
    previous_line = 0
    try:
        for cells in reader:
            row += 1
            flag = None
            if flags:
                flag = next((flags[n] for n in range(previous_line + 1, reader.line_num + 1) if n in flags), None)
            previous_line = reader.line_num
            yield row, cells, flag
    except csv.Error as error:
        raise _FileRefused(
            row + 1,
            "CSV 格式錯誤，無法繼續讀取（可能是引號不成對，或一格太長）",
            f"the CSV cannot be read further ({error}); are the quotes balanced?",
        ) from error


def _xlsx_source(data: bytes, max_uncompressed_bytes: int) -> _RowSource:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as error:
        raise _FileRefused(
            None, "不是有效的 XLSX 檔案（無法解開）", "not a valid XLSX file (it cannot be unzipped)"
        ) from error
    # The sizes the archive declares bound what zipfile will ever inflate, so checking their
    # sum before openpyxl opens anything stops a zip bomb.
    declared = sum(member.file_size for member in members)
    if len(members) > MAX_XLSX_MEMBERS or declared > max_uncompressed_bytes:
        raise _FileRefused(
            None,
            f"XLSX 解壓後達 {declared:,} 位元組（{len(members)} 個成員），"
            f"超過上限 {max_uncompressed_bytes:,}；拒絕讀取",
            f"the XLSX would unpack to {declared:,} bytes in {len(members)} members, over the limit of "
            f"{max_uncompressed_bytes:,}; refused",
        )
    if "[Content_Types].xml" not in {member.filename for member in members}:
        raise _FileRefused(
            None, "不是 XLSX 活頁簿（缺少 [Content_Types].xml）", "not an XLSX workbook (no [Content_Types].xml)"
        )

    import openpyxl  # imported here: CSV imports do not pay for it
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise _FileRefused(
            None, "XLSX 檔案已損壞，無法開啟", "the XLSX file is damaged and cannot be opened"
        ) from error
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if not isinstance(sheet, ReadOnlyWorksheet):
        workbook.close()
        raise _FileRefused(None, "XLSX 檔案中沒有工作表", "the XLSX file has no worksheet")
    declared_rows = sheet.max_row
    # The <dimension> element is only a hint and some writers get it wrong; openpyxl stops at
    # the declared last row unless it is forgotten, which would silently drop declarants.
    sheet.reset_dimensions()

    def rows() -> _Rows:
        number = 0
        try:
            for values in sheet.iter_rows(values_only=True):
                number += 1
                yield number, values, None
        except Exception as error:  # a damaged sheet: any parser error ends the read
            raise _FileRefused(
                number + 1,
                "XLSX 工作表內容損壞，無法繼續讀取",
                "the XLSX worksheet is damaged and cannot be read further",
            ) from error
        finally:
            workbook.close()

    total = declared_rows if isinstance(declared_rows, int) and declared_rows > 0 else None
    return _RowSource(rows(), total, "xlsx")


def _open_source(data: bytes, filename: str, max_columns: int, max_uncompressed_bytes: int) -> _RowSource:
    suffix = filename.rsplit(".", 1)[-1].casefold() if "." in filename else ""
    is_zip = data.startswith(b"PK\x03\x04")
    is_ole = data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    if is_ole:
        raise _FileRefused(
            None,
            "這是舊版 Excel（.xls）或加密的活頁簿；請移除密碼並另存為 .xlsx 或 CSV UTF-8",
            "this is an old Excel (.xls) or password-protected workbook; remove the password and save as .xlsx "
            "or CSV UTF-8",
        )
    if suffix == "xlsx":
        if not is_zip:
            raise _FileRefused(
                None, "副檔名是 .xlsx，但內容不是 XLSX", "the name ends in .xlsx but the file is not XLSX"
            )
        return _xlsx_source(data, max_uncompressed_bytes)
    if suffix in ("csv", "txt", "tsv"):
        if is_zip:
            raise _FileRefused(
                None,
                "這是 XLSX 活頁簿，副檔名卻是 .csv；請改名為 .xlsx",
                "this is an XLSX workbook named as a CSV; rename it to .xlsx",
            )
        return _csv_source(data, max_columns)
    raise _FileRefused(
        None,
        "只接受 CSV 或 XLSX 檔案（副檔名 .csv 或 .xlsx）",
        "only CSV and XLSX files are accepted (names ending in .csv or .xlsx)",
    )


# ---------------------------------------------------------------------------------------------
# The whole file


class _Row(NamedTuple):
    row: int
    name: str
    national_id: str
    agency: str
    title: str
    declaration_type: str
    declared_on: date
    year: int


_Value = TypeVar("_Value")


class _Problems:
    """Problems in the order found, up to a limit; the rest are counted in one last problem."""

    def __init__(self, limit: int) -> None:
        self.items: list[Problem] = []
        self.limit = limit
        self.dropped = 0

    def add(self, row: int | None, column: str | None, message_zh: str, message_en: str) -> None:
        if len(self.items) < self.limit:
            self.items.append(Problem(row, column, message_zh, message_en))
        else:
            self.dropped += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def finish(self) -> list[Problem]:
        found = sorted(self.items, key=lambda p: -1 if p.row is None else p.row)
        if self.dropped:
            found.append(
                Problem(
                    None,
                    None,
                    f"另有 {self.dropped} 個問題未列出；請先修正以上問題",
                    f"{self.dropped} more problems are not listed; fix the ones above first",
                )
            )
        return found


def _is_empty(cells: Sequence[object]) -> bool:
    first = cells[0] if cells else None
    if type(first) is str and first and not first.isspace():
        return False  # the usual row, decided by its first cell
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _width(cells: Sequence[object]) -> int:
    """The number of cells up to the last non-empty one."""
    width = len(cells)
    while width and (cells[width - 1] is None or cells[width - 1] == ""):
        width -= 1
    return width


def _find_header(row: int, cells: Sequence[object], problems: _Problems, year: int | None = None) -> _Header | None:
    """The header in this row, or None when the row names fewer than two known columns.

    A header naming one column twice or missing a required column is returned with the
    problems added; the caller stops reading when it sees them. The year column is required
    only when no `year` was chosen on the form.
    """
    found: dict[str, list[tuple[int, str]]] = {}
    for index, cell in enumerate(cells):
        text = _cell_text(cell).strip().replace("\ufeff", "")
        column = _COLUMN_BY_HEADER.get(_header_key(text))
        if column is not None:
            found.setdefault(column, []).append((index, text))
    if len(found) < 2:
        return None
    for column, places in found.items():
        if len(places) > 1:
            zh = "、".join(f"{_column_letter(i)} 欄「{_shown(t)}」" for i, t in places)
            en = ", ".join(f"column {_column_letter(i)} ({_shown(t)})" for i, t in places)
            label_zh, label_en = COLUMN_LABELS[column]
            problems.add(
                row, column, f"{zh} 都是「{label_zh}」，只能有一欄", f"{en} are all the {label_en} column; keep one"
            )
    for column, (label_zh, label_en) in COLUMN_LABELS.items():
        if column not in found and not (column == "year" and year is not None):
            chinese = [a for a in _COLUMN_ALIASES[column] if not a.isascii()][:2]
            english = next(a for a in _COLUMN_ALIASES[column] if a.isascii())
            problems.add(
                row,
                column,
                f"缺少必要欄位「{label_zh}」（欄名可用：{'、'.join([*chinese, english])}）",
                f'the required column "{label_en}" is missing (use a header such as {", ".join([*chinese, english])})',
            )
    return _Header(
        row,
        {column: places[0][0] for column, places in found.items()},
        {column: places[0][1] for column, places in found.items()},
        year if "year" not in found else None,
    )


def _parse_name(value: object) -> str:
    return _text_field(value, TEXT_LIMITS["name"])


def _parse_agency(value: object) -> str:
    return _text_field(value, TEXT_LIMITS["agency"])


def _parse_title(value: object) -> str:
    return _text_field(value, TEXT_LIMITS["title"])


def _parse_cell(
    row: int,
    cells: Sequence[object],
    header: _Header,
    column: str,
    parse: Callable[[object], _Value],
    problems: _Problems,
) -> _Value | None:
    index = header.index[column]
    try:
        return parse(cells[index] if index < len(cells) else None)
    except CellValueError as error:
        where_zh, where_en = header.where(column)
        problems.add(row, column, f"{where_zh}：{error.message_zh}", f"{where_en}: {error.message_en}")
        return None


def _read_row(row: int, cells: Sequence[object], header: _Header, problems: _Problems) -> _Row | None:
    """The row's values, or None when any cell is refused (each refusal is added to problems)."""
    name = _parse_cell(row, cells, header, "name", _parse_name, problems)
    national_id = _parse_cell(row, cells, header, "national_id", parse_national_id, problems)
    agency = _parse_cell(row, cells, header, "agency", _parse_agency, problems)
    title = _parse_cell(row, cells, header, "title", _parse_title, problems)
    declaration_type = _parse_cell(row, cells, header, "declaration_type", parse_declaration_type, problems)
    declared_on = _parse_cell(row, cells, header, "declared_on", parse_declaration_date, problems)
    year = header.year if header.year is not None else _parse_cell(row, cells, header, "year", parse_roc_year, problems)
    if (
        name is None
        or national_id is None
        or agency is None
        or title is None
        or declaration_type is None
        or declared_on is None
        or year is None
    ):
        return None
    return _Row(row, name, national_id, agency, title, declaration_type, declared_on, year)


#: How many different values of one column a `_RowReader` remembers.
_REMEMBERED_VALUES = 65536


class _RowReader:
    """`_read_row` for every row under one header, remembering values it has already checked.

    A year's list repeats the same few agencies, titles, declaration types, dates and years
    on every row; each distinct text is checked once and its result shared, which saves the
    time of checking it again and the memory of a copy per row. A row with any refused cell
    is read again by `_read_row`, which names every problem in it.
    """

    def __init__(self, header: _Header, problems: _Problems) -> None:
        self.header = header
        self.problems = problems
        # Without a year column (the form's year is used) the year is read from the name column
        # and replaced: the fast path below stays one shape.
        index = {"year": header.index["name"], **header.index}
        self.columns = tuple(
            index[c] for c in ("name", "national_id", "agency", "title", "declaration_type", "declared_on", "year")
        )
        self.fixed_year = header.year
        self.agencies: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.dates: dict[str, date] = {}
        self.years: dict[str, int] = {}
        self.last_column = max(self.columns)
        self.name_limit = TEXT_LIMITS["name"]

    def read(self, row: int, cells: Sequence[object]) -> _Row | None:
        """The row's values, or None when a cell is refused (the problems are recorded)."""
        name_at, id_at, agency_at, title_at, type_at, date_at, year_at = self.columns
        if len(cells) > self.last_column and type(cells) is list:
            # A CSV row with every column: its cells are text. Values seen before are taken from
            # memory, an ID written exactly and a plain name are checked here; anything else
            # goes through the full checks below.
            name, national_id = cells[name_at], cells[id_at]
            agency = self.agencies.get(cells[agency_at])  # type: ignore[call-overload]
            title = self.titles.get(cells[title_at])  # type: ignore[call-overload]
            kind = self.types.get(cells[type_at])  # type: ignore[call-overload]
            declared_on = self.dates.get(cells[date_at])  # type: ignore[call-overload]
            year = self.fixed_year or self.years.get(cells[year_at])  # type: ignore[call-overload]
            if (
                agency is not None
                and title is not None
                and kind is not None
                and declared_on is not None
                and year is not None
                and _plain_national_id(national_id)  # type: ignore[arg-type]
                and name.isprintable()  # type: ignore[attr-defined]
                and 0 < len(name) <= self.name_limit  # type: ignore[arg-type]
                and not name[0].isspace()  # type: ignore[index]
                and not name[-1].isspace()  # type: ignore[index]
            ):
                return _Row(row, name, national_id, agency, title, kind, declared_on, year)  # type: ignore[arg-type]
        width = len(cells)
        try:
            name = _parse_name(cells[name_at] if name_at < width else None)
            national_id = parse_national_id(cells[id_at] if id_at < width else None)
            agency = _remembered(self.agencies, cells[agency_at] if agency_at < width else None, _parse_agency)
            title = _remembered(self.titles, cells[title_at] if title_at < width else None, _parse_title)
            kind = _remembered(self.types, cells[type_at] if type_at < width else None, parse_declaration_type)
            declared_on = _remembered(self.dates, cells[date_at] if date_at < width else None, parse_declaration_date)
            year = self.fixed_year or _remembered(
                self.years, cells[year_at] if year_at < width else None, parse_roc_year
            )
        except CellValueError:
            return _read_row(row, cells, self.header, self.problems)
        return _Row(row, name, national_id, agency, title, kind, declared_on, year)


def _remembered(memory: dict[str, _Value], value: object, parse: Callable[[object], _Value]) -> _Value:
    """`parse(value)`, remembered for text values (a refusal is not remembered: it raises again)."""
    if type(value) is not str:
        return parse(value)
    found = memory.get(value)
    if found is None:
        found = parse(value)
        if len(memory) < _REMEMBERED_VALUES:
            memory[value] = found
    return found


# Which filing a merged declarant keeps: a regular filing first (it is the one the annual review
# is about), then any other filing, then corrections and supplements (they amend another
# filing); within a rank the earliest date, then the first row.
_KEPT_RANK = {"regular": 0, "correction": 2, "supplement": 2}


def _kept_filing_key(filing: _Row) -> tuple[int, date, int]:
    return (_KEPT_RANK.get(filing.declaration_type, 1), filing.declared_on, filing.row)


def _name_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _refused(problem: Problem) -> "DeclarationList":
    return DeclarationList([problem], [], 0, "unknown", frozenset(), {}, {}, {})


@dataclass(frozen=True)
class DeclarationList:
    """What `read_declaration_file` found: `ParsedFile` with the declarants made on demand.

    A national agency's year may list a million people: `declarants()` makes them one at a time,
    in order of first row, so a caller that stores them never holds them all. When `problems` is
    non-empty there are no declarants, no merges and no years; else `years` holds every year the
    declarants' rows name.
    """

    problems: list[Problem]
    merges: list[Merge]
    rows_read: int
    encoding: str
    years: frozenset[int]
    strata: Mapping[str, str] = field(repr=False)
    #: National ID → its first row, in row order; and, for an ID on several rows, all of them.
    first_rows: Mapping[str, "_Row"] = field(repr=False)
    merged_rows: Mapping[str, list["_Row"]] = field(repr=False)

    @property
    def ok(self) -> bool:
        """True when the file was accepted."""
        return not self.problems

    @property
    def declarant_count(self) -> int:
        """How many declarants (national IDs) the file holds."""
        return len(self.first_rows)

    def declarants(self) -> Iterator[Declarant]:
        """Every declarant, one per national ID, in order of first row."""
        for *values, filings in self.declarant_values():
            yield Declarant(*values, filings=tuple(Filing(*filing) for filing in filings))  # type: ignore[arg-type]

    def kept_rows(self) -> Iterator[tuple[str, "_Row", list["_Row"] | None]]:
        """Each declarant as (national ID, the row whose values it keeps, all its rows when it
        was merged from several, else None), in order of first row."""
        merged = self.merged_rows
        for national_id, first in self.first_rows.items():
            rows = merged.get(national_id)
            yield national_id, first if rows is None else min(rows, key=_kept_filing_key), rows

    def declarant_values(self) -> Iterator[tuple[Any, ...]]:
        """`declarants()` as plain tuples in `Declarant`'s field order, each filing a tuple in
        `Filing`'s: what storing a million declarants needs, without a million objects."""
        labels = TYPE_LABELS
        strata = self.strata
        first_rows = self.first_rows
        for national_id, kept, rows in self.kept_rows():
            kind = kept.declaration_type
            yield (
                first_rows[national_id].row,
                kept.name,
                national_id,
                kept.agency,
                kept.title,
                kind,
                labels[kind],
                strata[kind],
                kept.declared_on,
                kept.year,
                tuple(
                    (f.row, f.declaration_type, labels[f.declaration_type], f.declared_on)
                    for f in rows or (first_rows[national_id],)
                ),
            )


def parse_declaration_file(
    data: bytes,
    filename: str,
    *,
    strata: Mapping[str, str] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    max_bytes: int = 50 * 1024 * 1024,
    max_columns: int = MAX_COLUMNS,
    max_uncompressed_bytes: int = MAX_XLSX_UNCOMPRESSED_BYTES,
    max_problems: int = MAX_PROBLEMS,
    year: int | None = None,
) -> ParsedFile:
    """Parse and validate one year's declaration list, all or nothing.

    Inputs: the file's bytes and its name (`.csv`, `.txt`, `.tsv` or `.xlsx` decides the
    format); `strata` maps type codes to stratum names (default `DEFAULT_STRATA`; checked by
    `check_strata`, which raises `ValueError`); `progress(done, total)` is called about every
    1000 rows and once at the end with the Excel row reached and the row count when known;
    files over `max_bytes`, XLSX unpacking to more than `max_uncompressed_bytes`, and rows of
    more than `max_columns` columns are refused; at most `max_problems` problems are listed.

    Output: a `ParsedFile`. When `ok`, `declarants` holds one entry per national ID in order of
    first row, and `merges` lists every ID found on several rows. A merged declarant keeps its
    regular filing if it has one, else its earliest filing other than a correction or
    supplement, else its earliest correction or supplement (ties: the first row). Rows with one
    ID but different names are refused (a typing error in an ID would otherwise drop a person
    from the draw), as is a row whose year differs from the file's.

    `year` is the ROC year chosen on the upload form: a file without a year column is read as of
    that year, and a file whose year column names another year is refused, saying so once.
    Without it the year column is required.

    `read_declaration_file` reads the same way and makes the declarants on demand.
    """
    found = read_declaration_file(
        data,
        filename,
        strata=strata,
        progress=progress,
        max_bytes=max_bytes,
        max_columns=max_columns,
        max_uncompressed_bytes=max_uncompressed_bytes,
        max_problems=max_problems,
        year=year,
    )
    return ParsedFile(list(found.declarants()), found.problems, found.merges, found.rows_read, found.encoding)


def read_declaration_file(
    data: bytes,
    filename: str,
    *,
    strata: Mapping[str, str] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    max_bytes: int = 50 * 1024 * 1024,
    max_columns: int = MAX_COLUMNS,
    max_uncompressed_bytes: int = MAX_XLSX_UNCOMPRESSED_BYTES,
    max_problems: int = MAX_PROBLEMS,
    year: int | None = None,
) -> DeclarationList:
    """`parse_declaration_file`, with the declarants made on demand (see `DeclarationList`).

    The CSV is read line by line from its bytes; each row is kept only as a tuple of its checked
    values, which share the texts and dates they have in common with other rows.
    """
    chosen_strata = check_strata(DEFAULT_STRATA if strata is None else strata)
    if not data:
        return _refused(Problem(None, None, "檔案是空的", "the file is empty"))
    if len(data) > max_bytes:
        return _refused(
            Problem(
                None,
                None,
                f"檔案大小 {len(data):,} 位元組，超過上限 {max_bytes:,}",
                f"the file is {len(data):,} bytes; at most {max_bytes:,} are accepted",
            )
        )
    try:
        source = _open_source(data, filename, max_columns, max_uncompressed_bytes)
    except _FileRefused as refusal:
        return _refused(refusal.problem)

    problems = _Problems(max_problems)
    header: _Header | None = None
    reader: _RowReader | None = None
    rows_before_header = 0
    valid: list[_Row] = []
    rows_read = 0
    last_row = 0
    next_progress = PROGRESS_EVERY
    try:
        for row, cells, flag in source.rows:
            last_row = row
            if progress is not None and row >= next_progress:
                progress(row, source.total if source.total is not None and row <= source.total else None)
                next_progress = row + PROGRESS_EVERY
            width = flag.columns if flag is not None and flag.kind == "wide" else _width(cells)
            if flag is not None and flag.kind == "undecodable":
                problems.add(
                    row,
                    None,
                    "含有既非 UTF-8 也非 Big5（CP950）的位元組，無法解讀",
                    "contains bytes that are neither UTF-8 nor Big5 (CP950) and cannot be read",
                )
            elif width > max_columns:
                problems.add(
                    row,
                    None,
                    f"共 {width:,} 欄，超過上限 {max_columns} 欄",
                    f"{width:,} columns: at most {max_columns} are allowed",
                )
            elif _is_empty(cells):
                continue
            elif reader is None:
                problems_before = len(problems.items)
                header = _find_header(row, cells, problems, year)
                if header is None:
                    rows_before_header += 1
                    if rows_before_header >= HEADER_SEARCH_ROWS:
                        break
                elif len(problems.items) > problems_before:
                    break  # a column is missing or doubled: the rows cannot be read
                else:
                    reader = _RowReader(header, problems)
                continue
            else:
                parsed = reader.read(row, cells)
                if parsed is not None:
                    valid.append(parsed)
            if header is not None:
                rows_read += 1
    except _FileRefused as refusal:
        problems.add(refusal.problem.row, None, refusal.problem.message_zh, refusal.problem.message_en)
    finally:
        source.rows.close()
    if progress is not None and last_row:
        progress(last_row, last_row)

    if header is None:
        expected = "、".join(label for label, _ in COLUMN_LABELS.values())
        problems.add(
            None,
            None,
            f"找不到標題列：前 {HEADER_SEARCH_ROWS} 個非空白列都不含欄名（應有：{expected}）",
            f"no header row in the first {HEADER_SEARCH_ROWS} non-empty rows (expected columns: "
            f"{', '.join(label for _, label in COLUMN_LABELS.values())})",
        )
        return DeclarationList(problems.finish(), [], rows_read, source.encoding, frozenset(), {}, {}, {})
    if not rows_read and not problems:
        problems.add(None, None, "標題列之下沒有任何申報資料", "there are no declarations under the header row")

    first_rows, merged_rows = _check_rows(valid, header, chosen_strata, problems, year)
    if problems:
        return DeclarationList(problems.finish(), [], rows_read, source.encoding, frozenset(), {}, {}, {})
    years = frozenset(r.year for r in valid)
    del valid
    merges = [
        Merge(mask_national_id(national_id), tuple(f.row for f in rows), min(rows, key=_kept_filing_key).row)
        for national_id, rows in merged_rows.items()
    ]
    merges.sort(key=lambda merge: merge.rows[0])
    return DeclarationList([], merges, rows_read, source.encoding, years, chosen_strata, first_rows, merged_rows)


def _check_rows(
    valid: list[_Row], header: _Header, strata: Mapping[str, str], problems: _Problems, form_year: int | None = None
) -> tuple[dict[str, _Row], dict[str, list[_Row]]]:
    """Checks across rows: one year per file (the form's, when one was chosen), a stratum for
    every type, one name per ID, and no template example row left in.

    Returns each national ID's first row (in row order) and, for the IDs on several rows, all
    their rows; one list per ID only where there is more than one row.
    """
    years = Counter(r.year for r in valid)
    file_year, year_rows = years.most_common(1)[0] if years else (0, 0)
    first_rows: dict[str, _Row] = {}
    merged_rows: dict[str, list[_Row]] = {}
    if form_year is not None and year_rows and file_year != form_year:
        where_zh, where_en = header.where("year")
        problems.add(
            None,
            "year",
            f"{where_zh}的年度是 {file_year}，但上傳時選的是 {form_year} 年度；請改選 {file_year} 年度，"
            "或更正檔案（檔案沒有年度欄時，以上傳時選的年度為準）",
            f"{where_en} says year {file_year}, but year {form_year} was chosen for the upload; choose "
            f"{file_year}, or correct the file (a file without a year column takes the year chosen)",
        )
    example_name, example_id = TEMPLATE_EXAMPLE[0], TEMPLATE_EXAMPLE[1]
    for r in valid:
        if r.national_id == example_id and r.name == example_name:
            problems.add(
                r.row,
                None,
                "這是範本的範例列，請刪除後再上傳",
                "this is the template's example row; delete it before uploading",
            )
        if r.year != file_year:
            where_zh, where_en = header.where("year")
            problems.add(
                r.row,
                "year",
                f"{where_zh}：{r.year} 與檔案中其他 {year_rows} 列的年度 {file_year} 不同；一個檔案只能有一個年度",
                f"{where_en}: {r.year} differs from {file_year}, the year of {year_rows} other rows; "
                "a file holds one year",
            )
        if r.declaration_type not in strata:
            where_zh, where_en = header.where("declaration_type")
            label_zh, label_en = DECLARATION_TYPES[r.declaration_type]
            problems.add(
                r.row,
                "declaration_type",
                f"{where_zh}：抽籤規則沒有為「{label_zh}」指定分層",
                f"{where_en}: the draw rule gives no stratum to {label_en} declarations",
            )
        first = first_rows.setdefault(r.national_id, r)
        if first is r:
            continue
        if _name_key(first.name) != _name_key(r.name):
            masked = mask_national_id(r.national_id)
            where_zh, where_en = header.where("name")
            problems.add(
                r.row,
                "name",
                f"{where_zh}：身分證字號（{masked}）與第 {first.row} 列相同，姓名卻不同；請核對身分證字號",
                f"{where_en}: same national ID ({masked}) as row {first.row} but a different name; check the ID",
            )
        merged_rows.setdefault(r.national_id, [first]).append(r)
    return first_rows, merged_rows
