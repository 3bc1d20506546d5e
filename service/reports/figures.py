"""The council's figures: declarations by filing type, drawn cases split the same way, and each
case counted once by its final or current state (from its append-only history, never from the
projected columns)."""

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from service.declaration_files import DECLARATION_TYPES
from service.models import Declarant, Draw, Office, ReviewCase, ReviewEvent
from service.reports.scope import DECIDED_STATES, OPEN_STATES, PASSED_STATES, Period
from service.reviews import effective, replay, selections_of


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
    declarations, by_declaration_type, population = _declarations(session, scoped, years)

    drawn, comparison = _drawn_totals(session, draws)
    case_rows = _case_rows(session, scoped, draws, roc_year)
    cases = _count_cases(case_rows, first if period is not None else None, until)
    office = session.get(Office, office_id) if office_id is not None else None
    report = CouncilReport(
        office_name=office.name if office else None,
        roc_year=roc_year,
        period=period,
        declarations=declarations,
        by_declaration_type=by_declaration_type,
        population=population,
        drawn=drawn,
        comparison=comparison,
        case_based=cases.case_based,
        outcomes=cases.outcomes,
        closed=cases.closed,
        passed=cases.passed,
        fines=cases.fines,
        draws=tuple(DrawCounted(d.draw_id, d.roc_year, d.completed_at) for d in draws),
    )
    # Each case is counted once: the outcome rows are a partition of the cases.
    if report.cases.total != cases.counted or report.decided.total + report.in_progress.total != cases.counted:
        raise AssertionError(f"the outcomes add up to {report.cases.total}, not to the {cases.counted} cases")
    return report


def _drawn_totals(session: Session, draws: Sequence[Draw]) -> tuple[Split, Split]:
    """`_drawn_split` summed over the draws."""
    drawn = comparison = Split()
    for draw in draws:
        draw_drawn, draw_comparison = _drawn_split(session, draw)
        drawn, comparison = _sum((drawn, draw_drawn)), _sum((comparison, draw_comparison))
    return drawn, comparison


def _declarations(
    session: Session, scoped: Callable[[Any, Any], Any], years: set[int]
) -> tuple[Split, dict[str, int], int]:
    """The years' declarations: split by filing type, counted by type code, and in the population."""
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
    return Split(regular, other), by_declaration_type, population


def _case_rows(
    session: Session, scoped: Callable[[Any, Any], Any], draws: Sequence[Draw], roc_year: int | None
) -> Sequence[tuple[ReviewCase, str]]:
    """The cases of a year (`roc_year`), else those the `draws` opened and every case-based
    check; each with its declaration's filing type and its history loaded."""
    case_query = scoped(select(ReviewCase, Declarant.declaration_type), ReviewCase).join(
        Declarant, ReviewCase.declarant_id == Declarant.id
    )
    if roc_year is None:
        draw_ids = [draw.id for draw in draws] or [-1]
        case_query = case_query.where((ReviewCase.draw_pk.in_(draw_ids)) | (ReviewCase.origin == "case-based"))
    else:
        case_query = case_query.where(ReviewCase.roc_year == roc_year)
    rows: Sequence[tuple[ReviewCase, str]] = (
        session.execute(case_query.options(selectinload(ReviewCase.events))).tuples().all()
    )
    return rows


@dataclass
class _CaseCounts:
    """The cases counted once each: by outcome, closed, case-based, passed through, and their fines."""

    outcomes: dict[str, Split] = field(default_factory=lambda: dict.fromkeys((*DECIDED_STATES, *OPEN_STATES), Split()))
    passed: dict[str, Split] = field(default_factory=lambda: dict.fromkeys(PASSED_STATES, Split()))
    closed: Split = Split()
    case_based: Split = Split()
    fines: dict[str, tuple[int, int]] = field(default_factory=dict)
    counted: int = 0


def _count_cases(
    case_rows: Sequence[tuple[ReviewCase, str]], period_start: datetime | None, until: datetime | None
) -> _CaseCounts:
    """Count each case by where it stood at `until` (None: now); with `period_start`, a
    case-based check opened before it belongs to an earlier period and is left out."""
    counts = _CaseCounts()
    for case, declaration_type in case_rows:
        # Straight from the history: the figures are the events', whatever the row's columns say.
        standing = case_standing(list(case.events), until)
        if standing is None:  # opened after the period ends (or no history at all)
            continue
        if (
            period_start is not None
            and case.origin == "case-based"
            and min(e.recorded_at for e in case.events) < period_start
        ):
            continue  # a case-based check opened before the period: an earlier period's
        is_regular = declaration_type == "regular"
        counts.counted += 1
        counts.outcomes[standing.outcome] = counts.outcomes[standing.outcome].plus(is_regular)
        if standing.state == "closed":
            counts.closed = counts.closed.plus(is_regular)
        if case.origin == "case-based":
            counts.case_based = counts.case_based.plus(is_regular)
        for state in PASSED_STATES:
            if state in standing.passed:
                counts.passed[state] = counts.passed[state].plus(is_regular)
        if standing.fine_amount is not None and standing.fine_ground is not None:
            count, total = counts.fines.get(standing.fine_ground, (0, 0))
            counts.fines[standing.fine_ground] = (count + 1, total + standing.fine_amount)
    return counts
