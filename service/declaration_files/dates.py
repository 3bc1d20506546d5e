"""Dates (ROC 114/03/15, 民國114年3月15日, 1140315, Gregorian, Excel) and ROC years."""

import calendar
import re
import unicodedata
from datetime import date, datetime

from service.declaration_files.cells import cell_text
from service.declaration_files.model import EARLIEST_DECLARATION, ROC_OFFSET, CellValueError
from service.declaration_files.national_ids import shown_text

_DATE_TIME_SUFFIX = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"


_ROC_SEPARATED = re.compile(r"(?:民國)?(\d{2,3})([/.-])(\d{1,2})\2(\d{1,2})")


_ROC_WORDS = re.compile(r"(?:民國)?(\d{2,3})年(\d{1,2})月(\d{1,2})日")


_ROC_COMPACT = re.compile(r"(\d{2,3})(\d{2})(\d{2})")


_GREGORIAN_SEPARATED = re.compile(r"(\d{4})([/.-])(\d{1,2})\2(\d{1,2})" + _DATE_TIME_SUFFIX)


_GREGORIAN_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _make_date(year: int, month: int, day: int, original: str) -> date:
    if not 1912 <= year <= 1911 + 200:
        shown = shown_text(original)
        raise CellValueError(f"日期「{shown}」的年份不合理", f'date "{shown}": the year is out of range')
    if not 1 <= month <= 12:
        shown = shown_text(original)
        raise CellValueError(
            f"日期「{shown}」不存在：沒有 {month} 月", f'impossible date "{shown}": there is no month {month}'
        )
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        shown = shown_text(original)
        raise CellValueError(
            f"日期「{shown}」不存在：民國 {year - ROC_OFFSET} 年 {month} 月只有 {last} 天",
            f'impossible date "{shown}": {calendar.month_name[month]} {year} has {last} days',
        )
    result = date(year, month, day)
    if result < EARLIEST_DECLARATION:
        shown = shown_text(original)
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
    original = cell_text(value).strip()
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
    shown = shown_text(original)
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
    original = cell_text(value).strip()
    if not original:
        raise CellValueError("不可空白", "must not be empty")
    match = _ROC_YEAR.fullmatch(unicodedata.normalize("NFKC", original).replace(" ", ""))
    if not match:
        shown = shown_text(original)
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
