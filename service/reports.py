"""The report an ethics office puts before its council, for a ROC year or a council session's period.

Its first table is the one offices publish: 年度總財產申報案數 (定期申報 / 就到、卸離、代理申報 /
合計) and 實質審查案數 (定期 / 非定期 / 合計) with the ratio of the two. Then where the cases
stand — each case counted once, by its final outcome or, while open, its current state, so the
rows add up to the number of cases — then fines. `council_report` computes the figures from the
append-only review history (`service.reviews.replay`), never from the projected columns;
`report_tables` lays them out once; the page, the CSV and the XLSX only format those tables.

The public statistics and `/api/v1/stats/<year>` (`annual_report`, `stats_json`) count cases the
same way (`case_standing`). All figures are aggregates: nothing here names a declarant.
"""

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from service.declaration_files import DECLARATION_TYPES, CellValueError, parse_declaration_date
from service.i18n import is_english
from service.labels import state_label
from service.models import REVIEW_STATES, Declarant, Draw, Office, ReviewCase, ReviewEvent
from service.reviews import FINE_GROUNDS, effective, replay, selections_of

TAIPEI = ZoneInfo("Asia/Taipei")
ROC_OFFSET = 1911
#: Outcome states in report order (every state but `closed`: a closed case counts under the
#: outcome it was closed from).
OUTCOME_STATES = tuple(s for s in REVIEW_STATES if s != "closed")
#: A case whose history reached one of these has its outcome (closed yet or not) …
DECIDED_STATES = ("no_discrepancy", "correction_notice", "trust_notice", "fined", "not_fined", "explained")
#: … and one standing in any of these is still being reviewed.
OPEN_STATES = (
    "drawn", "querying", "under_review", "discrepancy", "statement_invited", "explanation_requested", "referred",
)  # fmt: skip
#: States a case may have passed through that the report names apart (outside the sum).
PASSED_STATES = ("discrepancy", "referred")
#: What a spreadsheet would read as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A council period longer than this is refused (a session is months, a term four years).
MAX_PERIOD_DAYS = 5 * 366


class ReportError(ValueError):
    """The report cannot be made as asked (a bad period); the message says why."""


# ---------------------------------------------------------------------------------------------
# ROC dates
# ---------------------------------------------------------------------------------------------


def roc_date(day: date, *, era: bool = True) -> str:
    """`民國108年11月8日` (`108年11月8日` without `era`); `2019-11-08` in English."""
    if is_english():
        return day.isoformat()
    text = f"{day.year - ROC_OFFSET}年{day.month}月{day.day}日"
    return f"民國{text}" if era else text


def roc_short(day: date) -> str:
    """`108/11/08`: the ROC date as offices type it (what the period form shows back)."""
    return f"{day.year - ROC_OFFSET}/{day.month:02d}/{day.day:02d}"


# ---------------------------------------------------------------------------------------------
# Scope: a year or a period
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A council session's period: Taiwan dates, both days included."""

    start: date
    end: date

    def bounds(self) -> tuple[datetime, datetime]:
        """The period in UTC: from the first day's midnight in Taipei to the midnight after the last."""
        first = datetime.combine(self.start, time(), TAIPEI).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(), TAIPEI).astimezone(UTC)
        return first, after


def _period_day(text: str | None, which: Any) -> date:
    if not (text or "").strip():
        raise ReportError(gettext("Enter the %(which)s date of the period.", which=which))
    try:
        return parse_declaration_date(text)
    except CellValueError as error:
        message = error.message_en if is_english() else error.message_zh
        raise ReportError(gettext("The %(which)s date: %(problem)s", which=which, problem=message)) from error


def parse_period(start: str | None, end: str | None) -> Period:
    """The period from the form's two dates (ROC `108/11/08`, `1081108`, `民國108年11月8日` or ISO).

    Raises `ReportError` naming the problem: a missing or unreadable date, an end before the
    start, or a period longer than five years.
    """
    first = _period_day(start, _l("start"))
    last = _period_day(end, _l("end"))
    if last < first:
        raise ReportError(
            gettext(
                "The period ends (%(end)s) before it starts (%(start)s).",
                end=roc_date(last),
                start=roc_date(first),
            )
        )
    if (last - first).days > MAX_PERIOD_DAYS:
        raise ReportError(gettext("A period is at most five years long."))
    return Period(first, last)


