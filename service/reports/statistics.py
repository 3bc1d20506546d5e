"""The public statistics and the JSON API: the same counting, only what announced draws made public."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from service.declaration_files import DECLARATION_TYPES
from service.reports.figures import council_report
from service.reports.scope import OUTCOME_STATES


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
