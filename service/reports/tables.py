"""The tables, laid out once and formatted alike by the page, the print view, the CSV and the XLSX."""

from dataclasses import dataclass

from flask_babel import gettext

from service.labels import state_label
from service.reports.figures import CouncilReport, Split
from service.reports.scope import DECIDED_STATES, OPEN_STATES, roc_date
from service.reviews import FINE_GROUNDS


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
        return str(
            gettext(
                "This period (%(start)s to %(end)s)",
                start=roc_date(report.period.start, era=era),
                end=roc_date(report.period.end, era=era),
            )
        )
    return str(gettext("Year %(year)s", year=report.roc_year))


def report_title(report: CouncilReport) -> str:
    """The report's heading."""
    return str(gettext("Substantive review of asset declarations: %(scope)s", scope=scope_label(report, era=True)))


def _split_values(split: Split, whole: int) -> tuple[int | Ratio, ...]:
    return split.regular, split.other, split.total, Ratio(split.total, whole)


def report_tables(report: CouncilReport) -> list[ReportTable]:
    """The report's tables in the current locale: the council table first, then the cases and
    how they were drawn, then fines. Every renderer formats these and nothing else."""
    return [_council_table(report), _cases_table(report), _outcomes_table(report), _fines_table(report)]


def _split_header() -> tuple[HeaderCell, ...]:
    return HeaderCell(gettext("Regular")), HeaderCell(gettext("Non-regular")), HeaderCell(gettext("Total"))


def _council_table(report: CouncilReport) -> ReportTable:
    """Declarations and substantive reviews: the table the council's form asks for."""
    return ReportTable(
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
                *_split_header(),
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


def _cases_table(report: CouncilReport) -> ReportTable:
    """The review cases: drawn, compared with earlier years, case-based, opened."""
    return ReportTable(
        key="cases",
        title=gettext("Review cases"),
        header=((HeaderCell(gettext("Item")), *_split_header(), HeaderCell(gettext("Ratio"))),),
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


def _outcomes_table(report: CouncilReport) -> ReportTable:
    """Each case once, under its outcome or the state it stands in."""
    cases = report.cases.total
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
    return ReportTable(
        key="outcomes",
        title=gettext("Review outcomes (each case once)"),
        header=((HeaderCell(gettext("Outcome or current state")), *_split_header(), HeaderCell(gettext("Ratio"))),),
        rows=tuple(outcome_rows),
        note=gettext(
            "Each case is counted once: under its outcome (a closed case under the outcome it was "
            "closed with), or while it is open under the state it stands in, so the rows add up to "
            "the number of cases. Rows marked “not added” are shown beside the sum, not in it. "
            "Ratio: of all cases."
        ),
    )


def _fines_table(report: CouncilReport) -> ReportTable:
    """Fines by legal ground, with their count and amount."""
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
    return ReportTable(
        key="fines",
        title=gettext("Fines"),
        header=((HeaderCell(gettext("Ground")), HeaderCell(gettext("Count")), HeaderCell(gettext("Amount (NT$)"))),),
        rows=tuple(fine_rows),
    )


def scope_note(report: CouncilReport) -> str:
    """What the figures count: the footnote of every rendering."""
    if report.period is None:
        return str(
            gettext(
                "Year %(year)s: every declaration of the year, the draws of the year that completed, and "
                "every review case of the year as it stands today.",
                year=report.roc_year,
            )
        )
    return str(
        gettext(
            "This period: the draws completed from %(start)s to %(end)s (Taiwan time, both days "
            "included); every declaration of those draws' years; the cases those draws opened and the "
            "case-based checks opened in the period, each as it stood at the end of %(end)s.",
            start=roc_date(report.period.start),
            end=roc_date(report.period.end),
        )
    )