# ---------------------------------------------------------------------------------------------
# The figures
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """A count split by filing type: 定期 (regular) and every other type (就到、卸離、代理 …)."""

    regular: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.regular + self.other

    def plus(self, regular: bool, count: int = 1) -> "Split":
        """This split with `count` more of one kind."""
        return Split(self.regular + count, self.other) if regular else Split(self.regular, self.other + count)


def _sum(splits: Iterable[Split]) -> Split:
    total = Split()
    for split in splits:
        total = Split(total.regular + split.regular, total.other + split.other)
    return total


@dataclass(frozen=True)
class CaseStanding:
    """Where one case stands, read from its history: its state, the outcome it counts under, the
    states its standing history passed through and its fine."""

    state: str
    outcome: str
    passed: frozenset[str]
    fine_amount: int | None
    fine_ground: str | None


def case_standing(events: list[ReviewEvent], until: datetime | None = None) -> CaseStanding | None:
    """The standing of a case from its events (those recorded before `until`, when given).

    The outcome is the state, or for a closed case the state it was closed from — so every case
    counts exactly once. Corrections count as `replay` applies them. None without events.
    """
    if until is not None:
        events = [e for e in events if e.recorded_at < until]
    projection = replay(events)
    if projection is None:
        return None
    standing = effective(events)
    steps = [standing[e.id] for e in sorted(events, key=lambda e: e.sequence) if e.kind in ("opened", "transition")]
    outcome = projection.state
    if outcome == "closed":
        # Only a decided state leads to `closed` (service.reviews.TRANSITIONS), and a correction
        # restates the step's starting state, so the closing step names the outcome.
        outcome = steps[-1].from_state or "closed"
    return CaseStanding(
        state=projection.state,
        outcome=outcome,
        passed=frozenset(step.to_state for step in steps),
        fine_amount=projection.fine_amount,
        fine_ground=projection.fine_ground,
    )


@dataclass(frozen=True)
class DrawCounted:
    """A completed draw the report counts."""

    draw_id: str
    roc_year: int
    completed_at: datetime | None


@dataclass(frozen=True)
class CouncilReport:
    """The figures of a year or a period for one office (or every office when `office_id` is None)."""

    office_name: str | None
    roc_year: int | None
    period: Period | None
    #: Every declaration of the year(s): 定期 against the other types.
    declarations: Split
    #: Each declaration type code → count, in the Act's order.
    by_declaration_type: dict[str, int]
    #: Declarations in the draw population (not excluded before the draw).
    population: int
    #: Selected for substantive review by the draw(s) (實質審查案數).
    drawn: Split
    #: … of which the comparison stage (前後年度比對) selected too.
    comparison: Split
    #: Case-based checks (個案查核): cases, not drawn.
    case_based: Split
    #: Every case once: outcome or current state → count (DECIDED_STATES, then OPEN_STATES).
    outcomes: dict[str, Split]
    #: Not added: of the cases, those closed.
    closed: Split
    #: Not added: cases whose history passed through each of PASSED_STATES.
    passed: dict[str, Split]
    #: Fine ground code → (number of fines, total NT$).
    fines: dict[str, tuple[int, int]] = field(default_factory=dict)
    draws: tuple[DrawCounted, ...] = ()

    @property
    def cases(self) -> Split:
        """Every case counted: the outcome rows add up to this."""
        return _sum(self.outcomes.values())

    @property
    def decided(self) -> Split:
        return _sum(self.outcomes[s] for s in DECIDED_STATES)

    @property
    def in_progress(self) -> Split:
        return _sum(self.outcomes[s] for s in OPEN_STATES)


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


