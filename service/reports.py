"""The annual report per ROC year: the table an ethics office puts in its report to the council.

Declarations received (by type and in total), drawn for review and for comparison, outcomes by
state, referrals and fines — as a page, CSV, XLSX, an SVG chart and JSON (`/api/v1/stats/<year>`).
All figures are aggregates: nothing here names or identifies a declarant.

A closed case counts under the outcome it was closed from (a case closed after `fined` is a
fine), so the outcomes add up to the number of cases.
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from service.declaration_files import DECLARATION_TYPES
from service.models import REVIEW_STATES, Declarant, Draw, Office, ReviewCase
from service.reviews import FINE_GROUNDS, effective, replay, selections_of, state_label

#: Outcome states in report order (every state but `closed`, which is counted on its own).
OUTCOME_STATES = tuple(s for s in REVIEW_STATES if s != "closed")
#: What a spreadsheet would read as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AnnualReport:
    """The figures of one ROC year, for one office or for every office together."""

    roc_year: int
    office_name: str | None
    declarations: int
    #: 定期 (regular) against every other type (就到·卸離·代理 …).
    by_type: dict[str, int]
    #: Each declaration type: (code, label, count), in the Act's order.
    by_declaration_type: list[tuple[str, str, int]]
    population: int
    drawn_review: int
    drawn_comparison: int
    case_based: int
    outcomes: dict[str, int]
    closed: int
    referrals: int
    fines_count: int
    fines_total: int
    #: ground code → (number of fines, total NT$)
    fines_by_ground: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def cases(self) -> int:
        """Every review case of the year (drawn and case-based)."""
        return sum(self.outcomes.values())


#: A draw in one of these has published its population: its year's figures may be public.
PUBLISHED_STATUSES = ("announced", "completed", "abandoned")


def published_offices(roc_year: int) -> Any:
    """The offices with an announced (or later) draw of `roc_year` (a subquery of office ids)."""
    return select(Draw.office_id).where(Draw.roc_year == roc_year, Draw.status.in_(PUBLISHED_STATUSES))


def report_years(session: Session, office_id: int | None = None, *, public: bool = False) -> list[int]:
    """The years with declarations, newest first; `public`: only years with an announced draw."""
    query = select(Declarant.roc_year).distinct()
    if public:
        query = select(Draw.roc_year).where(Draw.status.in_(PUBLISHED_STATUSES)).distinct()
        query = query.where(Draw.office_id == office_id) if office_id is not None else query
        return sorted(session.scalars(query), reverse=True)
    if office_id is not None:
        query = query.where(Declarant.office_id == office_id)
    return sorted(session.scalars(query), reverse=True)


def outcome_of(case: ReviewCase, state: str | None = None) -> str:
    """The state a case stands in for the report: its state (as replayed from its history when
    given), or the state it was closed from."""
    state = state or case.state
    if state != "closed":
        return state
    standing = effective(list(case.events))
    steps = [standing[e.id] for e in case.events if e.kind in ("opened", "transition")]
    return (steps[-1].from_state if steps else None) or "closed"


def was_referred(case: ReviewCase) -> bool:
    """True when the case's standing history includes a referral."""
    standing = effective(list(case.events))
    return any(standing[e.id].to_state == "referred" for e in case.events if e.kind in ("opened", "transition"))


