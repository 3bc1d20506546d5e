"""CSV and XLSX of the report (cells that a spreadsheet would run as formulas are quoted), and the
outcome chart."""

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale, gettext
from markupsafe import Markup, escape
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from service.i18n import is_english
from service.labels import state_label
from service.reports.figures import CouncilReport
from service.reports.scope import OUTCOME_STATES
from service.reports.statistics import AnnualReport
from service.reports.tables import Money, Ratio, report_tables, report_title, scope_note

#: What a spreadsheet would read as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula: prefix it with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass
class _Sheet:
    """The report as spreadsheet rows, with the cells to merge, bold and format."""

    rows: list[list[Any]] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    bold: set[int] = field(default_factory=set)


def _sheet(report: CouncilReport) -> _Sheet:
    """The rows every export writes: zh-TW labels, and in English an English label column and an
    English header row under each zh-TW one."""
    english = is_english()
    with force_locale("zh_Hant_TW"):
        zh_tables, zh_title, zh_note = report_tables(report), report_title(report), scope_note(report)
    en_tables, en_title, en_note = report_tables(report), report_title(report), scope_note(report)
    sheet = _Sheet()

    def widen(first: Any, second: Any, rest: list[Any]) -> list[Any]:
        return [first, second, *rest] if english else [first, *rest]

    def add(row: list[Any], *, bold: bool = False) -> None:
        if bold:
            sheet.bold.add(len(sheet.rows))
        sheet.rows.append(row)

    add(widen(zh_title, en_title, [report.office_name or ""]), bold=True)
    for zh, en in zip(zh_tables, en_tables, strict=True):
        add([])
        add(widen(zh.title, en.title, []), bold=True)
        header_sets = [zh.header_grid()] + ([en.header_grid()] if english else [])
        for index, (grid, spans) in enumerate(header_sets):
            top = len(sheet.rows)
            for row in grid:
                if english:
                    row = [row[0], "", *row[1:]] if index == 0 else ["", row[0], *row[1:]]
                add(row, bold=True)
            for first_row, first_col, last_row, last_col in spans:
                shift = 1 if english and first_col > 0 else 0
                if english and first_col == 0:
                    first_col += index
                    last_col += index
                sheet.merges.append((top + first_row, first_col + shift, top + last_row, last_col + shift))
        for zh_row, en_row in zip(zh.rows, en.rows, strict=True):
            add(widen(zh_row.label, en_row.label, list(zh_row.values)), bold=zh_row.kind in ("group", "total"))
        if zh.note:
            add(widen(zh.note, en.note, []))
    add([])
    add(widen(zh_note, en_note, []))
    return sheet


def _csv_cell(value: Any) -> Any:
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Ratio):
        return str(value)
    return spreadsheet_safe(value)


def report_csv(report: CouncilReport) -> bytes:
    """The report as CSV (UTF-8 with a byte-order mark, so spreadsheets read the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in _sheet(report).rows:
        writer.writerow([_csv_cell(value) for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def report_xlsx(report: CouncilReport) -> bytes:
    """The report as an XLSX workbook: the same rows as the CSV, ratios as percentages, text cells
    never formulas."""
    sheet_rows = _sheet(report)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # noqa: S101  (a new workbook always has one sheet)
    sheet.title = str(report.roc_year) if report.roc_year else "period"
    for row_number, row in enumerate(sheet_rows.rows, start=1):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=column)
            if isinstance(value, Ratio):
                cell.value = None if value.value is None else round(value.value, 4)
                cell.number_format = "0.0%"
            elif isinstance(value, Money):
                cell.value = value.amount
                cell.number_format = "#,##0"
            elif isinstance(value, str):
                cell.value = spreadsheet_safe(value)
                cell.data_type = "s"  # openpyxl would otherwise treat a leading = as a formula
            else:
                cell.value = value
            if row_number - 1 in sheet_rows.bold:
                cell.font = Font(bold=True)
    for first_row, first_col, last_row, last_col in sheet_rows.merges:
        sheet.merge_cells(
            start_row=first_row + 1, start_column=first_col + 1, end_row=last_row + 1, end_column=last_col + 1
        )
        sheet.cell(row=first_row + 1, column=first_col + 1).alignment = Alignment(
            horizontal="center", vertical="center", wrap_text=True
        )
    sheet.column_dimensions["A"].width = 40
    for letter in "BCDEFGHI":
        sheet.column_dimensions[letter].width = 16
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def outcome_chart_svg(report: AnnualReport) -> Markup:
    """A horizontal bar chart of the outcomes as inline SVG (no script, no inline style)."""
    items = [(state_label(state), report.outcomes.get(state, 0)) for state in OUTCOME_STATES]
    items.append((gettext("Closed"), report.closed))
    largest = max([count for _, count in items] + [1])
    label_width, bar_width, row_height, top = 190, 360, 26, 34
    width, height = label_width + bar_width + 60, top + row_height * len(items) + 10
    title = gettext("Review outcomes, year %(year)s", year=report.roc_year)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-labelledby="outcome-chart-title">',
        f'<title id="outcome-chart-title">{escape(title)}</title>',
        f'<text x="0" y="20" font-size="15" font-weight="700" fill="#1b2430">{escape(title)}</text>',
    ]
    for row, (label, count) in enumerate(items):
        y = top + row * row_height
        length = round(bar_width * count / largest)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 17}" font-size="13" text-anchor="end" fill="#1b2430">'
            f"{escape(label)}</text>"
        )
        parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{length}" height="18" rx="3" fill="#b35c00"/>')
        parts.append(f'<text x="{label_width + length + 6}" y="{y + 17}" font-size="13" fill="#1b2430">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text piece above is escaped)