def latest_year(session: Session, office_id: int | None = None) -> int | None:
    """The year the report opens on: the newest with a completed draw or a review case, else the
    newest with declarations (a year imported but not drawn yet has nothing to report)."""
    draws = select(func.max(Draw.roc_year)).where(Draw.status == "completed")
    cases = select(func.max(ReviewCase.roc_year))
    if office_id is not None:
        draws = draws.where(Draw.office_id == office_id)
        cases = cases.where(ReviewCase.office_id == office_id)
    active = [year for year in (session.scalar(draws), session.scalar(cases)) if year is not None]
    if active:
        return max(active)
    years = report_years(session, office_id)
    return years[0] if years else None


def _drawn_split(session: Session, draw: Draw) -> tuple[Split, Split]:
    """The entries a completed draw selected (and those the comparison stage selected), by filing type."""
    selected = selections_of(draw)
    types = dict(
        session.execute(
            select(Declarant.case_number, Declarant.declaration_type).where(
                Declarant.office_id == draw.office_id,
                Declarant.roc_year == draw.roc_year,
                Declarant.case_number.in_(list(selected)),
            )
        )
        .tuples()
        .all()
    )
    drawn = comparison = Split()
    for case_number, stage in selected.items():
        regular = types.get(case_number) == "regular"
        drawn = drawn.plus(regular)
        if stage == "comparison":
            comparison = comparison.plus(regular)
    return drawn, comparison


def council_report(
    session: Session,
    office_id: int | None,
    *,
    roc_year: int | None = None,
    period: Period | None = None,
    public: bool = False,
) -> CouncilReport:
    """The report of a year (`roc_year`) or a period (`period`), for one office or (None) all.

    A year counts every declaration of that year, its completed draws and all its cases as
    they stand now. A period counts the draws completed within it (Taipei dates, both days
    included), every declaration of those draws' years, the cases those draws opened and the
    case-based checks opened within it — each case as it stood at the end of the period.
    `public` (a year only): only offices with an announced draw of that year count.
    """
    if (roc_year is None) == (period is None):
        raise ValueError("a report is of a year or of a period")
    if public and roc_year is None:
        raise ValueError("public figures are of a year")

    def scoped(query: Any, model: Any) -> Any:
        query = query.where(model.office_id == office_id) if office_id is not None else query
        return query.where(model.office_id.in_(published_offices(roc_year))) if public and roc_year else query

    draw_query = scoped(select(Draw).where(Draw.status == "completed"), Draw)
    first, until = datetime.min.replace(tzinfo=UTC), None
    if period is not None:
        first, until = period.bounds()
        draw_query = draw_query.where(Draw.completed_at >= first, Draw.completed_at < until)
    else:
        draw_query = draw_query.where(Draw.roc_year == roc_year)
    draws = session.scalars(draw_query.order_by(Draw.completed_at, Draw.id)).all()
    years = {roc_year} if roc_year is not None else {draw.roc_year for draw in draws}

    by_code: Counter[str] = Counter()
    regular = other = population = 0
    rows = session.execute(
        scoped(
            select(Declarant.declaration_type, Declarant.excluded_reason.is_(None), func.count())
            .where(Declarant.roc_year.in_(years))
            .group_by(Declarant.declaration_type, Declarant.excluded_reason.is_(None)),
            Declarant,
        )
    ).tuples()
    for code, included, count in rows:
        by_code[code] += count
        population += count if included else 0
        if code == "regular":
            regular += count
        else:
            other += count
    order = list(DECLARATION_TYPES)
    by_declaration_type = dict(sorted(by_code.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))

    drawn = comparison = Split()
    for draw in draws:
        draw_drawn, draw_comparison = _drawn_split(session, draw)
        drawn, comparison = _sum((drawn, draw_drawn)), _sum((comparison, draw_comparison))

    case_query = scoped(select(ReviewCase, Declarant.declaration_type), ReviewCase).join(
        Declarant, ReviewCase.declarant_id == Declarant.id
    )
    if period is not None:
        draw_ids = [draw.id for draw in draws] or [-1]
        case_query = case_query.where((ReviewCase.draw_pk.in_(draw_ids)) | (ReviewCase.origin == "case-based"))
    else:
        case_query = case_query.where(ReviewCase.roc_year == roc_year)
    case_rows = session.execute(case_query.options(selectinload(ReviewCase.events))).tuples().all()

    outcomes = dict.fromkeys((*DECIDED_STATES, *OPEN_STATES), Split())
    passed = dict.fromkeys(PASSED_STATES, Split())
    closed = case_based = Split()
    fines: dict[str, tuple[int, int]] = {}
    counted = 0
    for case, declaration_type in case_rows:
        # Straight from the history: the figures are the events', whatever the row's columns say.
        standing = case_standing(list(case.events), until)
        if standing is None:  # opened after the period ends (or no history at all)
            continue
        if period is not None and case.origin == "case-based" and min(e.recorded_at for e in case.events) < first:
            continue  # a case-based check opened before the period: an earlier period's
        is_regular = declaration_type == "regular"
        counted += 1
        outcomes[standing.outcome] = outcomes[standing.outcome].plus(is_regular)
        if standing.state == "closed":
            closed = closed.plus(is_regular)
        if case.origin == "case-based":
            case_based = case_based.plus(is_regular)
        for state in PASSED_STATES:
            if state in standing.passed:
                passed[state] = passed[state].plus(is_regular)
        if standing.fine_amount is not None and standing.fine_ground is not None:
            count, total = fines.get(standing.fine_ground, (0, 0))
            fines[standing.fine_ground] = (count + 1, total + standing.fine_amount)

    office_name = None
    if office_id is not None:
        office = session.get(Office, office_id)
        office_name = office.name if office else None
    report = CouncilReport(
        office_name=office_name,
        roc_year=roc_year,
        period=period,
        declarations=Split(regular, other),
        by_declaration_type=by_declaration_type,
        population=population,
        drawn=drawn,
        comparison=comparison,
        case_based=case_based,
        outcomes=outcomes,
        closed=closed,
        passed=passed,
        fines=fines,
        draws=tuple(DrawCounted(d.draw_id, d.roc_year, d.completed_at) for d in draws),
    )
    # Each case is counted once: the outcome rows are a partition of the cases.
    if report.cases.total != counted or report.decided.total + report.in_progress.total != counted:
        raise AssertionError(f"the outcomes add up to {report.cases.total}, not to the {counted} cases")
    return report


