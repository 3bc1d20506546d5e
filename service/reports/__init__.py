"""The report an ethics office puts before its council, for a ROC year or a council session's period.

Its first table is the one offices publish: 年度總財產申報案數 (定期申報 / 就到、卸離、代理申報 /
合計) and 實質審查案數 (定期 / 非定期 / 合計) with the ratio of the two. Then where the cases
stand — each case counted once, by its final outcome or, while open, its current state, so the
rows add up to the number of cases — then fines. `council_report` computes the figures from the
append-only review history (`service.reviews.replay`), never from the projected columns;
`report_tables` lays them out once; the page, the CSV and the XLSX only format those tables.

The public statistics and `/api/v1/stats/<year>` (`annual_report`, `stats_json`) count cases the
same way (`case_standing`). All figures are aggregates: nothing here names a declarant.

The package's one entry point: import from `service.reports` — `scope` (year or period),
`figures` (the council report), `statistics` (public), `tables`, `spreadsheets` (CSV, XLSX).
"""

from service.reports.figures import (
    PUBLISHED_STATUSES,
    CaseStanding,
    CouncilReport,
    DrawCounted,
    Split,
    case_standing,
    council_report,
    latest_year,
    published_offices,
    report_years,
)
from service.reports.scope import (
    DECIDED_STATES,
    MAX_PERIOD_DAYS,
    OPEN_STATES,
    OUTCOME_STATES,
    PASSED_STATES,
    ROC_OFFSET,
    TAIPEI,
    Period,
    ReportError,
    parse_period,
    roc_date,
    roc_short,
)
from service.reports.spreadsheets import FORMULA_STARTS, outcome_chart_svg, report_csv, report_xlsx, spreadsheet_safe
from service.reports.statistics import AnnualReport, annual_report, stats_json
from service.reports.tables import (
    HeaderCell,
    Money,
    Ratio,
    ReportTable,
    TableRow,
    report_tables,
    report_title,
    scope_label,
    scope_note,
)

__all__ = [
    "DECIDED_STATES",
    "FORMULA_STARTS",
    "MAX_PERIOD_DAYS",
    "OPEN_STATES",
    "OUTCOME_STATES",
    "PASSED_STATES",
    "PUBLISHED_STATUSES",
    "ROC_OFFSET",
    "TAIPEI",
    "AnnualReport",
    "CaseStanding",
    "CouncilReport",
    "DrawCounted",
    "HeaderCell",
    "Money",
    "Period",
    "Ratio",
    "ReportError",
    "ReportTable",
    "Split",
    "TableRow",
    "annual_report",
    "case_standing",
    "council_report",
    "latest_year",
    "outcome_chart_svg",
    "parse_period",
    "published_offices",
    "report_csv",
    "report_tables",
    "report_title",
    "report_xlsx",
    "report_years",
    "roc_date",
    "roc_short",
    "scope_label",
    "scope_note",
    "spreadsheet_safe",
    "stats_json",
]