def annual_report(
    session: Session, roc_year: int, office_id: int | None = None, *, public: bool = False
) -> AnnualReport:
    """The figures of `roc_year` for one office (or all offices when `office_id` is None).

    `public` (the statistics page and API): only offices with an announced draw of that year count;
    until then an office's imported declarations and its case-based reviews are its own business.
    """

    def scoped(query: Any, model: Any) -> Any:
        query = query.where(model.office_id == office_id) if office_id is not None else query
        return query.where(model.office_id.in_(published_offices(roc_year))) if public else query

    declarant_rows = session.execute(
        scoped(
            select(Declarant.declaration_type, Declarant.excluded_reason.is_(None), func.count())
            .where(Declarant.roc_year == roc_year)
            .group_by(Declarant.declaration_type, Declarant.excluded_reason.is_(None)),
            Declarant,
        )
    ).tuples()
    by_code: Counter[str] = Counter()
    population = 0
    for code, included, count in declarant_rows:
        by_code[code] += count
        population += count if included else 0
    declarations = sum(by_code.values())
    regular = by_code.get("regular", 0)
    by_type = {"regular": regular, "non-regular": declarations - regular}
    order = list(DECLARATION_TYPES)
    by_declaration_type = [
        (code, DECLARATION_TYPES.get(code, (code, code))[0], count)
        for code, count in sorted(by_code.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    ]

    drawn_review = drawn_comparison = 0
    draws = session.scalars(
        scoped(select(Draw).where(Draw.roc_year == roc_year, Draw.status == "completed"), Draw)
    ).all()
    for draw in draws:
        stages = selections_of(draw)
        drawn_review += len(stages)
        drawn_comparison += sum(1 for stage in stages.values() if stage == "comparison")

    cases = session.scalars(
        scoped(select(ReviewCase).where(ReviewCase.roc_year == roc_year), ReviewCase).options(
            selectinload(ReviewCase.events)
        )
    ).all()
    outcomes = dict.fromkeys(OUTCOME_STATES, 0)
    fines: dict[str, tuple[int, int]] = {}
    referrals = closed = 0
    for case in cases:
        # Straight from the history: the figures are the events', whatever the row's columns say.
        standing = replay(list(case.events))
        if standing is None:
            continue
        outcome = outcome_of(case, standing.state)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        closed += standing.state == "closed"
        referrals += was_referred(case)
        if standing.fine_amount is not None and standing.fine_ground is not None:
            count, total = fines.get(standing.fine_ground, (0, 0))
            fines[standing.fine_ground] = (count + 1, total + standing.fine_amount)
    office_name = None
    if office_id is not None:
        office = session.get(Office, office_id)
        office_name = office.name if office else None
    return AnnualReport(
        roc_year=roc_year,
        office_name=office_name,
        declarations=declarations,
        by_type=by_type,
        by_declaration_type=by_declaration_type,
        population=population,
        drawn_review=drawn_review,
        drawn_comparison=drawn_comparison,
        case_based=sum(1 for c in cases if c.origin == "case-based" and c.events),
        outcomes=outcomes,
        closed=closed,
        referrals=referrals,
        fines_count=sum(n for n, _ in fines.values()),
        fines_total=sum(t for _, t in fines.values()),
        fines_by_ground=fines,
    )


def stats_json(report: AnnualReport) -> dict[str, Any]:
    """The report as the public JSON API gives it (aggregate figures only)."""
    return {
        "year": report.roc_year,
        "declarations": report.declarations,
        "by_type": dict(report.by_type),
        "by_declaration_type": {code: count for code, _label, count in report.by_declaration_type},
        "drawn_review": report.drawn_review,
        "drawn_comparison": report.drawn_comparison,
        "case_based": report.case_based,
        "outcomes": dict(report.outcomes),
        "closed": report.closed,
        "referrals": report.referrals,
        "fines": {"count": report.fines_count, "total": report.fines_total},
    }


TYPE_GROUP_LABELS = {"regular": _l("Regular (定期)"), "non-regular": _l("On taking office, leaving, acting … (非定期)")}


def report_rows(report: AnnualReport) -> list[list[Any]]:
    """The report as a table: a header row, then (section, item, count, amount in NT$)."""
    rows: list[list[Any]] = [[gettext("Section"), gettext("Item"), gettext("Count"), gettext("Amount (NT$)")]]
    declarations = gettext("Declarations")
    rows.append([declarations, gettext("Total"), report.declarations, None])
    for key, count in report.by_type.items():
        rows.append([declarations, str(TYPE_GROUP_LABELS[key]), count, None])
    for _code, label, count in report.by_declaration_type:
        rows.append([gettext("Declarations by type"), label, count, None])
    drawn = gettext("Drawn")
    rows.append([drawn, gettext("Drawn for review"), report.drawn_review, None])
    rows.append([drawn, gettext("Drawn for comparison"), report.drawn_comparison, None])
    rows.append([drawn, gettext("Case-based checks"), report.case_based, None])
    outcomes = gettext("Outcomes")
    for state in OUTCOME_STATES:
        rows.append([outcomes, state_label(state), report.outcomes.get(state, 0), None])
    rows.append([outcomes, gettext("Closed"), report.closed, None])
    rows.append([gettext("Referrals"), gettext("Referred to the Ministry"), report.referrals, None])
    fines = gettext("Fines")
    rows.append([fines, gettext("Total"), report.fines_count, report.fines_total])
    for code, (count, total) in sorted(report.fines_by_ground.items()):
        ground = FINE_GROUNDS.get(code)
        rows.append([fines, f"{ground.label} — {ground.source}" if ground else code, count, total])
    return rows


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula: prefix it with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def report_csv(report: AnnualReport) -> bytes:
    """The report table as CSV (UTF-8 with a byte-order mark, so spreadsheets read the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    title = gettext("Asset declaration review, year %(year)s", year=report.roc_year)
    writer.writerow([spreadsheet_safe(title), spreadsheet_safe(report.office_name or ""), "", ""])
    for row in report_rows(report):
        writer.writerow(["" if cell is None else spreadsheet_safe(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def report_xlsx(report: AnnualReport) -> bytes:
    """The report table as an XLSX workbook (text cells are never formulas)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # noqa: S101  (a new workbook always has one sheet)
    sheet.title = str(report.roc_year)
    title = gettext("Asset declaration review, year %(year)s", year=report.roc_year)
    rows = [[title, report.office_name or "", None, None], *report_rows(report)]
    for row_number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=column)
            if isinstance(value, str):
                cell.value = spreadsheet_safe(value)
                cell.data_type = "s"  # openpyxl would otherwise treat a leading = as a formula
            else:
                cell.value = value
            if row_number <= 2:
                cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (22, 48, 10, 16), strict=True):
        sheet.column_dimensions[letter].width = width
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