# ---------------------------------------------------------------------------------------------
# The public statistics and the JSON API (the same counting)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnualReport:
    """The figures of one ROC year, for one office or for every office together (public statistics)."""

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
    #: Every case once, under its outcome or current state (OUTCOME_STATES).
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


def annual_report(
    session: Session, roc_year: int, office_id: int | None = None, *, public: bool = False
) -> AnnualReport:
    """The figures of `roc_year` for one office (or all offices when `office_id` is None).

    `public` (the statistics page and API): only offices with an announced draw of that year count;
    until then an office's imported declarations and its case-based reviews are its own business.
    """
    report = council_report(session, office_id, roc_year=roc_year, public=public)
    return AnnualReport(
        roc_year=roc_year,
        office_name=report.office_name,
        declarations=report.declarations.total,
        by_type={"regular": report.declarations.regular, "non-regular": report.declarations.other},
        by_declaration_type=[
            (code, DECLARATION_TYPES.get(code, (code, code))[0], count)
            for code, count in report.by_declaration_type.items()
        ],
        population=report.population,
        drawn_review=report.drawn.total,
        drawn_comparison=report.comparison.total,
        case_based=report.case_based.total,
        outcomes={state: report.outcomes[state].total if state in report.outcomes else 0 for state in OUTCOME_STATES},
        closed=report.closed.total,
        referrals=report.passed["referred"].total,
        fines_count=sum(n for n, _ in report.fines.values()),
        fines_total=sum(t for _, t in report.fines.values()),
        fines_by_ground=dict(report.fines),
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


# ---------------------------------------------------------------------------------------------
# The tables: laid out once, formatted by the page, the CSV and the XLSX
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """`part` of `whole`, shown as a percentage with one decimal (`10.2%`)."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None

    def __str__(self) -> str:
        return "—" if self.whole == 0 else f"{100 * self.part / self.whole:.1f}%"


@dataclass(frozen=True)
class Money:
    """An amount in NT$."""

    amount: int

    def __str__(self) -> str:
        return f"{self.amount:,}"


@dataclass(frozen=True)
class HeaderCell:
    text: str
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True)
class TableRow:
    """A row: its label and its values. `kind`: item, group (a label only), subtotal, total, memo
    (a figure shown beside the sum, not in it)."""

    label: str
    values: tuple[int | Ratio | Money | str, ...] = ()
    kind: str = "item"


@dataclass(frozen=True)
class ReportTable:
    key: str
    title: str
    header: tuple[tuple[HeaderCell, ...], ...]
    rows: tuple[TableRow, ...]
    note: str = ""

    def header_grid(self) -> tuple[list[list[str]], list[tuple[int, int, int, int]]]:
        """The header as rows of plain cells (a spanned cell's text in its first cell, the rest
        empty) and the spans as (first row, first column, last row, last column), 0-based."""
        width = sum(cell.colspan for cell in self.header[0])
        grid: list[list[str | None]] = [[None] * width for _ in self.header]
        spans = []
        for row_number, cells in enumerate(self.header):
            column = 0
            for cell in cells:
                while grid[row_number][column] is not None:
                    column += 1
                for r in range(row_number, row_number + cell.rowspan):
                    for c in range(column, column + cell.colspan):
                        grid[r][c] = ""
                grid[row_number][column] = cell.text
                if cell.colspan > 1 or cell.rowspan > 1:
                    spans.append((row_number, column, row_number + cell.rowspan - 1, column + cell.colspan - 1))
                column += cell.colspan
        return [[cell or "" for cell in row] for row in grid], spans


def scope_label(report: CouncilReport, *, era: bool = False) -> str:
    """`114年度`, or `本期（108年11月8日至109年4月10日）` as the seed writes it."""
    if report.period is not None:
        return gettext(
            "This period (%(start)s to %(end)s)",
            start=roc_date(report.period.start, era=era),
            end=roc_date(report.period.end, era=era),
        )
    return gettext("Year %(year)s", year=report.roc_year)


def report_title(report: CouncilReport) -> str:
    """The report's heading."""
    return gettext("Substantive review of asset declarations: %(scope)s", scope=scope_label(report, era=True))


def _split_values(split: Split, whole: int) -> tuple[int | Ratio, ...]:
    return split.regular, split.other, split.total, Ratio(split.total, whole)


def report_tables(report: CouncilReport) -> list[ReportTable]:
    """The report's tables in the current locale: the council table first, then the cases and
    how they were drawn, then fines. Every renderer formats these and nothing else."""
    split_header = (HeaderCell(gettext("Regular")), HeaderCell(gettext("Non-regular")), HeaderCell(gettext("Total")))
    council = ReportTable(
        key="council",
        title=gettext("Declarations and substantive reviews"),
        header=(
            (
                HeaderCell(gettext("Year or period"), rowspan=2),
                HeaderCell(gettext("Declarations in the year"), colspan=3),
                HeaderCell(gettext("Substantive reviews"), colspan=3),
                HeaderCell(gettext("Ratio"), rowspan=2),
            ),
            (
                HeaderCell(gettext("Regular declarations")),
                HeaderCell(gettext("On taking office, leaving, acting")),
                HeaderCell(gettext("Total")),
                *split_header,
            ),
        ),
        rows=(
            TableRow(
                scope_label(report),
                (
                    report.declarations.regular,
                    report.declarations.other,
                    report.declarations.total,
                    report.drawn.regular,
                    report.drawn.other,
                    report.drawn.total,
                    Ratio(report.drawn.total, report.declarations.total),
                ),
            ),
        ),
        note=gettext(
            "Substantive reviews: the declarations the draw selected. Ratio: substantive reviews of "
            "all declarations. Non-regular: on taking office, leaving, acting and every other type "
            "but the regular declaration."
        ),
    )
    cases = report.cases.total
    count_header = (
        (
            HeaderCell(gettext("Item")),
            *split_header,
            HeaderCell(gettext("Ratio")),
        ),
    )
    drawn_table = ReportTable(
        key="cases",
        title=gettext("Review cases"),
        header=count_header,
        rows=(
            TableRow(gettext("Drawn for substantive review"), _split_values(report.drawn, report.drawn.total)),
            TableRow(
                gettext("of which also for the comparison with earlier years (not added)"),
                _split_values(report.comparison, report.drawn.total),
                "memo",
            ),
            TableRow(gettext("Case-based checks"), _split_values(report.case_based, report.drawn.total)),
            TableRow(gettext("Review cases opened"), _split_values(report.cases, report.drawn.total), "total"),
        ),
        note=gettext("Ratio: of the declarations drawn for substantive review."),
    )
    outcome_rows = [TableRow(gettext("Outcome reached"), kind="group")]
    outcome_rows += [TableRow(state_label(s), _split_values(report.outcomes[s], cases)) for s in DECIDED_STATES]
    outcome_rows.append(TableRow(gettext("Subtotal"), _split_values(report.decided, cases), "subtotal"))
    outcome_rows.append(TableRow(gettext("Still under review"), kind="group"))
    outcome_rows += [TableRow(state_label(s), _split_values(report.outcomes[s], cases)) for s in OPEN_STATES]
    outcome_rows.append(TableRow(gettext("Subtotal"), _split_values(report.in_progress, cases), "subtotal"))
    outcome_rows.append(TableRow(gettext("All cases"), _split_values(report.cases, cases), "total"))
    outcome_rows.append(TableRow(gettext("Closed (not added)"), _split_values(report.closed, cases), "memo"))
    outcome_rows.append(
        TableRow(
            gettext("Passed through: discrepancy found (not added)"),
            _split_values(report.passed["discrepancy"], cases),
            "memo",
        )
    )
    outcome_rows.append(
        TableRow(
            gettext("Passed through: referred to the Ministry (not added)"),
            _split_values(report.passed["referred"], cases),
            "memo",
        )
    )
    outcomes_table = ReportTable(
        key="outcomes",
        title=gettext("Review outcomes (each case once)"),
        header=((HeaderCell(gettext("Outcome or current state")), *split_header, HeaderCell(gettext("Ratio"))),),
        rows=tuple(outcome_rows),
        note=gettext(
            "Each case is counted once: under its outcome (a closed case under the outcome it was "
            "closed with), or while it is open under the state it stands in, so the rows add up to "
            "the number of cases. Rows marked “not added” are shown beside the sum, not in it. "
            "Ratio: of all cases."
        ),
    )
    fine_rows = [
        TableRow(
            f"{FINE_GROUNDS[code].label}（{FINE_GROUNDS[code].source}）" if code in FINE_GROUNDS else code,
            (count, Money(total)),
        )
        for code, (count, total) in sorted(report.fines.items())
    ]
    fine_rows.append(
        TableRow(
            gettext("Total"),
            (sum(n for n, _ in report.fines.values()), Money(sum(t for _, t in report.fines.values()))),
            "total",
        )
    )
    fines_table = ReportTable(
        key="fines",
        title=gettext("Fines"),
        header=((HeaderCell(gettext("Ground")), HeaderCell(gettext("Count")), HeaderCell(gettext("Amount (NT$)"))),),
        rows=tuple(fine_rows),
    )
    return [council, drawn_table, outcomes_table, fines_table]


def scope_note(report: CouncilReport) -> str:
    """What the figures count: the footnote of every rendering."""
    if report.period is None:
        return gettext(
            "Year %(year)s: every declaration of the year, the draws of the year that completed, and "
            "every review case of the year as it stands today.",
            year=report.roc_year,
        )
    return gettext(
        "This period: the draws completed from %(start)s to %(end)s (Taiwan time, both days "
        "included); every declaration of those draws' years; the cases those draws opened and the "
        "case-based checks opened in the period, each as it stood at the end of %(end)s.",
        start=roc_date(report.period.start),
        end=roc_date(report.period.end),
    )


# ---------------------------------------------------------------------------------------------
# CSV and XLSX
# ---------------------------------------------------------------------------------------------


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
